// C++20 tests of event_source::async_next: co_await with use_awaitable, and
// `||` with a timer, against the scripted raw HTTP server.
#include <sse/asio/event_source.hpp>

#include "support/script_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <future>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

using namespace std::chrono_literals;
using support::script_server;
using plain_source = sse::event_source<asio::ip::tcp::socket>;

namespace {

// Runs `io` until `task` finishes (at most `limit`); rethrows what it threw.
void run_task(asio::io_context& io, asio::awaitable<void> task, std::chrono::milliseconds limit = 10s)
{
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_one_for(10ms);
    }
    REQUIRE_MESSAGE(done, "the coroutine did not finish in time");
    if (failure)
        std::rethrow_exception(failure);
}

} // namespace

namespace doc {

// Collects "type: data" from `url` until the source ends; returns why it ended.
asio::awaitable<sse::error_code> follow(std::string url, std::vector<std::string>& lines)
{
    auto const executor = co_await asio::this_coro::executor;   // a statement of its own: see the docs
    sse::event_source<asio::ip::tcp::socket> source(executor, url);
    source.start();
    for (;;) {
        auto [ec, ev] = co_await source.async_next(asio::experimental::as_tuple(asio::use_awaitable));
        if (ec)
            co_return ec;   // error::no_content after a 204, the failure, operation_aborted after close()
        lines.push_back(ev.type + ": " + *ev.data);   // reconnects happen inside, with Last-Event-ID
    }
}

} // namespace doc

TEST_CASE("event_source: the documentation's async_next example")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 5\nid: 1\nevent: price\ndata: 101.5\n\n");
        else
            c.send(support::status_response(204, "No Content"));
    });
    asio::io_context io;
    std::vector<std::string> lines;
    sse::error_code end;
    run_task(io, [&]() -> asio::awaitable<void> { end = co_await doc::follow(server.url("/prices"), lines); }());
    CHECK(lines == std::vector<std::string>{"price: 101.5"});
    CHECK(end == sse::error::no_content);
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].header("Last-Event-ID") == "1");
}

TEST_CASE("event_source: co_await async_next(use_awaitable) reads the events, then throws how the source ended")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "id: 1\ndata: one\n\nevent: update\ndata: two\n\n");
    });
    asio::io_context io;
    sse::event_source_options options;
    options.reconnect = false;
    plain_source source(io.get_executor(), server.url("/"), options);
    std::vector<std::string> got;
    std::error_code end;
    run_task(io, [&]() -> asio::awaitable<void> {
        source.start();
        try {
            for (;;) {
                sse::event ev = co_await source.async_next(asio::use_awaitable);
                got.push_back(ev.type + "/" + *ev.data + "/" + *ev.id);
            }
        } catch (std::system_error const& e) {
            end = e.code();
        }
    }());
    CHECK(got == std::vector<std::string>{"message/one/1", "update/two/1"});
    CHECK(end == sse::error::stream_ended);
}

TEST_CASE("event_source: async_next || a timer: the timer wins, and the next call gets the event")
{
    using namespace asio::experimental::awaitable_operators;
    support::held_stream held("id: 9\ndata: late\n\n");
    auto& server = held.server;
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    std::size_t winner = 99;
    std::string late;
    run_task(io, [&]() -> asio::awaitable<void> {
        source.start();
        asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
        auto first = co_await (source.async_next(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
        winner = first.index();
        held.release();   // the event leaves the server only after the call was cancelled
        sse::event ev = co_await source.async_next(asio::use_awaitable);
        late = *ev.id + "/" + *ev.data;
        source.close();
    }());
    CHECK(winner == 1);
    CHECK(late == "9/late");
}

TEST_CASE("event_source: async_next || a timer: the event wins when it comes first")
{
    using namespace asio::experimental::awaitable_operators;
    script_server server(support::stream_of("data: now\n\n"));
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    std::string got;
    run_task(io, [&]() -> asio::awaitable<void> {
        source.start();
        asio::steady_timer timer(co_await asio::this_coro::executor, 5s);
        auto first = co_await (source.async_next(asio::use_awaitable) || timer.async_wait(asio::use_awaitable));
        if (first.index() == 0)
            got = *std::get<0>(first).data;
        source.close();
    }());
    CHECK(got == "now");
}
