// jwt.cpp - HS256 JSON Web Tokens: base64url, HMAC-SHA256 through OpenSSL, claim checks.
#include "jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace app {
namespace {

using mac = std::array<unsigned char, 32>;   // HMAC-SHA256 output

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
        std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

int sextet(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

std::string base64url_encode(std::string_view in)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0)
        out.push_back(alphabet[(acc << (6 - bits)) & 63]);
    return out;
}

// RFC 7515 2: base64url with the padding omitted, so '=' is refused like any byte outside
// the alphabet. A length of 4n+1 has no encoding. The unused low bits of the last character
// must be zero: otherwise several strings decode to the same signature, and a token could be
// altered (defeating a deny-list keyed by token) and still verify.
std::optional<std::string> base64url_decode(std::string_view in)
{
    if (in.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int const v = sextet(c);
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return out;
}

bool hmac_sha256(std::string_view key, std::string_view data, mac& out)
{
    unsigned int len = 0;
    return key.size() <= INT_MAX &&
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<unsigned char const*>(data.data()), data.size(), out.data(), &len) != nullptr &&
        len == out.size();
}

bool is_string(nlohmann::json const& j, std::string_view s)
{
    return j.is_string() && j.get_ref<std::string const&>() == s;
}

// RFC 7519 2: a NumericDate is seconds since the epoch and may have a fraction, which is
// dropped. Dates beyond what the clock's duration holds are clamped, not overflowed.
std::chrono::system_clock::time_point from_numeric_date(double seconds)
{
    using clock = std::chrono::system_clock;
    using std::chrono::duration_cast;
    auto const max = duration_cast<std::chrono::seconds>(clock::duration::max()).count();
    auto const min = duration_cast<std::chrono::seconds>(clock::duration::min()).count();
    double const whole = std::floor(seconds);
    if (!(whole < static_cast<double>(max)))
        return clock::time_point::max();
    if (!(whole > static_cast<double>(min)))
        return clock::time_point::min();
    return clock::time_point(std::chrono::seconds(static_cast<std::chrono::seconds::rep>(whole)));
}

class jwt_category final : public std::error_category
{
public:
    char const* name() const noexcept override { return "jwt"; }

    std::string message(int value) const override
    {
        switch (static_cast<jwt_error>(value)) {
        case jwt_error::malformed:
            return "token is not three base64url segments holding a JSON header and payload, "
                   "or its \"typ\" is not JWT";
        case jwt_error::unsupported_algorithm:
            return "token header does not name the HS256 algorithm, or lists critical extensions "
                   "this server does not support";
        case jwt_error::bad_signature:
            return "token signature does not match: the token was signed with another secret or altered";
        case jwt_error::expired:
            return "token has expired; obtain a new one";
        case jwt_error::not_yet_valid:
            return "token is not valid yet (its \"nbf\" time is ahead); check the clocks";
        case jwt_error::bad_claims:
            return "token claims are invalid: \"sub\" must be a non-empty string, \"exp\" and \"nbf\" "
                   "numbers, \"channels\" an array of strings and \"publish\" a bool";
        case jwt_error::missing:
            return "no token was given";
        }
        return "unknown JWT error";
    }
};

} // namespace

std::error_code make_error_code(jwt_error e)
{
    static jwt_category const category;
    return {static_cast<int>(e), category};
}

bool jwt_claims::may_subscribe(std::string_view channel) const
{
    return std::any_of(channels.begin(), channels.end(),
        [channel](std::string const& c) { return c == "*" || c == channel; });
}

std::optional<jwt_claims> verify_jwt(std::string_view token, std::string_view secret,
    std::chrono::system_clock::time_point now, std::error_code& ec, std::chrono::seconds leeway)
{
    auto fail = [&ec](jwt_error e) -> std::optional<jwt_claims> {
        ec = e;
        return std::nullopt;
    };
    ec = {};
    if (token.empty())
        return fail(jwt_error::missing);

    auto const dot1 = token.find('.');
    auto const dot2 = dot1 == token.npos ? token.npos : token.find('.', dot1 + 1);
    if (dot2 == token.npos || token.find('.', dot2 + 1) != token.npos)
        return fail(jwt_error::malformed);
    auto const header_text = base64url_decode(token.substr(0, dot1));
    auto const payload_text = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    auto const signature = base64url_decode(token.substr(dot2 + 1));
    if (!header_text || !payload_text || !signature)
        return fail(jwt_error::malformed);

    // Duplicate names: nlohmann keeps the last, which RFC 7515 5.2 allows.
    auto const header = nlohmann::json::parse(*header_text, nullptr, false);
    if (!header.is_object())   // a parse error gives a discarded value, not an object
        return fail(jwt_error::malformed);
    // The algorithm is pinned rather than taken from the header: a token must not choose how
    // it is checked ("none" would skip the check; alg confusion attacks swap the algorithm).
    auto const alg = header.find("alg");
    if (alg == header.end() || !is_string(*alg, "HS256"))
        return fail(jwt_error::unsupported_algorithm);
    // RFC 7515 4.1.11: extensions listed in "crit" must be understood; none are.
    if (header.contains("crit"))
        return fail(jwt_error::unsupported_algorithm);
    // RFC 7519 5.1: "typ" is case-insensitive. Another type is another kind of token.
    auto const typ = header.find("typ");
    if (typ != header.end() && !(typ->is_string() && iequals(typ->get_ref<std::string const&>(), "JWT")))
        return fail(jwt_error::malformed);

    // The MAC covers the exact bytes received (RFC 7515 5.2), never a re-encoding. The
    // compare takes the same time wherever the first difference is, so response times do not
    // leak how much of a forged signature is right. The length is public: no need to hide it.
    // An empty secret fails closed, so a missing configuration cannot accept forged tokens.
    mac expected{};
    if (secret.empty() || signature->size() != expected.size() ||
        !hmac_sha256(secret, token.substr(0, dot2), expected) ||
        CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) != 0)
        return fail(jwt_error::bad_signature);

    // The payload is parsed only once it is known to come from a holder of the secret.
    auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
    if (!payload.is_object())
        return fail(jwt_error::malformed);

    auto const exp = payload.find("exp");
    auto const nbf = payload.find("nbf");
    if ((exp != payload.end() && !exp->is_number()) || (nbf != payload.end() && !nbf->is_number()))
        return fail(jwt_error::bad_claims);
    // Dates come first: an expired token is reported as such, whatever else it holds.
    // Compared as doubles: no overflow whatever the dates, and fractions count.
    double const now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    double const leeway_s = static_cast<double>(leeway.count());
    // RFC 7519 4.1.4: refused on or after "exp". 4.1.5: refused before "nbf".
    if (exp != payload.end() && now_s >= exp->get<double>() + leeway_s)
        return fail(jwt_error::expired);
    if (nbf != payload.end() && now_s < nbf->get<double>() - leeway_s)
        return fail(jwt_error::not_yet_valid);

    jwt_claims claims;
    auto const sub = payload.find("sub");
    if (sub == payload.end() || !sub->is_string() || sub->get_ref<std::string const&>().empty())
        return fail(jwt_error::bad_claims);
    claims.subject = sub->get<std::string>();

    if (auto const channels = payload.find("channels"); channels != payload.end()) {
        if (!channels->is_array())
            return fail(jwt_error::bad_claims);
        for (auto const& c : *channels) {
            if (!c.is_string())
                return fail(jwt_error::bad_claims);
            claims.channels.push_back(c.get<std::string>());
        }
    }
    if (auto const publish = payload.find("publish"); publish != payload.end()) {
        if (!publish->is_boolean())
            return fail(jwt_error::bad_claims);
        claims.publish = publish->get<bool>();
    }
    if (exp != payload.end())
        claims.expires = from_numeric_date(exp->get<double>());
    claims.payload = std::move(payload);
    return claims;
}

std::string sign_jwt(nlohmann::json const& payload, std::string_view secret)
{
    if (!payload.is_object())
        throw std::invalid_argument("sign_jwt: the payload must be a JSON object");
    if (secret.empty())
        throw std::invalid_argument("sign_jwt: the secret must not be empty");
    std::string token = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
    token += '.';
    token += base64url_encode(payload.dump());
    mac m{};
    if (!hmac_sha256(secret, token, m))
        throw std::runtime_error("sign_jwt: HMAC-SHA256 failed");
    token += '.';
    token += base64url_encode({reinterpret_cast<char const*>(m.data()), m.size()});
    return token;
}

std::optional<std::string_view> bearer_token(std::string_view authorization_header)
{
    // RFC 6750 2.1: credentials = "Bearer" 1*SP b64token; RFC 9110 11.1: the scheme is case-insensitive.
    constexpr std::string_view scheme = "bearer";
    auto h = authorization_header;
    if (h.size() <= scheme.size() || !iequals(h.substr(0, scheme.size()), scheme) || h[scheme.size()] != ' ')
        return std::nullopt;
    h.remove_prefix(std::min(h.find_first_not_of(' ', scheme.size()), h.size()));

    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    auto const token_char = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            std::string_view("-._~+/").find(c) != std::string_view::npos;
    };
    std::size_t i = 0;
    while (i < h.size() && token_char(h[i]))
        ++i;
    std::size_t const body = i;
    while (i < h.size() && h[i] == '=')
        ++i;
    if (body == 0 || i != h.size())
        return std::nullopt;
    return h;
}

} // namespace app
