// sse/asio/event_source.hpp - a reconnecting Server-Sent Events client over Asio.
#ifndef SSE_ASIO_EVENT_SOURCE_HPP
#define SSE_ASIO_EVENT_SOURCE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/parser.hpp>
#include <sse/client/source_options.hpp>
#include <sse/client/url.hpp>
#include <sse/asio/detail/client_transport.hpp>

#include <sse/asio/net.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN

/** A Server-Sent Events client that does not lose its place.

    @code
    asio::io_context io;
    sse::event_source<asio::ip::tcp::socket> source(io.get_executor(), "http://127.0.0.1:8080/events");
    source.on("price", [](sse::event_view const& ev) { std::cout << ev.data << '\n'; });
    source.on_state([](sse::source_state s, sse::error_code why) {
        std::cerr << to_string(s) << ' ' << why.message() << '\n';
    });
    source.start();
    io.run();   // returns once the source has ended for good
    @endcode

    It connects, sends `Accept: text/event-stream`, `Cache-Control: no-cache`
    and `Last-Event-ID` (once an id is known), checks the response as the
    WHATWG spec says (200 with text/event-stream opens; 204 stops for good;
    429 waits for its `Retry-After` and reconnects unless `retry_429` is off;
    anything else fails without reconnecting unless `retry_5xx` or `retry_401`
    are set), follows redirects, reads chunked, length-delimited or
    until-close bodies, and hands events to handlers. When the stream ends or
    the connection breaks it reconnects to the original URL after a delay from
    sse::backoff: never sooner than the server's `retry:`, exponential with
    jitter above it, reset only after a stream stayed healthy. An open stream that delivers no
    byte for `stall_timeout` is presumed dead and replaced.

    `Socket` is `asio::ip::tcp::socket` (http URLs) or, with
    `<sse/asio/ssl.hpp>`, `asio::ssl::stream<asio::ip::tcp::socket>` (http and
    https URLs, certificates verified by default).

    @par Handlers and threads
    Everything runs on one strand over the executor given to the constructor;
    every handler is called there, one at a time. Register on_event(),
    on_comment(), on_state(), throttle() and the hook before start(). on() and
    filter() may also be called later, from a handler or another thread, and
    return an sse::registration that removes what they added. start(),
    reconnect() and close() may be called from any thread; stats() too.
    Destroy the source on its strand or once its io_context has stopped, so that
    no handler runs while it is destroyed. The source's state lives on while an
    operation is pending, so destroying it never leaves a dangling completion.

    @par Thread safety
    Distinct objects: safe. Shared objects: start(), close() and stats() are safe.
*/
template<class Socket>
class event_source
{
    using transport = detail::client_transport<Socket>;
    using clock = std::chrono::steady_clock;

public:
    using socket_type = Socket;
    using executor_type = net::strand<net::any_io_executor>;

    /** A source for `url`. Nothing happens until start().

        Throws std::system_error with error::bad_url for a URL it cannot use,
        error::https_not_supported for https over a plain socket, and the TLS
        context's errors (an unreadable `ca_file`).
    */
    event_source(net::any_io_executor executor, std::string_view url, event_source_options options = {});

    /** As above, but reports those errors through `ec` instead of throwing.
        A source made with an error is still safe to use and to destroy:
        start() ends it at once, reporting `failed` with the same error.
    */
    event_source(net::any_io_executor executor, std::string_view url, event_source_options options, error_code& ec);

    event_source(event_source const&) = delete;
    event_source& operator=(event_source const&) = delete;

    /// Closes the source as close() does, but without calling the state handler.
    ~event_source();

    /** Calls `handler(event_view const&)` for each event of type `type`
        ("message" for events without an `event:` field), after the handlers
        added before it. The views are valid during the call only.

        Returns a registration whose remove() takes this handler away, leaving
        the type's other handlers; discarding it keeps the handler. Called from
        a handler, the new one starts with the next event; from another thread,
        it is added on the strand. Throws std::invalid_argument if `handler` is empty,
        std::logic_error once async_next() was called.
    */
    registration on(std::string type, std::function<void(event_view const&)> handler);

    /// Calls `handler(event_view const&)` for every event, before the per-type handlers.
    /// Throws std::logic_error once async_next() was called.
    void on_event(std::function<void(event_view const&)> handler);

    /// Calls `handler(std::string_view text)` for each comment line (heartbeats, usually).
    void on_comment(std::function<void(std::string_view)> handler);

    /** Events of `type` for which `predicate(event_view const&)` is false
        are dropped. One filter per type: a later call replaces it.

        Returns a registration whose remove() takes this filter away (and does
        nothing once another filter replaced it); discarding it keeps the filter.
        Throws std::invalid_argument if `predicate` is empty: a filter is
        removed through its registration.
    */
    registration filter(std::string type, std::function<bool(event_view const&)> predicate);

    /** Delivers at most one event of `type` per `min_interval`. An event that
        comes sooner waits for the interval's end, and a newer one replaces it
        (coalescing: the handler sees the latest state, not every step). A
        waiting event is still delivered if the source ends on its own; close()
        drops it. Events of other types are not held back, so order across
        types is not kept for a throttled type.
    */
    void throttle(std::string type, std::chrono::milliseconds min_interval);

    /** Calls `handler(source_state, error_code why)` on each change of state.

        `why` is empty for `connecting`, `open` and a close(); for `waiting`
        it is why the previous connection ended; for `closed` and `failed` why
        the source ended (error::stream_ended, error::no_content,
        error::reconnect_limit, a status or network error...).
    */
    void on_state(std::function<void(source_state, error_code)> handler);

    /** Calls `hook(std::vector<header_field>& headers)` before each attempt
        (not before the hops of a redirect), with the request headers it may
        change: to set a fresh `Authorization` token, for example.
    */
    void on_before_attempt(std::function<void(std::vector<header_field>&)> hook);

    /// Starts the first attempt. Call once.
    void start();

    /** Drops the current connection and connects again at once, with
        `Last-Event-ID`: the way to resume after, say, a network change, without
        waiting for the stall timeout or the back-off. A scheduled reconnect is
        cancelled instead of awaited. While polling (see
        poll_fallback_options), the stream is tried at once, and polling ends
        when it opens. The back-off's count of failures is not reset.

        Takes effect on the strand once the calling handler, if any, returns:
        events already read are still delivered. Does nothing after close() or
        once the source ended, nor before start(). Safe from any thread.
    */
    void reconnect();

    /** Ends the source for good: cancels the connection, a pending reconnect and
        throttled events, and reports `closed` with no error. Nothing is called
        after that. Safe from any thread and from inside a handler; idempotent.
    */
    void close();

    /** Waits for the next event: the next one dispatched (after filters and
        throttles: what on_event() would get), with its `type`, `data`, and `id`
        set to the last event id as of that event. The source reconnects inside,
        as it does for handlers.

        @code
        source.start();
        for (;;) {
            sse::event ev = co_await source.async_next(asio::use_awaitable);
            std::cout << ev.type << ": " << *ev.data << '\n';
        }
        @endcode

        Events dispatched while no call is pending wait in a queue, in order.
        While `event_source_options::max_queued_events` wait, the source stops
        reading (TCP back-pressure); nothing is dropped. Events dispatched
        before the first call are not kept: make it right after start().

        Completes with an event, or with an error once the source has ended
        and its queued events are taken: error::no_content (204), the error
        that failed the source (the one on_state() reports),
        asio::error::operation_aborted after close() or the source's
        destruction. Every later call completes at once with the same error. A
        call made while another is pending completes at once with
        asio::error::already_started.

        Completion signature: `void(error_code, sse::event)`. Completes through
        the handler's associated executor (by default the source's strand).

        Supports terminal cancellation: the call completes with
        asio::error::operation_aborted and no event is lost (the next call gets
        it). Partial and total cancellation are not supported.

        Handlers and async_next do not mix: throws std::logic_error if an event
        handler (on_event(), on()) was added to this source; adding one after
        this was called throws std::logic_error too. on_state(), on_comment(),
        filter(), throttle() and on_before_attempt() work with it. Safe from any
        thread: the call is posted to the strand. The source's state lives on
        while a call is pending, even if the source is destroyed (the call then
        completes with operation_aborted).
    */
    template<class CompletionToken>
    auto async_next(CompletionToken&& token);

    /// A snapshot of the statistics; safe from any thread.
    event_source_stats stats() const;

    /// The URL given to the constructor.
    url const& origin() const noexcept;

    /// The strand every handler runs on.
    executor_type get_executor() const noexcept;

private:
    struct impl;

    // Runs f(impl&) on the strand: at once from a handler, else queued.
    void run(std::function<void(impl&)> f);

    static std::shared_ptr<impl> make_impl(
        net::any_io_executor ex, std::string_view text, event_source_options options, error_code& ec);

    std::shared_ptr<impl> impl_;
};

SSE_NAMESPACE_END

#include <sse/asio/impl/event_source.hpp>

#if defined(SSE_SEPARATE_ASIO)
SSE_NAMESPACE_BEGIN
// Compiled once, in the translation unit that includes <sse/asio/src.hpp>.
extern template class event_source<net::ip::tcp::socket>;
SSE_NAMESPACE_END
#endif

#endif
