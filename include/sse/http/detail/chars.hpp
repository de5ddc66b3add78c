// sse/http/detail/chars.hpp - octet classes of the HTTP grammar (RFC 9110 5.5, 5.6).
#ifndef SSE_HTTP_DETAIL_CHARS_HPP
#define SSE_HTTP_DETAIL_CHARS_HPP

#include <sse/config.hpp>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace http {
namespace detail {

constexpr bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

constexpr bool is_alpha(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 9110 5.6.2: tchar is ALPHA, DIGIT and fifteen marks.
constexpr bool is_tchar(char c) noexcept
{
    if (is_alpha(c) || is_digit(c))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

// RFC 9110 5.6.3: OWS is any run of SP and HTAB.
constexpr bool is_ows(char c) noexcept
{
    return c == ' ' || c == '\t';
}

// RFC 9110 5.5: field-vchar, SP and HTAB. Every other control octet (NUL, CR,
// LF, DEL, ...) is refused rather than passed on.
constexpr bool is_field_char(char c) noexcept
{
    auto const u = static_cast<unsigned char>(c);
    return (u >= 0x20 && u != 0x7f) || u == '\t';
}

// The one check of a field value before it is written into a message (stream
// and plain response heads, a client's request): CR or LF would end the field
// and let the rest forge fields or a body, and RFC 9110 5.5 forbids NUL. Other
// octets are the writer's choice.
constexpr bool is_safe_header_value(std::string_view v) noexcept
{
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0')
            return false;
    return true;
}

// VCHAR only: the octets allowed in a request target before any decoding.
constexpr bool is_vchar(char c) noexcept
{
    auto const u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
}

/// The value of a hexadecimal digit, or -1.
constexpr int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

constexpr char to_lower(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace detail
} // namespace http
SSE_NAMESPACE_END

#endif
