// Tests of sse::source_group over loopback, against the scripted raw HTTP server
// (support/script_server.hpp): shared handlers with names, isolation of a failing
// stream, add and remove while running, close, and the health snapshot.
#include <sse/asio/source_group.hpp>

#include "support/run_until.hpp"
#include "support/script_server.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using support::script_server;
using plain_group = sse::source_group<asio::ip::tcp::socket>;

namespace {

// The documentation's example (docs/source_group.md), run below against two local streams.
// Prints each stream's events, and its health once every stream has ended.
void watch(std::string const& eu_url, std::string const& us_url)
{
    asio::io_context io;
    sse::source_group<asio::ip::tcp::socket> group(io.get_executor());

    group.on("price", [](std::string_view name, sse::event_view const& ev) {
        std::cout << name << ": " << ev.data << '\n';
    });
    group.on_state([](std::string_view name, sse::source_state state, sse::error_code why) {
        std::cerr << name << ' ' << sse::to_string(state) << ' ' << (why ? why.message() : "") << '\n';
    });

    sse::event_source_options once;
    once.reconnect = false;                       // this demo stops when a stream ends
    group.add("eu", eu_url, once);
    group.add("us", us_url, once).filter("price", [](sse::event_view const& ev) { return !ev.data.empty(); });

    group.on_all_ended([&] {
        for (sse::source_health const& h : group.health())
            std::cout << h.name << ' ' << sse::to_string(h.state) << ' ' << h.stats.events_received << " events, "
                      << h.failed_attempts << " failed attempts\n";
    });
    group.start();
    io.run();   // returns once every stream has ended
}

struct got
{
    std::string name, type, data;
    friend bool operator<(got const& a, got const& b)
    {
        return std::tie(a.name, a.type, a.data) < std::tie(b.name, b.type, b.data);
    }
    friend bool operator==(got const& a, got const& b)
    {
        return a.name == b.name && a.type == b.type && a.data == b.data;
    }
};

std::ostream& operator<<(std::ostream& os, got const& g)
{
    return os << '{' << g.name << ", " << g.type << ", " << g.data << '}';
}

// A group on its io_context, recording what its shared handlers see.
struct harness
{
    asio::io_context io;
    plain_group group{io.get_executor()};
    std::vector<got> events;
    std::vector<std::tuple<std::string, sse::source_state, sse::error_code>> states;
    int all_ended = 0;

    harness()
    {
        group.on_event([this](std::string_view name, sse::event_view const& ev) {
            events.push_back({std::string(name), std::string(ev.type), std::string(ev.data)});
        });
        group.on_state([this](std::string_view name, sse::source_state s, sse::error_code why) {
            states.emplace_back(std::string(name), s, why);
        });
        group.on_all_ended([this] { ++all_ended; });
    }

    std::size_t count(std::string const& name) const
    {
        std::size_t n = 0;
        for (auto const& e : events)
            n += e.name == name;
        return n;
    }

    bool saw(std::string const& name, sse::source_state s) const
    {
        for (auto const& [n, state, why] : states)
            if (n == name && state == s)
                return true;
        return false;
    }

    bool run_until(std::function<bool()> done, std::chrono::milliseconds limit = 10s)
    {
        return support::run_until(io, std::move(done), limit);
    }
};

sse::event_source_options quick()
{
    sse::event_source_options o;
    o.backoff.initial_retry = 20ms;
    o.backoff.min_retry = 1ms;
    o.backoff.cap = 100ms;
    return o;
}

// Serves /a and /b as endless streams (one numbered event of the path's name
// every 10 ms), /once as two events and the end, and 404 for anything else.
script_server::handler_type streams()
{
    return [](script_server::connection& c, support::recorded_request const& r) {
        if (r.target == "/once") {
            c.send(support::sse_head() + "event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\n");
            return;
        }
        if (r.target != "/a" && r.target != "/b") {
            c.send(support::status_response(404, "Not Found", "Connection: close\r\n", "no such stream\n"));
            return;
        }
        std::string const type = r.target.substr(1);
        if (!c.send(support::sse_head()))
            return;
        for (int i = 0; !c.stopping(); ++i) {
            if (!c.send("event: " + type + "\ndata: " + std::to_string(i) + "\n\n"))
                return;
            c.pause(10ms);
        }
    };
}

} // namespace

TEST_CASE("source_group: events of two streams reach the shared handlers with the stream's name")
{
    script_server server(streams());
    harness h;
    std::vector<got> typed_a, typed_b;
    h.group.on("a", [&](std::string_view name, sse::event_view const& ev) {
        typed_a.push_back({std::string(name), std::string(ev.type), std::string(ev.data)});
    });
    h.group.on("b", [&](std::string_view name, sse::event_view const& ev) {
        typed_b.push_back({std::string(name), std::string(ev.type), std::string(ev.data)});
    });
    h.group.add("first", server.url("/a"), quick());
    h.group.add("second", server.url("/b"), quick());
    CHECK(h.group.size() == 2);
    CHECK(h.group.running() == 0);
    h.group.start();
    CHECK(h.group.running() == 2);
    REQUIRE(h.run_until([&] { return typed_a.size() >= 3 && typed_b.size() >= 3; }));

    for (auto const& e : typed_a)
        CHECK(e == got{"first", "a", e.data});
    for (auto const& e : typed_b)
        CHECK(e == got{"second", "b", e.data});
    CHECK(typed_a[0].data == "0");
    CHECK(typed_a[2].data == "2");
    CHECK(typed_b[0].data == "0");
    for (auto const& e : h.events)
        CHECK(e.type == (e.name == "first" ? "a" : "b"));   // on_event: every event, the right name
    CHECK(h.saw("first", sse::source_state::open));
    CHECK(h.saw("second", sse::source_state::open));

    h.group.close();
    REQUIRE(h.run_until([&] { return h.group.running() == 0; }));
    CHECK(h.all_ended == 1);
    CHECK(h.saw("first", sse::source_state::closed));
    CHECK(h.saw("second", sse::source_state::closed));
}

TEST_CASE("source_group: a stream that fails leaves the others alone, and its health says so")
{
    script_server server(streams());
    harness h;
    h.group.add("good", server.url("/a"), quick());
    h.group.add("missing", server.url("/nope"), quick());
    h.group.start();
    REQUIRE(h.run_until([&] { return h.saw("missing", sse::source_state::failed) && h.count("good") >= 5; }));
    CHECK(h.group.running() == 1);
    CHECK(h.all_ended == 0);

    auto const bad = h.group.health("missing");
    REQUIRE(bad);
    CHECK(bad->state == sse::source_state::failed);
    CHECK(bad->stats.last_status == 404);
    CHECK(bad->stats.last_error == sse::error::bad_status);
    CHECK(bad->failed_attempts == 1);
    CHECK(bad->disconnects == 0);
    CHECK(bad->stats.events_received == 0);
    CHECK(bad->last_event_at == sse::source_health::clock::time_point{});
    CHECK(bad->uptime == sse::source_health::clock::duration::zero());

    // The good stream keeps delivering after the failure.
    auto const before = h.count("good");
    REQUIRE(h.run_until([&] { return h.count("good") >= before + 3; }));
    auto const good = h.group.health("good");
    REQUIRE(good);
    CHECK(good->state == sse::source_state::open);
    CHECK(good->failed_attempts == 0);
    CHECK(good->stats.opens == 1);

    h.group.close();
    REQUIRE(h.run_until([&] { return h.group.running() == 0; }));
    CHECK(h.all_ended == 1);
    CHECK(h.group.health("missing")->state == sse::source_state::failed);   // kept until removed
}

TEST_CASE("source_group: remove while running ends one stream and reports nothing more for it")
{
    script_server server(streams());
    harness h;
    h.group.add("a", server.url("/a"), quick());
    h.group.add("b", server.url("/b"), quick());
    h.group.start();
    REQUIRE(h.run_until([&] { return h.count("a") >= 2 && h.count("b") >= 2; }));

    SUBCASE("from outside a handler")
    {
        CHECK(h.group.remove("a"));
    }
    SUBCASE("from inside one of its own handlers")
    {
        bool removed = false;
        h.group.on("a", [&](std::string_view name, sse::event_view const&) {
            if (!removed)
                removed = h.group.remove(name);
        });
        REQUIRE(h.run_until([&] { return removed; }));
    }
    CHECK_FALSE(h.group.contains("a"));
    CHECK_FALSE(h.group.remove("a"));
    CHECK(h.group.names() == std::vector<std::string>{"b"});
    CHECK_FALSE(h.group.health("a"));
    CHECK(h.group.running() == 1);

    auto const a_events = h.count("a");
    auto const a_states = h.states.size();
    auto const b_events = h.count("b");
    REQUIRE(h.run_until([&] { return h.count("b") >= b_events + 5; }));
    CHECK(h.count("a") == a_events);
    CHECK(h.states.size() == a_states);   // no `closed` reported for a removed stream
    CHECK(h.all_ended == 0);

    // Removing the last running stream counts as the end of all.
    CHECK(h.group.remove("b"));
    REQUIRE(h.run_until([&] { return h.all_ended == 1; }));
    CHECK(h.group.size() == 0);
    CHECK(h.group.running() == 0);
    // The server sees both connections go.
    CHECK(support::run_until(h.io, [&] { return server.connections_open() == 0; }, 5s));
}

TEST_CASE("source_group: add while running starts at once; close ends all and io.run() returns")
{
    script_server server(streams());
    harness h;
    h.group.add("a", server.url("/a"), quick());
    h.group.start();
    REQUIRE(h.run_until([&] { return h.count("a") >= 1; }));
    h.group.add("b", server.url("/b"), quick());
    CHECK(h.group.running() == 2);
    REQUIRE(h.run_until([&] { return h.count("b") >= 2; }));

    // A name in use, or a URL the source cannot use: an sse error, thrown or reported.
    try {
        h.group.add("b", server.url("/b"));
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::duplicate_stream_name);
        CHECK(std::string(e.what()).find("'b'") != std::string::npos);
    }
    CHECK_THROWS_AS(h.group.add("c", "ftp://127.0.0.1/"), std::system_error);
    sse::error_code ec;
    CHECK(h.group.add("b", server.url("/b"), quick(), ec) == nullptr);
    CHECK(ec == sse::error::duplicate_stream_name);
    CHECK(ec == sse::condition::fatal);
    CHECK(h.group.add("c", "ftp://127.0.0.1/", quick(), ec) == nullptr);
    CHECK(ec == sse::error::bad_url);
    CHECK(h.group.size() == 2);
    CHECK(h.group.running() == 2);

    // close() from another thread; io.run() then returns on its own: the group holds no work.
    std::thread closer([&] { h.group.close(); });
    h.io.restart();
    h.io.run();
    closer.join();
    CHECK(h.group.running() == 0);
    CHECK(h.all_ended == 1);
    for (auto const& hl : h.group.health())
        CHECK(hl.state == sse::source_state::closed);

    // A stream added after close() waits for the next start().
    auto* later = h.group.add("later", server.url("/once"), quick(), ec);
    CHECK_FALSE(ec);
    REQUIRE(later != nullptr);
    CHECK(later->origin().target == "/once");
    CHECK(h.group.running() == 0);
    CHECK_FALSE(h.group.health("later")->started);
    h.group.start();
    CHECK(h.group.running() == 1);
    REQUIRE(h.run_until([&] { return h.count("later") >= 2; }));
    h.group.close();
    REQUIRE(h.run_until([&] { return h.group.running() == 0; }));
    CHECK(h.all_ended == 2);
}

TEST_CASE("source_group: the health snapshot")
{
    // Each connection sends two events and ends: the source reconnects every time.
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "retry: 20\nevent: tick\ndata: x\n\nevent: tick\ndata: y\n\n");
        c.pause(100ms);
    });
    harness h;
    auto const before_add = sse::source_health::clock::now();
    h.group.add("flaky", server.url("/"), quick());
    h.group.add("idle", server.url("/"), quick());   // never started: removed below before start
    CHECK(h.group.remove("idle"));
    h.group.start();
    REQUIRE(h.run_until([&] { return h.count("flaky") >= 6; }));
    // Caught while open, then after the stream has ended a few times.
    REQUIRE(h.run_until([&] {
        auto const s = h.group.health("flaky");
        return s && s->state == sse::source_state::open && s->stats.opens >= 3;
    }));
    auto const open = *h.group.health("flaky");
    CHECK(open.uptime > sse::source_health::clock::duration::zero());
    CHECK(open.availability > 0.0);
    CHECK(open.availability <= 1.0);

    h.group.close();
    REQUIRE(h.run_until([&] { return h.group.running() == 0; }));
    auto const all = h.group.health();
    REQUIRE(all.size() == 1);
    auto const& s = all[0];
    CHECK(s.name == "flaky");
    CHECK(s.url == server.url("/"));
    CHECK(s.started);
    CHECK(s.state == sse::source_state::closed);
    CHECK(s.added_at >= before_add);
    CHECK(s.started_at >= s.added_at);
    CHECK(s.state_since >= s.started_at);
    CHECK(s.last_event_at >= s.started_at);
    CHECK(s.last_event_at <= s.state_since);
    CHECK(s.stats.events_received == h.count("flaky"));
    CHECK(s.stats.opens >= 3);
    // Every open stream but the last one ended on the server's side; the last one by close(),
    // unless close() came while the source was waiting to reconnect.
    CHECK(s.disconnects >= s.stats.opens - 1);
    CHECK(s.disconnects <= s.stats.opens);
    CHECK(s.failed_attempts + s.stats.opens >= s.stats.attempts - 1);
    CHECK(s.state_changes >= 3 * s.stats.opens);   // connecting, open, waiting (or closed) per stream
    CHECK(s.uptime == sse::source_health::clock::duration::zero());
    CHECK(s.availability > 0.0);
    CHECK(s.availability <= 1.0);
}

TEST_CASE("source_group: destruction closes every stream without calling handlers")
{
    script_server server(streams());
    auto h = std::make_unique<harness>();
    h->group.add("a", server.url("/a"), quick());
    h->group.start();
    REQUIRE(h->run_until([&] { return h->count("a") >= 1; }));
    auto const states = h->states.size();
    {
        plain_group doomed(h->io.get_executor());
        doomed.add("x", server.url("/b"), quick());
        doomed.start();
        REQUIRE(support::run_until(h->io, [&] { return doomed.health("x")->state == sse::source_state::open; }));
    }
    REQUIRE(h->run_until([&] { return h->count("a") >= 5; }));
    CHECK(h->states.size() == states);
    h.reset();   // the group with a running stream, then its io_context
}

TEST_CASE("source_group: the documentation's example")
{
    script_server server(streams());
    script_server prices([](script_server::connection& c, support::recorded_request const& r) {
        c.send(support::sse_head() + "event: price\ndata: " + (r.target == "/eu" ? "101.5" : "99.25") +
               "\n\nevent: price\ndata:\n\n");
    });
    std::streambuf* const old = std::cout.rdbuf();
    std::ostringstream out;
    std::cout.rdbuf(out.rdbuf());
    std::streambuf* const old_err = std::cerr.rdbuf();
    std::ostringstream err;
    std::cerr.rdbuf(err.rdbuf());
    watch(prices.url("/eu"), prices.url("/us"));
    std::cout.rdbuf(old);
    std::cerr.rdbuf(old_err);
    auto const text = out.str();
    CAPTURE(text);
    CHECK(text.find("eu: 101.5\n") != std::string::npos);
    CHECK(text.find("us: 99.25\n") != std::string::npos);
    CHECK(text.find("eu: \n") != std::string::npos);       // eu has no filter
    CHECK(text.find("us: \n") == std::string::npos);       // us drops empty prices
    CHECK(text.find("eu closed 2 events, 0 failed attempts\n") != std::string::npos);
    CHECK(text.find("us closed 2 events, 0 failed attempts\n") != std::string::npos);
    CHECK(err.str().find("eu open") != std::string::npos);
}
