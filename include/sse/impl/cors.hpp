// sse/impl/cors.hpp - bodies of sse::cors_policy.
#ifndef SSE_IMPL_CORS_HPP
#define SSE_IMPL_CORS_HPP

#include <sse/cors.hpp>
#include <sse/http/detail/chars.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN
namespace detail {

inline bool cors_any(cors_policy const& p) noexcept
{
    return std::find(p.allowed_origins.begin(), p.allowed_origins.end(), "*") != p.allowed_origins.end();
}

// `*` can answer only when it is right for every origin: with credentials a
// browser refuses it (Fetch, "CORS check"), so the origin is echoed instead.
inline bool cors_wildcard(cors_policy const& p) noexcept
{
    return !p.allow_credentials && cors_any(p);
}

inline std::string cors_join(std::vector<std::string> const& names)
{
    std::string out;
    for (auto const& n : names) {
        if (!http::detail::is_safe_header_value(n))
            continue;
        if (!out.empty())
            out += ", ";
        out += n;
    }
    return out;
}

// Access-Control-Allow-Origin and -Credentials: what a plain answer and a
// preflight's answer to an allowed origin both carry.
inline void cors_allow_origin(cors_policy const& p, bool wildcard, std::string_view origin,
    std::vector<std::pair<std::string, std::string>>& out)
{
    out.emplace_back("Access-Control-Allow-Origin", wildcard ? std::string("*") : std::string(origin));
    if (p.allow_credentials)
        out.emplace_back("Access-Control-Allow-Credentials", "true");
}

} // namespace detail

SSE_DECL bool cors_policy::allows(std::string_view origin) const noexcept
{
    if (origin.empty() || !http::detail::is_safe_header_value(origin))
        return false;
    return detail::cors_any(*this) ||
           std::find(allowed_origins.begin(), allowed_origins.end(), origin) != allowed_origins.end();
}

SSE_DECL void cors_policy::add_headers(
    std::string_view origin, std::vector<std::pair<std::string, std::string>>& out) const
{
    if (allowed_origins.empty())
        return;
    bool const wildcard = detail::cors_wildcard(*this);
    if (wildcard || allows(origin)) {
        detail::cors_allow_origin(*this, wildcard, origin, out);
        if (auto expose = detail::cors_join(expose_headers); !expose.empty())
            out.emplace_back("Access-Control-Expose-Headers", std::move(expose));
    }
    // RFC 9110 12.5.5: an answer chosen by Origin names it in Vary, whether or
    // not this origin was allowed, so that no cache hands it to another origin.
    if (!wildcard)
        out.emplace_back("Vary", "Origin");
}

SSE_DECL bool cors_policy::add_preflight_headers(std::string_view origin, std::string_view methods,
                                                 std::vector<std::pair<std::string, std::string>>& out) const
{
    if (allowed_origins.empty())
        return false;
    bool const wildcard = detail::cors_wildcard(*this);
    bool const allowed = allows(origin);
    if (allowed) {
        detail::cors_allow_origin(*this, wildcard, origin, out);
        if (!methods.empty() && http::detail::is_safe_header_value(methods))
            out.emplace_back("Access-Control-Allow-Methods", std::string(methods));
        if (auto allow = detail::cors_join(allow_headers); !allow.empty())
            out.emplace_back("Access-Control-Allow-Headers", std::move(allow));
        if (max_age.count() > 0)
            out.emplace_back("Access-Control-Max-Age", std::to_string(max_age.count()));
    }
    if (!wildcard)
        out.emplace_back("Vary", "Origin");
    return allowed;
}

SSE_NAMESPACE_END

#endif
