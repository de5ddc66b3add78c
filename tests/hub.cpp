#include <sse/hub.hpp>

#include <doctest/doctest.h>

#include "support/pulled.hpp"
#include "support/recording_sink.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using time_point = sse::hub::clock::time_point;
time_point const t0 = time_point{} + 1h;

using support::data_event;

using support::recording_sink;

// A hub whose clock the test moves.
struct fixture
{
    std::shared_ptr<time_point> now = std::make_shared<time_point>(t0);

    sse::hub_options options(std::string epoch = "e")
    {
        sse::hub_options o;
        o.epoch = std::move(epoch);
        o.clock = [now = now] { return *now; };
        return o;
    }
};

std::vector<std::string> pull_all(sse::subscriber& s, time_point now = t0, sse::pull_result* result = nullptr)
{
    return support::pull_wires(s, now, result);
}

std::vector<std::string> pull_data(sse::subscriber& s, time_point now = t0, sse::pull_result* result = nullptr)
{
    return support::pull_data(s, now, result);
}

sse::subscriber_options topics(std::vector<std::string> t)
{
    sse::subscriber_options o;
    o.topics = std::move(t);
    return o;
}

} // namespace

namespace docs_example {

// The first example of docs/hub.md, verbatim.
struct connection : sse::delivery_sink
{
    void wake() noexcept override { /* post a pull to the connection's executor */ }
    void closed(sse::close_reason) noexcept override { /* pull what is left, then close */ }
};

std::vector<std::string> run()
{
    sse::hub hub;

    sse::subscriber_options o;
    o.topics = {"prices"};
    o.user = "alice";
    auto conn = std::make_shared<connection>();
    std::shared_ptr<sse::subscriber> sub = hub.subscribe(o, conn);

    sse::event e;
    e.type = "price";
    e.data = R"({"EURUSD":1.0842})";
    auto const prices = sse::audience::topic("prices");   // build once, publish many times
    sse::publish_result r = hub.publish(e, prices);       // serialised once; r.id is "<epoch>-1"

    hub.publish(data_event("hello alice"), sse::audience::user("alice"));

    // On the connection's executor, after wake():
    std::vector<sse::event_buffer> out;
    sse::pull_result got = sub->pull(out, 64 * 1024, std::chrono::steady_clock::now());
    // out: the two buffers, in order; write them with one gathered write.

    hub.unsubscribe(*sub);   // when the connection ends

    std::vector<std::string> wires;
    for (auto const& b : out)
        wires.push_back(*b);
    wires.push_back(r.id);
    wires.push_back(std::to_string(got.count));
    return wires;
}

} // namespace docs_example

TEST_CASE("hub: the docs/hub.md example works as written")
{
    auto const w = docs_example::run();
    REQUIRE(w.size() == 4);
    CHECK(w[0].find("event: price\ndata: {\"EURUSD\":1.0842}\n\n") != std::string::npos);
    CHECK(w[1].find("data: hello alice\n\n") != std::string::npos);
    CHECK(w[2].substr(w[2].size() - 2) == "-1");
    CHECK(w[3] == "2");
}

TEST_CASE("hub: delivery by topic, user, to all and by predicate")
{
    fixture f;
    sse::hub hub(f.options());
    auto a = hub.subscribe(topics({"news", "sport"}));
    auto b = hub.subscribe(topics({"sport"}));
    sse::subscriber_options alice = topics({"weather"});
    alice.user = "alice";
    auto c = hub.subscribe(alice);
    auto d = hub.subscribe({});

    SUBCASE("one topic")
    {
        CHECK(hub.publish(data_event("1"), sse::audience::topic("sport")).deliveries == 2);
        CHECK(pull_data(*a) == std::vector<std::string>{"1"});
        CHECK(pull_data(*b) == std::vector<std::string>{"1"});
        CHECK(pull_data(*c).empty());
        CHECK(pull_data(*d).empty());
    }
    SUBCASE("several topics: each subscriber once")
    {
        CHECK(hub.publish(data_event("1"), sse::audience::topics({"news", "sport", "weather"})).deliveries == 3);
        CHECK(pull_data(*a) == std::vector<std::string>{"1"});
        CHECK(pull_data(*b) == std::vector<std::string>{"1"});
        CHECK(pull_data(*c) == std::vector<std::string>{"1"});
        CHECK(pull_data(*d).empty());
    }
    SUBCASE("a topic nobody follows")
    {
        auto const r = hub.publish(data_event("1"), sse::audience::topic("nothing"));
        CHECK(r.deliveries == 0);
        CHECK(r.id == "e-1");
    }
    SUBCASE("user")
    {
        CHECK(hub.publish(data_event("1"), sse::audience::user("alice")).deliveries == 1);
        CHECK(hub.publish(data_event("2"), sse::audience::user("bob")).deliveries == 0);
        CHECK(pull_data(*c) == std::vector<std::string>{"1"});
        CHECK(pull_data(*d).empty());
    }
    SUBCASE("all")
    {
        CHECK(hub.publish(data_event("1")).deliveries == 4);
        for (auto* s : {a.get(), b.get(), c.get(), d.get()})
            CHECK(pull_data(*s) == std::vector<std::string>{"1"});
    }
    SUBCASE("predicate over subscribers")
    {
        auto const odd = sse::audience::matching([](sse::subscriber const& s) { return s.id() % 2 == 1; });
        CHECK(hub.publish(data_event("1"), odd).deliveries == 2);
        CHECK(pull_data(*a).size() == 1);
        CHECK(pull_data(*b).empty());
        CHECK(pull_data(*c).size() == 1);
        CHECK(pull_data(*d).empty());
    }
}

TEST_CASE("hub: every subscriber gets the same buffer")
{
    sse::hub hub;
    auto a = hub.subscribe({});
    auto b = hub.subscribe({});
    hub.publish(data_event("shared"));
    std::vector<sse::event_buffer> x, y;
    a->pull(x, 1024, t0);
    b->pull(y, 1024, t0);
    REQUIRE(x.size() == 1);
    REQUIRE(y.size() == 1);
    CHECK(x[0].get() == y[0].get());
}

TEST_CASE("hub: ids are assigned, or the publisher's are kept")
{
    fixture f;
    sse::hub hub(f.options("ep"));
    auto s = hub.subscribe({});
    CHECK(hub.epoch() == "ep");
    CHECK(hub.publish(data_event("a")).id == "ep-1");
    sse::event own = data_event("b");
    own.id = "mine";
    CHECK(hub.publish(own).id == "mine");
    CHECK(hub.newest_id() == "ep-2");
    CHECK(pull_all(*s) == std::vector<std::string>{"id: ep-1\ndata: a\n\n", "id: mine\ndata: b\n\n"});

    sse::event bad;
    bad.type = "a\nb";
    sse::error_code ec;
    CHECK(hub.publish(bad, {}, {}, ec).deliveries == 0);
    CHECK(ec == sse::error::type_has_newline);
    CHECK(hub.stats().published == 2);
}

TEST_CASE("hub: filters see the event's type, id, key and data")
{
    fixture f;
    sse::hub hub(f.options());
    sse::subscriber_options o;
    o.filter = [](sse::published_event const& e) {
        return e.type == "alert" && e.key != "noise" && e.data && e.data->find("!") != std::string::npos;
    };
    auto s = hub.subscribe(o);
    sse::event e = data_event("fire!");
    e.type = "alert";
    hub.publish(e, {}, "smoke");
    hub.publish(e, {}, "noise");
    e.type = "info";
    hub.publish(e);
    e.type = "alert";
    e.data = "calm";
    hub.publish(e);
    CHECK(pull_data(*s) == std::vector<std::string>{"fire!"});
}

TEST_CASE("hub: throttling releases at most the allowed rate")
{
    fixture f;
    sse::hub hub(f.options());
    sse::subscriber_options o;
    o.max_per_second = 10;

    SUBCASE("burst of one")
    {
        auto s = hub.subscribe(o);
        for (int i = 0; i < 5; ++i)
            hub.publish(data_event(std::to_string(i)));
        sse::pull_result r;
        CHECK(pull_data(*s, t0, &r) == std::vector<std::string>{"0"});
        REQUIRE(r.next_due);
        CHECK(*r.next_due == t0 + 100ms);
        CHECK(pull_data(*s, t0 + 50ms, &r).empty());
        CHECK(*r.next_due == t0 + 100ms);
        CHECK(pull_data(*s, t0 + 100ms, &r) == std::vector<std::string>{"1"});
        CHECK(*r.next_due == t0 + 200ms);
        CHECK(pull_data(*s, t0 + 1s, &r) == std::vector<std::string>{"2"});   // no catching up beyond the burst
        CHECK(*r.next_due == t0 + 1100ms);
        CHECK(pull_data(*s, t0 + 2s, &r) == std::vector<std::string>{"3"});
        CHECK(pull_data(*s, t0 + 3s, &r) == std::vector<std::string>{"4"});
        CHECK(!r.next_due);
    }
    SUBCASE("burst of three")
    {
        o.burst = 3;
        auto s = hub.subscribe(o);
        for (int i = 0; i < 10; ++i)
            hub.publish(data_event(std::to_string(i)));
        sse::pull_result r;
        CHECK(pull_data(*s, t0, &r).size() == 3);
        CHECK(*r.next_due == t0 + 100ms);
        CHECK(pull_data(*s, t0 + 100ms, &r).size() == 1);
        CHECK(pull_data(*s, t0 + 10s, &r).size() == 3);
        CHECK(s->queue_size() == 3);
    }
}

TEST_CASE("hub: coalescing by key keeps the last value, in id order")
{
    fixture f;
    sse::hub hub(f.options());
    sse::subscriber_options o;
    o.coalesce = true;
    auto s = hub.subscribe(o);
    auto plain = hub.subscribe({});
    hub.publish(data_event("eur 1"), {}, "EUR");
    hub.publish(data_event("usd 1"), {}, "USD");
    auto const r = hub.publish(data_event("eur 2"), {}, "EUR");
    CHECK(r.drops == 1);
    hub.publish(data_event("free"));
    CHECK(pull_data(*s) == std::vector<std::string>{"usd 1", "eur 2", "free"});
    CHECK(pull_data(*plain).size() == 4);
    CHECK(hub.stats().dropped(sse::drop_reason::coalesced) == 1);
}

TEST_CASE("hub: throttling with coalescing sends the latest value at the allowed rate")
{
    fixture f;
    sse::hub hub(f.options());
    sse::subscriber_options o;
    o.max_per_second = 1;
    o.coalesce = true;
    auto s = hub.subscribe(o);
    for (int i = 0; i < 100; ++i)
        hub.publish(data_event("v" + std::to_string(i)), {}, "k");
    CHECK(s->queue_size() == 1);
    CHECK(pull_data(*s) == std::vector<std::string>{"v99"});
}

TEST_CASE("hub: slow consumer policy disconnect")
{
    fixture f;
    auto options = f.options();
    auto const size = std::string("id: e-1\ndata: x\n\n").size();
    options.queue.max_bytes = 3 * size;
    options.queue.retry_hint = 7s;
    std::vector<sse::close_reason> hooked;
    options.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason why) { hooked.push_back(why); };
    sse::hub hub(options);
    auto sink = std::make_shared<recording_sink>();
    auto slow = hub.subscribe({}, sink);
    auto fast = hub.subscribe({});

    SUBCASE("by bytes")
    {
        for (int i = 0; i < 3; ++i) {
            hub.publish(data_event("x"));
            pull_all(*fast);
        }
        CHECK(slow->queue_size() == 3);
        CHECK(sink->closes.empty());
        auto const r = hub.publish(data_event("x"));
        CHECK(r.disconnects == 1);
        CHECK(r.deliveries == 2);
        CHECK(sink->closes == std::vector<sse::close_reason>{sse::close_reason::slow_consumer});
        CHECK(hooked == std::vector<sse::close_reason>{sse::close_reason::slow_consumer});
        CHECK(slow->ended() == sse::close_reason::slow_consumer);
        sse::pull_result r2;
        CHECK(pull_all(*slow, t0, &r2) == std::vector<std::string>{"retry: 7000\n\n"});
        CHECK(r2.closed);
        hub.publish(data_event("x"));
        CHECK(pull_all(*slow, t0, &r2).empty());
        CHECK(r2.closed);
        CHECK(pull_data(*fast).size() == 2);
        auto const st = hub.stats();
        CHECK(st.subscribers == 1);
        CHECK(st.disconnected(sse::close_reason::slow_consumer) == 1);
    }
    SUBCASE("by age")
    {
        hub.publish(data_event("x"));
        *f.now += 31s;
        hub.publish(data_event("x"));
        CHECK(sink->closes == std::vector<sse::close_reason>{sse::close_reason::slow_consumer});
    }
    CHECK(sink->closes.size() == 1);
}

TEST_CASE("hub: slow consumer policy drop_oldest")
{
    fixture f;
    auto options = f.options();
    auto const size = std::string("id: e-1\ndata: x\n\n").size();
    options.queue.max_bytes = 3 * size;
    options.queue.policy = sse::slow_consumer_policy::drop_oldest;
    options.queue.max_age = 10s;
    sse::hub hub(options);
    auto s = hub.subscribe({});
    for (int i = 1; i <= 5; ++i)
        hub.publish(data_event(std::to_string(i)));
    CHECK(pull_data(*s) == std::vector<std::string>{"3", "4", "5"});
    CHECK(hub.stats().dropped(sse::drop_reason::queue_bytes) == 2);

    hub.publish(data_event("6"));
    *f.now += 6s;
    hub.publish(data_event("7"));
    *f.now += 6s;
    auto const r = hub.publish(data_event("8"));
    CHECK(r.drops == 1);
    CHECK(pull_data(*s) == std::vector<std::string>{"7", "8"});
    CHECK(hub.stats().dropped(sse::drop_reason::queue_age) == 1);
    CHECK(!s->ended());
}

TEST_CASE("hub: slow consumer policy coalesce")
{
    fixture f;
    auto options = f.options();
    auto const size = std::string("id: e-1\ndata: a1\n\n").size();
    options.queue.max_bytes = 3 * size;
    options.queue.policy = sse::slow_consumer_policy::coalesce;
    sse::hub hub(options);
    auto s = hub.subscribe({});
    hub.publish(data_event("a1"), {}, "a");
    hub.publish(data_event("b1"), {}, "b");
    hub.publish(data_event("c1"), {}, "c");
    hub.publish(data_event("a2"), {}, "a");   // over budget: replaces a1
    CHECK(hub.stats().dropped(sse::drop_reason::coalesced) == 1);
    hub.publish(data_event("d1"), {}, "d");   // no older d: the oldest goes
    CHECK(hub.stats().dropped(sse::drop_reason::queue_bytes) == 1);
    CHECK(pull_data(*s) == std::vector<std::string>{"c1", "a2", "d1"});
}

TEST_CASE("hub: a sink is woken once until the next pull")
{
    sse::hub hub;
    auto sink = std::make_shared<recording_sink>();
    auto s = hub.subscribe({}, sink);
    hub.publish(data_event("1"));
    hub.publish(data_event("2"));
    CHECK(sink->wakes == 1);
    CHECK(pull_data(*s).size() == 2);
    hub.publish(data_event("3"));
    CHECK(sink->wakes == 2);
}

TEST_CASE("hub: pull respects max_bytes but always gives one buffer")
{
    sse::hub hub;
    auto s = hub.subscribe({});
    for (int i = 0; i < 4; ++i)
        hub.publish(data_event("0123456789"));
    std::vector<sse::event_buffer> out;
    auto const one = out.size();
    CHECK(s->pull(out, 1, t0).count == 1);
    CHECK(out.size() == one + 1);
    CHECK(s->pull(out, 2 * out[0]->size(), t0).count == 2);
    CHECK(s->queue_size() == 1);
    CHECK(s->queue_bytes() == out[0]->size());
}

TEST_CASE("hub: a destroyed sink ends its subscription")
{
    std::vector<sse::close_reason> hooked;
    sse::hub_options options;
    options.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason why) { hooked.push_back(why); };
    sse::hub hub(options);
    auto sink = std::make_shared<recording_sink>();
    auto s = hub.subscribe({}, sink);
    sink.reset();
    CHECK(hub.publish(data_event("1")).deliveries == 1);
    CHECK(hooked == std::vector<sse::close_reason>{sse::close_reason::sink_expired});
    CHECK(hub.stats().subscribers == 0);
}

TEST_CASE("hub: kick, unsubscribe and shutdown")
{
    std::vector<std::uint64_t> subscribed;
    std::vector<sse::close_reason> hooked;
    sse::hub_options options;
    options.on_subscribe = [&](sse::subscriber const& s) { subscribed.push_back(s.id()); };
    options.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason why) { hooked.push_back(why); };
    sse::hub hub(options);
    auto sink_a = std::make_shared<recording_sink>();
    auto sink_b = std::make_shared<recording_sink>();
    auto sink_c = std::make_shared<recording_sink>();
    auto a = hub.subscribe(topics({"t"}), sink_a);
    auto b = hub.subscribe(topics({"t"}), sink_b);
    auto c = hub.subscribe(topics({"t"}), sink_c);
    CHECK(subscribed == std::vector<std::uint64_t>{1, 2, 3});

    hub.publish(data_event("1"), sse::audience::topic("t"));
    CHECK(hub.kick(a->id()));
    CHECK(!hub.kick(a->id()));
    CHECK(sink_a->closes == std::vector<sse::close_reason>{sse::close_reason::kicked});
    sse::pull_result r;
    CHECK(pull_all(*a, t0, &r).empty());   // a kick drops what was queued
    CHECK(r.closed);

    hub.unsubscribe(*b);
    hub.unsubscribe(*b);
    CHECK(sink_b->closes.empty());
    CHECK(b->ended() == sse::close_reason::unsubscribed);

    hub.publish(data_event("2"), sse::audience::topic("t"));
    hub.shutdown();
    hub.shutdown();
    CHECK(sink_c->closes == std::vector<sse::close_reason>{sse::close_reason::shutdown});
    CHECK(pull_data(*c, t0, &r) == std::vector<std::string>{"1", "2"});   // still flushable
    CHECK(r.closed);
    CHECK(hooked == std::vector<sse::close_reason>{
                        sse::close_reason::kicked, sse::close_reason::unsubscribed, sse::close_reason::shutdown});

    sse::error_code ec;
    CHECK(hub.subscribe({}, nullptr, ec) == nullptr);
    CHECK(ec == sse::error::hub_shut_down);
    hub.publish(data_event("3"), {}, {}, ec);
    CHECK(ec == sse::error::hub_shut_down);

    auto const st = hub.stats();
    CHECK(st.disconnected(sse::close_reason::kicked) == 1);
    CHECK(st.disconnected(sse::close_reason::unsubscribed) == 1);
    CHECK(st.disconnected(sse::close_reason::shutdown) == 1);
}

TEST_CASE("hub: unsubscribing keeps the indexes right")
{
    sse::hub hub;
    std::vector<std::shared_ptr<sse::subscriber>> subs;
    for (int i = 0; i < 8; ++i) {
        sse::subscriber_options o = topics({"all", i % 2 ? "odd" : "even", "t" + std::to_string(i)});
        o.user = i < 4 ? "low" : "high";
        subs.push_back(hub.subscribe(o));
    }
    for (int i : {0, 3, 5, 6})
        hub.unsubscribe(*subs[static_cast<std::size_t>(i)]);
    CHECK(hub.publish(data_event("x"), sse::audience::topic("all")).deliveries == 4);
    CHECK(hub.publish(data_event("x"), sse::audience::topic("odd")).deliveries == 2);
    CHECK(hub.publish(data_event("x"), sse::audience::topic("t7")).deliveries == 1);
    CHECK(hub.publish(data_event("x"), sse::audience::topic("t6")).deliveries == 0);
    CHECK(hub.publish(data_event("x"), sse::audience::user("low")).deliveries == 2);
    CHECK(hub.publish(data_event("x")).deliveries == 4);
    CHECK(subs[1]->queue_size() == 4);   // all, odd, low, all
    CHECK(subs[2]->queue_size() == 3);   // all, low, all
    CHECK(subs[4]->queue_size() == 2);   // all, all
    CHECK(subs[7]->queue_size() == 4);   // all, odd, t7, all

    auto const st = hub.stats();
    CHECK(st.subscribers == 4);
    CHECK(st.by_topic.at("all") == 4);
    CHECK(st.by_topic.at("odd") == 2);
    CHECK(st.by_topic.count("t0") == 0);
    CHECK(st.by_user.at("low") == 2);
    CHECK(st.by_user.at("high") == 2);
}

TEST_CASE("hub: stats count what happened")
{
    fixture f;
    sse::hub hub(f.options());
    auto a = hub.subscribe(topics({"t"}));
    auto b = hub.subscribe(topics({"t", "u"}));
    hub.publish(data_event("1"), sse::audience::topic("t"));
    hub.publish(data_event("22"), sse::audience::topic("u"));
    auto const st = hub.stats();
    CHECK(st.subscribers == 2);
    CHECK(st.subscribes == 2);
    CHECK(st.published == 2);
    CHECK(st.deliveries == 3);
    CHECK(st.queued_events == 3);
    CHECK(st.max_queue_events == 2);
    CHECK(st.queued_bytes == a->queue_bytes() + b->queue_bytes());
    CHECK(st.max_queue_bytes == b->queue_bytes());
    CHECK(st.replay_events == 2);
    CHECK(st.by_topic.at("u") == 1);
}

TEST_CASE("hub: subscribe with Last-Event-ID replays what was missed, routed and filtered")
{
    fixture f;
    sse::hub hub(f.options());
    hub.publish(data_event("1"), sse::audience::topic("t"));   // e-1
    hub.publish(data_event("2"), sse::audience::topic("t"));   // e-2
    hub.publish(data_event("3"), sse::audience::topic("other"));
    hub.publish(data_event("4"), sse::audience::user("bob"));
    hub.publish(data_event("5"), sse::audience::user("alice"));
    hub.publish(data_event("6"));
    hub.publish(data_event("skip"), sse::audience::topic("t"), "skip");

    sse::subscriber_options o = topics({"t"});
    o.user = "alice";
    o.last_event_id = "e-1";
    o.filter = [](sse::published_event const& e) { return e.key != "skip"; };
    auto s = hub.subscribe(o);
    hub.publish(data_event("live"), sse::audience::topic("t"));
    CHECK(pull_data(*s) == std::vector<std::string>{"2", "5", "6", "live"});
    CHECK(hub.stats().replayed == 3);

    o.last_event_id = "e-8";   // the newest: nothing to replay
    auto up_to_date = hub.subscribe(o);
    CHECK(up_to_date->queue_size() == 0);
}

TEST_CASE("hub: a resume the history cannot answer starts with a reset event")
{
    fixture f;
    auto options = f.options();
    options.replay.max_events = 2;
    sse::hub hub(options);
    for (int i = 0; i < 5; ++i)
        hub.publish(data_event(std::to_string(i)));

    struct
    {
        char const* last_id;
        char const* reason;
    } const cases[] = {{"e-1", "too_old"}, {"nope", "unknown"}, {"e-77", "unknown"}, {"zz-3", "foreign"}};
    for (auto const& c : cases) {
        CAPTURE(c.last_id);
        sse::subscriber_options o;
        o.last_event_id = c.last_id;
        auto s = hub.subscribe(o);
        CHECK(pull_all(*s) == std::vector<std::string>{std::string("id: e-5\nevent: reset\ndata: {\"reason\":\"") +
                                                      c.reason + "\",\"lastEventId\":\"" + c.last_id + "\"}\n\n"});
    }
    sse::subscriber_options o;
    o.last_event_id = "q\"\\\x01";
    auto s = hub.subscribe(o);
    CHECK(pull_all(*s)[0].find(R"("lastEventId":"q\"\\\u0001")") != std::string::npos);
    CHECK(hub.stats().resets == 5);

    o.last_event_id = "e-5";   // resuming from the reset's id works
    CHECK(hub.subscribe(o)->queue_size() == 0);
}

TEST_CASE("hub: foreign_id_policy::replay_epoch replays this epoch to an id from an earlier run")
{
    fixture f;
    auto options = f.options();
    options.foreign_ids = sse::foreign_id_policy::replay_epoch;
    options.replay.max_events = 3;
    sse::hub hub(options);
    hub.publish(data_event("to t"), sse::audience::topic("t"));
    hub.publish(data_event("to u"), sse::audience::topic("u"));

    sse::subscriber_options o;
    o.topics = {"t"};
    o.last_event_id = "oldrun-41";   // the previous run's id: everything since this run began
    auto s = hub.subscribe(o);
    CHECK(pull_data(*s) == std::vector<std::string>{"to t"});

    o.last_event_id = "e-2";   // this epoch's ids work as always
    CHECK(hub.subscribe(o)->queue_size() == 0);

    // Once the start of the epoch is evicted, the client may have missed events: reset.
    for (int i = 0; i < 3; ++i)
        hub.publish(data_event(std::to_string(i)));
    o.last_event_id = "oldrun-41";
    auto late = hub.subscribe(o);
    CHECK(pull_all(*late) == std::vector<std::string>{
        "id: e-5\nevent: reset\ndata: {\"reason\":\"too_old\",\"lastEventId\":\"oldrun-41\"}\n\n"});
}

TEST_CASE("hub: events_after looks replay up as subscribe would, without subscribing")
{
    fixture f;
    auto options = f.options();
    int subscribed = 0;
    int unsubscribed = 0;
    options.on_subscribe = [&](sse::subscriber const&) { ++subscribed; };
    options.on_unsubscribe = [&](sse::subscriber const&, sse::close_reason) { ++unsubscribed; };
    options.replay.max_events = 8;
    sse::hub hub(options);
    hub.publish(data_event("1"), sse::audience::topic("t"));   // e-1
    hub.publish(data_event("2"), sse::audience::topic("t"));
    hub.publish(data_event("3"), sse::audience::topic("other"));
    hub.publish(data_event("4"), sse::audience::user("bob"));
    hub.publish(data_event("5"), sse::audience::user("alice"));
    hub.publish(data_event("6"));
    hub.publish(data_event("skip"), sse::audience::topic("t"), "skip");   // e-7
    auto const before = hub.stats();

    sse::subscriber_options o = topics({"t"});
    o.user = "alice";
    o.filter = [](sse::published_event const& e) { return e.key != "skip"; };
    o.last_event_id = "e-6";   // ignored: the id is the first argument
    auto const found = hub.events_after("e-1", o);
    std::vector<std::string> data;
    for (auto const& e : found.events)
        data.push_back(e->data.value_or("?"));
    CHECK(data == std::vector<std::string>{"2", "5", "6"});
    REQUIRE(found.events.size() == 3);
    CHECK(found.events[0]->id == "e-2");
    CHECK(!found.reset);
    CHECK(found.newest_id == "e-7");

    // The same events a subscription would be replayed.
    auto s = hub.subscribe([&] { auto w = o; w.last_event_id = "e-1"; return w; }());
    CHECK(pull_data(*s) == std::vector<std::string>{"2", "5", "6"});
    hub.unsubscribe(*s);
    subscribed = unsubscribed = 0;
    auto const with_one = hub.stats();

    // An id the history cannot place: no events, the reason, and where to resume.
    for (char const* id : {"nope", "zz-3"}) {
        CAPTURE(id);
        auto const r = hub.events_after(id, topics({"t"}));
        CHECK(r.events.empty());
        CHECK(r.reset);
        CHECK(r.newest_id == "e-7");
    }
    CHECK(hub.events_after("zz-3").reset == sse::error::foreign_event_id);
    CHECK(hub.events_after("nope").reset == sse::error::unknown_event_id);
    auto const none = hub.events_after("");
    CHECK(none.events.empty());
    CHECK(!none.reset);
    CHECK(none.newest_id == "e-7");

    // Nothing registered, no callback, no counter moved.
    auto const after = hub.stats();
    CHECK(subscribed == 0);
    CHECK(unsubscribed == 0);
    CHECK(after.subscribers == 0);
    CHECK(after.subscribes == with_one.subscribes);
    CHECK(after.subscribes == before.subscribes + 1);
    CHECK(after.replayed == with_one.replayed);
    CHECK(after.resets == with_one.resets);
    CHECK(after.disconnects == with_one.disconnects);

    // hub_options::foreign_ids applies as in subscribe().
    auto epoch_options = f.options();
    epoch_options.foreign_ids = sse::foreign_id_policy::replay_epoch;
    sse::hub epoch_hub(epoch_options);
    epoch_hub.publish(data_event("to t"), sse::audience::topic("t"));
    epoch_hub.publish(data_event("to u"), sse::audience::topic("u"));
    auto const resumed = epoch_hub.events_after("oldrun-41", topics({"t"}));
    CHECK(!resumed.reset);
    REQUIRE(resumed.events.size() == 1);
    CHECK(resumed.events[0]->data == "to t");

    // The events stay valid once the history has dropped them.
    for (int i = 0; i < 10; ++i)
        hub.publish(data_event("more"));
    CHECK(found.events[2]->data == "6");

    hub.shutdown();
    sse::error_code ec;
    hub.events_after("e-1", {}, ec);
    CHECK(ec == sse::error::hub_shut_down);
}

namespace docs_poll_example {

// The events_after example of docs/hub.md, verbatim between the markers.
template<class Send>
void poll(sse::hub& hub, std::string& since, Send send)
{
    // --- docs/hub.md
    sse::subscriber_options who;   // topics, user and filter, as for subscribe(); last_event_id is ignored
    who.topics = {"orders"};
    sse::replay_lookup found = hub.events_after(since, who);
    if (found.reset)               // too_old, unknown_event_id or foreign_event_id: resynchronise
        since = found.newest_id;
    for (auto const& e : found.events)   // shared_ptr<published_event const>: id, type, data, ...
        send(e->id, e->type, e->data);
    // --- end
    if (!found.events.empty())
        since = found.events.back()->id;
}

} // namespace docs_poll_example

TEST_CASE("hub: the docs/hub.md polling example works as written")
{
    fixture f;
    sse::hub hub(f.options());
    std::string since = hub.newest_id();
    hub.publish(data_event("o"), sse::audience::topic("orders"));
    hub.publish(data_event("x"), sse::audience::topic("other"));
    std::vector<std::string> got;
    auto const send = [&](std::string const& id, std::string const&, std::optional<std::string> const& data) {
        got.push_back(id + "=" + data.value_or(""));
    };
    docs_poll_example::poll(hub, since, send);
    CHECK(got == std::vector<std::string>{"e-1=o"});
    CHECK(since == "e-1");
    since = "nonsense";
    docs_poll_example::poll(hub, since, send);
    CHECK(since == "e-2");
}

TEST_CASE("hub: an idle subscriber is small and owns no queue storage")
{
    sse::hub hub;
    auto s = hub.subscribe(topics({"t"}));
    CHECK(s->queue_capacity() == 0);
    // A filter and throttling live apart (subscriber::extras); the lock is four bytes (detail::small_mutex).
    CHECK(sizeof(sse::subscriber) <= 184);
    MESSAGE("sizeof(sse::subscriber) = " << sizeof(sse::subscriber));
    hub.publish(data_event("x"), sse::audience::topic("t"));
    CHECK(s->queue_capacity() == 1);   // one slot: what one event needs
    pull_all(*s);
    CHECK(s->queue_capacity() == 0);   // idle again: nothing held between events
    for (int i = 0; i < 200; ++i)
        hub.publish(data_event("x"), sse::audience::topic("t"));
    CHECK(s->queue_capacity() == 256);
    pull_all(*s);
    CHECK(s->queue_capacity() == 0);   // a drained burst gives its memory back
}

TEST_CASE("hub: a publish wakes its sinks inline when the publishing thread has time to spare")
{
    // A sink whose inline wake takes at least 300 ms: two of them a second are
    // more than half of this thread's time, one is less.
    struct slow_sink : recording_sink
    {
        bool wake_inline() noexcept override
        {
            std::this_thread::sleep_for(300ms);
            return recording_sink::wake_inline();
        }
    };
    fixture f;
    sse::hub hub(f.options());
    auto sink = std::make_shared<slow_sink>();
    auto sub = hub.subscribe({}, sink);
    pull_all(*sub);

    // Nothing measured yet: inline, and the hub learns what an inline wake takes.
    hub.publish(data_event("first"));
    CHECK(sink->wakes == 1);
    CHECK(sink->inline_wakes == 1);
    pull_all(*sub);

    // A second event at the same instant: two a second, at 300 ms each, leave no time to spare.
    hub.publish(data_event("at once"));
    CHECK(sink->wakes == 2);
    CHECK(sink->inline_wakes == 1);
    pull_all(*sub);

    // An hour later the rate is one event in the last second: 300 ms is less than half of it.
    *f.now += 1h;
    hub.publish(data_event("later"));
    CHECK(sink->wakes == 3);
    CHECK(sink->inline_wakes == 2);
    pull_all(*sub);

    // A kick's close is never inline.
    *f.now += 1h;
    CHECK(hub.kick(sub->id()));
    CHECK(sink->inline_wakes == 2);
    CHECK(sink->closes == std::vector<sse::close_reason>{sse::close_reason::kicked});
}

// A sink whose next inline wake, once, takes `stall` longer: a publishing
// thread preempted, or a machine slow for a moment.
struct stalling_sink : recording_sink
{
    std::chrono::milliseconds stall{};
    bool wake_inline() noexcept override
    {
        if (auto const d = std::exchange(stall, std::chrono::milliseconds::zero()); d.count() > 0)
            std::this_thread::sleep_for(d);
        return recording_sink::wake_inline();
    }
};

TEST_CASE("hub: one fan-out that waited for the core does not hand the next ones to the sinks' threads")
{
    // A publishing thread preempted once, as it is where a server shares its
    // core: one wake of one fan-out waits 100 ms. Events come 80 ms apart and
    // their inline wakes are otherwise quick. What the hub expects an inline
    // fan-out to take is a moving average over fan-outs, in which one slow
    // fan-out does not decide alone, whichever of its steps was slow.
    fixture f;
    sse::hub hub(f.options());
    std::vector<std::shared_ptr<stalling_sink>> sinks;
    std::vector<std::shared_ptr<sse::subscriber>> subs;
    for (int i = 0; i < 64; ++i) {   // several steps of a fan-out (detail::fanout_step)
        sinks.push_back(std::make_shared<stalling_sink>());
        subs.push_back(hub.subscribe({}, sinks.back()));
        pull_all(*subs.back());
    }
    // Publishes one event 80 ms after the previous; returns how many sinks it woke inline.
    auto const publish = [&](int i) {
        int before = 0;
        for (auto const& k : sinks)
            before += k->inline_wakes;
        *f.now += 80ms;
        hub.publish(data_event(std::to_string(i)));
        int after = 0;
        for (auto const& k : sinks)
            after += k->inline_wakes;
        for (auto const& s : subs)
            pull_all(*s);
        return after - before;
    };
    for (int i = 0; i < 4; ++i)
        CHECK(publish(i) == 64);
    // The first subscriber's wake comes last, in a fan-out's last step.
    sinks.front()->stall = 100ms;
    CHECK(publish(4) == 64);
    CHECK(sinks.front()->stall == 0ms);   // it did stall
    for (int i = 5; i < 8; ++i) {
        CAPTURE(i);
        CHECK(publish(i) == 64);
    }
    CHECK(hub.stats().inline_fanouts == 8);
}

TEST_CASE("hub: what an inline wake takes is measured again while events go to the sinks' threads")
{
    // An inline wake that took 380 ms once (a machine slow for a moment), then
    // quick ones, events 950 ms apart. At that measure the gap leaves the time
    // (2 x 380 ms < 950 ms) but the rate of the last second or so does not:
    // events go to the sinks' threads. The measure would then never change; the
    // hub takes it again once it is a second old, on one event, and from the new
    // measure the rate lets events back on the publishing thread.
    fixture f;
    sse::hub hub(f.options());
    auto sink = std::make_shared<stalling_sink>();
    sink->stall = 380ms;
    auto sub = hub.subscribe({}, sink);
    pull_all(*sub);
    std::string went;   // per event: 'i' written inline, '-' handed to the sink's thread
    for (int i = 0; i < 12; ++i) {
        int const before = sink->inline_wakes;
        hub.publish(data_event(std::to_string(i)));
        went += sink->inline_wakes > before ? 'i' : '-';
        CHECK(sink->wakes == i + 1);
        pull_all(*sub);
        *f.now += 950ms;
    }
    CAPTURE(went);
    CHECK(went[0] == 'i');   // nothing measured yet
    CHECK(went[1] == '-');   // 380 ms, at a rate of 1.39 a second
    CHECK(went[2] == 'i');   // measured again: 1.9 s since the last
    CHECK(went[3] == '-');   // the average is still high, and the last measure 0.95 s old
    CHECK(went.substr(9) == "iii");   // the average came down
    // Never two in a row off the thread: the second comes 1.9 s after the last measure.
    CHECK(went.find("--") == std::string::npos);
}

TEST_CASE("hub: hub_options::inline_wakes forces inline wakes, or forbids them")
{
    for (auto const policy : {sse::inline_wake_policy::always, sse::inline_wake_policy::never}) {
        bool const always = policy == sse::inline_wake_policy::always;
        CAPTURE(always);
        fixture f;
        auto o = f.options();
        o.inline_wakes = policy;
        sse::hub hub(std::move(o));
        auto sink = std::make_shared<recording_sink>();
        auto sub = hub.subscribe({}, sink);
        pull_all(*sub);
        for (int i = 0; i < 3; ++i) {
            if (i == 2)
                *f.now += 1h;
            hub.publish(data_event(std::to_string(i)));
            pull_all(*sub);
        }
        CHECK(sink->wakes == 3);
        CHECK(sink->inline_wakes == (always ? 3 : 0));
    }
}
