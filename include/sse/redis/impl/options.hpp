// sse/redis/impl/options.hpp - bodies of the Redis URL and endpoint parsers.
#ifndef SSE_REDIS_IMPL_OPTIONS_HPP
#define SSE_REDIS_IMPL_OPTIONS_HPP

#include <sse/http/detail/chars.hpp>
#include <sse/redis/error.hpp>
#include <sse/redis/options.hpp>

#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

inline bool is_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

using http::detail::hex_value;

/// RFC 3986 2.1: %XX is the octet XX; a '%' not followed by two hex digits is an error.
inline bool percent_decode(std::string_view in, std::string& out)
{
    out.clear();
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size())
            return false;
        int const hi = hex_value(in[i + 1]);
        int const lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0)
            return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return true;
}

/** Reads `host[:port]` or `[v6]:port` into `e`; the port keeps `default_port` when absent.
    The host is a DNS name or an IPv4 address (letters, digits, '-', '.', '_'), or an IPv6
    address in brackets, stored without them (what a resolver takes).
*/
inline bool parse_host_port(std::string_view s, std::uint16_t default_port, endpoint& e)
{
    std::string_view host;
    std::string_view rest;
    if (!s.empty() && s.front() == '[') {
        auto const close = s.find(']');
        if (close == std::string_view::npos)
            return false;
        host = s.substr(1, close - 1);
        rest = s.substr(close + 1);
        if (host.empty() || host.find(':') == std::string_view::npos)
            return false;
        for (char c : host)
            if (hex_value(c) < 0 && c != ':' && c != '.')
                return false;
    }
    else {
        auto const colon = s.find(':');
        host = s.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view() : s.substr(colon);
        if (host.empty())
            return false;
        for (char c : host)
            if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
                return false;
    }
    std::uint16_t port = default_port;
    if (!rest.empty()) {
        if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6)
            return false;
        unsigned long value = 0;
        for (char c : rest.substr(1)) {
            if (c < '0' || c > '9')
                return false;
            value = value * 10 + static_cast<unsigned long>(c - '0');
        }
        if (value < 1 || value > 65535)
            return false;
        port = static_cast<std::uint16_t>(value);
    }
    e.host.assign(host.data(), host.size());
    e.port = port;
    return true;
}

inline bool equal_nocase(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

} // namespace detail

inline bool valid_namespace(std::string_view ns) noexcept
{
    if (ns.empty() || ns.size() > 64)
        return false;
    for (char c : ns)
        if (!detail::is_alnum(c) && c != '_' && c != '.' && c != '-')
            return false;
    return true;
}

inline void parse_url(std::string_view url, backplane_options& o, error_code& ec)
{
    ec = {};
    auto const fail = [&ec](error e) { ec = make_error_code(e); };

    auto const colon = url.find("://");
    if (colon == std::string_view::npos)
        return fail(error::bad_url);
    // RFC 3986 3.1: schemes are case-insensitive. rediss (TLS) is refused: Debian's hiredis has no TLS.
    if (!detail::equal_nocase(url.substr(0, colon), "redis"))
        return fail(error::bad_url);
    std::string_view rest = url.substr(colon + 3);
    // Query strings (redis-py's ?db=, ?password=) and fragments would otherwise be
    // read as part of the namespace or silently ignored.
    if (rest.find_first_of("?#") != std::string_view::npos)
        return fail(error::bad_url);

    auto const slash = rest.find('/');
    std::string_view const authority = rest.substr(0, slash);
    std::string_view const path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

    backplane_options next = o;
    std::string_view host_port = authority;
    // The last '@' ends the user information, so that a raw '@' in a password still parses.
    auto const at = authority.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view const userinfo = authority.substr(0, at);
        host_port = authority.substr(at + 1);
        auto const sep = userinfo.find(':');
        // `user@host` is ambiguous (a user without a password, or a password, by client): refused.
        if (sep == std::string_view::npos)
            return fail(error::bad_url);
        if (!detail::percent_decode(userinfo.substr(0, sep), next.username)
            || !detail::percent_decode(userinfo.substr(sep + 1), next.password))
            return fail(error::bad_url);
    }
    else {
        next.username.clear();
        next.password.clear();
    }
    endpoint server;
    if (!detail::parse_host_port(host_port, 6379, server))
        return fail(error::bad_url);
    next.server = server;

    if (!path.empty()) {
        if (!valid_namespace(path))
            return fail(error::bad_namespace);
        next.ns.assign(path.data(), path.size());
    }
    o = std::move(next);
}

inline std::vector<endpoint> parse_endpoints(std::string_view list, std::uint16_t default_port, error_code& ec)
{
    ec = {};
    std::vector<endpoint> out;
    auto const trim = [](std::string_view s) {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    };
    for (;;) {
        auto const comma = list.find(',');
        endpoint e;
        if (!detail::parse_host_port(trim(list.substr(0, comma)), default_port, e)) {
            ec = make_error_code(error::bad_url);
            return {};
        }
        out.push_back(std::move(e));
        if (comma == std::string_view::npos)
            return out;
        list.remove_prefix(comma + 1);
    }
}

} // namespace redis
SSE_NAMESPACE_END

#endif
