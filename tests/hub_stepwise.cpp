// A fan-out that goes in steps (the sinks write on the publishing thread, to more
// subscribers than one step takes): what others may do while it is under way,
// from inside a sink's wake, and what every subscriber must still get.
#include <sse/hub.hpp>

#include <doctest/doctest.h>

#include "support/pulled.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using time_point = sse::hub::clock::time_point;
time_point const t0 = time_point{} + 1h;

// More than one step takes (16), and not a multiple of it.
constexpr std::size_t subscriber_count = 200;

using support::data_event;

// The data of what `s` has queued.
std::vector<std::string> take(sse::subscriber& s) { return support::pull_data(s, t0); }

// A connection as the hub sees it: each wake, inline or not, pulls what is queued
// and keeps its data, as sse::attach writes it. An inline wake first runs the
// test's hook, which may call into the hub as a sink's own callbacks may.
struct connection : sse::delivery_sink
{
    std::shared_ptr<sse::subscriber> sub;
    std::function<void()> const* hook = nullptr;
    std::vector<std::string> got;
    std::vector<sse::close_reason> closes;

    void wake() noexcept override
    {
        if (sub)
            for (auto& d : take(*sub))
                got.push_back(std::move(d));
    }
    bool wake_inline() noexcept override
    {
        if (hook && *hook)
            (*hook)();
        wake();
        return true;
    }
    void closed(sse::close_reason why) noexcept override { closes.push_back(why); }
};

// A hub whose sinks work inline (unless told otherwise), and the connections subscribed to it.
struct bench
{
    sse::hub hub;
    std::function<void()> hook;
    std::vector<std::shared_ptr<connection>> conns;
    int inline_wakes = 0;

    explicit bench(sse::hub_options o = {}, sse::inline_wake_policy wakes = sse::inline_wake_policy::always)
        : hub(with(std::move(o), wakes))
    {
    }

    static sse::hub_options with(sse::hub_options o, sse::inline_wake_policy wakes)
    {
        o.epoch = "e";
        o.clock = [] { return t0; };
        o.inline_wakes = wakes;
        return o;
    }

    std::shared_ptr<connection> add(sse::subscriber_options o = {})
    {
        auto c = std::make_shared<connection>();
        c->hook = &hook;
        c->sub = hub.subscribe(std::move(o), c);
        conns.push_back(c);
        return c;
    }

    // Runs `action` once, at the `n`th inline wake of a fan-out (1 is the first).
    void at_wake(int n, std::function<void()> action)
    {
        inline_wakes = 0;
        hook = [this, n, action = std::move(action)] {
            if (++inline_wakes == n)
                action();
        };
    }
};

std::vector<std::string> strings(std::initializer_list<char const*> l) { return {l.begin(), l.end()}; }

} // namespace

TEST_CASE("hub stepwise: the first writes leave before the fan-out reaches every subscriber")
{
    bench b;
    for (std::size_t i = 0; i < subscriber_count; ++i)
        b.add();
    std::size_t reached_at_first_wake = 0;
    b.at_wake(1, [&] {
        for (auto const& c : b.conns)
            reached_at_first_wake += c->sub->queue_size() + c->got.size();
    });
    auto const r = b.hub.publish(data_event("e1"));
    // One step (16 subscribers) was queued when the first write came.
    CHECK(reached_at_first_wake == 16);
    CHECK(b.inline_wakes == int(subscriber_count));
    CHECK(r.deliveries == subscriber_count);
    CHECK(r.id == "e-1");
    for (auto const& c : b.conns)
        CHECK(c->got == strings({"e1"}));
    CHECK(b.hub.stats().deliveries == subscriber_count);
}

TEST_CASE("hub stepwise: subscribers that leave during the fan-out; the others get the event once")
{
    // The hub's indexes fill a leaver's hole with their last subscriber: one
    // already served, moved where the fan-out has yet to go. Leaving at the 10th
    // write (the first step served the last 16), and leaving from both parts.
    for (std::size_t const first_leaver : {std::size_t(0), std::size_t(100), std::size_t(160)}) {
        CAPTURE(first_leaver);
        bench b;
        for (std::size_t i = 0; i < subscriber_count; ++i)
            b.add();
        std::vector<std::size_t> leavers;
        for (std::size_t i = first_leaver; i < first_leaver + 40; ++i)
            leavers.push_back(i);
        b.at_wake(10, [&] {
            for (auto i : leavers)
                b.hub.unsubscribe(*b.conns[i]->sub);
        });
        auto const r = b.hub.publish(data_event("e1"));
        std::size_t served = 0;
        for (std::size_t i = 0; i < subscriber_count; ++i) {
            CAPTURE(i);
            bool const left = i >= first_leaver && i < first_leaver + 40;
            // Those that left after their write have it; the others left before theirs.
            if (left) {
                CHECK(b.conns[i]->got.size() <= 1);
            } else {
                CHECK(b.conns[i]->got == strings({"e1"}));
            }
            served += b.conns[i]->got.size();
        }
        // Deliveries count queues that took the event: also of those that left before their write.
        CHECK(r.deliveries >= served);
        CHECK(r.deliveries <= served + 40);
        // The next publish reaches exactly those that stayed, once each.
        b.hook = nullptr;
        auto const r2 = b.hub.publish(data_event("e2"));
        CHECK(r2.deliveries == subscriber_count - 40);
        for (std::size_t i = 0; i < subscriber_count; ++i) {
            bool const left = i >= first_leaver && i < first_leaver + 40;
            CHECK(std::count(b.conns[i]->got.begin(), b.conns[i]->got.end(), "e2") == (left ? 0 : 1));
        }
    }
}

TEST_CASE("hub stepwise: a subscriber that comes during the fan-out gets the event by replay only")
{
    bench b;
    for (std::size_t i = 0; i < subscriber_count; ++i)
        b.add();
    b.hub.publish(data_event("e1"));

    std::shared_ptr<connection> resumed, fresh;
    b.at_wake(10, [&] {
        sse::subscriber_options o;
        o.last_event_id = "e-1";
        resumed = b.add(std::move(o));   // registered last: where the fan-out has been
        fresh = b.add();
        // Two leave from where the fan-out has yet to go: the newcomers move there.
        b.hub.unsubscribe(*b.conns[0]->sub);
        b.hub.unsubscribe(*b.conns[1]->sub);
    });
    auto const r = b.hub.publish(data_event("e2"));
    CHECK(r.deliveries == subscriber_count - 2);
    REQUIRE(resumed);
    REQUIRE(fresh);
    // The resumed one has e2 queued once, from its replay; the fresh one asked for nothing.
    CHECK(take(*resumed->sub) == strings({"e2"}));
    CHECK(take(*fresh->sub).empty());

    b.hook = nullptr;
    b.hub.publish(data_event("e3"));
    CHECK(resumed->got == strings({"e3"}));
    CHECK(fresh->got == strings({"e3"}));
    CHECK(b.conns[0]->got == strings({"e1"}));
    CHECK(b.conns[1]->got == strings({"e1"}));
    for (std::size_t i = 2; i < subscriber_count; ++i)
        CHECK(b.conns[i]->got == strings({"e1", "e2", "e3"}));
}

TEST_CASE("hub stepwise: a publish made during the fan-out comes after it, for every subscriber")
{
    bench b;
    for (std::size_t i = 0; i < subscriber_count; ++i)
        b.add();
    sse::publish_result inner;
    b.at_wake(10, [&] { inner = b.hub.publish(data_event("f")); });
    auto const outer = b.hub.publish(data_event("e"));
    // The inner publish finished the outer fan-out first: the outer result still counts it all.
    CHECK(outer.id == "e-1");
    CHECK(outer.deliveries == subscriber_count);
    CHECK(inner.id == "e-2");
    CHECK(inner.deliveries == subscriber_count);
    for (std::size_t i = 0; i < subscriber_count; ++i) {
        CAPTURE(i);
        CHECK(b.conns[i]->got == strings({"e", "f"}));
    }
    CHECK(b.hub.stats().deliveries == 2 * subscriber_count);
}

TEST_CASE("hub stepwise: a shutdown during the fan-out leaves the event pullable by all")
{
    bench b;
    for (std::size_t i = 0; i < subscriber_count; ++i)
        b.add();
    b.at_wake(10, [&] { b.hub.shutdown(); });
    auto const r = b.hub.publish(data_event("e1"));
    CHECK(r.deliveries == subscriber_count);
    for (auto const& c : b.conns) {
        auto got = c->got;
        for (auto& d : take(*c->sub))
            got.push_back(d);
        CHECK(got == strings({"e1"}));
        CHECK(c->sub->ended() == sse::close_reason::shutdown);
    }
    auto const st = b.hub.stats();
    CHECK(st.disconnected(sse::close_reason::shutdown) == subscriber_count);
    CHECK(st.subscribers == 0);
}

TEST_CASE("hub stepwise: topics, users and matching reach each subscriber of the audience once")
{
    bench b;
    // Topic a, topic b, both, neither; users u0..u3 round-robin.
    for (std::size_t i = 0; i < 4 * subscriber_count; ++i) {
        sse::subscriber_options o;
        if (i % 4 == 0 || i % 4 == 2)
            o.topics.push_back("a");
        if (i % 4 == 1 || i % 4 == 2)
            o.topics.push_back("b");
        o.user = "u" + std::to_string(i % 5);
        b.add(std::move(o));
    }
    // Some leave during each fan-out, from the start of the lists.
    b.at_wake(3, [&] {
        for (std::size_t i = 0; i < 20; ++i)
            b.hub.unsubscribe(*b.conns[i]->sub);
    });
    auto const to_topics = b.hub.publish(data_event("t"), sse::audience::topics({"a", "b"}));
    b.hook = nullptr;
    auto const to_user = b.hub.publish(data_event("u"), sse::audience::user("u1"));
    auto const to_matching = b.hub.publish(data_event("m"),
        sse::audience::matching([](sse::subscriber const& s) { return s.user() == "u2" || s.user() == "u3"; }));
    std::size_t topics_got = 0, user_got = 0, matching_got = 0;
    for (std::size_t i = 0; i < b.conns.size(); ++i) {
        CAPTURE(i);
        auto const& got = b.conns[i]->got;
        auto const count = [&](char const* d) { return std::count(got.begin(), got.end(), d); };
        bool const left = i < 20;
        CHECK(count("t") <= (i % 4 == 3 ? 0 : 1));
        if (!left)
            CHECK(count("t") == (i % 4 == 3 ? 0 : 1));
        CHECK(count("u") == (!left && i % 5 == 1 ? 1 : 0));
        CHECK(count("m") == (!left && (i % 5 == 2 || i % 5 == 3) ? 1 : 0));
        topics_got += std::size_t(count("t"));
        user_got += std::size_t(count("u"));
        matching_got += std::size_t(count("m"));
    }
    CHECK(to_topics.deliveries == topics_got);
    CHECK(to_user.deliveries == user_got);
    CHECK(to_user.deliveries == (4 * subscriber_count - 20) / 5);
    CHECK(to_matching.deliveries == matching_got);
}

TEST_CASE("hub stepwise: slow consumers closed during the fan-out are counted and told once, as without steps")
{
    // The same publishes with the writes on the publishing thread (in steps) and
    // handed to the connections (one pass): the results must not differ.
    std::vector<sse::publish_result> results;
    for (auto const policy : {sse::inline_wake_policy::always, sse::inline_wake_policy::never}) {
        CAPTURE(policy == sse::inline_wake_policy::always);
        sse::hub_options o;
        o.queue.max_bytes = 64;   // room for one event
        bench b(std::move(o), policy);
        for (std::size_t i = 0; i < subscriber_count; ++i)
            b.add();
        // Every third connection stops reading: what it is woken for stays queued
        // (the hub keeps the subscriber).
        for (std::size_t i = 0; i < subscriber_count; i += 3)
            b.conns[i]->sub = nullptr;
        b.hub.publish(data_event(std::string(30, 'x')));
        auto const r = b.hub.publish(data_event(std::string(30, 'y')));
        std::size_t const slow = (subscriber_count + 2) / 3;
        CHECK(r.disconnects == slow);
        for (std::size_t i = 0; i < subscriber_count; ++i) {
            CAPTURE(i);
            if (i % 3 == 0)
                CHECK(b.conns[i]->closes == std::vector<sse::close_reason>{sse::close_reason::slow_consumer});
            else
                CHECK(b.conns[i]->got == strings({std::string(30, 'x').c_str(), std::string(30, 'y').c_str()}));
        }
        auto const st = b.hub.stats();
        CHECK(st.disconnected(sse::close_reason::slow_consumer) == slow);
        CHECK(st.subscribers == subscriber_count - slow);
        results.push_back(r);
    }
    CHECK(results[0].deliveries == results[1].deliveries);
    CHECK(results[0].drops == results[1].drops);
    CHECK(results[0].disconnects == results[1].disconnects);
}

namespace {

// A connection woken from several publishing threads: pulls under its own lock,
// so that what it records is in the order pulled, and keeps each event's seq.
struct threaded_connection : sse::delivery_sink
{
    std::mutex mutex;
    std::shared_ptr<sse::subscriber> sub;
    std::vector<std::uint64_t> seqs;   // from the `id: e-N` line

    void wake() noexcept override
    {
        std::lock_guard<std::mutex> lock(mutex);
        std::vector<sse::event_buffer> out;
        sub->pull(out, std::size_t(-1), t0);
        for (auto const& b : out) {
            std::string_view const w = *b;
            std::uint64_t seq = 0;
            if (w.rfind("id: e-", 0) == 0)
                std::from_chars(w.data() + 6, w.data() + w.size(), seq);
            seqs.push_back(seq);
        }
    }
    bool wake_inline() noexcept override
    {
        wake();
        return true;
    }
    void closed(sse::close_reason) noexcept override {}
};

} // namespace

TEST_CASE("hub stepwise: two threads publish while others come and go; each gets every event once, in order")
{
    sse::hub_options o;
    o.epoch = "e";
    o.inline_wakes = sse::inline_wake_policy::always;
    sse::hub hub(std::move(o));
    std::vector<std::shared_ptr<threaded_connection>> stable;
    for (std::size_t i = 0; i < subscriber_count; ++i) {
        auto c = std::make_shared<threaded_connection>();
        std::lock_guard<std::mutex> lock(c->mutex);
        c->sub = hub.subscribe({}, c);
        stable.push_back(c);
    }
    constexpr int per_thread = 300;
    std::atomic<bool> publishing{true};
    std::atomic<int> churned{0};
    std::thread churn([&] {
        std::vector<std::shared_ptr<threaded_connection>> passing;
        while (publishing.load()) {
            auto c = std::make_shared<threaded_connection>();
            {
                std::lock_guard<std::mutex> lock(c->mutex);
                c->sub = hub.subscribe({}, c);
            }
            passing.push_back(c);
            if (passing.size() > 40) {
                // Leave from the front of the hub's list: moves its last subscriber.
                hub.unsubscribe(*passing.front()->sub);
                passing.erase(passing.begin());
                churned.fetch_add(1);
            }
        }
        for (auto const& c : passing) {
            std::lock_guard<std::mutex> lock(c->mutex);
            // What came while it was subscribed: each once, in id order.
            CHECK(std::is_sorted(c->seqs.begin(), c->seqs.end()));
            CHECK(std::adjacent_find(c->seqs.begin(), c->seqs.end()) == c->seqs.end());
        }
    });
    std::vector<std::thread> publishers;
    for (int p = 0; p < 2; ++p)
        publishers.emplace_back([&hub, p] {
            for (int n = 0; n < per_thread; ++n)
                hub.publish(data_event(std::to_string(p) + ":" + std::to_string(n)));
        });
    for (auto& t : publishers)
        t.join();
    publishing = false;
    churn.join();
    CHECK(churned.load() > 0);

    std::vector<std::uint64_t> all(2 * per_thread);
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = i + 1;
    for (std::size_t i = 0; i < stable.size(); ++i) {
        CAPTURE(i);
        std::lock_guard<std::mutex> lock(stable[i]->mutex);
        CHECK(stable[i]->seqs == all);
    }
    CHECK(hub.stats().deliveries >= 2 * per_thread * subscriber_count);
}
