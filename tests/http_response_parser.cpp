#include <sse/http/response_parser.hpp>
#include <doctest/doctest.h>
#include "support/http_feed.hpp"

#include <sse/http/chunked_decoder.hpp>
#include <string>
#include <system_error>
#include <vector>

namespace http = sse::http;
using sse::error;

namespace {

using outcome = support::http::outcome<http::response_parser>;

outcome parse(std::string_view input, http::response_limits limits = {}, bool every_position = true)
{
    return support::http::parse_all<http::response_parser>(input, limits, every_position);
}

std::size_t fails(std::string_view input, error e, http::response_limits limits = {}, bool every_position = true)
{
    return support::http::fails_with<http::response_parser>(input, e, limits, every_position);
}

} // namespace

TEST_CASE("http response: an event stream")
{
    std::string_view const head = "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/event-stream\r\n"
                                  "Cache-Control: no-cache\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n";
    std::string const in = std::string(head) + "5\r\ndata:\r\n";
    auto const r = parse(in);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.parser.done());
    CHECK(r.used == head.size());   // the body stays with the caller
    http::response_head const& h = r.parser.get();
    CHECK(h.status() == 200);
    CHECK(h.reason() == "OK");
    CHECK(h.version() == 11);
    CHECK(h.is_event_stream());
    CHECK(h.body_framing() == http::framing::chunked);
    CHECK(h.keep_alive());
    CHECK(h.fields().find("cache-control") == std::string_view("no-cache"));
}

TEST_CASE("http response: status lines")
{
    SUBCASE("reason phrases are kept as sent, and may be empty or missing")
    {
        struct row
        {
            char const* in;
            int status;
            char const* reason;
        };
        for (row const& r : {row{"HTTP/1.1 404 Not  Found\t\r\n\r\n", 404, "Not  Found\t"},
                             row{"HTTP/1.1 200 \r\n\r\n", 200, ""}, row{"HTTP/1.1 200\r\n\r\n", 200, ""},
                             row{"HTTP/1.1 200\n\n", 200, ""}, row{"HTTP/1.1 599 \xc3\xa9\x80\r\n\r\n", 599, "\xc3\xa9\x80"},
                             row{"HTTP/1.1 100 Continue\r\n\r\n", 100, "Continue"},
                             row{"HTTP/1.1 302 200 OK\r\n\r\n", 302, "200 OK"}}) {
            CAPTURE(r.in);
            auto const o = parse(r.in);
            REQUIRE(o.parser.done());
            CHECK(o.parser.get().status() == r.status);
            CHECK(o.parser.get().reason() == r.reason);
        }
    }
    SUBCASE("versions")
    {
        auto const o = parse("HTTP/1.0 200 OK\r\n\r\n");
        REQUIRE(o.parser.done());
        CHECK(o.parser.get().version() == 10);
        auto const o2 = parse("HTTP/1.5 200 OK\r\n\r\n");
        REQUIRE(o2.parser.done());
        CHECK(o2.parser.get().version() == 11);
        fails("HTTP/2.0 200 OK\r\n\r\n", error::bad_version);
        fails("HTTP/0.9 200 OK\r\n\r\n", error::bad_version);
    }
    SUBCASE("bad_status_line")
    {
        for (char const* in :
             {"HTTP/1.1 99 Low\r\n\r\n", "HTTP/1.1 600 High\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
              "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
              "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1\r\n\r\n", "HTTP/1.1 \r\n\r\n", "http/1.1 200 OK\r\n\r\n",
              "HTTP/1.10 200 OK\r\n\r\n", "HTTP/11 200 OK\r\n\r\n", "HTTP/1.1\t200 OK\r\n\r\n",
              "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n", "HTTP/1.1 200 OK\x7f\r\n\r\n",
              "\r\nHTTP/1.1 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n", "HTTP/1.1 200\tOK\r\n\r\n"}) {
            CAPTURE(in);
            fails(in, error::bad_status_line);
        }
    }
}

TEST_CASE("http response: malformed field lines")
{
    std::string const line = "HTTP/1.1 200 OK\r\n";
    for (std::string const& in :
         {line + "X: a\r\n b\r\n\r\n", line + " X: a\r\n\r\n", line + "X : a\r\n\r\n", line + ": a\r\n\r\n",
          line + "X\r\n\r\n", line + "X: a\rb\r\n\r\n", line + std::string("X: \0\r\n\r\n", 8),
          line + "X: a\r\n\rY\r\n"}) {
        CAPTURE(in);
        fails(in, error::bad_header);
    }
}

TEST_CASE("http response: bytes after the head are left to the caller")
{
    std::string const head = "HTTP/1.1 200 OK\nContent-Length: 3\n\n";
    auto const r = parse(head + "abcHTTP/1.1 200 OK\r\n");
    REQUIRE(r.parser.done());
    CHECK(r.used == head.size());
    CHECK(r.parser.get().body_framing() == http::framing::length);
    CHECK(r.parser.get().content_length() == 3);
}

TEST_CASE("http response: an interim 1xx head, then the final one")
{
    std::string const interim = "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n";
    std::string const final_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";
    std::string const in = interim + final_head;
    http::response_parser p;
    sse::error_code ec;
    std::string_view rest = in;
    rest.remove_prefix(p.feed(rest, ec));
    REQUIRE(p.done());
    CHECK(p.get().status() == 103);
    CHECK(p.get().body_framing() == http::framing::none);
    p.reset();
    rest.remove_prefix(p.feed(rest, ec));
    REQUIRE(p.done());
    CHECK(rest.empty());
    http::response_head const h = p.release();
    CHECK(h.status() == 200);
    CHECK(h.is_event_stream());
    CHECK(h.body_framing() == http::framing::until_close);
    CHECK_FALSE(h.keep_alive());
    CHECK_FALSE(p.done());
}

TEST_CASE("http response: the head size limit, at and one over")
{
    std::string const in = "HTTP/1.1 200 OK\r\nX: 12345\r\n\r\n";
    http::response_limits limits;
    limits.max_head = in.size();
    auto const ok = parse(in, limits);
    REQUIRE(ok.parser.done());
    limits.max_head = in.size() - 1;
    CHECK(fails(in, error::head_too_large, limits) == in.size() - 1);
}

TEST_CASE("http response: the field count limit, at and one over")
{
    http::response_limits limits;
    limits.max_fields = 2;
    std::string const head = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n";
    auto const ok = parse(head + "\r\n", limits);
    REQUIRE(ok.parser.done());
    CHECK(ok.parser.get().fields().size() == 2);
    CHECK(fails(head + "C: 3\r\n\r\n", error::too_many_headers, limits) == head.size());
}

TEST_CASE("http response: an endless line hits the limit without being buffered")
{
    std::string const piece(1000, 'x');
    for (std::string_view start : {"HTTP/1.1 200 ", "HTTP/1.1 200 OK\r\nX: ", "HTTP/1.1 200 OK\r\n"}) {
        CAPTURE(start);
        http::response_parser p;
        sse::error_code ec;
        std::size_t used = p.feed(start, ec);
        for (int i = 0; i < 1000 && !ec; ++i)
            used += p.feed(piece, ec);
        CHECK(ec == error::head_too_large);
        CHECK(used == p.limits().max_head);
    }
}

TEST_CASE("http response: a failure sticks until reset; the throwing feed")
{
    http::response_parser p;
    sse::error_code ec;
    CHECK(p.feed("HTTP/1.1 700", ec) == 11);
    CHECK(ec == error::bad_status_line);
    CHECK(p.feed("HTTP/1.1 200 OK\r\n\r\n", ec) == 0);
    CHECK(ec == error::bad_status_line);
    p.reset();
    CHECK(p.feed("HTTP/1.1 200 OK\r\n\r\n", ec) == 19);
    CHECK(p.done());
    CHECK(p.feed("more", ec) == 0);
    CHECK_FALSE(ec);

    http::response_parser q;
    CHECK_THROWS_AS(q.feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"), std::system_error);
}

namespace docs_example {

// The second example of docs/http.md, verbatim.
template<class OnData>
sse::error_code read_stream(std::vector<std::string_view> const& reads, OnData&& on_data)
{
    sse::http::response_parser head;
    sse::http::chunked_decoder chunked;
    sse::error_code ec;
    for (std::string_view input : reads) {
        if (!head.done()) {
            input.remove_prefix(head.feed(input, ec));
            if (ec)
                return ec;
            if (!head.done())
                continue;
            sse::http::response_head const& res = head.get();
            if (res.status() != 200)
                return sse::error::bad_status;
            if (!res.is_event_stream())
                return sse::error::bad_content_type;
        }
        if (head.get().body_framing() == sse::http::framing::chunked) {
            chunked.feed(input, on_data, ec);   // data arrives as views into input
            if (ec || chunked.done())
                return ec;   // a finished body means the server ended the stream
        } else {
            on_data(input);   // until_close; a Content-Length stream would count bytes here
        }
    }
    return ec;
}

} // namespace docs_example

TEST_CASE("http response: the docs/http.md client example")
{
    using docs_example::read_stream;
    std::string events;
    auto on_data = [&](std::string_view data) { events.append(data); };

    std::string const chunked = "HTTP/1.1 200 OK\r\n"
                                "Content-Type: text/event-stream; charset=utf-8\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n"
                                "d\r\ndata: hello\n\n\r\n"
                                "0\r\n\r\n";
    for (auto const& c : support::http::cuts(chunked.size(), false)) {
        CAPTURE(c.name);
        events.clear();
        CHECK_FALSE(read_stream(support::http::pieces(chunked, c), on_data));
        CHECK(events == "data: hello\n\n");
    }

    events.clear();
    CHECK_FALSE(read_stream({"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: a\n", "\n"}, on_data));
    CHECK(events == "data: a\n\n");

    CHECK(read_stream({"HTTP/1.1 204 No Content\r\n\r\n"}, on_data) == sse::error::bad_status);
    CHECK(read_stream({"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"}, on_data) ==
          sse::error::bad_content_type);
    CHECK(read_stream({"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Transfer-Encoding: chunked\r\n\r\nzz\r\n"},
                      on_data) == sse::error::bad_chunk);
}
