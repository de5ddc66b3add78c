// A C++20 program outside the project that co_awaits the installed library's
// operations: a one-shot server on loopback writes two events, and an
// sse::event_source reads them back with co_await async_next.
#include <sse/asio/event_source.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
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
    std::printf("ssepp %s coroutine consumer ok\n", SSE_VERSION_STRING);
    return 0;
}
