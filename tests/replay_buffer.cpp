#include <sse/replay_buffer.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

using time_point = sse::replay_buffer::clock::time_point;
time_point const t0 = time_point{} + 1h;

using support::data_event;

std::vector<std::string> wires(std::vector<sse::event_buffer> const& buffers)
{
    std::vector<std::string> out;
    for (auto const& b : buffers)
        out.push_back(*b);
    return out;
}

} // namespace

TEST_CASE("replay buffer: the docs/replay.md example works as written")
{
    sse::replay_limits limits;
    limits.max_events = 3;
    sse::replay_buffer history(limits, "ab12");

    sse::event e;
    for (auto data : {"one", "two", "three", "four"}) {
        e.data = data;
        history.append(e, t0);   // ids ab12-1 ... ab12-4; "one" is evicted
    }

    sse::error_code ec;
    std::vector<sse::event_buffer> missed = history.since("ab12-2", ec, t0);
    CHECK(!ec);
    REQUIRE(missed.size() == 2);
    CHECK(*missed[0] == "id: ab12-3\ndata: three\n\n");

    history.since("ab12-0", ec, t0);
    CHECK(ec == sse::error::event_id_too_old);   // "one" is gone
    history.since("zz99-3", ec, t0);
    CHECK(ec == sse::error::foreign_event_id);   // another run, another epoch
    history.since("ab12-9", ec, t0);
    CHECK(ec == sse::error::unknown_event_id);   // not sent yet
}

TEST_CASE("replay buffer: assigns ordered ids that carry the epoch")
{
    sse::replay_buffer history({}, "ep0ch");
    CHECK(history.epoch() == "ep0ch");
    CHECK(history.newest_id() == "ep0ch-0");
    auto const a = history.append(data_event("a"), t0);
    auto const b = history.append(data_event("b"), t0);
    CHECK(a->id == "ep0ch-1");
    CHECK(b->id == "ep0ch-2");
    CHECK(a->assigned_id);
    CHECK(a->seq == 1);
    CHECK(b->seq == 2);
    CHECK(a->wire == "id: ep0ch-1\ndata: a\n\n");
    CHECK(history.newest_id() == "ep0ch-2");
    CHECK(history.size() == 2);
    CHECK(history.bytes() == a->wire.size() + b->wire.size());
}

TEST_CASE("replay buffer: a random epoch is short lowercase ASCII")
{
    sse::replay_buffer one;
    sse::replay_buffer two;
    CHECK(one.epoch().size() == 6);
    for (char c : one.epoch())
        CHECK(((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')));
    CHECK(one.epoch() != two.epoch());
}

TEST_CASE("replay buffer: since returns the events after an id, in order")
{
    sse::replay_buffer history({}, "e");
    for (int i = 1; i <= 5; ++i)
        history.append(data_event(std::to_string(i)), t0);

    sse::error_code ec;
    std::vector<std::string> seen;
    history.since("e-2", [&](sse::event_buffer const& b, sse::published_event const& p) {
        CHECK(b.get() == &p.wire);
        seen.push_back(*p.data);
    }, ec, t0);
    CHECK(!ec);
    CHECK(seen == std::vector<std::string>{"3", "4", "5"});

    CHECK(history.since("e-5", ec, t0).empty());
    CHECK(!ec);
    CHECK(history.since("e-0", ec, t0).size() == 5);
    CHECK(!ec);
}

TEST_CASE("replay buffer: unknown, foreign and malformed ids")
{
    sse::replay_buffer history({}, "e");
    history.append(data_event("x"), t0);
    sse::error_code ec;
    for (auto id : {"", "x", "e-", "-1", "e-01", "e-+1", "e-1x", "E-1", "e-99999999999999999999999", "e-2"}) {
        CAPTURE(id);
        history.since(id, ec, t0);
        CHECK(ec == sse::error::unknown_event_id);
    }
    history.since("f-1", ec, t0);
    CHECK(ec == sse::error::foreign_event_id);
    history.since("e-1", ec, t0);
    CHECK(!ec);
}

TEST_CASE("replay buffer: bounded by count, bytes and age")
{
    SUBCASE("count")
    {
        sse::replay_limits limits;
        limits.max_events = 2;
        sse::replay_buffer history(limits, "e");
        for (int i = 0; i < 5; ++i)
            history.append(data_event("x"), t0);
        CHECK(history.size() == 2);
        sse::error_code ec;
        CHECK(history.since("e-3", ec, t0).size() == 2);   // e-4, e-5: nothing missed
        CHECK(!ec);
        history.since("e-2", ec, t0);
        CHECK(ec == sse::error::event_id_too_old);
    }
    SUBCASE("bytes")
    {
        sse::replay_limits limits;
        limits.max_bytes = 3 * std::string("id: e-1\ndata: x\n\n").size();
        sse::replay_buffer history(limits, "e");
        for (int i = 0; i < 5; ++i)
            history.append(data_event("x"), t0);
        CHECK(history.size() == 3);
        CHECK(history.bytes() <= limits.max_bytes);
        sse::error_code ec;
        history.since("e-1", ec, t0);
        CHECK(ec == sse::error::event_id_too_old);
        CHECK(history.since("e-2", ec, t0).size() == 3);
    }
    SUBCASE("age, lazily")
    {
        sse::replay_limits limits;
        limits.max_age = 10s;
        sse::replay_buffer history(limits, "e");
        history.append(data_event("old"), t0);
        history.append(data_event("new"), t0 + 5s);
        CHECK(history.size() == 2);
        sse::error_code ec;
        auto const got = history.since("e-0", ec, t0 + 12s);   // evicts "old" first
        CHECK(ec == sse::error::event_id_too_old);
        CHECK(got.empty());
        CHECK(history.size() == 1);
        CHECK(wires(history.since("e-1", ec, t0 + 12s)) == std::vector<std::string>{"id: e-2\ndata: new\n\n"});
        history.since("e-2", ec, t0 + 1h);   // everything expired, but e-2 is the newest: up to date
        CHECK(!ec);
        CHECK(history.empty());
    }
    SUBCASE("zero events")
    {
        sse::replay_limits limits;
        limits.max_events = 0;
        sse::replay_buffer history(limits, "e");
        history.append(data_event("x"), t0);
        history.append(data_event("y"), t0);
        sse::error_code ec;
        history.since("e-1", ec, t0);
        CHECK(ec == sse::error::event_id_too_old);
        history.since("e-2", ec, t0);
        CHECK(!ec);
    }
}

TEST_CASE("replay buffer: a publisher's own ids are kept and found")
{
    sse::replay_limits limits;
    limits.max_events = 3;
    sse::replay_buffer history(limits, "e");
    auto const a = history.append(data_event("a", "order:17"), t0);
    CHECK(a->id == "order:17");
    CHECK(!a->assigned_id);
    CHECK(a->wire == "id: order:17\ndata: a\n\n");
    history.append(data_event("b"), t0);              // e-2
    history.append(data_event("c", "order:17"), t0);  // the same id again: the newer counts
    sse::error_code ec;
    CHECK(wires(history.since("order:17", ec, t0)).empty());
    CHECK(!ec);
    CHECK(wires(history.since("e-1", ec, t0)).size() == 2);   // seq 1 is the first "order:17"

    history.append(data_event("d", "x-1"), t0);   // evicts the first "order:17"
    CHECK(wires(history.since("order:17", ec, t0)) == std::vector<std::string>{"id: x-1\ndata: d\n\n"});
    history.append(data_event("e"), t0);
    history.append(data_event("f"), t0);
    history.append(data_event("g"), t0);   // evicts the second "order:17" and "x-1"
    history.since("order:17", ec, t0);
    CHECK(ec == sse::error::unknown_event_id);
    history.since("x-1", ec, t0);
    CHECK(ec == sse::error::foreign_event_id);   // shaped like an assigned id of epoch "x"
}

TEST_CASE("replay buffer: routing metadata is stored with the event")
{
    sse::replay_buffer history({}, "e");
    sse::error_code ec;
    sse::event e = data_event("payload");
    e.type = "price";
    auto const p = history.append(e, sse::audience::topics({"a", "b"}), "EURUSD", t0, ec);
    REQUIRE(!ec);
    CHECK(p->type == "price");
    CHECK(p->key == "EURUSD");
    CHECK(p->time == t0);
    CHECK(p->audience.kind() == sse::audience_kind::topics);
    CHECK(p->audience.topic_names() == std::vector<std::string>{"a", "b"});

    sse::event bad;
    bad.id = "a\nb";
    CHECK(history.append(bad, {}, {}, t0, ec) == nullptr);
    CHECK(ec == sse::error::id_has_newline);
    CHECK(history.size() == 1);
    CHECK(history.next_seq() == 2);
}

TEST_CASE("replay buffer: a full buffer stops growing its ring")
{
    sse::replay_limits limits;
    limits.max_events = 100;
    sse::replay_buffer history(limits, "e");
    for (int i = 0; i < 1000; ++i)
        history.append(data_event("x"), t0);
    CHECK(history.size() == 100);
    sse::error_code ec;
    CHECK(history.since("e-950", ec, t0).size() == 50);
    history.clear();
    CHECK(history.empty());
    CHECK(history.append(data_event("x"), t0)->id == "e-1001");
}

namespace {

std::shared_ptr<sse::published_event> prepared(std::string data, std::optional<std::string> id = std::nullopt)
{
    sse::error_code ec;
    auto p = sse::replay_buffer::prepare(data_event(std::move(data), std::move(id)), {}, {}, ec);
    REQUIRE(!ec);
    return p;
}

} // namespace

TEST_CASE("replay buffer: a log drives it with restart() and append_at()")
{
    sse::replay_limits limits;
    limits.max_events = 4;
    sse::replay_buffer history(limits, "mine");
    std::string const epoch = "0123456789abcdefghijklmnopqrstuv";   // 32 characters
    REQUIRE(sse::replay_buffer::valid_log_epoch(epoch));
    history.restart(epoch, 10);
    CHECK(history.epoch() == epoch);
    CHECK(history.newest_id() == epoch + "-10");
    CHECK(history.empty());
    CHECK(history.first_seq() == 11);

    sse::error_code ec;
    history.since(epoch + "-10", ec, t0);
    CHECK(!ec);   // up to date
    history.since(epoch + "-9", ec, t0);
    CHECK(ec == sse::error::event_id_too_old);
    history.since(epoch + "-11", ec, t0);
    CHECK(ec == sse::error::unknown_event_id);
    history.since("mine-3", ec, t0);
    CHECK(ec == sse::error::foreign_event_id);

    auto const e11 = history.append_at(prepared("a"), 11, t0);
    CHECK(e11->seq == 11);
    CHECK(e11->id == epoch + "-11");
    CHECK(e11->wire == "id: " + epoch + "-11\ndata: a\n\n");
    history.append_at(prepared("b", std::string("own")), 12, t0);
    CHECK(wires(history.since(epoch + "-10", ec, t0)) ==
          std::vector<std::string>{"id: " + epoch + "-11\ndata: a\n\n", "id: own\ndata: b\n\n"});
    CHECK(history.newest_id() == epoch + "-12");
    CHECK(history.since("own", ec, t0).empty());
    CHECK(!ec);

    // A jump drops what was stored: the history stays contiguous.
    history.append_at(prepared("c"), 15, t0);
    CHECK(history.size() == 1);
    CHECK(history.first_seq() == 15);
    history.since(epoch + "-12", ec, t0);
    CHECK(ec == sse::error::event_id_too_old);
    CHECK(wires(history.since(epoch + "-14", ec, t0)) == std::vector<std::string>{"id: " + epoch + "-15\ndata: c\n\n"});
    history.since("own", ec, t0);
    CHECK(ec == sse::error::unknown_event_id);
    CHECK(history.next_seq() == 16);

    // Eviction by count still applies.
    for (std::uint64_t seq = 16; seq <= 20; ++seq)
        history.append_at(prepared(std::to_string(seq)), seq, t0);
    CHECK(history.size() == 4);
    CHECK(history.first_seq() == 17);
}

TEST_CASE("replay buffer: log epochs are 1 to 32 of [0-9a-z]; ids of 32-character epochs parse")
{
    CHECK(sse::replay_buffer::valid_log_epoch("a"));
    CHECK(sse::replay_buffer::valid_log_epoch("abcdef012345"));
    CHECK(sse::replay_buffer::valid_log_epoch(std::string(32, 'z')));
    CHECK(!sse::replay_buffer::valid_log_epoch(""));
    CHECK(!sse::replay_buffer::valid_log_epoch(std::string(33, 'z')));
    CHECK(!sse::replay_buffer::valid_log_epoch("Abc"));
    CHECK(!sse::replay_buffer::valid_log_epoch("a-b"));

    sse::replay_buffer history({}, "short");
    sse::error_code ec;
    history.since(std::string(32, 'z') + "-1", ec, t0);
    CHECK(ec == sse::error::foreign_event_id);
    history.since(std::string(33, 'z') + "-1", ec, t0);
    CHECK(ec == sse::error::unknown_event_id);
}

TEST_CASE("replay buffer: stamp() finishes an event as append() would, without storing it")
{
    auto p = prepared("x");
    sse::replay_buffer::stamp(*p, "ep", 7, t0);
    CHECK(p->id == "ep-7");
    CHECK(p->seq == 7);
    CHECK(p->time == t0);
    CHECK(p->wire == "id: ep-7\ndata: x\n\n");
    auto own = prepared("y", std::string("mine"));
    sse::replay_buffer::stamp(*own, "ep", 8, t0);
    CHECK(own->id == "mine");
    CHECK(own->wire == "id: mine\ndata: y\n\n");
}
