// sse/client/url.hpp - an absolute http or https URL, and redirect targets resolved against one.
#ifndef SSE_CLIENT_URL_HPP
#define SSE_CLIENT_URL_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN

/** An absolute http or https URL, split into what an HTTP/1.1 client needs.

    Made by parse_url() or resolve_url(), which check every field; a url built by
    hand is only as valid as its fields.

    @code
    sse::url const u = sse::parse_url("HTTPS://Example.COM/events?topic=a#top");
    // u.scheme == "https", u.host == "example.com", u.port == 443, u.target == "/events?topic=a"
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: const member functions are safe.
*/
struct url
{
    std::string scheme;       ///< "http" or "https", lower case
    std::string host;         ///< reg-name lower-cased, IPv4 dotted, or an IPv6 address without brackets
    std::uint16_t port = 0;   ///< the explicit port, or the scheme's default (80, 443)
    std::string target;       ///< path and query as sent in the request line; "/" when the path is empty; no fragment

    bool is_https() const noexcept { return scheme == "https"; }

    /// The host is an IPv6 literal (it contains ':').
    bool is_ipv6() const noexcept { return host.find(':') != std::string::npos; }

    /// The port is the scheme's default, so authority() leaves it out.
    bool has_default_port() const noexcept { return port == (is_https() ? 443 : 80); }

    /// The Host header value: the host (in brackets if IPv6), then ":port" unless it is the default.
    SSE_DECL std::string authority() const;

    /// scheme "://" authority() target: a URL that parse_url() reads back to an equal url.
    SSE_DECL std::string to_string() const;
};

/** Parses an absolute http or https URL (RFC 3986 3, RFC 9110 4.2).

    Spaces and tabs around `text` are ignored. The scheme and host are
    case-insensitive and stored in lower case; the path and query are kept as
    given, percent-escapes included, and the fragment is dropped. An empty port
    (`http://h:/`) means the default one.

    Fails with `error::bad_url` on: another scheme; no `//` authority or an empty
    host; userinfo (`user@host`: credentials are never sent from a URL); a port
    that is not 1 to 65535; a host with characters outside RFC 3986's reg-name
    or a percent-escape; a bracketed host that is not a plain IPv6 address (zone
    ids and IPvFuture are refused); a `%` not followed by two hexadecimal digits;
    and any space, control character, backslash or byte from 0x7F up, which the
    caller percent-encodes first.

    Throws `std::system_error` on failure; the other overload reports through
    `ec` and then returns an empty url.
*/
SSE_DECL url parse_url(std::string_view text);
SSE_DECL url parse_url(std::string_view text, error_code& ec);

/** Resolves a URI reference, such as a `Location` value, against `base` (RFC 3986 5.2).

    Accepts an absolute URL, `//host/path`, `/path`, `relative/path`, `?query`
    and the empty reference, removes dot segments (RFC 3986 5.2.4) and drops the
    fragment. The reference's characters are checked as parse_url() checks
    them, and the result must be an http or https URL: `ftp://h/` or `http:g`
    (no authority) fail with `error::bad_url`. `base` comes from parse_url() or
    resolve_url().

    Throws `std::system_error` on failure; the other overload reports through
    `ec` and then returns an empty url.
*/
SSE_DECL url resolve_url(url const& base, std::string_view reference);
SSE_DECL url resolve_url(url const& base, std::string_view reference, error_code& ec);

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/client/impl/url.hpp>
#endif
#endif
