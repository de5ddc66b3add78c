// sse/asio/impl/event_source_poll.hpp - the event source's polling fallback: its I/O steps.
//
// Polls run on their own connection (detail::source_poller), next to the
// stream or its trials. Which events are new, and when to switch between
// streaming and polling, is the core's to decide (detail::fallback_policy).
#ifndef SSE_ASIO_IMPL_EVENT_SOURCE_POLL_HPP
#define SSE_ASIO_IMPL_EVENT_SOURCE_POLL_HPP

#include <sse/asio/impl/event_source.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN

// A stream that stays silent for probe_after while a poll finds events is
// held back on its way (a buffering proxy): poll instead.
template<class Socket>
void event_source<Socket>::impl::arm_probe(std::size_t gen)
{
    auto const limit = core.options().fallback.probe_after;
    if (!core.has_fallback() || limit.count() <= 0)
        return;
    poll.probe_timer.expires_at(std::max(last_byte, poll.last_probe) + limit);
    wait(poll.probe_timer, &impl::probe_due, gen);
}

template<class Socket>
void event_source<Socket>::impl::probe_due(std::size_t gen, error_code ec)
{
    if (ec || !current(gen) || !is_open || next.holding())
        return;
    auto const now = clock::now();
    auto const quiet_since = std::max(last_byte, poll.last_probe);
    if (core.polling() || poll.in_flight || now - quiet_since < core.options().fallback.probe_after)
        return arm_probe(gen);
    poll.probe_started = poll.last_probe = now;
    start_poll(true);
}

template<class Socket>
void event_source<Socket>::impl::start_polling()
{
    start_poll(false);
    if (done)
        return;
    // The stream is tried again after stream_retry; each failed trial waits as long again.
    arm_reconnect(core.options().fallback.stream_retry);
}

template<class Socket>
void event_source<Socket>::impl::start_poll(bool probe)
{
    if (core.stopped() || poll.in_flight)
        return;
    poll.in_flight = true;
    poll.is_probe = probe;
    std::size_t const gen = ++poll.connection.generation;
    if (handlers.before_attempt) {
        handlers.before_attempt(core.headers());
        if (done)
            return;
    }
    stats.update([](event_source_stats& s) { ++s.polls; });
    error_code ec;
    poll.request = core.begin_poll(ec);
    url const& endpoint = core.poll_url();
    if (!ec && endpoint.is_https() && !transport::tls)
        ec = error::https_not_supported;
    if (ec)
        return poll_done(gen, ec);
    poll.exchange.emplace(core.make_poll_exchange());
    auto const timeout = core.options().connect_timeout;
    if (timeout.count() > 0) {
        poll.deadline.expires_after(timeout);
        wait(poll.deadline, &impl::poll_timeout, gen);
    }
    poll.connection.open(strand, tls_context.get(), core.options().verify_peer, endpoint, this->shared_from_this(),
        [self = this->shared_from_this(), gen](error_code oec) {
            if (self->core.stopped())
                return;
            if (oec)
                return self->poll_done(gen, oec);
            self->send_poll(gen);
        });
}

template<class Socket>
void event_source<Socket>::impl::poll_timeout(std::size_t gen, error_code ec)
{
    if (!ec && gen == poll.connection.generation && poll.in_flight)
        poll_done(gen, make_error_code(error::connect_timeout));
}

template<class Socket>
void event_source<Socket>::impl::send_poll(std::size_t gen)
{
    poll.connection.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        net::async_write(s, net::buffer(poll.request),
            io_step{this->shared_from_this(), &impl::poll_sent, gen, socket, {}});
    });
}

template<class Socket>
void event_source<Socket>::impl::poll_sent(std::size_t gen, error_code ec, std::string_view)
{
    if (gen != poll.connection.generation || core.stopped())
        return;
    if (ec)
        return poll_done(gen, ec);
    read_poll(gen);
}

template<class Socket>
void event_source<Socket>::impl::read_poll(std::size_t gen)
{
    poll.connection.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        auto const& buffer = poll.connection.buffer;
        s.async_read_some(net::buffer(*buffer),
            io_step{this->shared_from_this(), &impl::poll_read, gen, socket, buffer});
    });
}

template<class Socket>
void event_source<Socket>::impl::poll_read(std::size_t gen, error_code ec, std::string_view input)
{
    if (gen != poll.connection.generation || core.stopped())
        return;
    stats.received(input.size(), clock::now());
    auto& exchange = *poll.exchange;
    error_code pec;
    if (!input.empty() && exchange.feed(input, pec))
        return poll_done(gen, {});
    if (pec)
        return poll_done(gen, pec);
    if (ec) {
        bool const closed = ec == sse::net_error(net::error::eof) || transport::is_truncation(ec);
        if (closed && exchange.closed())
            return poll_done(gen, {});
        return poll_done(gen, closed ? make_error_code(error::stream_ended) : ec);
    }
    read_poll(gen);
}

// One poll is over (an answer, or `ec`): deliver, then decide what comes next.
template<class Socket>
void event_source<Socket>::impl::poll_done(std::size_t gen, error_code ec)
{
    if (gen != poll.connection.generation || !poll.in_flight)
        return;
    poll.close_connection();
    std::size_t fresh = 0;
    if (!ec && !core.poll_answer(poll.exchange->status(), poll.exchange->body()))
        ec = error::bad_poll_response;
    if (ec)
        stats.update([](event_source_stats& s) { ++s.poll_failures; });
    else
        fresh = deliver_polled(clock::now());
    if (done)
        return;
    if (poll.is_probe && !core.polling()) {
        // New events while the stream delivered not a byte since the probe began: held back.
        if (fresh > 0 && is_open && last_byte < poll.probe_started) {
            detail::source_decision const d = core.stream_held_back();
            stats.update([](event_source_stats& s) { s.last_error = error::held_back; });
            disconnect_stream();
            return follow(d);
        }
        if (is_open)
            arm_probe(stream.generation);
        return;
    }
    if (!core.polling())
        return;   // a trial took over
    poll.next_poll.expires_after(core.options().fallback.interval);
    wait(poll.next_poll, &impl::next_poll_due);
}

template<class Socket>
void event_source<Socket>::impl::next_poll_due(std::size_t, error_code ec)
{
    if (ec || core.stopped() || !core.polling())
        return;
    // async_next's queue is full: the next poll waits until a call takes an event.
    if (!next.hold([self = this->shared_from_this()] { if (self->core.polling()) self->start_poll(false); }))
        start_poll(false);
}

// Hands a poll's new events over, in order; returns how many were new.
template<class Socket>
std::size_t event_source<Socket>::impl::deliver_polled(clock::time_point now)
{
    std::size_t fresh = 0;
    while (!done) {
        switch (core.next_polled()) {
        case detail::source_item::event:
            ++fresh;
            detail::source_stats::bump(stats.events_received);
            stats.update([](event_source_stats& s) { ++s.events_polled; });
            dispatch_event(core.event(), now);
            break;
        case detail::source_item::duplicate:
            detail::source_stats::bump(stats.events_received);
            stats.update([](event_source_stats& s) {
                ++s.events_polled;
                ++s.duplicates_dropped;
            });
            break;
        default:
            stats.last_event_id(core.last_event_id());
            arm_throttle();
            return fresh;
        }
    }
    return fresh;
}

SSE_NAMESPACE_END

#endif
