#include <sse/http/response_head.hpp>
#include <doctest/doctest.h>
#include "support/http_feed.hpp"

#include <sse/http/response_parser.hpp>
#include <string>

namespace http = sse::http;
using sse::error;

namespace {

support::http::outcome<http::response_parser> parse(std::string const& in)
{
    return support::http::parse_all<http::response_parser>(in, http::response_limits{}, false);
}

http::response_head head(std::string const& status_and_fields)
{
    auto r = parse("HTTP/1.1 " + status_and_fields + "\r\n");
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.parser.done());
    return r.parser.release();
}

} // namespace

TEST_CASE("http response: is_event_stream reads the media type only")
{
    for (char const* ct : {"text/event-stream", "TEXT/Event-Stream", "text/event-stream;charset=utf-8",
                           "text/event-stream ; charset=\"utf-8\"", "\ttext/event-stream\t", "text/event-stream;"}) {
        CAPTURE(ct);
        CHECK(head(std::string("200 OK\r\nContent-Type: ") + ct + "\r\n").is_event_stream());
    }
    for (char const* ct : {"text/plain", "text/event-streams", "text/event", "text / event-stream",
                           "application/json; x=text/event-stream", "", "text/event-stream,text/plain"}) {
        CAPTURE(ct);
        CHECK_FALSE(head(std::string("200 OK\r\nContent-Type: ") + ct + "\r\n").is_event_stream());
    }
    CHECK_FALSE(head("200 OK\r\n").is_event_stream());
    CHECK(head("200 OK\r\ncontent-type: text/event-stream\r\nContent-Type: text/event-stream;a=b\r\n")
              .is_event_stream());
    CHECK_FALSE(head("200 OK\r\nContent-Type: text/event-stream\r\nContent-Type: text/html\r\n").is_event_stream());
}

TEST_CASE("http response: body framing follows RFC 9112 6.3")
{
    struct row
    {
        char const* head;
        http::framing framing;
        std::uint64_t length;
        bool keep_alive;
    };
    using f = http::framing;
    for (row const& r : {
             row{"200 OK\r\n", f::until_close, 0, false},
             row{"200 OK\r\nContent-Length: 12\r\n", f::length, 12, true},
             row{"200 OK\r\nContent-Length: 12, 12\r\nContent-Length: 12\r\n", f::length, 12, true},
             row{"200 OK\r\nContent-Length: 0\r\n", f::length, 0, true},
             row{"200 OK\r\nTransfer-Encoding: chunked\r\n", f::chunked, 0, true},
             row{"200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n", f::chunked, 0, true},
             // Transfer-Encoding overrides Content-Length, but the pair smells of smuggling.
             row{"200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n", f::chunked, 0, false},
             row{"200 OK\r\nContent-Length: nonsense\r\nTransfer-Encoding: chunked\r\n", f::chunked, 0, false},
             // A final coding other than chunked: the body ends at close.
             row{"200 OK\r\nTransfer-Encoding: gzip\r\n", f::until_close, 0, false},
             row{"200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 5\r\n", f::until_close, 0, false},
             row{"200 OK\r\nTransfer-Encoding: chunked, chunked\r\n", f::until_close, 0, false},
             row{"200 OK\r\nTransfer-Encoding: chunked;\r\n", f::until_close, 0, false},
             // No body at all for 1xx, 204 and 304, whatever the fields say.
             row{"204 No Content\r\nContent-Length: 5\r\n", f::none, 0, true},
             row{"304 Not Modified\r\nTransfer-Encoding: chunked\r\n", f::none, 0, true},
             row{"101 Switching Protocols\r\n", f::none, 0, true},
             row{"199 x\r\nContent-Length: bad\r\n", f::none, 0, true},
             row{"205 Reset\r\nContent-Length: 0\r\nConnection: close\r\n", f::length, 0, false},
         }) {
        CAPTURE(r.head);
        http::response_head const h = head(r.head);
        CHECK(h.body_framing() == r.framing);
        CHECK(h.content_length() == r.length);
        CHECK(h.keep_alive() == r.keep_alive);
    }
}

TEST_CASE("http response: HTTP/1.0 framing and keep-alive")
{
    auto const te = parse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(te.parser.done());
    CHECK(te.parser.get().body_framing() == http::framing::until_close);
    CHECK_FALSE(te.parser.get().keep_alive());

    auto const ka = parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n");
    REQUIRE(ka.parser.done());
    CHECK(ka.parser.get().keep_alive());

    auto const plain = parse("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
    REQUIRE(plain.parser.done());
    CHECK_FALSE(plain.parser.get().keep_alive());
}

TEST_CASE("http response: a bad Content-Length fails the head")
{
    for (char const* cl : {"x", "-1", "1.0", "5, 6", "", " , ", "18446744073709551616", "1_000"}) {
        CAPTURE(cl);
        auto const r = parse(std::string("HTTP/1.1 200 OK\r\nContent-Length: ") + cl + "\r\n\r\n");
        CHECK(r.ec == error::bad_content_length);
        CHECK_FALSE(r.parser.done());
    }
    auto const two = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
    CHECK(two.ec == error::bad_content_length);
    auto const max = parse("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n");
    REQUIRE(max.parser.done());
    CHECK(max.parser.get().content_length() == 18446744073709551615u);
}

TEST_CASE("http response: Location and other fields come through fields()")
{
    http::response_head const h = head("307 Temporary Redirect\r\nLocation: /elsewhere\r\n");
    CHECK(h.status() == 307);
    CHECK(h.fields().find("location") == std::string_view("/elsewhere"));
}

TEST_CASE("http response: a default response_head is empty")
{
    http::response_head const h;
    CHECK(h.status() == 0);
    CHECK(h.reason().empty());
    CHECK(h.fields().empty());
    CHECK_FALSE(h.is_event_stream());
    CHECK_FALSE(h.keep_alive());
}
