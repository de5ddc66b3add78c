// Tests of the controls an event source gives its user while it runs: the
// registrations on() and filter() return, reconnect(), and the retry of a 429
// (RFC 6585 4, Retry-After per RFC 9110 10.2.3). Against the scripted raw HTTP
// server of support/script_server.hpp, on loopback.
#include <sse/asio/event_source.hpp>

#include "support/run_until.hpp"
#include "support/script_server.hpp"
#include "support/source_harness.hpp"

#include "support/net.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using support::script_server;
using plain_source = sse::event_source<asio::ip::tcp::socket>;
using support::source_harness;

namespace {

sse::event_source_options quick()
{
    sse::event_source_options o;
    o.backoff.initial_retry = 20ms;
    o.backoff.min_retry = 1ms;
    return o;
}

// Keeps a stream open until the client goes away or the server stops.
void hold(script_server::connection& c)
{
    c.wait_for_close(20s);
}

// Waits, up to `limit`, for a condition another thread makes true.
template<class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit)
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

long long gap_ms(support::recorded_request const& a, support::recorded_request const& b)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(b.at - a.at).count();
}

} // namespace

// ---- registrations ----

TEST_CASE("event_source: removing one of two handlers leaves the other")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: 1\n\ndata: 2\n\ndata: 3\n\nevent: end\ndata: x\n\n");
        hold(c);
    });
    source_harness h(server.url("/"), quick());
    std::vector<std::string> first, second;
    h.source.on("message", [&](sse::event_view const& ev) { first.emplace_back(ev.data); });
    sse::registration second_reg;
    second_reg = h.source.on("message", [&](sse::event_view const& ev) {
        second.emplace_back(ev.data);
        second_reg.remove();   // from inside itself: the usual "once"
    });
    h.source.on("end", [&](sse::event_view const&) { h.source.close(); });
    REQUIRE(h.run());
    CHECK(first == std::vector<std::string>{"1", "2", "3"});
    CHECK(second == std::vector<std::string>{"1"});
    CHECK_FALSE(second_reg.active());
}

TEST_CASE("event_source: a handler removed by an earlier one misses the current event")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: 1\n\ndata: 2\n\nevent: end\ndata: x\n\n");
        hold(c);
    });
    source_harness h(server.url("/"), quick());
    std::vector<std::string> first, second, added;
    sse::registration second_reg;
    h.source.on("message", [&](sse::event_view const& ev) {
        first.emplace_back(ev.data);
        if (ev.data == "1") {
            second_reg.remove();
            // Added during a dispatch: starts with the next event (as DOM listeners do).
            h.source.on("message", [&](sse::event_view const& e) { added.emplace_back(e.data); });
        }
    });
    second_reg = h.source.on("message", [&](sse::event_view const& ev) { second.emplace_back(ev.data); });
    h.source.on("end", [&](sse::event_view const&) { h.source.close(); });
    REQUIRE(h.run());
    CHECK(first == std::vector<std::string>{"1", "2"});
    CHECK(second.empty());
    CHECK(added == std::vector<std::string>{"2"});
}

TEST_CASE("event_source: remove() is idempotent and safe after close and after the source is gone")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: 1\n\n");
        hold(c);
    });
    sse::registration kept, copy, empty;
    {
        source_harness h(server.url("/"), quick());
        int calls = 0;
        kept = h.source.on("message", [&](sse::event_view const&) {
            ++calls;
            h.source.close();
        });
        copy = kept;
        REQUIRE(h.run());
        CHECK(calls == 1);
        kept.remove();
        kept.remove();   // twice: nothing
        CHECK_FALSE(kept.active());
        CHECK(copy.active());   // each copy tracks its own call
        h.io.restart();
        h.io.poll();
    }
    copy.remove();   // the source is gone
    CHECK_FALSE(copy.active());
    empty.remove();   // a default-constructed one
    CHECK_FALSE(empty.active());
}

TEST_CASE("event_source: remove() from another thread takes effect on the strand")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (!c.send(support::sse_head()))
            return;
        for (int i = 0; i < 2000 && c.send("data: tick\n\n"); ++i)
            c.pause(5ms);
    });
    asio::io_context io;
    plain_source source(io.get_executor(), server.url("/"), quick());
    std::atomic<int> kept{0}, removed{0};
    source.on("message", [&](sse::event_view const&) { ++kept; });
    auto reg = source.on("message", [&](sse::event_view const&) { ++removed; });
    source.start();
    std::thread runner([&] { io.run(); });

    REQUIRE(eventually([&] { return removed.load() >= 2; }, 5s));
    reg.remove();
    // Anything posted after remove() runs after it.
    std::atomic<int> removed_then{-1};
    asio::post(source.get_executor(), [&] { removed_then = removed.load(); });
    REQUIRE(eventually([&] { return removed_then.load() >= 0; }, 5s));
    int const kept_then = kept.load();
    REQUIRE(eventually([&] { return kept.load() >= kept_then + 3; }, 5s));
    CHECK(removed.load() == removed_then.load());
    source.close();
    runner.join();
}

TEST_CASE("event_source: a filter's registration removes it, unless another replaced it")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() +
               "event: level\ndata: debug\n\nevent: level\ndata: info\n\n"
               "event: ctl\ndata: 1\n\n"
               "event: level\ndata: debug\n\nevent: level\ndata: info\n\n"
               "event: ctl\ndata: 2\n\n"
               "event: level\ndata: debug\n\nevent: level\ndata: info\n\n"
               "event: ctl\ndata: end\n\n");
        hold(c);
    });
    source_harness h(server.url("/"), quick());
    std::vector<std::string> levels;
    h.source.on("level", [&](sse::event_view const& ev) { levels.emplace_back(ev.data); });
    auto no_debug = h.source.filter("level", [](sse::event_view const& ev) { return ev.data != "debug"; });
    sse::registration no_info;
    h.source.on("ctl", [&](sse::event_view const& ev) {
        if (ev.data == "1") {
            no_info = h.source.filter("level", [](sse::event_view const& e) { return e.data != "info"; });
            no_debug.remove();   // replaced already: nothing
        } else if (ev.data == "2") {
            no_info.remove();
        } else {
            h.source.close();
        }
    });
    REQUIRE(h.run());
    CHECK(levels == std::vector<std::string>{"info", "debug", "debug", "info"});
    CHECK(h.source.stats().events_filtered == 2);
}

TEST_CASE("event_source: empty handlers and predicates are refused")
{
    asio::io_context io;
    plain_source source(io.get_executor(), "http://127.0.0.1:1/");
    try {
        source.filter("level", nullptr);
        FAIL("filter(type, nullptr) was accepted");
    } catch (std::invalid_argument const& e) {
        // The message says how to remove a filter instead.
        CHECK(std::string(e.what()).find("remove()") != std::string::npos);
        CHECK(std::string(e.what()).find("level") != std::string::npos);
    }
    CHECK_THROWS_AS(source.on("message", nullptr), std::invalid_argument);
}

// ---- reconnect() ----

TEST_CASE("event_source: reconnect() drops the stream and connects at once with Last-Event-ID")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0) {
            c.send(support::sse_head() + "id: 7\ndata: a\n\n");
            hold(c);
        } else {
            c.send(support::sse_head() + "id: 8\ndata: b\n\n");
            hold(c);
        }
    });
    auto options = quick();
    options.backoff.initial_retry = 5s;   // a reconnect that waited would be seen
    options.backoff.min_retry = 5s;
    source_harness h(server.url("/"), options);
    std::vector<std::string> got;
    h.source.on("message", [&](sse::event_view const& ev) {
        got.emplace_back(ev.data);
        if (ev.data == "a")
            h.source.reconnect();
        else
            h.source.close();
    });
    REQUIRE(h.run(4s));
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK_FALSE(requests[0].header("Last-Event-ID"));
    CHECK(requests[1].header("Last-Event-ID") == "7");
    CHECK(gap_ms(requests[0], requests[1]) < 1000);
    CHECK(got == std::vector<std::string>{"a", "b"});
    CHECK(h.count(sse::source_state::waiting) == 0);
    CHECK(h.count(sse::source_state::open) == 2);
    CHECK(h.source.stats().reconnects == 1);
}

TEST_CASE("event_source: reconnect() cuts a pending reconnect wait short")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0) {
            c.send(support::sse_head() + "retry: 5000\nid: 3\ndata: a\n\n");   // then the stream ends
        } else {
            c.send(support::sse_head() + "data: b\n\n");
            hold(c);
        }
    });
    source_harness h(server.url("/"), quick());
    h.source.on_state([&](sse::source_state s, sse::error_code why) {
        h.states.emplace_back(s, why);
        if (s == sse::source_state::waiting)
            h.source.reconnect();
    });
    h.source.on("message", [&](sse::event_view const& ev) {
        if (ev.data == "b")
            h.source.close();
    });
    REQUIRE(h.run(4s));
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].header("Last-Event-ID") == "3");
    CHECK(gap_ms(requests[0], requests[1]) < 1000);   // not the server's 5 s
    // The cancelled wait does not start a third attempt later.
    h.io.restart();
    h.io.run_for(200ms);
    CHECK(server.request_count() == 2);
}

TEST_CASE("event_source: reconnect() after close() does nothing")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: a\n\n");
        hold(c);
    });
    source_harness h(server.url("/"), quick());
    h.source.on("message", [&](sse::event_view const&) { h.source.close(); });
    REQUIRE(h.run());
    h.source.reconnect();
    h.io.restart();
    h.io.run_for(300ms);
    CHECK(server.request_count() == 1);
    CHECK(h.states.back() == std::make_pair(sse::source_state::closed, sse::error_code()));
}

// ---- 429 ----

namespace {

// The first answer is `refusal`, then a stream with one event; the event closes the source.
struct refused_once
{
    script_server server;
    source_harness<> h;

    refused_once(std::string refusal, sse::event_source_options options)
        : server([refusal](script_server::connection& c, support::recorded_request const&) {
              if (c.index() == 0)
                  c.send(refusal);
              else
                  c.send(support::sse_head() + "data: in\n\n");
          }),
          h(server.url("/"), std::move(options))
    {
        h.source.on("message", [this](sse::event_view const&) { h.source.close(); });
    }
};

} // namespace

TEST_CASE("event_source: 429 with Retry-After waits, then reconnects")
{
    // Wiring only: the delay a Retry-After sets (seconds or an HTTP-date) is
    // tested without sockets in source_policy.cpp; here the wait itself.
    auto options = quick();
    options.max_retry_after = 300ms;
    refused_once t(support::status_response(429, "Too Many Requests", "Retry-After: 1\r\n"), options);
    REQUIRE(t.h.run());
    auto const requests = t.server.requests();
    REQUIRE(requests.size() == 2);
    auto const gap = gap_ms(requests[0], requests[1]);
    CHECK(gap >= 300);
    CHECK(gap < 1000);
    REQUIRE(t.h.states.size() >= 3);
    CHECK(t.h.states[1] == std::make_pair(sse::source_state::waiting, sse::make_error_code(sse::error::bad_status)));
    CHECK(t.h.states.back() == std::make_pair(sse::source_state::closed, sse::error_code()));
}

TEST_CASE("event_source: 429 without Retry-After waits the usual back-off")
{
    auto options = quick();
    options.jitter_seed = 5;
    refused_once t(support::status_response(429, "Too Many Requests"), options);
    std::chrono::milliseconds announced{0};
    t.h.source.on_state([&](sse::source_state s, sse::error_code why) {
        t.h.states.emplace_back(s, why);
        if (s == sse::source_state::waiting)
            announced = t.h.source.stats().reconnect_delay;
    });
    REQUIRE(t.h.run());
    REQUIRE(t.server.request_count() == 2);
    sse::backoff policy(options.backoff);
    std::mt19937 rng(5);
    CHECK(announced == *policy.next_delay(std::chrono::steady_clock::now(), rng));
}

TEST_CASE("event_source: 429s count against max_attempts")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(429, "Too Many Requests", "Retry-After: 0\r\n"));
    });
    auto options = quick();
    options.backoff.max_attempts = 2;
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    CHECK(h.states.back() ==
          std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::reconnect_limit)));
    CHECK(server.request_count() == 3);
    CHECK(h.source.stats().last_status == 429);
}

TEST_CASE("event_source: with retry_429 off a 429 ends the source")
{
    auto options = quick();
    options.retry_429 = false;
    refused_once t(support::status_response(429, "Too Many Requests", "Retry-After: 0\r\n"), options);
    REQUIRE(t.h.run());
    CHECK(t.h.states.back() ==
          std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::bad_status)));
    CHECK(t.server.request_count() == 1);
}

TEST_CASE("event_source: the documentation's registration example")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "event: price\ndata: 1\n\nevent: log\ndata: debug\n\nevent: end\ndata: x\n\n");
        hold(c);
    });
    source_harness h(server.url("/"), quick());
    std::vector<std::string> seen;
    auto show_price = [&](sse::event_view const& ev) { seen.emplace_back(ev.data); };
    plain_source& source = h.source;
    // docs/event_source.md, "Handlers":
    sse::registration price = source.on("price", show_price);
    sse::registration quiet = source.filter("log", [](sse::event_view const& ev) { return ev.data != "debug"; });
    // ... when the view goes away:
    source.on("end", [&](sse::event_view const&) {
        price.remove();   // the type's other handlers stay
        quiet.remove();   // nothing if another filter() replaced it meanwhile
        source.close();
    });
    REQUIRE(h.run());
    CHECK(seen == std::vector<std::string>{"1"});
    CHECK(source.stats().events_filtered == 1);
    CHECK_FALSE(price.active());
}
