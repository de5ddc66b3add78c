// auth.hpp - who is asking, and what they may do: JWTs, the publish key, anonymous mode.
#ifndef SSE_SERVER_AUTH_HPP
#define SSE_SERVER_AUTH_HPP

#include "config.hpp"
#include "http.hpp"
#include "jwt.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace app {

/// The requester, once authenticated.
struct identity
{
    enum class source
    {
        anonymous,     ///< no credential, in anonymous mode
        token,         ///< a verified JWT
        publish_key,   ///< the configured publish key
    };

    source via = source::anonymous;
    /// The token's `sub`; empty otherwise.
    std::string user;
    /// The token's claims (source::token only).
    std::optional<jwt_claims> claims;

    /// Channels: any for anonymous requesters, the token's otherwise.
    bool may_subscribe(std::string_view channel) const;

    /** The bucket a publish is counted in: the token's user, the publish
        key, or the client address for anonymous requests.
    */
    std::string rate_key(std::string_view remote_ip) const;
};

/** Checks credentials against the configuration.

    Streams and polling take a JWT from `Authorization: Bearer` or, because
    a browser's EventSource cannot set headers, from the `token` query
    parameter. Publishing and administration take a JWT with `"publish": true`,
    or the publish key as `X-API-Key` or `Authorization: Bearer`; never a
    query parameter, which would end up in logs.

    Missing or invalid credentials give 401 with `WWW-Authenticate: Bearer`;
    a valid token without the right gives 403. A request without any
    credential passes as anonymous in anonymous mode; a bad credential is
    refused even then, since the client meant to be someone.

    @par Thread safety
    Safe: const after construction.
*/
class authenticator
{
public:
    explicit authenticator(config const& c);

    bool anonymous() const noexcept { return anonymous_; }

    /// Authenticates a stream or poll request; on refusal returns nothing and sets `refusal`.
    std::optional<identity> subscriber(request const& r, std::chrono::system_clock::time_point now,
                                       sse::response& refusal) const;

    /// Authenticates a publisher or an administrator; on refusal returns nothing and sets `refusal`.
    std::optional<identity> publisher(request const& r, std::chrono::system_clock::time_point now,
                                      sse::response& refusal) const;

private:
    std::optional<identity> verify(std::string_view token, std::chrono::system_clock::time_point now,
                                   sse::response& refusal) const;
    bool is_publish_key(std::string_view candidate) const noexcept;

    std::string secret_;
    std::string publish_key_;
    std::chrono::seconds leeway_;
    bool anonymous_;
};

} // namespace app

#endif
