// sse/asio/event_source.hpp - a reconnecting Server-Sent Events client over Asio.
#ifndef SSE_ASIO_EVENT_SOURCE_HPP
#define SSE_ASIO_EVENT_SOURCE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/parser.hpp>
#include <sse/source_options.hpp>
#include <sse/url.hpp>
#include <sse/detail/source_core.hpp>
#include <sse/asio/detail/client_transport.hpp>
#include <sse/asio/detail/next_queue.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
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
    using executor_type = asio::strand<asio::any_io_executor>;

    /** A source for `url`. Nothing happens until start().

        Throws std::system_error with error::bad_url for a URL it cannot use,
        error::https_not_supported for https over a plain socket, and the TLS
        context's errors (an unreadable `ca_file`).
    */
    event_source(asio::any_io_executor executor, std::string_view url, event_source_options options = {})
    {
        error_code ec;
        impl_ = make_impl(std::move(executor), url, std::move(options), ec);
        if (ec)
            SSE_THROW(std::system_error(ec, "sse::event_source"));
    }

    /** As above, but reports those errors through `ec` instead of throwing.
        A source made with an error is still safe to use and to destroy:
        start() ends it at once, reporting `failed` with the same error.
    */
    event_source(asio::any_io_executor executor, std::string_view url, event_source_options options, error_code& ec)
        : impl_(make_impl(std::move(executor), url, std::move(options), ec))
    {
    }

    event_source(event_source const&) = delete;
    event_source& operator=(event_source const&) = delete;

    /// Closes the source as close() does, but without calling the state handler.
    ~event_source()
    {
        if (!impl_)
            return;
        auto self = impl_;
        asio::dispatch(impl_->strand, [self] { self->close(false); });
    }

    /** Calls `handler(event_view const&)` for each event of type `type`
        ("message" for events without an `event:` field), after the handlers
        added before it. The views are valid during the call only.

        Returns a registration whose remove() takes this handler away, leaving
        the type's other handlers; discarding it keeps the handler. Called from
        a handler, the new one starts with the next event; from another thread,
        it is added on the strand. Throws std::invalid_argument if `handler` is empty,
        std::logic_error once async_next() was called.
    */
    registration on(std::string type, std::function<void(event_view const&)> handler)
    {
        if (!handler)
            SSE_THROW(std::invalid_argument("sse::event_source::on: the handler for \"" + type + "\" is empty"));
        impl_->next.claim_handlers();
        std::uint64_t const id = impl_->next_registration++;
        run([type = std::move(type), id, handler = std::move(handler)](impl& i) mutable {
            i.core.on(std::move(type), id, std::move(handler));
        });
        return registration(impl_, id);
    }

    /// Calls `handler(event_view const&)` for every event, before the per-type handlers.
    /// Throws std::logic_error once async_next() was called.
    void on_event(std::function<void(event_view const&)> handler)
    {
        impl_->next.claim_handlers();
        impl_->core.on_event(std::move(handler));
    }

    /// Calls `handler(std::string_view text)` for each comment line (heartbeats, usually).
    void on_comment(std::function<void(std::string_view)> handler)
    {
        impl_->core.on_comment(std::move(handler));
    }

    /** Events of `type` for which `predicate(event_view const&)` is false
        are dropped. One filter per type: a later call replaces it.

        Returns a registration whose remove() takes this filter away (and does
        nothing once another filter replaced it); discarding it keeps the filter.
        Throws std::invalid_argument if `predicate` is empty: a filter is
        removed through its registration.
    */
    registration filter(std::string type, std::function<bool(event_view const&)> predicate)
    {
        if (!predicate)
            SSE_THROW(std::invalid_argument(
                "sse::event_source::filter: the predicate for \"" + type +
                "\" is empty; to remove a filter, call remove() on the sse::registration that filter() returned"));
        std::uint64_t const id = impl_->next_registration++;
        run([type = std::move(type), id, predicate = std::move(predicate)](impl& i) mutable {
            i.core.filter(std::move(type), id, std::move(predicate));
        });
        return registration(impl_, id);
    }

    /** Delivers at most one event of `type` per `min_interval`. An event that
        comes sooner waits for the interval's end, and a newer one replaces it
        (coalescing: the handler sees the latest state, not every step). A
        waiting event is still delivered if the source ends on its own; close()
        drops it. Events of other types are not held back, so order across
        types is not kept for a throttled type.
    */
    void throttle(std::string type, std::chrono::milliseconds min_interval)
    {
        impl_->core.throttle(std::move(type), min_interval);
    }

    /** Calls `handler(source_state, error_code why)` on each change of state.

        `why` is empty for `connecting`, `open` and a close(); for `waiting`
        it is why the previous connection ended; for `closed` and `failed` why
        the source ended (error::stream_ended, error::no_content,
        error::reconnect_limit, a status or network error...).
    */
    void on_state(std::function<void(source_state, error_code)> handler)
    {
        impl_->core.on_state(impl_->next.observe(std::move(handler)));
    }

    /** Calls `hook(std::vector<header_field>& headers)` before each attempt
        (not before the hops of a redirect), with the request headers it may
        change: to set a fresh `Authorization` token, for example.
    */
    void on_before_attempt(std::function<void(std::vector<header_field>&)> hook)
    {
        impl_->core.on_before_attempt(std::move(hook));
    }

    /// Starts the first attempt. Call once.
    void start()
    {
        auto self = impl_;
        asio::post(impl_->strand, [self] { self->attempt(); });
    }

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
    void reconnect()
    {
        if (!impl_)
            return;
        auto self = impl_;
        asio::post(impl_->strand, [self] { self->reconnect_now(); });
    }

    /** Ends the source for good: cancels the connection, a pending reconnect and
        throttled events, and reports `closed` with no error. Nothing is called
        after that. Safe from any thread and from inside a handler; idempotent.
    */
    void close()
    {
        if (!impl_)
            return;
        auto self = impl_;
        asio::dispatch(impl_->strand, [self] { self->close(); });
    }

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
    auto async_next(CompletionToken&& token)
    {
        return detail::async_next(impl_->next, impl_->strand, impl_, std::forward<CompletionToken>(token));
    }

    /// A snapshot of the statistics; safe from any thread.
    event_source_stats stats() const { return impl_->core.stats(clock::now()); }

    /// The URL given to the constructor.
    url const& origin() const noexcept { return impl_->core.origin(); }

    /// The strand every handler runs on.
    executor_type get_executor() const noexcept { return impl_->strand; }

private:
    struct impl;

    // Runs f(impl&) on the strand: at once from a handler, else queued.
    template<class F>
    void run(F&& f)
    {
        auto self = impl_;
        asio::dispatch(impl_->strand, [self, f = std::forward<F>(f)]() mutable { f(*self); });
    }

    static std::shared_ptr<impl> make_impl(
        asio::any_io_executor ex, std::string_view text, event_source_options options, error_code& ec)
    {
        ec = {};
        url u = parse_url(text, ec);
        if (!ec && u.is_https() && !transport::tls)
            ec = error::https_not_supported;
        std::shared_ptr<typename transport::context_type> tls;
        if (!ec)
            tls = transport::make_context(options, ec);
        auto p = std::make_shared<impl>(std::move(ex), std::move(u), std::move(options), std::move(tls));
        if (ec)
            p->core.unusable(ec);
        return p;
    }

    struct impl : detail::registrar, std::enable_shared_from_this<impl>
    {
        impl(asio::any_io_executor ex, url origin, event_source_options options,
             std::shared_ptr<typename transport::context_type> tls)
            : strand(asio::make_strand(ex)), core(std::move(origin), std::move(options)),
              tls_context(std::move(tls)), stream(strand), deadline(strand),
              reconnect_timer(strand), throttle_timer(strand), probe_timer(strand), poller(strand),
              poll_timer(strand), poll_deadline(strand), next(core.options().max_queued_events)
        {
            stream.buffer_size = core.options().read_size > 0 ? core.options().read_size : 16 * 1024;
            core.on_event([q = &next](event_view const& ev) { q->push(ev); });
            core.on_state(next.observe({}));
        }

        // One HTTP connection: the stream's, or a poll's. Its generation changes
        // when it is dropped, so that completions of an older one are ignored.
        //
        // Asio requires a stream to outlive its operations. A dropped
        // connection's cancelled operations may still be queued (on another
        // thread, or inside a TLS stream's composed operation that still has
        // steps to run) when the next attempt replaces the socket, so every
        // handler holds the socket it was started on, and the socket dies with
        // the last of them rather than when it is replaced. The same goes for
        // the read buffer: a TLS read decrypts into it in a step of its own, so
        // a connection reads into a buffer its reads hold, not the source's.
        struct connection
        {
            explicit connection(executor_type const& ex) : resolver(ex) {}

            asio::ip::tcp::resolver resolver;
            std::shared_ptr<Socket> socket;
            std::shared_ptr<std::vector<char>> buffer;
            std::size_t buffer_size = 16 * 1024;
            std::size_t generation = 0;
            bool tls_active = false;

            // Calls f(stream, socket) with what carries HTTP (the TLS stream, or
            // the TCP socket under it) and the socket for the handler to hold.
            template<class F>
            void with_stream(F&& f)
            {
                if constexpr (transport::tls) {
                    if (tls_active) {
                        f(*socket, socket);
                        return;
                    }
                }
                f(transport::tcp_layer(*socket), socket);
            }

            void drop()
            {
                ++generation;
                error_code ignored;
                resolver.cancel();
                if (socket) {
                    transport::tcp_layer(*socket).shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                    transport::tcp_layer(*socket).close(ignored);
                }
            }
        };

        executor_type strand;
        detail::source_core core;
        std::atomic<std::uint64_t> next_registration{1};
        std::shared_ptr<typename transport::context_type> tls_context;
        connection stream;
        asio::steady_timer deadline;          // connect timeout, then stall detection
        asio::steady_timer reconnect_timer;
        std::size_t reconnect_wait = 0;
        asio::steady_timer throttle_timer;
        std::optional<clock::time_point> throttle_armed;
        std::string request;
        bool is_open = false;
        clock::time_point last_byte{};

        // The polling fallback: one poll (or probe of a silent stream) at a
        // time, on its own connection, next to the stream or its trials.
        asio::steady_timer probe_timer;
        connection poller;
        asio::steady_timer poll_timer;        // the next poll
        asio::steady_timer poll_deadline;     // one poll's time limit
        std::optional<detail::poll_exchange> exchange;
        std::string poll_request;
        bool poll_in_flight = false;
        bool poll_is_probe = false;
        clock::time_point probe_started{};
        clock::time_point last_probe{};

        detail::next_queue next;   // async_next's queue and waiter

        /** Resolves, connects and, for https, handshakes `c` with `target`; then
            `done(error_code)`, unless `c` was dropped or the source ended meanwhile.
            `done` is type-erased so that Asio's connect and handshake operations are
            compiled once for the stream and the polls, not once each.
        */
        void open(connection& c, url const& target, std::function<void(error_code)> done)
        {
            std::size_t const gen = c.generation;
            c.resolver.async_resolve(target.host, std::to_string(target.port),
                [self = this->shared_from_this(), &c, gen, target, done = std::move(done)](
                    error_code ec, asio::ip::tcp::resolver::results_type results) mutable {
                    if (gen != c.generation || self->core.stopped())
                        return;
                    if (ec)
                        return done(ec);
                    // The previous socket lives on in its pending handlers, if any.
                    c.socket = std::make_shared<Socket>(transport::make_socket(self->strand, self->tls_context.get()));
                    c.tls_active = false;
                    auto socket = c.socket;
                    // Reused unless a read of an earlier connection still holds it.
                    if (!c.buffer || c.buffer.use_count() > 1)
                        c.buffer = std::make_shared<std::vector<char>>(c.buffer_size);
                    asio::async_connect(transport::tcp_layer(*socket), results,
                        [self, &c, gen, socket, target = std::move(target), done = std::move(done)](
                            error_code cec, asio::ip::tcp::endpoint const&) mutable {
                            if (gen != c.generation || self->core.stopped())
                                return;
                            if (cec)
                                return done(cec);
                            asio::ip::tcp::no_delay nodelay(true);
                            transport::tcp_layer(*socket).set_option(nodelay, cec);
                            if constexpr (transport::tls) {
                                if (target.is_https()) {
                                    c.tls_active = true;
                                    transport::async_handshake(*socket, target, self->core.options().verify_peer,
                                        [self, &c, gen, socket, done = std::move(done)](error_code hec) mutable {
                                            if (gen != c.generation || self->core.stopped())
                                                return;
                                            done(hec);
                                        });
                                    return;
                                }
                            }
                            done(error_code());
                        });
                });
        }

        // sse::registration::remove(), from any thread.
        void remove_registration(std::uint64_t id) override
        {
            asio::dispatch(strand, [self = this->shared_from_this(), id] { self->core.remove(id); });
        }

        void reconnect_now()
        {
            if (!core.restart(clock::now()))
                return;
            close_socket();
            ++reconnect_wait;   // a wait that already fired and is queued is stale too
            reconnect_timer.cancel();
            attempt();
        }

        // The next attempt after `delay`, unless reconnect_now() or close() came first.
        void arm_reconnect(std::chrono::milliseconds delay)
        {
            std::size_t const wait = ++reconnect_wait;
            reconnect_timer.expires_after(delay);
            reconnect_timer.async_wait([self = this->shared_from_this(), wait](error_code ec) {
                if (ec || wait != self->reconnect_wait || self->core.stopped())
                    return;
                self->attempt();
            });
        }

        void attempt()
        {
            if (core.stopped())
                return;
            error_code const ec = core.begin_attempt();
            if (ec) {
                end(ec, true);
                return;
            }
            connect();
        }

        // One hop: the original URL, or where a redirect points.
        void connect()
        {
            if (core.stopped())
                return;
            url const& target = core.target();
            if (target.is_https() && !transport::tls) {
                end(make_error_code(error::https_not_supported), true);
                return;
            }
            std::size_t const gen = ++stream.generation;
            is_open = false;
            auto const timeout = core.options().connect_timeout;
            if (timeout.count() > 0) {
                deadline.expires_after(timeout);
                deadline.async_wait([self = this->shared_from_this(), gen](error_code ec) {
                    if (!ec && gen == self->stream.generation && !self->is_open && !self->core.stopped())
                        self->drop(make_error_code(error::connect_timeout), false);
                });
            }
            request = core.request();
            open(stream, target, [self = this->shared_from_this(), gen](error_code ec) {
                if (ec)
                    return self->drop(ec, false);
                self->send_request(gen);
            });
        }

        void send_request(std::size_t gen)
        {
            stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
                asio::async_write(s, asio::buffer(request),
                    [self = this->shared_from_this(), gen, socket](error_code ec, std::size_t) {
                        if (gen != self->stream.generation || self->core.stopped())
                            return;
                        if (ec) {
                            self->drop(ec, false);
                            return;
                        }
                        self->read_head(gen);
                    });
            });
        }

        void read_head(std::size_t gen)
        {
            stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
                auto buffer = stream.buffer;
                s.async_read_some(asio::buffer(*buffer),
                    [self = this->shared_from_this(), gen, socket, buffer](error_code ec, std::size_t n) {
                        if (gen != self->stream.generation || self->core.stopped())
                            return;
                        self->on_head_bytes(gen, ec, std::string_view(buffer->data(), n));
                    });
            });
        }

        void on_head_bytes(std::size_t gen, error_code ec, std::string_view input)
        {
            auto const now = clock::now();
            std::size_t const n = input.size();
            core.received(n, now);
            detail::head_outcome outcome = detail::head_outcome::need_more;
            if (n > 0)
                outcome = core.on_head(input, ec, std::chrono::system_clock::now());
            else if (!ec)
                return read_head(gen);
            if (outcome == detail::head_outcome::need_more) {
                if (ec) {
                    // The connection broke before a complete head.
                    drop(ec == asio::error::eof ? make_error_code(error::stream_ended) : ec, false);
                    return;
                }
                read_head(gen);
                return;
            }
            switch (outcome) {
            case detail::head_outcome::open:
                deadline.cancel();
                is_open = true;
                last_byte = now;
                core.opened(now);
                if (core.stopped())
                    return;
                arm_stall(gen);
                arm_probe(gen);
                if (!input.empty() && !on_body_bytes(gen, input, now))
                    return;
                if (ec) {
                    drop(ec == asio::error::eof ? make_error_code(error::stream_ended) : ec, false);
                    return;
                }
                read_body(gen);
                return;
            case detail::head_outcome::redirect:
                close_socket();
                connect();
                return;
            case detail::head_outcome::stop:
                drop(ec, true);
                return;
            case detail::head_outcome::retry:
            default:
                drop(ec, false);
                return;
            }
        }

        void read_body(std::size_t gen)
        {
            if (next.hold([self = this->shared_from_this(), gen] { self->resume_body(gen); }))
                return;
            stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
                auto buffer = stream.buffer;
                s.async_read_some(asio::buffer(*buffer),
                    [self = this->shared_from_this(), gen, socket, buffer](error_code ec, std::size_t n) {
                        if (gen != self->stream.generation || self->core.stopped())
                            return;
                        auto const now = clock::now();
                        if (n > 0) {
                            self->core.received(n, now);
                            self->last_byte = now;
                            if (!self->on_body_bytes(gen, std::string_view(buffer->data(), n), now))
                                return;
                        }
                        if (ec) {
                            // EOF, or a TLS stream cut without close_notify: the stream ended.
                            bool const ended = ec == asio::error::eof || transport::is_truncation(ec);
                            self->drop(ended ? make_error_code(error::stream_ended) : ec, false);
                            return;
                        }
                        self->read_body(gen);
                    });
            });
        }

        // async_next's queue has room again: a held-back read resumes. The stall
        // and probe timers slept through the hold, whose silence was ours.
        void resume_body(std::size_t gen)
        {
            if (gen != stream.generation || core.stopped())
                return;
            last_byte = clock::now();
            arm_stall(gen);
            arm_probe(gen);
            read_body(gen);
        }

        // False when the connection is done with (ended, failed or closed).
        bool on_body_bytes(std::size_t, std::string_view input, clock::time_point now)
        {
            error_code ec;
            detail::body_outcome const outcome = core.on_body(input, now, ec);
            arm_throttle();
            switch (outcome) {
            case detail::body_outcome::more:
                return true;
            case detail::body_outcome::ended:
                drop(make_error_code(error::stream_ended), false);
                return false;
            case detail::body_outcome::failed:
                drop(ec, detail::source_core::is_final(ec));
                return false;
            case detail::body_outcome::stopped:
            default:
                return false;
            }
        }

        // Stall detection with one timer wait per period, not one per read:
        // when it fires early it waits again for what is left.
        void arm_stall(std::size_t gen)
        {
            auto const limit = core.options().stall_timeout;
            if (limit.count() <= 0)
                return;
            deadline.expires_at(last_byte + limit);
            deadline.async_wait([self = this->shared_from_this(), gen](error_code ec) {
                if (ec || gen != self->stream.generation || self->core.stopped() || !self->is_open ||
                    self->next.holding())
                    return;
                if (clock::now() - self->last_byte >= self->core.options().stall_timeout)
                    self->drop(make_error_code(error::stalled), false);
                else
                    self->arm_stall(gen);
            });
        }

        // A stream that stays silent for probe_after while a poll finds events is
        // held back on its way (a buffering proxy): poll instead.
        void arm_probe(std::size_t gen)
        {
            auto const limit = core.options().fallback.probe_after;
            if (!core.has_fallback() || limit.count() <= 0)
                return;
            probe_timer.expires_at(std::max(last_byte, last_probe) + limit);
            probe_timer.async_wait([self = this->shared_from_this(), gen](error_code ec) {
                if (ec || gen != self->stream.generation || self->core.stopped() || !self->is_open ||
                    self->next.holding())
                    return;
                auto const now = clock::now();
                auto const quiet_since = std::max(self->last_byte, self->last_probe);
                if (self->core.polling() || self->poll_in_flight ||
                    now - quiet_since < self->core.options().fallback.probe_after)
                    return self->arm_probe(gen);
                self->probe_started = self->last_probe = now;
                self->poll(true);
            });
        }

        void start_polling()
        {
            poll(false);
            // The stream is tried again after stream_retry; each failed trial waits as long again.
            arm_reconnect(core.options().fallback.stream_retry);
        }

        void poll(bool probe)
        {
            if (core.stopped() || poll_in_flight)
                return;
            poll_in_flight = true;
            poll_is_probe = probe;
            std::size_t const gen = ++poller.generation;
            error_code ec;
            poll_request = core.begin_poll(ec);
            url const& endpoint = core.poll_url();
            if (!ec && endpoint.is_https() && !transport::tls)
                ec = error::https_not_supported;
            if (ec)
                return poll_done(gen, ec);
            exchange.emplace(core.make_poll_exchange());
            auto const timeout = core.options().connect_timeout;
            if (timeout.count() > 0) {
                poll_deadline.expires_after(timeout);
                poll_deadline.async_wait([self = this->shared_from_this(), gen](error_code tec) {
                    if (!tec && gen == self->poller.generation && self->poll_in_flight)
                        self->poll_done(gen, make_error_code(error::connect_timeout));
                });
            }
            open(poller, endpoint, [self = this->shared_from_this(), gen](error_code oec) {
                if (oec)
                    return self->poll_done(gen, oec);
                self->poll_send(gen);
            });
        }

        void poll_send(std::size_t gen)
        {
            poller.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
                asio::async_write(s, asio::buffer(poll_request),
                    [self = this->shared_from_this(), gen, socket](error_code ec, std::size_t) {
                        if (gen != self->poller.generation || self->core.stopped())
                            return;
                        if (ec)
                            return self->poll_done(gen, ec);
                        self->poll_read(gen);
                    });
            });
        }

        void poll_read(std::size_t gen)
        {
            poller.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
                auto buffer = poller.buffer;
                s.async_read_some(asio::buffer(*buffer),
                    [self = this->shared_from_this(), gen, socket, buffer](error_code ec, std::size_t n) {
                        if (gen != self->poller.generation || self->core.stopped())
                            return;
                        self->core.received(n, clock::now());
                        error_code pec;
                        if (n > 0 && self->exchange->feed(std::string_view(buffer->data(), n), pec))
                            return self->poll_done(gen, {});
                        if (pec)
                            return self->poll_done(gen, pec);
                        if (ec) {
                            bool const closed = ec == asio::error::eof || transport::is_truncation(ec);
                            if (closed && self->exchange->closed())
                                return self->poll_done(gen, {});
                            return self->poll_done(gen, closed ? make_error_code(error::stream_ended) : ec);
                        }
                        self->poll_read(gen);
                    });
            });
        }

        void close_poll_socket()
        {
            poll_deadline.cancel();
            poller.drop();
        }

        // One poll is over (an answer, or `ec`): deliver, then decide what comes next.
        void poll_done(std::size_t gen, error_code ec)
        {
            if (gen != poller.generation || !poll_in_flight)
                return;
            close_poll_socket();
            poll_in_flight = false;
            std::size_t fresh = 0;
            if (ec)
                core.poll_failed(ec);
            else
                fresh = core.on_poll_answer(exchange->status(), exchange->body(), clock::now(), ec);
            if (core.stopped())
                return shut();
            if (poll_is_probe && !core.polling()) {
                // New events while the stream delivered not a byte since the probe began: held back.
                if (fresh > 0 && is_open && last_byte < probe_started) {
                    core.stream_held_back();
                    close_socket();
                    if (core.stopped())
                        return shut();
                    return start_polling();
                }
                if (is_open)
                    arm_probe(stream.generation);
                return;
            }
            if (!core.polling())
                return;   // a trial took over
            poll_timer.expires_after(core.options().fallback.interval);
            poll_timer.async_wait([self = this->shared_from_this()](error_code tec) {
                if (tec || self->core.stopped() || !self->core.polling())
                    return;
                if (!self->next.hold([self] { if (self->core.polling()) self->poll(false); }))
                    self->poll(false);
            });
        }

        void arm_throttle()
        {
            auto const due = core.next_due();
            if (!due || core.stopped() || (throttle_armed && *throttle_armed <= *due))
                return;
            throttle_armed = due;
            throttle_timer.expires_at(*due);
            throttle_timer.async_wait([self = this->shared_from_this()](error_code ec) {
                if (ec == asio::error::operation_aborted || self->core.stopped())
                    return;
                self->throttle_armed.reset();
                self->core.flush_due(clock::now());
                self->arm_throttle();
            });
        }

        void close_socket()
        {
            stream.drop();   // whatever is still pending on the old connection is stale
            is_open = false;
            deadline.cancel();
            probe_timer.cancel();
        }

        // The current connection or attempt is over: decide what comes next.
        void drop(error_code why, bool final)
        {
            close_socket();
            end(why, final);
        }

        void end(error_code why, bool final)
        {
            auto const delay = core.ended(why, final || transport::is_final(why), clock::now());
            if (!delay) {
                if (core.stopped())
                    shut();
                else if (core.polling())
                    start_polling();
                return;
            }
            arm_reconnect(*delay);
        }

        void shut()
        {
            close_socket();
            close_poll_socket();
            poll_in_flight = false;
            poll_timer.cancel();
            reconnect_timer.cancel();
            if (!core.next_due())
                throttle_timer.cancel();
            next.end();
        }

        void close(bool report = true)
        {
            core.close(report);
            shut();
            throttle_timer.cancel();
        }
    };

    std::shared_ptr<impl> impl_;
};

#if defined(SSE_SEPARATE_ASIO)
// Compiled once, in the translation unit that includes <sse/asio/src.hpp>.
extern template class event_source<asio::ip::tcp::socket>;
#endif

SSE_NAMESPACE_END

#endif
