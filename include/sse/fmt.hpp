// sse/fmt.hpp - fmt formatters for events, close reasons and error codes.
#ifndef SSE_FMT_HPP
#define SSE_FMT_HPP

#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

SSE_NAMESPACE_BEGIN

/** An error code to be formatted with its message and its origin.

    `fmt::format("{}", sse::describe(ec))` gives `<message> (<category>:<value>)`,
    with the enumerator's name as the value for the library's own codes:
    `"server answered 204 No Content: ... (sse:no_content)"`, `"Connection refused (system:111)"`.
    An empty code gives `success`. Made by describe(); holds a copy of the code.

    `std::error_code` itself gets no formatter here: fmt 10 and later format it in
    `<fmt/std.h>` (as `category:value`), and a second one would clash with that.
*/
struct described_error
{
    error_code code;
};

/// Wraps `ec` for formatting; see described_error.
inline described_error describe(error_code const& ec) noexcept
{
    return {ec};
}

namespace detail {

// The longest data preview a format spec may ask for, so that a typo cannot ask for gigabytes.
constexpr std::size_t fmt_max_preview = std::size_t(1) << 20;
constexpr std::size_t fmt_default_preview = 32;

inline char const* fmt_name(close_reason r) noexcept
{
    switch (r) {
    case close_reason::slow_consumer: return "slow_consumer";
    case close_reason::shutdown: return "shutdown";
    case close_reason::kicked: return "kicked";
    case close_reason::token_expired: return "token_expired";
    case close_reason::unsubscribed: return "unsubscribed";
    case close_reason::sink_expired: return "sink_expired";
    }
    return nullptr;
}

inline char const* fmt_name(condition c) noexcept
{
    switch (c) {
    case condition::recoverable: return "recoverable";
    case condition::fatal: return "fatal";
    }
    return nullptr;
}

inline char const* fmt_name(error e) noexcept
{
    switch (e) {
    case error::id_has_newline: return "id_has_newline";
    case error::id_has_nul: return "id_has_nul";
    case error::type_has_newline: return "type_has_newline";
    case error::negative_retry: return "negative_retry";
    case error::line_too_long: return "line_too_long";
    case error::event_too_long: return "event_too_long";
    case error::bad_method: return "bad_method";
    case error::bad_target: return "bad_target";
    case error::bad_version: return "bad_version";
    case error::bad_request_line: return "bad_request_line";
    case error::bad_header: return "bad_header";
    case error::target_too_long: return "target_too_long";
    case error::head_too_large: return "head_too_large";
    case error::too_many_headers: return "too_many_headers";
    case error::bad_status_line: return "bad_status_line";
    case error::bad_chunk: return "bad_chunk";
    case error::chunk_too_large: return "chunk_too_large";
    case error::bad_content_length: return "bad_content_length";
    case error::bad_status: return "bad_status";
    case error::bad_content_type: return "bad_content_type";
    case error::no_content: return "no_content";
    case error::bad_url: return "bad_url";
    case error::https_not_supported: return "https_not_supported";
    case error::too_many_redirects: return "too_many_redirects";
    case error::bad_redirect: return "bad_redirect";
    case error::connect_timeout: return "connect_timeout";
    case error::stalled: return "stalled";
    case error::stream_ended: return "stream_ended";
    case error::reconnect_limit: return "reconnect_limit";
    case error::held_back: return "held_back";
    case error::bad_poll_response: return "bad_poll_response";
    case error::peer_closed: return "peer_closed";
    case error::write_timeout: return "write_timeout";
    case error::send_queue_full: return "send_queue_full";
    case error::source_closed: return "source_closed";
    case error::stream_closed: return "stream_closed";
    case error::head_timeout: return "head_timeout";
    case error::body_too_large: return "body_too_large";
    case error::body_timeout: return "body_timeout";
    case error::unknown_event_id: return "unknown_event_id";
    case error::foreign_event_id: return "foreign_event_id";
    case error::event_id_too_old: return "event_id_too_old";
    case error::hub_shut_down: return "hub_shut_down";
    case error::duplicate_stream_name: return "duplicate_stream_name";
    case error::backplane_unavailable: return "backplane_unavailable";
    case error::backplane_epoch_changed: return "backplane_epoch_changed";
    case error::audience_not_shareable: return "audience_not_shareable";
    }
    return nullptr;
}

inline void fmt_put(std::string_view text, fmt::memory_buffer& out)
{
    out.append(text.data(), text.data() + text.size());
}

// The name of an enumerator, or `<type>(<value>)` for a value the enum does not name.
template<class Enum>
void fmt_enum(Enum value, char const* type, fmt::memory_buffer& out)
{
    if (char const* name = fmt_name(value))
        fmt_put(name, out);
    else
        fmt::format_to(fmt::appender(out), "{}({})", type, static_cast<int>(value));
}

// `"text"` with C-style escapes for the quote, the backslash and control bytes (so that
// a log line stays one line), cut after `limit` bytes, and never inside a UTF-8 sequence:
// a cut text ends in `"...`.
inline void fmt_quoted(std::string_view text, std::size_t limit, fmt::memory_buffer& out)
{
    std::size_t size = text.size();
    bool const cut = size > limit;
    if (cut) {
        size = limit;
        while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80)
            --size;
    }
    out.push_back('"');
    for (char const c : text.substr(0, size)) {
        switch (c) {
        case '\n': fmt_put("\\n", out); break;
        case '\r': fmt_put("\\r", out); break;
        case '\t': fmt_put("\\t", out); break;
        case '"': fmt_put("\\\"", out); break;
        case '\\': fmt_put("\\\\", out); break;
        default:
            if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f')
                fmt::format_to(fmt::appender(out), "\\x{:02x}", static_cast<unsigned char>(c));
            else
                out.push_back(c);
        }
    }
    out.push_back('"');
    if (cut)
        fmt_put("...", out);
}

inline void fmt_field(std::string_view name, fmt::memory_buffer& out)
{
    if (out.size() != 0)
        out.push_back(' ');
    fmt_put(name, out);
}

// `name=<size>B "preview"`, or without the preview when it is to be 0 bytes long.
inline void fmt_text(std::string_view name, std::string_view text, std::size_t preview, fmt::memory_buffer& out)
{
    fmt_field(name, out);
    fmt::format_to(fmt::appender(out), "{}B", text.size());
    if (preview != 0) {
        out.push_back(' ');
        fmt_quoted(text, preview, out);
    }
}

inline void fmt_summary(event const& e, std::size_t preview, fmt::memory_buffer& out)
{
    constexpr auto whole = std::string_view::npos;
    if (e.comment)
        fmt_text("comment=", *e.comment, preview, out);
    if (e.id) {
        fmt_field("id=", out);
        fmt_quoted(*e.id, whole, out);
    }
    if (!e.type.empty()) {
        fmt_field("type=", out);
        fmt_quoted(e.type, whole, out);
    }
    if (e.retry) {
        fmt_field("retry=", out);
        fmt::format_to(fmt::appender(out), "{}ms", e.retry->count());
    }
    if (e.data)
        fmt_text("data=", *e.data, preview, out);
    if (out.size() == 0)
        fmt_put("(empty)", out);
}

inline void fmt_summary(event_view const& e, std::size_t preview, fmt::memory_buffer& out)
{
    constexpr auto whole = std::string_view::npos;
    fmt_field("type=", out);
    fmt_quoted(e.type, whole, out);
    if (!e.last_event_id.empty()) {
        fmt_field("last_id=", out);
        fmt_quoted(e.last_event_id, whole, out);
    }
    fmt_text("data=", e.data, preview, out);
}

inline void fmt_wire(event const& e, fmt::memory_buffer& out)
{
    error_code ec;
    std::string const wire = to_string(e, ec);
    if (ec)
        fmt::format_to(fmt::appender(out), "(unsendable: {})", ec.message());
    else
        fmt_put(wire, out);
}

inline void fmt_describe(error_code const& ec, fmt::memory_buffer& out)
{
    if (!ec) {
        fmt_put("success", out);
        return;
    }
    fmt::format_to(fmt::appender(out), "{} ({}:", ec.message(), ec.category().name());
    char const* name = ec.category() == error_category() ? fmt_name(static_cast<error>(ec.value())) : nullptr;
    if (name)
        fmt_put(name, out);
    else
        fmt::format_to(fmt::appender(out), "{}", ec.value());
    out.push_back(')');
}

// Parses the specs of an event's formatter: `` (the summary), `.N` (the summary with an
// N-byte preview) and, where `wire_allowed`, `wire`. Returns where the spec ends; `valid` is
// false for a spec it does not know (the formatter reports it: FMT_THROW needs fmt's
// namespace). An empty spec may come as a null range.
struct fmt_event_spec
{
    std::size_t preview = fmt_default_preview;
    bool wire = false;
    bool valid = true;

    constexpr char const* parse(char const* it, char const* end, bool wire_allowed) noexcept
    {
        if (it != end && *it == '.') {
            ++it;
            if (it == end || *it < '0' || *it > '9') {
                valid = false;
                return it;
            }
            preview = 0;
            for (; it != end && *it >= '0' && *it <= '9'; ++it)
                preview = std::min(preview * 10 + static_cast<std::size_t>(*it - '0'), fmt_max_preview);
        } else if (wire_allowed && end - it >= 4 && it[0] == 'w' && it[1] == 'i' && it[2] == 'r' && it[3] == 'e') {
            wire = true;
            it += 4;
        }
        valid = it == end || *it == '}';
        return it;
    }
};

// The enums and described_error: a text, then fmt's standard string specs (fill, align, width).
struct fmt_text_formatter : fmt::formatter<fmt::string_view>
{
    template<class FormatContext>
    auto write(fmt::memory_buffer const& text, FormatContext& ctx) const -> decltype(ctx.out())
    {
        return fmt::formatter<fmt::string_view>::format(fmt::string_view(text.data(), text.size()), ctx);
    }
};

// An enum of the library: its enumerator's name (fmt_enum), with fmt's string specs.
// `Type` names the enum for a value it does not name: `close_reason(42)`.
template<class Enum, char const* Type>
struct fmt_enum_formatter : fmt_text_formatter
{
    template<class FormatContext>
    auto format(Enum value, FormatContext& ctx) const -> decltype(ctx.out())
    {
        fmt::memory_buffer text;
        fmt_enum(value, Type, text);
        return write(text, ctx);
    }
};

inline constexpr char fmt_close_reason_type[] = "close_reason";
inline constexpr char fmt_error_type[] = "error";
inline constexpr char fmt_condition_type[] = "condition";

} // namespace detail

SSE_NAMESPACE_END

/** `sse::event`: `{}` is a one-line summary, `{:.N}` the same with an N-byte data preview,
    `{:wire}` the exact wire form.

    The summary lists what the event has, in wire order: `comment=<n>B "…"`, `id="…"`,
    `type="…"`, `retry=<n>ms`, `data=<n>B "…"`. A comment and the data show their size in
    bytes, then a preview of their first 32 bytes (N with `.N`; `.0` leaves the previews
    out). Texts are quoted, with `\n`, `\r`, `\t`, `\"`, `\\` and `\xNN` escapes, so that
    a log line stays one line; a preview that was cut ends in `"...`, never inside a UTF-8
    sequence. An event with no member set gives `(empty)`.

    `{:wire}` writes what sse::to_string(e) returns. An event that cannot be sent safely
    gives `(unsendable: <reason>)` instead.
*/
template<>
struct fmt::formatter<sse::event>
{
    sse::detail::fmt_event_spec spec_;

    constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin())
    {
        auto const spec_end = spec_.parse(ctx.begin(), ctx.end(), true);
        if (!spec_.valid)
            FMT_THROW(fmt::format_error("sse::event: the format spec is empty, .N (data preview bytes) or wire"));
        return spec_end;
    }

    template<class FormatContext>
    auto format(sse::event const& e, FormatContext& ctx) const -> decltype(ctx.out())
    {
        fmt::memory_buffer text;
        if (spec_.wire)
            sse::detail::fmt_wire(e, text);
        else
            sse::detail::fmt_summary(e, spec_.preview, text);
        return std::copy(text.begin(), text.end(), ctx.out());
    }
};

/** `sse::event_view` (a parsed event): `{}` is a one-line summary, `{:.N}` the same with an
    N-byte data preview.

    `type="…"` (`"message"` unless the stream named another), `last_id="…"` (the last event
    ID as of this event, left out while it is empty), `data=<n>B "…"`, escaped and cut as for
    sse::event.
*/
template<>
struct fmt::formatter<sse::event_view>
{
    sse::detail::fmt_event_spec spec_;

    constexpr auto parse(fmt::format_parse_context& ctx) -> decltype(ctx.begin())
    {
        auto const spec_end = spec_.parse(ctx.begin(), ctx.end(), false);
        if (!spec_.valid)
            FMT_THROW(fmt::format_error("sse::event_view: the format spec is empty or .N (data preview bytes)"));
        return spec_end;
    }

    template<class FormatContext>
    auto format(sse::event_view const& e, FormatContext& ctx) const -> decltype(ctx.out())
    {
        fmt::memory_buffer text;
        sse::detail::fmt_summary(e, spec_.preview, text);
        return std::copy(text.begin(), text.end(), ctx.out());
    }
};

/// `sse::close_reason`: the enumerator's name (`slow_consumer`), with fmt's string specs.
template<>
struct fmt::formatter<sse::close_reason>
    : sse::detail::fmt_enum_formatter<sse::close_reason, sse::detail::fmt_close_reason_type>
{
};

/// `sse::error`: the enumerator's name (`stalled`), with fmt's string specs. For the
/// message, format `sse::describe(e)`.
template<>
struct fmt::formatter<sse::error>
    : sse::detail::fmt_enum_formatter<sse::error, sse::detail::fmt_error_type>
{
};

/// `sse::condition`: `recoverable` or `fatal`, with fmt's string specs.
template<>
struct fmt::formatter<sse::condition>
    : sse::detail::fmt_enum_formatter<sse::condition, sse::detail::fmt_condition_type>
{
};

/// `sse::described_error`: `<message> (<category>:<value or name>)`, with fmt's string specs.
template<>
struct fmt::formatter<sse::described_error> : sse::detail::fmt_text_formatter
{
    template<class FormatContext>
    auto format(sse::described_error const& d, FormatContext& ctx) const -> decltype(ctx.out())
    {
        fmt::memory_buffer text;
        sse::detail::fmt_describe(d.code, text);
        return write(text, ctx);
    }
};

#endif
