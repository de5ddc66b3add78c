// cluster_test.cpp - sse-server processes sharing one real redis-server (issue 12's node-level
// tests): fan-out across nodes, a node killed, Redis restarted with and without durability, Redis
// down for a while, history that runs out, bad input, and the issue's curl demonstration.
//
// Every event a test publishes carries {"i": n}. Each check compares what a client received with
// what the contract says it should: the events meant for it, each once, in the log's order. A
// final "fence" event, published after everything else, proves nothing more is on its way: the log
// hands events over in order, so a duplicate would have come before the fence.
#include "cluster.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>

namespace {

using namespace std::chrono_literals;
using cluster::json;
using loopback::reader;
using loopback::received;

/// Who a test client is: its user and channels, and which node it streams from.
struct client_spec
{
    std::size_t node = 0;
    std::string user;
    std::vector<std::string> channels;

    std::string target() const
    {
        std::string t = "/api/sse?";
        if (!user.empty())
            t += "userId=" + user + "&";
        if (!channels.empty()) {
            t += "channels=";
            for (std::size_t i = 0; i < channels.size(); ++i)
                t += (i ? "," : "") + channels[i];
        }
        return t;
    }
};

/// One published event: its number and audience.
struct event_spec
{
    int i = 0;
    std::vector<std::string> channels;
    std::vector<std::string> users;

    json body(std::string const& type = "t") const
    {
        json b = {{"event", type}, {"data", {{"i", i}}}};
        if (!channels.empty())
            b["channels"] = channels;
        if (!users.empty())
            b["userIds"] = users;
        return b;
    }

    /// The routing of docs/server.md: channels or users; everyone when neither is given.
    bool meant_for(client_spec const& c) const
    {
        if (channels.empty() && users.empty())
            return true;
        for (auto const& ch : channels)
            if (std::find(c.channels.begin(), c.channels.end(), ch) != c.channels.end())
                return true;
        return !c.user.empty() && std::find(users.begin(), users.end(), c.user) != users.end();
    }
};

/// The `i` of each event a client received from publishers, in order.
std::vector<int> numbers(std::vector<received> const& events)
{
    std::vector<int> out;
    for (auto const& e : cluster::published(events))
        if (e.type == "t")
            out.push_back(e.data_json()["i"].get<int>());
    return out;
}

std::vector<int> numbers_meant_for(std::vector<event_spec> const& events, client_spec const& c)
{
    std::vector<int> out;
    for (auto const& e : events)
        if (e.meant_for(c))
            out.push_back(e.i);
    return out;
}

/// Waits until `r` has received an event of `type` (once more than `before`).
bool wait_type(reader& r, std::string const& type, std::size_t count = 1, std::chrono::milliseconds limit = 15s)
{
    return r.wait_for(type, count, limit);
}

/// The last id the client saw: what an EventSource sends as Last-Event-ID when it reconnects.
std::string last_id(reader const& r)
{
    std::string id;
    for (auto const& e : r.events())
        if (!e.id.empty())
            id = e.id;
    return id;
}

std::vector<std::string> node_args(cluster::redis const& r, std::string const& ns, std::vector<std::string> more = {})
{
    std::vector<std::string> a = {"--redis", r.url(ns), "--retry-ms", "500"};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

void require_connected(cluster::node const& n)
{
    REQUIRE_MESSAGE(n.wait_backplane("connected"), "node " << n.name() << " never followed Redis: " << n.log());
}

json fence_body() { return {{"event", "fence"}, {"data", "end"}}; }

/// The backplane object of a node's /api/sse/stats (anonymous mode: no credential needed on loopback).
json backplane_stats(cluster::node const& n)
{
    auto const r = loopback::get(n.port(), "/api/sse/stats");
    return r.status == 200 ? r.body_json().value("backplane", json()) : json();
}

} // namespace

TEST_CASE("redis: three nodes deliver every event once to each client meant for it, in one global order")
{
    auto const dir = cluster::test_directory("fanout");
    cluster::redis redis(dir);
    std::vector<std::unique_ptr<cluster::node>> nodes;
    for (char const* name : {"a", "b", "c"})
        nodes.push_back(std::make_unique<cluster::node>(dir, name, node_args(redis, "fanout")));
    for (auto& n : nodes)
        require_connected(*n);

    std::vector<client_spec> const clients = {
        {0, "alice", {"news"}}, {0, "", {"sport"}},         {1, "bob", {"news", "sport"}},
        {1, "", {}},            {2, "alice", {}},           {2, "carol", {"sport", "weather"}},
    };
    std::vector<std::unique_ptr<reader>> readers;
    for (auto const& c : clients)
        readers.push_back(std::make_unique<reader>(nodes[c.node]->port(), c.target()));
    for (auto& r : readers)
        REQUIRE(wait_type(*r, "connected"));

    std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> const audiences = {
        {{"news"}, {}}, {{"sport"}, {}}, {{}, {"alice"}}, {{}, {"bob"}}, {{}, {}}, {{"weather"}, {"bob"}},
        {{}, {"dave"}},
    };
    std::vector<event_spec> events;
    std::map<int, std::string> id_of;
    for (int i = 0; i < 42; ++i) {
        CAPTURE(i);
        event_spec e{i, audiences[i % audiences.size()].first, audiences[i % audiences.size()].second};
        auto& publisher = *nodes[static_cast<std::size_t>(i) % nodes.size()];
        std::string const key = "fanout-" + std::to_string(i);
        auto const answer = publisher.publish(e.body(), key);
        REQUIRE_MESSAGE(answer.status == 202, answer.body << publisher.log());
        auto const body = answer.body_json();
        CHECK(body["recipients"].is_null());   // not known when Redis has only taken it
        id_of[i] = body["id"].get<std::string>();
        events.push_back(e);
        if (i == 7) {
            // A publisher that did not see the answer retries, on another node, with the same key.
            auto const retry = nodes[(static_cast<std::size_t>(i) + 1) % nodes.size()]->publish(e.body(), key);
            REQUIRE(retry.status == 202);
            CHECK(retry.body_json()["id"] == id_of[i]);
        }
    }
    // Publishes answered one after the other are in the log in that order, one epoch, dense.
    for (int i = 1; i < 42; ++i) {
        CHECK(cluster::epoch_of(id_of[i]) == cluster::epoch_of(id_of[0]));
        CHECK(cluster::seq_of(id_of[i]) == cluster::seq_of(id_of[i - 1]) + 1);
    }
    REQUIRE(nodes[2]->publish(fence_body()).status == 202);

    for (std::size_t k = 0; k < readers.size(); ++k) {
        CAPTURE(k);
        CAPTURE(clients[k].target());
        REQUIRE_MESSAGE(wait_type(*readers[k], "fence"), nodes[clients[k].node]->log());
        auto const got = readers[k]->events();
        CHECK(numbers(got) == numbers_meant_for(events, clients[k]));
        CHECK(readers[k]->events("reset").empty());
        // The same id for the same event on every node.
        for (auto const& e : cluster::published(got))
            if (e.type == "t")
                CHECK(e.id == id_of[e.data_json()["i"].get<int>()]);
    }
    auto const stats = backplane_stats(*nodes[0]);
    CHECK(stats["duplicates"].get<int>() + backplane_stats(*nodes[1])["duplicates"].get<int>() +
              backplane_stats(*nodes[2])["duplicates"].get<int>() ==
          1);
    readers.clear();
    for (auto& n : nodes)
        CHECK_MESSAGE(n->stop(), n->name());   // SIGTERM: a clean exit, the backplane stopped with it
}

TEST_CASE("redis: the clients of a killed node resume on another with Last-Event-ID, nothing lost or doubled")
{
    auto const dir = cluster::test_directory("kill");
    cluster::redis redis(dir);
    cluster::node a(dir, "a", node_args(redis, "kill"));
    // A small replay buffer: the clients come back from further than it reaches, so
    // their resume is read from the Redis log.
    cluster::node b(dir, "b", node_args(redis, "kill", {"--replay-events", "8"}));
    require_connected(a);
    require_connected(b);

    std::vector<client_spec> const clients = {{0, "", {"news"}}, {0, "carol", {}}, {0, "", {}}};
    std::vector<std::unique_ptr<reader>> on_a;
    for (auto const& c : clients)
        on_a.push_back(std::make_unique<reader>(a.port(), c.target()));
    for (auto& r : on_a)
        REQUIRE(wait_type(*r, "connected"));

    std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> const audiences = {
        {{"news"}, {}}, {{}, {"carol"}}, {{}, {}}, {{"sport"}, {}}};
    std::vector<event_spec> events;
    for (int i = 0; i < 90; ++i)
        events.push_back({i, audiences[i % audiences.size()].first, audiences[i % audiences.size()].second});

    // Publishing on b goes on while a is killed and while its clients come back.
    std::atomic<int> sent{0};
    std::atomic<int> failed{0};
    std::thread publisher([&] {
        for (auto const& e : events) {
            if (b.publish(e.body(), "kill-" + std::to_string(e.i)).status != 202)
                ++failed;
            ++sent;
            std::this_thread::sleep_for(5ms);   // a steady publisher, not a burst
        }
    });
    REQUIRE(cluster::eventually([&] { return sent >= 30; }, 20s));
    a.proc().kill(SIGKILL);
    for (auto& r : on_a)
        CHECK(r->wait_ended(5s));
    REQUIRE(cluster::eventually([&] { return sent >= 60; }, 20s));

    std::vector<std::unique_ptr<reader>> on_b;
    for (auto& r : on_a) {
        sse::event_source_options o;
        o.last_event_id = last_id(*r);
        REQUIRE(!o.last_event_id.empty());
        on_b.push_back(std::make_unique<reader>(
            "http://127.0.0.1:" + std::to_string(b.port()) + clients[on_b.size()].target(), o, false));
    }
    publisher.join();
    CHECK(failed == 0);
    REQUIRE(b.publish(fence_body()).status == 202);

    for (std::size_t k = 0; k < clients.size(); ++k) {
        CAPTURE(clients[k].target());
        REQUIRE_MESSAGE(wait_type(*on_b[k], "fence"), b.log());
        CHECK(on_b[k]->events("reset").empty());
        auto got = numbers(on_a[k]->events());
        auto const after = numbers(on_b[k]->events());
        CAPTURE(got.size());
        got.insert(got.end(), after.begin(), after.end());
        CHECK(got == numbers_meant_for(events, clients[k]));
    }
    CHECK(backplane_stats(b)["historyReads"].get<int>() >= 1);
}

TEST_CASE("redis: with AOF and --redis-durable, a Redis restart is seamless")
{
    auto const dir = cluster::test_directory("durable");
    cluster::redis redis(dir, {"--appendonly", "yes", "--appendfsync", "always"});
    std::vector<std::string> const more = {"--redis-durable", "--heartbeat-ms", "300"};
    cluster::node a(dir, "a", node_args(redis, "durable", more));
    cluster::node b(dir, "b", node_args(redis, "durable", more));
    require_connected(a);
    require_connected(b);
    reader on_a(a.port(), "/api/sse?channels=x");
    reader on_b(b.port(), "/api/sse?channels=x");
    REQUIRE(wait_type(on_a, "connected"));
    REQUIRE(wait_type(on_b, "connected"));

    std::vector<event_spec> events;
    for (int i = 0; i < 10; ++i) {
        events.push_back({i, {"x"}, {}});
        REQUIRE(a.publish(events.back().body()).status == 202);
    }
    REQUIRE(cluster::eventually([&] { return numbers(on_b.events()).size() == 10; }, 10s));
    auto const epoch = cluster::epoch_of(on_b.events().back().id);

    redis.kill();   // with appendfsync always, a crash loses nothing Redis acknowledged
    redis.start();
    for (auto* n : {&a, &b})
        REQUIRE_MESSAGE(cluster::eventually(
                            [&] {
                                auto const s = backplane_stats(*n);
                                return s.is_object() && s["reconnects"].get<int>() >= 1 && s["state"] == "connected";
                            },
                            20s),
                        n->log());

    for (int i = 10; i < 20; ++i) {
        events.push_back({i, {"x"}, {}});
        auto const answer = b.publish(events.back().body());
        REQUIRE_MESSAGE(answer.status == 202, answer.body);
        CHECK(cluster::epoch_of(answer.body_json()["id"].get<std::string>()) == epoch);
    }
    REQUIRE(a.publish(fence_body()).status == 202);
    for (auto* r : {&on_a, &on_b}) {
        REQUIRE(wait_type(*r, "fence"));
        CHECK(r->events("reset").empty());
        CHECK(numbers(r->events()) == numbers_meant_for(events, {0, "", {"x"}}));
        CHECK(r->stats().opens == 1);   // the stream stayed open throughout
    }
}

TEST_CASE("redis: without durability, a Redis restart resets every client, then delivers exactly once")
{
    auto const dir = cluster::test_directory("restart");
    cluster::redis redis(dir);   // no AOF, no snapshots: Redis comes back empty
    std::vector<std::string> const more = {"--heartbeat-ms", "300"};
    cluster::node a(dir, "a", node_args(redis, "restart", more));
    cluster::node b(dir, "b", node_args(redis, "restart", more));
    require_connected(a);
    require_connected(b);
    reader on_a(a.port(), "/api/sse?channels=x");
    reader on_b(b.port(), "/api/sse?channels=x");
    REQUIRE(wait_type(on_a, "connected"));
    REQUIRE(wait_type(on_b, "connected"));

    std::vector<event_spec> before, after;
    for (int i = 0; i < 5; ++i) {
        before.push_back({i, {"x"}, {}});
        REQUIRE(a.publish(before.back().body()).status == 202);
    }
    REQUIRE(cluster::eventually([&] { return numbers(on_b.events()).size() == 5; }, 10s));
    auto const old_id = on_b.events().back().id;

    redis.kill();
    redis.start();
    for (auto* r : {&on_a, &on_b})
        REQUIRE_MESSAGE(wait_type(*r, "reset", 1, 20s), a.log() << b.log());
    for (auto* n : {&a, &b})
        REQUIRE(n->wait_backplane("connected", 20s));

    for (int i = 5; i < 10; ++i) {
        after.push_back({i, {"x"}, {}});
        auto const answer = b.publish(after.back().body());
        REQUIRE_MESSAGE(answer.status == 202, answer.body);
        CHECK(cluster::epoch_of(answer.body_json()["id"].get<std::string>()) != cluster::epoch_of(old_id));
    }
    REQUIRE(a.publish(fence_body()).status == 202);
    for (auto* r : {&on_a, &on_b}) {
        REQUIRE(wait_type(*r, "fence"));
        auto const all = r->events();
        // The events before the restart, one reset, then the events after it.
        std::vector<std::string> shape;
        for (auto const& e : all)
            if (e.type != "heartbeat")
                shape.push_back(e.type == "t" ? "t" + e.data_json()["i"].dump() : e.type);
        CHECK(shape == std::vector<std::string>{"connected", "t0", "t1", "t2", "t3", "t4", "reset", "t5", "t6", "t7",
                                                "t8", "t9", "fence"});
    }
    // A client that comes back with an id from before the restart cannot be placed: a reset.
    sse::event_source_options o;
    o.last_event_id = old_id;
    reader late("http://127.0.0.1:" + std::to_string(a.port()) + "/api/sse?channels=x", o, false);
    REQUIRE(wait_type(late, "reset"));
    CHECK(numbers(late.events()).empty());
}

TEST_CASE("redis: while Redis is down publishes get 503 with Retry-After, streams stay open, /health turns 503; "
          "afterwards nothing is lost or doubled")
{
    auto const dir = cluster::test_directory("down");
    cluster::redis redis(dir, {"--appendonly", "yes", "--appendfsync", "always"});
    std::vector<std::string> const more = {"--redis-durable", "--heartbeat-ms", "200", "--redis-unhealthy-after-ms",
                                           "1000"};
    cluster::node a(dir, "a", node_args(redis, "down", more));
    cluster::node b(dir, "b", node_args(redis, "down", more));
    require_connected(a);
    require_connected(b);
    reader client(a.port(), "/api/sse?channels=x");
    REQUIRE(wait_type(client, "connected"));

    std::vector<event_spec> events;
    for (int i = 0; i < 3; ++i) {
        events.push_back({i, {"x"}, {}});
        REQUIRE(b.publish(events.back().body(), "down-" + std::to_string(i)).status == 202);
    }
    REQUIRE(cluster::eventually([&] { return numbers(client.events()).size() == 3; }, 10s));

    redis.kill();
    events.push_back({3, {"x"}, {}});
    loopback::reply refused;
    REQUIRE_MESSAGE(cluster::eventually(
                        [&] {
                            refused = b.publish(events.back().body(), "down-3");
                            return refused.status == 503;
                        },
                        10s),
                    refused.status << " " << refused.body);
    CHECK(refused.header("Retry-After") == "1");
    CHECK(refused.body_json()["error"].get<std::string>().find("Redis") != std::string::npos);

    int status = 0;
    REQUIRE(cluster::eventually(
        [&] {
            a.health(&status);
            return status == 503;
        },
        10s));
    auto const sick = a.health();
    CHECK(sick["status"] == "unavailable");
    CHECK(sick["backplane"]["state"] != "connected");
    CHECK(sick["backplane"]["unreachableMs"].get<int>() >= 1000);

    // The open stream lives on its heartbeats.
    auto const beats = client.events("heartbeat").size();
    REQUIRE(wait_type(client, "heartbeat", beats + 3, 5s));
    CHECK(client.stats().opens == 1);

    redis.start();
    REQUIRE_MESSAGE(cluster::eventually(
                        [&] {
                            a.health(&status);
                            return status == 200;
                        },
                        20s),
                    a.log());
    REQUIRE(b.wait_backplane("connected", 20s));

    // The refused publish, retried with its key, is published once; so is a second retry.
    auto const retried = b.publish(events.back().body(), "down-3");
    REQUIRE_MESSAGE(retried.status == 202, retried.body);
    auto const again = a.publish(events.back().body(), "down-3");
    REQUIRE(again.status == 202);
    CHECK(again.body_json()["id"] == retried.body_json()["id"]);
    events.push_back({4, {"x"}, {}});
    REQUIRE(a.publish(events.back().body(), "down-4").status == 202);
    REQUIRE(b.publish(fence_body()).status == 202);

    REQUIRE(wait_type(client, "fence"));
    CHECK(client.events("reset").empty());
    CHECK(numbers(client.events()) == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(client.stats().opens == 1);
    auto const stats = backplane_stats(b);
    CHECK(stats["publishFailures"].get<int>() >= 1);
    CHECK(stats["reconnects"].get<int>() >= 1);
    auto const metrics = loopback::get(b.port(), "/metrics").body;
    CHECK(metrics.find("sse_backplane_publish_failures_total ") != std::string::npos);
    CHECK(metrics.find("sse_backplane_connected 1") != std::string::npos);
}

TEST_CASE("redis: a node stops cleanly on SIGTERM while Redis is down, with streams open")
{
    auto const dir = cluster::test_directory("stop_down");
    cluster::redis redis(dir);
    cluster::node a(dir, "a", node_args(redis, "stop"));
    require_connected(a);
    reader client(a.port(), "/api/sse?channels=x");
    REQUIRE(wait_type(client, "connected"));
    redis.kill();
    REQUIRE(a.wait_backplane("disconnected"));
    CHECK(a.publish(event_spec{0, {"x"}, {}}.body()).status == 503);
    CHECK(a.stop());
    CHECK(client.wait_ended(10s));
}

TEST_CASE("redis: a client away for longer than the log keeps gets a reset; one away for less resumes from Redis")
{
    auto const dir = cluster::test_directory("retention");
    // Small stream nodes, so that XADD MAXLEN ~ trims close to the length asked.
    cluster::redis redis(dir, {"--stream-node-max-entries", "4"});
    // It publishes over a hundred events at once: above the default publish burst (100).
    cluster::node a(dir, "a",
        node_args(redis, "retention", {"--redis-max-len", "10", "--replay-events", "4", "--publish-burst", "1000"}));
    require_connected(a);

    std::map<int, std::string> id_of;
    auto publish = [&](int i) {
        auto const answer = a.publish(event_spec{i, {"x"}, {}}.body());
        REQUIRE(answer.status == 202);
        id_of[i] = answer.body_json()["id"].get<std::string>();
    };
    for (int i = 0; i < 100; ++i)
        publish(i);

    SUBCASE("away past the retention")
    {
        sse::event_source_options o;
        o.last_event_id = id_of[0];
        reader client("http://127.0.0.1:" + std::to_string(a.port()) + "/api/sse?channels=x", o, false);
        REQUIRE(wait_type(client, "reset"));
        auto const reset = client.events("reset")[0];
        CHECK(reset.data_json()["reason"] == "too_old");
        publish(100);
        REQUIRE(a.publish(fence_body()).status == 202);
        REQUIRE(wait_type(client, "fence"));
        // After the reset, exactly the events after the reset's id: the position the client
        // resynchronises from (the node sends what it still holds after it).
        std::vector<int> after_reset;
        for (auto const& [i, id] : id_of)
            if (cluster::epoch_of(id) == cluster::epoch_of(reset.id) && cluster::seq_of(id) > cluster::seq_of(reset.id))
                after_reset.push_back(i);
        CHECK(cluster::seq_of(reset.id) > cluster::seq_of(id_of[1]));   // nothing old is passed off as continuous
        CHECK(numbers(client.events()) == after_reset);
        CHECK(client.events("reset").size() == 1);
    }
    SUBCASE("away for less: beyond the replay buffer, within the log")
    {
        sse::event_source_options o;
        o.last_event_id = id_of[93];   // 6 behind: more than the 4 in memory, fewer than the 10 in Redis
        reader client("http://127.0.0.1:" + std::to_string(a.port()) + "/api/sse?channels=x", o, false);
        publish(100);
        REQUIRE(a.publish(fence_body()).status == 202);
        REQUIRE(wait_type(client, "fence"));
        CHECK(client.events("reset").empty());
        CHECK(numbers(client.events()) == std::vector<int>{94, 95, 96, 97, 98, 99, 100});
    }
}

namespace {

/// Runs sse-server with `args` to its end; its exit status and stderr.
std::pair<int, std::string> run_to_exit(std::string const& dir, std::vector<std::string> const& args)
{
    cluster::process p;
    std::vector<std::string> argv = {SSE_SERVER_BINARY, "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    p.start(argv, dir + "/exit.out", dir + "/exit.err");
    auto const status = p.wait_exit(10s);
    REQUIRE_MESSAGE(status, "sse-server did not exit");
    CHECK(cluster::read_file(dir + "/exit.out").find("demo page") == std::string::npos);   // it never listened
    return {WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, cluster::read_file(dir + "/exit.err")};
}

} // namespace

TEST_CASE("redis: bad settings stop the server before it listens, naming the flag")
{
    auto const dir = cluster::test_directory("bad_flags");
    struct bad
    {
        std::vector<std::string> args;
        std::string says;
    };
    for (auto const& b : std::vector<bad>{
             {{"--redis", "http://127.0.0.1:6379/ns"}, "--redis"},
             {{"--redis", "redis://127.0.0.1:notaport/ns"}, "redis://[[user]:password@]host:port/namespace"},
             {{"--redis", "redis://127.0.0.1:6379/bad namespace!"}, "namespace"},
             {{"--redis", "redis://127.0.0.1:6379/" + std::string(65, 'n')}, "namespace"},
             {{"--redis", "redis://:hunter2@127.0.0.1:notaport/ns"}, "--redis"},
             {{"--redis", "redis://hunter2@127.0.0.1/ns"}, "--redis"},
             {{"--redis", "user:hunter2@127.0.0.1/ns"}, "--redis"},
             {{"--redis", "redis:///ns", "--redis-sentinel", "127.0.0.1:x", "--redis-master", "m"}, "--redis-sentinel"},
             {{"--redis", "redis:///ns", "--redis-sentinel", "127.0.0.1:26379"}, "--redis-master"},
             {{"--redis", "redis://127.0.0.1/ns", "--redis-master", "m"}, "--redis-sentinel"},
             {{"--redis-durable"}, "needs --redis"},
             {{"--redis", "redis://127.0.0.1/ns", "--redis-max-len", "0"}, "--redis-max-len"},
         }) {
        CAPTURE(b.args);
        auto const [status, err] = run_to_exit(dir, b.args);
        CHECK(status == 2);
        CHECK_MESSAGE(err.find(b.says) != std::string::npos, err);
        CHECK(err.find("hunter2") == std::string::npos);   // a password is never echoed
    }
    // With sentinels the URL's host may be left out: this one is accepted (and then runs).
    cluster::process ok;
    ok.start({SSE_SERVER_BINARY, "--port", "0", "--redis", "redis:///ns", "--redis-sentinel", "127.0.0.1:1",
              "--redis-master", "m"},
             dir + "/ok.out", dir + "/ok.err");
    CHECK(cluster::eventually([&] { return cluster::read_file(dir + "/ok.out").find("demo page") != std::string::npos; },
                              10s));
}

TEST_CASE("redis: a wrong password is a clear error in the log and in /health, never a crash")
{
    auto const dir = cluster::test_directory("auth");
    cluster::redis redis(dir, {"--requirepass", "right-password"});
    std::string const url = "redis://:wrong-password@127.0.0.1:" + std::to_string(redis.port()) + "/auth";
    cluster::node wrong(dir, "wrong", {"--redis", url, "--redis-unhealthy-after-ms", "500"});

    int status = 0;
    REQUIRE_MESSAGE(cluster::eventually(
                        [&] {
                            wrong.health(&status);
                            return status == 503;
                        },
                        10s),
                    wrong.log());
    auto const health = wrong.health();
    CHECK(health["backplane"]["state"] != "connected");
    auto error = health["backplane"]["lastError"].is_string() ? health["backplane"]["lastError"].get<std::string>()
                                                             : std::string();
    std::transform(error.begin(), error.end(), error.begin(), [](unsigned char c) { return std::tolower(c); });
    CHECK_MESSAGE((error.find("auth") != std::string::npos || error.find("pass") != std::string::npos), error);
    CHECK(wrong.full_log().find("\"event\":\"backplane_unavailable\"") != std::string::npos);
    CHECK(wrong.full_log().find("wrong-password") == std::string::npos);
    auto const refused = wrong.publish(event_spec{0, {"x"}, {}}.body());
    CHECK(refused.status == 503);
    CHECK(refused.header("Retry-After"));
    CHECK(wrong.proc().running());

    // The password from the environment, for a URL without one.
    cluster::node right(dir, "right", {"--redis", redis.url("auth")}, {{"SSE_REDIS_PASSWORD", "right-password"}});
    require_connected(right);
    CHECK(right.publish(event_spec{0, {"x"}, {}}.body()).status == 202);
    CHECK(wrong.proc().running());
}

TEST_CASE("redis: with --redis-sentinel the node asks the sentinel for the master")
{
    auto const dir = cluster::test_directory("sentinel");
    cluster::redis redis(dir);
    // A sentinel is redis-server in sentinel mode, with a configuration file it may rewrite.
    auto const sentinel_port = cluster::free_port();
    std::ofstream(dir + "/sentinel.conf") << "port " << sentinel_port << "\nbind 127.0.0.1\ndir " << dir
                                           << "\nsentinel monitor mymaster 127.0.0.1 " << redis.port() << " 1\n";
    cluster::process sentinel;
    sentinel.start({REDIS_SERVER_BINARY, dir + "/sentinel.conf", "--sentinel"}, dir + "/sentinel.log",
                   dir + "/sentinel.err");
    REQUIRE_MESSAGE(cluster::eventually([&] { return cluster::redis_answers(sentinel_port); }, 10s),
                    cluster::tail(dir + "/sentinel.log"));

    std::string const sentinels = "127.0.0.1:" + std::to_string(sentinel_port);
    cluster::node a(dir, "a", {"--redis", "redis:///sentinel", "--redis-sentinel", sentinels, "--redis-master",
                               "mymaster"});
    cluster::node b(dir, "b", {"--redis", redis.url("sentinel")});   // the same log, addressed directly
    require_connected(a);
    require_connected(b);
    CHECK(a.health()["backplane"]["server"] == "127.0.0.1:" + std::to_string(redis.port()));
    reader client(b.port(), "/api/sse?channels=x");
    REQUIRE(wait_type(client, "connected"));
    REQUIRE(a.publish(event_spec{1, {"x"}, {}}.body()).status == 202);
    REQUIRE(a.publish(fence_body()).status == 202);
    REQUIRE(wait_type(client, "fence"));
    CHECK(numbers(client.events()) == std::vector<int>{1});

    // A master the sentinel does not know: a clear error, and the node keeps serving.
    cluster::node lost(dir, "lost", {"--redis", "redis:///sentinel", "--redis-sentinel", sentinels,
                                     "--redis-master", "nosuchmaster", "--redis-unhealthy-after-ms", "300"});
    int status = 0;
    REQUIRE(cluster::eventually(
        [&] {
            lost.health(&status);
            return status == 503;
        },
        10s));
    auto const h = lost.health();
    CHECK(h["backplane"]["lastError"].is_string());
    CHECK(lost.proc().running());
}

TEST_CASE("redis: the issue's demonstration: publish on one of three nodes, curl streams on the other two receive it")
{
    auto const dir = cluster::test_directory("curl");
    cluster::redis redis(dir);
    std::vector<std::unique_ptr<cluster::node>> nodes;
    for (char const* name : {"n1", "n2", "n3"})
        nodes.push_back(std::make_unique<cluster::node>(
            dir, name, std::vector<std::string>{"--redis", "redis://127.0.0.1:" + std::to_string(redis.port()) + "/NS"}));
    for (auto& n : nodes)
        require_connected(*n);

    std::vector<std::unique_ptr<cluster::process>> curls;
    for (std::size_t k : {1, 2}) {
        curls.push_back(std::make_unique<cluster::process>());
        curls.back()->start({"/usr/bin/env", "curl", "-sN",
                             "http://127.0.0.1:" + std::to_string(nodes[k]->port()) + "/api/sse?channels=news"},
                            dir + "/curl" + std::to_string(k) + ".out", dir + "/curl" + std::to_string(k) + ".err");
    }
    for (std::size_t k : {1, 2})
        REQUIRE(cluster::eventually(
            [&] { return cluster::read_file(dir + "/curl" + std::to_string(k) + ".out").find("event: connected") !=
                         std::string::npos; },
            10s));

    cluster::process publish;
    publish.start({"/usr/bin/env", "curl", "-s", "-d",
                   R"({"event":"notification","channels":["news"],)"
                   R"("data":{"notificationType":"info","title":"Hi","message":"from n1"}})",
                   "http://127.0.0.1:" + std::to_string(nodes[0]->port()) + "/api/sse/publish"},
                  dir + "/publish.out", dir + "/publish.err");
    REQUIRE(publish.wait_exit(10s) == 0);
    auto const answer = json::parse(cluster::read_file(dir + "/publish.out"));
    auto const id = answer["id"].get<std::string>();
    for (std::size_t k : {1, 2}) {
        CAPTURE(k);
        CHECK(cluster::eventually(
            [&] {
                auto const out = cluster::read_file(dir + "/curl" + std::to_string(k) + ".out");
                return out.find("id: " + id + "\nevent: notification\ndata: ") != std::string::npos &&
                       out.find("from n1") != std::string::npos;
            },
            10s));
    }
}
