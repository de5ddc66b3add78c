// sse/cors.hpp - which cross-origin (CORS) header fields answer a request from a given Origin.
#ifndef SSE_CORS_HPP
#define SSE_CORS_HPP

#include <sse/config.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/** The allow-list of origins whose pages may read a server's answers, and the
    one place that turns it into CORS header fields (Fetch standard, "CORS
    protocol"), for event streams, plain answers and preflights alike.

    Each function appends every field it decides on exactly once, so a caller
    adds the fields of one answer with one call: a preflight answer takes
    add_preflight_headers() alone, any other answer add_headers() alone.

    An origin is allowed if it is listed, or the list holds `"*"`. An allowed
    origin gets `Access-Control-Allow-Origin` with its own origin echoed, or
    `*` when every origin is allowed without credentials (browsers refuse `*`
    with credentials). Whenever the answer depends on the request's `Origin`,
    it carries `Vary: Origin`, so that a cache keeps one answer per origin. An
    origin that is not allowed gets no `Access-Control-*` field: its page
    cannot read the answer. An empty list sends no CORS field at all.

    @code
    sse::cors_policy cors;
    cors.allowed_origins = {"https://app.example"};
    cors.allow_credentials = true;
    cors.add_headers(request.fields().find("Origin").value_or(""), response.headers);
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: safe for the const members.
*/
struct cors_policy
{
    /// Origins allowed to read answers (`scheme://host[:port]`, as browsers send
    /// `Origin`), or `"*"` for every origin. Empty: no CORS fields at all.
    std::vector<std::string> allowed_origins;

    /// Sends `Access-Control-Allow-Credentials: true` to allowed origins, so that
    /// pages may send cookies and `Authorization` (`fetch` with `credentials:
    /// "include"`, an EventSource created `withCredentials`).
    bool allow_credentials = false;

    /// Response fields a page may read, sent as `Access-Control-Expose-Headers`.
    std::vector<std::string> expose_headers;

    /// Request fields a page may send, answered to a preflight as
    /// `Access-Control-Allow-Headers` (e.g. `Content-Type`, `Authorization`).
    std::vector<std::string> allow_headers;

    /// How long a browser may reuse a preflight answer (`Access-Control-Max-Age`). Zero: not sent.
    std::chrono::seconds max_age{0};

    /// True if pages of `origin` (a request's `Origin` field) may read answers.
    /// False for an empty origin or one holding CR, LF or NUL.
    SSE_DECL bool allows(std::string_view origin) const noexcept;

    /** Appends to `out` the CORS fields of an answer (an event stream's head or
        a plain response) to a request whose `Origin` is `origin` (empty when
        the request has none): `Access-Control-Allow-Origin`,
        `Access-Control-Allow-Credentials` and `Access-Control-Expose-Headers`
        for an allowed origin, and `Vary: Origin` when the answer depends on it.
    */
    SSE_DECL void add_headers(std::string_view origin, std::vector<std::pair<std::string, std::string>>& out) const;

    /** Appends to `out` the fields of the answer to a preflight (`OPTIONS` with
        `Access-Control-Request-Method`) from `origin`, for a resource that accepts
        `methods` (e.g. `"POST, OPTIONS"`).

        @returns `true` if `origin` is allowed: answer 204 with these fields
        (`Access-Control-Allow-Origin`, `-Credentials`, `-Methods`, `-Headers`,
        `-Max-Age`, `Vary`). `false`: at most `Vary` was appended; answer 403.
    */
    SSE_DECL bool add_preflight_headers(std::string_view origin, std::string_view methods,
                                        std::vector<std::pair<std::string, std::string>>& out) const;
};

/// The name sse::stream_options first gave the policy; the same type.
using cors_options = cors_policy;

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/cors.hpp>
#endif
#endif
