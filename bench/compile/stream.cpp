// What a server's source file compiles to serve one stream: sse::stream over a TCP
// socket, started, with one event sent. compile_time.sh times it.
#include <sse/asio/stream.hpp>

#include <asio/ip/tcp.hpp>

#include <memory>
#include <utility>

void serve(asio::ip::tcp::socket socket, sse::event const& first)
{
    auto stream = std::make_shared<sse::stream<asio::ip::tcp::socket>>(std::move(socket));
    stream->on_close([](sse::error_code) {});
    stream->start();
    stream->send(first);
}
