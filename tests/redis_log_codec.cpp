// The stream entry format of the Redis backplane, both ways, without Redis.
#include <sse/redis/detail/log_codec.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using sse::redis::detail::reply;

reply bulk(std::string s)
{
    reply r;
    r.type = reply::kind::string;
    r.str = std::move(s);
    return r;
}

// What XRANGE returns for one entry: [id, [field, value, ...]], from the fields
// encode_fields wrote after the script's fixed arguments.
reply as_entry(std::string id, std::vector<std::string> const& fields)
{
    reply r;
    r.type = reply::kind::array;
    r.elements.push_back(bulk(std::move(id)));
    reply f;
    f.type = reply::kind::array;
    for (auto const& s : fields)
        f.elements.push_back(bulk(s));
    r.elements.push_back(std::move(f));
    return r;
}

sse::log_entry round_trip(sse::log_publish const& p, std::string const& id = "7-0")
{
    std::vector<std::string> fields;
    REQUIRE(sse::redis::detail::encode_fields(p, "ep0ch", fields));
    sse::log_entry out;
    std::string epoch;
    REQUIRE(sse::redis::detail::decode_entry(as_entry(id, fields), out, epoch));
    CHECK(epoch == "ep0ch");
    return out;
}

} // namespace

TEST_CASE("redis log codec: an event and its audience survive the stream entry")
{
    sse::log_publish p;
    p.ev.type = "update";
    p.ev.data = std::string("line one\nline two") + '\0' + "with NUL";
    p.ev.retry = std::chrono::milliseconds(2500);
    p.ev.comment = "note";
    p.key = "progress:7";
    p.to = sse::audience::topics({"news", "a:b", "", "12:x"});   // separators and lengths inside names
    auto const e = round_trip(p);
    CHECK(e.seq == 7);
    CHECK(e.ev.type == "update");
    CHECK(e.ev.data == p.ev.data);
    CHECK(e.ev.retry == std::chrono::milliseconds(2500));
    CHECK(e.ev.comment == std::optional<std::string>("note"));
    CHECK_FALSE(e.ev.id.has_value());
    CHECK(e.key == "progress:7");
    CHECK(e.to.kind() == sse::audience_kind::topics);
    CHECK(e.to.topic_names() == std::vector<std::string>{"news", "a:b", "", "12:x"});
}

TEST_CASE("redis log codec: user and broadcast audiences, a publisher's own id, empty data")
{
    sse::log_publish p;
    p.ev.id = "order-42";
    p.ev.data = "";
    p.to = sse::audience::user("alice");
    auto const u = round_trip(p, "18446744073709551615-0");
    CHECK(u.seq == 18446744073709551615ull);
    CHECK(u.ev.id == std::optional<std::string>("order-42"));
    CHECK(u.ev.data == std::optional<std::string>(""));
    CHECK(u.to.kind() == sse::audience_kind::user);
    CHECK(u.to.user_id() == "alice");

    sse::log_publish all;
    auto const a = round_trip(all);
    CHECK(a.to.kind() == sse::audience_kind::all);
    CHECK_FALSE(a.ev.data.has_value());
}

TEST_CASE("redis log codec: a predicate audience cannot be encoded")
{
    sse::log_publish p;
    p.to = sse::audience::matching([](sse::subscriber const&) { return true; });
    std::vector<std::string> fields;
    CHECK_FALSE(sse::redis::detail::encode_fields(p, "e", fields));
}

TEST_CASE("redis log codec: entries the backplane did not write are refused")
{
    std::vector<std::string> good{"e", "ep0ch", "a", "*"};
    sse::log_entry out;
    std::string epoch;
    CHECK(sse::redis::detail::decode_entry(as_entry("3-0", good), out, epoch));
    // Time-based ids of XADD *, a zero position, junk.
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("1700000000000-1", good), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("0-0", good), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("x-0", good), out, epoch));
    // No epoch, no audience, an odd field list, a bad retry, topics whose length overruns.
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"a", "*"}), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x"}), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x", "a"}), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x", "a", "*", "r", "-5"}), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x", "a", "t", "n", "9:ab"}), out, epoch));
    CHECK_FALSE(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x", "a", "q"}), out, epoch));
    // A field of a later version is ignored.
    CHECK(sse::redis::detail::decode_entry(as_entry("3-0", {"e", "x", "a", "*", "z", "?"}), out, epoch));
}
