#include <sse/hub.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"
#include "support/recording_sink.hpp"
#include "support/scripted_log.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace doctest {
template<>
struct StringMaker<std::vector<std::string>>
{
    static String convert(std::vector<std::string> const& v)
    {
        std::string s = "{";
        for (auto const& x : v)
            s += (s.size() > 1 ? ", \"" : "\"") + x + "\"";
        return (s + "}").c_str();
    }
};
} // namespace doctest

namespace {

using time_point = sse::hub::clock::time_point;
time_point const t0 = time_point{} + 1h;
using scripted_log = support::scripted_log;

using support::data_event;

using support::recording_sink;

// A hub on a scripted log, with a clock the test holds still.
struct fixture
{
    std::shared_ptr<scripted_log> log = std::make_shared<scripted_log>("log1");

    sse::hub_options options(std::size_t history = 8)
    {
        sse::hub_options o;
        o.backplane = log;
        o.replay.max_events = history;
        o.replay.max_age = {};
        o.clock = [] { return t0; };
        return o;
    }
};

// Each pulled message in short: "<id>:<data>", or "<id>:reset:<data>" for a reset.
std::vector<std::string> pull_short(sse::subscriber& s, sse::pull_result* result = nullptr)
{
    std::vector<sse::event_buffer> out;
    auto const r = s.pull(out, std::size_t(-1), t0);
    if (result != nullptr)
        *result = r;
    std::vector<std::string> got;
    for (auto const& b : out) {
        std::string id, type, data;
        std::string_view rest(*b);
        while (!rest.empty()) {
            auto const nl = rest.find('\n');
            auto const line = rest.substr(0, nl);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            auto const field = [&](std::string_view name) {
                return line.substr(0, name.size()) == name ? std::string(line.substr(name.size())) : std::string();
            };
            if (line.rfind("id: ", 0) == 0)
                id = field("id: ");
            else if (line.rfind("event: ", 0) == 0)
                type = field("event: ");
            else if (line.rfind("data: ", 0) == 0)
                data = field("data: ");
        }
        got.push_back(id + ":" + (type.empty() ? "" : type + ":") + data);
    }
    return got;
}

std::string reset(std::string const& id, std::string const& reason, std::string const& last)
{
    return id + ":reset:{\"reason\":\"" + reason + "\",\"lastEventId\":\"" + last + "\"}";
}

using list = std::vector<std::string>;

sse::subscriber_options topics_of(std::vector<std::string> topics)
{
    sse::subscriber_options o;
    o.topics = std::move(topics);
    return o;
}

sse::subscriber_options resume_from(std::string id, std::vector<std::string> topics = {})
{
    sse::subscriber_options o;
    o.last_event_id = std::move(id);
    o.topics = std::move(topics);
    return o;
}

} // namespace

TEST_CASE("hub backplane: the hub starts its backplane with the history size, and stops it once")
{
    fixture f;
    {
        sse::hub hub(f.options(5));
        CHECK(f.log->starts() == 1);
        CHECK(f.log->tail_size() == 5);
        CHECK(f.log->stops() == 0);
        hub.shutdown();
        CHECK(f.log->stops() == 1);
    }
    CHECK(f.log->stops() == 1);
    {
        sse::hub hub(f.options());
    }
    CHECK(f.log->stops() == 2);
}

TEST_CASE("hub backplane: a publish goes to the log and is delivered only when the log hands it back")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto sink = std::make_shared<recording_sink>();
    sse::subscriber_options o;
    o.topics = {"news"};
    auto s = hub.subscribe(o, sink);

    auto const r = hub.publish(data_event("a"), sse::audience::topic("news"), "k1");
    CHECK(r.id.empty());   // the id is the log's to give
    CHECK(r.deliveries == 0);
    auto const sent = f.log->published();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].ev.data == "a");
    CHECK(sent[0].to.kind() == sse::audience_kind::topics);
    CHECK(sent[0].to.topic_names() == list{"news"});
    CHECK(sent[0].key == "k1");
    CHECK(sent[0].epoch == "log1");
    CHECK(sent[0].idempotency_key.empty());

    CHECK(pull_short(*s).empty());
    CHECK(sink->wakes == 0);
    CHECK(hub.stats().published == 0);
    CHECK(hub.newest_id() == "log1-0");

    CHECK(f.log->deliver() == 1);
    CHECK(sink->wakes == 1);
    CHECK(pull_short(*s) == list{"log1-1:a"});
    CHECK(hub.newest_id() == "log1-1");
    auto const st = hub.stats();
    CHECK(st.published == 1);
    CHECK(st.deliveries == 1);
    CHECK(st.log_position == 1);
}

TEST_CASE("hub backplane: publish_async reports the log's id, or the publisher's own")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    f.log->append(data_event("other node"));

    sse::error_code got_ec = sse::error::unknown_event_id;
    std::string got_id;
    int calls = 0;
    auto const done = [&](sse::error_code ec, sse::publish_result r) {
        got_ec = ec;
        got_id = r.id;
        ++calls;
    };
    sse::publish_options po;
    po.key = "k";
    po.idempotency_key = "once";
    hub.publish_async(data_event("a"), {}, po, done);
    CHECK(calls == 1);
    CHECK(got_ec == sse::error_code{});
    CHECK(got_id == "log1-2");
    REQUIRE(f.log->published().size() == 1);
    CHECK(f.log->published()[0].idempotency_key == "once");
    CHECK(f.log->published()[0].key == "k");

    // A retry with the same key is answered with the first position.
    hub.publish_async(data_event("a"), {}, po, done);
    CHECK(calls == 2);
    CHECK(got_id == "log1-2");
    CHECK(f.log->head() == 2);

    sse::event own = data_event("b");
    own.id = "my-id";
    hub.publish_async(own, {}, {}, done);
    CHECK(calls == 3);
    CHECK(got_id == "my-id");

    // The own id is what subscribers get, at the log's position.
    auto s = hub.subscribe({});
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log1-1:other node", "log1-2:a", "my-id:b"});
    CHECK(hub.newest_id() == "log1-3");
    CHECK(hub.events_after("my-id").events.empty());
    CHECK(hub.events_after("log1-2").events.size() == 1);
}

TEST_CASE("hub backplane: publish_async without a backplane publishes and reports inline")
{
    sse::hub_options o;
    o.epoch = "e";
    sse::hub hub(o);
    auto s = hub.subscribe({});
    sse::publish_result got;
    int calls = 0;
    hub.publish_async(data_event("a"), {}, {}, [&](sse::error_code ec, sse::publish_result r) {
        CHECK(ec == sse::error_code{});
        got = r;
        ++calls;
    });
    CHECK(calls == 1);
    CHECK(got.id == "e-1");
    CHECK(got.deliveries == 1);
    CHECK(s->queue_size() == 1);
}

TEST_CASE("hub backplane: a log that cannot be reached fails the publish at once, and nothing is queued")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s = hub.subscribe({});
    f.log->set_mode(scripted_log::publish_mode::fail_inline);

    sse::error_code ec;
    auto const r = hub.publish(data_event("a"), {}, {}, ec);
    CHECK(ec == sse::error::backplane_unavailable);
    CHECK(ec == sse::condition::recoverable);
    CHECK(r.id.empty());
    CHECK_THROWS_AS(hub.publish(data_event("a")), std::system_error);

    bool called = false;
    hub.publish_async(data_event("b"), {}, {}, [&](sse::error_code e, sse::publish_result) {
        CHECK(e == sse::error::backplane_unavailable);
        called = true;
    });
    CHECK(called);   // inline

    CHECK(f.log->deliver() == 0);
    CHECK(pull_short(*s).empty());
    CHECK(hub.stats().published == 0);
}

TEST_CASE("hub backplane: a matching audience or an event that cannot be sent is refused before the log")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();

    sse::error_code ec;
    hub.publish(data_event("a"), sse::audience::matching([](sse::subscriber const&) { return true; }), {}, ec);
    CHECK(ec == sse::error::audience_not_shareable);

    sse::event bad = data_event("a");
    bad.id = "two\nlines";
    hub.publish(bad, {}, {}, ec);
    CHECK(ec == sse::validate(bad));
    CHECK(ec);

    sse::error_code async_ec;
    hub.publish_async(data_event("a"), sse::audience::matching([](sse::subscriber const&) { return true; }), {},
        [&](sse::error_code e, sse::publish_result) { async_ec = e; });
    CHECK(async_ec == sse::error::audience_not_shareable);
    CHECK(f.log->published().empty());

    hub.shutdown();
    hub.publish(data_event("a"), {}, {}, ec);
    CHECK(ec == sse::error::hub_shut_down);
    CHECK(f.log->published().empty());
}

TEST_CASE("hub backplane: every subscriber sees the log's order, whoever published")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    sse::subscriber_options both;
    both.topics = {"a"};
    both.user = "ann";
    auto all = hub.subscribe(both);
    sse::subscriber_options a;
    a.topics = {"a"};
    auto only_a = hub.subscribe(a);
    sse::subscriber_options u;
    u.user = "ann";
    auto ann = hub.subscribe(u);

    f.log->append(data_event("1"), sse::audience::topic("a"));   // another node
    hub.publish(data_event("2"), sse::audience::user("ann"));
    f.log->append(data_event("3"));
    hub.publish(data_event("4"), sse::audience::topic("a"));
    f.log->deliver();

    CHECK(pull_short(*all) == list{"log1-1:1", "log1-2:2", "log1-3:3", "log1-4:4"});
    CHECK(pull_short(*only_a) == list{"log1-1:1", "log1-3:3", "log1-4:4"});
    CHECK(pull_short(*ann) == list{"log1-2:2", "log1-3:3"});
}

TEST_CASE("hub backplane: a batch handed over twice is delivered once")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s = hub.subscribe({});
    for (char c : std::string("abc"))
        f.log->append(data_event(std::string(1, c)));
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log1-1:a", "log1-2:b", "log1-3:c"});

    f.log->hand({f.log->entry(1), f.log->entry(2), f.log->entry(3)});
    CHECK(pull_short(*s).empty());
    f.log->append(data_event("d"));
    f.log->hand({f.log->entry(2), f.log->entry(3), f.log->entry(4)});
    CHECK(pull_short(*s) == list{"log1-4:d"});
    auto const st = hub.stats();
    CHECK(st.published == 4);
    CHECK(st.log_resets == 0);
    CHECK(st.resets == 0);
}

TEST_CASE("hub backplane: entries lost in between reset every subscriber, then delivery continues")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s1 = hub.subscribe(topics_of({"a"}));
    sse::subscriber_options b;
    b.topics = {"b"};
    auto s2 = hub.subscribe(b);   // follows nothing of what is published: reset all the same
    f.log->append(data_event("a"), sse::audience::topic("a"));
    f.log->append(data_event("b"), sse::audience::topic("a"));
    f.log->deliver();
    CHECK(pull_short(*s1) == list{"log1-1:a", "log1-2:b"});

    f.log->append(data_event("lost"), sse::audience::topic("a"));
    f.log->append(data_event("lost too"), sse::audience::topic("a"));
    f.log->skip_to(4);
    f.log->append(data_event("e"), sse::audience::topic("a"));
    f.log->deliver();   // hands 5 only

    CHECK(pull_short(*s1) == list{reset("log1-4", "gap", "log1-2"), "log1-5:e"});
    CHECK(pull_short(*s2) == list{reset("log1-4", "gap", "log1-2")});
    auto st = hub.stats();
    CHECK(st.log_resets == 1);
    CHECK(st.resets == 2);
    CHECK(st.log_position == 5);

    // The history restarted before 5: older ids are too old for a poll.
    CHECK(hub.newest_id() == "log1-5");
    CHECK(hub.events_after("log1-4", topics_of({"a"})).events.size() == 1);
    CHECK(hub.events_after("log1-2").reset == sse::error::event_id_too_old);

    f.log->append(data_event("f"), sse::audience::topic("a"));
    f.log->deliver();
    CHECK(pull_short(*s1) == list{"log1-6:f"});
    CHECK(pull_short(*s2).empty());
}

TEST_CASE("hub backplane: a new epoch resets every subscriber with the new epoch's id and restarts the history")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s = hub.subscribe({});
    f.log->append(data_event("a"));
    f.log->append(data_event("b"));
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log1-1:a", "log1-2:b"});

    f.log->new_epoch("log2");
    f.log->append(data_event("x"));
    f.log->append(data_event("y"));
    f.log->sync();
    CHECK(pull_short(*s) == list{reset("log2-2", "epoch", "log1-2")});
    CHECK(hub.epoch() == "log2");
    CHECK(hub.newest_id() == "log2-2");
    auto st = hub.stats();
    CHECK(st.log_resets == 1);
    CHECK(st.resets == 1);
    CHECK(st.log_position == 2);

    // The history is the new epoch's tail.
    auto from_new = hub.subscribe(resume_from("log2-1"));
    CHECK(pull_short(*from_new) == list{"log2-2:y"});
    auto from_old = hub.subscribe(resume_from("log1-2"));
    CHECK(pull_short(*from_old) == list{reset("log2-2", "foreign", "log1-2")});

    // Publishes now name the new epoch.
    hub.publish(data_event("z"));
    CHECK(f.log->published().back().epoch == "log2");
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log2-3:z"});
}

TEST_CASE("hub backplane: a log that went back resets every subscriber")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s = hub.subscribe({});
    for (int i = 1; i <= 5; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();
    CHECK(pull_short(*s).size() == 5);

    f.log->roll_back(3);   // restored from a snapshot taken at 3
    f.log->sync();
    CHECK(pull_short(*s) == list{reset("log1-3", "epoch", "log1-5")});
    CHECK(hub.newest_id() == "log1-3");
    CHECK(hub.stats().log_resets == 1);

    f.log->append(data_event("new 4"));
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log1-4:new 4"});
}

TEST_CASE("hub backplane: a resync of the same log delivers what was missed, or resets if the tail is too short")
{
    fixture f;
    sse::hub hub(f.options(3));
    f.log->sync();
    auto s = hub.subscribe({});
    f.log->append(data_event("a"));
    f.log->deliver();
    CHECK(pull_short(*s) == list{"log1-1:a"});

    SUBCASE("continued")
    {
        f.log->append(data_event("b"));
        f.log->append(data_event("c"));
        f.log->sync();   // reconnected: 2 and 3 come in the tail
        CHECK(pull_short(*s) == list{"log1-2:b", "log1-3:c"});
        f.log->sync();   // nothing new
        CHECK(pull_short(*s).empty());
        CHECK(hub.stats().log_resets == 0);
        CHECK(hub.stats().log_position == 3);
    }
    SUBCASE("missed more than the tail holds")
    {
        for (int i = 2; i <= 6; ++i)
            f.log->append(data_event(std::to_string(i)));
        f.log->sync();   // tail: 4, 5, 6
        CHECK(pull_short(*s) == list{reset("log1-6", "gap", "log1-1")});
        CHECK(hub.stats().log_resets == 1);
        auto r = hub.subscribe(resume_from("log1-4"));
        CHECK(pull_short(*r) == list{"log1-5:5", "log1-6:6"});
    }
}

TEST_CASE("hub backplane: subscribers before the first sync wait for it, then resume from the tail")
{
    fixture f;
    for (char c : std::string("abc"))
        f.log->append(data_event(std::string(1, c)));
    sse::hub hub(f.options());

    auto sink1 = std::make_shared<recording_sink>();
    auto s1 = hub.subscribe(resume_from("log1-1"), sink1);
    auto sink2 = std::make_shared<recording_sink>();
    auto s2 = hub.subscribe({}, sink2);
    auto s3 = hub.subscribe(resume_from("elsewhere-9"));
    auto gone = hub.subscribe(resume_from("log1-1"));
    hub.unsubscribe(*gone);

    sse::pull_result r;
    CHECK(pull_short(*s1, &r).empty());
    CHECK(!r.closed);
    f.log->deliver();   // entries before the first sync: nothing to continue from
    CHECK(pull_short(*s1).empty());
    CHECK(hub.stats().published == 0);
    CHECK(sink1->wakes == 0);

    f.log->sync();
    CHECK(sink1->wakes == 1);
    CHECK(sink2->wakes == 1);
    CHECK(pull_short(*s1) == list{"log1-2:b", "log1-3:c"});
    CHECK(pull_short(*s2).empty());
    CHECK(pull_short(*s3) == list{reset("log1-3", "foreign", "elsewhere-9")});
    CHECK(pull_short(*gone).empty());
    CHECK(hub.stats().replayed == 2);

    f.log->append(data_event("d"));
    f.log->deliver();
    CHECK(pull_short(*s1) == list{"log1-4:d"});
    CHECK(pull_short(*s2) == list{"log1-4:d"});
}

TEST_CASE("hub backplane: a gated subscriber ended by shutdown has nothing to flush")
{
    fixture f;
    sse::hub hub(f.options());
    auto sink = std::make_shared<recording_sink>();
    auto s = hub.subscribe({}, sink);
    hub.shutdown();
    sse::pull_result r;
    CHECK(pull_short(*s, &r).empty());
    CHECK(r.closed);
    REQUIRE(sink->closes.size() == 1);
    CHECK(sink->closes[0] == sse::close_reason::shutdown);
}

TEST_CASE("hub backplane: a resume within the history is served from memory")
{
    fixture f;
    sse::hub hub(f.options(4));
    f.log->sync();
    for (int i = 1; i <= 6; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();
    auto s = hub.subscribe(resume_from("log1-3"));
    CHECK(pull_short(*s) == list{"log1-4:4", "log1-5:5", "log1-6:6"});
    CHECK(f.log->reads() == 0);
    CHECK(hub.stats().history_reads == 0);
}

TEST_CASE("hub backplane: a resume from before the history reads the log; its entries come first, then live ones")
{
    fixture f;
    sse::hub hub(f.options(3));
    f.log->sync();
    for (int i = 1; i <= 6; ++i)   // odd ones to topic a, even ones to b
        f.log->append(data_event(std::to_string(i)), sse::audience::topic(i % 2 ? "a" : "b"));
    f.log->deliver();   // the history keeps 4, 5, 6

    SUBCASE("answered at once")
    {
        auto sink = std::make_shared<recording_sink>();
        auto s = hub.subscribe(resume_from("log1-1", {"a", "b"}), sink);
        CHECK(f.log->reads() == 1);
        CHECK(pull_short(*s) == list{"log1-2:2", "log1-3:3", "log1-4:4", "log1-5:5", "log1-6:6"});
        f.log->append(data_event("7"), sse::audience::topic("a"));
        f.log->deliver();
        CHECK(pull_short(*s) == list{"log1-7:7"});
    }
    SUBCASE("answered after live entries arrived")
    {
        f.log->hold_reads(true);
        auto sink = std::make_shared<recording_sink>();
        auto s = hub.subscribe(resume_from("log1-1", {"a"}), sink);
        auto other = hub.subscribe(resume_from("log1-1", {"a", "b"}));
        CHECK(f.log->held_reads() == 2);
        CHECK(hub.stats().history_reads == 2);

        f.log->append(data_event("7"), sse::audience::topic("a"));
        f.log->append(data_event("8"), sse::audience::topic("b"));
        f.log->append(data_event("9"), sse::audience::topic("a"));
        f.log->deliver();
        sse::pull_result r;
        CHECK(pull_short(*s, &r).empty());   // waits for the read
        CHECK(!r.closed);
        CHECK(sink->wakes == 0);

        CHECK(f.log->answer_reads() == 2);
        CHECK(sink->wakes == 1);
        // Routed and filtered as live: topic a only. No gap, nothing twice.
        CHECK(pull_short(*s) == list{"log1-3:3", "log1-5:5", "log1-7:7", "log1-9:9"});
        CHECK(pull_short(*other) ==
              list{"log1-2:2", "log1-3:3", "log1-4:4", "log1-5:5", "log1-6:6", "log1-7:7", "log1-8:8", "log1-9:9"});

        f.log->append(data_event("10"), sse::audience::topic("b"));
        f.log->deliver();
        CHECK(pull_short(*other) == list{"log1-10:10"});
        CHECK(pull_short(*s).empty());
    }
    CHECK(hub.stats().resets == 0);
}

TEST_CASE("hub backplane: a history read that cannot close the gap puts a reset in front")
{
    fixture f;
    sse::hub hub(f.options(3));
    f.log->sync();
    for (int i = 1; i <= 6; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();   // history: 4, 5, 6
    f.log->hold_reads(true);
    auto s = hub.subscribe(resume_from("log1-1"));
    f.log->append(data_event("7"));
    f.log->deliver();

    SUBCASE("trimmed: the log answers short")
    {
        f.log->trim_to(2);
        f.log->answer_reads();
    }
    SUBCASE("an error")
    {
        f.log->answer_reads([](auto const&, auto, auto, sse::error_code& ec, auto&) {
            ec = sse::error::backplane_unavailable;
        });
    }
    SUBCASE("another epoch")
    {
        f.log->new_epoch("log2");
        f.log->answer_reads();
    }
    SUBCASE("entries out of place")
    {
        f.log->answer_reads([&](auto const&, auto, auto, sse::error_code&, std::vector<sse::log_entry>& got) {
            got = {f.log->entry(3), f.log->entry(2)};
        });
    }
    CHECK(pull_short(*s) == list{reset("log1-3", "too_old", "log1-1"), "log1-4:4", "log1-5:5", "log1-6:6", "log1-7:7"});
    CHECK(hub.stats().resets == 1);
}

TEST_CASE("hub backplane: a subscriber that ends during a history read is left alone by the answer")
{
    fixture f;
    sse::hub hub(f.options(2));
    f.log->sync();
    for (int i = 1; i <= 5; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();
    f.log->hold_reads(true);
    auto sink = std::make_shared<recording_sink>();
    auto s = hub.subscribe(resume_from("log1-1"), sink);
    auto const replayed = hub.stats().replayed;

    SUBCASE("unsubscribed")
    {
        hub.unsubscribe(*s);
        f.log->answer_reads();
        CHECK(s->ended() == sse::close_reason::unsubscribed);
    }
    SUBCASE("kicked")
    {
        CHECK(hub.kick(s->id()));
        f.log->answer_reads();
        CHECK(s->ended() == sse::close_reason::kicked);
    }
    SUBCASE("released")
    {
        std::weak_ptr<sse::subscriber> weak = s;
        hub.unsubscribe(*s);
        s.reset();
        CHECK(weak.expired());
        f.log->answer_reads();
    }
    if (s != nullptr)
        CHECK(pull_short(*s).empty());
    CHECK(sink->wakes == 0);
    CHECK(hub.stats().replayed == replayed);
    CHECK(hub.stats().subscribers == 0);
}

TEST_CASE("hub backplane: a gated subscriber keeps its budget while it waits")
{
    fixture f;
    auto o = f.options(2);
    o.queue.max_bytes = 64;
    sse::hub hub(o);
    f.log->sync();
    for (int i = 1; i <= 4; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();
    f.log->hold_reads(true);
    auto sink = std::make_shared<recording_sink>();
    auto s = hub.subscribe(resume_from("log1-1"), sink);
    f.log->append(data_event(std::string(100, 'x')));
    f.log->deliver();
    CHECK(s->ended() == sse::close_reason::slow_consumer);
    REQUIRE(sink->closes.size() == 1);
    f.log->answer_reads();   // finds it gone
    CHECK(hub.stats().disconnected(sse::close_reason::slow_consumer) == 1);
}

TEST_CASE("hub backplane: polls answer from the history only")
{
    fixture f;
    sse::hub hub(f.options(2));
    f.log->sync();
    for (int i = 1; i <= 4; ++i)
        f.log->append(data_event(std::to_string(i)));
    f.log->deliver();
    auto const r = hub.events_after("log1-1");
    CHECK(r.reset == sse::error::event_id_too_old);
    CHECK(r.newest_id == "log1-4");
    CHECK(f.log->reads() == 0);
    CHECK(hub.events_after("log1-2").events.size() == 2);
}

TEST_CASE("hub backplane: the receiver's state and position show in the stats")
{
    fixture f;
    sse::hub hub(f.options());
    CHECK(hub.stats().log_state == sse::backplane_state::connecting);
    f.log->receiver()->state(sse::backplane_state::connected);
    CHECK(hub.stats().log_state == sse::backplane_state::connected);
    f.log->append(data_event("a"));
    f.log->sync();
    CHECK(hub.stats().log_position == 1);
    f.log->receiver()->state(sse::backplane_state::disconnected, sse::error::backplane_unavailable);
    CHECK(hub.stats().log_state == sse::backplane_state::disconnected);
    // Open streams stay; new ones are served from the history.
    auto s = hub.subscribe(resume_from("log1-0"));
    CHECK(pull_short(*s) == list{"log1-1:a"});
}

TEST_CASE("hub backplane: a sync with an epoch ids cannot carry is ignored")
{
    fixture f;
    sse::hub hub(f.options());
    auto s = hub.subscribe({});
    f.log->receiver()->synced("Not-An-Epoch", 3, {});
    f.log->receiver()->synced(std::string(33, 'a'), 3, {});
    CHECK(hub.stats().log_position == 0);
    f.log->receiver()->synced(std::string(32, 'a'), 3, {});
    CHECK(hub.newest_id() == std::string(32, 'a') + "-3");
    sse::log_entry e;
    e.seq = 4;
    e.ev = data_event("d");
    f.log->hand({e});
    CHECK(pull_short(*s) == list{std::string(32, 'a') + "-4:d"});
}

TEST_CASE("hub backplane: an entry that cannot be sent keeps its position as a comment")
{
    fixture f;
    sse::hub hub(f.options());
    f.log->sync();
    auto s = hub.subscribe({});
    sse::log_entry bad;
    bad.seq = 1;
    bad.ev = data_event("x");
    bad.ev.type = "two\nlines";
    f.log->hand({bad});
    std::vector<sse::event_buffer> out;
    s->pull(out, std::size_t(-1), t0);
    REQUIRE(out.size() == 1);
    CHECK(out[0]->rfind("id: log1-1\n:", 0) == 0);
    CHECK(out[0]->find("data") == std::string::npos);
    CHECK(hub.newest_id() == "log1-1");
}

TEST_CASE("hub backplane: the receiver does nothing once the hub is gone")
{
    fixture f;
    for (int i = 1; i <= 5; ++i)
        f.log->append(data_event(std::to_string(i)));
    std::shared_ptr<sse::subscriber> s;
    {
        sse::hub hub(f.options(2));
        f.log->sync();
        f.log->hold_reads(true);
        s = hub.subscribe(resume_from("log1-1"));
    }
    CHECK(f.log->stops() == 1);
    auto r = f.log->receiver();
    r->synced("log1", 5, {});
    f.log->append(data_event("6"));
    CHECK(f.log->deliver() == 1);
    r->state(sse::backplane_state::disconnected);
    CHECK(f.log->answer_reads() == 1);
    sse::pull_result pr;
    CHECK(pull_short(*s, &pr).empty());
    CHECK(pr.closed);
}

namespace {

// A sink that a consumer thread waits on.
struct waiting_sink : sse::delivery_sink
{
    std::mutex mutex;
    std::condition_variable cv;
    bool woken = false;
    void wake() noexcept override
    {
        std::lock_guard<std::mutex> lock(mutex);
        woken = true;
        cv.notify_one();
    }
    void closed(sse::close_reason) noexcept override { wake(); }
    // False if nothing came in time.
    bool wait(std::chrono::steady_clock::duration d)
    {
        std::unique_lock<std::mutex> lock(mutex);
        bool const ok = cv.wait_for(lock, d, [&] { return woken; });
        woken = false;
        return ok;
    }
};

} // namespace

TEST_CASE("hub backplane: threads publish, the log delivers on its own thread, subscribers see +1 order")
{
    constexpr int publishers = 3;
    constexpr int per_publisher = 1500;
    constexpr int consumers = 3;
    constexpr std::uint64_t total = publishers * per_publisher;

    auto log = std::make_shared<scripted_log>("t");
    sse::hub_options o;
    o.backplane = log;
    o.replay.max_events = 64;   // small: resumes often read the log
    o.replay.max_age = {};
    o.queue.max_bytes = std::size_t(64) << 20;
    o.queue.max_age = {};
    sse::hub hub(o);
    log->sync();
    log->hold_reads(true);   // answered on the log's thread, between live batches

    std::atomic<bool> stop_log{false};
    std::atomic<int> publish_errors{0};
    std::vector<std::thread> threads;
    threads.emplace_back([&] {
        while (!stop_log.load()) {
            std::size_t const delivered = log->deliver();
            if (delivered + log->answer_reads() == 0)
                std::this_thread::yield();
        }
    });
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int n = 0; n < per_publisher; ++n) {
                hub.publish_async(data_event(std::to_string(p) + ":" + std::to_string(n)), {}, {},
                    [&](sse::error_code ec, sse::publish_result const& r) {
                        if (ec || r.id.empty())
                            publish_errors.fetch_add(1);
                    });
            }
        });
    }

    struct seen
    {
        std::uint64_t last = 0;
        int errors = 0;
        int next[publishers] = {};
        int resumes = 0;
        std::string failure;
    };
    std::vector<seen> results(consumers);
    for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&, c] {
            seen& me = results[static_cast<std::size_t>(c)];
            auto deadline = std::chrono::steady_clock::now() + 120s;
            std::vector<sse::event_buffer> out;
            while (me.last < total) {
                // Consumer c resubscribes every so often with its Last-Event-ID.
                auto sink = std::make_shared<waiting_sink>();
                sse::subscriber_options so;
                so.last_event_id = "t-" + std::to_string(me.last);
                auto s = hub.subscribe(so, sink);
                int pulls = 0;
                while (me.last < total && (c == 0 || pulls < 20 * c)) {
                    out.clear();
                    s->pull(out, 64, sse::subscriber::clock::now());
                    if (out.empty()) {
                        if (std::chrono::steady_clock::now() > deadline) {
                            me.failure = "no event within the time limit after t-" + std::to_string(me.last);
                            return;
                        }
                        sink->wait(100ms);
                        continue;
                    }
                    ++pulls;
                    for (auto const& b : out) {
                        // "id: t-<seq>\ndata: <p>:<n>\n\n"
                        auto const nl = b->find('\n');
                        std::uint64_t const seq = std::stoull(b->substr(6, nl - 6));
                        auto const colon = b->find(':', nl + 6);
                        int const p = std::stoi(b->substr(nl + 7, colon - nl - 7));
                        int const n = std::stoi(b->substr(colon + 1));
                        if (seq != me.last + 1 || p < 0 || p >= publishers || n != me.next[p])
                            ++me.errors;
                        else
                            ++me.next[p];
                        me.last = seq;
                    }
                }
                hub.unsubscribe(*s);
                ++me.resumes;
                // Away until the history has moved past this consumer, so that
                // the resume reads the log (while entries keep arriving).
                while (me.last < total && hub.stats().log_position < std::min(total, me.last + 100)) {
                    if (std::chrono::steady_clock::now() > deadline) {
                        me.failure = "the log did not move on after t-" + std::to_string(me.last);
                        return;
                    }
                    std::this_thread::yield();
                }
            }
        });
    }
    for (std::size_t i = 1 + publishers; i < threads.size(); ++i)
        threads[i].join();
    stop_log.store(true);
    for (std::size_t i = 0; i <= publishers; ++i)
        threads[i].join();

    CHECK(publish_errors.load() == 0);
    for (auto const& r : results) {
        CHECK(r.failure == "");
        CHECK(r.errors == 0);
        CHECK(r.last == total);
    }
    auto const st = hub.stats();
    CHECK(st.published == total);
    CHECK(st.resets == 0);
    CHECK(st.log_resets == 0);
    CHECK(st.history_reads > 0);
    MESSAGE("history reads: " << st.history_reads << ", resumes: " << results[1].resumes + results[2].resumes);
}

// The example of docs/backplane.md, verbatim between the markers (the test adds
// the line that records r.id, and captures by reference for it).
namespace docs_example {
// --- docs/backplane.md
class memory_log : public sse::backplane
{
public:
    void start(std::shared_ptr<sse::backplane_receiver> r, std::size_t) override
    {
        std::lock_guard<std::recursive_mutex> lock(mutex_);
        receivers_.push_back(r);
        r->synced(epoch_, entries_.size(), entries_);   // the whole log is the tail here
    }

    void publish(sse::log_publish p, publish_handler done) override
    {
        // One lock around the append and the hand-over: every hub gets the
        // entries in log order, one call at a time. Recursive: a sink woken by
        // the hub may publish again from inside entries().
        std::lock_guard<std::recursive_mutex> lock(mutex_);
        if (!p.epoch.empty() && p.epoch != epoch_) {
            if (done)
                done(sse::error::backplane_epoch_changed, epoch_, 0);
            return;
        }
        sse::log_entry e{entries_.size() + 1, std::move(p.ev), std::move(p.to), std::move(p.key)};
        entries_.push_back(e);
        if (done)
            done({}, epoch_, e.seq);
        for (auto const& r : receivers_)
            r->entries({e});
    }

    void read(std::string const& epoch, std::uint64_t after, std::uint64_t up_to, read_handler done) override
    {
        std::vector<sse::log_entry> got;
        {
            std::lock_guard<std::recursive_mutex> lock(mutex_);
            for (std::uint64_t seq = after + 1; epoch == epoch_ && seq <= up_to && seq <= entries_.size(); ++seq)
                got.push_back(entries_[seq - 1]);
        }
        done({}, std::move(got));
    }

    void stop() noexcept override {}

private:
    std::recursive_mutex mutex_;
    std::string const epoch_ = "mem1";
    std::vector<sse::log_entry> entries_;
    std::vector<std::shared_ptr<sse::backplane_receiver>> receivers_;
};

// --- end
} // namespace docs_example

TEST_CASE("hub backplane: the docs/backplane.md example works as written")
{
    using docs_example::memory_log;
    std::string got_id;
    {
        // --- docs/backplane.md
        auto log = std::make_shared<memory_log>();
        sse::hub_options o;
        o.backplane = log;
        sse::hub node1(o), node2(o);                 // two "nodes" following one log
        auto sub = node2.subscribe({});
        node1.publish_async(data_event("hello"), {}, {}, [&](sse::error_code, sse::publish_result r) {
            // r.id == "mem1-1"
            got_id = r.id;
        });
        // sub's queue now holds "id: mem1-1\ndata: hello\n\n"
        // --- end
        CHECK(got_id == "mem1-1");
        std::vector<sse::event_buffer> out;
        sub->pull(out, std::size_t(-1), t0);
        REQUIRE(out.size() == 1);
        CHECK(*out[0] == "id: mem1-1\ndata: hello\n\n");
        auto late = node1.subscribe(resume_from("mem1-0"));
        CHECK(pull_short(*late) == list{"mem1-1:hello"});
    }
}
