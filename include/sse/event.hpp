// sse/event.hpp - one Server-Sent Event and its wire form.
#ifndef SSE_EVENT_HPP
#define SSE_EVENT_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

SSE_NAMESPACE_BEGIN

/** One message of an event stream, as the server writes it.

    Every member is optional on the wire; a default-constructed event
    serialises to a lone blank line.

    @code
    sse::event e;
    e.type = "update";
    e.id = "42";
    e.data = "line one\nline two";
    std::string wire = sse::to_string(e);
    // "id: 42\nevent: update\ndata: line one\ndata: line two\n\n"
    @endcode

    Members that cannot be sent safely are rejected when the event is
    serialised, never written: CR or LF in `id` or `type`, NUL in `id`, a
    negative `retry`.
*/
struct event
{
    /// `data:` lines. Absent: the message dispatches nothing in a client
    /// (use it for id-only, retry-only or comment-only messages). Present and
    /// empty: the client dispatches an event with empty data. CR, LF and CRLF
    /// split it into lines; a client gives back the text with LF line breaks.
    std::optional<std::string> data;

    /// `event:` line, the type a client dispatches. Empty: no line, and the
    /// client uses its default type, `message`.
    std::string type;

    /// `id:` line. Absent: no line, the client keeps its last event id.
    /// Present and empty: the client forgets its last event id.
    std::optional<std::string> id;

    /// `retry:` line: the client's reconnection delay.
    std::optional<std::chrono::milliseconds> retry;

    /// Comment lines (`: text`), ignored by clients but seen by proxies and by
    /// parsers that report comments. Line breaks start a new comment line.
    /// Present and empty: a bare `:` line, the smallest heartbeat.
    std::optional<std::string> comment;
};

/// An immutable serialised event, shared by every subscriber it is sent to.
using event_buffer = std::shared_ptr<std::string const>;

/// Returns the error that serialising `e` would report, or an empty code.
SSE_DECL error_code validate(event const& e) noexcept;

/// Returns the number of bytes `serialize` appends for a valid `e`.
SSE_DECL std::size_t serialized_size(event const& e) noexcept;

/** Appends the wire form of `e` to `out`, ending with the blank line that
    completes the message.

    @param ec Set to the reason when `e` cannot be sent safely; `out` is then
    left unchanged.
*/
SSE_DECL void serialize(event const& e, std::string& out, error_code& ec);

/// Appends the wire form of `e` to `out`. Throws `std::system_error` if `e`
/// cannot be sent safely; `out` is then left unchanged.
SSE_DECL void serialize(event const& e, std::string& out);

/// Returns the wire form of `e`, or an empty string and sets `ec`.
SSE_DECL std::string to_string(event const& e, error_code& ec);

/// Returns the wire form of `e`. Throws `std::system_error` if `e` cannot be
/// sent safely.
SSE_DECL std::string to_string(event const& e);

/** Serialises `e` once into a buffer that many subscribers can share.

    The bytes are allocated once, at their exact size. Returns null and sets
    `ec` if `e` cannot be sent safely.
*/
SSE_DECL event_buffer make_event_buffer(event const& e, error_code& ec);

/// As above; throws `std::system_error` if `e` cannot be sent safely.
SSE_DECL event_buffer make_event_buffer(event const& e);

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/event.hpp>
#endif
#endif
