// sse/error.hpp - error codes of the library and the conditions callers test for.
#ifndef SSE_ERROR_HPP
#define SSE_ERROR_HPP

#include <sse/config.hpp>
#include <system_error>

SSE_NAMESPACE_BEGIN

using error_code = std::error_code;

/** Specific failures reported by the library.

    Each value's message (`make_error_code(e).message()`) is a sentence that says
    what was wrong and what to do about it.
*/
enum class error
{
    // sse::event: values that cannot be written to the wire safely.
    id_has_newline = 1,   ///< the id contains CR or LF
    id_has_nul,           ///< the id contains U+0000, which parsers ignore
    type_has_newline,     ///< the event type contains CR or LF
    negative_retry,       ///< the retry delay is negative

    // sse::parser: limits that stop a hostile or broken peer.
    line_too_long,        ///< a line exceeds parser_limits::max_line
    event_too_long,       ///< an event's data exceeds parser_limits::max_event

    // sse::http: request heads (server side).
    bad_method,           ///< the request line's method is not a token
    bad_target,           ///< the request target is malformed or badly percent-encoded
    bad_version,          ///< not HTTP/1.0 or HTTP/1.1
    bad_request_line,     ///< the request line is malformed
    bad_header,           ///< a header field is malformed
    target_too_long,      ///< the request target exceeds its limit (414)
    head_too_large,       ///< the head exceeds its size limit (431)
    too_many_headers,     ///< the head exceeds its field count limit (431)

    // sse::http: response heads and bodies (client side).
    bad_status_line,      ///< the status line is malformed
    bad_chunk,            ///< a chunk header, delimiter or trailer is malformed
    chunk_too_large,      ///< a chunk size overflows or exceeds its limit
    bad_content_length,   ///< Content-Length is malformed, repeated with other values, or too large

    // Client policy (sse::event_source).
    bad_status,           ///< the response status is not 200
    bad_content_type,     ///< the response is not text/event-stream
    no_content,           ///< the server answered 204: do not reconnect
    bad_url,              ///< the URL is not an absolute http or https URL
    https_not_supported,  ///< an https URL for an event_source over a plain socket
    too_many_redirects,   ///< more redirects than event_source_options::max_redirects
    bad_redirect,         ///< a redirect without a usable Location
    connect_timeout,      ///< no response head within event_source_options::connect_timeout
    stalled,              ///< no byte within event_source_options::stall_timeout
    stream_ended,         ///< the server ended the stream (the client reconnects)
    reconnect_limit,      ///< backoff_options::max_attempts or max_elapsed reached
    held_back,            ///< an open stream delivered nothing while polling found events (a buffering proxy)
    bad_poll_response,    ///< the polling endpoint's answer is not 200, too large, or not in the expected format

    // sse::stream and sse::listener (server transport).
    peer_closed,          ///< the client closed the connection or vanished
    write_timeout,        ///< the client accepted no bytes within the write timeout
    send_queue_full,      ///< the stream's queue outgrew stream_options::max_queue_bytes
    source_closed,        ///< the pull source attached to the stream ended it
    stream_closed,        ///< the server closed the stream (close() or a send after the end)
    head_timeout,         ///< the request head did not arrive within the listener's deadline (408)
    body_too_large,       ///< a request body exceeds body_limits::max_body (413)
    body_timeout,         ///< a request body did not arrive within body_limits::timeout (408)

    // sse::replay_buffer and sse::hub (fan-out core).
    unknown_event_id,     ///< Last-Event-ID names no event this server knows (or one from the future)
    foreign_event_id,     ///< Last-Event-ID comes from another epoch: a restart or another server
    event_id_too_old,     ///< the events after Last-Event-ID were evicted from the replay buffer
    hub_shut_down,        ///< the hub was shut down: it takes no more subscribers or events

    // sse::source_group.
    duplicate_stream_name,   ///< source_group::add with a name the group already has

    // sse::backplane (a hub that follows a shared log).
    backplane_unavailable,    ///< the backplane cannot reach its log now: nothing was published; retry later
    backplane_epoch_changed,  ///< the log moved to a new epoch (its store restarted): the hub resynchronises; retry
    audience_not_shareable,   ///< an audience::matching predicate cannot cross a backplane: use topics or a user
};

/** The broad question a caller asks of an error: try again, or give up? */
enum class condition
{
    recoverable = 1,   ///< a reconnect or a retry may succeed
    fatal,             ///< repeating the same request gives the same failure
};

/// The category of sse::error values.
SSE_DECL std::error_category const& error_category() noexcept;

/// The category of sse::condition values.
SSE_DECL std::error_category const& condition_category() noexcept;

inline std::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

inline std::error_condition make_error_condition(condition c) noexcept
{
    return {static_cast<int>(c), condition_category()};
}

SSE_NAMESPACE_END

namespace std {
template<>
struct is_error_code_enum<::sse::error> : true_type
{
};
template<>
struct is_error_condition_enum<::sse::condition> : true_type
{
};
} // namespace std

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/error.hpp>
#endif
#endif
