// sse/asio/impl/event_source_stream.hpp - the event source's stream: its I/O steps.
//
// One attempt: resolve, connect, send the request, read the head, then the
// body, handing each read to the core and acting on its items.
#ifndef SSE_ASIO_IMPL_EVENT_SOURCE_STREAM_HPP
#define SSE_ASIO_IMPL_EVENT_SOURCE_STREAM_HPP

#include <sse/asio/impl/event_source.hpp>

SSE_NAMESPACE_BEGIN

// One hop: the original URL, or where a redirect points.
template<class Socket>
void event_source<Socket>::impl::connect()
{
    url const& target = core.target();
    if (target.is_https() && !transport::tls)
        return decide_after(make_error_code(error::https_not_supported), true);
    std::size_t const gen = ++stream.generation;
    is_open = false;
    auto const timeout = core.options().connect_timeout;
    if (timeout.count() > 0) {
        deadline.expires_after(timeout);
        wait(deadline, &impl::connect_timeout, gen);
    }
    request = core.request();
    stream.open(strand, tls_context.get(), core.options().verify_peer, target, this->shared_from_this(),
        [self = this->shared_from_this(), gen](error_code ec) {
            if (self->core.stopped())
                return;
            if (ec)
                return self->finish_connection(ec, false);
            self->send_request(gen);
        });
}

template<class Socket>
void event_source<Socket>::impl::connect_timeout(std::size_t gen, error_code ec)
{
    if (!ec && current(gen) && !is_open)
        finish_connection(make_error_code(error::connect_timeout), false);
}

template<class Socket>
void event_source<Socket>::impl::send_request(std::size_t gen)
{
    stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        net::async_write(s, net::buffer(request),
            io_step{this->shared_from_this(), &impl::request_sent, gen, socket, {}});
    });
}

template<class Socket>
void event_source<Socket>::impl::request_sent(std::size_t gen, error_code ec, std::string_view)
{
    if (!current(gen))
        return;
    if (ec)
        return finish_connection(ec, false);
    read_head(gen);
}

template<class Socket>
void event_source<Socket>::impl::read_head(std::size_t gen)
{
    stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        auto const& buffer = stream.buffer;
        s.async_read_some(net::buffer(*buffer),
            io_step{this->shared_from_this(), &impl::on_head_bytes, gen, socket, buffer});
    });
}

template<class Socket>
error_code event_source<Socket>::impl::end_of_stream(error_code ec) noexcept
{
    // EOF, or a TLS stream cut without close_notify: the stream ended.
    return ec == sse::net_error(net::error::eof) || transport::is_truncation(ec) ? make_error_code(error::stream_ended) : ec;
}

template<class Socket>
void event_source<Socket>::impl::on_head_bytes(std::size_t gen, error_code ec, std::string_view input)
{
    if (!current(gen))
        return;
    auto const now = clock::now();
    stats.received(input.size(), now);
    detail::head_outcome outcome = detail::head_outcome::need_more;
    if (!input.empty())
        outcome = core.on_head(input, ec, std::chrono::system_clock::now());
    else if (!ec)
        return read_head(gen);
    if (outcome == detail::head_outcome::need_more) {
        if (ec)   // the connection broke before a complete head
            return finish_connection(end_of_stream(ec), false);
        return read_head(gen);
    }
    stats.update([&](event_source_stats& s) { s.last_status = core.status(); });
    switch (outcome) {
    case detail::head_outcome::open:
        deadline.cancel();
        is_open = true;
        last_byte = now;
        stats.update([](event_source_stats& s) { ++s.opens; });
        if (core.opened(now)) {
            report_state(source_state::open, {}, now);
            if (done)
                return;
        }
        arm_stall(gen);
        arm_probe(gen);
        if (!input.empty() && !consume_body(input, now))
            return;
        if (ec)
            return finish_connection(end_of_stream(ec), false);
        return read_body(gen);
    case detail::head_outcome::redirect:
        stats.update([](event_source_stats& s) { ++s.redirects; });
        disconnect_stream();
        return connect();
    case detail::head_outcome::stop:
        return finish_connection(ec, true);
    case detail::head_outcome::retry:
    default:
        return finish_connection(ec, false);
    }
}

template<class Socket>
void event_source<Socket>::impl::read_body(std::size_t gen)
{
    // async_next's queue is full: read no more until a call takes an event (TCP back-pressure).
    if (next.hold([self = this->shared_from_this(), gen] { self->resume_body(gen); }))
        return;
    stream.with_stream([&](auto& s, std::shared_ptr<Socket> const& socket) {
        auto const& buffer = stream.buffer;
        s.async_read_some(net::buffer(*buffer),
            io_step{this->shared_from_this(), &impl::body_read, gen, socket, buffer});
    });
}

template<class Socket>
void event_source<Socket>::impl::body_read(std::size_t gen, error_code ec, std::string_view input)
{
    if (!current(gen))
        return;
    auto const now = clock::now();
    if (!input.empty()) {
        stats.received(input.size(), now);
        last_byte = now;
        if (!consume_body(input, now))
            return;
    }
    if (ec)
        return finish_connection(end_of_stream(ec), false);
    read_body(gen);
}

// async_next's queue has room again: the held-back read resumes. The stall and
// probe timers slept through the hold, whose silence was ours, not the server's.
template<class Socket>
void event_source<Socket>::impl::resume_body(std::size_t gen)
{
    if (!current(gen))
        return;
    last_byte = clock::now();
    arm_stall(gen);
    arm_probe(gen);
    read_body(gen);
}

// Acts on the core's items for body bytes. False when the connection is done with.
template<class Socket>
bool event_source<Socket>::impl::consume_body(std::string_view input, clock::time_point now)
{
    for (;;) {
        error_code ec;
        switch (core.next(input, ec)) {
        case detail::source_item::need_more:
            arm_throttle();
            return true;
        case detail::source_item::event:
            detail::source_stats::bump(stats.events_received);
            dispatch_event(core.event(), now);
            break;
        case detail::source_item::duplicate:
            detail::source_stats::bump(stats.events_received);
            stats.update([](event_source_stats& s) { ++s.duplicates_dropped; });
            break;
        case detail::source_item::comment:
            detail::source_stats::bump(stats.comments_received);
            if (handlers.on_comment)
                handlers.on_comment(core.comment());
            break;
        case detail::source_item::retry:
            stats.update([&](event_source_stats& s) { s.retry = core.retry(); });
            break;
        case detail::source_item::opened:
            report_state(source_state::open, {}, now);
            break;
        case detail::source_item::ended:
            arm_throttle();
            finish_connection(make_error_code(error::stream_ended), false);
            return false;
        case detail::source_item::failed:
            arm_throttle();
            finish_connection(ec, detail::source_core::is_final(ec));
            return false;
        }
        if (done)
            return false;
    }
}

// Stall detection with one timer wait per period, not one per read:
// when it fires early it waits again for what is left.
template<class Socket>
void event_source<Socket>::impl::arm_stall(std::size_t gen)
{
    auto const limit = core.options().stall_timeout;
    if (limit.count() <= 0)
        return;
    deadline.expires_at(last_byte + limit);
    wait(deadline, &impl::stall_due, gen);
}

template<class Socket>
void event_source<Socket>::impl::stall_due(std::size_t gen, error_code ec)
{
    if (ec || !current(gen) || !is_open || next.holding())
        return;
    if (clock::now() - last_byte >= core.options().stall_timeout)
        finish_connection(make_error_code(error::stalled), false);
    else
        arm_stall(gen);
}

SSE_NAMESPACE_END

#endif
