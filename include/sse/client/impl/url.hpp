// sse/client/impl/url.hpp - bodies of URL parsing and reference resolution.
#ifndef SSE_CLIENT_IMPL_URL_HPP
#define SSE_CLIENT_IMPL_URL_HPP

#include <sse/client/url.hpp>
#include <sse/http/detail/chars.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN
namespace detail {
namespace uri {

// A URI reference cut into its components (RFC 3986 4.1), as views into the text.
// The fragment is left out: it is never sent to a server.
struct parts
{
    std::string_view scheme;   // empty: the reference has none
    std::string_view authority;
    std::string_view path;
    std::string_view query;
    bool has_authority = false;
    bool has_query = false;
};

// RFC 3986 2.1: a '%' starts an escape of exactly two hexadecimal digits.
SSE_DECL bool valid_escapes(std::string_view s) noexcept
{
    for (std::size_t i = s.find('%'); i != std::string_view::npos; i = s.find('%', i + 3))
        if (s.size() - i < 3 || http::detail::hex_value(s[i + 1]) < 0 || http::detail::hex_value(s[i + 2]) < 0)
            return false;
    return true;
}

// Trims `text`, refuses characters no URL may carry raw, and splits it along
// RFC 3986 appendix B. False if a character or a percent-escape is refused.
SSE_DECL bool split(std::string_view text, parts& out) noexcept
{
    text = http::detail::trim_ows(text);
    // Space, controls and non-ASCII must arrive percent-encoded. A backslash is
    // not a URI character either, and browsers read it as '/': refusing it
    // avoids a second reading of where the authority ends.
    for (char const c : text)
        if (!http::detail::is_vchar(c) || c == '\\')
            return false;

    text = text.substr(0, text.find('#'));
    // A scheme ends at the first ':', if that comes before any '/' or '?'; so
    // "./a:b" is a path and "a:b" a reference with scheme "a".
    std::size_t const colon = text.find_first_of(":/?");
    if (colon != std::string_view::npos && colon > 0 && text[colon] == ':') {
        out.scheme = text.substr(0, colon);
        text.remove_prefix(colon + 1);
    }
    if (text.substr(0, 2) == "//") {
        text.remove_prefix(2);
        out.authority = text.substr(0, text.find_first_of("/?"));
        out.has_authority = true;
        text.remove_prefix(out.authority.size());
    }
    std::size_t const question = text.find('?');
    out.path = text.substr(0, question);
    if (question != std::string_view::npos) {
        out.query = text.substr(question + 1);
        out.has_query = true;
    }
    return valid_escapes(out.path) && valid_escapes(out.query);
}

// Sets u.scheme from a case-insensitive "http" or "https"; false for any other.
SSE_DECL bool read_scheme(std::string_view scheme, url& u)
{
    std::string lower;
    for (char const c : scheme)
        lower.push_back(http::detail::to_lower(c));
    if (lower != "http" && lower != "https")
        return false;
    u.scheme = std::move(lower);
    return true;
}

// RFC 3986 3.2.2 dec-octet "." dec-octet "." dec-octet "." dec-octet, without
// leading zeros.
SSE_DECL bool valid_ipv4(std::string_view s) noexcept
{
    for (int i = 0; i < 4; ++i) {
        std::size_t const end = i < 3 ? s.find('.') : s.size();
        if (end == std::string_view::npos)
            return false;
        std::string_view const octet = s.substr(0, end);
        if (octet.empty() || octet.size() > 3 || (octet.size() > 1 && octet[0] == '0'))
            return false;
        int value = 0;
        for (char const c : octet) {
            if (!http::detail::is_digit(c))
                return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255)
            return false;
        s.remove_prefix(i < 3 ? end + 1 : end);
    }
    return true;
}

// RFC 3986 3.2.2 IPv6address: eight pieces of 1 to 4 hex digits, the last two
// of which may be a dotted IPv4 address, and at most one "::" standing for one
// or more zero pieces. A zone id (RFC 6874) would have a '%' and is refused.
SSE_DECL bool valid_ipv6(std::string_view s) noexcept
{
    int pieces = 0;
    bool elided = false;
    if (s.substr(0, 2) == "::") {
        elided = true;
        s.remove_prefix(2);
    }
    while (!s.empty()) {
        std::size_t const end = s.find(':');
        std::string_view const piece = s.substr(0, end);
        if (piece.find('.') != std::string_view::npos) {
            if (end != std::string_view::npos || !valid_ipv4(piece))
                return false;
            pieces += 2;
            break;
        }
        if (piece.empty() || piece.size() > 4)
            return false;
        for (char const c : piece)
            if (http::detail::hex_value(c) < 0)
                return false;
        ++pieces;
        if (end == std::string_view::npos)
            break;
        s.remove_prefix(end + 1);
        if (s.empty())
            return false;
        if (s.front() == ':') {
            if (elided)
                return false;
            elided = true;
            s.remove_prefix(1);
        }
    }
    return elided ? pieces <= 7 : pieces == 8;
}

// RFC 3986 3.2.2 reg-name: unreserved and sub-delims. Percent-escapes are
// refused, since the name goes to the resolver as it is. Leaving '@' out
// refuses userinfo: RFC 9110 4.2.4 deprecates it, and a client that sent it on
// would leak credentials.
constexpr bool is_host_char(char c) noexcept
{
    if (http::detail::is_alpha(c) || http::detail::is_digit(c))
        return true;
    switch (c) {
    case '-': case '.': case '_': case '~':
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',': case ';': case '=':
        return true;
    default:
        return false;
    }
}

// Sets u.host and u.port from `authority`; u.scheme picks the default port.
SSE_DECL bool read_authority(std::string_view authority, url& u)
{
    std::string_view host;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t const close = authority.find(']');
        if (close == std::string_view::npos)
            return false;
        host = authority.substr(1, close - 1);
        std::string_view const rest = authority.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return false;
        port = rest.substr(rest.empty() ? 0 : 1);
        if (!valid_ipv6(host))
            return false;
    } else {
        std::size_t const colon = authority.find(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos)
            port = authority.substr(colon + 1);
        for (char const c : host)
            if (!is_host_char(c))
                return false;
    }
    if (host.empty())
        return false;

    // RFC 3986 3.2.3: an empty port means the scheme's default.
    unsigned value = u.is_https() ? 443 : 80;
    if (!port.empty()) {
        value = 0;
        for (char const c : port) {
            if (!http::detail::is_digit(c))
                return false;
            value = value * 10 + static_cast<unsigned>(c - '0');
            if (value > 65535)
                return false;
        }
        if (value == 0)
            return false;
    }
    u.host.clear();
    for (char const c : host)
        u.host.push_back(http::detail::to_lower(c));
    u.port = static_cast<std::uint16_t>(value);
    return true;
}

// RFC 3986 5.2.4. The input is a path that is empty or starts with '/', or a
// merged path, which starts with '/' too; so only rules B, C and E ever apply,
// and every segment moved to the output keeps its leading '/'.
SSE_DECL std::string remove_dot_segments(std::string_view in)
{
    std::string out;
    auto const drop_last_segment = [&out] {
        std::size_t const slash = out.rfind('/');
        out.erase(slash == std::string::npos ? 0 : slash);
    };
    while (!in.empty()) {
        if (in.substr(0, 3) == "/./" || in == "/.") {
            in.remove_prefix(2);
            if (in.empty())
                in = "/";
        } else if (in.substr(0, 4) == "/../" || in == "/..") {
            in.remove_prefix(3);
            if (in.empty())
                in = "/";
            drop_last_segment();
        } else if (in.substr(0, 3) == "../") {
            in.remove_prefix(3);
        } else if (in.substr(0, 2) == "./") {
            in.remove_prefix(2);
        } else if (in == "." || in == "..") {
            in = {};
        } else {
            std::size_t const end = std::min(in.find('/', 1), in.size());
            out.append(in.substr(0, end));
            in.remove_prefix(end);
        }
    }
    return out;
}

// RFC 9112 3.2.1: the origin-form target; RFC 9110 4.2.3: an empty path is "/".
SSE_DECL std::string make_target(std::string_view path, bool has_query, std::string_view query)
{
    std::string target(path.empty() ? std::string_view("/") : path);
    if (has_query)
        target.append("?").append(query);
    return target;
}

} // namespace uri
} // namespace detail

SSE_DECL std::string url::authority() const
{
    std::string out;
    if (is_ipv6())
        out.append("[").append(host).append("]");
    else
        out.append(host);
    if (!has_default_port())
        out.append(":").append(std::to_string(port));
    return out;
}

SSE_DECL std::string url::to_string() const
{
    return scheme + "://" + authority() + target;
}

SSE_DECL url parse_url(std::string_view text, error_code& ec)
{
    ec = {};
    detail::uri::parts r;
    url u;
    if (detail::uri::split(text, r) && detail::uri::read_scheme(r.scheme, u) && r.has_authority &&
        detail::uri::read_authority(r.authority, u)) {
        // The path is kept as given: dot segments are for the server to read.
        u.target = detail::uri::make_target(r.path, r.has_query, r.query);
        return u;
    }
    ec = error::bad_url;
    return {};
}

SSE_DECL url parse_url(std::string_view text)
{
    error_code ec;
    url u = parse_url(text, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return u;
}

SSE_DECL url resolve_url(url const& base, std::string_view reference, error_code& ec)
{
    ec = {};
    detail::uri::parts r;
    url u;
    std::string path;
    bool ok = detail::uri::split(reference, r);
    if (ok && !r.scheme.empty()) {
        // RFC 3986 5.2.2, strict: a reference with a scheme is absolute even when
        // the scheme is the base's, so "http:g" has no host and fails.
        ok = detail::uri::read_scheme(r.scheme, u) && r.has_authority && detail::uri::read_authority(r.authority, u);
        path = detail::uri::remove_dot_segments(r.path);
    } else if (ok && r.has_authority) {
        u.scheme = base.scheme;
        ok = detail::uri::read_authority(r.authority, u);
        path = detail::uri::remove_dot_segments(r.path);
    } else if (ok) {
        u.scheme = base.scheme;
        u.host = base.host;
        u.port = base.port;
        std::string_view const base_target = base.target;
        std::size_t const question = base_target.find('?');
        std::string_view const base_path = base_target.substr(0, question);
        if (r.path.empty()) {
            path = base_path;
            if (!r.has_query && question != std::string_view::npos) {
                r.query = base_target.substr(question + 1);
                r.has_query = true;
            }
        } else if (r.path.front() == '/') {
            path = detail::uri::remove_dot_segments(r.path);
        } else {
            // RFC 3986 5.2.3: the reference replaces the base path's last segment;
            // a base with an empty path merges as "/".
            std::size_t const slash = base_path.rfind('/');
            std::string merged = slash == std::string_view::npos ? "/" : std::string(base_path.substr(0, slash + 1));
            merged.append(r.path);
            path = detail::uri::remove_dot_segments(merged);
        }
    }
    // A base not made by parse_url may lack a usable scheme or a host.
    if (!ok || (u.scheme != "http" && u.scheme != "https") || u.host.empty()) {
        ec = error::bad_url;
        return {};
    }
    u.target = detail::uri::make_target(path, r.has_query, r.query);
    return u;
}

SSE_DECL url resolve_url(url const& base, std::string_view reference)
{
    error_code ec;
    url u = resolve_url(base, reference, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return u;
}

SSE_NAMESPACE_END

#endif
