// sse/client/source_core.hpp - the event source's decisions, without I/O.
//
// What event_source<Socket> decides (what to send, what a response head
// means, how to frame and parse the body, when to reconnect, when to poll)
// lives here, in one non-template class, so that each Socket instantiation
// holds only the I/O and each user translation unit compiles the logic once.
// It follows the parser's rules (STYLE.md 6): it returns items and decisions,
// calls no user code, reads no clock, and is tested without sockets.
#ifndef SSE_CLIENT_SOURCE_CORE_HPP
#define SSE_CLIENT_SOURCE_CORE_HPP

#include <sse/config.hpp>
#include <sse/backoff.hpp>
#include <sse/error.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/parser.hpp>
#include <sse/client/fallback_policy.hpp>
#include <sse/client/poll_exchange.hpp>
#include <sse/client/source_options.hpp>
#include <sse/client/url.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
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

/// What next() or next_polled() produced, as parser::next does.
enum class source_item
{
    need_more,   ///< the input is used up (a poll's batch is done)
    event,       ///< a new event: event()
    duplicate,   ///< an event whose id came already by the other path: dropped
    comment,     ///< a comment line: comment()
    retry,       ///< the server's `retry:`, now in effect: retry()
    opened,      ///< a trial stream delivered its first bytes: the state is `open`
    ended,       ///< the body ended (chunked terminator, Content-Length reached)
    failed,      ///< final: a limit or framing error (see the error)
};

/// What the source does once a connection or an attempt is over.
struct source_decision
{
    enum action_type
    {
        reconnect,   ///< state `waiting` (why), then a new attempt after `delay`
        trial,       ///< polling goes on; the stream is tried again after `delay`
        poll,        ///< state `polling` (why): poll now, try the stream after `delay`
        end,         ///< the source is over: state `state` (closed or failed), `why`
    };
    action_type action = end;
    std::chrono::milliseconds delay{0};
    source_state state = source_state::closed;
    error_code why;
};

/** What an attempt does first: `error` if the request cannot be sent (final),
    and `connecting` if the state changes to `connecting` (not for a trial while polling).
*/
struct attempt_start
{
    error_code error;
    bool connecting = false;
};

/** The event source's policy as a state machine without I/O. The driver
    feeds it what happened, with the time as an argument, and acts on what it
    returns. It never calls user code, reads no clock and keeps no statistics:
    the driver does, on its strand.
*/
class source_core
{
public:
    using clock = std::chrono::steady_clock;

    SSE_DECL source_core(url origin, event_source_options options);
    source_core(source_core const&) = delete;
    source_core& operator=(source_core const&) = delete;

    /** The source cannot work (its constructor reported `why`: a URL or TLS
        options it cannot use): the first attempt ends it, `failed` with `why`.
    */
    void unusable(error_code why) noexcept { unusable_ = why; }

    event_source_options const& options() const noexcept { return options_; }
    url const& origin() const noexcept { return origin_; }

    /// The request headers, which the user's hook may change before an attempt or a poll.
    std::vector<header_field>& headers() noexcept { return options_.headers; }

    /// The URL of the current hop: the origin, or where a redirect pointed.
    url const& target() const noexcept { return target_; }

    /** Starts an attempt at the original URL (the user's hook has run). Its
        error, if any, is final: a header the hook or the options made invalid.
    */
    SSE_DECL attempt_start begin_attempt();

    /// The request for target(), as bytes.
    SSE_DECL std::string request() const;

    /** Feeds bytes of the response head; `input` is advanced past what was used.
        After `open` the rest of `input` is body. `ec` says why for stop and retry.
        `wall_now` (the system clock) turns a `Retry-After` HTTP-date into a
        delay when the answer has no `Date` field.
    */
    SSE_DECL head_outcome on_head(std::string_view& input, error_code& ec,
                                  std::chrono::system_clock::time_point wall_now);

    /// The status of the last complete head (0 before one).
    int status() const noexcept { return status_; }

    /** The stream opened at `now` (after on_head said `open`). True if the
        state is now `open`; false for a trial after a held-back stream, which
        must deliver bytes first (next() then yields `opened`).
    */
    SSE_DECL bool opened(clock::time_point now);

    /** Reads body bytes up to the next item; `input` is advanced past what was
        used. The views of event() and comment() are valid until the next call.
        `ec` says why for `failed`.
    */
    SSE_DECL source_item next(std::string_view& input, error_code& ec);

    /// The event after `event` (a view valid until the next call).
    event_view event() const noexcept { return event_; }

    /// The comment after `comment`.
    std::string_view comment() const noexcept { return parser_.comment(); }

    /// The reconnection time now in effect (the server's `retry:` or the default).
    std::chrono::milliseconds retry() const noexcept { return backoff_.retry(); }

    /// The newest event id from either path: where the next attempt or poll continues.
    std::string const& last_event_id() const noexcept { return newest_id_; }

    /** The attempt or the stream ended at `now` because of `why`. `final` means a
        reconnect would not help. Returns what comes next; after `end` the
        source is stopped().
    */
    SSE_DECL source_decision ended(error_code why, bool final, clock::time_point now);

    /// The user closed the source. Idempotent.
    void close() noexcept { stopped_ = true; }

    /** The user asked for a new connection at once (event_source::reconnect()):
        the current connection or the wait for one is given up. The driver then
        starts an attempt, which resumes from the last event id. While polling,
        that attempt is a trial. False, and nothing done, once the source has
        ended or before it started.
    */
    SSE_DECL bool restart();

    /// True once the source has ended for good: no more I/O.
    bool stopped() const noexcept { return stopped_; }

    /// True if the error ends the source for good whatever the options say.
    SSE_DECL static bool is_final(error_code ec) noexcept;

    // ---- the polling fallback (event_source_options::fallback) ----

    /// True if a fallback is configured.
    bool has_fallback() const noexcept { return fallback_.configured() && !fallback_.bad_url(); }

    /// True while events come by polling (state `polling`); stream attempts are then trials.
    bool polling() const noexcept { return polling_; }

    /// The polling endpoint (has_fallback() only).
    url const& poll_url() const noexcept { return fallback_.endpoint(); }

    /** Starts a poll (or a probe of a silent stream; the user's hook has run).
        Returns the request, or an error if its headers cannot be sent.
    */
    SSE_DECL std::string begin_poll(error_code& ec);

    /// A reader for the answer.
    SSE_DECL poll_exchange make_poll_exchange() const;

    /** The answer of a poll: false if it is not usable (error::bad_poll_response).
        Then next_polled() yields its events.
    */
    bool poll_answer(int status, std::string_view body) { return fallback_.read_answer(status, body); }

    /// The next event of the answer: `event`, `duplicate`, or `need_more` once done.
    SSE_DECL source_item next_polled();

    /** A probe found events an open stream did not deliver: the stream is held
        back. Returns the decision to poll (error::held_back); the driver drops
        the stream. Nothing (`trial`, no delay) if already polling or stopped.
    */
    SSE_DECL source_decision stream_held_back();

private:
    SSE_DECL source_decision finish(source_state s, error_code why);
    SSE_DECL source_item parse(std::string_view& data, error_code& ec);
    SSE_DECL head_outcome redirect(http::response_head const& head, error_code& ec);
    SSE_DECL source_decision enter_polling(error_code why);

    url origin_;
    url target_;
    event_source_options options_;
    std::string method_;
    bool send_body_ = true;
    bool cross_origin_ = false;
    std::size_t redirects_in_chain_ = 0;
    int status_ = 0;

    http::response_parser head_parser_;
    http::chunked_decoder chunked_;
    parser parser_;
    http::framing framing_ = http::framing::until_close;
    std::uint64_t body_left_ = 0;
    std::string_view chunk_;   // decoded chunk data not parsed yet (a view of the caller's input)
    event_view event_;

    backoff backoff_;
    std::mt19937 rng_;
    std::optional<std::chrono::milliseconds> retry_after_;
    bool retry_after_exact_ = false;   // 429: the server's delay, not at least the back-off's

    // The fallback. `stream_id_` is the stream's id before the current event,
    // to tell events with an id line from those that inherit one.
    fallback_policy fallback_;
    error_code unusable_;
    bool polling_ = false;
    bool trial_open_ = false;
    bool polled_for_held_back_ = false;
    unsigned failures_in_row_ = 0;
    std::string stream_id_;
    std::string newest_id_;

    bool started_ = false;
    bool stopped_ = false;
};

} // namespace detail
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/client/impl/source_core.hpp>
#endif
#endif
