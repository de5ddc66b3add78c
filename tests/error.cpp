#include <sse/error.hpp>

#include <doctest/doctest.h>

#include <set>
#include <string>

TEST_CASE("error: every code has its own sentence")
{
    std::set<std::string> seen;
    for (int v = static_cast<int>(sse::error::id_has_newline); v <= static_cast<int>(sse::error::duplicate_stream_name);
         ++v) {
        auto const ec = make_error_code(static_cast<sse::error>(v));
        CAPTURE(v);
        CHECK(ec.category().name() == std::string("sse"));
        CHECK(ec.message().size() > 20);
        CHECK(ec.message().find("unknown") == std::string::npos);
        CHECK(seen.insert(ec.message()).second);
    }
    CHECK(sse::make_error_code(static_cast<sse::error>(9999)).message() == "unknown sse error");
}

TEST_CASE("error: codes compare against the broad conditions")
{
    std::error_code const line = sse::error::line_too_long;
    CHECK(line == sse::condition::recoverable);
    CHECK(line != sse::condition::fatal);

    std::error_code const no_content = sse::error::no_content;
    CHECK(no_content == sse::condition::fatal);
    CHECK(no_content != sse::condition::recoverable);

    std::error_code const foreign = std::make_error_code(std::errc::connection_reset);
    CHECK(foreign != sse::condition::recoverable);
    CHECK(foreign != sse::condition::fatal);
}
