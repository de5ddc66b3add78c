#include <sse/blocking_subscription.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"

#include <sse/parser.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using clock_type = sse::blocking_subscription::clock;

// Long enough never to pass in a passing test: a wait that should return at
// once but times out instead fails the check, rather than hanging the suite.
constexpr auto patience = 20s;

using support::data_event;

sse::subscriber_options topics(std::vector<std::string> t)
{
    sse::subscriber_options o;
    o.topics = std::move(t);
    return o;
}

// Neither heartbeats nor the opening retry: the bytes handed out are the hub's alone.
sse::blocking_options no_heartbeat()
{
    sse::blocking_options o;
    o.heartbeat_interval = 0ms;
    o.retry.reset();
    return o;
}

// What a client makes of the bytes: the WHATWG interpretation, by sse::parser.
struct received
{
    struct item
    {
        std::string type, data, id;
    };
    std::vector<item> events;
    std::vector<std::string> comments;
    std::optional<std::chrono::milliseconds> retry;

    std::vector<std::string> data() const
    {
        std::vector<std::string> d;
        for (auto const& e : events)
            d.push_back(e.data);
        return d;
    }
};

received interpret(std::string_view bytes)
{
    received r;
    sse::parser p;
    sse::error_code ec;
    struct handler
    {
        received& r;
        void on_event(sse::event_view const& e)
        {
            r.events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
        }
        void on_retry(std::chrono::milliseconds ms) { r.retry = ms; }
        void on_comment(std::string_view c) { r.comments.emplace_back(c); }
    };
    p.feed(bytes, handler{r}, ec);
    REQUIRE(!ec);
    return r;
}

sse::wait_status wait_patiently(sse::blocking_subscription& s, std::string& out)
{
    return s.wait_until(out, clock_type::now() + patience);
}

} // namespace

TEST_CASE("blocking_subscription: events queued before the first wait are handed out in order")
{
    sse::hub_options ho;
    ho.epoch = "e";
    sse::hub hub(ho);
    auto s = sse::subscribe_blocking(hub, topics({"t"}), no_heartbeat());
    REQUIRE(s);
    hub.publish(data_event("one"), sse::audience::topic("t"));
    hub.publish(data_event("elsewhere"), sse::audience::topic("u"));
    hub.publish(data_event("two"), sse::audience::topic("t"));

    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    // The hub's wire form, serialised once: the bytes are exactly the events'.
    CHECK(out == "id: e-1\ndata: one\n\nid: e-3\ndata: two\n\n");
    auto const got = interpret(out);
    REQUIRE(got.events.size() == 2);
    CHECK(got.events[1].id == "e-3");
    CHECK(got.events[1].type == "message");
}

TEST_CASE("blocking_subscription: the first wait opens with the retry, at once, before any event")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.retry = 2500ms;
    SUBCASE("nothing queued")
    {
        auto s = sse::subscribe_blocking(hub, {}, how);
        std::string out;
        REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
        CHECK(out == "retry: 2500\n\n");
        auto const got = interpret(out);
        CHECK(got.retry == 2500ms);
        CHECK(got.events.empty());
        out.clear();
        CHECK(s->wait_until(out, clock_type::now() + 5ms) == sse::wait_status::timeout);   // once only
    }
    SUBCASE("events queued")
    {
        auto s = sse::subscribe_blocking(hub, {}, how);
        hub.publish(data_event("x"));
        std::string out;
        REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
        CHECK(out.rfind("retry: 2500\n\n", 0) == 0);
        CHECK(interpret(out).data() == std::vector<std::string>{"x"});
    }
    SUBCASE("cancelled first: nothing")
    {
        auto s = sse::subscribe_blocking(hub, {}, how);
        s->cancel();
        std::string out;
        CHECK(s->wait(out) == sse::wait_status::cancelled);
        CHECK(out.empty());
    }
}

TEST_CASE("blocking_subscription: a wait appends to what the caller already holds")
{
    sse::hub hub;
    auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
    hub.publish(data_event("x"));
    std::string out = "kept";
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    CHECK(out.rfind("kept", 0) == 0);
    CHECK(interpret(out.substr(4)).data() == std::vector<std::string>{"x"});
}

TEST_CASE("blocking_subscription: Last-Event-ID replays exactly the missed events, then live ones")
{
    sse::hub_options ho;
    ho.epoch = "e";
    sse::hub hub(ho);
    for (auto const* d : {"1", "2", "3", "4", "5"})
        hub.publish(data_event(d), sse::audience::topic("t"));

    auto who = topics({"t"});
    who.last_event_id = "e-2";
    auto s = sse::subscribe_blocking(hub, who, no_heartbeat());
    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    auto got = interpret(out);
    CHECK(got.data() == std::vector<std::string>{"3", "4", "5"});
    CHECK(got.events.back().id == "e-5");

    hub.publish(data_event("6"), sse::audience::topic("t"));
    out.clear();
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    got = interpret(out);
    REQUIRE(got.events.size() == 1);
    CHECK(got.events[0].data == "6");
    CHECK(got.events[0].id == "e-6");
}

TEST_CASE("blocking_subscription: an id the history cannot place starts with the hub's reset event")
{
    sse::hub_options ho;
    ho.epoch = "e";
    sse::hub hub(ho);
    hub.publish(data_event("1"));
    sse::subscriber_options who;
    who.last_event_id = "other-7";
    auto s = sse::subscribe_blocking(hub, who, no_heartbeat());
    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    auto const got = interpret(out);
    REQUIRE(got.events.size() == 1);
    CHECK(got.events[0].type == "reset");
    CHECK(got.events[0].id == "e-1");   // the newest id: the client resumes from here
    CHECK(got.events[0].data.find("\"foreign\"") != std::string::npos);
}

TEST_CASE("blocking_subscription: a heartbeat is a comment, handed out when nothing else was")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.heartbeat_interval = 1ms;
    auto s = sse::subscribe_blocking(hub, {}, how);
    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::heartbeat);
    CHECK(out == ":\n\n");
    // WHATWG HTML 9.2.6: a comment line is ignored and a blank line with no data
    // dispatches nothing, so a client sees no event.
    auto const got = interpret(out);
    CHECK(got.events.empty());
    CHECK(got.comments == std::vector<std::string>{""});

    hub.publish(data_event("x"));
    out.clear();
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
    CHECK(interpret(out).data() == std::vector<std::string>{"x"});
}

TEST_CASE("blocking_subscription: the caller's deadline gives a timeout with nothing appended")
{
    sse::hub hub;
    SUBCASE("no heartbeats")
    {
        auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
        std::string out;
        CHECK(s->wait_until(out, clock_type::now() + 5ms) == sse::wait_status::timeout);
        CHECK(s->wait_until(out, clock_type::now() - 1s) == sse::wait_status::timeout);
        CHECK(out.empty());
    }
    SUBCASE("a deadline before the heartbeat")
    {
        auto how = no_heartbeat();
        how.heartbeat_interval = 1h;
        auto s = sse::subscribe_blocking(hub, {}, how);
        std::string out;
        CHECK(s->wait_until(out, clock_type::now() + 5ms) == sse::wait_status::timeout);
        CHECK(out.empty());
    }
    SUBCASE("events win over a deadline that has passed")
    {
        auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
        hub.publish(data_event("x"));
        std::string out;
        CHECK(s->wait_until(out, clock_type::now() - 1s) == sse::wait_status::events);
        CHECK(interpret(out).data() == std::vector<std::string>{"x"});
    }
}

TEST_CASE("blocking_subscription: a backlog larger than max_bytes comes out over several waits, without a wake")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.max_bytes = 1;   // one event per wait
    auto s = sse::subscribe_blocking(hub, {}, how);
    for (auto const* d : {"a", "b", "c"})
        hub.publish(data_event(d));
    std::vector<std::string> data;
    for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        std::string out;
        REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
        auto const got = interpret(out).data();
        CHECK(got.size() == 1);
        data.insert(data.end(), got.begin(), got.end());
    }
    CHECK(data == std::vector<std::string>{"a", "b", "c"});
    std::string out;
    CHECK(s->wait_until(out, clock_type::now() + 5ms) == sse::wait_status::timeout);
}

TEST_CASE("blocking_subscription: throttled events are handed out when due, without a publish")
{
    sse::hub hub;
    auto who = sse::subscriber_options{};
    who.max_per_second = 200;   // one every 5 ms
    auto s = sse::subscribe_blocking(hub, who, no_heartbeat());
    for (auto const* d : {"a", "b", "c"})
        hub.publish(data_event(d));
    std::vector<std::string> data;
    while (data.size() < 3) {
        std::string out;
        REQUIRE(wait_patiently(*s, out) == sse::wait_status::events);
        auto const got = interpret(out).data();
        data.insert(data.end(), got.begin(), got.end());
    }
    CHECK(data == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("blocking_subscription: hub shutdown hands out the queued events and a spread-out retry, then ends")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.shutdown_retry_min = 1234ms;
    how.shutdown_retry_max = 1234ms;
    auto s = sse::subscribe_blocking(hub, {}, how);
    hub.publish(data_event("last words"));
    hub.shutdown();

    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::ended);
    auto const got = interpret(out);
    CHECK(got.data() == std::vector<std::string>{"last words"});
    CHECK(got.comments == std::vector<std::string>{"server shutting down"});
    CHECK(got.retry == 1234ms);
    CHECK(s->subscription().ended() == sse::close_reason::shutdown);

    out.clear();
    CHECK(s->wait(out) == sse::wait_status::ended);   // at once, every time
    CHECK(out.empty());
}

TEST_CASE("blocking_subscription: the shutdown retry is drawn from its range")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.shutdown_retry_min = 100ms;
    how.shutdown_retry_max = 200ms;
    std::vector<std::shared_ptr<sse::blocking_subscription>> subs;
    for (int i = 0; i < 20; ++i)
        subs.push_back(sse::subscribe_blocking(hub, {}, how));
    hub.shutdown();
    for (auto& s : subs) {
        std::string out;
        REQUIRE(s->wait(out) == sse::wait_status::ended);
        auto const retry = interpret(out).retry;
        REQUIRE(retry);
        CHECK(*retry >= 100ms);
        CHECK(*retry <= 200ms);
    }
}

TEST_CASE("blocking_subscription: a kick ends it with the final event, or with nothing")
{
    sse::hub hub;
    SUBCASE("with final_event")
    {
        auto how = no_heartbeat();
        how.final_event = [](sse::close_reason why) -> std::optional<sse::event> {
            sse::event e;
            e.type = "bye";
            e.data = why == sse::close_reason::token_expired ? "token expired" : "kicked";
            return e;
        };
        auto s = sse::subscribe_blocking(hub, {}, how);
        CHECK(hub.kick(s->subscription().id(), sse::close_reason::token_expired));
        std::string out;
        REQUIRE(wait_patiently(*s, out) == sse::wait_status::ended);
        auto const got = interpret(out);
        REQUIRE(got.events.size() == 1);
        CHECK(got.events[0].type == "bye");
        CHECK(got.events[0].data == "token expired");
    }
    SUBCASE("without")
    {
        auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
        hub.publish(data_event("dropped by the kick"));
        CHECK(hub.kick(s->subscription().id()));
        std::string out;
        CHECK(wait_patiently(*s, out) == sse::wait_status::ended);
        CHECK(out.empty());
    }
}

TEST_CASE("blocking_subscription: a slow consumer gets the hub's retry hint, then the end")
{
    sse::hub_options ho;
    ho.queue.max_bytes = 64;
    ho.queue.retry_hint = 5s;
    sse::hub hub(ho);
    auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
    auto const r = hub.publish(data_event(std::string(100, 'x')));
    CHECK(r.disconnects == 1);
    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::ended);
    auto const got = interpret(out);
    CHECK(got.events.empty());
    CHECK(got.retry == 5s);
    CHECK(s->subscription().ended() == sse::close_reason::slow_consumer);
}

TEST_CASE("blocking_subscription: cancel leaves the hub at once and ends every wait")
{
    std::vector<sse::close_reason> left;
    sse::hub_options ho;
    ho.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason why) { left.push_back(why); };
    sse::hub hub(ho);
    auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
    hub.publish(data_event("never handed out"));
    s->cancel();
    s->cancel();
    CHECK(hub.stats().subscribers == 0);
    CHECK(left == std::vector<sse::close_reason>{sse::close_reason::unsubscribed});
    CHECK(hub.publish(data_event("x")).deliveries == 0);
    std::string out;
    CHECK(s->wait(out) == sse::wait_status::cancelled);
    CHECK(s->wait(out) == sse::wait_status::cancelled);
    CHECK(out.empty());
}

TEST_CASE("blocking_subscription: the last owner letting go leaves the hub")
{
    std::vector<sse::close_reason> left;
    sse::hub_options ho;
    ho.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason why) { left.push_back(why); };
    sse::hub hub(ho);
    auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
    auto other = s;
    s.reset();
    CHECK(hub.stats().subscribers == 1);
    other.reset();
    CHECK(hub.stats().subscribers == 0);
    CHECK(left == std::vector<sse::close_reason>{sse::close_reason::unsubscribed});
}

TEST_CASE("blocking_subscription: the hub may be destroyed first")
{
    std::shared_ptr<sse::blocking_subscription> s;
    {
        sse::hub hub;
        s = sse::subscribe_blocking(hub, {}, no_heartbeat());
        hub.publish(data_event("before"));
    }
    std::string out;
    REQUIRE(wait_patiently(*s, out) == sse::wait_status::ended);
    CHECK(interpret(out).data() == std::vector<std::string>{"before"});
    s->cancel();   // the hub is gone: nothing to leave
    s.reset();
}

TEST_CASE("blocking_subscription: after shutdown, subscribing fails")
{
    sse::hub hub;
    hub.shutdown();
    sse::error_code ec;
    CHECK(sse::subscribe_blocking(hub, {}, {}, ec) == nullptr);
    CHECK(ec == sse::error::hub_shut_down);
#if SSE_HAS_EXCEPTIONS
    CHECK_THROWS_AS(sse::subscribe_blocking(hub, {}), std::system_error);
#endif
}

// ---- threads -------------------------------------------------------------------------

TEST_CASE("blocking_subscription: a waiting thread is woken by a publish, and nothing is lost between waits")
{
    sse::hub hub;
    auto s = sse::subscribe_blocking(hub, topics({"t"}), no_heartbeat());
    constexpr int rounds = 200;
    std::atomic<int> handed{0};   // events the waiter has taken so far
    std::vector<std::string> data;
    std::thread waiter([&] {
        while (data.size() < rounds) {
            std::string out;
            if (wait_patiently(*s, out) != sse::wait_status::events)
                break;
            for (auto& d : interpret(out).data())
                data.push_back(std::move(d));
            handed.store(static_cast<int>(data.size()), std::memory_order_release);
        }
    });
    // Mostly one event per wait, the waiter asleep when it comes: publish i once
    // i - 1 was taken. Every tenth publish comes in a burst of its own while the
    // waiter is busy with the previous one: those must not be lost either.
    for (int i = 0; i < rounds; ++i) {
        if (i % 10 != 0)
            while (handed.load(std::memory_order_acquire) < i)
                std::this_thread::yield();
        hub.publish(data_event(std::to_string(i)), sse::audience::topic("t"));
    }
    waiter.join();
    REQUIRE(data.size() == rounds);
    for (int i = 0; i < rounds; ++i)
        CHECK(data[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("blocking_subscription: a waiting thread is woken by a shutdown, a kick or a cancel from another thread")
{
    sse::hub hub;
    auto s = sse::subscribe_blocking(hub, {}, no_heartbeat());
    std::atomic<bool> waiting{false};
    sse::wait_status status = sse::wait_status::events;
    std::string out;
    std::thread waiter([&] {
        waiting.store(true);
        status = s->wait(out);   // no deadline: only the other thread ends this
    });
    while (!waiting.load())
        std::this_thread::yield();

    sse::wait_status expected = sse::wait_status::ended;
    SUBCASE("shutdown") { hub.shutdown(); }
    SUBCASE("kick") { hub.kick(s->subscription().id()); }
    SUBCASE("cancel")
    {
        s->cancel();
        expected = sse::wait_status::cancelled;
    }
    waiter.join();
    CHECK(status == expected);
}

TEST_CASE("blocking_subscription: publishers on several threads, one waiter, every event once and in order")
{
    sse::hub hub;
    auto how = no_heartbeat();
    how.max_bytes = 256;   // many small waits
    auto s = sse::subscribe_blocking(hub, {}, how);
    constexpr int publishers = 2;
    constexpr int per_publisher = 2000;
    std::vector<int> next(publishers, 0);
    int errors = 0;
    sse::wait_status last = sse::wait_status::events;
    unsigned long long previous_seq = 0;   // ids are <epoch>-<seq>
    std::thread waiter([&] {
        for (;;) {
            std::string out;
            last = wait_patiently(*s, out);
            for (auto const& e : interpret(out).events) {
                // "<publisher>:<n>", each publisher's n in order; ids increase.
                int const p = e.data[0] - '0';
                int const n = std::stoi(e.data.substr(2));
                if (p < 0 || p >= publishers || n != next[static_cast<std::size_t>(p)]++)
                    ++errors;
                auto const seq = std::stoull(e.id.substr(e.id.rfind('-') + 1));
                if (seq <= previous_seq)
                    ++errors;
                previous_seq = seq;
            }
            if (last != sse::wait_status::events)
                return;
        }
    });
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p)
        threads.emplace_back([&hub, p] {
            for (int n = 0; n < per_publisher; ++n)
                hub.publish(data_event(std::to_string(p) + ":" + std::to_string(n)));
        });
    for (auto& t : threads)
        t.join();
    hub.shutdown();   // ends the waiter once it has everything
    waiter.join();
    CHECK(last == sse::wait_status::ended);
    CHECK(errors == 0);
    for (int p = 0; p < publishers; ++p)
        CHECK(next[static_cast<std::size_t>(p)] == per_publisher);
}
