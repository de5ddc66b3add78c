// A program outside the project that uses the installed sse::boost_asio: an event
// stream over a Boost.Asio TCP socket, read back by a Boost.Asio client on loopback.
#include <sse/asio/stream.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>

#include <cstdio>
#include <memory>
#include <string>

namespace net = boost::asio;

int main()
{
    net::io_context io;
    net::ip::tcp::acceptor acceptor(io, {net::ip::make_address("127.0.0.1"), 0});
    net::ip::tcp::socket client(io);
    client.connect(acceptor.local_endpoint());

    sse::stream_options options;
    options.retry.reset();
    auto s = std::make_shared<sse::stream<net::ip::tcp::socket>>(acceptor.accept(), options);
    sse::error_code closed = sse::error::stream_closed;
    s->on_close([&](sse::error_code ec) { closed = ec; });
    s->start();
    sse::event e;
    e.id = "1";
    e.data = "hello";
    s->async_send(e, [](sse::error_code) {});
    s->async_close(std::nullopt, [](sse::error_code) {});
    io.run();

    std::string got;
    boost::system::error_code ec;
    net::read(client, net::dynamic_buffer(got), ec);
    std::string const body = "id: 1\ndata: hello\n\n";
    if (ec != net::error::eof || closed || got.size() < body.size() ||
        got.compare(got.size() - body.size(), body.size(), body) != 0 || got.rfind("HTTP/1.1 200 OK\r\n", 0) != 0) {
        std::fprintf(stderr, "boost_asio consumer failed: %s / %s\n%s\n", ec.message().c_str(),
                     closed.message().c_str(), got.c_str());
        return 1;
    }
    std::printf("ssepp boost_asio consumer ok\n");
    return 0;
}
