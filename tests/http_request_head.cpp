#include <sse/http/request_head.hpp>
#include <doctest/doctest.h>
#include "support/http_feed.hpp"

#include <sse/http/request_parser.hpp>
#include <string>
#include <system_error>
#include <vector>

namespace http = sse::http;
using sse::error;

namespace {

http::request_head head(std::string_view target, std::string_view method = "GET")
{
    std::string const in = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: h\r\n\r\n";
    auto r = support::http::parse_all<http::request_parser>(in, http::request_limits{}, false);
    REQUIRE_FALSE(r.ec);
    REQUIRE(r.parser.done());
    return r.parser.release();
}

std::vector<std::string> params(http::request_head const& h)
{
    std::vector<std::string> out;
    for (http::field const p : h.params())
        out.push_back(std::string(p.name) + "=" + std::string(p.value));
    return out;
}

} // namespace

TEST_CASE("http request: percent_decode")
{
    CHECK(http::percent_decode("a%2Cb,c") == "a,b,c");
    CHECK(http::percent_decode("%41%62%7e%7E") == "Ab~~");
    CHECK(http::percent_decode("a+b") == "a+b");
    CHECK(http::percent_decode("") == "");
    CHECK(http::percent_decode("%25zz") == "%zz");
    CHECK(http::percent_decode("%C3%A9") == "\xc3\xa9");
    CHECK(http::percent_decode("%ff%0a") == "\xff\n");

    for (char const* bad : {"%zz", "%", "%4", "a%", "a%g1", "%00", "x%00y", "%0%41", "%%41"}) {
        CAPTURE(bad);
        sse::error_code ec;
        CHECK(http::percent_decode(bad, ec).empty());
        CHECK(ec == error::bad_target);
        CHECK_THROWS_AS(http::percent_decode(bad), std::system_error);
    }
    sse::error_code ec = error::bad_header;
    CHECK(http::percent_decode("ok", ec) == "ok");
    CHECK_FALSE(ec);
}

TEST_CASE("http request: form_decode turns + into a space")
{
    CHECK(http::form_decode("a+b%2Bc") == "a b+c");
    CHECK(http::form_decode("++") == "  ");
    CHECK(http::form_decode("%20") == " ");
    sse::error_code ec;
    CHECK(http::form_decode("a+%zz", ec).empty());
    CHECK(ec == error::bad_target);
    CHECK_THROWS_AS(http::form_decode("%00"), std::system_error);
}

TEST_CASE("http request: the path is decoded, the query split off")
{
    auto const h = head("/a%20b/c%2Fd+e?x=1");
    CHECK(h.target() == "/a%20b/c%2Fd+e?x=1");
    CHECK(h.path() == "/a b/c/d+e");   // '+' is literal in a path
    CHECK(h.query() == "x=1");

    auto const empty_query = head("/p?");
    CHECK(empty_query.path() == "/p");
    CHECK(empty_query.query() == "");
    CHECK(empty_query.params().empty());

    auto const no_query = head("/p");
    CHECK(no_query.query() == "");
    CHECK_FALSE(no_query.param("x"));

    auto const double_slash = head("//x/../y");
    CHECK(double_slash.path() == "//x/../y");   // not normalised: routing decides
}

TEST_CASE("http request: query parameters are decoded, in order, repeats kept")
{
    auto const h = head("/s?channels=a%2Cb,c&x=1+2&flag&x=3&&=v&e=&k=a=b");
    CHECK(params(h) == std::vector<std::string>{"channels=a,b,c", "x=1 2", "flag=", "x=3", "=v", "e=", "k=a=b"});
    CHECK(h.param("channels") == std::string_view("a,b,c"));
    CHECK(h.param("x") == std::string_view("1 2"));
    CHECK(h.param("flag") == std::string_view(""));
    CHECK_FALSE(h.param("X"));   // names are case-sensitive
    CHECK_FALSE(h.param("missing"));

    std::vector<std::string> xs;
    h.params().for_each("x", [&](std::string_view v) { xs.emplace_back(v); });
    CHECK(xs == std::vector<std::string>{"1 2", "3"});
    CHECK(h.params().size() == 7);
    CHECK(h.params().find("k") == std::string_view("a=b"));

    auto const names = head("/?a%3Db=c%26d&%2B=+");
    CHECK(params(names) == std::vector<std::string>{"a=b=c&d", "+= "});
}

TEST_CASE("http request: absolute-form targets")
{
    auto const h = head("http://example.com:8080/ev%41?x=1");
    CHECK(h.path() == "/evA");
    CHECK(h.query() == "x=1");
    CHECK(h.param("x") == std::string_view("1"));

    CHECK(head("HTTPS://example.com").path() == "/");
    auto const q = head("http://example.com?y=2");
    CHECK(q.path() == "/");
    CHECK(q.param("y") == std::string_view("2"));
}

TEST_CASE("http request: a default request_head is empty")
{
    http::request_head const h;
    CHECK(h.method().empty());
    CHECK(h.target().empty());
    CHECK(h.path().empty());
    CHECK(h.query().empty());
    CHECK(h.params().empty());
    CHECK(h.fields().empty());
    CHECK(h.version() == 11);
    CHECK(h.body_framing() == http::framing::none);
}

TEST_CASE("http request: a head outlives its parser and moves intact")
{
    http::request_head moved;
    {
        http::request_parser p;
        sse::error_code ec;
        p.feed("GET /a?b=c HTTP/1.1\r\nHost: h\r\nX-Long-Field-Name: a value long enough to skip any small "
               "string buffer\r\n\r\n",
               ec);
        REQUIRE(p.done());
        moved = p.release();
    }
    http::request_head const h = std::move(moved);
    CHECK(h.path() == "/a");
    CHECK(h.query() == "b=c");
    CHECK(h.param("b") == std::string_view("c"));
    CHECK(h.fields().find("x-long-field-name") ==
          std::string_view("a value long enough to skip any small string buffer"));
}
