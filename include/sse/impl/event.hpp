// sse/impl/event.hpp - bodies of the event serialisation functions.
#ifndef SSE_IMPL_EVENT_HPP
#define SSE_IMPL_EVENT_HPP

#include <sse/detail/lines.hpp>
#include <sse/event.hpp>

#include <charconv>
#include <cstring>
#include <system_error>

SSE_NAMESPACE_BEGIN
namespace detail {

constexpr std::string_view data_prefix = "data: ";
constexpr std::string_view id_prefix = "id: ";
constexpr std::string_view type_prefix = "event: ";
constexpr std::string_view retry_prefix = "retry: ";
constexpr std::string_view comment_prefix = ": ";

// Enough for the decimal digits of any 64-bit count.
constexpr std::size_t max_retry_digits = 20;

inline std::size_t retry_digits(std::chrono::milliseconds retry) noexcept
{
    auto n = static_cast<unsigned long long>(retry.count());
    std::size_t digits = 1;
    while (n >= 10) {
        n /= 10;
        ++digits;
    }
    return digits;
}

// A field line "name: value\n"; an empty value is written as "name:\n", which
// every parser reads as the same empty value.
inline std::size_t field_size(std::string_view prefix, std::string_view value) noexcept
{
    return (value.empty() ? prefix.size() - 1 : prefix.size() + value.size()) + 1;
}

inline void append_field(std::string& out, std::string_view prefix, std::string_view value)
{
    if (value.empty()) {
        out.append(prefix.data(), prefix.size() - 1);
    } else {
        out.append(prefix.data(), prefix.size());
        out.append(value.data(), value.size());
    }
    out.push_back('\n');
}

// A multi-line value becomes one field line per line of the value.
inline std::size_t lines_size(std::string_view prefix, std::string_view value) noexcept
{
    std::size_t size = 0;
    for_each_line(value, [&](std::string_view line) { size += field_size(prefix, line); });
    return size;
}

inline void append_lines(std::string& out, std::string_view prefix, std::string_view value)
{
    for_each_line(value, [&](std::string_view line) { append_field(out, prefix, line); });
}

// Appends the wire form of an event that validate() accepted.
inline void append_valid(event const& e, std::string& out)
{
    if (e.comment)
        append_lines(out, comment_prefix, *e.comment);
    if (e.id)
        append_field(out, id_prefix, *e.id);
    if (!e.type.empty())
        append_field(out, type_prefix, e.type);
    if (e.retry) {
        char digits[max_retry_digits];
        auto const r = std::to_chars(digits, digits + sizeof digits, e.retry->count());
        append_field(out, retry_prefix, std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
    }
    if (e.data)
        append_lines(out, data_prefix, *e.data);
    out.push_back('\n');
}

} // namespace detail

SSE_DECL error_code validate(event const& e) noexcept
{
    if (e.id) {
        // WHATWG HTML 9.2.6: a client ignores an id containing U+0000, and a line
        // break would end the field early and inject whatever follows.
        if (detail::has_line_break(*e.id))
            return error::id_has_newline;
        if (!e.id->empty() && std::memchr(e.id->data(), '\0', e.id->size()) != nullptr)
            return error::id_has_nul;
    }
    if (detail::has_line_break(e.type))
        return error::type_has_newline;
    if (e.retry && e.retry->count() < 0)
        return error::negative_retry;
    return {};
}

SSE_DECL std::size_t serialized_size(event const& e) noexcept
{
    std::size_t size = 1;   // the blank line that ends the message
    if (e.comment)
        size += detail::lines_size(detail::comment_prefix, *e.comment);
    if (e.id)
        size += detail::field_size(detail::id_prefix, *e.id);
    if (!e.type.empty())
        size += detail::field_size(detail::type_prefix, e.type);
    if (e.retry)
        size += detail::retry_prefix.size() + detail::retry_digits(*e.retry) + 1;
    if (e.data)
        size += detail::lines_size(detail::data_prefix, *e.data);
    return size;
}

SSE_DECL void serialize(event const& e, std::string& out, error_code& ec)
{
    ec = validate(e);
    if (!ec)
        detail::append_valid(e, out);
}

SSE_DECL void serialize(event const& e, std::string& out)
{
    error_code ec;
    serialize(e, out, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::serialize"));
}

SSE_DECL std::string to_string(event const& e, error_code& ec)
{
    std::string out;
    ec = validate(e);
    if (ec)
        return out;
    out.reserve(serialized_size(e));
    detail::append_valid(e, out);
    return out;
}

SSE_DECL std::string to_string(event const& e)
{
    error_code ec;
    auto out = to_string(e, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::to_string"));
    return out;
}

SSE_DECL event_buffer make_event_buffer(event const& e, error_code& ec)
{
    auto bytes = to_string(e, ec);
    if (ec)
        return nullptr;
    return std::make_shared<std::string const>(std::move(bytes));
}

SSE_DECL event_buffer make_event_buffer(event const& e)
{
    error_code ec;
    auto buffer = make_event_buffer(e, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::make_event_buffer"));
    return buffer;
}

SSE_NAMESPACE_END

#endif
