// The transport's operations in C++20 coroutines: co_await with use_awaitable,
// and the awaitable operator || with a timer, which cancels the loser.
#include <sse/asio/body.hpp>
#include <sse/asio/stream.hpp>
#include <sse/http/request_parser.hpp>

#include <doctest/doctest.h>

#include "support/mock_socket.hpp"
#include "support/run_until.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <variant>

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;

namespace {

using mock_stream = sse::stream<support::mock_socket>;

std::shared_ptr<mock_stream> make_stream(asio::io_context& io, std::shared_ptr<support::mock_socket::state>& st,
                                         bool stalled)
{
    support::mock_socket socket(io.get_executor());
    st = socket.shared_state();
    st->stalled = stalled;
    sse::stream_options o;
    o.heartbeat_interval = 0ms;
    auto s = std::make_shared<mock_stream>(std::move(socket), o);
    s->start();
    return s;
}

sse::event data_event(std::string data)
{
    sse::event e;
    e.data = std::move(data);
    return e;
}

sse::http::request_head head_of(std::string const& text)
{
    sse::http::request_parser p;
    p.feed(text);
    REQUIRE(p.done());
    return p.release();
}

// docs/stream.md, "Completion tokens".
asio::awaitable<void> publish(std::shared_ptr<sse::stream<asio::ip::tcp::socket>> s)
{
    for (int i = 0; i < 3; ++i) {
        sse::event e;
        e.data = "tick " + std::to_string(i);
        co_await s->async_send(e, asio::use_awaitable);
    }
    co_await s->async_close(std::nullopt, asio::use_awaitable);
}

// Runs `co` to its end on `io`; rethrows what it threw.
template<class Awaitable>
void run(asio::io_context& io, Awaitable co)
{
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(co), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    REQUIRE(support::run_until(io, [&] { return done; }));
    if (error)
        std::rethrow_exception(error);
}

} // namespace

TEST_CASE("stream: co_await async_send and async_close")
{
    asio::io_context io;
    std::shared_ptr<support::mock_socket::state> st;
    auto s = make_stream(io, st, false);
    run(io, [&]() -> asio::awaitable<void> {
        co_await s->async_send(data_event("awaited"), asio::use_awaitable);
        CHECK(st->written.find("data: awaited\n\n") != std::string::npos);
        co_await s->async_close(data_event("bye"), asio::use_awaitable);
        CHECK(st->closed);
    }());
    CHECK(st->written.find("data: bye\n\n") != std::string::npos);
}

TEST_CASE("stream: a publishing coroutine co_awaits each send")
{
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    sse::stream_options o;
    o.heartbeat_interval = 0ms;
    o.retry.reset();
    auto s = std::make_shared<sse::stream<tcp::socket>>(acceptor.accept(), o);
    s->start();
    run(io, publish(s));
    // The stream closed its end after the last byte: the client reads to the end.
    std::string got;
    sse::error_code ec;
    asio::read(client, asio::dynamic_buffer(got), ec);
    CHECK(ec == asio::error::eof);
    auto const body = got.substr(got.find("\r\n\r\n") + 4);
    CHECK(body == "data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n");
}

TEST_CASE("stream: co_await async_send throws the reason the stream ended")
{
    asio::io_context io;
    std::shared_ptr<support::mock_socket::state> st;
    auto s = make_stream(io, st, true);
    s->close();
    std::optional<sse::error_code> thrown;
    run(io, [&]() -> asio::awaitable<void> {
        try {
            co_await s->async_send(data_event("late"), asio::use_awaitable);
        } catch (std::system_error const& e) {
            thrown = e.code();
        }
    }());
    REQUIRE(thrown);
    CHECK(*thrown == sse::error::stream_closed);

    // as_tuple hands the code over instead.
    std::optional<sse::error_code> returned;
    run(io, [&]() -> asio::awaitable<void> {
        auto [ec] = co_await s->async_send(data_event("late"), asio::experimental::as_tuple(asio::use_awaitable));
        returned = ec;
    }());
    REQUIRE(returned);
    CHECK(*returned == sse::error::stream_closed);
}

TEST_CASE("stream: async_send || a timer: the timer wins, the send is cancelled, its bytes still go out")
{
    asio::io_context io;
    std::shared_ptr<support::mock_socket::state> st;
    auto s = make_stream(io, st, true);   // the peer reads nothing
    std::optional<std::size_t> winner;
    run(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 20ms);
        auto const r = co_await (s->async_send(data_event("slow"), asio::use_awaitable) ||
                                 timer.async_wait(asio::use_awaitable));
        winner = r.index();
    }());
    REQUIRE(winner);
    CHECK(*winner == 1);
    support::mock_socket::release(*st);
    REQUIRE(support::run_until(io, [&] { return st->written.find("data: slow\n\n") != std::string::npos; }));
    s->close();
    io.restart();
    io.run_for(10ms);
}

TEST_CASE("stream: async_close || a timer: the timer wins, the stream still closes gracefully")
{
    asio::io_context io;
    std::shared_ptr<support::mock_socket::state> st;
    auto s = make_stream(io, st, true);
    std::optional<std::size_t> winner;
    run(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 20ms);
        auto const r = co_await (s->async_close(std::nullopt, asio::use_awaitable) ||
                                 timer.async_wait(asio::use_awaitable));
        winner = r.index();
    }());
    REQUIRE(winner);
    CHECK(*winner == 1);
    CHECK_FALSE(st->closed);
    support::mock_socket::release(*st);
    REQUIRE(support::run_until(io, [&] { return st->closed; }));
    CHECK(st->shutdown_send);
}

TEST_CASE("async_read_body: co_await, and || a timer")
{
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    tcp::socket server = acceptor.accept();
    auto const head = head_of("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n");
    std::string const next = "GET /n HTTP/1.1\r\nHost: h\r\n\r\n";

    std::string buffer = "hel";
    std::string body;
    asio::write(client, asio::buffer("lo world" + next));
    run(io, [&]() -> asio::awaitable<void> {
        body = co_await sse::async_read_body(server, head, buffer, {}, asio::use_awaitable);
    }());
    CHECK(body == "hello world");
    CHECK(buffer == next);

    // docs/listener.md, "Request bodies": the error as a value.
    sse::body_limits limits;
    limits.max_body = 4;
    std::optional<int> status;
    run(io, [&]() -> asio::awaitable<void> {
        auto [ec, refused] = co_await sse::async_read_body(server, head, buffer, limits,
                                                           asio::experimental::as_tuple(asio::use_awaitable));
        if (ec)
            status = sse::http::status_for(ec);
    }());
    REQUIRE(status);
    CHECK(*status == 413);

    // The body stops coming: the timer wins and the read ends with it.
    buffer.clear();
    std::optional<std::size_t> winner;
    run(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io, 20ms);
        auto const r = co_await (sse::async_read_body(server, head, buffer, {}, asio::use_awaitable) ||
                                 timer.async_wait(asio::use_awaitable));
        winner = r.index();
    }());
    REQUIRE(winner);
    CHECK(*winner == 1);
    CHECK(buffer.empty());
}
