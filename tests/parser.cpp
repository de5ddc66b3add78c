#include <sse/parser.hpp>

#include <doctest/doctest.h>

#include "support/feed.hpp"

#include <chrono>
#include <climits>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::literals;
using support::feed_mode;

namespace {

// Parses `input` in every feed mode and checks each gives `expected`.
void check_all_modes(std::string_view input, support::result const& expected, sse::parser_limits limits = {})
{
    for (auto mode : support::all_feed_modes) {
        CAPTURE(mode);
        auto const got = support::parse(mode, input, limits);
        CHECK(got == expected);
        CHECK_FALSE(got.mismatch_at.has_value());
    }
}

support::result events(std::vector<support::parsed> list, std::string last_event_id = {})
{
    support::result r;
    r.events = std::move(list);
    r.last_event_id = std::move(last_event_id);
    return r;
}

support::parsed message(std::string data, std::string id = {})
{
    return {"message", std::move(data), std::move(id)};
}

} // namespace

// ---------------------------------------------------------------------------------------
// Lines (WHATWG HTML 9.2.6: CRLF, LF or CR ends a line)

TEST_CASE("parser: a blank line dispatches a message event")
{
    check_all_modes("data: hello\n\n", events({message("hello")}));
}

TEST_CASE("parser: a lone CR ends a line")
{
    for (auto mode : support::all_feed_modes) {
        CAPTURE(mode);
        auto const got = support::parse(mode, "data: a\rdata: b\r\r");
        REQUIRE(got.size() == 1);
        CHECK(got[0].data == "a\nb");
    }
}

TEST_CASE("parser: LF, CRLF and CR end lines, mixed in one stream")
{
    check_all_modes("data: a\ndata: b\r\ndata: c\rdata: d\n\n", events({message("a\nb\nc\nd")}));
    check_all_modes("data: a\r\n\r\ndata: b\r\rdata: c\n\n", events({message("a"), message("b"), message("c")}));
}

TEST_CASE("parser: CRLF is one line end, LF CR is two")
{
    // A CR LF pair is one line end, so a single blank line follows "data: a" here.
    check_all_modes("data: a\r\ndata: b\r\n\r\n", events({message("a\nb")}));
    // LF then CR: the CR ends a second, blank line.
    check_all_modes("data: a\n\rdata: b\n\n", events({message("a"), message("b")}));
}

TEST_CASE("parser: a CR at the end of a chunk and an LF at the start of the next are one line end")
{
    auto const got = support::parse_chunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
    CHECK(got == events({message("a\nb")}));
    // The line is complete at the CR: it does not wait for the next chunk.
    sse::parser p;
    std::string_view in = "data: a\r\r";
    std::error_code ec;
    CHECK(p.next(in, ec) == sse::parse_item::event);
    CHECK(p.event().data == "a");
}

TEST_CASE("parser: a line starting with a colon is a comment")
{
    support::result expected = events({message("a\nb")});
    expected.comments = {"c", "", " two spaces", "x:y"};
    check_all_modes("data: a\n:c\n:\n:  two spaces\n: x:y\ndata: b\n\n", expected);
}

TEST_CASE("parser: a comment alone dispatches nothing")
{
    support::result expected;
    expected.comments = {"keep-alive"};
    check_all_modes(": keep-alive\n\n", expected);
}

// ---------------------------------------------------------------------------------------
// Fields

TEST_CASE("parser: the field name ends at the first colon, the value keeps later ones")
{
    check_all_modes("data: a:b: c\n\n", events({message("a:b: c")}));
    check_all_modes("event:x:y\ndata\n\n", events({{"x:y", "", ""}}));
}

TEST_CASE("parser: exactly one leading U+0020 is removed from the value")
{
    check_all_modes("data:a\n\n", events({message("a")}));
    check_all_modes("data: a\n\n", events({message("a")}));
    check_all_modes("data:  a\n\n", events({message(" a")}));
    check_all_modes("data:\ta\n\n", events({message("\ta")}));
    check_all_modes("data: a \n\n", events({message("a ")}));
    check_all_modes("data:\xC2\xA0" "a\n\n", events({message("\xC2\xA0" "a")}));
}

TEST_CASE("parser: a line without a colon is a field with an empty value")
{
    // "data" alone appends an empty line to the data buffer.
    check_all_modes("data\n\n", events({message("")}));
    check_all_modes("data\ndata\n\n", events({message("\n")}));
    check_all_modes("data: a\ndata\n\n", events({message("a\n")}));
    check_all_modes("event\ndata: a\n\n", events({message("a")}));
}

TEST_CASE("parser: data lines are joined with LF and one trailing LF is removed")
{
    check_all_modes("data: a\ndata: b\ndata: c\n\n", events({message("a\nb\nc")}));
    check_all_modes("data:\n\n", events({message("")}));
    check_all_modes("data:\ndata:\n\n", events({message("\n")}));
}

TEST_CASE("parser: field names are case-sensitive")
{
    check_all_modes("Data: a\nDATA: b\nEvent: c\nID: 1\nRetry: 5\n\n", {});
    check_all_modes("data : a\n data: b\n\n", {});
}

TEST_CASE("parser: unknown fields are ignored")
{
    check_all_modes("foo: bar\ndata: a\nbaz\n\n", events({message("a")}));
}

TEST_CASE("parser: event sets the type buffer; the type is reset after dispatch")
{
    check_all_modes("event: add\ndata: 1\n\ndata: 2\n\n", events({{"add", "1", ""}, message("2")}));
    check_all_modes("event: a\nevent: b\ndata: x\n\n", events({{"b", "x", ""}}));
    check_all_modes("event:\ndata: x\n\n", events({message("x")}));
    check_all_modes("data: x\nevent: late\n\n", events({{"late", "x", ""}}));
}

TEST_CASE("parser: a blank line with empty data dispatches nothing and resets the type")
{
    check_all_modes("\n\n\r\n\r", {});
    check_all_modes("event: a\n\ndata: x\n\n", events({message("x")}));
}

TEST_CASE("parser: id sets the last event ID, committed at the blank line")
{
    check_all_modes("id: 1\ndata: a\n\ndata: b\n\n", events({message("a", "1"), message("b", "1")}, "1"));
    check_all_modes("data: a\nid: 2\n\n", events({message("a", "2")}, "2"));
    // Not committed without the blank line.
    check_all_modes("id: 1\ndata: a\n", events({}, ""));
    check_all_modes("id: 1\n", events({}, ""));
}

TEST_CASE("parser: an id without data changes last_event_id() without an event")
{
    check_all_modes("id: 5\n\n", events({}, "5"));
    check_all_modes("id: 5\n\ndata: a\n\n", events({message("a", "5")}, "5"));
}

TEST_CASE("parser: an empty id resets the last event ID")
{
    check_all_modes("id: 1\ndata: a\n\nid\ndata: b\n\n", events({message("a", "1"), message("b")}, ""));
    check_all_modes("id: 1\n\nid:\n\n", events({}, ""));
}

TEST_CASE("parser: an id containing U+0000 is ignored")
{
    check_all_modes("id: 1\n\nid: a\0b\ndata: x\n\n"sv, events({message("x", "1")}, "1"));
    check_all_modes("id: \0\n\n"sv, events({}, ""));
    // NUL elsewhere is data like any other character.
    check_all_modes("data: a\0b\n\n"sv, events({message("a\0b"s)}));
}

TEST_CASE("parser: retry with ASCII digits only sets the reconnection time")
{
    support::result expected = events({message("a")});
    expected.retries = {1000, 7, 0};
    check_all_modes("retry: 1000\nretry: 007\nretry:0\ndata: a\n\n", expected);

    for (auto bad : {"retry: 1a\n"sv, "retry: -1\n"sv, "retry: 1.5\n"sv, "retry:  5\n"sv, "retry\n"sv,
             "retry:\n"sv, "retry: +3\n"sv, "retry: 12 \n"sv, "retry: \xD9\xA1\n"sv, "retry: 1e3\n"sv}) {
        CAPTURE(bad);
        check_all_modes(bad, {});
    }
}

TEST_CASE("parser: a retry value too large for milliseconds saturates")
{
    support::result expected;
    expected.retries = {std::chrono::milliseconds::max().count()};
    check_all_modes("retry: 99999999999999999999999999999\n", expected);
    expected.retries = {9223372036854775807};
    check_all_modes("retry: 9223372036854775807\n", expected);
    check_all_modes("retry: 9223372036854775808\n", expected);
}

TEST_CASE("parser: retry() keeps the last valid value")
{
    sse::parser p;
    CHECK_FALSE(p.retry().has_value());
    p.feed("retry: 100\nretry: x\n", [](sse::event_view const&) {});
    REQUIRE(p.retry().has_value());
    CHECK(*p.retry() == 100ms);
}

// ---------------------------------------------------------------------------------------
// UTF-8 (WHATWG HTML 9.2.6: streams are decoded with the Encoding standard's UTF-8 decode)

TEST_CASE("parser: a leading BOM is stripped, also when split")
{
    check_all_modes("\xEF\xBB\xBF" "data: a\n\n", events({message("a")}));
    check_all_modes("\xEF\xBB\xBF\n" "data: a\n\n", events({message("a")}));
    check_all_modes("\xEF\xBB\xBF", {});
    auto const got = support::parse_chunks({"\xEF", "\xBB", "\xBF" "da", "ta: a\n\n"});
    CHECK(got == events({message("a")}));
}

TEST_CASE("parser: only one BOM is stripped; a later one is kept")
{
    check_all_modes("\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", events({message("b")}));
    check_all_modes("\n\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", events({message("b")}));
    check_all_modes("data: \xEF\xBB\xBF" "a\n\n", events({message("\xEF\xBB\xBF" "a")}));
}

TEST_CASE("parser: the start of a BOM that does not complete is ill-formed UTF-8")
{
    check_all_modes("\xEF\xBB" "data: a\n\ndata: b\n\n", events({message("b")}));
    check_all_modes("\xEF" "data: a\n\ndata: b\n\n", events({message("b")}));
    check_all_modes("\xEF\xBB\n\ndata: b\n\n", events({message("b")}));
    check_all_modes("\xEF\xBB\xBE" "data: a\n\ndata: b\n\n", events({message("b")}));
    // An EF BB that starts a valid sequence other than the BOM is that character.
    check_all_modes("\xEF\xBB\xBE\n", {});
    check_all_modes("\xEF\xBB\xBE" "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", {});
}

TEST_CASE("parser: ill-formed UTF-8 becomes one U+FFFD per maximal subpart")
{
    auto const fffd = "\xEF\xBF\xBD"s;
    check_all_modes("data: a\x80" "b\n\n", events({message("a" + fffd + "b")}));
    check_all_modes("data: \xFF\xFE\n\n", events({message(fffd + fffd)}));
    // Overlong forms.
    check_all_modes("data: \xC0\xAF\n\n", events({message(fffd + fffd)}));
    check_all_modes("data: \xE0\x80\xAF\n\n", events({message(fffd + fffd + fffd)}));
    check_all_modes("data: \xF0\x8F\xBF\xBF\n\n", events({message(fffd + fffd + fffd + fffd)}));
    // Surrogates, and code points above U+10FFFF.
    check_all_modes("data: \xED\xA0\x80\n\n", events({message(fffd + fffd + fffd)}));
    check_all_modes("data: \xF4\x90\x80\x80\n\n", events({message(fffd + fffd + fffd + fffd)}));
    // Truncated sequences.
    check_all_modes("data: \xF0\x9F\x98" "a\n\n", events({message(fffd + "a")}));
    check_all_modes("data: \xE2\x82\xE2\x82\xAC\n\n", events({message(fffd + "\xE2\x82\xAC")}));
    // Ill-formed bytes in field names make them unknown.
    check_all_modes("dat\x80: a\n\n", {});
}

TEST_CASE("parser: a sequence cut off by a line end is one U+FFFD")
{
    auto const fffd = "\xEF\xBF\xBD"s;
    check_all_modes("data: \xF0\x9F\x98\ndata: \xE2\x82\r\n\n", events({message(fffd + "\n" + fffd)}));
    check_all_modes("data: \xC3\r\n\r\n", events({message(fffd)}));
}

TEST_CASE("parser: well-formed UTF-8 passes through, also split inside a character")
{
    std::string const text = "\xE2\x82\xAC \xF0\x9F\x98\x80 \xC3\xA9 \xF4\x8F\xBF\xBF \xEF\xBF\xBF";
    check_all_modes("event: \xC3\xA9v\ndata: " + text + "\nid: \xF0\x9F\x98\x80\n\n",
        events({{"\xC3\xA9v", text, "\xF0\x9F\x98\x80"}}, "\xF0\x9F\x98\x80"));
}

TEST_CASE("parser: a truncated sequence at the end of the stream is discarded with the line")
{
    check_all_modes("data: a\n\n\xE2\x82", events({message("a")}));
    check_all_modes("data: a\n\ndata: \xF0\x9F", events({message("a")}));
    // Nothing of it carries over into the next stream.
    sse::parser p;
    std::vector<std::string> got;
    auto const collect = [&](sse::event_view const& e) { got.emplace_back(e.data); };
    p.feed("data: a\n\ndata\xE2\x82", collect);
    p.finish();
    p.feed("\xAC: b\ndata: c\n\n", collect);
    CHECK(got == std::vector<std::string>{"a", "c"});
}

// ---------------------------------------------------------------------------------------
// End of stream (WHATWG HTML 9.2.6: an incomplete event is not dispatched)

TEST_CASE("parser: an unfinished event is discarded at the end of the stream")
{
    check_all_modes("data: a\n", {});
    check_all_modes("data: a", {});
    check_all_modes("data: a\n\ndata: b\n", events({message("a")}));
    check_all_modes("data: a\n\nevent: x\ndata: b\r", events({message("a")}));
}

TEST_CASE("parser: finish() drops partial state; the next bytes start a new stream")
{
    sse::parser p;
    std::vector<std::string> got;
    auto const collect = [&](sse::event_view const& e) { got.emplace_back(std::string(e.type) + "/" + std::string(e.data)); };
    p.feed("event: x\ndata: a\nid: 9\n", collect);
    p.finish();
    CHECK(p.last_event_id().empty());
    // The new stream strips its own BOM.
    p.feed("data: b\r\r", collect);
    p.finish();
    p.feed("\xEF\xBB\xBF" "data: c\n\n", collect);
    CHECK(got == std::vector<std::string>{"message/b", "message/c"});
}

TEST_CASE("parser: long inputs with one kind of line end, or alternating kinds")
{
    // Long enough for the remembered CR and LF positions to be used across many lines.
    for (std::string_view eol : {"\n"sv, "\r"sv, "\r\n"sv, "mixed"sv}) {
        CAPTURE(eol);
        std::string stream;
        support::result expected;
        for (int i = 0; i < 200; ++i) {
            std::string const end = eol != "mixed" ? std::string(eol) : i % 3 == 0 ? "\n" : i % 3 == 1 ? "\r" : "\r\n";
            std::string const data = "event " + std::to_string(i) + std::string(static_cast<std::size_t>(i % 40), '.');
            stream += "id: " + std::to_string(i) + end + "data: " + data + end + end;
            expected.events.push_back(message(data, std::to_string(i)));
        }
        expected.last_event_id = "199";
        CHECK(support::parse(feed_mode::whole, stream) == expected);
        CHECK(support::parse(feed_mode::byte_at_a_time, stream) == expected);
        CHECK(support::parse(feed_mode::random_chunks, stream) == expected);
        CHECK(support::parse_chunks({std::string_view(stream).substr(0, 1001), std::string_view(stream).substr(1001)}) ==
              expected);
    }
}

// ---------------------------------------------------------------------------------------
// The pull interface

TEST_CASE("parser: next() returns one item at a time and advances the input")
{
    sse::parser p;
    std::string_view const all = "data: a\n\n: c\nretry: 5\nid: 3\n\nevent: t\ndata: b\n\ndata: partial";
    std::string_view in = all;
    std::error_code ec;

    REQUIRE(p.next(in, ec) == sse::parse_item::event);
    CHECK(p.event().type == "message");
    CHECK(p.event().data == "a");
    CHECK(p.event().last_event_id.empty());
    CHECK(in.data() == all.data() + 9);

    REQUIRE(p.next(in, ec) == sse::parse_item::comment);
    CHECK(p.comment() == "c");

    REQUIRE(p.next(in, ec) == sse::parse_item::retry);
    CHECK(p.retry() == 5ms);

    REQUIRE(p.next(in, ec) == sse::parse_item::event);
    CHECK(p.last_event_id() == "3");
    CHECK(p.event().type == "t");
    CHECK(p.event().data == "b");
    CHECK(p.event().last_event_id == "3");

    CHECK(p.next(in, ec) == sse::parse_item::need_more);
    CHECK(in.empty());
    CHECK_FALSE(ec);

    std::string_view rest = "\n\n";
    REQUIRE(p.next(rest, ec) == sse::parse_item::event);
    CHECK(p.event().data == "partial");
}

TEST_CASE("parser: the event view is valid until the next call")
{
    sse::parser p;
    std::string chunk = "event: e\ndata: x\n\n";
    std::string_view in = chunk;
    std::error_code ec;
    REQUIRE(p.next(in, ec) == sse::parse_item::event);
    sse::event_view const view = p.event();
    chunk.assign(chunk.size(), '#');   // the caller's buffer may be reused at once
    CHECK(view.type == "e");
    CHECK(view.data == "x");
}

TEST_CASE("parser: next() may be given other bytes after an item")
{
    // The remembered CR/LF positions must not leak into unrelated input.
    sse::parser p;
    std::string a = "data: 1\n\ndata: 2\rdata: 3\n\n";
    std::string_view in = a;
    std::error_code ec;
    REQUIRE(p.next(in, ec) == sse::parse_item::event);
    std::string b(in);   // the rest, at another address
    std::string_view in2 = b;
    REQUIRE(p.next(in2, ec) == sse::parse_item::event);
    CHECK(p.event().data == "2\n3");
    std::string c = "data: 4\r\r";
    std::string_view in3 = c;
    REQUIRE(p.next(in3, ec) == sse::parse_item::event);
    CHECK(p.event().data == "4");
}

TEST_CASE("parser: a reused input buffer with new bytes is scanned afresh")
{
    // Same address and size both times, different line ends: nothing remembered about the
    // first bytes may apply to the second.
    sse::parser p;
    std::error_code ec;
    std::string buffer = "data: " + std::string(32, 'x') + "\nd";
    std::string_view in = buffer;
    CHECK(p.next(in, ec) == sse::parse_item::need_more);
    std::string const second = "ata: y\rdata: " + std::string(25, 'z') + "\r\r";
    REQUIRE(second.size() == buffer.size());
    buffer.replace(0, buffer.size(), second);
    in = buffer;
    REQUIRE(p.next(in, ec) == sse::parse_item::event);
    CHECK(p.event().data == std::string(32, 'x') + "\ny\n" + std::string(25, 'z'));
}

// ---------------------------------------------------------------------------------------
// The push interface

namespace {

struct events_only
{
    std::vector<std::string> data;
    void on_event(sse::event_view const& e) { data.emplace_back(e.data); }
};

struct full_handler
{
    std::vector<std::string> log;
    void on_event(sse::event_view const& e) { log.push_back("event " + std::string(e.data)); }
    void on_retry(std::chrono::milliseconds ms) { log.push_back("retry " + std::to_string(ms.count())); }
    void on_comment(std::string_view c) { log.push_back("comment " + std::string(c)); }
};

} // namespace

TEST_CASE("parser: feed() takes a callable or an object with optional members")
{
    std::string_view const stream = ": hi\nretry: 10\ndata: a\n\n";
    SUBCASE("callable")
    {
        sse::parser p;
        int count = 0;
        p.feed(stream, [&](sse::event_view const& e) {
            ++count;
            CHECK(e.data == "a");
        });
        CHECK(count == 1);
        CHECK(p.retry() == 10ms);
    }
    SUBCASE("on_event only")
    {
        sse::parser p;
        events_only h;
        p.feed(stream, h);
        CHECK(h.data == std::vector<std::string>{"a"});
    }
    SUBCASE("all members, as an rvalue too")
    {
        sse::parser p;
        full_handler h;
        std::error_code ec;
        p.feed(stream, h, ec);
        CHECK_FALSE(ec);
        CHECK(h.log == std::vector<std::string>{"comment hi", "retry 10", "event a"});
        p.feed("data: b\n\n", full_handler{});
    }
}

TEST_CASE("parser: the throwing feed() reports errors as std::system_error")
{
    sse::parser p({8, 1024});
    try {
        p.feed("data: too long\n", [](sse::event_view const&) {});
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::line_too_long);
        CHECK(e.code() == sse::condition::recoverable);
    }
}

// ---------------------------------------------------------------------------------------
// Last event ID across connections

TEST_CASE("parser: last_event_id() can be seeded for a resuming client")
{
    sse::parser p;
    p.last_event_id("42");
    std::vector<std::string> ids;
    auto const collect = [&](sse::event_view const& e) { ids.emplace_back(e.last_event_id); };
    p.feed("data: a\n\n\nid: 43\ndata: b\n\nid\ndata: c\n\n", collect);
    CHECK(ids == std::vector<std::string>{"42", "43", ""});
    CHECK(p.last_event_id().empty());
}

TEST_CASE("parser: reset() keeps last_event_id and retry, drops partial state, expects a BOM")
{
    sse::parser p;
    std::vector<std::string> got;
    auto const collect = [&](sse::event_view const& e) {
        got.push_back(std::string(e.data) + "@" + std::string(e.last_event_id));
    };
    p.feed("retry: 3000\nid: 7\ndata: a\n\nid: 8\ndata: partial\n", collect);
    p.reset();
    CHECK(p.last_event_id() == "7");
    CHECK(p.retry() == 3000ms);
    // The uncommitted id 8 is gone; a blank line on the new connection keeps id 7.
    p.feed("\xEF\xBB\xBF\ndata: b\n\n", collect);
    CHECK(got == std::vector<std::string>{"a@7", "b@7"});
    CHECK(p.last_event_id() == "7");
}

// ---------------------------------------------------------------------------------------
// Limits

TEST_CASE("parser: a line of exactly max_line bytes is accepted, one more fails")
{
    sse::parser_limits const limits{16, 1024};
    // "data: " and 10 bytes: 16, without the line end.
    check_all_modes("data: 0123456789\r\n\r\n", events({message("0123456789")}), limits);
    check_all_modes("data: 012345678\n\n", events({message("012345678")}), limits);
    support::result expected;
    expected.ec = sse::error::line_too_long;
    check_all_modes("data: 0123456789A\n\n", expected, limits);
    // Comments and unknown fields count as well.
    check_all_modes(": 0123456789ABCDEF\n", expected, limits);
}

TEST_CASE("parser: max_line counts bytes after decoding")
{
    sse::parser_limits const limits{8, 1024};
    // 7 bytes on the wire, 9 decoded.
    support::result expected;
    expected.ec = sse::error::line_too_long;
    check_all_modes("data: \x80\n\n", expected, limits);
    check_all_modes("data: \xC3\xA9\n\n", events({message("\xC3\xA9")}), limits);
}

TEST_CASE("parser: a line over max_line fails before its line end arrives")
{
    sse::parser p({16, 1024});
    std::error_code ec;
    std::vector<std::string> got;
    p.feed("data: a\n\ndata: 0123456789A", [&](sse::event_view const& e) { got.emplace_back(e.data); }, ec);
    CHECK(got == std::vector<std::string>{"a"});
    CHECK(ec == sse::error::line_too_long);
    CHECK(p.failed());
}

TEST_CASE("parser: event data beyond max_event fails")
{
    sse::parser_limits const limits{1024, 9};
    check_all_modes("data: abcd\ndata: efgh\n\n", events({message("abcd\nefgh")}), limits);
    support::result expected = events({message("ok")});
    expected.ec = sse::error::event_too_long;
    check_all_modes("data: ok\n\ndata: abcd\ndata: efghi\n\ndata: c\n\n", expected, limits);
    expected.events.clear();
    check_all_modes("data: 0123456789\n\n", expected, limits);
}

TEST_CASE("parser: events before an error are delivered, nothing after")
{
    sse::parser_limits const limits{12, 1024};
    support::result expected = events({message("a", "1"), message("b", "1")}, "1");
    expected.comments = {"c"};
    expected.ec = sse::error::line_too_long;
    check_all_modes("id: 1\ndata: a\n\n: c\ndata: b\n\ndata: far too long\n\ndata: d\n\n", expected, limits);
}

TEST_CASE("parser: a failed parser stays failed until reset()")
{
    sse::parser p({8, 1024});
    std::string_view in = "data: too long\n\n";
    std::error_code ec;
    CHECK(p.next(in, ec) == sse::parse_item::need_more);
    CHECK(ec == sse::error::line_too_long);
    CHECK(p.failed());

    std::string_view more = "data\n\n";
    ec = {};
    CHECK(p.next(more, ec) == sse::parse_item::need_more);
    CHECK(ec == sse::error::line_too_long);
    CHECK(more == "data\n\n");   // not consumed
    p.finish();
    CHECK(p.failed());

    p.reset();
    CHECK_FALSE(p.failed());
    CHECK(p.next(more, ec) == sse::parse_item::event);
    CHECK_FALSE(ec);
    CHECK(p.event().data.empty());
}

TEST_CASE("parser: buffers never grow past the limits")
{
    std::size_t const max_line = 100, max_event = 4096;
    // Each buffer may exceed its limit by the allocator's rounding; data by one LF.
    std::size_t const bound = (max_event + 1) + 4 * max_line + 5 * 64;
    std::string const line = "data: " + std::string(max_line - 6, 'x') + "\n";

    for (auto chunk_size : {std::size_t{1}, std::size_t{7}, std::size_t{100000}}) {
        CAPTURE(chunk_size);
        sse::parser p({max_line, max_event});
        std::string stream = "id: " + std::string(max_line - 4, 'i') + "\nevent: " + std::string(max_line - 7, 'e') +
                             "\n:" + std::string(max_line - 1, 'c') + "\r\n" + "data: \x80\x80\x80\x80\n";
        while (stream.size() < 3 * max_event)
            stream += line;
        std::error_code ec;
        for (std::size_t i = 0; i < stream.size() && !ec; i += chunk_size) {
            p.feed(std::string_view(stream).substr(i, chunk_size), [](sse::event_view const&) {}, ec);
            CHECK(p.buffer_capacity() <= bound);
        }
        CHECK(ec == sse::error::event_too_long);
        CHECK(p.buffer_capacity() <= bound);

        // A long line fails as soon as it passes max_line, whatever the chunking.
        p.reset();
        std::string const long_line = "data: " + std::string(10 * max_line, 'y');
        ec = {};
        for (std::size_t i = 0; i < long_line.size() && !ec; i += chunk_size) {
            p.feed(std::string_view(long_line).substr(i, chunk_size), [](sse::event_view const&) {}, ec);
            CHECK(p.buffer_capacity() <= bound);
        }
        CHECK(ec == sse::error::line_too_long);
    }
}

TEST_CASE("parser: no buffer is reallocated per event in steady state")
{
    // The only heap memory the parser uses is its buffers: once they have grown to fit
    // the traffic, their capacity stays put, so events cost no allocation.
    sse::parser p;
    std::string stream;
    for (int i = 0; i < 50; ++i)
        stream += "event: tick\nid: " + std::to_string(1000 + i) + "\ndata: " + std::string(90, 'x') +
                  "\ndata: second line\n\n";
    std::size_t count = 0;
    auto const count_events = [&](sse::event_view const&) { ++count; };
    for (auto chunk : {std::size_t{1}, std::size_t{13}, stream.size()}) {
        for (std::size_t i = 0; i < stream.size(); i += chunk)
            p.feed(std::string_view(stream).substr(i, chunk), count_events);
    }
    std::size_t const warmed = p.buffer_capacity();
    for (auto chunk : {std::size_t{1}, std::size_t{13}, stream.size()}) {
        for (std::size_t i = 0; i < stream.size(); i += chunk)
            p.feed(std::string_view(stream).substr(i, chunk), count_events);
        CHECK(p.buffer_capacity() == warmed);
    }
    CHECK(count == 300);
}

// ---------------------------------------------------------------------------------------
// Shared vectors: tests/vectors/parser_events.txt (format described in the file)

namespace {

struct vector_case
{
    std::string name;
    std::string input;
    sse::parser_limits limits;
    support::result expected;
};

std::string unescape(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out.push_back(s[i]);
            continue;
        }
        switch (s[++i]) {
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case '0': out.push_back('\0'); break;
        case '\\': out.push_back('\\'); break;
        case 'x':
            REQUIRE(i + 2 < s.size());
            out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
            i += 2;
            break;
        default: FAIL("bad escape in " << s);
        }
    }
    return out;
}

std::vector<vector_case> load_parser_vectors()
{
    std::ifstream file(SSE_TEST_VECTORS_DIR "/parser_events.txt", std::ios::binary);
    REQUIRE(file.is_open());
    std::vector<vector_case> cases;
    std::string line;
    while (std::getline(file, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        if (line.rfind("=== ", 0) == 0) {
            cases.push_back({line.substr(4), {}, {}, {}});
            continue;
        }
        REQUIRE_FALSE(cases.empty());
        auto& c = cases.back();
        auto const colon = line.find(':');
        REQUIRE(colon != std::string::npos);
        std::string const key = line.substr(0, colon);
        std::string const raw = line.size() > colon + 2 ? line.substr(colon + 2) : "";
        std::string const value = unescape(raw);
        if (key == "input")
            c.input += value;
        else if (key == "max_line")
            c.limits.max_line = std::stoul(value);
        else if (key == "max_event")
            c.limits.max_event = std::stoul(value);
        else if (key == "event")
            c.expected.events.push_back({value, "", ""});
        else if (key == "data")
            c.expected.events.back().data = value;
        else if (key == "id")
            c.expected.events.back().id = value;
        else if (key == "comment")
            c.expected.comments.push_back(value);
        else if (key == "retry")
            c.expected.retries.push_back(std::stoll(value));
        else if (key == "last_event_id")
            c.expected.last_event_id = value;
        else if (key == "error")
            c.expected.ec = value == "line_too_long" ? sse::make_error_code(sse::error::line_too_long)
                                                     : sse::make_error_code(sse::error::event_too_long);
        else
            FAIL("unknown key " << key);
    }
    return cases;
}

} // namespace

TEST_CASE("parser: shared vectors, in every feed mode")
{
    auto const cases = load_parser_vectors();
    REQUIRE(cases.size() >= 30);
    for (auto const& c : cases) {
        CAPTURE(c.name);
        check_all_modes(c.input, c.expected, c.limits);
    }
}

// ---------------------------------------------------------------------------------------
// A plain reference implementation, written straight from the spec's steps with no
// incremental state, against which the parser is compared on random streams.

namespace {

support::result reference_parse(std::string_view input)
{
    // UTF-8 decode: strip one BOM, then decode the whole stream at once.
    if (input.substr(0, 3) == "\xEF\xBB\xBF")
        input.remove_prefix(3);
    std::string text;
    sse::detail::utf8_decoder decoder;
    std::size_t const unlimited = static_cast<std::size_t>(-1);
    decoder.decode(input.data(), input.data() + input.size(), text, unlimited);
    decoder.flush(text, unlimited);

    // Lines: only those followed by a line end exist.
    std::vector<std::string> lines;
    std::string current;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char const c = text[i];
        if (c == '\r' || c == '\n') {
            lines.push_back(current);
            current.clear();
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')
                ++i;
        } else {
            current.push_back(c);
        }
    }

    support::result r;
    std::string data, type, id_buffer;
    for (auto const& line : lines) {
        if (line.empty()) {
            r.last_event_id = id_buffer;
            if (data.empty()) {
                type.clear();
                continue;
            }
            data.pop_back();
            r.events.push_back({type.empty() ? "message" : type, data, r.last_event_id});
            data.clear();
            type.clear();
            continue;
        }
        if (line[0] == ':') {
            r.comments.push_back(line.substr(line.size() > 1 && line[1] == ' ' ? 2 : 1));
            continue;
        }
        auto const colon = line.find(':');
        std::string const field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ')
            value.erase(0, 1);
        if (field == "event") {
            type = value;
        } else if (field == "data") {
            data += value + "\n";
        } else if (field == "id") {
            if (value.find('\0') == std::string::npos)
                id_buffer = value;
        } else if (field == "retry") {
            if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
                long long ms = 0;
                for (char c : value)
                    ms = ms > (LLONG_MAX - (c - '0')) / 10 ? LLONG_MAX : ms * 10 + (c - '0');
                r.retries.push_back(ms);
            }
        }
    }
    return r;
}

std::string random_stream(std::mt19937& rng)
{
    static char const* const pieces[] = {"data", "data:", "data: ", "event: ", "id: ", "id", "retry: ", ":",
        " ", "x", "42", "7", "\n", "\n", "\r", "\r\n", "\n\n", "\0", "\xEF\xBB\xBF", "\xEF", "\xBB", "\xBF",
        "\x80", "\xC3\xA9", "\xC3", "\xE2\x82\xAC", "\xE2\x82", "\xF0\x9F\x98\x80", "\xF0\x9F", "\xED\xA0\x80",
        "\xF4\x90", "\xFF", "Data", "retry", "event"};
    std::uniform_int_distribution<std::size_t> pick(0, std::size(pieces) - 1);
    std::uniform_int_distribution<int> length(1, 40);
    std::string s;
    for (int n = length(rng); n > 0; --n) {
        std::size_t const i = pick(rng);
        s += i == 17 ? std::string(1, '\0') : std::string(pieces[i]);
    }
    return s;
}

} // namespace

TEST_CASE("parser: agrees with a plain reference implementation on random streams")
{
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::string const input = random_stream(rng);
        CAPTURE(input);
        auto const expected = reference_parse(input);
        CHECK(support::parse(feed_mode::whole, input) == expected);
        CHECK(support::parse(feed_mode::byte_at_a_time, input) == expected);
        CHECK(support::parse(feed_mode::random_chunks, input) == expected);
        CHECK_FALSE(support::first_split_mismatch(input).has_value());
    }
}

// ---------------------------------------------------------------------------------------
// The example of docs/parser.md, verbatim.

// docs/parser.md examples begin
#include <sse/parser.hpp>
#include <iostream>

int docs_example()
{
    sse::parser parser;   // default limits: 64 KiB lines, 1 MiB events

    // Bytes arrive in arbitrary pieces, as from a socket.
    for (std::string_view chunk : {"retry: 3000\nid: 1\nevent: greet", "ing\ndata: hello\ndata: wor", "ld\n\n"}) {
        std::error_code ec;
        parser.feed(chunk, [](sse::event_view const& e) {
            std::cout << e.type << " #" << e.last_event_id << ": " << e.data << '\n';
        }, ec);
        if (ec) {   // a limit was exceeded: drop the connection
            std::cerr << ec.message() << '\n';
            return 1;
        }
    }
    parser.finish();   // end of stream: an unfinished event is discarded

    // Reconnect with `Last-Event-ID: <parser.last_event_id()>` after `*parser.retry()`.
    std::cout << "resume after " << parser.last_event_id() << " in " << parser.retry()->count() << " ms\n";
    return 0;
}

std::size_t count_events(sse::parser& parser, std::string_view input, std::error_code& ec)
{
    std::size_t events = 0;
    for (;;) {
        switch (parser.next(input, ec)) {
        case sse::parse_item::need_more:   // input used up, or ec set
            return events;
        case sse::parse_item::event:       // parser.event(): type, data, last_event_id
            ++events;
            break;
        case sse::parse_item::retry:       // *parser.retry()
        case sse::parse_item::comment:     // parser.comment()
            break;
        }
    }
}
// docs/parser.md examples end

TEST_CASE("parser: the docs/parser.md examples run")
{
    sse::parser pull;
    std::error_code ec;
    CHECK(count_events(pull, "data: a\n\n: c\nretry: 1\ndata: b\n\ndata: c", ec) == 2);
    CHECK_FALSE(ec);
    CHECK(count_events(pull, "\n\n", ec) == 1);

    std::ostringstream out;
    auto* const old = std::cout.rdbuf(out.rdbuf());
    int const status = docs_example();
    std::cout.rdbuf(old);
    CHECK(status == 0);
    CHECK(out.str() == "greeting #1: hello\nworld\nresume after 1 in 3000 ms\n");
}
