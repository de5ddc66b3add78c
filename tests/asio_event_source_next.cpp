// Tests of event_source::async_next over loopback, against the scripted raw
// HTTP server (support/script_server.hpp): completion tokens, the queue and its
// back-pressure, how it ends, the mixing rule and cancellation.
#include <sse/asio/event_source.hpp>

#include "support/run_until.hpp"
#include "support/script_server.hpp"
#include "support/source_harness.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using support::received;
using support::script_server;
using plain_source = sse::event_source<asio::ip::tcp::socket>;

namespace {

sse::event_source_options one_shot()
{
    sse::event_source_options o;
    o.reconnect = false;
    return o;
}

received as_received(sse::event const& ev)
{
    return {ev.type, ev.data.value_or("<no data>"), ev.id.value_or("<no id>")};
}

// Reads a source with callbacks, one call at a time, until it ends.
struct callback_reader
{
    plain_source& source;
    std::vector<received> events;
    std::optional<sse::error_code> end;

    void next()
    {
        source.async_next([this](sse::error_code ec, sse::event ev) {
            if (ec) {
                end = ec;
                return;
            }
            events.push_back(as_received(ev));
            next();
        });
    }
};

// One call's outcome, for tests that make the calls themselves.
struct outcome
{
    bool done = false;
    sse::error_code ec;
    sse::event ev;

    auto handler()
    {
        return [this](sse::error_code e, sse::event v) {
            done = true;
            ec = e;
            ev = std::move(v);
        };
    }
};

// Makes one call and runs `io` until it completes; false if it did not within 5 s.
bool next_of(asio::io_context& io, plain_source& source, outcome& out)
{
    out = {};
    source.async_next(out.handler());
    return support::run_until(io, [&] { return out.done; });
}

} // namespace

TEST_CASE("event_source: async_next with a callback delivers the events in order, then how the source ended")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "id: 1\ndata: one\n\nevent: update\ndata: two\ndata: lines\n\n: beat\n\n"
                                     "id: 3\ndata: three\n\n");
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/events"), one_shot());
    std::vector<std::pair<sse::source_state, sse::error_code>> states;
    std::vector<std::string> comments;
    source.on_state([&](sse::source_state s, sse::error_code why) { states.emplace_back(s, why); });
    source.on_comment([&](std::string_view text) { comments.emplace_back(text); });
    source.start();
    callback_reader reader{source, {}, {}};
    reader.next();
    REQUIRE(support::run_until(io, [&] { return reader.end.has_value(); }));

    CHECK(reader.events == std::vector<received>{{"message", "one", "1"}, {"update", "two\nlines", "1"},
                                                 {"message", "three", "3"}});
    // Without reconnects the end of the stream ends the source: the reason on_state gave.
    CHECK(*reader.end == sse::error::stream_ended);
    REQUIRE(!states.empty());
    CHECK(states.back().first == sse::source_state::closed);
    CHECK(states.back().second == *reader.end);
    CHECK(comments == std::vector<std::string>{"beat"});

    // Every later call completes at once with the same error.
    outcome again;
    REQUIRE(next_of(io, source, again));
    CHECK(again.ec == sse::error::stream_ended);
}

TEST_CASE("event_source: async_next with use_future")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "id: 7\nevent: price\ndata: 42\n\n");
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"), one_shot());
    source.start();
    // The source may end before the second call is made: run() waits for it.
    auto work = asio::make_work_guard(io);
    std::future<sse::event> first = source.async_next(asio::use_future);
    std::thread runner([&] { io.run(); });
    REQUIRE(first.wait_for(5s) == std::future_status::ready);
    sse::event const ev = first.get();
    CHECK(as_received(ev) == received{"price", "42", "7"});
    std::future<sse::event> second = source.async_next(asio::use_future);
    REQUIRE(second.wait_for(5s) == std::future_status::ready);
    try {
        second.get();
        FAIL("the second call should end with the end of the stream");
    } catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::stream_ended);
    }
    work.reset();
    runner.join();   // run() returns: the source ended and no call is pending
}

TEST_CASE("event_source: async_next with deferred starts when the deferred operation is invoked")
{
    script_server server(support::stream_of("data: d\n\n"));
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    auto op = source.async_next(asio::experimental::deferred);
    outcome out;
    std::move(op)(out.handler());
    REQUIRE(support::run_until(io, [&] { return out.done; }));
    CHECK_FALSE(out.ec);
    CHECK(*out.ev.data == "d");
    source.close();
}

TEST_CASE("event_source: async_next queues events that arrive while no call is pending, in order")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        std::string body;
        for (int i = 1; i <= 50; ++i)
            body += "id: " + std::to_string(i) + "\ndata: e" + std::to_string(i) + "\n\n";
        c.send(support::sse_head());
        c.send_in_pieces(body, 97);   // events split across reads
        c.wait_for_close(5s);
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK(as_received(out.ev) == received{"message", "e1", "1"});
    // The other 49 arrive with no call pending.
    REQUIRE(support::run_until(io, [&] { return source.stats().events_delivered == 50; }));
    for (int i = 2; i <= 50; ++i) {
        CAPTURE(i);
        REQUIRE(next_of(io, source, out));
        REQUIRE_FALSE(out.ec);
        CHECK(as_received(out.ev) == received{"message", "e" + std::to_string(i), std::to_string(i)});
    }
    source.close();
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == asio::error::operation_aborted);
}

TEST_CASE("event_source: a full async_next queue stops the reading, and no event is lost")
{
    constexpr int count = 4000;
    constexpr std::size_t payload = 4000;   // 16 MB in all: more than the kernel buffers
    std::atomic<bool> sent_all{false};
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
        std::string const data(payload, 'x');
        for (int i = 1; i <= count; ++i)
            if (!c.send("id: " + std::to_string(i) + "\ndata: " + data + "\n\n"))
                return;
        sent_all = true;
        c.wait_for_close(30s);
    });
    auto options = one_shot();
    options.max_queued_events = 4;
    options.read_size = 16 * 1024;
    // Far shorter than the hold below: the source must not take its own pause for a stall.
    options.stall_timeout = 250ms;
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"), options);
    source.start();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK(*out.ev.id == "1");
    REQUIRE(support::run_until(io, [&] { return source.stats().events_delivered >= 5; }));
    // No call pending: the source holds its reading for as long as the io_context runs.
    io.restart();
    io.run_for(750ms);
    auto const held = source.stats();
    std::size_t const one_read = options.read_size / payload + 1;
    CHECK(held.events_delivered <= 1 + options.max_queued_events + one_read);
    CHECK(held.reconnects == 0);   // the stall timer slept through the hold
    CHECK(held.state == sse::source_state::open);
    CHECK_FALSE(sent_all.load());   // the server is held back by TCP
    CHECK(server.request_count() == 1);

    for (int i = 2; i <= count; ++i) {
        REQUIRE(next_of(io, source, out));
        if (out.ec || *out.ev.id != std::to_string(i)) {
            CAPTURE(i);
            CAPTURE(out.ec);
            FAIL("event " << i << " is missing or out of order");
        }
    }
    // The server's last send returns once the source has read its bytes.
    auto const deadline = std::chrono::steady_clock::now() + 5s;
    while (!sent_all && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    CHECK(sent_all.load());
    CHECK(source.stats().events_delivered == count);
    source.close();
}

TEST_CASE("event_source: async_next ends with no_content after a 204, at once for every later call")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(204, "No Content"));
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == sse::error::no_content);
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == sse::error::no_content);
    CHECK(server.request_count() == 1);
}

TEST_CASE("event_source: async_next ends with the error that failed the source")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(200, "OK", "Content-Type: text/html\r\n", "<p>no</p>"));
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    sse::error_code reported;
    source.on_state([&](sse::source_state s, sse::error_code why) {
        if (s == sse::source_state::failed)
            reported = why;
    });
    source.start();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == sse::error::bad_content_type);
    CHECK(reported == out.ec);
}

TEST_CASE("event_source: after close() async_next gives the queued events, then operation_aborted")
{
    script_server server(support::stream_of("data: a\n\ndata: b\n\ndata: c\n\n"));
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK(*out.ev.data == "a");
    REQUIRE(support::run_until(io, [&] { return source.stats().events_delivered == 3; }));
    source.close();
    REQUIRE(next_of(io, source, out));
    CHECK(*out.ev.data == "b");
    REQUIRE(next_of(io, source, out));
    CHECK(*out.ev.data == "c");
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == asio::error::operation_aborted);
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == asio::error::operation_aborted);
}

TEST_CASE("event_source: a pending async_next completes with operation_aborted when the source is closed or destroyed")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
        c.wait_for_close(5s);
    });
    asio::io_context io;
    SUBCASE("close")
    {
        plain_source source(io.get_executor(), server.url("/"));
        source.start();
        outcome out;
        source.async_next(out.handler());
        REQUIRE(support::run_until(io, [&] { return server.request_count() == 1; }));
        source.close();
        REQUIRE(support::run_until(io, [&] { return out.done; }));
        CHECK(out.ec == asio::error::operation_aborted);
    }
    SUBCASE("destroy")
    {
        outcome out;
        {
            plain_source source(io.get_executor(), server.url("/"));
            source.start();
            source.async_next(out.handler());
            REQUIRE(support::run_until(io, [&] { return server.request_count() == 1; }));
        }
        REQUIRE(support::run_until(io, [&] { return out.done; }));
        CHECK(out.ec == asio::error::operation_aborted);
    }
}

TEST_CASE("event_source: a second async_next while one is pending completes with already_started")
{
    support::held_stream held("data: x\n\n");
    auto& server = held.server;
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    outcome first, second;
    source.async_next(first.handler());
    source.async_next(second.handler());
    REQUIRE(support::run_until(io, [&] { return second.done; }));
    CHECK(second.ec == asio::error::already_started);
    CHECK_FALSE(first.done);
    held.release();
    REQUIRE(support::run_until(io, [&] { return first.done; }));
    CHECK_FALSE(first.ec);
    CHECK(*first.ev.data == "x");
    source.close();
}

TEST_CASE("event_source: async_next and event handlers do not mix")
{
    asio::io_context io;
    SUBCASE("async_next on a source with an event handler")
    {
        plain_source source(io.get_executor(), "http://127.0.0.1:1/");
        source.on_event([](sse::event_view const&) {});
        CHECK_THROWS_AS(source.async_next([](sse::error_code, sse::event) {}), std::logic_error);
    }
    SUBCASE("async_next on a source with a typed handler")
    {
        plain_source source(io.get_executor(), "http://127.0.0.1:1/");
        source.on("price", [](sse::event_view const&) {});
        CHECK_THROWS_WITH_AS(source.async_next([](sse::error_code, sse::event) {}),
                             doctest::Contains("do not mix"), std::logic_error);
    }
    SUBCASE("event handlers after async_next")
    {
        plain_source source(io.get_executor(), "http://127.0.0.1:1/");
        source.async_next([](sse::error_code, sse::event) {});
        CHECK_THROWS_WITH_AS(source.on_event([](sse::event_view const&) {}), doctest::Contains("do not mix"),
                             std::logic_error);
        CHECK_THROWS_AS(source.on("price", [](sse::event_view const&) {}), std::logic_error);
        // What does not take events stays usable.
        CHECK_NOTHROW(source.on_state([](sse::source_state, sse::error_code) {}));
        CHECK_NOTHROW(source.on_comment([](std::string_view) {}));
        CHECK_NOTHROW(source.filter("price", [](sse::event_view const&) { return true; }));
        CHECK_NOTHROW(source.throttle("price", 10ms));
        CHECK_NOTHROW(source.on_before_attempt([](std::vector<sse::header_field>&) {}));
        source.close();
        io.run();
    }
}

TEST_CASE("event_source: async_next gets what filters let through")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\ndata: m\n\n");
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"), one_shot());
    source.filter("tick", [](sse::event_view const& ev) { return ev.data != "1"; });
    source.start();
    callback_reader reader{source, {}, {}};
    reader.next();
    REQUIRE(support::run_until(io, [&] { return reader.end.has_value(); }));
    CHECK(reader.events == std::vector<received>{{"tick", "2", ""}, {"message", "m", ""}});
}

TEST_CASE("event_source: a cancelled async_next completes with operation_aborted and loses no event")
{
    support::held_stream held("id: 1\ndata: kept\n\n");
    auto& server = held.server;
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    asio::cancellation_signal signal;
    outcome cancelled;
    source.async_next(asio::bind_cancellation_slot(signal.slot(), cancelled.handler()));
    REQUIRE(support::run_until(io, [&] { return server.request_count() == 1; }));
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(support::run_until(io, [&] { return cancelled.done; }));
    CHECK(cancelled.ec == asio::error::operation_aborted);

    held.release();
    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK_FALSE(out.ec);
    CHECK(as_received(out.ev) == received{"message", "kept", "1"});
    signal.emit(asio::cancellation_type::terminal);   // a stale signal touches nothing
    source.close();
    REQUIRE(next_of(io, source, out));
    CHECK(out.ec == asio::error::operation_aborted);
}

TEST_CASE("event_source: an async_next cancelled after taking an event but before its handler ran gives it back")
{
    // The handler runs on a second io_context, which this test runs only once the
    // event has been taken: the cancellation then comes between the two, as when
    // the other side of `||` wins at the same moment.
    script_server server(support::stream_of("id: 1\ndata: first\n\n"));
    asio::io_context io;
    asio::io_context handlers;
    plain_source source(io.get_executor(), server.url("/"));
    source.start();
    asio::cancellation_signal signal;
    outcome cancelled;
    source.async_next(asio::bind_cancellation_slot(
        signal.slot(), asio::bind_executor(handlers.get_executor(), cancelled.handler())));
    REQUIRE(support::run_until(io, [&] { return source.stats().events_delivered == 1; }));
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(support::run_until(handlers, [&] { return cancelled.done; }));
    CHECK(cancelled.ec == asio::error::operation_aborted);

    outcome out;
    REQUIRE(next_of(io, source, out));
    CHECK_FALSE(out.ec);
    CHECK(as_received(out.ev) == received{"message", "first", "1"});
    source.close();
    io.run();
}

TEST_CASE("event_source: async_next reads on across a reconnect, which resumes with Last-Event-ID")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 10\nid: 1\ndata: a\n\nid: 2\ndata: b\n\n");
        else
            c.send(support::sse_head() + "id: 3\ndata: c\n\n");
    });
    sse::event_source_options options;
    options.backoff.initial_retry = 10ms;
    options.backoff.min_retry = 1ms;
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"), options);
    source.start();
    std::vector<received> got;
    outcome out;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(next_of(io, source, out));
        REQUIRE_FALSE(out.ec);
        got.push_back(as_received(out.ev));
    }
    CHECK(got == std::vector<received>{{"message", "a", "1"}, {"message", "b", "2"}, {"message", "c", "3"}});
    auto const requests = server.requests();
    REQUIRE(requests.size() >= 2);
    CHECK_FALSE(requests[0].header("Last-Event-ID"));
    CHECK(requests[1].header("Last-Event-ID") == "2");
    source.close();
}
