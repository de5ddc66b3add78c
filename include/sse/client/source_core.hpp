// sse/client/source_core.hpp - the event source's decisions, without I/O.
//
// Everything event_source<Socket> decides (what to send, what a response head
// means, how to frame and parse the body, whom to hand an event to, when to
// reconnect) lives here, in one non-template class, so that each Socket
// instantiation holds only the I/O and each user translation unit compiles the
// logic once. Driven on one strand: no locking except around the statistics,
// which other threads may read.
#ifndef SSE_CLIENT_SOURCE_CORE_HPP
#define SSE_CLIENT_SOURCE_CORE_HPP

#include <sse/config.hpp>
#include <sse/backoff.hpp>
#include <sse/error.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/parser.hpp>
#include <sse/client/poll_exchange.hpp>
#include <sse/client/source_options.hpp>
#include <sse/client/url.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

/// What a response head asks the source to do.
enum class head_outcome
{
    need_more,   ///< the head is not complete yet
    open,        ///< 200 text/event-stream: read the body
    redirect,    ///< connect to target() instead
    stop,        ///< final: 204, or a status or type the spec fails on (see the error)
    retry,       ///< transient: a 429, or a 5xx or 401 the user opted in to retry
};

/// What a piece of the body did.
enum class body_outcome
{
    more,      ///< keep reading
    ended,     ///< the body ended (chunked terminator, Content-Length reached)
    failed,    ///< final: a limit or framing error (see the error)
    stopped,   ///< a handler called close()
};

class source_core
{
public:
    using clock = std::chrono::steady_clock;
    using event_handler = std::function<void(event_view const&)>;
    using filter_function = std::function<bool(event_view const&)>;
    using comment_handler = std::function<void(std::string_view)>;
    using state_handler = std::function<void(source_state, error_code)>;
    using attempt_hook = std::function<void(std::vector<header_field>&)>;

    SSE_DECL source_core(url origin, event_source_options options);

    /** The source cannot work (its constructor reported `why`: a URL or TLS
        options it cannot use): the first attempt ends it, `failed` with `why`.
    */
    void unusable(error_code why) noexcept { unusable_ = why; }

    // Registration. `id` (non-zero, unique) names what on() and filter() add,
    // for remove(). Safe from inside a handler: a handler added during a
    // dispatch sees the next event, not the current one.
    SSE_DECL void on(std::string type, std::uint64_t id, event_handler handler);
    void on_event(event_handler handler) { every_event_.push_back(std::move(handler)); }
    void on_comment(comment_handler handler) { on_comment_ = std::move(handler); }
    SSE_DECL void filter(std::string type, std::uint64_t id, filter_function predicate);

    /** Removes the handler or filter added with `id`; nothing if it is gone or
        was replaced (a later filter() for the same type). A handler removed
        during a dispatch is not called again, not even for the current event.
    */
    SSE_DECL void remove(std::uint64_t id);
    SSE_DECL void throttle(std::string type, std::chrono::milliseconds min_interval);
    void on_state(state_handler handler) { on_state_ = std::move(handler); }
    void on_before_attempt(attempt_hook hook) { hook_ = std::move(hook); }

    event_source_options const& options() const noexcept { return options_; }
    url const& origin() const noexcept { return origin_; }

    /// The URL of the current hop: the origin, or where a redirect pointed.
    url const& target() const noexcept { return target_; }

    /** Starts an attempt at the original URL: runs the hook, counts the attempt,
        enters `connecting`. Returns an error (final) if the request cannot be
        sent: a header the hook or the options made invalid.
    */
    SSE_DECL error_code begin_attempt();

    /// The request for target(), as bytes.
    SSE_DECL std::string request() const;

    /// Counts bytes read from the connection.
    SSE_DECL void received(std::size_t bytes, clock::time_point now);

    /** Feeds bytes of the response head; `input` is advanced past what was used.
        After `open` the rest of `input` is body. `ec` says why for stop and retry.
        `wall_now` (the system clock) turns a `Retry-After` HTTP-date into a
        delay when the answer has no `Date` field.
    */
    SSE_DECL head_outcome on_head(std::string_view& input, error_code& ec,
                                  std::chrono::system_clock::time_point wall_now);

    /// The stream opened at `now` (after on_head said `open`).
    SSE_DECL void opened(clock::time_point now);

    /// Feeds body bytes: framing, parsing, dispatch. `ec` says why for `failed`.
    SSE_DECL body_outcome on_body(std::string_view input, clock::time_point now, error_code& ec);

    /** The attempt or the stream ended at `now` because of `why`. `final` means a
        reconnect would not help. Returns the delay before the next attempt, or
        nothing when the source has ended for good (state `closed` or `failed`).
    */
    SSE_DECL std::optional<std::chrono::milliseconds> ended(error_code why, bool final, clock::time_point now);

    /** The user closed the source: state `closed` with no error; pending
        throttled events are dropped. Idempotent. With `report` false the state
        handler is not called (the source is being destroyed).
    */
    SSE_DECL void close(bool report = true);

    /** The user asked for a new connection at once (event_source::reconnect()):
        the current connection or the wait for one is given up at `now`. The
        caller then drops its connection and starts an attempt (begin_attempt()),
        which resumes from the last event id. While polling, that attempt is a
        trial, as after `stream_retry`. Returns false, and does nothing, once the
        source has ended, or before it started.
    */
    SSE_DECL bool restart(clock::time_point now);

    /// True once the source has ended for good: no more I/O, no more handlers.
    bool stopped() const noexcept { return stopped_; }

    /// When the earliest coalesced event of a throttled type is due, if any.
    SSE_DECL std::optional<clock::time_point> next_due() const;

    /// Dispatches the coalesced events due at `now`.
    SSE_DECL void flush_due(clock::time_point now);

    SSE_DECL event_source_stats stats(clock::time_point now) const;

    /// True if the error ends the source for good whatever the options say.
    SSE_DECL static bool is_final(error_code ec) noexcept;

    // ---- the polling fallback (event_source_options::fallback) ----

    /// True if a fallback is configured.
    bool has_fallback() const noexcept { return poll_url_.has_value(); }

    /// True while events come by polling (state `polling`); stream attempts are then trials.
    bool polling() const noexcept { return polling_; }

    /// The polling endpoint (has_fallback() only).
    url const& poll_url() const noexcept { return *poll_url_; }

    /** Starts a poll (or a probe of a silent stream): runs the hook, counts it.
        Returns the request, or an error if its headers cannot be sent.
    */
    SSE_DECL std::string begin_poll(error_code& ec);

    /// A reader for the answer.
    SSE_DECL poll_exchange make_poll_exchange() const;

    /** The answer of a poll. Delivers the events not seen yet, in order, and
        returns how many; `ec` (error::bad_poll_response) if the answer is not
        usable, which is also counted as a failed poll.
    */
    SSE_DECL std::size_t on_poll_answer(int status, std::string_view body, clock::time_point now, error_code& ec);

    /// A poll failed on the network (or timed out).
    SSE_DECL void poll_failed(error_code ec);

    /** A probe found events an open stream did not deliver: the stream is held
        back. Enters `polling` with error::held_back; the I/O drops the stream.
    */
    SSE_DECL void stream_held_back();

private:
    struct pending_event
    {
        std::string type, data, last_event_id;
    };

    // Stable in memory while a handler runs, even if a handler adds another.
    struct handler_slot
    {
        std::uint64_t id = 0;   // 0: removed during a dispatch, erased after it
        event_handler handler;
    };

    struct per_type
    {
        std::vector<std::unique_ptr<handler_slot>> handlers;
        // Shared, so that a predicate that replaces or removes itself lives until it returns.
        std::shared_ptr<filter_function const> filter;
        std::uint64_t filter_id = 0;
        std::chrono::milliseconds min_interval{0};
        clock::time_point last_dispatch{};
        bool dispatched_once = false;
        bool has_pending = false;
        pending_event pending;
    };

    SSE_DECL void set_state(source_state s, error_code why);
    SSE_DECL void finish(source_state s, error_code why);
    SSE_DECL body_outcome parse(std::string_view data, clock::time_point now, error_code& ec);
    SSE_DECL void dispatch(event_view const& ev, clock::time_point now);
    SSE_DECL void deliver(per_type* entry, event_view const& ev);
    SSE_DECL void flush_all();
    SSE_DECL void compact();
    SSE_DECL head_outcome redirect(http::response_head const& head, error_code& ec);
    SSE_DECL void enter_polling(error_code why);
    SSE_DECL bool first_delivery(std::string_view id);
    SSE_DECL void note_last_id(std::string_view id);

    url origin_;
    url target_;
    event_source_options options_;
    std::string method_;
    bool send_body_ = true;
    bool cross_origin_ = false;
    std::size_t redirects_in_chain_ = 0;

    std::vector<event_handler> every_event_;
    std::map<std::string, per_type, std::less<>> types_;
    unsigned delivering_ = 0;        // nesting of deliver(): slots are erased only at 0
    bool removed_in_delivery_ = false;
    comment_handler on_comment_;
    state_handler on_state_;
    attempt_hook hook_;

    http::response_parser head_parser_;
    http::chunked_decoder chunked_;
    parser parser_;
    http::framing framing_ = http::framing::until_close;
    std::uint64_t body_left_ = 0;

    backoff backoff_;
    std::mt19937 rng_;
    std::optional<std::chrono::milliseconds> retry_after_;
    bool retry_after_exact_ = false;   // 429: the server's delay, not at least the back-off's

    // The fallback. Ids delivered recently, to drop an event that comes again
    // by the other path; `stream_id_` is the stream's id before the current
    // event, to tell events with an id line from those that inherit one.
    std::optional<url> poll_url_;
    bool poll_url_bad_ = false;
    error_code unusable_;
    bool polling_ = false;
    bool trial_open_ = false;
    bool polled_for_held_back_ = false;
    unsigned failures_in_row_ = 0;
    std::string stream_id_;
    std::string newest_id_;   // the latest id from either path: where polls and trials continue
    std::deque<std::string> recent_order_;
    std::unordered_set<std::string_view> recent_ids_;   // views of recent_order_

    source_state state_ = source_state::closed;
    bool started_ = false;
    bool stopped_ = false;

    // Read by stats() from any thread: counters bumped per event are relaxed
    // atomics, so the hot path takes no lock; the rest sits under the mutex.
    struct counters
    {
        std::atomic<std::uint64_t> bytes_received{0};
        std::atomic<std::uint64_t> events_received{0};
        std::atomic<std::uint64_t> events_delivered{0};
        std::atomic<std::uint64_t> events_filtered{0};
        std::atomic<std::uint64_t> events_coalesced{0};
        std::atomic<std::uint64_t> comments_received{0};
    };
    counters counters_;
    std::atomic<clock::rep> last_byte_at_{0};
    std::string stats_last_event_id_;   // the strand's copy: the mutex is taken only when it changes
    mutable std::mutex stats_mutex_;
    event_source_stats stats_;
    clock::duration connected_before_{};
};

} // namespace detail
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/client/impl/source_core.hpp>
#endif
#endif
