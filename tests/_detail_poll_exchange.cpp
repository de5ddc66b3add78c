// detail::poll_exchange: the polling fallback's request, and how it reads answers.
#include <sse/detail/poll_exchange.hpp>

#include <doctest/doctest.h>

namespace {

sse::detail::poll_exchange reader(std::size_t max_body = 1024)
{
    return sse::detail::poll_exchange({}, {}, max_body);
}

} // namespace

TEST_CASE("poll_exchange: the request carries the id, escaped, and the caller's headers")
{
    auto const endpoint = sse::parse_url("http://example.com:8080/api/sse/poll?channels=a,b");
    std::string const r = sse::detail::poll_exchange::request(endpoint, "since", "k3/9 é", {{"Authorization", "Bearer t"}});
    CHECK(r.rfind("GET /api/sse/poll?channels=a,b&since=k3%2F9%20%C3%A9 HTTP/1.1\r\n", 0) == 0);
    CHECK(r.find("\r\nHost: example.com:8080\r\n") != std::string::npos);
    CHECK(r.find("\r\nAccept: application/json\r\n") != std::string::npos);
    CHECK(r.find("\r\nAuthorization: Bearer t\r\n") != std::string::npos);
    CHECK(r.substr(r.size() - 4) == "\r\n\r\n");

    std::string const first = sse::detail::poll_exchange::request(sse::parse_url("http://h/poll"), "since", "", {});
    CHECK(first.rfind("GET /poll HTTP/1.1\r\n", 0) == 0);   // no id yet: no parameter
}

TEST_CASE("poll_exchange: Content-Length, chunked and until-close bodies; interim answers skipped")
{
    sse::error_code ec;
    auto a = reader();
    CHECK(a.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", ec) == false);
    CHECK(a.feed("lo", ec));
    CHECK(a.status() == 200);
    CHECK(a.body() == "hello");

    auto b = reader();
    CHECK(b.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", ec));
    CHECK(b.body() == "abcde");

    auto c = reader();
    CHECK_FALSE(c.feed("HTTP/1.1 503 Service Unavailable\r\n\r\nbusy", ec));
    CHECK(c.closed());
    CHECK(c.status() == 503);
    CHECK(c.body() == "busy");
    CHECK_FALSE(ec);

    auto d = reader();
    CHECK_FALSE(d.feed("HTTP/1.1 200 OK\r\nContent-Le", ec));
    CHECK_FALSE(d.closed());   // cut before the end of the head: not an answer
}

TEST_CASE("poll_exchange: bodies over the limit are refused and dropped")
{
    sse::error_code ec;
    auto declared = reader(4);
    CHECK_FALSE(declared.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", ec));
    CHECK(ec == sse::error::bad_poll_response);

    ec = {};
    auto chunked = reader(4);
    CHECK_FALSE(chunked.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n", ec));
    CHECK(ec == sse::error::bad_poll_response);
    CHECK(chunked.body().empty());

    ec = {};
    auto unframed = reader(4);
    CHECK_FALSE(unframed.feed("HTTP/1.1 200 OK\r\n\r\nabc", ec));
    CHECK_FALSE(unframed.feed("de", ec));
    CHECK(ec == sse::error::bad_poll_response);
}
