// sse/impl/error.hpp - bodies of the error categories.
#ifndef SSE_IMPL_ERROR_HPP
#define SSE_IMPL_ERROR_HPP

#include <sse/error.hpp>
#include <string>

SSE_NAMESPACE_BEGIN
namespace detail {

class error_category_impl final : public std::error_category
{
public:
    char const* name() const noexcept override { return "sse"; }

    std::string message(int value) const override
    {
        switch (static_cast<error>(value)) {
        case error::id_has_newline:
            return "event id contains CR or LF; remove line breaks from the id";
        case error::id_has_nul:
            return "event id contains NUL, which clients ignore; remove it from the id";
        case error::type_has_newline:
            return "event type contains CR or LF; remove line breaks from the type";
        case error::negative_retry:
            return "retry delay is negative; use zero or a positive number of milliseconds";
        case error::line_too_long:
            return "stream line exceeds the parser's max_line limit; raise parser_limits::max_line "
                   "if the peer is trusted";
        case error::event_too_long:
            return "event data exceeds the parser's max_event limit; raise parser_limits::max_event "
                   "if the peer is trusted";
        case error::bad_method:
            return "request method is not a valid HTTP token";
        case error::bad_target:
            return "request target is malformed or has bad percent-encoding";
        case error::bad_version:
            return "HTTP version is not HTTP/1.0 or HTTP/1.1";
        case error::bad_request_line:
            return "request line is malformed";
        case error::bad_header:
            return "header field is malformed";
        case error::target_too_long:
            return "request target exceeds the configured limit";
        case error::head_too_large:
            return "HTTP head exceeds the configured size limit";
        case error::too_many_headers:
            return "HTTP head has more header fields than the configured limit";
        case error::bad_status_line:
            return "response status line is malformed";
        case error::bad_chunk:
            return "chunked body is malformed";
        case error::chunk_too_large:
            return "chunk size overflows or exceeds the configured limit";
        case error::bad_content_length:
            return "Content-Length is malformed, conflicting or too large";
        case error::bad_status:
            return "server answered with a status other than 200; the stream was not opened";
        case error::bad_content_type:
            return "server answered with a Content-Type other than text/event-stream";
        case error::no_content:
            return "server answered 204 No Content: it asks the client not to reconnect";
        case error::bad_url:
            return "URL is not an absolute http or https URL the client can use (no credentials, "
                   "spaces or raw non-ASCII bytes; percent-encode them)";
        case error::https_not_supported:
            return "https URL for an event source over a plain socket; use "
                   "event_source<asio::ssl::stream<asio::ip::tcp::socket>> from <sse/asio/ssl.hpp>";
        case error::too_many_redirects:
            return "server redirected more times than event_source_options::max_redirects allows";
        case error::bad_redirect:
            return "server sent a redirect without a usable Location header";
        case error::connect_timeout:
            return "no response head arrived within event_source_options::connect_timeout "
                   "(name resolution, connection, TLS handshake and request included)";
        case error::stalled:
            return "no byte arrived within event_source_options::stall_timeout, not even a "
                   "heartbeat: the connection is presumed dead";
        case error::stream_ended:
            return "server ended the stream (an event source reconnects with Last-Event-ID unless "
                   "reconnection is off)";
        case error::reconnect_limit:
            return "gave up reconnecting: backoff_options::max_attempts or max_elapsed was reached";
        case error::held_back:
            return "the stream stayed silent while polling found new events: something between "
                   "client and server (a proxy) is probably buffering the stream; polling instead";
        case error::bad_poll_response:
            return "the polling endpoint did not answer 200 with a body the poll decoder accepts "
                   "(within poll_fallback_options::max_body)";
        case error::peer_closed:
            return "client closed the connection or vanished; it may reconnect with Last-Event-ID";
        case error::write_timeout:
            return "client accepted no bytes within the write timeout; the connection was closed "
                   "(raise stream_options::write_timeout for slow links)";
        case error::send_queue_full:
            return "stream's send queue exceeded stream_options::max_queue_bytes because the client "
                   "reads too slowly; the connection was closed";
        case error::source_closed:
            return "the stream's source ended it: the hub shut down, kicked the subscriber, "
                   "or disconnected it as a slow consumer";
        case error::stream_closed:
            return "stream was closed by the server; nothing more can be sent on it";
        case error::head_timeout:
            return "request head did not arrive within the listener's head timeout (408); "
                   "raise listener_options::head_timeout for slow clients";
        case error::body_too_large:
            return "request body exceeds the configured limit (413); raise body_limits::max_body "
                   "if such bodies are expected";
        case error::body_timeout:
            return "request body did not arrive within body_limits::timeout (408)";
        case error::unknown_event_id:
            return "Last-Event-ID names no event in the replay buffer; the client must resynchronise "
                   "(it was sent an `event: reset`)";
        case error::foreign_event_id:
            return "Last-Event-ID was issued by another epoch (a restart or another server); the "
                   "client must resynchronise (it was sent an `event: reset`)";
        case error::event_id_too_old:
            return "events after Last-Event-ID were already evicted from the replay buffer; raise "
                   "replay_limits or let the client resynchronise (it was sent an `event: reset`)";
        case error::hub_shut_down:
            return "hub was shut down; it accepts no more subscribers or events";
        case error::duplicate_stream_name:
            return "the source group already has a stream of that name; choose another name, "
                   "or remove() the stream first";
        case error::backplane_unavailable:
            return "the backplane cannot reach its log (is Redis up?); nothing was published: retry later";
        case error::backplane_epoch_changed:
            return "the backplane's log moved to a new epoch (its store restarted or was emptied); "
                   "nothing was published: retry";
        case error::audience_not_shareable:
            return "an audience with a predicate cannot be published through a backplane; "
                   "publish to topics or a user, or filter in subscriber_options::filter";
        }
        return "unknown sse error";
    }

    bool equivalent(int value, std::error_condition const& cond) const noexcept override
    {
        if (cond.category() != condition_category())
            return false;
        bool const recoverable = is_recoverable(static_cast<error>(value));
        return cond.value() ==
               static_cast<int>(recoverable ? condition::recoverable : condition::fatal);
    }

private:
    static bool is_recoverable(error e) noexcept
    {
        switch (e) {
        // A broken stream from a peer may be a transient fault: a reconnect may succeed.
        case error::line_too_long:
        case error::event_too_long:
        case error::bad_status_line:
        case error::bad_chunk:
        case error::chunk_too_large:
        case error::bad_content_length:
        // The connection broke; the client reconnects and resumes.
        case error::peer_closed:
        case error::write_timeout:
        case error::connect_timeout:
        case error::stalled:
        case error::stream_ended:
        // Polling takes over, and the stream is tried again later.
        case error::held_back:
        case error::bad_poll_response:
        // The log comes back; the publish may be retried.
        case error::backplane_unavailable:
        case error::backplane_epoch_changed:
            return true;
        default:
            return false;
        }
    }
};

class condition_category_impl final : public std::error_category
{
public:
    char const* name() const noexcept override { return "sse.condition"; }

    std::string message(int value) const override
    {
        switch (static_cast<condition>(value)) {
        case condition::recoverable:
            return "recoverable: a retry may succeed";
        case condition::fatal:
            return "fatal: retrying gives the same failure";
        }
        return "unknown sse condition";
    }
};

} // namespace detail

SSE_DECL std::error_category const& error_category() noexcept
{
    static detail::error_category_impl const category;
    return category;
}

SSE_DECL std::error_category const& condition_category() noexcept
{
    static detail::condition_category_impl const category;
    return category;
}

SSE_NAMESPACE_END

#endif
