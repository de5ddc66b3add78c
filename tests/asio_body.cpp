// Tests of sse::async_read_body over loopback TCP: framing, limits, deadline.
#include <sse/asio/body.hpp>
#include <sse/http/request_parser.hpp>

#include "support/body_peer.hpp"
#include "support/run_until.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>

using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

using support::head_of;
using support::socket_pair;

struct outcome
{
    std::optional<sse::error_code> ec;
    std::string body;
    std::string after;   // the buffer at completion: what followed the body
};

outcome read_body(socket_pair& s, std::string const& head, std::string rest, sse::body_limits limits,
                  std::function<void()> then = {})
{
    outcome out;
    out.after = std::move(rest);
    sse::async_read_body(s.server, head_of(head), out.after, limits, [&](sse::error_code ec, std::string body) {
        out.ec = ec;
        out.body = std::move(body);
    });
    if (then)
        then();
    REQUIRE(support::run_until(s.io, [&] { return out.ec.has_value(); }, 5s));
    return out;
}

} // namespace

TEST_CASE("async_read_body: a Content-Length body, part of it read with the head")
{
    socket_pair s;
    auto const out = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", "hel", {},
        [&] { s.send("lo world"); });
    CHECK_FALSE(*out.ec);
    CHECK(out.body == "hello world");
}

TEST_CASE("async_read_body: a chunked body is decoded")
{
    socket_pair s;
    auto const out = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nhel",
        {}, [&] { s.send("lo\r\n6\r\n world\r\n0\r\n\r\n"); });
    CHECK_FALSE(*out.ec);
    CHECK(out.body == "hello world");
}

TEST_CASE("async_read_body: no body, and an empty one")
{
    socket_pair s;
    auto const none = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\n\r\n", "", {});
    CHECK_FALSE(*none.ec);
    CHECK(none.body.empty());
    auto const empty = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", "", {});
    CHECK_FALSE(*empty.ec);
}

TEST_CASE("async_read_body: too large, declared or chunked: 413")
{
    sse::body_limits limits;
    limits.max_body = 10;
    socket_pair s;
    auto const declared = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", "", limits);
    CHECK(*declared.ec == sse::error::body_too_large);
    CHECK(sse::http::status_for(*declared.ec) == 413);

    auto const chunked = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "", limits,
        [&] { s.send("6\r\nhello \r\n6\r\nworld!\r\n0\r\n\r\n"); });
    CHECK(*chunked.ec == sse::error::body_too_large);
    CHECK(chunked.body.empty());
}

TEST_CASE("async_read_body: a body that stops coming: 408 at the deadline")
{
    sse::body_limits limits;
    limits.timeout = 200ms;
    socket_pair s;
    auto const started = std::chrono::steady_clock::now();
    auto const out = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", "", limits,
        [&] { s.send("only a part"); });
    CHECK(*out.ec == sse::error::body_timeout);
    CHECK(sse::http::status_for(*out.ec) == 408);
    CHECK(std::chrono::steady_clock::now() - started >= 190ms);
}

TEST_CASE("async_read_body: the client leaves early; a malformed chunk")
{
    socket_pair s;
    auto const early = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n", "", {}, [&] {
        s.send("partial");
        s.client.close();
    });
    CHECK(*early.ec == asio::error::eof);

    socket_pair t;
    auto const bad = read_body(t, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n", {});
    CHECK(*bad.ec == sse::error::bad_chunk);
    CHECK(sse::http::status_for(*bad.ec) == 400);
}

TEST_CASE("async_read_body: Expect: 100-continue is answered before the body is read")
{
    SUBCASE("answered, then the body arrives")
    {
        socket_pair s;
        outcome out;
        std::string interim;
        char buf[64];
        std::string buffer;
        sse::async_read_body(s.server,
                             head_of("POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 11\r\n\r\n"),
                             buffer, {}, [&](sse::error_code ec, std::string body) {
                                 out.ec = ec;
                                 out.body = std::move(body);
                             });
        s.client.async_read_some(asio::buffer(buf), [&](sse::error_code ec, std::size_t n) {
            REQUIRE_FALSE(ec);
            interim.assign(buf, n);
            s.send("hello world");
        });
        REQUIRE(support::run_until(s.io, [&] { return out.ec.has_value(); }, 5s));
        CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
        CHECK_FALSE(*out.ec);
        CHECK(out.body == "hello world");
    }
    SUBCASE("not sent when the body is refused at once, already arriving, or turned off")
    {
        sse::body_limits small;
        small.max_body = 4;
        sse::body_limits off;
        off.send_continue = false;
        struct
        {
            sse::body_limits limits;
            std::string rest;
        } const cases[] = {{small, ""}, {{}, "hello world"}, {off, ""}};
        for (auto const& c : cases) {
            socket_pair s;
            auto const out = read_body(
                s, "POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n", c.rest,
                c.limits, [&] {
                    if (c.rest.empty() && c.limits.send_continue)
                        return;
                    if (c.rest.empty())
                        s.send("hello world");
                });
            s.client.non_blocking(true);
            char buf[64];
            sse::error_code ec;
            std::size_t const n = s.client.read_some(asio::buffer(buf), ec);
            CHECK(n == 0);   // nothing was written to the client
            CHECK(ec == asio::error::would_block);
            if (c.limits.max_body == 4)
                CHECK(*out.ec == sse::error::body_too_large);
            else
                CHECK(out.body == "hello world");
        }
    }
}

TEST_CASE("async_read_body: the buffer ends holding the bytes after the body")
{
    std::string const head = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
    std::string const next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    SUBCASE("all of it arrived with the head")
    {
        socket_pair s;
        auto const out = read_body(s, head, "hello" + next, {});
        CHECK_FALSE(*out.ec);
        CHECK(out.body == "hello");
        CHECK(out.after == next);
    }
    SUBCASE("read from the socket with the end of the body")
    {
        socket_pair s;
        auto const out = read_body(s, head, "he", {}, [&] { s.send("llo" + next); });
        CHECK_FALSE(*out.ec);
        CHECK(out.body == "hello");
        CHECK(out.after == next);
    }
    SUBCASE("a request without a body leaves it all")
    {
        socket_pair s;
        auto const out = read_body(s, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n", next, {});
        CHECK_FALSE(*out.ec);
        CHECK(out.body.empty());
        CHECK(out.after == next);
    }
    SUBCASE("a chunked body, then a pipelined request")
    {
        socket_pair s;
        auto const out = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", "",
                                   {}, [&] { s.send("5\r\nhello\r\n0\r\n\r\n" + next); });
        CHECK_FALSE(*out.ec);
        CHECK(out.body == "hello");
        CHECK(out.after == next);
    }
    SUBCASE("empty after an error")
    {
        socket_pair s;
        auto const out = read_body(s, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
                                   "zz\r\n" + next, {});
        CHECK(*out.ec == sse::error::bad_chunk);
        CHECK(out.body.empty());
        CHECK(out.after.empty());
    }
}
