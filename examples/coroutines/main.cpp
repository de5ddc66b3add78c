// sse-coroutines - serves an event stream and reads it back, both as C++20 coroutines.
//
// One program, one io_context, two coroutines on loopback:
//   the publisher: sse::listener on 127.0.0.1 port 0 hands it the connection; it
//     sends each event with `co_await stream->async_send(...)`, then closes;
//   the reader: an sse::event_source takes each event with
//     `co_await source.async_next(...)` until the stream ends.
// The reader checks that every event came back as it was sent, in order. Exits 0
// then, 1 on a mismatch or if it takes longer than ten seconds. Needs no network
// beyond 127.0.0.1 and no arguments:
//
//   sse-coroutines
#include <sse/asio/event_source.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

namespace {

using tcp_stream = sse::stream<asio::ip::tcp::socket>;

constexpr int event_count = 100;

sse::event nth_event(int n)
{
    sse::event e;
    e.id = std::to_string(n);
    e.type = n % 10 == 0 ? "tens" : "tick";
    e.data = "event " + std::to_string(n) + "\nof " + std::to_string(event_count);
    return e;
}

// The publishing loop: each send completes once its bytes are handed to the socket.
asio::awaitable<void> publish(std::shared_ptr<tcp_stream> stream)
{
    try {
        for (int n = 1; n <= event_count; ++n)
            co_await stream->async_send(nth_event(n), asio::use_awaitable);
        co_await stream->async_close(std::nullopt, asio::use_awaitable);
    } catch (std::system_error const& e) {
        std::fprintf(stderr, "sse-coroutines: publishing failed: %s\n", e.what());
    }
}

// The reader: one event per co_await; the end of the stream ends the loop.
asio::awaitable<bool> read_back(std::string url)
{
    sse::event_source_options options;
    options.reconnect = false;   // the publisher's close is the end
    auto const executor = co_await asio::this_coro::executor;   // a statement of its own: see the docs
    sse::event_source<asio::ip::tcp::socket> source(executor, url, options);
    source.start();
    int expected = 1;
    try {
        for (;;) {
            sse::event ev = co_await source.async_next(asio::use_awaitable);
            sse::event const sent = nth_event(expected);
            if (ev.type != sent.type || ev.data != sent.data || ev.id != sent.id) {
                std::fprintf(stderr, "sse-coroutines: event %d came back as %s/%s\n", expected, ev.type.c_str(),
                             ev.data.value_or("").c_str());
                co_return false;
            }
            ++expected;
        }
    } catch (std::system_error const& e) {
        if (e.code() != sse::error::stream_ended) {
            std::fprintf(stderr, "sse-coroutines: the stream failed: %s\n", e.code().message().c_str());
            co_return false;
        }
    }
    if (expected != event_count + 1) {
        std::fprintf(stderr, "sse-coroutines: %d events of %d came back\n", expected - 1, event_count);
        co_return false;
    }
    std::printf("sse-coroutines: %d events sent and read back, in order\n", event_count);
    co_return true;
}

} // namespace

int main()
{
    asio::io_context io;
    auto listener = std::make_shared<sse::listener>(io.get_executor(),
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
        [&io](sse::http::request_head head, asio::ip::tcp::socket socket, std::string_view) {
            if (head.path() != "/events")
                return sse::respond_and_close(std::move(socket), {404, "text/plain", "not found\n", {}});
            auto stream = std::make_shared<tcp_stream>(std::move(socket));
            stream->start(head);
            asio::co_spawn(io, publish(stream), asio::detached);
        });
    listener->start();
    std::string const url = "http://127.0.0.1:" + std::to_string(listener->local_endpoint().port()) + "/events";

    bool finished = false, ok = false;
    asio::co_spawn(io, read_back(url), [&](std::exception_ptr failure, bool result) {
        finished = true;
        ok = !failure && result;
        listener->stop();   // nothing else is pending then: run() returns
    });
    io.run_for(std::chrono::seconds(10));
    if (!finished)
        std::fprintf(stderr, "sse-coroutines: not done within ten seconds\n");
    return finished && ok ? 0 : 1;
}
