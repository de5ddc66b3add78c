// Tests of how the event source reads Retry-After (RFC 9110 10.2.3) and
// HTTP-dates (RFC 9110 5.6.7), in sse/client/impl/retry_after.hpp.
#include <sse/client/impl/retry_after.hpp>
#include <sse/http/response_parser.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

sse::http::response_head head(std::string const& fields)
{
    sse::http::response_parser p;
    sse::error_code ec;
    p.feed("HTTP/1.1 429 Too Many Requests\r\n" + fields + "Content-Length: 0\r\n\r\n", ec);
    REQUIRE(!ec);
    REQUIRE(p.done());
    return p.release();
}

// 1994-11-06T08:49:37Z, the RFC's example, as seconds since 1970.
constexpr std::int64_t rfc_example = 784111777;

} // namespace

TEST_CASE("source_core: the three HTTP-date forms RFC 9110 5.6.7 names")
{
    using sse::detail::source::http_date;
    CHECK(http_date("Sun, 06 Nov 1994 08:49:37 GMT") == rfc_example);
    CHECK(http_date("Sunday, 06-Nov-94 08:49:37 GMT") == rfc_example);
    CHECK(http_date("Sun Nov  6 08:49:37 1994") == rfc_example);
    CHECK(http_date("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
    CHECK(http_date("Tue, 29 Feb 2028 23:59:59 GMT") == 1835481599);
    CHECK(http_date("Thursday, 01-Jan-26 00:00:00 GMT") == 1767225600);   // two digits: 2026
    for (char const* bad : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
             "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT",
             "Sun Nov  6 08:49:37 94", "120"}) {
        CAPTURE(bad);
        CHECK_FALSE(http_date(bad));
    }
}

TEST_CASE("source_core: Retry-After as seconds or as a date, capped")
{
    using sse::detail::source::retry_after;
    auto const wall = std::chrono::system_clock::time_point(std::chrono::seconds(rfc_example));
    CHECK(retry_after(head("Retry-After: 120\r\n"), wall, 10min) == 120s);
    CHECK(retry_after(head("Retry-After: 0\r\n"), wall, 10min) == 0s);
    CHECK(retry_after(head("Retry-After: 120\r\n"), wall, 30s) == 30s);
    CHECK(retry_after(head("Retry-After: 123456789012345678901234567890\r\n"), wall, 30s) == 30s);
    CHECK_FALSE(retry_after(head(""), wall, 10min));
    CHECK_FALSE(retry_after(head("Retry-After: soon\r\n"), wall, 10min));
    CHECK_FALSE(retry_after(head("Retry-After: -5\r\n"), wall, 10min));
    // A date: from the answer's Date when there is one, else from the wall clock.
    CHECK(retry_after(head("Retry-After: Sun, 06 Nov 1994 08:49:47 GMT\r\n"), wall, 10min) == 10s);
    CHECK(retry_after(head("Date: Sun, 06 Nov 1994 08:49:45 GMT\r\nRetry-After: Sun, 06 Nov 1994 08:49:47 GMT\r\n"),
                      wall, 10min) == 2s);
    CHECK(retry_after(head("Retry-After: Sun, 06 Nov 1994 08:00:00 GMT\r\n"), wall, 10min) == 0s);   // past
    CHECK(retry_after(head("Retry-After: Mon, 07 Nov 1994 08:49:37 GMT\r\n"), wall, 10min) == 10min);
}
