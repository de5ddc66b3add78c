// sse/client/source_options.hpp - the settings, states and statistics of an event source.
#ifndef SSE_CLIENT_SOURCE_OPTIONS_HPP
#define SSE_CLIENT_SOURCE_OPTIONS_HPP

#include <sse/config.hpp>
#include <sse/backoff.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/fields.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/parser.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/** Where an event source is in its life.

    `connecting` → `open` → (`waiting` → `connecting` → `open` …) until `closed`
    or `failed`, which are final. With a polling fallback, `polling` may come
    between them: from `waiting` or `open`, and back to `open` when a stream
    works again.
*/
enum class source_state
{
    connecting,   ///< resolving, connecting, handshaking, or waiting for the response head
    open,         ///< the server answered 200 with text/event-stream: events flow
    waiting,      ///< the connection ended or failed; a reconnect is scheduled
    polling,      ///< the stream is unavailable or held back: events come from the polling fallback
    closed,       ///< ended for good without a failure: close(), 204, or the end of a one-shot stream
    failed,       ///< ended for good by a failure that a reconnect would not cure, or a limit
};

/// The state's name, for logs: "connecting", "open", "waiting", "polling", "closed" or "failed".
constexpr char const* to_string(source_state s) noexcept
{
    switch (s) {
    case source_state::connecting:
        return "connecting";
    case source_state::open:
        return "open";
    case source_state::waiting:
        return "waiting";
    case source_state::polling:
        return "polling";
    case source_state::closed:
        return "closed";
    case source_state::failed:
        return "failed";
    }
    return "unknown";
}

namespace detail {

// What a registration removes itself from: an event source's shared state.
class registrar
{
public:
    virtual void remove_registration(std::uint64_t id) = 0;

protected:
    ~registrar() = default;
};

} // namespace detail

/** What event_source::on() and filter() return: removes the handler or filter
    they added.

    @code
    auto sub = source.on("price", show_price);
    // ... later, when the view goes away:
    sub.remove();
    @endcode

    Small and copyable; a default-constructed one removes nothing. Discarding
    it keeps the handler for the life of the source. remove() may be called
    any number of times, from any thread, from inside a handler (the handler
    then sees no further event), after close(), and after the source was
    destroyed: once the first call took effect, the others do nothing.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (each thread its own copy).
*/
class registration
{
public:
    registration() noexcept = default;

    /** Removes the handler or filter, if still there. From the source's strand
        (a handler) it is gone on return; from another thread, the strand
        removes it before it runs anything posted later.
    */
    void remove()
    {
        auto owner = owner_.lock();
        owner_.reset();
        if (owner)
            owner->remove_registration(id_);
    }

    /// False once remove() was called on this object or the source is gone, and for a default-constructed one.
    bool active() const noexcept { return !owner_.expired(); }

private:
    template<class>
    friend class event_source;

    registration(std::weak_ptr<detail::registrar> owner, std::uint64_t id) noexcept
        : owner_(std::move(owner)), id_(id)
    {
    }

    std::weak_ptr<detail::registrar> owner_;
    std::uint64_t id_ = 0;
};

/// A request header field: name and value, written as given.
using header_field = std::pair<std::string, std::string>;

/** True for the request fields an event source writes itself (`Host`,
    `Accept`, `Cache-Control`, `Last-Event-ID`, `Content-Length`,
    `Content-Type`, `Transfer-Encoding`), ignoring case. They are refused in
    event_source_options::headers: a second copy would make the request ambiguous.
*/
inline bool is_source_header(std::string_view name) noexcept
{
    for (std::string_view own : {"Host", "Accept", "Cache-Control", "Last-Event-ID", "Content-Length",
             "Content-Type", "Transfer-Encoding"})
        if (http::iequals(name, own))
            return true;
    return false;
}

/// Replaces the value of every field called `name` (ignoring case) in `headers`, or appends one.
inline void set_header(std::vector<header_field>& headers, std::string_view name, std::string value)
{
    bool found = false;
    for (auto it = headers.begin(); it != headers.end();) {
        if (!http::iequals(it->first, name)) {
            ++it;
        } else if (!found) {
            it->second = std::move(value);
            found = true;
            ++it;
        } else {
            it = headers.erase(it);   // one field per name: no stale duplicate
        }
    }
    if (!found)
        headers.emplace_back(std::string(name), std::move(value));
}

/// What one answer of a polling endpoint holds (see poll_fallback_options::decode).
struct poll_batch
{
    /** The events after the `since` id, oldest first. Each should carry its id:
        events are told apart by id, so that none is delivered twice when the
        source switches between polling and streaming. An empty `type` is "message".
    */
    std::vector<event> events;

    /// Where the next poll continues, if the answer says (else: the last event's id).
    std::optional<std::string> last_event_id;
};

/** Reads a polling endpoint's body into `out`; false, with a reason in `why`,
    if it is not in the expected format. `<sse/json.hpp>` has one for the JSON
    of the example server's `/api/sse/poll`: `sse::json_poll_decoder()`.
*/
using poll_decoder = std::function<bool(std::string_view body, poll_batch& out, std::string& why)>;

/** Graceful degradation: where and when an event source polls instead of streaming.

    Off unless both `url` and `decode` are set. Then the source polls when
    streaming failed `after_failures` times in a row (any status, a wrong
    content type, or a network error, but not a certificate or URL error), or
    when an open stream stayed silent for `probe_after` while a poll found new
    events (a proxy that buffers the stream). While polling it tries the stream
    again every `stream_retry`, and streams again once one opens (after a
    held-back stream: once one delivers its first bytes). Events are told apart by id across the switches: none is delivered
    twice, and none is lost as long as the server still has it.
*/
struct poll_fallback_options
{
    /// The polling endpoint: absolute, or relative to the stream's URL. Empty: no fallback.
    std::string url;

    /// Reads the endpoint's answer. Empty: no fallback.
    poll_decoder decode;

    /// The query parameter that carries the last event id (omitted while there is none).
    std::string since_param = "since";

    /// Failed stream attempts in a row before polling starts.
    unsigned after_failures = 3;

    /** An open stream without a byte for this long is checked with a poll;
        if the poll finds events the stream did not deliver, the source polls
        instead. Set it above the server's heartbeat interval. Zero: never.
    */
    std::chrono::milliseconds probe_after{0};

    /// Time between polls.
    std::chrono::milliseconds interval = std::chrono::seconds(2);

    /// While polling, time between attempts to stream again.
    std::chrono::milliseconds stream_retry = std::chrono::seconds(30);

    /// Octets of one answer (after chunked decoding); more is `error::bad_poll_response`.
    std::size_t max_body = 4 * 1024 * 1024;
};

/** Settings of an event source.

    The defaults follow the WHATWG EventSource: GET, reconnect on network errors
    and on the end of the stream, stop on 204, fail on any other status or
    content type. On top of that they add what a long-running program needs:
    exponential back-off with jitter, stall detection and size limits.
*/
struct event_source_options
{
    /// The request method. Empty: GET, or POST when `body` is set.
    std::string method;

    /** A request body, for one-shot streams such as the answer of a language
        model to a prompt. Usually together with `reconnect = false`.
    */
    std::optional<std::string> body;

    /// The Content-Type of `body`.
    std::string content_type = "application/json";

    /** Further request header fields, sent on every attempt. The fields the
        source writes itself (see is_source_header()) fail the attempt with
        `error::bad_header`: use `last_event_id`, `content_type` and `body`. The
        hook (`event_source::on_before_attempt`) may change this list.
    */
    std::vector<header_field> headers;

    /// The id to resume from on the first connection (`Last-Event-ID`). Empty: none.
    std::string last_event_id;

    /// Reconnect when the stream ends or the connection fails. Off: the first end is final.
    bool reconnect = true;

    /// The reconnect delays. See sse::backoff.
    backoff_options backoff;

    /// Seeds the jitter's random generator, for reproducible delays in tests. Empty: random.
    std::optional<std::uint32_t> jitter_seed;

    /// Treat a 5xx status as a transient failure and reconnect (not sooner than
    /// its `Retry-After`), instead of failing for good as the spec says.
    bool retry_5xx = false;

    /// Treat 401 as transient: reconnect, after calling the hook that may refresh a token.
    bool retry_401 = false;

    /** Treat 429 Too Many Requests as transient (a server's connection or rate
        limit): reconnect after the answer's `Retry-After` (delay-seconds or an
        HTTP-date, RFC 9110 10.2.3), or after the usual back-off without one.
        Each such attempt counts against `backoff.max_attempts`. Off: a 429
        fails the source with `error::bad_status`, as the spec says.
    */
    bool retry_429 = true;

    /** The longest `Retry-After` honoured (429, and 5xx or 401 when retried);
        a longer one waits this long. Guards against a broken or hostile value.
    */
    std::chrono::milliseconds max_retry_after = std::chrono::minutes(10);

    /** Redirects (301, 302, 303, 307, 308) followed in a row. One more fails
        with `error::too_many_redirects`. Reconnects go to the original URL.
    */
    std::size_t max_redirects = 10;

    /** Name resolution, connection, TLS handshake, request and response head
        must all complete within this, or the attempt fails with
        `error::connect_timeout`. Zero: no limit.
    */
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(30);

    /** An open stream that delivers no byte for this long, not even a
        heartbeat comment, is presumed dead: it is dropped with
        `error::stalled` and the source reconnects. Set it above the server's
        heartbeat interval. Zero: never.
    */
    std::chrono::milliseconds stall_timeout = std::chrono::seconds(60);

    /** Limits on the stream. An event larger than `max_event` (or a line
        longer than `max_line`) ends the stream with a clear error and is not
        retried: the server would send it again. The events before it are
        delivered. Both default to 1 MiB, so a large JSON event on one line fits.
    */
    parser_limits limits{1024 * 1024, 1024 * 1024};

    /// Limits on the response head.
    http::response_limits head_limits;

    /// Limits on chunked framing.
    http::chunked_limits chunked_limits;

    /// Bytes asked of the socket per read.
    std::size_t read_size = 16 * 1024;

    /** async_next only: events waiting for a call. While this many wait, the
        source stops reading (TCP back-pressure); nothing is dropped. The events
        of one read are all queued, so the queue may pass this by one read's
        worth. Zero counts as one.
    */
    std::size_t max_queued_events = 1024;

    /// TLS only: verify the server's certificate chain and host name.
    bool verify_peer = true;

    /// TLS only: a PEM file of trusted certificates, used instead of the system store.
    std::string ca_file;

    /// Polling when the stream fails or is held back. Off by default.
    poll_fallback_options fallback;
};

/** What an event source has seen, for a health monitor. A snapshot: see
    event_source::stats().

    Times are std::chrono::steady_clock time points; a default-constructed
    one (the clock's epoch) means "never".
*/
struct event_source_stats
{
    using clock = std::chrono::steady_clock;

    source_state state = source_state::closed;

    /// Octets read from connections: heads, framing and events (after TLS).
    std::uint64_t bytes_received = 0;

    /// Events dispatched by the parser.
    std::uint64_t events_received = 0;

    /// Events handed to handlers (received, minus filtered and coalesced ones).
    std::uint64_t events_delivered = 0;

    /// Events a filter refused.
    std::uint64_t events_filtered = 0;

    /// Events of a throttled type replaced by a newer one before their turn.
    std::uint64_t events_coalesced = 0;

    /// Comments received (heartbeats, usually).
    std::uint64_t comments_received = 0;

    /// Connection attempts, the first included; the hops of a redirect are not counted.
    std::uint64_t attempts = 0;

    /// Attempts after the first.
    std::uint64_t reconnects = 0;

    /// Streams opened (200 with text/event-stream).
    std::uint64_t opens = 0;

    /// Redirects followed.
    std::uint64_t redirects = 0;

    /// The status of the last response head, 0 before any.
    int last_status = 0;

    /// Why the last connection or attempt ended; empty while none has.
    error_code last_error;

    /// The base reconnect delay: the server's `retry:`, or the initial one.
    std::chrono::milliseconds retry{0};

    /// The delay drawn for the scheduled reconnect (state `waiting`).
    std::chrono::milliseconds reconnect_delay{0};

    /// Time spent open, over all streams, the current one included.
    clock::duration time_connected{};

    /// When the current stream opened (state `open`).
    clock::time_point open_since{};

    /// When the last byte arrived.
    clock::time_point last_byte_at{};

    /// The last event ID string, sent as `Last-Event-ID` on the next attempt.
    std::string last_event_id;

    /// Switches to polling (poll_fallback_options).
    std::uint64_t fallbacks = 0;

    /// Polls sent, probes of a silent stream included, and those that failed.
    std::uint64_t polls = 0;
    std::uint64_t poll_failures = 0;

    /// Events that came by polling (counted in events_received too).
    std::uint64_t events_polled = 0;

    /// Events dropped because one with the same id was delivered already (fallback only).
    std::uint64_t duplicates_dropped = 0;
};

SSE_NAMESPACE_END

#endif
