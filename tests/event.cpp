#include <sse/event.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"

#include <system_error>

using namespace std::chrono_literals;

namespace {

using support::data_event;

} // namespace

TEST_CASE("event: a default event is a lone blank line")
{
    CHECK(sse::to_string(sse::event{}) == "\n");
}

TEST_CASE("event: fields are written in a fixed order and end with a blank line")
{
    sse::event e;
    e.comment = "hello";
    e.id = "42";
    e.type = "update";
    e.retry = 2500ms;
    e.data = "payload";
    CHECK(sse::to_string(e) == ": hello\nid: 42\nevent: update\nretry: 2500\ndata: payload\n\n");
}

TEST_CASE("event: data is split on LF, CR and CRLF into data lines")
{
    struct row
    {
        char const* data;
        char const* wire;
    };
    row const rows[] = {
        {"a\nb", "data: a\ndata: b\n\n"},
        {"a\rb", "data: a\ndata: b\n\n"},
        {"a\r\nb", "data: a\ndata: b\n\n"},
        {"a\n\rb", "data: a\ndata:\ndata: b\n\n"},   // LF then CR: two breaks
        {"a\r\rb", "data: a\ndata:\ndata: b\n\n"},
        {"a\n\nb", "data: a\ndata:\ndata: b\n\n"},   // empty lines are kept
        {"a\n", "data: a\ndata:\n\n"},               // a trailing newline is kept
        {"\n", "data:\ndata:\n\n"},
        {"", "data:\n\n"},                           // empty data still dispatches
        {" lead", "data:  lead\n\n"},                // the separator space protects a leading space
        {"x\r\n\r\ny", "data: x\ndata:\ndata: y\n\n"},
    };
    for (auto const& r : rows) {
        CAPTURE(r.data);
        CHECK(sse::to_string(data_event(r.data)) == r.wire);
    }
}

TEST_CASE("event: comments are split into comment lines and an empty one is a bare colon")
{
    sse::event e;
    e.comment = "";
    CHECK(sse::to_string(e) == ":\n\n");
    e.comment = "one\r\ntwo";
    CHECK(sse::to_string(e) == ": one\n: two\n\n");
}

TEST_CASE("event: an empty id is written so that clients reset their last id")
{
    sse::event e;
    e.id = "";
    CHECK(sse::to_string(e) == "id:\n\n");
}

TEST_CASE("event: retry-only and id-only messages carry no data line")
{
    sse::event e;
    e.retry = 0ms;
    CHECK(sse::to_string(e) == "retry: 0\n\n");
    e.retry = std::chrono::milliseconds(std::numeric_limits<std::chrono::milliseconds::rep>::max());
    CHECK(sse::to_string(e) == "retry: " + std::to_string(e.retry->count()) + "\n\n");
    sse::event only_id;
    only_id.id = "7";
    CHECK(sse::to_string(only_id) == "id: 7\n\n");
}

TEST_CASE("event: unsafe members are rejected and never written")
{
    struct row
    {
        sse::event e;
        sse::error expected;
    };
    auto with_id = [](std::string id) {
        sse::event e = data_event("x");
        e.id = std::move(id);
        return e;
    };
    auto with_type = [](std::string type) {
        sse::event e = data_event("x");
        e.type = std::move(type);
        return e;
    };
    sse::event negative = data_event("x");
    negative.retry = -1ms;
    row const rows[] = {
        {with_id("a\nb"), sse::error::id_has_newline},
        {with_id("a\rb"), sse::error::id_has_newline},
        {with_id("\n"), sse::error::id_has_newline},
        {with_id(std::string("a\0b", 3)), sse::error::id_has_nul},
        {with_type("a\nb"), sse::error::type_has_newline},
        {with_type("a\r"), sse::error::type_has_newline},
        {negative, sse::error::negative_retry},
    };
    for (auto const& r : rows) {
        CAPTURE(static_cast<int>(r.expected));
        CHECK(sse::validate(r.e) == r.expected);

        std::string out = "kept";
        std::error_code ec;
        sse::serialize(r.e, out, ec);
        CHECK(ec == r.expected);
        CHECK(out == "kept");

        CHECK(sse::to_string(r.e, ec).empty());
        CHECK(ec == r.expected);
        CHECK(sse::make_event_buffer(r.e, ec) == nullptr);
        CHECK(ec == r.expected);

        try {
            sse::serialize(r.e, out);
            FAIL("serialize did not throw");
        } catch (std::system_error const& ex) {
            CHECK(ex.code() == r.expected);
            CHECK(std::string(ex.what()).find("sse::serialize") != std::string::npos);
        }
        CHECK(out == "kept");
        CHECK_THROWS_AS(sse::to_string(r.e), std::system_error);
        CHECK_THROWS_AS(sse::make_event_buffer(r.e), std::system_error);
    }
}

TEST_CASE("event: NUL is allowed in data and type, only the id rejects it")
{
    sse::event e = data_event(std::string("a\0b", 3));
    e.type = std::string("t\0", 2);
    CHECK(sse::to_string(e) == std::string("event: t\0\ndata: a\0b\n\n", 21));
}

TEST_CASE("event: serialize appends to the caller's buffer")
{
    std::string out = "prefix|";
    sse::serialize(data_event("one"), out);
    sse::serialize(data_event("two"), out);
    CHECK(out == "prefix|data: one\n\ndata: two\n\n");
}

TEST_CASE("event: serialized_size matches the bytes written")
{
    std::string const datas[] = {"", "x", "a\nb\r\nc\rd", "\n\n\n", "trailing\n", std::string(1000, 'z')};
    for (auto const& d : datas) {
        sse::event e = data_event(d);
        for (int variant = 0; variant < 4; ++variant) {
            CAPTURE(d);
            CAPTURE(variant);
            if (variant & 1) {
                e.id = variant == 1 ? "" : "abc";
                e.type = "kind";
            }
            if (variant & 2) {
                e.retry = std::chrono::milliseconds(variant * 12345);
                e.comment = "c\nd";
            }
            CHECK(sse::serialized_size(e) == sse::to_string(e).size());
        }
    }
}

TEST_CASE("event: an event buffer is serialised once and shared")
{
    sse::event e = data_event("shared");
    e.id = "1";
    sse::event_buffer buffer = sse::make_event_buffer(e);
    REQUIRE(buffer != nullptr);
    CHECK(*buffer == "id: 1\ndata: shared\n\n");
    sse::event_buffer copy = buffer;
    CHECK(copy.get() == buffer.get());
    CHECK(buffer.use_count() == 2);
}

TEST_CASE("event: the docs/event.md example works as written")
{
    sse::event e;
    e.id = "42";
    e.type = "update";
    e.retry = 5s;
    e.data = "line one\nline two";

    std::string wire = sse::to_string(e);
    CHECK(wire == "id: 42\nevent: update\nretry: 5000\ndata: line one\ndata: line two\n\n");

    sse::event_buffer shared = sse::make_event_buffer(e);
    CHECK(*shared == wire);

    sse::error_code ec;
    std::string out;
    sse::event bad = e;
    bad.id = "4\n2";
    sse::serialize(bad, out, ec);
    CHECK(out.empty());
    CHECK(ec.message() == "event id contains CR or LF; remove line breaks from the id");
}
