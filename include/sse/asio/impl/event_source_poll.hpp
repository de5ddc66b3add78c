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
    poll.probe_timer.async_wait([self = this->shared_from_this(), gen](error_code ec) {
        if (ec || !self->current(gen) || !self->is_open ||
            self->next.holding())
            return;
        auto const now = clock::now();
        auto const quiet_since = std::max(self->last_byte, self->poll.last_probe);
        if (self->core.polling() || self->poll.in_flight ||
            now - quiet_since < self->core.options().fallback.probe_after)
            return self->arm_probe(gen);
        self->poll.probe_started = self->poll.last_probe = now;
        self->start_poll(true);
    });
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
        poll.deadline.async_wait([self = this->shared_from_this(), gen](error_code tec) {
            if (!tec && gen == self->poll.connection.generation && self->poll.in_flight)
                self->poll_done(gen, make_error_code(error::connect_timeout));
        });
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
void event_source<Socket>::impl::send_poll(std::size_t gen)
{
    poll.connection.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        asio::async_write(s, asio::buffer(poll.request),
            [self = this->shared_from_this(), gen, socket](error_code ec, std::size_t) {
                if (gen != self->poll.connection.generation || self->core.stopped())
                    return;
                if (ec)
                    return self->poll_done(gen, ec);
                self->read_poll(gen);
            });
    });
}

template<class Socket>
void event_source<Socket>::impl::read_poll(std::size_t gen)
{
    poll.connection.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        auto buffer = poll.connection.buffer;
        s.async_read_some(asio::buffer(*buffer),
            [self = this->shared_from_this(), gen, socket, buffer](error_code ec, std::size_t n) {
                if (gen != self->poll.connection.generation || self->core.stopped())
                    return;
                self->stats.received(n, clock::now());
                auto& exchange = *self->poll.exchange;
                error_code pec;
                if (n > 0 && exchange.feed(std::string_view(buffer->data(), n), pec))
                    return self->poll_done(gen, {});
                if (pec)
                    return self->poll_done(gen, pec);
                if (ec) {
                    bool const closed = ec == asio::error::eof || transport::is_truncation(ec);
                    if (closed && exchange.closed())
                        return self->poll_done(gen, {});
                    return self->poll_done(gen, closed ? make_error_code(error::stream_ended) : ec);
                }
                self->read_poll(gen);
            });
    });
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
    poll.next_poll.async_wait([self = this->shared_from_this()](error_code tec) {
        if (tec || self->core.stopped() || !self->core.polling())
            return;
        // async_next's queue is full: the next poll waits until a call takes an event.
        if (!self->next.hold([self] { if (self->core.polling()) self->start_poll(false); }))
            self->start_poll(false);
    });
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
