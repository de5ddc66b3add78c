// sse::redis::backplane against a real redis-server on a free loopback port:
// hubs that share one log deliver one sequence, whatever happens to Redis.
#include <sse/redis/backplane.hpp>

#include <sse/hub.hpp>
#include <sse/parser.hpp>

#include <doctest/doctest.h>

#include "support/redis_server.hpp"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// One event as a client would see it.
struct seen
{
    std::string id;
    std::string type;
    std::string data;
};

// An io_context run by a thread of its own, as a server runs one.
struct io_thread
{
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread{[this] { io.run(); }};

    ~io_thread()
    {
        work.reset();
        io.stop();
        thread.join();
    }
};

// A node: a hub on its own backplane.
struct node
{
    std::shared_ptr<sse::redis::backplane> log;
    std::unique_ptr<sse::hub> hub;

    node(asio::io_context& io, std::uint16_t port, std::string const& ns, std::size_t replay = 1024,
        std::size_t max_len = 100000, bool durable = false)
    {
        sse::redis::backplane_options o;
        o.server = {"127.0.0.1", port};
        o.ns = ns;
        o.max_len = max_len;
        o.durable = durable;
        o.block = 200ms;   // notices a log deleted under it within a fifth of a second
        o.reconnect.initial_retry = 50ms;
        o.reconnect.min_retry = 50ms;
        o.reconnect.cap = 200ms;
        log = sse::redis::backplane::create(io.get_executor(), o);
        sse::hub_options h;
        h.replay.max_events = replay;
        h.backplane = log;
        hub = std::make_unique<sse::hub>(h);
    }

    bool wait_connected(std::chrono::milliseconds limit = 5s) const
    {
        auto const until = std::chrono::steady_clock::now() + limit;
        while (log->stats().state != sse::backplane_state::connected) {
            if (std::chrono::steady_clock::now() > until)
                return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    // Publishes and waits for the log's answer.
    std::pair<sse::error_code, std::string> publish(
        std::string data, sse::audience to = {}, std::string idempotency_key = {})
    {
        sse::event e;
        e.data = std::move(data);
        sse::publish_options how;
        how.idempotency_key = std::move(idempotency_key);
        std::promise<std::pair<sse::error_code, std::string>> done;
        auto answer = done.get_future();
        hub->publish_async(e, std::move(to), how,
            [&done](sse::error_code ec, sse::publish_result r) { done.set_value({ec, r.id}); });
        if (answer.wait_for(5s) != std::future_status::ready)
            return {make_error_code(std::errc::timed_out), {}};
        return answer.get();
    }
};

// Pulls a subscriber's queue until `count` events arrived or `limit` passed.
std::vector<seen> collect(sse::subscriber& s, std::size_t count, std::chrono::milliseconds limit = 5s)
{
    std::vector<seen> out;
    sse::parser p;
    std::vector<sse::event_buffer> buffers;
    auto const until = std::chrono::steady_clock::now() + limit;
    while (out.size() < count && std::chrono::steady_clock::now() < until) {
        buffers.clear();
        s.pull(buffers, 1 << 20, std::chrono::steady_clock::now());
        if (buffers.empty()) {
            std::this_thread::sleep_for(2ms);
            continue;
        }
        for (auto const& b : buffers)
            p.feed(*b, [&](sse::event_view const& ev) {
                out.push_back({std::string(ev.last_event_id), std::string(ev.type), std::string(ev.data)});
            });
    }
    return out;
}

std::uint64_t seq_of(std::string const& id)
{
    return std::stoull(id.substr(id.rfind('-') + 1));
}

std::string epoch_of(std::string const& id)
{
    return id.substr(0, id.rfind('-'));
}

} // namespace

TEST_CASE("redis backplane: a publish on one node reaches the subscribers of every node, with one id")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "fanout"), b(t.io, redis.port(), "fanout");
    REQUIRE(a.wait_connected());
    REQUIRE(b.wait_connected());

    sse::subscriber_options news;
    news.topics = {"news"};
    auto on_a = a.hub->subscribe(news);
    auto on_b = b.hub->subscribe(news);
    sse::subscriber_options alice;
    alice.user = "alice";
    auto alice_b = b.hub->subscribe(alice);

    auto const first = a.publish("one", sse::audience::topic("news"));
    REQUIRE_FALSE(first.first);
    auto const second = b.publish("two", sse::audience::user("alice"));
    REQUIRE_FALSE(second.first);
    auto const third = a.publish("three", sse::audience::all());
    REQUIRE_FALSE(third.first);
    CHECK(seq_of(second.second) == seq_of(first.second) + 1);
    CHECK(seq_of(third.second) == seq_of(first.second) + 2);

    // The publishing node delivers through its reader too: the same order and ids everywhere.
    auto const ga = collect(*on_a, 2);
    auto const gb = collect(*on_b, 2);
    auto const gu = collect(*alice_b, 2);
    REQUIRE(ga.size() == 2);
    REQUIRE(gb.size() == 2);
    REQUIRE(gu.size() == 2);
    CHECK(ga[0].id == first.second);
    CHECK(ga[0].data == "one");
    CHECK(ga[1].id == third.second);
    CHECK(gb[0].id == ga[0].id);
    CHECK(gb[1].id == ga[1].id);
    CHECK(gu[0].data == "two");
    CHECK(gu[1].data == "three");
    CHECK(epoch_of(first.second) == a.hub->epoch());
    CHECK(a.hub->epoch() == b.hub->epoch());
    CHECK(collect(*on_a, 1, 100ms).empty());   // nothing doubled
}

TEST_CASE("redis backplane: a retried publish with the same idempotency key is appended once")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "idem"), b(t.io, redis.port(), "idem");
    REQUIRE(a.wait_connected());
    REQUIRE(b.wait_connected());
    auto sub = b.hub->subscribe({});
    auto const first = a.publish("pay", {}, "order-42");
    auto const retry = b.publish("pay", {}, "order-42");   // another node retries it
    auto const other = a.publish("ship", {}, "order-43");
    REQUIRE_FALSE(first.first);
    REQUIRE_FALSE(retry.first);
    CHECK(retry.second == first.second);
    CHECK(seq_of(other.second) == seq_of(first.second) + 1);
    auto const got = collect(*sub, 3, 500ms);
    REQUIRE(got.size() == 2);
    CHECK(got[0].data == "pay");
    CHECK(got[1].data == "ship");
    CHECK(b.log->stats().duplicates == 1);
}

TEST_CASE("redis backplane: a subscriber resuming from before the node's history gets the log's entries, then live")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "history", /*replay*/ 4);
    REQUIRE(a.wait_connected());
    auto watcher = a.hub->subscribe({});
    std::vector<std::string> ids;
    for (int i = 1; i <= 20; ++i) {
        auto const r = a.publish("e" + std::to_string(i));
        REQUIRE_FALSE(r.first);
        ids.push_back(r.second);
    }
    REQUIRE(collect(*watcher, 20).size() == 20);   // the node has read them all: its history holds 17..20

    sse::subscriber_options o;
    o.last_event_id = ids[2];   // e3: e4..e20 are wanted, e4..e16 only in Redis
    auto late = a.hub->subscribe(o);
    auto const live = a.publish("e21");
    REQUIRE_FALSE(live.first);
    auto const got = collect(*late, 18);
    REQUIRE(got.size() == 18);
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(got[i].data == "e" + std::to_string(i + 4));
    CHECK(collect(*late, 1, 100ms).empty());
    CHECK(a.log->stats().history_reads >= 1);
}

TEST_CASE("redis backplane: a client away past the log's retention gets a reset")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "trim", /*replay*/ 4, /*max_len*/ 10);
    REQUIRE(a.wait_connected());
    std::string early;
    for (int i = 1; i <= 400; ++i) {   // MAXLEN ~ trims whole nodes of 100 entries
        auto const r = a.publish("e" + std::to_string(i));
        REQUIRE_FALSE(r.first);
        if (i == 2)
            early = r.second;
    }
    sse::subscriber_options o;
    o.last_event_id = early;
    auto sub = a.hub->subscribe(o);
    // The reset, then what the node has in memory: its events continue from the reset's id.
    auto got = collect(*sub, 1);
    REQUIRE_FALSE(got.empty());
    CHECK(got[0].type == "reset");
    CHECK(got[0].data.find("\"too_old\"") != std::string::npos);
    auto const rest_of_history = collect(*sub, 400 - seq_of(got[0].id), 1s);
    got.insert(got.end(), rest_of_history.begin(), rest_of_history.end());
    REQUIRE(got.size() == 1 + (400 - seq_of(got[0].id)));
    for (std::size_t i = 1; i < got.size(); ++i)
        CHECK(seq_of(got[i].id) == seq_of(got[0].id) + i);
    CHECK(got.back().data == "e400");
    // The reset's id is a position the client can resume from: nothing after it is lost.
    sse::subscriber_options again;
    again.last_event_id = got[0].id;
    auto resumed = a.hub->subscribe(again);
    auto const next = a.publish("after");
    REQUIRE_FALSE(next.first);
    auto const rest = collect(*resumed, 1000, 1s);
    REQUIRE_FALSE(rest.empty());
    CHECK(rest.front().type != "reset");
    CHECK(rest.back().data == "after");
}

TEST_CASE("redis backplane: Redis down: publishes fail at once, then the reader comes back; a restart is a new epoch")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "outage"), b(t.io, redis.port(), "outage");
    REQUIRE(a.wait_connected());
    REQUIRE(b.wait_connected());
    auto sub = b.hub->subscribe({});
    auto const before = a.publish("before");
    REQUIRE_FALSE(before.first);
    REQUIRE(collect(*sub, 1).size() == 1);

    redis.stop();
    auto const until = std::chrono::steady_clock::now() + 5s;
    while (a.log->stats().state == sse::backplane_state::connected && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
    auto const down = a.publish("lost?");
    CHECK(down.first == sse::error::backplane_unavailable);
    CHECK(a.log->stats().publish_failures >= 1);
    CHECK(a.log->stats().unreachable_since.has_value());

    redis.start();   // the same port, an empty server: a new run_id
    REQUIRE(a.wait_connected());
    REQUIRE(b.wait_connected());
    auto const got = collect(*sub, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == "reset");
    CHECK(got[0].data.find("\"epoch\"") != std::string::npos);
    CHECK(epoch_of(got[0].id) != epoch_of(before.second));
    auto const after = a.publish("after");
    REQUIRE_FALSE(after.first);
    auto const next = collect(*sub, 1);
    REQUIRE(next.size() == 1);
    CHECK(next[0].data == "after");
    CHECK(seq_of(next[0].id) == seq_of(got[0].id) + 1);
    CHECK(a.log->stats().reconnects >= 1);
}

TEST_CASE("redis backplane: durable, on an append-only Redis: a restart keeps the epoch and the position")
{
    support::redis_server_options aof;
    aof.appendonly = true;
    support::redis_server redis(aof);
    io_thread t;
    node a(t.io, redis.port(), "durable", 1024, 100000, /*durable*/ true);
    REQUIRE(a.wait_connected());
    auto sub = a.hub->subscribe({});
    auto const before = a.publish("before");
    REQUIRE_FALSE(before.first);
    REQUIRE(collect(*sub, 1).size() == 1);

    redis.restart();
    auto const until = std::chrono::steady_clock::now() + 5s;
    sse::error_code ec;
    std::string id;
    do {   // publishes fail until the backplane has reconnected
        std::tie(ec, id) = a.publish("after");
        if (ec)
            std::this_thread::sleep_for(20ms);
    } while (ec && std::chrono::steady_clock::now() < until);
    REQUIRE_FALSE(ec);
    CHECK(epoch_of(id) == epoch_of(before.second));
    CHECK(seq_of(id) == seq_of(before.second) + 1);
    auto const got = collect(*sub, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].data == "after");   // no reset
}

TEST_CASE("redis backplane: a log deleted under the readers starts a new epoch, and subscribers are reset")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "flushed");
    REQUIRE(a.wait_connected());
    auto sub = a.hub->subscribe({});
    auto const before = a.publish("before");
    REQUIRE_FALSE(before.first);
    REQUIRE(collect(*sub, 1).size() == 1);
    redis.command({"FLUSHALL"});
    auto const got = collect(*sub, 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].type == "reset");
    CHECK(epoch_of(got[0].id) != epoch_of(before.second));
}

TEST_CASE("redis backplane: entries someone else added to the stream are never delivered")
{
    support::redis_server redis;
    io_thread t;
    node a(t.io, redis.port(), "foreign");
    REQUIRE(a.wait_connected());
    auto sub = a.hub->subscribe({});
    REQUIRE_FALSE(a.publish("ours").first);
    redis.command({"XADD", "{foreign}:log", "99-0", "junk", "1"});
    REQUIRE(collect(*sub, 1).size() == 1);
    CHECK(collect(*sub, 1, 300ms).empty());
}

TEST_CASE("redis backplane: a wrong password is a clear error, retried, never a crash")
{
    support::redis_server_options locked;
    locked.requirepass = "right";
    support::redis_server redis(locked);
    io_thread t;
    sse::redis::backplane_options o;
    o.server = {"127.0.0.1", redis.port()};
    o.password = "wrong";
    o.reconnect.initial_retry = 50ms;
    o.reconnect.min_retry = 50ms;
    auto log = sse::redis::backplane::create(t.io.get_executor(), o);
    sse::hub_options h;
    h.backplane = log;
    sse::hub hub(h);
    auto const until = std::chrono::steady_clock::now() + 5s;
    while (log->stats().last_error.empty() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(5ms);
    auto const st = log->stats();
    CHECK(st.state == sse::backplane_state::connecting);
    CHECK(st.last_error == make_error_code(sse::redis::error::auth_failed).message());
    sse::event e;
    e.data = "x";
    sse::error_code ec;
    hub.publish(e, {}, {}, ec);
    CHECK(ec == sse::error::backplane_unavailable);
}

TEST_CASE("redis backplane: dropped with its io_context stopped, it frees its connections (LeakSanitizer checks)")
{
    support::redis_server redis;
    std::weak_ptr<sse::redis::backplane> weak;
    {
        asio::io_context io;
        {
            node a(io, redis.port(), "dropped");
            weak = a.log;
            auto const until = std::chrono::steady_clock::now() + 5s;
            while (a.log->stats().state != sse::backplane_state::connected &&
                   std::chrono::steady_clock::now() < until)
                io.run_one_for(10ms);
            REQUIRE(a.log->stats().state == sse::backplane_state::connected);
            io.run_for(50ms);   // the reader is now in XREAD BLOCK, its handler pending
        }
        // The hub and its backplane are gone; the stop they posted never runs.
        CHECK(weak.expired());
    }
    // The io_context is destroyed: its pending operations with it. Under ASan a
    // reference cycle between the backplane's state and its connections shows as a leak.
}
