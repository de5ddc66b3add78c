#include <sse/http/chunked_decoder.hpp>
#include <doctest/doctest.h>
#include "support/http_feed.hpp"

#include <cstdio>
#include <string>

namespace http = sse::http;
using sse::error;

namespace {

support::http::decoded decode(std::string_view in, http::chunked_limits limits = {}, bool every_position = true)
{
    return support::http::decode_all(in, limits, every_position);
}

// Checks that every cutting of `in` fails with `e`; returns the octets used.
std::size_t fails(std::string_view in, error e, http::chunked_limits limits = {})
{
    auto const r = decode(in, limits);
    CHECK(r.ec == e);
    CHECK_FALSE(r.done);
    return r.used;
}

} // namespace

TEST_CASE("chunked: a body of several chunks")
{
    std::string_view const in = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    auto const r = decode(in);
    REQUIRE_FALSE(r.ec);
    CHECK(r.done);
    CHECK(r.used == in.size());
    CHECK(r.body == "hello, world");
}

TEST_CASE("chunked: sizes are hexadecimal, either case, with leading zeros")
{
    std::string const data(0x1a, 'x');
    for (char const* size : {"1a", "1A", "001a", "0000000000000000000000001A"}) {
        CAPTURE(size);
        std::string const in = std::string(size) + "\r\n" + data + "\r\n0\r\n\r\n";
        auto const r = decode(in, {}, false);
        REQUIRE_FALSE(r.ec);
        CHECK(r.done);
        CHECK(r.body == data);
    }
    auto const empty = decode("0\r\n\r\n");
    CHECK(empty.done);
    CHECK(empty.body.empty());
    auto const zeros = decode("000\r\n\r\n");
    CHECK(zeros.done);
}

TEST_CASE("chunked: extensions are parsed and ignored")
{
    for (char const* ext : {";a", ";a=b", ";a=\"b c\"", "; a = b", " ;a;b=c", "\t;\ta\t=\t\"q\\\"x;y\"",
                            ";a=\"\"", ";a=\"\\\\\"", ";a=b ;c", ";n=\"\x80\xff\"", ";a=\"x\"\t;b"}) {
        CAPTURE(ext);
        std::string const in = std::string("3") + ext + "\r\nabc\r\n0" + ext + "\r\n\r\n";
        auto const r = decode(in, {}, false);
        REQUIRE_FALSE(r.ec);
        CHECK(r.done);
        CHECK(r.body == "abc");
    }
}

TEST_CASE("chunked: trailers are parsed and ignored")
{
    std::string_view const in = "2\r\nab\r\n0\r\nExpires: never\r\nX-Sum:  abc \t\r\nX-Empty:\r\n\r\n";
    auto const r = decode(in);
    REQUIRE_FALSE(r.ec);
    CHECK(r.done);
    CHECK(r.used == in.size());
    CHECK(r.body == "ab");
}

TEST_CASE("chunked: bytes after the body are not consumed")
{
    std::string_view const in = "1\r\na\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
    auto const r = decode(in);
    CHECK(r.done);
    CHECK(r.used == in.size() - 17);

    http::chunked_decoder d;
    sse::error_code ec;
    std::string_view input = in;
    CHECK(d.next(input, ec) == "a");
    CHECK(d.next(input, ec).empty());
    CHECK(d.done());
    CHECK(input == "HTTP/1.1 200 OK\r\n");
    CHECK(d.next(input, ec).empty());
    CHECK(input.size() == 17);
    CHECK_FALSE(ec);
}

TEST_CASE("chunked: data is handed out as views into the input")
{
    std::string const in = "4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n";
    http::chunked_decoder d;
    sse::error_code ec;
    std::string_view input = in;
    std::string_view const a = d.next(input, ec);
    CHECK(a == "abcd");
    CHECK(a.data() == in.data() + 3);
    std::string_view const b = d.next(input, ec);
    CHECK(b == "efg");
    CHECK(b.data() == in.data() + 12);
    CHECK(d.next(input, ec).empty());
    CHECK(d.done());
    CHECK(input.empty());

    // A chunk split across reads comes out in pieces, each a view into its read.
    d.reset();
    std::string const part1 = "6\r\nab";
    std::string const part2 = "cdef\r\n0\r\n\r\n";
    std::string_view in1 = part1;
    std::string_view in2 = part2;
    CHECK(d.next(in1, ec) == "ab");
    CHECK(in1.empty());
    std::string_view const rest = d.next(in2, ec);
    CHECK(rest == "cdef");
    CHECK(rest.data() == part2.data());
    CHECK(d.next(in2, ec).empty());
    CHECK(d.done());
}

TEST_CASE("chunked: malformed framing fails with bad_chunk")
{
    for (char const* in : {
             "\r\n",                      // no size
             "g\r\n",                     // not hexadecimal
             "-1\r\n",                    // not hexadecimal
             "+1\r\n",
             " 1\r\nx\r\n0\r\n\r\n",      // leading whitespace
             "1 \r\nx\r\n0\r\n\r\n",      // whitespace not followed by ';'
             "1\nx\r\n0\r\n\r\n",         // bare LF after the size
             "1\rx\r\n",                  // bare CR
             "1\r\nxy\r\n",               // data longer than the size
             "1\r\nx\n0\r\n\r\n",         // bare LF after the data
             "1\r\nx\r\r\n",
             "1\r\nx0\r\n\r\n",           // no CRLF after the data at all
             "1;\r\nx\r\n",               // extension without a name
             "1;=a\r\nx\r\n",
             "1;a=\r\nx\r\n",             // '=' without a value
             "1;a b\r\nx\r\n",
             "1;a \r\nx\r\n",             // BWS not followed by '=' or ';'
             "1;a=b \r\nx\r\n",           // BWS not followed by ';'
             "1;a=\"b\" \r\nx\r\n",
             "1;a=\"b\r\nx\r\n",          // unterminated quoted string
             "1;a=\"b\"c\r\nx\r\n",
             "1;a=b\"c\"\r\nx\r\n",
             "1;a=\"\x01\"\r\nx\r\n",     // control in a quoted string
             "1;a=\"\\\x7f\"\r\nx\r\n",
             "1;(a)\r\nx\r\n",
             "0\r\nX: y\r\n",             // unterminated trailer section...
             "0\r\n X: y\r\n\r\n",        // obs-fold
             "0\r\nX : y\r\n\r\n",        // space before the colon
             "0\r\nX\r\n\r\n",            // no colon
             "0\r\nX: a\x01\r\n\r\n",     // control in a trailer value
             "0\r\nX: a\n\r\n",           // bare LF in the trailers
             "0\r\n\n",                   // bare LF ending the trailers
             "0\r\n\rx",
         }) {
        CAPTURE(in);
        std::string_view const s = in;
        if (s == "0\r\nX: y\r\n") {
            auto const r = decode(s);   // ...is merely unfinished
            CHECK_FALSE(r.ec);
            CHECK_FALSE(r.done);
            continue;
        }
        fails(s, error::bad_chunk);
    }
}

TEST_CASE("chunked: chunk sizes over the limit or 64 bits fail while arriving")
{
    fails("ffffffffffffffffff\r\n", error::chunk_too_large);
    fails("10000000000000000\r\n", error::chunk_too_large);
    fails("ffffffffffffffff", error::chunk_too_large);   // default max_chunk is smaller

    http::chunked_limits limits;
    limits.max_chunk = UINT64_MAX;
    auto const max = decode("ffffffffffffffff\r\nabc", limits);
    CHECK_FALSE(max.ec);
    CHECK(max.body == "abc");
    CHECK(fails("ffffffffffffffff0", error::chunk_too_large, limits) == 16);
    CHECK(fails("ffffffffffffffffff", error::chunk_too_large, limits) == 16);

    limits.max_chunk = 0x10;
    auto const at = decode("10\r\n0123456789abcdef\r\n0\r\n\r\n", limits);
    CHECK(at.done);
    CHECK(at.body.size() == 16);
    CHECK(fails("11\r\n", error::chunk_too_large, limits) == 1);
    CHECK(fails("100", error::chunk_too_large, limits) == 2);

    limits.max_chunk = 0;
    CHECK(decode("0\r\n\r\n", limits).done);
    CHECK(fails("1\r\n", error::chunk_too_large, limits) == 0);
}

TEST_CASE("chunked: the size-line limit, at and one over")
{
    http::chunked_limits limits;
    limits.max_line = 8;
    auto const ok = decode("1;abc=de\r\nx\r\n0\r\n\r\n", limits);   // "1;abc=de" is 8 octets
    CHECK(ok.done);
    CHECK(ok.body == "x");
    CHECK(fails("1;abc=def\r\nx\r\n0\r\n\r\n", error::bad_chunk, limits) == 8);
    CHECK(fails("000000001\r\nx\r\n", error::bad_chunk, limits) == 8);

    // A peer that never ends its extensions stops at the limit.
    http::chunked_decoder d;
    sse::error_code ec;
    std::string const piece(100, 'a');
    std::size_t used = d.feed("1;", [](std::string_view) {}, ec);
    for (int i = 0; i < 1000 && !ec; ++i)
        used += d.feed(piece, [](std::string_view) {}, ec);
    CHECK(ec == error::bad_chunk);
    CHECK(used == d.limits().max_line);
}

TEST_CASE("chunked: the trailer limit, at and one over")
{
    http::chunked_limits limits;
    std::string const trailers = "A: 1\r\nB: 22\r\n\r\n";
    limits.max_trailers = trailers.size();
    auto const ok = decode("0\r\n" + trailers, limits);
    CHECK(ok.done);
    limits.max_trailers = trailers.size() - 1;
    CHECK(fails("0\r\n" + trailers, error::bad_chunk, limits) == 3 + trailers.size() - 1);

    // Endless trailer fields stop at the limit.
    http::chunked_decoder d;
    sse::error_code ec;
    std::size_t used = d.feed("0\r\n", [](std::string_view) {}, ec);
    for (int i = 0; i < 10000 && !ec; ++i)
        used += d.feed("X: y\r\n", [](std::string_view) {}, ec);
    CHECK(ec == error::bad_chunk);
    CHECK(used == 3 + d.limits().max_trailers);
}

TEST_CASE("chunked: a failure sticks until reset")
{
    http::chunked_decoder d;
    sse::error_code ec;
    std::string_view input = "1\r\nab";
    CHECK(d.next(input, ec) == "a");
    CHECK(d.next(input, ec).empty());
    CHECK(ec == error::bad_chunk);
    CHECK(input == "b");   // left at the offending octet
    std::string_view again = "\r\n0\r\n\r\n";
    CHECK(d.next(again, ec).empty());
    CHECK(ec == error::bad_chunk);
    CHECK(again.size() == 7);

    d.reset();
    std::string_view fresh = "0\r\n\r\n";
    CHECK(d.next(fresh, ec).empty());
    CHECK_FALSE(ec);
    CHECK(d.done());
}

TEST_CASE("chunked: a large body in many chunks")
{
    std::string in;
    std::string expected;
    for (int i = 1; i <= 40; ++i) {
        std::string const data(static_cast<std::size_t>(i * 7), static_cast<char>('a' + i % 26));
        char size[16];
        std::snprintf(size, sizeof size, "%x", i * 7);
        in += std::string(size) + (i % 3 ? "" : ";ext=1") + "\r\n" + data + "\r\n";
        expected += data;
    }
    in += "0\r\n\r\n";
    auto const r = decode(in, {}, false);
    CHECK(r.done);
    CHECK(r.body == expected);
    CHECK(r.used == in.size());
}
