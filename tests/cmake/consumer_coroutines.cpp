// A C++20 program outside the project that co_awaits the installed library's
// operations: a one-shot server on loopback writes two events, and an
// sse::event_source reads them back with co_await async_next; then a POST's
// chunked body is read with co_await sse::async_read_body.
#include <sse/asio/body.hpp>
#include <sse/asio/event_source.hpp>
#include <sse/http/request_parser.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>

namespace {

asio::awaitable<void> serve_once(asio::ip::tcp::acceptor& acceptor)
{
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    std::string request;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(request), "\r\n\r\n", asio::use_awaitable);
    std::string const response = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
                                 "id: 1\ndata: hello\n\nevent: bye\ndata: world\n\n";
    co_await asio::async_write(socket, asio::buffer(response), asio::use_awaitable);
}

asio::awaitable<std::string> read_all(std::string url)
{
    sse::event_source_options options;
    options.reconnect = false;
    auto const executor = co_await asio::this_coro::executor;   // a statement of its own: see the docs
    sse::event_source<asio::ip::tcp::socket> source(executor, url, options);
    source.start();
    std::string got;
    try {
        for (;;) {
            sse::event ev = co_await source.async_next(asio::use_awaitable);
            got += ev.type + "/" + *ev.data + "/" + *ev.id + ";";
        }
    } catch (std::system_error const& e) {
        got += e.code() == sse::error::stream_ended ? "end" : e.code().message();
    }
    co_return got;
}

// Accepts one request, reads its head, then co_awaits its body.
asio::awaitable<std::string> read_one_body(asio::ip::tcp::acceptor& acceptor)
{
    auto socket = co_await acceptor.async_accept(asio::use_awaitable);
    std::string buffer;
    co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n", asio::use_awaitable);
    sse::http::request_parser parser;
    buffer.erase(0, parser.feed(buffer));   // what follows the head stays in buffer
    std::string body = co_await sse::async_read_body(socket, parser.get(), buffer, {}, asio::use_awaitable);
    co_return body + "|" + buffer;          // buffer: the bytes after the body
}

asio::awaitable<void> post_chunked(asio::ip::tcp::endpoint to)
{
    asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
    co_await socket.async_connect(to, asio::use_awaitable);
    std::string const request = "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET /next";
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    char byte;
    std::error_code closed;   // the server closes once it has read the body
    co_await socket.async_read_some(asio::buffer(&byte, 1), asio::redirect_error(asio::use_awaitable, closed));
}

} // namespace

int main()
{
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::string const url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
    asio::co_spawn(io, serve_once(acceptor), asio::detached);
    std::string got;
    asio::co_spawn(io, read_all(url), [&](std::exception_ptr, std::string s) { got = std::move(s); });
    io.run_for(std::chrono::seconds(10));
    if (got != "message/hello/1;bye/world/1;end") {
        std::fprintf(stderr, "coroutine consumer: read '%s'\n", got.c_str());
        return 1;
    }

    // The same program reads a POST body with co_await: the chunks are decoded,
    // and the pipelined bytes after the body are handed back in the buffer.
    asio::io_context io2;
    asio::ip::tcp::acceptor acceptor2(io2, {asio::ip::make_address("127.0.0.1"), 0});
    std::string body;
    asio::co_spawn(io2, read_one_body(acceptor2), [&](std::exception_ptr e, std::string s) {
        body = e ? "exception" : std::move(s);
        acceptor2.close();
    });
    asio::co_spawn(io2, post_chunked(acceptor2.local_endpoint()), asio::detached);
    io2.run_for(std::chrono::seconds(10));
    if (body != "hello world|GET /next") {
        std::fprintf(stderr, "coroutine consumer: read body '%s'\n", body.c_str());
        return 1;
    }
    std::printf("ssepp %s coroutine consumer ok\n", SSE_VERSION_STRING);
    return 0;
}
