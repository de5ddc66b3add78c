// sse/asio/impl/event_source.hpp - the event source's driver: I/O, timers, handlers, statistics.
//
// The driver feeds detail::source_core what happened, with the time, and acts
// on the items and decisions it returns. User code is called from two places
// only: hand_over() for events, and report_state()/end_for_good() for states.
// The source ends for good in one place, end_for_good().
#ifndef SSE_ASIO_IMPL_EVENT_SOURCE_HPP
#define SSE_ASIO_IMPL_EVENT_SOURCE_HPP

#include <sse/asio/event_source.hpp>
#include <sse/client/source_core.hpp>
#include <sse/asio/detail/source_connection.hpp>
#include <sse/asio/detail/source_handlers.hpp>
#include <sse/asio/detail/source_poller.hpp>
#include <sse/asio/detail/source_stats.hpp>
#include <sse/asio/detail/next_queue.hpp>

#include <sse/asio/net.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

SSE_NAMESPACE_BEGIN

template<class Socket>
struct event_source<Socket>::impl : detail::registrar, std::enable_shared_from_this<impl>
{
    using connection = detail::source_connection<Socket>;
    using verdict = detail::source_handlers::verdict;

    impl(net::any_io_executor ex, url origin, event_source_options options,
         std::shared_ptr<typename transport::context_type> tls)
        : strand(net::make_strand(ex)), core(std::move(origin), std::move(options)), tls_context(std::move(tls)),
          stream(strand), deadline(strand), reconnect_timer(strand), throttle_timer(strand), poll(strand),
          next(core.options().max_queued_events)
    {
        stream.buffer_size = core.options().read_size > 0 ? core.options().read_size : 16 * 1024;
        poll.connection.buffer_size = stream.buffer_size;
        stats.update([&](event_source_stats& s) { s.retry = core.retry(); });
        stats.last_event_id(core.last_event_id());
    }

    executor_type strand;
    detail::source_core core;
    detail::source_handlers handlers;
    detail::source_stats stats;
    std::atomic<std::uint64_t> next_registration{1};
    std::shared_ptr<typename transport::context_type> tls_context;
    connection stream;
    net::steady_timer deadline;   // connect timeout, then stall detection
    net::steady_timer reconnect_timer;
    std::size_t reconnect_wait = 0;
    net::steady_timer throttle_timer;
    std::optional<clock::time_point> throttle_armed;
    std::string request;
    bool is_open = false;
    bool done = false;   // ended for good: no handler is called any more
    clock::time_point last_byte{};
    detail::source_poller<Socket> poll;
    detail::next_queue next;   // async_next's queue and waiter

    // ---- completion handlers ----
    //
    // Each distinct handler type costs every translation unit that instantiates
    // the source a chain of Asio templates (the operation, its work guard, its
    // trip through the strand). So every timer wait completes into one
    // timer_step, every read and write into one io_step, and every call made on
    // the strand is one task: Asio compiles each operation once per Socket.

    /// A timer wait's completion: step(tag, ec), `tag` being what the wait was armed for.
    struct timer_step
    {
        std::shared_ptr<impl> self;
        void (impl::*step)(std::size_t tag, error_code ec);
        std::size_t tag;

        void operator()(error_code ec) { ((*self).*step)(tag, ec); }
    };

    void wait(net::steady_timer& timer, void (impl::*step)(std::size_t, error_code), std::size_t tag = 0)
    {
        timer.async_wait(timer_step{this->shared_from_this(), step, tag});
    }

    /** A read's or a write's completion on connection `gen`: step(gen, ec,
        input), `input` being what a read put in its buffer (empty for a
        write). It holds the socket and the buffer the operation was started
        on (see detail::source_connection).
    */
    struct io_step
    {
        std::shared_ptr<impl> self;
        void (impl::*step)(std::size_t gen, error_code ec, std::string_view input);
        std::size_t gen;
        std::shared_ptr<Socket> socket;
        std::shared_ptr<std::vector<char>> buffer;

        void operator()(error_code ec, std::size_t n)
        {
            std::string_view const input = buffer ? std::string_view(buffer->data(), n) : std::string_view();
            ((*self).*step)(gen, ec, input);
        }
    };

    /// A call made on the strand: f(impl&).
    struct task
    {
        std::shared_ptr<impl> self;
        std::function<void(impl&)> f;

        void operator()() { f(*self); }
    };

    // sse::registration::remove(), from any thread.
    void remove_registration(std::uint64_t id) override
    {
        net::dispatch(strand, task{this->shared_from_this(), [id](impl& i) { i.handlers.remove(id); }});
    }

    // ---- the user's code ----

    // The one place where an event reaches the user's handlers.
    void hand_over(event_view const& ev)
    {
        detail::source_stats::bump(stats.events_delivered);
        next.push(ev);   // queued once async_next was called; then no event handler exists
        handlers.deliver(ev, [this] { return done; });
    }

    // An event from the stream or a poll: filters and throttles, then the handlers.
    void dispatch_event(event_view const& ev, clock::time_point now)
    {
        stats.last_event_id(ev.last_event_id);
        switch (handlers.admit(ev, now)) {
        case verdict::deliver:
            hand_over(ev);
            break;
        case verdict::filtered:
            detail::source_stats::bump(stats.events_filtered);
            break;
        case verdict::coalesced:
            detail::source_stats::bump(stats.events_coalesced);
            break;
        case verdict::held:
            break;
        }
    }

    // A change of state while the source goes on.
    void report_state(source_state s, error_code why, clock::time_point now)
    {
        if (done)
            return;
        stats.state(s, now);
        if (handlers.on_state)
            handlers.on_state(s, why);
    }

    /** The one place where the source ends for good. Events held by a throttle
        are delivered first when it ends on its own; close() drops them. The
        state handler is called last (not when the source is destroyed).
    */
    void end_for_good(source_state s, error_code why, bool by_user, bool report)
    {
        if (done)
            return;
        core.close();
        stop_io();
        if (by_user) {
            handlers.drop_held();
        } else {
            detail::source_handlers::held_event held;
            while (!done && handlers.take_due(std::nullopt, held))
                hand_over(held.view());
            if (done)   // a handler called close()
                return;
        }
        done = true;
        next.end(why);   // async_next gets the queued events, then why
        stats.state(s, clock::now());
        if (report && handlers.on_state)
            handlers.on_state(s, why);
    }

    void close_by_user(bool report) { end_for_good(source_state::closed, {}, true, report); }

    // ---- what comes next ----

    void reconnect_now()
    {
        if (!core.restart())
            return;
        disconnect_stream();
        ++reconnect_wait;   // a wait that already fired and is queued is stale too
        reconnect_timer.cancel();
        attempt();
    }

    // The next attempt after `delay`, unless reconnect_now() or close() came first.
    void arm_reconnect(std::chrono::milliseconds delay)
    {
        reconnect_timer.expires_after(delay);
        wait(reconnect_timer, &impl::reconnect_due, ++reconnect_wait);
    }

    void reconnect_due(std::size_t wait, error_code ec)
    {
        if (ec || wait != reconnect_wait || core.stopped())
            return;
        attempt();
    }

    // The stream's connection or attempt is over because of `why`: let the core decide.
    void decide_after(error_code why, bool final)
    {
        stats.update([&](event_source_stats& s) { s.last_error = why; });
        follow(core.ended(why, final || transport::is_final(why), clock::now()));
    }

    void follow(detail::source_decision const& d)
    {
        switch (d.action) {
        case detail::source_decision::end:
            return end_for_good(d.state, d.why, false, true);
        case detail::source_decision::reconnect:
            stats.update([&](event_source_stats& s) { s.reconnect_delay = d.delay; });
            report_state(source_state::waiting, d.why, clock::now());
            if (!done)
                arm_reconnect(d.delay);
            return;
        case detail::source_decision::trial:
            stats.update([&](event_source_stats& s) { s.reconnect_delay = d.delay; });
            arm_reconnect(d.delay);
            return;
        case detail::source_decision::poll:
            stats.update([&](event_source_stats& s) {
                ++s.fallbacks;
                s.reconnect_delay = d.delay;
            });
            report_state(source_state::polling, d.why, clock::now());
            if (!done)
                start_polling();
            return;
        }
    }

    // ---- the stream ----

    void attempt()
    {
        if (core.stopped())
            return;
        if (handlers.before_attempt) {
            handlers.before_attempt(core.headers());
            if (done)
                return;
        }
        stats.update([](event_source_stats& s) {
            if (++s.attempts > 1)
                ++s.reconnects;
        });
        detail::attempt_start const start = core.begin_attempt();
        if (start.connecting) {
            report_state(source_state::connecting, {}, clock::now());
            if (done)
                return;
        }
        if (start.error)
            return decide_after(start.error, true);
        connect();
    }

    // ---- the stream, in <sse/asio/impl/event_source_stream.hpp> ----

    // Whether a completion of connection `gen` still concerns anyone: a newer
    // connection, or a stopped source, makes it stale.
    bool current(std::size_t gen) const noexcept { return gen == stream.generation && !core.stopped(); }

    void connect();
    void connect_timeout(std::size_t gen, error_code ec);
    void send_request(std::size_t gen);
    void request_sent(std::size_t gen, error_code ec, std::string_view);
    void read_head(std::size_t gen);
    static error_code end_of_stream(error_code ec) noexcept;
    void on_head_bytes(std::size_t gen, error_code ec, std::string_view input);
    void read_body(std::size_t gen);
    void body_read(std::size_t gen, error_code ec, std::string_view input);
    bool consume_body(std::string_view input, clock::time_point now);
    void arm_stall(std::size_t gen);
    void stall_due(std::size_t gen, error_code ec);
    void resume_body(std::size_t gen);

    void arm_throttle()
    {
        auto const due = handlers.next_due();
        if (!due || done || (throttle_armed && *throttle_armed <= *due))
            return;
        throttle_armed = due;
        throttle_timer.expires_at(*due);
        wait(throttle_timer, &impl::throttle_due);
    }

    void throttle_due(std::size_t, error_code ec)
    {
        if (ec == sse::net_error(net::error::operation_aborted) || done)
            return;
        throttle_armed.reset();
        detail::source_handlers::held_event held;
        auto const now = clock::now();
        while (!done && handlers.take_due(now, held))
            hand_over(held.view());
        arm_throttle();
    }

    // ---- ending connections ----

    // Disconnects the stream; what is still pending on it is stale.
    void disconnect_stream()
    {
        stream.disconnect();
        is_open = false;
        deadline.cancel();
        poll.probe_timer.cancel();
    }

    // The stream's connection or attempt is over: disconnect, then decide what comes next.
    void finish_connection(error_code why, bool final)
    {
        disconnect_stream();
        decide_after(why, final);
    }

    // Every connection and timer stops: the source has ended.
    void stop_io()
    {
        disconnect_stream();
        poll.stop();
        reconnect_timer.cancel();
        throttle_timer.cancel();
    }

    // ---- the polling fallback, in <sse/asio/impl/event_source_poll.hpp> ----

    void arm_probe(std::size_t gen);
    void probe_due(std::size_t gen, error_code ec);
    void start_polling();
    void start_poll(bool probe);
    void poll_timeout(std::size_t gen, error_code ec);
    void send_poll(std::size_t gen);
    void poll_sent(std::size_t gen, error_code ec, std::string_view);
    void read_poll(std::size_t gen);
    void poll_read(std::size_t gen, error_code ec, std::string_view input);
    void poll_done(std::size_t gen, error_code ec);
    void next_poll_due(std::size_t, error_code ec);
    std::size_t deliver_polled(clock::time_point now);
};

// ---- the public members ----

template<class Socket>
event_source<Socket>::event_source(net::any_io_executor executor, std::string_view url, event_source_options options)
{
    error_code ec;
    impl_ = make_impl(std::move(executor), url, std::move(options), ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::event_source"));
}

template<class Socket>
event_source<Socket>::event_source(net::any_io_executor executor, std::string_view url,
                                   event_source_options options, error_code& ec)
    : impl_(make_impl(std::move(executor), url, std::move(options), ec))
{
}

template<class Socket>
event_source<Socket>::~event_source()
{
    if (!impl_)
        return;
    net::dispatch(impl_->strand, typename impl::task{impl_, [](impl& i) { i.close_by_user(false); }});
}

template<class Socket>
registration event_source<Socket>::on(std::string type, std::function<void(event_view const&)> handler)
{
    if (!handler)
        SSE_THROW(std::invalid_argument("sse::event_source::on: the handler for \"" + type + "\" is empty"));
    impl_->next.claim_handlers();
    std::uint64_t const id = impl_->next_registration++;
    run([type = std::move(type), id, handler = std::move(handler)](impl& i) mutable {
        i.handlers.on(std::move(type), id, std::move(handler));
    });
    return registration(impl_, id);
}

template<class Socket>
void event_source<Socket>::on_event(std::function<void(event_view const&)> handler)
{
    impl_->next.claim_handlers();
    impl_->handlers.on_event(std::move(handler));
}

template<class Socket>
void event_source<Socket>::on_comment(std::function<void(std::string_view)> handler)
{
    impl_->handlers.on_comment = std::move(handler);
}

template<class Socket>
registration event_source<Socket>::filter(std::string type, std::function<bool(event_view const&)> predicate)
{
    if (!predicate)
        SSE_THROW(std::invalid_argument(
            "sse::event_source::filter: the predicate for \"" + type +
            "\" is empty; to remove a filter, call remove() on the sse::registration that filter() returned"));
    std::uint64_t const id = impl_->next_registration++;
    run([type = std::move(type), id, predicate = std::move(predicate)](impl& i) mutable {
        i.handlers.filter(std::move(type), id, std::move(predicate));
    });
    return registration(impl_, id);
}

template<class Socket>
void event_source<Socket>::throttle(std::string type, std::chrono::milliseconds min_interval)
{
    impl_->handlers.throttle(std::move(type), min_interval);
}

template<class Socket>
void event_source<Socket>::on_state(std::function<void(source_state, error_code)> handler)
{
    impl_->handlers.on_state = std::move(handler);
}

template<class Socket>
void event_source<Socket>::on_before_attempt(std::function<void(std::vector<header_field>&)> hook)
{
    impl_->handlers.before_attempt = std::move(hook);
}

template<class Socket>
void event_source<Socket>::start()
{
    net::post(impl_->strand, typename impl::task{impl_, [](impl& i) { i.attempt(); }});
}

template<class Socket>
void event_source<Socket>::reconnect()
{
    if (!impl_)
        return;
    net::post(impl_->strand, typename impl::task{impl_, [](impl& i) { i.reconnect_now(); }});
}

template<class Socket>
void event_source<Socket>::close()
{
    if (!impl_)
        return;
    net::dispatch(impl_->strand, typename impl::task{impl_, [](impl& i) { i.close_by_user(true); }});
}

template<class Socket>
template<class CompletionToken>
auto event_source<Socket>::async_next(CompletionToken&& token)
{
    return detail::async_next(impl_->next, impl_->strand, impl_, std::forward<CompletionToken>(token));
}

template<class Socket>
event_source_stats event_source<Socket>::stats() const
{
    return impl_->stats.snapshot(clock::now());
}

template<class Socket>
url const& event_source<Socket>::origin() const noexcept
{
    return impl_->core.origin();
}

template<class Socket>
typename event_source<Socket>::executor_type event_source<Socket>::get_executor() const noexcept
{
    return impl_->strand;
}

template<class Socket>
void event_source<Socket>::run(std::function<void(impl&)> f)
{
    net::dispatch(impl_->strand, typename impl::task{impl_, std::move(f)});
}

template<class Socket>
std::shared_ptr<typename event_source<Socket>::impl> event_source<Socket>::make_impl(
    net::any_io_executor ex, std::string_view text, event_source_options options, error_code& ec)
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

SSE_NAMESPACE_END

#include <sse/asio/impl/event_source_stream.hpp>
#include <sse/asio/impl/event_source_poll.hpp>
#endif
