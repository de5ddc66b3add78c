// A port that refuses connections, and a one-shot event source against it: the
// smallest run of an event source, for programs that check it links and works
// (the separate-compilation test and the installed package's consumers).
#ifndef SSE_TESTS_SUPPORT_REFUSED_SOURCE_HPP
#define SSE_TESTS_SUPPORT_REFUSED_SOURCE_HPP

#include <sse/asio/event_source.hpp>

#include "net.hpp"

#include <string>

namespace support {

/// A port on 127.0.0.1 that is bound but never listens: connections to it are
/// refused, and nothing else can take it while this object holds it.
class refusing_port
{
public:
    refusing_port()
    {
        socket_.open(asio::ip::tcp::v4());
        socket_.bind({asio::ip::make_address("127.0.0.1"), 0});
    }

    unsigned short number() const { return socket_.local_endpoint().port(); }

private:
    asio::io_context io_;
    asio::ip::tcp::acceptor socket_{io_};
};

/// Runs a source with reconnection off against `port`: true if it made one
/// attempt and then failed, as a refused connection must end.
template<class Socket>
bool fails_once(unsigned short port)
{
    asio::io_context io;
    sse::event_source_options options;
    options.reconnect = false;
    sse::event_source<Socket> source(io.get_executor(), "http://127.0.0.1:" + std::to_string(port) + "/x", options);
    sse::source_state last = sse::source_state::connecting;
    source.on_state([&](sse::source_state s, sse::error_code) { last = s; });
    source.start();
    io.run();
    return last == sse::source_state::failed && source.stats().attempts == 1;
}

} // namespace support

#endif
