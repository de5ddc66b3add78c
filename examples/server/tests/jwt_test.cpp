// Tests of the example server's HS256 JWT module against tokens built independently of it:
// by the RFC 7515 A.1 vector, the openssl command line, and a forger over OpenSSL's HMAC.
#include "../jwt.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::system_clock;
using json = nlohmann::json;

clock_type::time_point const t0{std::chrono::seconds(1'700'000'000)};
std::int64_t const t0_s = 1'700'000'000;
char const* const secret = "correct horse battery staple";

std::string b64url(std::string_view in)
{
    static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        auto const n = std::uint32_t(std::uint8_t(in[i])) << 16 | std::uint32_t(std::uint8_t(in[i + 1])) << 8 |
            std::uint8_t(in[i + 2]);
        out += {a[n >> 18], a[n >> 12 & 63], a[n >> 6 & 63], a[n & 63]};
    }
    if (in.size() - i == 1) {
        auto const n = std::uint32_t(std::uint8_t(in[i])) << 16;
        out += {a[n >> 18], a[n >> 12 & 63]};
    } else if (in.size() - i == 2) {
        auto const n = std::uint32_t(std::uint8_t(in[i])) << 16 | std::uint32_t(std::uint8_t(in[i + 1])) << 8;
        out += {a[n >> 18], a[n >> 12 & 63], a[n >> 6 & 63]};
    }
    return out;
}

std::string hmac(std::string_view key, std::string_view data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<unsigned char const*>(data.data()),
        data.size(), md, &len);
    return {reinterpret_cast<char const*>(md), len};
}

/// A correctly signed token with any header and payload text, valid JSON or not.
std::string forge(std::string_view header, std::string_view payload, std::string_view key = secret)
{
    auto const signing_input = b64url(header) + "." + b64url(payload);
    return signing_input + "." + b64url(hmac(key, signing_input));
}

std::error_code verify_error(std::string_view token, clock_type::time_point now = t0,
    std::chrono::seconds leeway = 30s, std::string_view key = secret)
{
    std::error_code ec = app::jwt_error::missing;   // proves verify_jwt sets it either way
    auto const claims = app::verify_jwt(token, key, now, ec, leeway);
    CHECK(claims.has_value() == !ec);
    return ec;
}

/// Replaces character `i` of `s` with another base64url character of the same low bits.
std::string flip(std::string s, std::size_t i)
{
    s[i] = s[i] == 'A' ? 'Q' : 'A';
    return s;
}

} // namespace

TEST_CASE("jwt: sign and verify round trip")
{
    json const payload = {{"sub", "alice"}, {"channels", {"news", "alerts"}}, {"publish", true},
        {"exp", t0_s + 3600}, {"role", "admin"}};
    auto const token = app::sign_jwt(payload, secret);
    CHECK(token.find('=') == std::string::npos);

    std::error_code ec = app::jwt_error::malformed;
    auto const claims = app::verify_jwt(token, secret, t0, ec);
    REQUIRE(claims);
    CHECK_FALSE(ec);
    CHECK(claims->subject == "alice");
    CHECK(claims->channels == std::vector<std::string>{"news", "alerts"});
    CHECK(claims->publish);
    REQUIRE(claims->expires);
    CHECK(*claims->expires == t0 + 1h);
    CHECK(claims->payload == payload);
    CHECK(claims->payload["role"] == "admin");

    SUBCASE("defaults when optional claims are absent")
    {
        auto const minimal = app::verify_jwt(app::sign_jwt({{"sub", "bob"}}, secret), secret, t0, ec);
        REQUIRE(minimal);
        CHECK(minimal->channels.empty());
        CHECK_FALSE(minimal->publish);
        CHECK_FALSE(minimal->expires);
    }
    SUBCASE("another secret does not verify")
    {
        CHECK(verify_error(token, t0, 30s, "correct horse battery stapler") == app::jwt_error::bad_signature);
    }
    SUBCASE("an empty secret verifies nothing, not even a token signed with an empty key")
    {
        CHECK(verify_error(token, t0, 30s, "") == app::jwt_error::bad_signature);
        CHECK(verify_error(forge(R"({"alg":"HS256"})", R"({"sub":"a"})", ""), t0, 30s, "") ==
            app::jwt_error::bad_signature);
    }
}

TEST_CASE("jwt: RFC 7515 A.1 vector (HS256 with a binary key)")
{
    // The JWK's "k", base64url-decoded; the header and payload contain CR LF and spaces.
    std::string const key("\x03\x23\x35\x4b\x2b\x0f\xa5\xbc\x83\x7e\x06\x65\x77\x7b\xa6\x8f"
                          "\x5a\xb3\x28\xe6\xf0\x54\xc9\x28\xa9\x0f\x84\xb2\xd2\x50\x2e\xbf"
                          "\xd3\xfb\x5a\x92\xd2\x06\x47\xef\x96\x8a\xb4\xc3\x77\x62\x3d\x22"
                          "\x3d\x2e\x21\x72\x05\x2e\x4f\x08\xc0\xcd\x9a\xf5\x67\xd0\x80\xa3",
        64);
    std::string const token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                              ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                              ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    clock_type::time_point const before_exp{std::chrono::seconds(1300819380 - 60)};
    clock_type::time_point const after_exp{std::chrono::seconds(1300819380 + 60)};

    // The claims are checked only after the signature: these results prove it verified.
    // The vector has no "sub", so bad_claims is the best it can get here.
    CHECK(verify_error(token, before_exp, 30s, key) == app::jwt_error::bad_claims);
    CHECK(verify_error(token, after_exp, 30s, key) == app::jwt_error::expired);
    CHECK(verify_error(flip(token, token.size() - 5), before_exp, 30s, key) == app::jwt_error::bad_signature);
    CHECK(verify_error(token, before_exp, 30s, key.substr(1)) == app::jwt_error::bad_signature);
}

TEST_CASE("jwt: a token made by the openssl command line verifies and matches sign_jwt")
{
    if (std::system("command -v openssl >/dev/null 2>&1 && command -v basenc >/dev/null 2>&1") != 0) {
        MESSAGE("openssl or basenc not found: skipped");
        return;
    }
    char const* const script =
        "h=$(printf '%s' '{\"alg\":\"HS256\",\"typ\":\"JWT\"}' | basenc --base64url | tr -d '=\\n');"
        "p=$(printf '%s' '{\"channels\":[\"news\",\"alerts\"],\"publish\":true,\"sub\":\"alice\"}'"
        "    | basenc --base64url | tr -d '=\\n');"
        "s=$(printf '%s' \"$h.$p\" | openssl dgst -sha256 -hmac 'cli secret' -binary"
        "    | basenc --base64url | tr -d '=\\n');"
        "printf '%s' \"$h.$p.$s\"";
    std::string token;
    FILE* const pipe = popen(script, "r");
    REQUIRE(pipe != nullptr);
    char buffer[256];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        token.append(buffer, n);
    REQUIRE(pclose(pipe) == 0);
    CAPTURE(token);

    std::error_code ec;
    auto const claims = app::verify_jwt(token, "cli secret", t0, ec);
    REQUIRE(claims);
    CHECK(claims->subject == "alice");
    CHECK(claims->channels == std::vector<std::string>{"news", "alerts"});
    CHECK(claims->publish);
    CHECK(app::sign_jwt(json::parse(R"({"sub":"alice","publish":true,"channels":["news","alerts"]})"),
              "cli secret") == token);
    CHECK(verify_error(token, t0, 30s, "cli secreT") == app::jwt_error::bad_signature);
}

TEST_CASE("jwt: any change to a signed token breaks the signature")
{
    auto const token = app::sign_jwt({{"sub", "alice"}, {"publish", false}}, secret);
    auto const dot1 = token.find('.');
    auto const dot2 = token.rfind('.');
    auto const header = token.substr(0, dot1);
    auto const payload = token.substr(dot1 + 1, dot2 - dot1 - 1);
    auto const signature = token.substr(dot2 + 1);

    SUBCASE("payload")
    {
        auto const raised = b64url(R"({"publish":true,"sub":"alice"})");
        CHECK(verify_error(header + "." + raised + "." + signature) == app::jwt_error::bad_signature);
    }
    SUBCASE("header")
    {
        auto const other = b64url(R"({"alg":"HS256","typ":"JWT","kid":"1"})");
        CHECK(verify_error(other + "." + payload + "." + signature) == app::jwt_error::bad_signature);
    }
    SUBCASE("each signature character")
    {
        for (std::size_t i = dot2 + 1; i < token.size(); ++i) {
            CAPTURE(i);
            CHECK(verify_error(flip(token, i)) == app::jwt_error::bad_signature);
        }
    }
    SUBCASE("signature of the wrong length")
    {
        CHECK(verify_error(header + "." + payload + ".") == app::jwt_error::bad_signature);
        CHECK(verify_error(token.substr(0, token.size() - 3)) == app::jwt_error::bad_signature);
        CHECK(verify_error(token + "AAAA") == app::jwt_error::bad_signature);
        auto const doubled = b64url(hmac(secret, header + "." + payload) + hmac(secret, header + "." + payload));
        CHECK(verify_error(header + "." + payload + "." + doubled) == app::jwt_error::bad_signature);
    }
    SUBCASE("signature over re-encoded segments")
    {
        // Same JSON with a space: the MAC covers the bytes received, not their meaning.
        auto const spaced = b64url(R"({"alg": "HS256","typ":"JWT"})");
        CHECK(verify_error(spaced + "." + payload + "." + signature) == app::jwt_error::bad_signature);
    }
}

TEST_CASE("jwt: the algorithm is pinned to HS256")
{
    auto const payload = R"({"sub":"alice","publish":true})";
    SUBCASE("alg none, unsigned and signed")
    {
        CHECK(verify_error(b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(payload) + ".") ==
            app::jwt_error::unsupported_algorithm);
        CHECK(verify_error(forge(R"({"alg":"none"})", payload)) == app::jwt_error::unsupported_algorithm);
    }
    SUBCASE("other or misspelled algorithms")
    {
        for (auto const* h : {R"({"alg":"HS512"})", R"({"alg":"HS384"})", R"({"alg":"RS256"})",
                 R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"alg":256})", R"({"alg":["HS256"]})",
                 R"({"alg":null})"}) {
            CAPTURE(h);
            CHECK(verify_error(forge(h, payload)) == app::jwt_error::unsupported_algorithm);
        }
    }
    SUBCASE("missing alg")
    {
        CHECK(verify_error(forge(R"({"typ":"JWT"})", payload)) == app::jwt_error::unsupported_algorithm);
        CHECK(verify_error(forge("{}", payload)) == app::jwt_error::unsupported_algorithm);
    }
    SUBCASE("critical extensions")
    {
        CHECK(verify_error(forge(R"({"alg":"HS256","crit":["b64"],"b64":false})", payload)) ==
            app::jwt_error::unsupported_algorithm);
    }
    SUBCASE("a header without typ, or with typ in any case, verifies")
    {
        for (auto const* h : {R"({"alg":"HS256"})", R"({"typ":"jwt","alg":"HS256"})",
                 R"({"alg":"HS256","typ":"Jwt","kid":"k1"})"}) {
            CAPTURE(h);
            CHECK_FALSE(verify_error(forge(h, payload)));
        }
    }
    SUBCASE("another typ is another kind of token")
    {
        for (auto const* h : {R"({"alg":"HS256","typ":"at+jwt"})", R"({"alg":"HS256","typ":"JWS"})",
                 R"({"alg":"HS256","typ":1})", R"({"alg":"HS256","typ":null})"}) {
            CAPTURE(h);
            CHECK(verify_error(forge(h, payload)) == app::jwt_error::malformed);
        }
    }
}

TEST_CASE("jwt: exp and nbf with leeway")
{
    auto const with = [](json extra) {
        extra["sub"] = "alice";
        return app::sign_jwt(extra, secret);
    };
    SUBCASE("exp")
    {
        CHECK_FALSE(verify_error(with({{"exp", t0_s + 1}})));
        CHECK_FALSE(verify_error(with({{"exp", t0_s - 29}})));   // within the 30 s leeway
        CHECK(verify_error(with({{"exp", t0_s - 30}})) == app::jwt_error::expired);   // on exp + leeway
        CHECK(verify_error(with({{"exp", t0_s - 3600}})) == app::jwt_error::expired);
        CHECK(verify_error(with({{"exp", t0_s}}), t0, 0s) == app::jwt_error::expired);
        CHECK_FALSE(verify_error(with({{"exp", t0_s + 0.5}}), t0, 0s));
        CHECK(verify_error(with({{"exp", t0_s - 0.5}}), t0, 0s) == app::jwt_error::expired);
        CHECK(verify_error(with({{"exp", 0}})) == app::jwt_error::expired);
        CHECK(verify_error(with({{"exp", -1e300}})) == app::jwt_error::expired);
    }
    SUBCASE("exp beyond the clock's range is clamped")
    {
        std::error_code ec;
        auto const far = app::verify_jwt(with({{"exp", 1e300}}), secret, t0, ec);
        REQUIRE(far);
        CHECK(far->expires == clock_type::time_point::max());
        auto const big = app::verify_jwt(with({{"exp", std::uint64_t(-1)}}), secret, t0, ec);
        REQUIRE(big);
        CHECK(big->expires == clock_type::time_point::max());
        auto const fraction = app::verify_jwt(with({{"exp", t0_s + 10.75}}), secret, t0, ec);
        REQUIRE(fraction);
        CHECK(fraction->expires == t0 + 10s);
    }
    SUBCASE("nbf")
    {
        CHECK_FALSE(verify_error(with({{"nbf", t0_s}}), t0, 0s));
        CHECK_FALSE(verify_error(with({{"nbf", t0_s - 100}})));
        CHECK_FALSE(verify_error(with({{"nbf", t0_s + 30}})));   // within the leeway
        CHECK(verify_error(with({{"nbf", t0_s + 31}})) == app::jwt_error::not_yet_valid);
        CHECK(verify_error(with({{"nbf", t0_s + 1}}), t0, 0s) == app::jwt_error::not_yet_valid);
        CHECK(verify_error(with({{"nbf", 1e300}})) == app::jwt_error::not_yet_valid);
    }
    SUBCASE("both in range")
    {
        CHECK_FALSE(verify_error(with({{"nbf", t0_s - 10}, {"exp", t0_s + 10}}), t0, 0s));
    }
    SUBCASE("dates must be numbers")
    {
        for (json const& bad : {json("1700000000"), json(nullptr), json(true), json::array({1}), json::object()}) {
            CAPTURE(bad.dump());
            CHECK(verify_error(with({{"exp", bad}})) == app::jwt_error::bad_claims);
            CHECK(verify_error(with({{"nbf", bad}})) == app::jwt_error::bad_claims);
        }
    }
}

TEST_CASE("jwt: malformed tokens")
{
    auto const good = app::sign_jwt({{"sub", "alice"}}, secret);
    auto const dot1 = good.find('.');
    auto const dot2 = good.rfind('.');
    auto const header = good.substr(0, dot1);
    auto const payload = good.substr(dot1 + 1, dot2 - dot1 - 1);
    auto const signature = good.substr(dot2 + 1);

    CHECK(verify_error("") == app::jwt_error::missing);
    SUBCASE("segment count")
    {
        for (std::string const& t : {header, header + "." + payload, good + "." + signature, good + ".",
                 "." + good, std::string(".."), std::string("..."), std::string("a")}) {
            CAPTURE(t);
            CHECK(verify_error(t) == app::jwt_error::malformed);
        }
    }
    SUBCASE("not base64url")
    {
        // '+' and '/' are base64 but not base64url; padding is not allowed; nor are spaces.
        for (std::string const& t : {header + "=." + payload + "." + signature,
                 header + "." + payload + "." + signature + "=", header + "." + payload + "." + signature + "==",
                 header + "." + payload + "+." + signature, header + "." + payload + "/." + signature,
                 header + " ." + payload + "." + signature, " " + good, good + "\n",
                 header + "." + payload + "." + signature.substr(0, 42) + "*",
                 header + "." + payload + "." + signature + "AA",   // 4n+1 characters
                 header + "." + payload + "\x80." + signature, std::string("\0.a.b", 5)}) {
            CAPTURE(t);
            CHECK(verify_error(t) == app::jwt_error::malformed);
        }
    }
    SUBCASE("non-canonical trailing bits")
    {
        // 43 characters carry 258 bits for 256: the last character's 2 low bits must be zero.
        REQUIRE(signature.size() == 43);
        auto odd = good;
        auto& last = odd.back();
        last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            [std::string_view("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_").find(last) | 1];
        CHECK(odd != good);
        CHECK(verify_error(odd) == app::jwt_error::malformed);
    }
    SUBCASE("header not a JSON object")
    {
        for (auto const* h : {"", "not json", R"(["alg","HS256"])", R"("HS256")", "null",
                 R"({"alg":"HS256")", "{\"alg\":\"HS256\"}x", "{\"alg\":\"\xff\"}"}) {
            CAPTURE(h);
            CHECK(verify_error(forge(h, R"({"sub":"alice"})")) == app::jwt_error::malformed);
        }
    }
    SUBCASE("payload not a JSON object, correctly signed")
    {
        for (auto const* p : {"", "sub=alice", R"(["sub","alice"])", "42", "{\"sub\":\"alice\"",
                 "{\"sub\":\"\xc3\x28\"}"}) {
            CAPTURE(p);
            CHECK(verify_error(forge(R"({"alg":"HS256","typ":"JWT"})", p)) == app::jwt_error::malformed);
        }
    }
    SUBCASE("deeply nested JSON is refused without harm")
    {
        CHECK(verify_error(forge(std::string(100000, '['), "{}")) == app::jwt_error::malformed);
        auto const deep = std::string(100000, '[') + std::string(100000, ']');
        CHECK_FALSE(verify_error(forge(R"({"alg":"HS256"})", R"({"sub":"a","x":)" + deep + "}")));
    }
}

TEST_CASE("jwt: claims")
{
    auto const signed_payload = [](std::string_view p) { return forge(R"({"alg":"HS256","typ":"JWT"})", p); };
    SUBCASE("sub")
    {
        for (auto const* p : {R"({})", R"({"sub":""})", R"({"sub":42})", R"({"sub":null})", R"({"sub":["alice"]})",
                 R"({"sub":true})", R"({"Sub":"alice"})"}) {
            CAPTURE(p);
            CHECK(verify_error(signed_payload(p)) == app::jwt_error::bad_claims);
        }
    }
    SUBCASE("channels")
    {
        for (auto const* p : {R"({"sub":"a","channels":"news"})", R"({"sub":"a","channels":["news",1]})",
                 R"({"sub":"a","channels":{"news":true}})", R"({"sub":"a","channels":null})",
                 R"({"sub":"a","channels":[["news"]]})"}) {
            CAPTURE(p);
            CHECK(verify_error(signed_payload(p)) == app::jwt_error::bad_claims);
        }
        std::error_code ec;
        auto const empty = app::verify_jwt(signed_payload(R"({"sub":"a","channels":[]})"), secret, t0, ec);
        REQUIRE(empty);
        CHECK(empty->channels.empty());
    }
    SUBCASE("publish")
    {
        for (auto const* p : {R"({"sub":"a","publish":"true"})", R"({"sub":"a","publish":1})",
                 R"({"sub":"a","publish":null})"}) {
            CAPTURE(p);
            CHECK(verify_error(signed_payload(p)) == app::jwt_error::bad_claims);
        }
        std::error_code ec;
        auto const no = app::verify_jwt(signed_payload(R"({"sub":"a","publish":false})"), secret, t0, ec);
        REQUIRE(no);
        CHECK_FALSE(no->publish);
    }
    SUBCASE("duplicate names: the last one counts (RFC 7515 5.2)")
    {
        std::error_code ec;
        auto const c = app::verify_jwt(signed_payload(R"({"sub":"mallory","sub":"alice"})"), secret, t0, ec);
        REQUIRE(c);
        CHECK(c->subject == "alice");
    }
}

TEST_CASE("jwt: may_subscribe")
{
    app::jwt_claims c;
    CHECK_FALSE(c.may_subscribe("news"));
    CHECK_FALSE(c.may_subscribe(""));
    c.channels = {"news", "alerts"};
    CHECK(c.may_subscribe("news"));
    CHECK(c.may_subscribe("alerts"));
    CHECK_FALSE(c.may_subscribe("new"));
    CHECK_FALSE(c.may_subscribe("News"));
    CHECK_FALSE(c.may_subscribe("sports"));
    CHECK_FALSE(c.may_subscribe("*"));
    c.channels = {"news", "*"};
    CHECK(c.may_subscribe("sports"));
    CHECK(c.may_subscribe(""));
    c.channels = {"news*"};
    CHECK_FALSE(c.may_subscribe("newsroom"));
}

TEST_CASE("jwt: bearer_token")
{
    using app::bearer_token;
    CHECK(bearer_token("Bearer abc.DEF-_~+/.x9==") == std::optional<std::string_view>("abc.DEF-_~+/.x9=="));
    CHECK(bearer_token("bearer   x") == std::optional<std::string_view>("x"));
    CHECK(bearer_token("BEARER x") == std::optional<std::string_view>("x"));
    CHECK(bearer_token("BeArEr x") == std::optional<std::string_view>("x"));
    for (auto const* h : {"", "Bearer", "Bearer ", "Bearer    ", "Basic x", "Basic dXNlcjpwYXNz", "Bearerx",
             "Bearer\tx", " Bearer x", "Bearer x y", "Bearer x ", "Bearer =", "Bearer x=y", "Bearer x,y",
             "Bear x", "Bearer\xc3\xa9 x", "Bearer \xc3\xa9"}) {
        CAPTURE(h);
        CHECK_FALSE(bearer_token(h));
    }
    auto const header = std::string("Bearer ") + app::sign_jwt({{"sub", "a"}}, secret);
    auto const token = bearer_token(header);
    REQUIRE(token);
    CHECK(token->data() == header.data() + 7);
    std::error_code ec;
    CHECK(app::verify_jwt(*token, secret, t0, ec));
}

TEST_CASE("jwt: error codes")
{
    std::error_code const ec = app::jwt_error::expired;
    CHECK(std::string(ec.category().name()) == "jwt");
    CHECK(ec == app::jwt_error::expired);
    CHECK(ec != app::jwt_error::not_yet_valid);
    CHECK(&ec.category() == &app::make_error_code(app::jwt_error::missing).category());
    std::set<std::string> messages;
    for (int v = int(app::jwt_error::malformed); v <= int(app::jwt_error::missing); ++v) {
        auto const m = app::make_error_code(app::jwt_error(v)).message();
        CAPTURE(m);
        CHECK(m.size() > 10);
        CHECK(m.find("unknown") == std::string::npos);
        messages.insert(m);
    }
    CHECK(messages.size() == 7);
}

TEST_CASE("jwt: sign_jwt preconditions")
{
    CHECK_THROWS_AS(app::sign_jwt(json::array({1}), secret), std::invalid_argument);
    CHECK_THROWS_AS(app::sign_jwt(json("sub"), secret), std::invalid_argument);
    CHECK_THROWS_AS(app::sign_jwt({{"sub", "a"}}, ""), std::invalid_argument);
    CHECK_THROWS_AS(app::sign_jwt({{"sub", std::string("\xff")}}, secret), json::type_error);
    // A binary secret with NUL bytes is used whole.
    std::string const binary("k\0ey", 4);
    auto const token = app::sign_jwt({{"sub", "a"}}, binary);
    CHECK_FALSE(verify_error(token, t0, 30s, binary));
    CHECK(verify_error(token, t0, 30s, "k") == app::jwt_error::bad_signature);
}
