#include <sse/redis/options.hpp>

#include <sse/redis/error.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using sse::redis::backplane_options;
using sse::redis::error;

backplane_options parsed(std::string const& url, std::error_code& ec)
{
    backplane_options o;
    sse::redis::parse_url(url, o, ec);
    return o;
}

} // namespace

TEST_CASE("redis parse_url: host, port and namespace")
{
    std::error_code ec;
    auto o = parsed("redis://cache.example:6380/news", ec);
    REQUIRE(!ec);
    CHECK(o.server.host == "cache.example");
    CHECK(o.server.port == 6380);
    CHECK(o.ns == "news");
    CHECK(o.username.empty());
    CHECK(o.password.empty());

    o = parsed("redis://10.0.0.7", ec);
    REQUIRE(!ec);
    CHECK(o.server.host == "10.0.0.7");
    CHECK(o.server.port == 6379);   // the default port
    CHECK(o.ns == "sse");           // no path: the namespace is kept

    o = parsed("redis://localhost:1/", ec);
    REQUIRE(!ec);
    CHECK(o.server.port == 1);
    CHECK(o.ns == "sse");

    o = parsed("redis://localhost:65535/a.b-c_D9", ec);
    REQUIRE(!ec);
    CHECK(o.server.port == 65535);
    CHECK(o.ns == "a.b-c_D9");

    o = parsed("REDIS://h/x", ec);   // RFC 3986 3.1: the scheme is case-insensitive
    CHECK(!ec);
}

TEST_CASE("redis parse_url: IPv6 literal in brackets")
{
    std::error_code ec;
    auto o = parsed("redis://[::1]:7000/n", ec);
    REQUIRE(!ec);
    CHECK(o.server.host == "::1");   // without brackets: what a resolver takes
    CHECK(o.server.port == 7000);

    o = parsed("redis://[2001:db8::2]", ec);
    REQUIRE(!ec);
    CHECK(o.server.host == "2001:db8::2");
    CHECK(o.server.port == 6379);

    for (char const* bad : {"redis://[::1", "redis://[]:6379", "redis://[::1]x", "redis://[::1]:", "redis://[nothex]"}) {
        CAPTURE(bad);
        parsed(bad, ec);
        CHECK(ec == error::bad_url);
    }
}

TEST_CASE("redis parse_url: user and password, percent-decoded")
{
    std::error_code ec;
    auto o = parsed("redis://:s3cret@h:1234/n", ec);
    REQUIRE(!ec);
    CHECK(o.username.empty());
    CHECK(o.password == "s3cret");

    o = parsed("redis://alice:p%40ss%3Aw%2Fd%25@h", ec);
    REQUIRE(!ec);
    CHECK(o.username == "alice");
    CHECK(o.password == "p@ss:w/d%");

    o = parsed("redis://b%6Fb:x%00y@h", ec);   // any octet, NUL included
    REQUIRE(!ec);
    CHECK(o.username == "bob");
    CHECK(o.password == std::string("x\0y", 3));

    for (char const* bad : {"redis://u:p%4@h", "redis://u:p%zz@h", "redis://u:%@h", "redis://u%G1:p@h"}) {
        CAPTURE(bad);
        parsed(bad, ec);
        CHECK(ec == error::bad_url);
    }
}

TEST_CASE("redis parse_url: a URL without credentials clears earlier ones")
{
    backplane_options o;
    o.username = "old";
    o.password = "old";
    std::error_code ec;
    sse::redis::parse_url("redis://h", o, ec);
    REQUIRE(!ec);
    CHECK(o.username.empty());
    CHECK(o.password.empty());
}

TEST_CASE("redis parse_url: bad URLs are bad_url and leave the options unchanged")
{
    for (char const* bad : {
             "",
             "127.0.0.1:6379",
             "http://h:6379/n",
             "redis:/h",
             "redis://",
             "redis:///ns",
             "redis://h:0",
             "redis://h:65536",
             "redis://h:99999999999",
             "redis://h:-1",
             "redis://h:12a",
             "redis://h:",
             "redis://h/n?db=0",
             "redis://h/n#frag",
             "redis://h?password=x",
             "redis://secret@h",      // ambiguous: user or password
             "redis://h o/n",
             "redis://h\x01/n",
         }) {
        CAPTURE(bad);
        backplane_options o;
        o.server.host = "before";
        o.ns = "before";
        std::error_code ec;
        sse::redis::parse_url(bad, o, ec);
        CHECK(ec == error::bad_url);
        CHECK(o.server.host == "before");
        CHECK(o.ns == "before");
    }
}

TEST_CASE("redis parse_url: rediss is refused, and the message says TLS is not supported")
{
    std::error_code ec;
    parsed("rediss://h:6380/n", ec);
    CHECK(ec == error::bad_url);
    CHECK(ec.message().find("TLS") != std::string::npos);
    CHECK(ec.message().find("not supported") != std::string::npos);
}

TEST_CASE("redis parse_url: a bad namespace is bad_namespace")
{
    for (char const* bad : {"redis://h/a/b", "redis://h/a b", "redis://h/caf%C3%A9", "redis://h/{x}", "redis://h/a:b"}) {
        CAPTURE(bad);
        backplane_options o;
        std::error_code ec;
        sse::redis::parse_url(bad, o, ec);
        CHECK(ec == error::bad_namespace);
        CHECK(o.ns == "sse");
        CHECK(o.server.host == "127.0.0.1");
    }
    std::error_code ec;
    parsed("redis://h/" + std::string(65, 'n'), ec);
    CHECK(ec == error::bad_namespace);
    parsed("redis://h/" + std::string(64, 'n'), ec);
    CHECK(!ec);
}

TEST_CASE("redis valid_namespace: 1 to 64 of [A-Za-z0-9_.-]")
{
    CHECK(sse::redis::valid_namespace("a"));
    CHECK(sse::redis::valid_namespace("Az09_.-"));
    CHECK(sse::redis::valid_namespace(std::string(64, 'x')));
    CHECK(!sse::redis::valid_namespace(""));
    CHECK(!sse::redis::valid_namespace(std::string(65, 'x')));
    // '{' and '}' would break the hash tag {ns}; ':' is the key separator.
    for (char const* bad : {"a{", "b}", "a:b", "a b", "a/b", "a*", "\xc3\xa9"}) {
        CAPTURE(bad);
        CHECK(!sse::redis::valid_namespace(bad));
    }
    CHECK(!sse::redis::valid_namespace(std::string("a\0b", 3)));
}

TEST_CASE("redis parse_endpoints: host:port lists with a default port")
{
    std::error_code ec;
    auto e = sse::redis::parse_endpoints("s1:26380, s2 ,[::1]:5000,10.1.2.3", 26379, ec);
    REQUIRE(!ec);
    REQUIRE(e.size() == 4);
    CHECK(e[0].host == "s1");
    CHECK(e[0].port == 26380);
    CHECK(e[1].host == "s2");
    CHECK(e[1].port == 26379);
    CHECK(e[2].host == "::1");
    CHECK(e[2].port == 5000);
    CHECK(e[3].host == "10.1.2.3");
    CHECK(e[3].port == 26379);

    for (char const* bad : {"", ",", "a,,b", "a,", "a:0", "a:70000", "a:b", "redis://a", "[::1", "a b"}) {
        CAPTURE(bad);
        auto const r = sse::redis::parse_endpoints(bad, 26379, ec);
        CHECK(ec == error::bad_url);
        CHECK(r.empty());
    }
}

TEST_CASE("redis error: category and messages")
{
    std::error_code const ec = error::auth_failed;
    CHECK(std::string(ec.category().name()) == "sse.redis");
    CHECK(&ec.category() == &sse::redis::category());
    for (int v = static_cast<int>(error::bad_url); v <= static_cast<int>(error::no_master); ++v) {
        CAPTURE(v);
        auto const m = sse::redis::make_error_code(static_cast<error>(v)).message();
        CHECK(m.size() > 20);
        CHECK(m.find("unknown") == std::string::npos);
    }
    CHECK(std::error_code(error::no_streams).message().find("Redis 5") != std::string::npos);
}
