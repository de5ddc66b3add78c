// auth.cpp - credential checks.
#include "auth.hpp"

namespace app {
namespace {

sse::response unauthorized(std::string const& message, bool invalid)
{
    sse::response r = error_response(401, message);
    // RFC 6750 3: the scheme, and why a token that was sent is refused.
    r.headers.emplace_back("WWW-Authenticate", invalid ? "Bearer error=\"invalid_token\"" : "Bearer");
    return r;
}

// Compares in time independent of where the strings differ, so that a key
// cannot be guessed byte by byte from response times (its length is no secret).
bool same_secret(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

} // namespace

bool identity::may_subscribe(std::string_view channel) const
{
    return via != source::token || (claims && claims->may_subscribe(channel));
}

std::string identity::rate_key(std::string_view remote_ip) const
{
    switch (via) {
    case source::token: return "user:" + user;
    case source::publish_key: return "publish-key";
    case source::anonymous: break;
    }
    return "ip:" + std::string(remote_ip);
}

authenticator::authenticator(config const& c)
    : secret_(c.jwt_secret), publish_key_(c.publish_key), leeway_(c.jwt_leeway), anonymous_(c.effective_anonymous())
{
}

bool authenticator::is_publish_key(std::string_view candidate) const noexcept
{
    return !publish_key_.empty() && same_secret(candidate, publish_key_);
}

std::optional<identity> authenticator::verify(std::string_view token, std::chrono::system_clock::time_point now,
                                              sse::response& refusal) const
{
    if (secret_.empty()) {
        refusal = unauthorized("this server accepts no tokens (no --jwt-secret is configured)", true);
        return std::nullopt;
    }
    std::error_code ec;
    auto claims = verify_jwt(token, secret_, now, ec, leeway_);
    if (!claims) {
        refusal = unauthorized("invalid token: " + ec.message(), true);
        return std::nullopt;
    }
    identity who;
    who.via = identity::source::token;
    who.user = claims->subject;
    who.claims = std::move(claims);
    return who;
}

std::optional<identity> authenticator::subscriber(request const& r, std::chrono::system_clock::time_point now,
                                                  sse::response& refusal) const
{
    std::optional<std::string_view> token;
    if (auto header = r.header("Authorization")) {
        token = bearer_token(*header);
        if (!token) {
            refusal = unauthorized("the Authorization header must be \"Bearer <token>\"", true);
            return std::nullopt;
        }
    } else if (auto param = r.head.param("token")) {
        token = *param;
    }
    if (token)
        return verify(*token, now, refusal);
    if (anonymous_)
        return identity{};
    refusal = unauthorized("a token is required: send \"Authorization: Bearer <token>\" or ?token=<token>", false);
    return std::nullopt;
}

std::optional<identity> authenticator::publisher(request const& r, std::chrono::system_clock::time_point now,
                                                 sse::response& refusal) const
{
    identity by_key;
    by_key.via = identity::source::publish_key;
    if (auto key = r.header("X-API-Key")) {
        if (is_publish_key(*key))
            return by_key;
        refusal = unauthorized("invalid X-API-Key", true);
        return std::nullopt;
    }
    if (auto header = r.header("Authorization")) {
        auto const token = bearer_token(*header);
        if (!token) {
            refusal = unauthorized("the Authorization header must be \"Bearer <token>\"", true);
            return std::nullopt;
        }
        if (is_publish_key(*token))
            return by_key;
        auto who = verify(*token, now, refusal);
        if (who && !who->claims->publish) {
            refusal = error_response(403, "this token does not allow publishing (its \"publish\" claim is not true)");
            return std::nullopt;
        }
        return who;
    }
    if (anonymous_)
        return identity{};
    refusal = unauthorized("a publisher credential is required: a token with \"publish\": true, "
                           "or the publish key as X-API-Key",
                           false);
    return std::nullopt;
}

} // namespace app
