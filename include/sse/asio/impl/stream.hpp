// sse/asio/impl/stream.hpp - bodies of sse::stream.
#ifndef SSE_ASIO_IMPL_STREAM_HPP
#define SSE_ASIO_IMPL_STREAM_HPP

#include <sse/asio/stream.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>
#include <string>

SSE_NAMESPACE_BEGIN
namespace detail {

// The response head and the initial retry line: one buffer, written first.
// A field whose name is not a token or whose value holds CR, LF or NUL is
// left out: it would forge fields.
inline std::string format_stream_head(stream_options const& o, std::string_view origin)
{
    std::string h;
    h.reserve(192);
    h += "HTTP/1.1 200 OK\r\n"
         "Content-Type: text/event-stream\r\n"
         "Cache-Control: no-cache\r\n"
         "X-Accel-Buffering: no\r\n";
    if (!o.cors.allowed_origins.empty()) {
        std::vector<std::pair<std::string, std::string>> cors;
        o.cors.add_headers(origin, cors);
        for (auto const& [name, value] : cors)
            append_safe_field(h, name, value);
    }
    for (auto const& [name, value] : o.extra_headers)
        append_safe_field(h, name, value);
    h += "\r\n";
    if (o.retry) {
        h += "retry: ";
        h += std::to_string(o.retry->count() < 0 ? 0 : o.retry->count());
        h += "\n\n";
    }
    return h;
}

inline event_buffer comment_heartbeat()
{
    // One buffer shared by every stream of the process.
    static event_buffer const buffer = std::make_shared<std::string const>(":\n\n");
    return buffer;
}

inline event_buffer event_heartbeat(std::string const& type)
{
    auto const ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    event e;
    e.type = type;
    e.data = std::to_string(ms);
    error_code ec;
    event_buffer b = make_event_buffer(e, ec);
    return ec ? comment_heartbeat() : b;
}

} // namespace detail

template<class Socket>
stream<Socket>::stream(Socket socket, stream_options options)
    : stream(std::move(socket), std::make_shared<stream_options const>(std::move(options)))
{
}

template<class Socket>
stream<Socket>::stream(Socket socket, std::shared_ptr<stream_options const> options)
    : options_(std::move(options)),
      socket_(std::move(socket)),
      service_(&net::use_service<detail::stream_service>(net::query(socket_.get_executor(), net::execution::context)))
{
    SSE_ASSERT(options_ != nullptr);
    // The service keeps the first executor it is given for its timer: a socket's
    // executor does not count as outstanding work (Asio's default), so the
    // io_context still ends when its streams do. (asio::prefer would make sure,
    // at a compile-time cost every user pays.)
    if constexpr (lends_strand) {
        // The service's own work must not queue behind one stream's strand.
        service_->use_executor(socket_.get_executor().get_inner_executor());
    } else {
        if (options_->threading == stream_threading::strand)
            strand_ = std::make_unique<own_strand>(socket_.get_executor());
        service_->use_executor(socket_.get_executor());
    }
}

template<class Socket>
stream<Socket>::~stream()
{
    // A stream destroyed without ending (its io_context stopped and destroyed its
    // handlers) must not stay in the service's heap.
    service_->unschedule(*this);
}

template<class Socket>
typename stream<Socket>::executor_type stream<Socket>::get_executor() const
{
    if (strand_)
        return *strand_;
    // asio::ssl::stream's get_executor() is not const, though it changes nothing.
    return const_cast<Socket&>(socket_).get_executor();
}

template<class Socket>
typename stream<Socket>::task stream<Socket>::make_task(step fn, event_buffer buffer, error_code ec, std::size_t n)
{
    return task{this->shared_from_this(), fn, std::move(buffer), ec, n};
}

// Runs `t` later, serialised with the stream's other work.
template<class Socket>
void stream<Socket>::post_serial(task t)
{
    if (strand_)
        net::post(*strand_, std::move(t));
    else
        net::post(socket_.get_executor(), std::move(t));
}

// Runs `t` serialised with the stream's other work: at once if the caller already is.
template<class Socket>
void stream<Socket>::dispatch_serial(task t)
{
    if (strand_)
        net::dispatch(*strand_, std::move(t));
    else
        net::dispatch(socket_.get_executor(), std::move(t));
}

// The next step after a completion that ran outside the stream's strand (the
// socket's own executor): on the strand if there is one of the stream's own,
// else at once (one_thread, or a lent strand the completion already ran on).
template<class Socket>
void stream<Socket>::then(step fn, error_code ec, std::size_t n)
{
    if (strand_)
        post_serial(make_task(fn, {}, ec, n));
    else
        run_step(fn, {}, ec, n);
}

// Every step runs here, serialised: with the writes taken back first, and lent
// again when it leaves the stream idle.
template<class Socket>
void stream<Socket>::run_step(step fn, event_buffer buffer, error_code ec, std::size_t n)
{
    if constexpr (plain_socket) {
        if (writes_lent_.load(std::memory_order_acquire))
            hooks_->take_writes_back();
    }
    (this->*fn)(std::move(buffer), ec, n);
    lend_writes();
}

// An idle stream whose source woke it for each event would hand every event from
// the publishing thread to its own and write it there: a second pass over the
// connection's objects, and a queue allocated per event. Instead it lends its
// writes to its source (attach's sink), whose lock then guards them: the
// publishing thread writes to an idle connection at once, as a server that did
// nothing else would. The stream takes its writes back at its next step, and the
// source hands them back, with what it could not write at the front of the
// queue, whenever a write would block or fail, or more than one write's worth
// is queued. Plain sockets only: a layered stream's writes are steps of its own.
template<class Socket>
void stream<Socket>::lend_writes() noexcept
{
    if constexpr (plain_socket) {
        // started_ first: before start, set_hooks() may be writing source_ and
        // hooks_ on the thread that attaches (see wake_step()).
        if (started_ && source_ == source_state::drained && !writing_ && !closing_ && !closed_ && queue_.empty() &&
            !book_ && next_due_ == time_point{} && !writes_lent_.load(std::memory_order_relaxed))
            hooks_->lend_writes();
    }
}

// With the writes lent and the lender's lock held, on a publishing thread:
// writes what `pull(out, max_bytes, now)` gives, one send each. False once the
// stream must take over: what was not written is then at the front of its queue,
// for its next wake. `now` is the coarse clock's (attach lends only for
// subscribers that are not throttled, whose pull does not read it).
template<class Socket>
template<class Pull>
bool stream<Socket>::write_lent(Pull&& pull) noexcept
{
    // Per thread, so that a write at once allocates nothing.
    static thread_local std::vector<event_buffer> pulled;
    pulled.clear();
    auto const now = detail::coarse_now();
    pull_result r;
#if SSE_HAS_EXCEPTIONS
    try {
#endif
        r = pull(pulled, options_->max_write_bytes, now);
#if SSE_HAS_EXCEPTIONS
    } catch (...) {
        r.drained = false;   // out of memory: the stream pulls the rest itself
    }
#endif
    std::size_t done = 0;
    std::size_t offset = 0;
    while (done < pulled.size()) {
        event_buffer const& b = pulled[done];
        detail::net_error_code ec;
        std::size_t const n = detail::send_now(socket_, b->data() + offset, b->size() - offset, ec);
        if (ec)
            break;   // it would block, or failed: the stream's own write finds out which
        if (n < b->size() - offset) {
            offset += n;
            break;
        }
        offset = 0;
        ++done;
    }
    // Something went out. The coarse clock may lag the stream's own last reading by a tick.
    if ((done != 0 || offset != 0) && now > last_activity_)
        last_activity_ = now;
    if (done == pulled.size() && r.drained && !r.closed && !r.next_due) {
        pulled.clear();
        return true;
    }
    pulled.erase(pulled.begin(), pulled.begin() + static_cast<std::ptrdiff_t>(done));
    for (event_buffer const& b : pulled)
        queued_bytes_ += b->size();
    queue_.swap(pulled);   // empty while lent: nothing to allocate
    offset_ = offset;
    pulled.clear();
    return false;
}

template<class Socket>
void stream<Socket>::on_close(std::function<void(error_code)> handler)
{
    SSE_ASSERT(!started_);
    function_hooks().on_close = std::move(handler);
}

template<class Socket>
void stream<Socket>::set_source(pull_source source)
{
    SSE_ASSERT(!started_);
    auto& hooks = function_hooks();
    hooks.source = std::move(source);
    source_ = hooks.source != nullptr ? source_state::pulls : source_state::none;
}

// attach()'s sink: the stream's source and close handler (before start).
template<class Socket>
void stream<Socket>::set_hooks(std::shared_ptr<detail::stream_hooks> hooks)
{
    SSE_ASSERT(!started_);
    hooks_ = std::move(hooks);
    source_ = source_state::pulls;
}

// The hooks set_source() and on_close() fill in; they replace attach()'s.
template<class Socket>
detail::function_hooks& stream<Socket>::function_hooks()
{
    if (!hooks_ || !hooks_->from_functions()) {
        // After attach() (a misuse: its sink would then never run), the sink is
        // kept all the same: the hub reaches it while the stream lives.
        SSE_ASSERT(!hooks_);
        auto fresh = std::make_shared<detail::function_hooks>();
        fresh->replaced = std::move(hooks_);
        hooks_ = std::move(fresh);
        source_ = source_state::none;
    }
    return static_cast<detail::function_hooks&>(*hooks_);
}

template<class Socket>
void stream<Socket>::start(std::string_view origin)
{
    auto head = std::make_shared<std::string const>(detail::format_stream_head(*options_, origin));
    dispatch_serial(make_task(&stream::start_step, std::move(head)));
}

template<class Socket>
void stream<Socket>::start(http::request_head const& request)
{
    start(request.fields().find("Origin").value_or(std::string_view()));
}

template<class Socket>
void stream<Socket>::send(event_buffer buffer)
{
    SSE_ASSERT(buffer != nullptr);
    dispatch_serial(make_task(&stream::send_step, std::move(buffer)));
}

template<class Socket>
void stream<Socket>::send(event const& e)
{
    send(make_event_buffer(e));
}

template<class Socket>
void stream<Socket>::send(event const& e, error_code& ec)
{
    event_buffer b = make_event_buffer(e, ec);
    if (!ec)
        send(std::move(b));
}

template<class Socket>
void stream<Socket>::notify() noexcept
{
    if (wake_pending_.exchange(true, std::memory_order_acq_rel))
        return;
#if SSE_HAS_EXCEPTIONS
    try {
#endif
        if constexpr (lends_strand)
            post_serial(make_task(&stream::wake_step));
        else
            service_->wake(keep_alive());
#if SSE_HAS_EXCEPTIONS
    } catch (...) {
        // Out of memory: the next write completion or timer pulls anyway.
        wake_pending_.store(false, std::memory_order_release);
    }
#endif
}

// Runs `fn` serialised with the stream's other work, from a thread of the
// execution context that is not (the strand's socket lends excepted); false if
// memory ran out, and then the next write or wake makes up for it.
template<class Socket>
bool stream<Socket>::hand_over(step fn) noexcept
{
#if SSE_HAS_EXCEPTIONS
    try {
#endif
        if constexpr (lends_strand)
            post_serial(make_task(fn));
        else
            then(fn, {}, 0);
        return true;
#if SSE_HAS_EXCEPTIONS
    } catch (...) {
        return false;
    }
#endif
}

// On a thread of the io_context, with the wakes of other streams.
template<class Socket>
void stream<Socket>::woken() noexcept
{
    if (!hand_over(&stream::wake_step))
        wake_pending_.store(false, std::memory_order_release);
}

// On a thread of the execution context, with other streams' deadlines.
template<class Socket>
void stream<Socket>::deadline_reached() noexcept
{
    if (!hand_over(&stream::timer_step))
        forget_deadline();
}

template<class Socket>
std::shared_ptr<detail::stream_client> stream<Socket>::keep_alive() noexcept
{
    // The base is private: only the stream may make this conversion.
    auto self = this->weak_from_this().lock();
    auto* const client = static_cast<detail::stream_client*>(self.get());
    return std::shared_ptr<detail::stream_client>(std::move(self), client);
}

template<class Socket>
void stream<Socket>::start_step(event_buffer head, error_code, std::size_t)
{
    do_start(std::move(head));
}

template<class Socket>
void stream<Socket>::send_step(event_buffer buffer, error_code, std::size_t)
{
    if (!closing_)
        enqueue(std::move(buffer));
}

template<class Socket>
void stream<Socket>::close_step(event_buffer, error_code, std::size_t)
{
    finish(error::stream_closed);
}

template<class Socket>
void stream<Socket>::cancel_step(event_buffer, error_code, std::size_t id)
{
    cancel_waiter(static_cast<std::uint32_t>(id));
}

// Closes the stream `limit` from now if it has not ended by then (attach()'s
// deadline after the hub ended the subscription). Any thread.
template<class Socket>
void stream<Socket>::end_within(std::chrono::milliseconds limit)
{
    post_serial(make_task(&stream::end_by_step, {}, {}, static_cast<std::size_t>(limit.count())));
}

template<class Socket>
void stream<Socket>::end_by_step(event_buffer, error_code, std::size_t milliseconds)
{
    if (closed_)
        return;
    time_point const t = clock_type::now() + std::chrono::milliseconds(milliseconds);
    if (end_by_ == time_point{} || t < end_by_)
        end_by_ = t;
    schedule(end_by_);
}

template<class Socket>
void stream<Socket>::write_step(event_buffer, error_code ec, std::size_t bytes)
{
    on_write(ec, bytes);
}

template<class Socket>
void stream<Socket>::wake_step(event_buffer, error_code, std::size_t)
{
    wake_pending_.store(false, std::memory_order_release);
    // Only a pull, after start, makes it drained. Before start, set_hooks() may be
    // writing source_ on the thread that attaches: leave it alone.
    if (started_ && source_ == source_state::drained)
        source_ = source_state::pulls;
    do_write();
}

template<class Socket>
template<class CompletionToken>
auto stream<Socket>::async_send(event const& e, CompletionToken&& token)
{
    error_code invalid;
    event_buffer bytes = make_event_buffer(e, invalid);
    return async_queue(std::move(bytes), invalid, false, std::forward<CompletionToken>(token));
}

template<class Socket>
template<class CompletionToken>
auto stream<Socket>::async_close(std::optional<event> final_event, CompletionToken&& token)
{
    error_code invalid;
    event_buffer bytes;
    if (final_event)
        bytes = make_event_buffer(*final_event, invalid);
    return async_queue(std::move(bytes), invalid, true, std::forward<CompletionToken>(token));
}

// Queues `bytes` (none for a close without a final event) behind what is queued
// and completes once they are written; `closes` ends the stream after them. An
// event that failed validation completes at once with `invalid`.
template<class Socket>
template<class CompletionToken>
auto stream<Socket>::async_queue(event_buffer bytes, error_code invalid, bool closes, CompletionToken&& token)
{
    return net::async_compose<CompletionToken, void(error_code)>(
        [self = this->shared_from_this(), bytes = std::move(bytes), invalid, closes, started = false](
            auto& op, error_code ec = {}) mutable {
            if (started) {
                // The stream is let go before the upcall, so that the handler's
                // thread does not end its life after the caller moved on.
                self.reset();
                return op.complete(ec);
            }
            started = true;
            // Moving `op` moves this lambda too: take what is needed first.
            auto owner = self;
            auto b = std::move(bytes);
            auto const bad = invalid;
            std::uint32_t const id = owner->waiter_ids_.fetch_add(1, std::memory_order_relaxed);
#if SSE_NET_HAS_CANCELLATION
            // async_compose lets only terminal cancellation through to this slot.
            // The slot is set up here, on the initiating thread, as Asio's own
            // operations do; the request then queues behind the waiter on the strand.
            auto slot = net::get_associated_cancellation_slot(op);
            if (slot.is_connected() && !bad) {
                slot.assign([weak = std::weak_ptr<stream>(owner), id](net::cancellation_type_t type) {
                    if ((type & net::cancellation_type::terminal) == net::cancellation_type::none)
                        return;
                    if (auto s = weak.lock())
                        s->post_serial(s->make_task(&stream::cancel_step, {}, {}, id));
                });
            }
#endif
            auto const alloc = net::get_associated_allocator(op);
            auto w = detail::op_waiter<std::decay_t<decltype(op)>>::make(std::move(op), closes, id);
            if (bad)
                return w.release()->complete(bad);
            auto* const target = owner.get();
            auto add = sse::detail::with_allocator(alloc, [owner = std::move(owner), w = std::move(w), b = std::move(b)]() mutable {
                owner->add_waiter(std::move(w), std::move(b));
            });
            if (target->strand_)
                net::dispatch(*target->strand_, std::move(add));
            else
                net::dispatch(target->socket_.get_executor(), std::move(add));
        },
        token, get_executor());
}

template<class Socket>
void stream<Socket>::close()
{
    dispatch_serial(make_task(&stream::close_step));
}

// Everything below runs on the strand.

template<class Socket>
void stream<Socket>::do_start(event_buffer head)
{
    if (started_ || closed_)
        return;
    started_ = true;
    queued_bytes_ += head->size();
    queue_.insert(queue_.begin(), std::move(head));   // a waiter book counted it already
    last_activity_ = clock_type::now();
    if constexpr (plain_socket) {
        // Writes are tried at once and must not block (see do_write).
        detail::net_error_code ec;
        socket_.non_blocking(true, ec);
        if (ec)
            return finish(ec);
    }
    start_read();
    do_write();
}

template<class Socket>
void stream<Socket>::enqueue(event_buffer buffer)
{
    if (closed_)
        return;
    queued_bytes_ += buffer->size();
    count_queued(1);
    queue_.push_back(std::move(buffer));
    if (queued_bytes_ > options_->max_queue_bytes)
        return finish(error::send_queue_full);
    do_write();
}

template<class Socket>
void stream<Socket>::add_waiter(detail::waiter_ptr w, event_buffer buffer)
{
    // Runs outside run_step(), and leaves a waiter book: the writes stay here.
    if constexpr (plain_socket) {
        if (writes_lent_.load(std::memory_order_acquire))
            hooks_->take_writes_back();
    }
    if (closed_) {
        error_code const ec = reason_ && !w->is_close() ? reason_ : error_code(error::stream_closed);
        return w.release()->complete(ec);
    }
    if (closing_ && !w->is_close())
        return w.release()->complete(error::stream_closed);
    if (!book_) {
        book_ = std::make_unique<detail::waiter_book>();
        // Count what is queued already, and the head before start(): it is
        // inserted in front of the buffers queued before it.
        book_->queued = queue_.size() + (started_ ? 0 : 1);
    }
    if (buffer) {
        queued_bytes_ += buffer->size();
        ++book_->queued;
        queue_.push_back(std::move(buffer));
    }
    // A send completes once every buffer up to its own is written; a close
    // completes when the stream ends.
    w->set_seq(book_->queued);
    bool const close = w->is_close();
    book_->waiters.push_back(std::move(w));
    if (close) {
        closing_ = true;
        if (!started_)
            return finish({});
    }
    else if (queued_bytes_ > options_->max_queue_bytes) {
        return finish(error::send_queue_full);
    }
    do_write();
}

// A terminal cancellation: the waiter leaves the list and completes now. Its
// bytes stay queued: the buffers before and after it were queued in an order
// the client must see, and part of them may be on the wire already.
template<class Socket>
void stream<Socket>::cancel_waiter(std::uint32_t id)
{
    if (!book_)
        return;   // completed meanwhile
    auto& waiters = book_->waiters;
    auto const it = std::find_if(waiters.begin(), waiters.end(), [id](auto const& w) { return w->id() == id; });
    if (it == waiters.end())
        return;   // completed meanwhile
    detail::waiter* const w = it->release();
    waiters.erase(it);
    if (waiters.empty())
        book_.reset();
    w->complete(sse::net_error(net::error::operation_aborted));
}

template<class Socket>
void stream<Socket>::do_write()
{
    // A plain socket is written to at once: an idle connection takes a small
    // event whole, with no operation to allocate and no completion to run. Once
    // the kernel takes less than offered, its buffer is full: the rest waits
    // for the socket to become writable.
    bool try_now = plain_socket;
    for (;;) {
        if (closed_ || writing_ || !started_)
            return;
        if (queue_.empty() && source_ == source_state::pulls && !closing_) {
            pull();
            if (closed_)
                return;
        }
        if (queue_.empty()) {
            if (closing_)
                return finish_gracefully();
            // An idle stream holds no queue storage: servers hold idle streams by the
            // thousand, and at low rates one allocation per event is cheap next to its write.
            if (queue_.capacity() != 0)
                std::vector<event_buffer>().swap(queue_);
            return schedule_idle();
        }
        // Gather: at least one buffer, then as many as fit the bounds.
        std::size_t const max_bytes = options_->max_write_bytes;
        std::size_t const max_buffers = std::max<std::size_t>(1, options_->max_write_buffers);
        std::size_t count = 1;
        std::size_t bytes = queue_[0]->size() - offset_;
        while (count < queue_.size() && count < max_buffers && bytes + queue_[count]->size() <= max_bytes)
            bytes += queue_[count++]->size();
        if constexpr (plain_socket) {
            if (try_now) {
                detail::net_error_code ec;
                std::size_t const n =
                    count == 1 ? detail::send_now(socket_, queue_[0]->data() + offset_, bytes, ec)
                               : socket_.write_some(detail::gather_view(queue_, count, offset_), ec);
                if (ec != net::error::would_block && ec != net::error::try_again) {
                    if (!written(ec, n))
                        return;
                    try_now = n == bytes;
                    continue;
                }
            }
        }
        writing_ = true;
        auto const now = clock_type::now();
        last_activity_ = now;
        if (options_->write_timeout.count() > 0)
            schedule(now + options_->write_timeout);
        if constexpr (plain_socket) {
            // Completes on the socket's executor; then() moves on to the strand if needed.
            socket_.async_write_some(detail::gather_view(queue_, count, offset_),
                [self = this->shared_from_this()](error_code ec, std::size_t n) {
                    self->then(&stream::write_step, ec, n);
                });
        } else {
            // A layered stream runs its intermediate steps on the handler's executor.
            socket_.async_write_some(detail::gather_view(queue_, count, offset_),
                net::bind_executor(get_executor(), [self = this->shared_from_this()](error_code ec, std::size_t n) {
                    self->on_write(ec, n);
                }));
        }
        return;
    }
}

template<class Socket>
void stream<Socket>::on_write(error_code ec, std::size_t bytes)
{
    writing_ = false;
    if (closed_)
        return;
    if (written(ec, bytes))
        do_write();
}

// Accounts for a write's outcome; false once the stream has ended.
template<class Socket>
bool stream<Socket>::written(error_code ec, std::size_t bytes)
{
    if (ec) {
        finish(detail::is_disconnect(ec) ? error_code(error::peer_closed) : ec);
        return false;
    }
    // Drop the buffers written completely; a partial one keeps its offset.
    std::size_t done = 0;
    while (done < queue_.size()) {
        std::size_t const rest = queue_[done]->size() - offset_;
        if (bytes < rest) {
            offset_ += bytes;
            break;
        }
        bytes -= rest;
        offset_ = 0;
        queued_bytes_ -= queue_[done]->size();
        ++done;
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(done));
    last_activity_ = clock_type::now();
    if (book_ && done != 0) {
        book_->written += done;
        complete_waiters(false);
    }
    return !closed_;
}

template<class Socket>
void stream<Socket>::pull()
{
    std::size_t const before = queue_.size();
    pull_result const r = hooks_->pull(queue_, options_->max_write_bytes);
    for (std::size_t i = before; i < queue_.size(); ++i)
        queued_bytes_ += queue_[i]->size();
    count_queued(queue_.size() - before);
    next_due_ = r.next_due.value_or(time_point{});
    source_ = r.drained ? source_state::drained : source_state::pulls;
    if (r.closed) {
        source_ = source_state::none;
        next_due_ = {};
        closing_ = true;
        reason_ = error::source_closed;
    }
}

template<class Socket>
void stream<Socket>::start_read()
{
    // Nothing is expected from an event-stream client; watching for input
    // notices when it goes away without writing to it. This operation is pending
    // for the whole life of an idle connection, so its size is the stream's
    // size: it allocates at its exact size (see detail::exact_allocator).
    if constexpr (plain_socket) {
        // A readiness wait needs no buffer, and its completion comes on the
        // socket's executor: then() moves on to the strand if needed (binding it
        // would add two executor copies to the pending operation).
        socket_.async_wait(net::socket_base::wait_read,
            sse::detail::with_allocator(detail::exact_allocator<void>(), [self = this->shared_from_this()](error_code ec) {
                self->then(&stream::peer_step, ec, 0);
            }));
    } else {
        // A layered stream (TLS) runs the read's intermediate steps on the
        // handler's executor, next to the writes.
        socket_.async_read_some(net::buffer(read_buffer_),
            net::bind_executor(get_executor(), [self = this->shared_from_this()](error_code ec, std::size_t) {
                self->on_read(ec);
            }));
    }
}

// The peer's side is readable: it sent bytes (an event-stream client has
// nothing to say: they are dropped) or it went away.
template<class Socket>
void stream<Socket>::peer_step(event_buffer, error_code ec, std::size_t)
{
    if (closed_)
        return;
    if constexpr (plain_socket) {
        if (!ec) {
            char ignored[256];
            detail::net_error_code rec;
            socket_.read_some(net::buffer(ignored), rec);
            if (rec != net::error::would_block && rec != net::error::try_again)
                ec = rec;
        }
    }
    on_read(ec);
}

template<class Socket>
void stream<Socket>::on_read(error_code ec)
{
    if (closed_)
        return;
    if (ec)
        return finish(ec == sse::net_error(net::error::operation_aborted) || !detail::is_disconnect(ec) ? ec
                                                                                         : error_code(error::peer_closed));
    start_read();
}

template<class Socket>
void stream<Socket>::schedule(time_point t)
{
    // One deadline serves the write timeout (while writing), the heartbeat and the
    // source's next_due (while idle), and end_by_. A deadline reached too early re-arms it.
    if (end_by_ != time_point{} && end_by_ < t)
        t = end_by_;
    time_point const held = held_deadline();
    if (held != time_point{} && t >= held)
        return;
    service_->schedule(*this, t);
}

template<class Socket>
void stream<Socket>::schedule_idle()
{
    time_point t = next_due_;   // zero: none
    if (options_->heartbeat_interval.count() > 0) {
        time_point const beat = detail::heartbeat_due(last_activity_, options_->heartbeat_interval);
        if (t == time_point{} || beat < t)
            t = beat;
    }
    // schedule() brings any deadline forward to end_by_; alone, end_by_ is the deadline.
    if (t == time_point{})
        t = end_by_;
    if (t != time_point{})
        schedule(t);
}

template<class Socket>
void stream<Socket>::timer_step(event_buffer, error_code, std::size_t)
{
    if (closed_)
        return;
    // A deadline set again after the service took the previous one is still to come.
    if (service_->scheduled(*this))
        return;
    forget_deadline();
    auto const now = clock_type::now();
    if (end_by_ != time_point{} && now >= end_by_)
        return finish(error::stream_closed);
    if (writing_) {
        if (options_->write_timeout.count() <= 0) {
            if (end_by_ != time_point{})
                schedule(end_by_);
            return;
        }
        time_point const deadline = last_activity_ + options_->write_timeout;
        if (now >= deadline)
            return finish(error::write_timeout);
        return schedule(deadline);
    }
    if (next_due_ != time_point{} && now >= next_due_) {
        next_due_ = {};
        do_write();
        if (closed_ || writing_)
            return;
    }
    auto const beat = options_->heartbeat_interval;
    if (beat.count() > 0 && now >= last_activity_ + beat && queue_.empty() && !closing_) {
        event_buffer b = options_->make_heartbeat ? options_->make_heartbeat() : heartbeat_buffer();
        if (b) {
            queued_bytes_ += b->size();
            count_queued(1);
            queue_.push_back(std::move(b));
        }
        else {
            last_activity_ = now;
        }
    }
    do_write();
}

template<class Socket>
event_buffer stream<Socket>::heartbeat_buffer() const
{
    if (options_->heartbeat == heartbeat_kind::event)
        return detail::event_heartbeat(options_->heartbeat_event);
    return detail::comment_heartbeat();
}

template<class Socket>
void stream<Socket>::finish_gracefully()
{
    sse::detail::net_error_code ignored;
    detail::lowest_layer_of(socket_).shutdown(net::socket_base::shutdown_send, ignored);
    finish(reason_);
}

template<class Socket>
void stream<Socket>::finish(error_code reason)
{
    if (closed_)
        return;
    closed_ = true;
    reason_ = reason;
    service_->unschedule(*this);
    forget_deadline();
    sse::detail::net_error_code ignored;
    detail::lowest_layer_of(socket_).close(ignored);
    // Release every buffer and the source at once: a closed stream costs nothing
    // but its object until the last handler lets go of it.
    std::vector<event_buffer>().swap(queue_);
    queued_bytes_ = 0;
    offset_ = 0;
    source_ = source_state::none;
    complete_waiters(true);
    if (!hooks_)
        return;
    if (!hooks_->from_functions())
        return hooks_->stream_closed(reason_);
    // The functions are released now: they may hold the stream (a cycle otherwise).
    auto hooks = std::move(hooks_);
    hooks_ = std::move(static_cast<detail::function_hooks&>(*hooks).replaced);
    hooks->stream_closed(reason_);
}

template<class Socket>
void stream<Socket>::complete_waiters(bool all)
{
    if (!book_)
        return;
    // Waiters are in queue order, so the finished ones form a prefix.
    auto& waiters = book_->waiters;
    std::size_t n = 0;
    for (; n < waiters.size(); ++n) {
        auto& w = waiters[n];
        if (w->is_close()) {
            if (!all)
                break;
            w.release()->complete(reason_);
        }
        else if (w->seq() <= book_->written) {
            w.release()->complete({});
        }
        else if (all) {
            w.release()->complete(reason_ ? reason_ : error_code(error::stream_closed));
        }
        else {
            break;
        }
    }
    waiters.erase(waiters.begin(), waiters.begin() + static_cast<std::ptrdiff_t>(n));
    if (waiters.empty())
        book_.reset();
}

template<class Socket>
void stream<Socket>::count_queued(std::size_t n) noexcept
{
    if (book_)
        book_->queued += n;
}

SSE_NAMESPACE_END

#endif
