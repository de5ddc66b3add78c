#include <sse/http/request_parser.hpp>
#include <doctest/doctest.h>
#include "support/http_feed.hpp"

#include <string>
#include <system_error>
#include <vector>

namespace http = sse::http;
using sse::error;

namespace {

using outcome = support::http::outcome<http::request_parser>;

outcome parse(std::string_view input, http::request_limits limits = {}, bool every_position = true)
{
    return support::http::parse_all<http::request_parser>(input, limits, every_position);
}

std::size_t fails(std::string_view input, error e, http::request_limits limits = {}, bool every_position = true)
{
    return support::http::fails_with<http::request_parser>(input, e, limits, every_position);
}

} // namespace

TEST_CASE("http request: a simple GET")
{
    std::string_view const in = "GET /events?topic=a HTTP/1.1\r\n"
                                "Host: example.com\r\n"
                                "Accept: text/event-stream\r\n"
                                "Last-Event-ID: 42\r\n"
                                "\r\n";
    auto const r = parse(in);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.parser.done());
    CHECK(r.used == in.size());
    http::request_head const& h = r.parser.get();
    CHECK(h.method() == "GET");
    CHECK(h.target() == "/events?topic=a");
    CHECK(h.path() == "/events");
    CHECK(h.query() == "topic=a");
    CHECK(h.param("topic") == std::string_view("a"));
    CHECK(h.version() == 11);
    CHECK(h.fields().size() == 3);
    CHECK(h.fields().find("last-event-id") == std::string_view("42"));
    CHECK(h.keep_alive());
    CHECK(h.body_framing() == http::framing::none);
    CHECK(h.content_length() == 0);
}

TEST_CASE("http request: bare LF ends lines, and CRLF and LF may mix")
{
    std::string_view const in = "GET / HTTP/1.1\nHost: a\r\nX: 1\n\n";
    auto const r = parse(in);
    REQUIRE(r.parser.done());
    CHECK(r.used == in.size());
    CHECK(r.parser.get().fields().find("X") == std::string_view("1"));
    CHECK(r.parser.get().fields().find("host") == std::string_view("a"));
}

TEST_CASE("http request: empty lines before the request line are skipped")
{
    std::string_view const in = "\r\n\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    auto const r = parse(in);
    REQUIRE(r.parser.done());
    CHECK(r.used == in.size());
    CHECK(r.parser.get().method() == "GET");
}

TEST_CASE("http request: bytes after the head are left to the caller")
{
    std::string const first = "POST /in HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    std::string const second = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    std::string const in = first + "hello" + second;
    auto const r = parse(in);
    REQUIRE(r.parser.done());
    CHECK(r.used == first.size());
    CHECK(r.parser.get().body_framing() == http::framing::length);
    CHECK(r.parser.get().content_length() == 5);

    // The caller skips the body and feeds the pipelined request to a fresh parse.
    http::request_parser p;
    sse::error_code ec;
    std::string_view rest = in;
    rest.remove_prefix(p.feed(rest, ec));
    REQUIRE(p.done());
    CHECK(p.feed(rest, ec) == 0);   // nothing more is taken once done
    CHECK_FALSE(ec);
    http::request_head const h1 = p.release();
    CHECK(h1.path() == "/in");
    CHECK_FALSE(p.done());
    rest.remove_prefix(5);
    CHECK(p.feed(rest, ec) == second.size());
    REQUIRE(p.done());
    CHECK(p.get().path() == "/next");
}

TEST_CASE("http request: versions")
{
    SUBCASE("HTTP/1.0 closes unless asked to keep alive")
    {
        auto const r = parse("GET / HTTP/1.0\r\n\r\n");   // Host is optional in 1.0
        REQUIRE(r.parser.done());
        CHECK(r.parser.get().version() == 10);
        CHECK_FALSE(r.parser.get().keep_alive());
    }
    SUBCASE("a higher minor version reads as HTTP/1.1")
    {
        auto const r = parse("GET / HTTP/1.7\r\nHost: a\r\n\r\n");
        REQUIRE(r.parser.done());
        CHECK(r.parser.get().version() == 11);
    }
    SUBCASE("other major versions fail with bad_version")
    {
        fails("GET / HTTP/2.0\r\n\r\n", error::bad_version);
        fails("GET / HTTP/0.9\r\n\r\n", error::bad_version);
        fails("GET / HTTP/9.1\n\n", error::bad_version);
    }
}

TEST_CASE("http request: field values lose surrounding whitespace only")
{
    std::string_view const in = "GET / HTTP/1.1\r\nHost: a\r\n"
                                "A:  x  y \t\r\n"
                                "B:\r\n"
                                "C: \t \r\n"
                                "D:\tq\n"
                                "E: \x80\xff\"(),/:;<=>?@[\\]{}\r\n"
                                "\r\n";
    auto const r = parse(in);
    REQUIRE(r.parser.done());
    http::fields const& f = r.parser.get().fields();
    CHECK(f.find("A") == std::string_view("x  y"));
    CHECK(f.find("B") == std::string_view(""));
    CHECK(f.find("C") == std::string_view(""));
    CHECK(f.find("D") == std::string_view("q"));
    CHECK(f.find("E") == std::string_view("\x80\xff\"(),/:;<=>?@[\\]{}"));
    CHECK(f.size() == 6);
}

TEST_CASE("http request: methods are tokens, kept as sent")
{
    auto const r = parse("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", {}, false);
    CHECK(r.ec == error::bad_target);   // the asterisk-form is for OPTIONS only
    auto const r2 = parse("get / HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(r2.parser.done());
    CHECK(r2.parser.get().method() == "get");
    auto const r3 = parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(r3.parser.done());
    CHECK(r3.parser.get().path() == "*");
    CHECK(r3.parser.get().target() == "*");
}

TEST_CASE("http request: malformed request lines")
{
    SUBCASE("bad_method")
    {
        fails("G(T / HTTP/1.1\r\n\r\n", error::bad_method);
        fails("GET\x01 / HTTP/1.1\r\n\r\n", error::bad_method);
        fails("G\xc3\x89T / HTTP/1.1\r\n\r\n", error::bad_method);
        fails("GET\t/ HTTP/1.1\r\n\r\n", error::bad_method);
    }
    SUBCASE("bad_request_line")
    {
        fails(" GET / HTTP/1.1\r\n\r\n", error::bad_request_line);
        fails("GET  / HTTP/1.1\r\n\r\n", error::bad_request_line);
        fails("GET /  HTTP/1.1\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/1.1 \r\n\r\n", error::bad_request_line);
        fails("GET /\r\n\r\n", error::bad_request_line);
        fails("GET\r\n\r\n", error::bad_request_line);
        fails("GET / \r\n\r\n", error::bad_request_line);
        fails("GET / http/1.1\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/1.10\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/11\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/1.x\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/1.1\rX\r\n\r\n", error::bad_request_line);
        fails("GET / HTTP/1.1\r\r\n\r\n", error::bad_request_line);
        fails("\rGET / HTTP/1.1\r\n\r\n", error::bad_request_line);
    }
    SUBCASE("bad_target")
    {
        fails("GET /a#frag HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a\x7f HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a\tb HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /%zz HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /%0 HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a% HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a%00b HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a?x=%zz HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a?x=%00 HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET /a?%4 HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET * HTTP/1.1\r\n\r\n", error::bad_target);
        fails("CONNECT example.com:443 HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET ftp://example.com/ HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET http:/example.com/ HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET http:///x HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET http://user@example.com/ HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET 1http://a/ HTTP/1.1\r\n\r\n", error::bad_target);
        fails("GET ?a=1 HTTP/1.1\r\n\r\n", error::bad_target);
    }
}

TEST_CASE("http request: malformed field lines")
{
    std::string const line = "GET / HTTP/1.1\r\nHost: a\r\n";
    SUBCASE("obs-fold and whitespace after the request line")
    {
        fails(line + "X: a\r\n b\r\n\r\n", error::bad_header);
        fails(line + "X: a\r\n\tb\r\n\r\n", error::bad_header);
        fails("GET / HTTP/1.1\r\n Host: a\r\n\r\n", error::bad_header);
    }
    SUBCASE("whitespace between name and colon")
    {
        fails(line + "X : a\r\n\r\n", error::bad_header);
        fails(line + "X\t: a\r\n\r\n", error::bad_header);
    }
    SUBCASE("names that are not tokens, or missing")
    {
        fails(line + ": a\r\n\r\n", error::bad_header);
        fails(line + "X(y): a\r\n\r\n", error::bad_header);
        fails(line + "X\r\n\r\n", error::bad_header);
        fails(line + "X a\r\n\r\n", error::bad_header);
        fails(line + "\xc3\xa9: a\r\n\r\n", error::bad_header);
    }
    SUBCASE("control characters and bare CR in values")
    {
        fails(line + std::string("X: a\0b\r\n\r\n", 10), error::bad_header);
        fails(line + "X: a\rb\r\n\r\n", error::bad_header);
        fails(line + "X: a\x7f\r\n\r\n", error::bad_header);
        fails(line + "X: \x01\r\n\r\n", error::bad_header);
        fails(line + "X: a\x1b[0m\r\n\r\n", error::bad_header);
        fails(line + "X: a\r\r\n\r\n", error::bad_header);
        fails(line + "\rX: a\r\n\r\n", error::bad_header);
    }
    SUBCASE("Host missing or repeated")
    {
        fails("GET / HTTP/1.1\r\n\r\n", error::bad_header);
        fails(line + "host: b\r\n\r\n", error::bad_header);
        fails("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", error::bad_header);
    }
    SUBCASE("Transfer-Encoding that does not end with a single chunked")
    {
        fails(line + "Transfer-Encoding: gzip\r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: chunked, gzip\r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: chunked, chunked\r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: \r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: chunked;\r\n\r\n", error::bad_header);
        fails(line + "Transfer-Encoding: x;q=\"a, chunked\r\n\r\n", error::bad_header);
        fails("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", error::bad_header);
    }
}

TEST_CASE("http request: body framing")
{
    std::string const line = "POST / HTTP/1.1\r\nHost: a\r\n";
    SUBCASE("chunked")
    {
        for (char const* te : {"chunked", "CHUNKED", "gzip, chunked", "gzip;q=\"x,y\" ,chunked", ", chunked ,"}) {
            CAPTURE(te);
            auto const r = parse(line + "Transfer-Encoding: " + te + "\r\n\r\n", {}, false);
            REQUIRE(r.parser.done());
            CHECK(r.parser.get().body_framing() == http::framing::chunked);
        }
        auto const r = parse(line + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
        REQUIRE(r.parser.done());
        CHECK(r.parser.get().body_framing() == http::framing::chunked);
    }
    SUBCASE("Content-Length, repeated with one value")
    {
        for (char const* cl : {"Content-Length: 7\r\n", "Content-Length: 7, 7\r\n", "Content-Length: 007\r\n",
                               "Content-Length: 7\r\ncontent-length: 7\r\n"}) {
            CAPTURE(cl);
            auto const r = parse(line + cl + "\r\n", {}, false);
            REQUIRE(r.parser.done());
            CHECK(r.parser.get().body_framing() == http::framing::length);
            CHECK(r.parser.get().content_length() == 7);
        }
        auto const r = parse(line + "Content-Length: 18446744073709551615\r\n\r\n");
        REQUIRE(r.parser.done());
        CHECK(r.parser.get().content_length() == 18446744073709551615u);
        auto const r0 = parse(line + "Content-Length: 0\r\n\r\n");
        REQUIRE(r0.parser.done());
        CHECK(r0.parser.get().body_framing() == http::framing::length);
        CHECK(r0.parser.get().content_length() == 0);
    }
    SUBCASE("Content-Length that is malformed, conflicting or too large")
    {
        for (char const* cl :
             {"Content-Length: abc\r\n", "Content-Length: -1\r\n", "Content-Length: +1\r\n", "Content-Length: 1 2\r\n",
              "Content-Length: 5, 6\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n", "Content-Length:\r\n",
              "Content-Length: 5,\r\n", "Content-Length: 0x10\r\n", "Content-Length: 18446744073709551616\r\n",
              "Content-Length: 99999999999999999999999\r\n", "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n"}) {
            CAPTURE(cl);
            fails(line + cl + "\r\n", error::bad_content_length, {}, false);
        }
    }
}

TEST_CASE("http request: keep-alive follows the version and Connection")
{
    struct row
    {
        char const* in;
        bool keep;
    };
    for (row const& r : {row{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", true},
                         row{"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false},
                         row{"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false},
                         row{"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true},
                         row{"GET / HTTP/1.0\r\n\r\n", false},
                         row{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
                         row{"GET / HTTP/1.0\r\nConnection: Keep-Alive, close\r\n\r\n", false}}) {
        CAPTURE(r.in);
        auto const o = parse(r.in, {}, false);
        REQUIRE(o.parser.done());
        CHECK(o.parser.get().keep_alive() == r.keep);
    }
}

TEST_CASE("http request: the target limit, at and one over")
{
    http::request_limits limits;
    limits.max_target = 10;
    auto const ok = parse("GET /123456789 HTTP/1.1\r\nHost: a\r\n\r\n", limits);
    REQUIRE(ok.parser.done());
    CHECK(ok.parser.get().target() == "/123456789");

    // It fails on the eleventh octet of the target, before the line ends.
    std::size_t const used = fails("GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n", error::target_too_long, limits);
    CHECK(used == 4 + 10);
    CHECK(fails("GET /1234567890", error::target_too_long, limits) == 14);
}

TEST_CASE("http request: the head size limit, at and one over")
{
    std::string const in = "GET / HTTP/1.1\r\nHost: a\r\nX: 12345\r\n\r\n";
    http::request_limits limits;
    limits.max_head = in.size();
    auto const ok = parse(in, limits);
    REQUIRE(ok.parser.done());
    CHECK(ok.used == in.size());

    limits.max_head = in.size() - 1;
    CHECK(fails(in, error::head_too_large, limits) == in.size() - 1);

    // Leading empty lines count: they too could be sent forever.
    limits.max_head = in.size();
    CHECK(fails("\r\n" + in, error::head_too_large, limits) == in.size());
}

TEST_CASE("http request: the field count limit, at and one over")
{
    http::request_limits limits;
    limits.max_fields = 3;
    auto const ok = parse("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n", limits);
    REQUIRE(ok.parser.done());
    CHECK(ok.parser.get().fields().size() == 3);

    std::string const head = "GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n";
    // It fails on the first octet of the fourth field.
    CHECK(fails(head + "D: 3\r\n\r\n", error::too_many_headers, limits) == head.size());
    CHECK(fails(head + "D", error::too_many_headers, limits) == head.size());
}

TEST_CASE("http request: the query parameter limit, at and one over")
{
    http::request_limits limits;
    limits.max_params = 3;
    auto const ok = parse("GET /?a=1&&b&c=&& HTTP/1.1\r\nHost: a\r\n\r\n", limits);
    REQUIRE(ok.parser.done());
    CHECK(ok.parser.get().params().size() == 3);
    fails("GET /?a=1&b&c=&d HTTP/1.1\r\nHost: a\r\n\r\n", error::target_too_long, limits);
}

TEST_CASE("http request: an endless line hits the limit without being buffered")
{
    // A slowloris peer: the line never ends. The parser fails as soon as the
    // limit is crossed, having taken no more than the limit.
    std::string const piece(1000, 'a');
    SUBCASE("in the target")
    {
        http::request_parser p;
        sse::error_code ec;
        std::size_t used = p.feed("GET /", ec);
        for (int i = 0; i < 100 && !ec; ++i)
            used += p.feed(piece, ec);
        CHECK(ec == error::target_too_long);
        CHECK(used == 4 + p.limits().max_target);
    }
    SUBCASE("in a field value")
    {
        http::request_parser p;
        sse::error_code ec;
        std::size_t used = p.feed("GET / HTTP/1.1\r\nHost: a\r\nX: ", ec);
        for (int i = 0; i < 100 && !ec; ++i)
            used += p.feed(piece, ec);
        CHECK(ec == error::head_too_large);
        CHECK(used == p.limits().max_head);
    }
    SUBCASE("in a field name")
    {
        http::request_parser p;
        sse::error_code ec;
        std::size_t used = p.feed("GET / HTTP/1.1\r\n", ec);
        for (int i = 0; i < 100 && !ec; ++i)
            used += p.feed(piece, ec);
        CHECK(ec == error::head_too_large);
        CHECK(used == p.limits().max_head);
    }
    SUBCASE("as empty lines")
    {
        http::request_parser p;
        sse::error_code ec;
        std::string const blank(1000, '\n');
        std::size_t used = 0;
        for (int i = 0; i < 100 && !ec; ++i)
            used += p.feed(blank, ec);
        CHECK(ec == error::head_too_large);
        CHECK(used == p.limits().max_head);
    }
}

TEST_CASE("http request: a failure sticks until reset")
{
    http::request_parser p;
    sse::error_code ec;
    CHECK(p.feed("G(T", ec) == 1);
    CHECK(ec == error::bad_method);
    CHECK(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n", ec) == 0);
    CHECK(ec == error::bad_method);
    CHECK_FALSE(p.done());

    p.reset();
    std::string_view const good = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    CHECK(p.feed(good, ec) == good.size());
    CHECK_FALSE(ec);
    CHECK(p.done());
}

TEST_CASE("http request: the throwing feed")
{
    http::request_parser p;
    CHECK(p.feed("GET / HTTP/1.1\r\n") == 16);
    CHECK_THROWS_AS(p.feed("Bad Name: x\r\n"), std::system_error);
    try {
        http::request_parser q;
        q.feed("GET /%zz HTTP/1.1\r\n");
        FAIL("no throw");
    } catch (std::system_error const& e) {
        CHECK(e.code() == error::bad_target);
    }
}

TEST_CASE("http request: status_for maps errors to statuses")
{
    CHECK(http::status_for(error::target_too_long) == 414);
    CHECK(http::status_for(error::head_too_large) == 431);
    CHECK(http::status_for(error::too_many_headers) == 431);
    CHECK(http::status_for(error::bad_version) == 505);
    for (error e : {error::bad_method, error::bad_target, error::bad_request_line, error::bad_header,
                    error::bad_content_length}) {
        CAPTURE(static_cast<int>(e));
        CHECK(http::status_for(e) == 400);
    }
    CHECK(http::status_for(std::make_error_code(std::errc::invalid_argument)) == 400);
}

namespace docs_example {

// The first example of docs/http.md, verbatim.
std::string serve(std::vector<std::string_view> const& reads)
{
    sse::http::request_parser parser;   // one per request; reset() between requests
    sse::error_code ec;
    for (std::string_view bytes : reads) {
        std::size_t const used = parser.feed(bytes, ec);
        if (ec)   // answer with the matching status, then close
            return "HTTP/1.1 " + std::to_string(sse::http::status_for(ec)) + " \r\nConnection: close\r\n\r\n";
        if (!parser.done())
            continue;   // the head is incomplete: read more
        sse::http::request_head const& req = parser.get();
        if (req.method() != "GET" || req.path() != "/events")
            return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        std::string channels;   // ?channel=a%2Cb&channel=c+d gives "a,b" then "c d"
        req.params().for_each("channel", [&](std::string_view c) { channels.append(c).append(";"); });
        std::string_view const rest = bytes.substr(used);   // a body or a pipelined request
        return "subscribed to " + channels + " with " + std::to_string(rest.size()) + " bytes left";
    }
    return {};   // the peer went away mid-head
}

} // namespace docs_example

TEST_CASE("http request: the docs/http.md server example")
{
    using docs_example::serve;
    CHECK(serve({"GET /events?channel=a%2Cb&chan", "nel=c+d HTTP/1.1\r\nHost: x\r\n\r\nnext"}) ==
          "subscribed to a,b;c d; with 4 bytes left");
    CHECK(serve({"GET /events HTTP/1.1\r\n"}).empty());
    CHECK(serve({"GET /%zz HTTP/1.1\r\n"}) == "HTTP/1.1 400 \r\nConnection: close\r\n\r\n");
    CHECK(serve({"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"}).substr(0, 12) == "HTTP/1.1 404");
    CHECK(serve({"GET /", std::string(9000, 'a')}).substr(0, 12) == "HTTP/1.1 414");
}
