// jwt.hpp - HS256 JSON Web Tokens for the example server: who may subscribe to and publish on which channels.
#ifndef SSE_EXAMPLE_SERVER_JWT_HPP
#define SSE_EXAMPLE_SERVER_JWT_HPP

#include <nlohmann/json.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace app {

/// What a verified token grants.
struct jwt_claims
{
    std::string subject;                 ///< "sub": the user id (a non-empty string)
    std::vector<std::string> channels;   ///< "channels": channels the bearer may subscribe to; "*" means any
    bool publish = false;                ///< "publish": whether the bearer may publish
    /// "exp", whole seconds (fraction dropped), clamped to the range of `time_point`.
    std::optional<std::chrono::system_clock::time_point> expires;
    nlohmann::json payload;              ///< the whole payload, for any other claim

    /// Returns `true` if `channels` holds `"*"` or `channel`.
    bool may_subscribe(std::string_view channel) const;
};

/// Why a token was refused.
enum class jwt_error
{
    malformed = 1,           ///< not three base64url segments of JSON objects, or "typ" is not JWT
    unsupported_algorithm,   ///< "alg" is not exactly "HS256", or the header has "crit"
    bad_signature,           ///< the signature does not match the secret
    expired,                 ///< "exp" has passed, leeway included
    not_yet_valid,           ///< "nbf" is still ahead, leeway included
    bad_claims,              ///< "sub", "exp", "nbf", "channels" or "publish" is missing or of the wrong type
    missing,                 ///< the token is empty
};

/// Returns a code in the "jwt" category.
std::error_code make_error_code(jwt_error e);

/** Verifies an HS256 compact JWS (RFC 7515, 7519) signed with `secret`, at time `now`.

    The header must name "alg":"HS256" and nothing else is accepted, "typ" may be
    "JWT" in any case, and "crit" is refused. The payload must be a JSON object
    with a non-empty string "sub". "exp" and "nbf" are NumericDates checked against
    `now` with `leeway` either way; "channels" must be an array of strings and
    "publish" a bool if present.

    @returns The claims, or `std::nullopt` with `ec` set to a `jwt_error`.
    An empty `secret` verifies nothing: the result is `jwt_error::bad_signature`,
    so an unset secret cannot let forged tokens through.
*/
std::optional<jwt_claims> verify_jwt(std::string_view token, std::string_view secret,
    std::chrono::system_clock::time_point now, std::error_code& ec,
    std::chrono::seconds leeway = std::chrono::seconds(30));

/** Signs `payload` with HS256 under the header {"alg":"HS256","typ":"JWT"}.

    Throws `std::invalid_argument` if `payload` is not a JSON object or `secret` is
    empty, and `nlohmann::json::type_error` if a string in `payload` is not UTF-8.
*/
std::string sign_jwt(nlohmann::json const& payload, std::string_view secret);

/** Returns the token of an Authorization field value "Bearer <token>" (RFC 6750 2.1).

    The scheme matches in any case and is followed by one or more spaces; the token
    must be non-empty b64token characters. Returns `std::nullopt` otherwise. The
    result points into `authorization_header`.
*/
std::optional<std::string_view> bearer_token(std::string_view authorization_header);

} // namespace app

template<>
struct std::is_error_code_enum<app::jwt_error> : std::true_type {};

#endif
