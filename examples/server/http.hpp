// http.hpp - what every route needs: the request, JSON answers, CORS.
#ifndef SSE_SERVER_HTTP_HPP
#define SSE_SERVER_HTTP_HPP

#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/http/request_head.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace app {

/// One request as a route sees it.
struct request
{
    sse::http::request_head head;
    std::string remote_ip;   ///< the peer's address, e.g. "127.0.0.1"
    std::string remote;      ///< address and port, e.g. "127.0.0.1:53122"

    std::optional<std::string_view> header(std::string_view name) const { return head.fields().find(name); }
    std::string_view origin() const { return header("Origin").value_or(std::string_view()); }
};

/// A JSON response with `Cache-Control: no-store`: API answers are never cached.
sse::response json_response(int status, nlohmann::json const& body);

/** `{"error": message}`, plus `"field": field` when a request field is to blame.

    Every refusal of the API has this shape, so a client needs one error path.
*/
sse::response error_response(int status, std::string const& message, std::string_view field = {});

/// A 429 or 503 that says when to come back.
sse::response retry_later(int status, std::string const& message, std::chrono::seconds retry_after);

/** Cross-origin rules of the server: one allow-list for streams, API answers
    and preflights.

    An origin is allowed if it is listed or the list holds `*`. Allowed origins
    get `Access-Control-Allow-Origin` (their own origin echoed, with `Vary:
    Origin`, or `*` when every origin is allowed without credentials);
    others get no CORS header, so their pages cannot read the answer.
*/
class cors_policy
{
public:
    cors_policy(std::vector<std::string> origins, bool credentials);

    bool allows(std::string_view origin) const;

    /// Adds the CORS headers for an answer to a request from `origin` (none if it is not allowed).
    void apply(std::string_view origin, sse::response& r) const;

    /** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`)
        for a resource that accepts `methods`: 204 with the allowed methods and
        headers for an allowed origin, 403 otherwise.
    */
    sse::response preflight(request const& r, std::string_view methods) const;

    /// The same rules for sse::stream.
    sse::cors_options stream_cors() const;

private:
    std::vector<std::string> origins_;
    bool any_ = false;
    bool credentials_ = false;
};

/// `s` as JSON, or null when it is empty: how the API writes an absent user id.
nlohmann::json string_or_null(std::string const& s);

/// The non-empty, trimmed pieces of a comma-separated list ("a, b,,c" gives a, b, c).
std::vector<std::string> split_list(std::string_view list);

/// True if `s` has a control character (CR, LF, NUL, DEL...): such text is refused in names and ids.
bool has_control(std::string_view s) noexcept;

} // namespace app

#endif
