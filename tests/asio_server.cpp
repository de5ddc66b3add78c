// Loopback integration tests: sse::listener + sse::hub + sse::attach over real
// sockets, with many clients (support/sse_client.hpp) and curl as a real peer.
#include <sse/asio/attach.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"
#include "support/sse_client.hpp"
#include "support/test_server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <dirent.h>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
using support::sse_client;
using support::sse_item;
using support::wait_until;

using support::data_event;

// `n` clients connected to `target` and subscribed (the hub counts them).
std::vector<std::unique_ptr<sse_client>> connect_clients(support::test_server& server, std::size_t n,
                                                         std::string const& target = "/events")
{
    std::size_t const before = server.subscribers();
    std::vector<std::unique_ptr<sse_client>> out;
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(std::make_unique<sse_client>());
        sse_client::options o;
        o.target = target;
        REQUIRE(out.back()->connect(server.port(), o));
    }
    REQUIRE(wait_until([&] { return server.subscribers() == before + n; }));
    return out;
}

std::unique_ptr<sse_client> connect_one(support::test_server& server, sse_client::options const& o)
{
    std::size_t const before = server.hub().stats().subscribes;
    auto c = std::make_unique<sse_client>();
    REQUIRE(c->connect(server.port(), o));
    REQUIRE(wait_until([&] { return server.hub().stats().subscribes == before + 1; }));
    return c;
}

std::unique_ptr<sse_client> connect_one(support::test_server& server, std::string target)
{
    sse_client::options o;
    o.target = std::move(target);
    return connect_one(server, o);
}

std::vector<sse_client*> pointers(std::vector<std::unique_ptr<sse_client>> const& v)
{
    std::vector<sse_client*> out;
    for (auto const& c : v)
        out.push_back(c.get());
    return out;
}

std::vector<std::string> data_of(std::vector<sse_item> const& events)
{
    std::vector<std::string> out;
    for (auto const& e : events)
        out.push_back(e.data);
    return out;
}

bool ids_increase(std::vector<sse_item> const& events)
{
    for (std::size_t i = 1; i < events.size(); ++i)
        if (support::id_seq(events[i].id) <= support::id_seq(events[i - 1].id))
            return false;
    return true;
}

bool has_event(sse_client const& c, std::string const& data)
{
    for (auto const& i : c.items())
        if (i.kind == sse_item::event && i.data == data)
            return true;
    return false;
}

// The index of the first item after the last event; items.size() if none.
std::size_t after_last_event(std::vector<sse_item> const& items)
{
    std::size_t n = items.size();
    while (n > 0 && items[n - 1].kind != sse_item::event)
        --n;
    return n;
}

std::size_t open_fds()
{
    std::size_t n = 0;
    if (DIR* d = ::opendir("/proc/self/fd")) {
        while (::readdir(d) != nullptr)
            ++n;
        ::closedir(d);
    }
    return n;
}

std::string padded(std::string const& head, std::size_t size)
{
    std::string s = head + ':';
    s.resize(size, 'x');
    return s;
}

} // namespace

TEST_CASE("server: every client gets every event exactly once, in id order, from several publishers")
{
    support::test_server server;
    constexpr std::size_t clients = 20;
    constexpr int publishers = 3;
    constexpr int per_publisher = 200;
    auto cs = connect_clients(server, clients);

    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p)
        threads.emplace_back([&server, p] {
            for (int i = 0; i < per_publisher; ++i)
                server.hub().publish(data_event(std::to_string(p) + ":" + std::to_string(i)));
        });
    std::size_t const total = publishers * per_publisher;
    bool const all = support::read_all(pointers(cs), [&] {
        return std::all_of(cs.begin(), cs.end(), [&](auto const& c) { return c->event_count() >= total; });
    }, 10s);
    for (auto& t : threads)
        t.join();
    CHECK(all);

    for (std::size_t k = 0; k < cs.size(); ++k) {
        CAPTURE(k);
        auto const events = cs[k]->events();
        CHECK(cs[k]->status() == 200);
        CHECK(cs[k]->is_event_stream());
        REQUIRE(events.size() == total);
        CHECK(ids_increase(events));
        // Consecutive ids, each publisher's events in its order, none twice.
        bool consecutive = true;
        bool per_publisher_order = true;
        int next[publishers] = {};
        for (std::size_t i = 0; i < events.size(); ++i) {
            consecutive = consecutive && support::id_seq(events[i].id) == i + 1;
            auto const& d = events[i].data;
            int const p = d[0] - '0';
            per_publisher_order = per_publisher_order && p >= 0 && p < publishers &&
                                  d.substr(2) == std::to_string(next[p]++);
        }
        CHECK(consecutive);
        CHECK(per_publisher_order);
    }
    auto const st = server.hub().stats();
    CHECK(st.published == total);
    CHECK(st.deliveries == total * clients);
}

TEST_CASE("server: delivery by topic, by user, by filter, by predicate and to all")
{
    support::test_server server;
    struct spec
    {
        char const* target;
        std::vector<std::string> expected;
    };
    std::vector<spec> const specs = {
        {"/events?topics=a", {"to-a", "to-a-or-b", "all-keep", "all-other", "a-keep", "end"}},
        {"/events?topics=b", {"to-b", "to-a-or-b", "all-keep", "all-other", "end"}},
        {"/events?topics=a,b", {"to-a", "to-b", "to-a-or-b", "all-keep", "all-other", "a-keep", "end"}},
        {"/events?user=u1", {"to-u1", "all-keep", "all-other", "match-users", "end"}},
        {"/events?user=u2&topics=b",
         {"to-b", "to-a-or-b", "to-u2", "all-keep", "all-other", "match-users", "end"}},
        {"/events?topics=a&filter=keep", {"all-keep", "a-keep", "end"}},
        {"/events", {"all-keep", "all-other", "end"}},
    };
    std::vector<std::unique_ptr<sse_client>> cs;
    for (auto const& s : specs)
        cs.push_back(connect_one(server, s.target));

    auto& hub = server.hub();
    hub.publish(data_event("to-a"), sse::audience::topic("a"));
    hub.publish(data_event("to-b"), sse::audience::topic("b"));
    hub.publish(data_event("to-a-or-b"), sse::audience::topics({"a", "b"}));
    hub.publish(data_event("to-u1"), sse::audience::user("u1"));
    hub.publish(data_event("to-u2"), sse::audience::user("u2"));
    hub.publish(data_event("to-nobody"), sse::audience::user("u3"));
    hub.publish(data_event("to-nobody"), sse::audience::topic("c"));
    hub.publish(data_event("all-keep"), sse::audience::all(), "keep-1");
    hub.publish(data_event("all-other"), sse::audience::all(), "other");
    hub.publish(data_event("a-keep"), sse::audience::topic("a"), "keep-2");
    hub.publish(data_event("match-users"),
                sse::audience::matching([](sse::subscriber const& s) { return !s.user().empty(); }));
    hub.publish(data_event("end"), sse::audience::all(), "keep-end");

    CHECK(support::read_all(pointers(cs), [&] {
        return std::all_of(cs.begin(), cs.end(), [](auto const& c) { return has_event(*c, "end"); });
    }));
    for (std::size_t i = 0; i < specs.size(); ++i) {
        CAPTURE(specs[i].target);
        auto const events = cs[i]->events();
        CHECK(data_of(events) == specs[i].expected);
        CHECK(ids_increase(events));
    }
    auto const st = hub.stats();
    CHECK(st.by_topic.at("a") == 3);
    CHECK(st.by_topic.at("b") == 3);
    CHECK(st.by_user.at("u1") == 1);
    CHECK(st.by_user.at("u2") == 1);
}

TEST_CASE("server: a throttled client receives every event, spread over time")
{
    support::test_server server;
    auto slow = connect_one(server, "/events?rate=20");
    auto fast = connect_one(server, "/events");
    constexpr std::size_t n = 11;
    for (std::size_t i = 0; i < n; ++i)
        server.hub().publish(data_event("e" + std::to_string(i)));
    std::vector<sse_client*> both = {slow.get(), fast.get()};
    CHECK(support::read_all(both, [&] { return slow->event_count() == n && fast->event_count() == n; }));
    auto const events = slow->events();
    REQUIRE(events.size() == n);
    CHECK(ids_increase(events));
    // 20 per second: 10 intervals of 50 ms after the first. A generous lower bound only.
    CHECK(events.back().at - events.front().at >= 250ms);
}

TEST_CASE("server: a throttled, coalescing client gets far fewer updates and the last one wins")
{
    support::test_server server;
    auto slow = connect_one(server, "/events?rate=5&coalesce=1");
    auto fast = connect_one(server, "/events");
    constexpr int n = 100;
    for (int i = 0; i < n; ++i)
        server.hub().publish(data_event("v" + std::to_string(i)), sse::audience::all(), "price");
    std::string const last = "v" + std::to_string(n - 1);
    std::vector<sse_client*> both = {slow.get(), fast.get()};
    CHECK(support::read_all(both, [&] { return has_event(*slow, last) && fast->event_count() == n; }));
    auto const events = slow->events();
    CAPTURE(events.size());
    CHECK(events.size() < 20);
    REQUIRE(!events.empty());
    CHECK(events.back().data == last);
    CHECK(ids_increase(events));
    CHECK(fast->events().back().data == last);
    CHECK(server.hub().stats().dropped(sse::drop_reason::coalesced) >= n - 20);
}

TEST_CASE("server: a client reconnecting with Last-Event-ID misses nothing and gets nothing twice")
{
    support::server_config config;
    config.hub.replay.max_events = 1'000'000;
    config.hub.replay.max_bytes = 256 * 1024 * 1024;
    config.hub.queue.max_bytes = 256 * 1024 * 1024;
    config.hub.queue.max_age = 0s;
    support::test_server server(config);

    auto first = connect_one(server, "/events");
    std::atomic<bool> resubscribed{false};
    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> at_resubscribe{0};
    constexpr std::uint64_t cap = 200'000;
    // Publishes until the second connection is subscribed, then 200 more.
    std::thread publisher([&] {
        std::uint64_t stop_at = cap;
        for (std::uint64_t i = 1; i <= stop_at; ++i) {
            server.hub().publish(data_event("n" + std::to_string(i)));
            published.store(i);
            if (stop_at == cap && resubscribed.load())
                stop_at = i + 200;
            std::this_thread::yield();
        }
    });

    CHECK(first->read_until([&] { return first->event_count() >= 50; }));
    first->close();
    // Some events are published while it is away, so that they have to be replayed.
    std::uint64_t const seen = first->event_count();
    CHECK(wait_until([&] { return published.load() >= seen + 20; }));
    sse_client::options o;
    o.last_event_id = first->last_event_id();
    auto second = std::make_unique<sse_client>();
    REQUIRE(second->connect(server.port(), o));
    CHECK(wait_until([&] { return server.hub().stats().subscribes == 2; }));
    at_resubscribe = published.load();
    resubscribed = true;
    publisher.join();
    std::uint64_t const total = published.load();
    CAPTURE(total);
    CAPTURE(at_resubscribe.load());
    CHECK(total < cap);
    CHECK(second->read_until([&] { return second->event_count() > 0 && support::id_seq(second->last_event_id()) == total; },
                             10s));

    auto events = first->events();
    auto const more = second->events();
    CHECK(!more.empty());
    events.insert(events.end(), more.begin(), more.end());
    REQUIRE(events.size() == total);
    bool exact = true;
    for (std::size_t i = 0; i < events.size(); ++i)
        exact = exact && support::id_seq(events[i].id) == i + 1 && events[i].data == "n" + std::to_string(i + 1);
    CHECK(exact);
    CHECK(server.hub().stats().resets == 0);
    CHECK(server.hub().stats().replayed > 0);
}

TEST_CASE("server: an unknown, foreign or too old Last-Event-ID gives the reset event and no replay")
{
    support::server_config config;
    config.hub.replay.max_events = 8;
    support::test_server server(config);
    for (int i = 1; i <= 20; ++i)
        server.hub().publish(data_event("old" + std::to_string(i)));

    struct row
    {
        std::string sent;
        char const* reason;   // nullptr: a replay
    };
    for (row const& r : {row{"itest-17", nullptr}, row{"other-5", "foreign"}, row{"garbage", "unknown"},
                         row{"itest-99", "unknown"}, row{"itest-2", "too_old"}}) {
        CAPTURE(r.sent);
        std::string const newest = server.hub().newest_id();
        sse_client::options o;
        o.last_event_id = r.sent;
        auto c = connect_one(server, o);
        std::string const live = "live after " + r.sent;
        server.hub().publish(data_event(live));
        CHECK(c->read_until([&] { return has_event(*c, live); }));
        auto const events = c->events();
        REQUIRE(!events.empty());
        if (r.reason) {
            REQUIRE(events.size() == 2);
            CHECK(events[0].type == "reset");
            CHECK(events[0].id == newest);
            CHECK(events[0].data == std::string("{\"reason\":\"") + r.reason + "\",\"lastEventId\":\"" + r.sent + "\"}");
        }
        else {
            // 18, 19 and 20 are replayed.
            REQUIRE(events.size() == 4);
            CHECK(data_of(events) == std::vector<std::string>{"old18", "old19", "old20", live});
        }
        CHECK(events.back().data == live);
        CHECK(support::id_seq(events.back().id) == support::id_seq(newest) + 1);
    }
    CHECK(server.hub().stats().resets == 4);
}

TEST_CASE("server: a client that stops reading gets its policy while the others receive everything")
{
    support::server_config config;
    config.send_buffer = 4096;   // so that a client that does not read stalls quickly
    support::test_server server(config);
    auto fast = connect_clients(server, 4);
    sse_client::options o;
    o.receive_buffer = 2048;
    constexpr int n = 300;

    SUBCASE("disconnect: the queue is dropped, a retry hint is written, then the connection ends")
    {
        o.target = "/events?name=slow&policy=disconnect&max_bytes=16384&retry_hint=7000";
        auto slow = connect_one(server, o);
        for (int i = 1; i <= n; ++i)
            server.hub().publish(data_event(padded("n" + std::to_string(i), 1000)));
        CHECK(support::read_all(pointers(fast), [&] {
            return std::all_of(fast.begin(), fast.end(), [](auto const& c) { return c->event_count() == n; });
        }));
        for (auto const& c : fast)
            CHECK(ids_increase(c->events()));
        CHECK(server.hub().stats().disconnected(sse::close_reason::slow_consumer) == 1);
        CHECK(server.subscribers() == fast.size());

        // The slow client reads again: a prefix of the events, the hint, the end.
        CHECK(slow->read_to_end());
        auto const events = slow->events();
        CAPTURE(events.size());
        CHECK(events.size() < std::size_t(n));
        bool prefix = true;
        for (std::size_t i = 0; i < events.size(); ++i)
            prefix = prefix && support::id_seq(events[i].id) == i + 1;
        CHECK(prefix);
        auto const& items = slow->items();
        REQUIRE(!items.empty());
        CHECK(items.back().kind == sse_item::retry);
        CHECK(items.back().retry_ms == 7000ms);
        CHECK(wait_until([&] { return server.closed_reasons("slow").size() == 1; }));
        CHECK(server.closed_reasons("slow") == std::vector<sse::error_code>{sse::error::source_closed});
    }

    SUBCASE("drop_oldest: the client sees a gap, in order, and stays connected")
    {
        o.target = "/events?name=slow&policy=drop_oldest&max_bytes=16384";
        auto slow = connect_one(server, o);
        for (int i = 1; i <= n; ++i)
            server.hub().publish(data_event(padded("n" + std::to_string(i), 1000)));
        server.hub().publish(data_event("end"));
        CHECK(support::read_all(pointers(fast), [&] {
            return std::all_of(fast.begin(), fast.end(), [](auto const& c) { return c->event_count() == n + 1; });
        }));
        CHECK(server.hub().stats().dropped(sse::drop_reason::queue_bytes) > 0);

        CHECK(slow->read_until([&] { return has_event(*slow, "end"); }));
        auto const events = slow->events();
        CAPTURE(events.size());
        REQUIRE(events.size() >= 2);
        CHECK(events.size() < std::size_t(n));
        CHECK(ids_increase(events));
        bool gap = false;   // some events are missing: at the start or in between
        std::uint64_t previous = 0;
        for (auto const& e : events) {
            gap = gap || support::id_seq(e.id) > previous + 1;
            previous = support::id_seq(e.id);
        }
        CHECK(gap);
        CHECK(support::id_seq(events[events.size() - 2].id) == std::uint64_t(n));   // the newest are kept
        CHECK(!slow->eof());
        CHECK(server.subscribers() == fast.size() + 1);
        CHECK(server.hub().stats().disconnected(sse::close_reason::slow_consumer) == 0);
    }
}

TEST_CASE("server: heartbeats arrive on an idle stream")
{
    support::server_config config;
    config.stream.heartbeat_interval = 50ms;
    SUBCASE("comment")
    {
        support::test_server server(config);
        auto c = connect_one(server, "/events");
        CHECK(c->read_until([&] { return c->comment_count() >= 3; }));
        CHECK(c->event_count() == 0);
    }
    SUBCASE("event")
    {
        config.stream.heartbeat = sse::heartbeat_kind::event;
        config.stream.heartbeat_event = "ping";
        support::test_server server(config);
        auto c = connect_one(server, "/events");
        CHECK(c->read_until([&] { return c->event_count() >= 3; }));
        auto const now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        for (auto const& e : c->events()) {
            CHECK(e.type == "ping");
            long long const t = std::atoll(e.data.c_str());
            CHECK(t > now_ms - 60'000);
            CHECK(t <= now_ms);
        }
    }
}

TEST_CASE("server: a peer that stops reading is closed after the write timeout")
{
    support::server_config config;
    config.hub.queue.max_bytes = 256 * 1024 * 1024;   // the hub's budget is not what ends it
    config.hub.queue.max_age = 0s;
    config.stream.write_timeout = 200ms;
    config.send_buffer = 4096;
    support::test_server server(config);
    auto fast = connect_one(server, "/events");
    sse_client::options o;
    o.receive_buffer = 2048;
    o.target = "/events?name=stuck";
    auto stuck = connect_one(server, o);
    constexpr int n = 200;
    for (int i = 1; i <= n; ++i)
        server.hub().publish(data_event(padded("n" + std::to_string(i), 1000)));
    CHECK(fast->read_until([&] { return fast->event_count() == n; }));
    CHECK(wait_until([&] { return !server.closed_reasons("stuck").empty(); }));
    CHECK(server.closed_reasons("stuck") == std::vector<sse::error_code>{sse::error::write_timeout});
    CHECK(wait_until([&] { return server.subscribers() == 1; }));
    CHECK(server.hub().stats().disconnected(sse::close_reason::unsubscribed) == 1);
    CHECK(server.hub().stats().disconnected(sse::close_reason::slow_consumer) == 0);
}

TEST_CASE("server: shutdown flushes, says when to come back and ends within its deadline")
{
    support::server_config config;
    config.attach.shutdown_deadline = 300ms;
    config.attach.shutdown_retry_min = 100ms;
    config.attach.shutdown_retry_max = 900ms;
    config.stream.write_timeout = 30s;   // only the deadline ends the stalled stream
    config.send_buffer = 4096;
    support::test_server server(config);
    auto readers = connect_clients(server, 9, "/events?name=reader");
    sse_client::options o;
    o.receive_buffer = 2048;
    o.target = "/events?name=stuck";
    auto stuck = connect_one(server, o);
    sse_client silent;   // connected, but its head never comes: the listener closes it
    sse_client::options no_request;
    no_request.send_request = false;
    REQUIRE(silent.connect(server.port(), no_request));
    CHECK(wait_until([&] { return server.listener().pending() == 1; }));

    constexpr int n = 40;
    for (int i = 1; i <= n; ++i)
        server.hub().publish(data_event(padded("n" + std::to_string(i), 1000)));
    auto stopping = std::async(std::launch::async, [&] { return server.stop(); });
    CHECK(support::read_all(pointers(readers), [&] {
        return std::all_of(readers.begin(), readers.end(), [](auto const& c) { return c->eof(); });
    }));
    auto const took = stopping.get();
    CAPTURE(took.count());
    CHECK(!server.hung());
    CHECK(took < 5s);

    std::set<long long> retries;
    for (auto const& c : readers) {
        auto const events = c->events();
        CHECK(events.size() == std::size_t(n));
        CHECK(ids_increase(events));
        auto const& items = c->items();
        std::size_t const tail = after_last_event(items);
        // After the last event: the comment, then the retry, then the end.
        REQUIRE(items.size() == tail + 2);
        CHECK(items[tail].kind == sse_item::comment);
        CHECK(items[tail].data == "server shutting down");
        CHECK(items[tail + 1].kind == sse_item::retry);
        CHECK(items[tail + 1].retry_ms >= 100ms);
        CHECK(items[tail + 1].retry_ms <= 900ms);
        retries.insert(items[tail + 1].retry_ms.count());
        CHECK(c->eof());
    }
    CHECK(retries.size() > 1);   // spread, not one value for all
    CHECK(silent.read_to_end());
    CHECK(!silent.head_done());
    CHECK(server.closed_reasons("stuck") == std::vector<sse::error_code>{sse::error::stream_closed});
    auto const reader_reasons = server.closed_reasons("reader");
    CHECK(reader_reasons.size() == readers.size());
    for (auto const& r : reader_reasons)
        CHECK(r == sse::error::source_closed);
    CHECK(server.hub().stats().disconnected(sse::close_reason::shutdown) == 10);
}

TEST_CASE("server: curl receives the published events byte for byte")
{
    if (::access("/usr/bin/curl", X_OK) != 0) {
        MESSAGE("curl is not installed: skipped");
        return;
    }
    support::test_server server;
    std::string const command =
        "curl -sN --noproxy '*' --max-time 5 'http://127.0.0.1:" + std::to_string(server.port()) + "/events?name=curl'";
    FILE* curl = ::popen(command.c_str(), "r");
    REQUIRE(curl != nullptr);
    CHECK(wait_until([&] { return server.subscribers() == 1; }));

    auto& hub = server.hub();
    hub.publish(data_event("hello"));
    sse::event update;
    update.type = "update";
    update.data = "line 1\nline 2";
    hub.publish(update);
    hub.publish(data_event("ünïcødé ✓"));
    std::string const expected = "retry: 1000\n\n"
                                 "id: itest-1\ndata: hello\n\n"
                                 "id: itest-2\nevent: update\ndata: line 1\ndata: line 2\n\n"
                                 "id: itest-3\ndata: ünïcødé ✓\n\n";

    std::string got(expected.size(), '\0');
    got.resize(std::fread(got.data(), 1, got.size(), curl));
    CHECK(got == expected);
    // Ending the subscription ends the response, and curl with it.
    CHECK(hub.kick(server.subscriber_id("curl")));
    char rest[256];
    std::size_t extra = 0;
    while (std::size_t k = std::fread(rest, 1, sizeof rest, curl))
        extra += k;
    CHECK(extra == 0);
    int const status = ::pclose(curl);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(wait_until([&] { return !server.closed_reasons("curl").empty(); }));
    CHECK(server.closed_reasons("curl") == std::vector<sse::error_code>{sse::error::source_closed});
}

TEST_CASE("server: publishers and kicks while clients come and go")
{
    std::size_t const fds_before = open_fds();
    auto owned = std::make_unique<support::test_server>();
    auto& server = *owned;
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> published{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < 2; ++p)
        threads.emplace_back([&, p] {
            auto const topic = sse::audience::topic("t");
            for (std::uint64_t i = 0; !stop.load(); ++i) {
                if (i % 2 == 0)
                    server.hub().publish(data_event("all"));
                else
                    server.hub().publish(data_event("t"), topic, "k" + std::to_string(i % 4));
                ++published;
                if (p == 0 && i % 64 == 0)
                    server.hub().kick(server.subscriber_id("kickme"));
                std::this_thread::yield();
            }
        });

    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> heads{0};
    auto const until = std::chrono::steady_clock::now() + 2s;
    std::vector<std::thread> churn;
    for (int w = 0; w < 2; ++w)
        churn.emplace_back([&, w] {
            for (int i = 0; i < 400 && std::chrono::steady_clock::now() < until; ++i) {
                sse_client c;
                sse_client::options o;
                switch ((i + w) % 4) {
                case 0: o.target = "/events"; break;
                case 1: o.target = "/events?topics=t&user=u" + std::to_string(i % 3) + "&rate=500"; break;
                case 2: o.target = "/events?topics=t,x&coalesce=1&name=kickme"; break;
                default: o.target = "/events?policy=drop_oldest&max_bytes=4096"; break;
                }
                if (!c.connect(server.port(), o))
                    continue;
                ++connections;
                if (i % 5 != 4) {   // else: gone before the head, or just after the request
                    c.read_until([&] { return c.event_count() >= 2 || c.eof(); }, 2s);
                    if (c.head_done())
                        ++heads;
                }
            }
        });
    for (auto& t : churn)
        t.join();
    stop = true;
    for (auto& t : threads)
        t.join();
    CAPTURE(connections.load());
    CAPTURE(heads.load());
    CAPTURE(published.load());
    CHECK(connections.load() >= 40);
    CHECK(heads.load() > 0);
    CHECK(wait_until([&] { return server.subscribers() == 0; }));
    auto const st = server.hub().stats();
    std::uint64_t ended = 0;
    for (auto d : st.disconnects)
        ended += d;
    CHECK(st.subscribes == ended);
    CHECK(st.by_topic.empty());
    CHECK(st.by_user.empty());
    CHECK(st.queued_events == 0);
    CHECK(wait_until([&] { return server.closed().size() == st.subscribes; }));
    server.stop();
    CHECK(!server.hung());
    owned.reset();
    CHECK(open_fds() == fds_before);   // every connection, timer and the reactor released
}

TEST_CASE("server: shutting down while clients keep connecting")
{
    support::server_config config;
    config.attach.shutdown_deadline = 300ms;
    support::test_server server(config);
    std::atomic<bool> done{false};
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> refused{0};   // answered 503 once the hub was shut down
    std::atomic<std::size_t> unfinished{0};
    std::vector<std::thread> clients;
    for (int w = 0; w < 2; ++w)
        clients.emplace_back([&] {
            std::vector<std::unique_ptr<sse_client>> mine;
            auto const until = std::chrono::steady_clock::now() + 5s;
            while (!done.load() && std::chrono::steady_clock::now() < until) {
                auto c = std::make_unique<sse_client>();
                if (!c->connect(server.port()))
                    continue;   // the listener is gone, or going
                ++connections;
                c->read_until([&] { return c->head_done() || c->eof(); }, 2s);
                mine.push_back(std::move(c));
            }
            // Every connection ends: a stream, a 503, or closed before its head.
            for (auto& c : mine) {
                if (!c->read_to_end(5s))
                    ++unfinished;
                else if (c->head_done() && c->status() == 503)
                    ++refused;
            }
        });
    CHECK(wait_until([&] { return connections.load() >= 20; }));
    auto const took = server.stop();
    done = true;
    for (auto& t : clients)
        t.join();
    CAPTURE(took.count());
    CAPTURE(connections.load());
    CAPTURE(refused.load());
    CHECK(!server.hung());
    CHECK(took < 5s);
    CHECK(unfinished.load() == 0);
}
