// One event served by sse::stream<tcp::socket> over loopback, read back by a
// plain socket: for programs that check the stream links and works (the
// separate-compilation test and the installed package's consumers).
#ifndef SSE_TESTS_SUPPORT_STREAM_ROUND_TRIP_HPP
#define SSE_TESTS_SUPPORT_STREAM_ROUND_TRIP_HPP

#include <sse/asio/stream.hpp>

#include "net.hpp"

#include <memory>
#include <optional>
#include <string>

namespace support {

/// Serves one event with data `data` and closes gracefully; true if the client
/// read a 200 event-stream response holding it.
inline bool stream_round_trip(std::string const& data)
{
    using tcp = asio::ip::tcp;
    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    auto s = std::make_shared<sse::stream<tcp::socket>>(acceptor.accept());
    sse::event e;
    e.data = data;
    s->send(e);
    s->start();
    sse::error_code closed = sse::error::stream_closed;
    s->async_close(std::nullopt, [&](sse::error_code ec) { closed = ec; });
    io.run();   // until the stream has written everything and shut its side down

    std::string got;
    char chunk[512];
    test::net_error_code ec;
    while (!ec)
        got.append(chunk, client.read_some(asio::buffer(chunk), ec));
    auto const head_end = got.find("\r\n\r\n");
    if (closed || ec != asio::error::eof || head_end == std::string::npos)
        return false;
    std::string const head = got.substr(0, head_end + 2);
    std::string const body = got.substr(head_end + 4);
    // The body is events: the one sent is a block of its own (it may follow a retry: block).
    return head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 &&
           head.find("\r\nContent-Type: text/event-stream\r\n") != std::string::npos &&
           (body.rfind("data: " + data + "\n\n", 0) == 0 ||
               body.find("\n\ndata: " + data + "\n\n") != std::string::npos);
}

} // namespace support

#endif
