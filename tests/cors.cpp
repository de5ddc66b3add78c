#include <sse/cors.hpp>

#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

using fields = std::vector<std::pair<std::string, std::string>>;

std::size_t count(fields const& f, std::string const& name)
{
    std::size_t n = 0;
    for (auto const& [k, v] : f)
        n += k == name;
    return n;
}

// The value of `name`, which must occur exactly once: a browser joins repeated
// fields with ", ", and "a, a" is no origin (Fetch, "CORS check").
std::string once(fields const& f, std::string const& name)
{
    CAPTURE(name);
    REQUIRE(count(f, name) == 1);
    for (auto const& [k, v] : f)
        if (k == name)
            return v;
    return {};
}

sse::cors_policy listed(bool credentials)
{
    sse::cors_policy p;
    p.allowed_origins = {"https://a.example", "http://localhost:8000"};
    p.allow_credentials = credentials;
    p.expose_headers = {"Retry-After", "X-Two"};
    p.allow_headers = {"Content-Type", "Authorization"};
    p.max_age = 600s;
    return p;
}

} // namespace

TEST_CASE("cors: an answer to a listed origin carries each CORS field once, and Vary")
{
    auto const p = listed(true);
    fields out;
    p.add_headers("http://localhost:8000", out);
    CHECK(once(out, "Access-Control-Allow-Origin") == "http://localhost:8000");
    CHECK(once(out, "Access-Control-Allow-Credentials") == "true");
    CHECK(once(out, "Access-Control-Expose-Headers") == "Retry-After, X-Two");
    CHECK(once(out, "Vary") == "Origin");
    CHECK(out.size() == 4);
    // A simple answer is no preflight: these belong to the preflight answer only.
    CHECK(count(out, "Access-Control-Allow-Methods") == 0);
    CHECK(count(out, "Access-Control-Allow-Headers") == 0);
    CHECK(count(out, "Access-Control-Max-Age") == 0);
}

TEST_CASE("cors: an unlisted or absent origin gets only Vary")
{
    auto const p = listed(true);
    for (char const* origin : {"https://evil.example", "", "https://a.example.evil", "null", "https://A.example",
                               "https://a.example/"}) {
        CAPTURE(origin);
        fields out;
        p.add_headers(origin, out);
        CHECK(out == fields{{"Vary", "Origin"}});
        CHECK_FALSE(p.allows(origin));
    }
}

TEST_CASE("cors: an origin holding CR, LF or NUL is never echoed")
{
    sse::cors_policy p;
    p.allowed_origins = {"*"};
    p.allow_credentials = true;   // would echo any origin
    for (std::string const& origin : {std::string("https://a.example\r\nX-Evil: 1"), std::string("https://a\nb"),
                                     std::string("https://a\0b", 11)}) {
        CAPTURE(origin);
        CHECK_FALSE(p.allows(origin));
        fields out;
        p.add_headers(origin, out);
        CHECK(out == fields{{"Vary", "Origin"}});
        out.clear();
        CHECK_FALSE(p.add_preflight_headers(origin, "POST", out));
        CHECK(count(out, "Access-Control-Allow-Origin") == 0);
    }
}

TEST_CASE("cors: a wildcard answers * without Vary, unless credentials make it echo")
{
    sse::cors_policy p;
    p.allowed_origins = {"*"};
    fields out;
    p.add_headers("https://any.example", out);
    CHECK(out == fields{{"Access-Control-Allow-Origin", "*"}});
    out.clear();
    p.add_headers("", out);   // the same answer for every request: nothing varies
    CHECK(out == fields{{"Access-Control-Allow-Origin", "*"}});

    // Fetch, "CORS check": `*` never passes for a request with credentials.
    p.allow_credentials = true;
    out.clear();
    p.add_headers("https://any.example", out);
    CHECK(once(out, "Access-Control-Allow-Origin") == "https://any.example");
    CHECK(once(out, "Access-Control-Allow-Credentials") == "true");
    CHECK(once(out, "Vary") == "Origin");
}

TEST_CASE("cors: an empty allow-list sends no CORS field and refuses preflights")
{
    sse::cors_options const p;   // the name stream_options uses
    static_assert(std::is_same_v<sse::cors_options, sse::cors_policy>);
    fields out;
    p.add_headers("https://a.example", out);
    CHECK(out.empty());
    CHECK_FALSE(p.add_preflight_headers("https://a.example", "POST", out));
    CHECK(out.empty());
    CHECK_FALSE(p.allows("https://a.example"));
}

TEST_CASE("cors: a preflight from a listed origin gets each field once")
{
    auto const p = listed(true);
    fields out;
    REQUIRE(p.add_preflight_headers("https://a.example", "POST, OPTIONS", out));
    CHECK(once(out, "Access-Control-Allow-Origin") == "https://a.example");
    CHECK(once(out, "Access-Control-Allow-Credentials") == "true");
    CHECK(once(out, "Access-Control-Allow-Methods") == "POST, OPTIONS");
    CHECK(once(out, "Access-Control-Allow-Headers") == "Content-Type, Authorization");
    CHECK(once(out, "Access-Control-Max-Age") == "600");
    CHECK(once(out, "Vary") == "Origin");
    CHECK(count(out, "Access-Control-Expose-Headers") == 0);
    CHECK(out.size() == 6);

    auto q = listed(false);
    q.max_age = 0s;
    out.clear();
    REQUIRE(q.add_preflight_headers("https://a.example", "GET", out));
    CHECK(count(out, "Access-Control-Allow-Credentials") == 0);
    CHECK(count(out, "Access-Control-Max-Age") == 0);
}

TEST_CASE("cors: a preflight from another origin is refused with only Vary")
{
    auto const p = listed(true);
    fields out;
    CHECK_FALSE(p.add_preflight_headers("https://evil.example", "POST", out));
    CHECK(out == fields{{"Vary", "Origin"}});
}

TEST_CASE("cors: the docs/serving.md example works as written")
{
    struct
    {
        sse::cors_options cors;
    } stream_options;
    struct
    {
        int status = 200;
        std::vector<std::pair<std::string, std::string>> headers;
    } answer, preflight;
    std::string const origin = "https://app.example";

    // --- docs/serving.md
    sse::cors_policy cors;
    cors.allowed_origins = {"https://app.example"};   // or {"*"}
    cors.allow_credentials = true;                    // cookies, Authorization, withCredentials
    cors.expose_headers = {"Retry-After"};
    cors.allow_headers = {"Content-Type", "Authorization"};
    cors.max_age = std::chrono::minutes(10);

    stream_options.cors = cors;                       // the stream head (sse::stream_options)
    cors.add_headers(origin, answer.headers);         // any other answer (sse::response)
    // OPTIONS with Access-Control-Request-Method: these headers and no others
    bool const allowed = cors.add_preflight_headers(origin, "POST, OPTIONS", preflight.headers);
    preflight.status = allowed ? 204 : 403;
    // --- end

    CHECK(stream_options.cors.allows(origin));
    CHECK(once(answer.headers, "Access-Control-Allow-Origin") == origin);
    CHECK(preflight.status == 204);
    CHECK(once(preflight.headers, "Access-Control-Max-Age") == "600");
}
