#include <sse/asio/response.hpp>

#include <doctest/doctest.h>

TEST_CASE("response: reason phrases follow RFC 9110")
{
    CHECK(sse::reason_phrase(200) == "OK");
    CHECK(sse::reason_phrase(202) == "Accepted");
    CHECK(sse::reason_phrase(204) == "No Content");
    CHECK(sse::reason_phrase(307) == "Temporary Redirect");
    CHECK(sse::reason_phrase(408) == "Request Timeout");
    CHECK(sse::reason_phrase(411) == "Length Required");
    CHECK(sse::reason_phrase(413) == "Content Too Large");
    CHECK(sse::reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(sse::reason_phrase(503) == "Service Unavailable");
    CHECK(sse::reason_phrase(299) == "Unknown");
}

TEST_CASE("response: format_response writes a complete, closing response")
{
    sse::response r;
    r.status = 429;
    r.content_type = "application/json";
    r.body = R"({"error":"slow down"})";
    r.headers.emplace_back("Retry-After", "5");
    std::string const wire = sse::format_response(r);
    CHECK(wire.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
    CHECK(wire.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    CHECK(wire.find("\r\nContent-Length: 21\r\n") != std::string::npos);
    CHECK(wire.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(wire.find("\r\nRetry-After: 5\r\n") != std::string::npos);
    auto const blank = wire.find("\r\n\r\n");
    REQUIRE(blank != std::string::npos);
    CHECK(wire.substr(blank + 4) == r.body);
}

TEST_CASE("response: 204 and 304 carry neither Content-Length nor a body")
{
    for (int status : {204, 304}) {
        sse::response r;
        r.status = status;
        r.content_type.clear();
        r.body = "ignored";
        std::string const wire = sse::format_response(r);
        CHECK(wire.find("Content-Length") == std::string::npos);
        CHECK(wire.size() >= 4);
        CHECK(wire.substr(wire.size() - 4) == "\r\n\r\n");
    }
}

TEST_CASE("response: a field that would forge others is left out")
{
    // RFC 9110 5.5: a field value holds no CR, LF or NUL; a name is a token.
    for (std::string const& bad : {std::string("x\r\nSet-Cookie: a=b"), std::string("x\ny"), std::string("x\ry"),
                                  std::string("x\0y", 3)}) {
        CAPTURE(bad);
        sse::response r;
        r.body = "ok";
        r.headers.emplace_back("Location", bad);
        r.headers.emplace_back("X-Name\r\nSet-Cookie", "a=b");
        r.headers.emplace_back("X-Kept", "yes");
        std::string const wire = sse::format_response(r);
        CHECK(wire.find("Location") == std::string::npos);
        CHECK(wire.find("Set-Cookie") == std::string::npos);
        CHECK(wire.find('\0') == std::string::npos);
        CHECK(wire.find("\r\nX-Kept: yes\r\n") != std::string::npos);
        // Every line of the head ends in CRLF, and the body follows the one blank line.
        auto const blank = wire.find("\r\n\r\n");
        REQUIRE(blank != std::string::npos);
        CHECK(wire.substr(blank + 4) == "ok");
        auto const head = wire.substr(0, blank + 2);
        for (std::size_t i = 0; i < head.size(); ++i) {
            if (head[i] == '\n')
                CHECK((i > 0 && head[i - 1] == '\r'));
            if (head[i] == '\r')
                CHECK((i + 1 < head.size() && head[i + 1] == '\n'));
        }

        sse::response typed;
        typed.content_type = bad;
        CHECK(sse::format_response(typed).find("Content-Type") == std::string::npos);
    }
}
