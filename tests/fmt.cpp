// <sse/fmt.hpp>: the wire form and the summary of events, the names of close reasons
// and errors, and describe().
#include <sse/fmt.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"

#include <set>
#include <string>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

using support::data_event;

// The summaries of the events a parser dispatches for `wire`.
std::vector<std::string> parsed_summaries(std::string_view wire, char const* spec = "{}")
{
    std::vector<std::string> got;
    sse::parser p;
    p.feed(wire, [&](sse::event_view const& v) { got.push_back(fmt::format(fmt::runtime(spec), v)); });
    return got;
}

} // namespace

TEST_CASE("fmt: the docs/fmt.md example works as written")
{
    sse::event e;
    e.id = "42";
    e.type = "update";
    e.data = "line one\nline two";

    CHECK(fmt::format("published {}", e) == R"(published id="42" type="update" data=17B "line one\nline two")");
    CHECK(fmt::format("{:wire}", e) == "id: 42\nevent: update\ndata: line one\ndata: line two\n\n");
    CHECK(fmt::format("{:.4}", e) == R"(id="42" type="update" data=17B "line"...)");
    CHECK(fmt::format("closed: {}", sse::close_reason::slow_consumer) == "closed: slow_consumer");
    sse::error_code const ec = sse::error::stalled;
    CHECK(fmt::format("{}", sse::describe(ec)) == ec.message() + " (sse:stalled)");
}

TEST_CASE("fmt: {:wire} writes the event stream lines of WHATWG HTML 9.2")
{
    SUBCASE("every field, in the serialiser's order, data split on CRLF, CR and LF")
    {
        sse::event e;
        e.comment = "hi";
        e.id = "7";
        e.type = "tick";
        e.retry = 3s;
        e.data = "a\r\nb\rc\nd";
        std::string const wire = fmt::format("{:wire}", e);
        CHECK(wire == ": hi\nid: 7\nevent: tick\nretry: 3000\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
        CHECK(wire == sse::to_string(e));
        // A client reads it back: one event, lines joined by LF.
        CHECK(parsed_summaries(wire) == std::vector<std::string>{R"(type="tick" last_id="7" data=7B "a\nb\nc\nd")"});
    }
    SUBCASE("a default event is a lone blank line")
    {
        CHECK(fmt::format("{:wire}", sse::event{}) == "\n");
    }
    SUBCASE("empty values are the bare field names a parser reads as empty")
    {
        sse::event e;
        e.id = "";
        e.data = "";
        e.comment = "";
        CHECK(fmt::format("{:wire}", e) == ":\nid:\ndata:\n\n");
    }
    SUBCASE("it is the same bytes as serialize, written into a larger text")
    {
        auto const e = data_event("x");
        CHECK(fmt::format("<{:wire}>", e) == "<data: x\n\n>");
    }
}

TEST_CASE("fmt: {:wire} of an event that cannot be sent gives the reason instead")
{
    sse::event e;
    e.id = "a\nb";
    e.data = "x";
    CHECK(fmt::format("{:wire}", e) ==
          "(unsendable: " + make_error_code(sse::error::id_has_newline).message() + ")");
    e.id.reset();
    e.retry = -1ms;
    CHECK(fmt::format("{:wire}", e) ==
          "(unsendable: " + make_error_code(sse::error::negative_retry).message() + ")");
}

TEST_CASE("fmt: an event's summary lists what it has, in wire order")
{
    sse::event e;
    CHECK(fmt::format("{}", e) == "(empty)");
    e.data = "";
    CHECK(fmt::format("{}", e) == R"(data=0B "")");
    e.retry = 1500ms;
    CHECK(fmt::format("{}", e) == R"(retry=1500ms data=0B "")");
    e.type = "update";
    CHECK(fmt::format("{}", e) == R"(type="update" retry=1500ms data=0B "")");
    e.id = "";
    CHECK(fmt::format("{}", e) == R"(id="" type="update" retry=1500ms data=0B "")");
    e.comment = "keep-alive";
    CHECK(fmt::format("{}", e) == R"(comment=10B "keep-alive" id="" type="update" retry=1500ms data=0B "")");

    sse::event heartbeat;
    heartbeat.comment = "";
    CHECK(fmt::format("{}", heartbeat) == R"(comment=0B "")");
}

TEST_CASE("fmt: a summary's previews are cut at 32 bytes, or N, never inside a UTF-8 sequence")
{
    std::string const b32(32, 'b');
    CHECK(fmt::format("{}", data_event(b32)) == "data=32B \"" + b32 + "\"");
    CHECK(fmt::format("{}", data_event(b32 + "c")) == "data=33B \"" + b32 + "\"...");

    auto const e = data_event("abcdef");
    CHECK(fmt::format("{:.6}", e) == R"(data=6B "abcdef")");
    CHECK(fmt::format("{:.5}", e) == R"(data=6B "abcde"...)");
    CHECK(fmt::format("{:.0}", e) == "data=6B");
    CHECK(fmt::format("{:.100}", e) == R"(data=6B "abcdef")");

    // U+00E9 is two bytes, U+20AC three: a cut inside one moves back to its first byte.
    CHECK(fmt::format("{:.3}", data_event("ab\xC3\xA9")) == "data=4B \"ab\"...");
    CHECK(fmt::format("{:.4}", data_event("ab\xC3\xA9")) == "data=4B \"ab\xC3\xA9\"");
    CHECK(fmt::format("{:.5}", data_event("\xE2\x82\xAC\xE2\x82\xAC")) == "data=6B \"\xE2\x82\xAC\"...");
    CHECK(fmt::format("{:.2}", data_event("\xE2\x82\xAC")) == "data=3B \"\"...");

    // The comment is cut the same way; ids and types never are.
    sse::event c;
    c.comment = "0123456789";
    c.id = std::string(40, 'i');
    CHECK(fmt::format("{:.3}", c) == "comment=10B \"012\"... id=\"" + std::string(40, 'i') + "\"");
    CHECK(fmt::format("{:.0}", c) == "comment=10B id=\"" + std::string(40, 'i') + "\"");
}

TEST_CASE("fmt: a summary escapes quotes, backslashes and control bytes, so it stays one line")
{
    CHECK(fmt::format("{}", data_event("a\"b\\c")) == R"(data=5B "a\"b\\c")");
    CHECK(fmt::format("{}", data_event("1\r\n2\t3")) == R"(data=6B "1\r\n2\t3")");
    CHECK(fmt::format("{}", data_event(std::string("\x01\x1f\x7f\0", 4))) == R"(data=4B "\x01\x1f\x7f\x00")");
    // Bytes of UTF-8 text pass through.
    CHECK(fmt::format("{}", data_event("caf\xC3\xA9")) == "data=5B \"caf\xC3\xA9\"");

    // An event that cannot be sent is still summarised, its line break escaped.
    sse::event e;
    e.id = "a\nb";
    e.type = "x\ry";
    CHECK(fmt::format("{}", e) == R"(id="a\nb" type="x\ry")");
}

TEST_CASE("fmt: a parsed event's summary gives its type, last event id and data")
{
    auto const got = parsed_summaries("data: hi\n\nid: 7\nevent: tick\ndata: x\ndata: y\n\ndata\n\nid\ndata: z\n\n");
    CHECK(got == std::vector<std::string>{
                     R"(type="message" data=2B "hi")",
                     R"(type="tick" last_id="7" data=3B "x\ny")",
                     // The last event id carries over to events without an id field ...
                     R"(type="message" last_id="7" data=0B "")",
                     // ... until an empty id field clears it.
                     R"(type="message" data=1B "z")",
                 });
    CHECK(parsed_summaries("data: abcdef\n\n", "{:.2}") ==
          std::vector<std::string>{R"(type="message" data=6B "ab"...)"});
    CHECK(parsed_summaries("data: abcdef\n\n", "{:.0}") == std::vector<std::string>{R"(type="message" data=6B)"});
}

TEST_CASE("fmt: a format spec the formatters do not know is a format error")
{
    sse::event const e = data_event("x");
    CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:wir}"), e), fmt::format_error);
    CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:wire.3}"), e), fmt::format_error);
    CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:.}"), e), fmt::format_error);
    CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:>10}"), e), fmt::format_error);
    // A parsed event has no wire form of its own: {:wire} is refused.
    CHECK_THROWS_AS(parsed_summaries("data: x\n\n", "{:wire}"), fmt::format_error);
    CHECK_THROWS_AS((void)fmt::format(fmt::runtime("{:d}"), sse::close_reason::kicked), fmt::format_error);
}

TEST_CASE("fmt: a close reason prints its name")
{
    std::vector<std::string> names;
    for (std::size_t i = 0; i < sse::close_reason_count; ++i)
        names.push_back(fmt::format("{}", static_cast<sse::close_reason>(i)));
    CHECK(names == std::vector<std::string>{"slow_consumer", "shutdown", "kicked", "token_expired", "unsubscribed",
                                            "sink_expired"});
    CHECK(fmt::format("{}", sse::close_reason::token_expired) == "token_expired");
    // fmt's string specs apply.
    CHECK(fmt::format("[{:>8}]", sse::close_reason::kicked) == "[  kicked]");
    CHECK(fmt::format("[{:<10}]", sse::close_reason::shutdown) == "[shutdown  ]");
    CHECK(fmt::format("{}", static_cast<sse::close_reason>(99)) == "close_reason(99)");
}

TEST_CASE("fmt: every error prints a distinct name, describe() its message and origin")
{
    std::set<std::string> names;
    int named = 0;
    for (int value = 1; value < 256; ++value) {
        CAPTURE(value);
        auto const e = static_cast<sse::error>(value);
        std::string const name = fmt::format("{}", e);
        if (make_error_code(e).message() == "unknown sse error") {
            CHECK(name == fmt::format("error({})", value));
            continue;
        }
        ++named;
        CHECK(name.rfind("error(", 0) == std::string::npos);
        CHECK(names.insert(name).second);
        CHECK(fmt::format("{}", sse::describe(e)) == make_error_code(e).message() + " (sse:" + name + ")");
    }
    CHECK(named == 47);
    CHECK(fmt::format("{}", sse::error::id_has_newline) == "id_has_newline");
    CHECK(fmt::format("{}", sse::error::audience_not_shareable) == "audience_not_shareable");
    CHECK(fmt::format("{:>10}", sse::error::stalled) == "   stalled");

    CHECK(fmt::format("{}", sse::condition::recoverable) == "recoverable");
    CHECK(fmt::format("{}", sse::condition::fatal) == "fatal");

    // Other categories give their number, as fmt formats an error_code; no error is "success".
    auto const refused = std::make_error_code(std::errc::connection_refused);
    CHECK(fmt::format("{}", sse::describe(refused)) ==
          refused.message() + " (generic:" + std::to_string(refused.value()) + ")");
    CHECK(fmt::format("{}", sse::describe(sse::error_code())) == "success");
    CHECK(fmt::format("[{:>9}]", sse::describe(sse::error_code())) == "[  success]");
}
