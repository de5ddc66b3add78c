// sse/asio/detail/next_queue.hpp - the machinery of event_source::async_next.
//
// The source hands every dispatched event to push(), on its strand. While the
// source is read with async_next, events wait here in order until a call takes
// them; a full queue makes the source stop reading its socket (hold()), so a
// slow reader slows the server down through TCP instead of losing events.
// Everything but the mixing guard runs on the source's strand.
#ifndef SSE_ASIO_DETAIL_NEXT_QUEUE_HPP
#define SSE_ASIO_DETAIL_NEXT_QUEUE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>
#include <sse/source_options.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

/// A pending async_next, its handler's type erased; it frees itself before the upcall.
class next_waiter
{
public:
    explicit next_waiter(std::uint64_t id) noexcept : id_(id) {}
    std::uint64_t id() const noexcept { return id_; }

    /// Posts the completion to the handler's executor and frees this waiter.
    virtual void complete(error_code ec, event ev) = 0;

    /// Frees this waiter without completing it (its queue or a posted step is destroyed).
    virtual void destroy() noexcept = 0;

    struct deleter
    {
        void operator()(next_waiter* w) const noexcept { w->destroy(); }
    };

protected:
    ~next_waiter() = default;

private:
    std::uint64_t id_;
};

using next_waiter_ptr = std::unique_ptr<next_waiter, next_waiter::deleter>;

class next_queue
{
public:
    using state_handler = std::function<void(source_state, error_code)>;

    explicit next_queue(std::size_t max_queued) : max_(std::max<std::size_t>(max_queued, 1)) {}

    next_queue(next_queue const&) = delete;
    next_queue& operator=(next_queue const&) = delete;

    // ---- the mixing rule, from any thread ----

    /// An event handler is being added: throws std::logic_error if async_next was called.
    void claim_handlers()
    {
        if (claim(reader::handlers) != reader::handlers)
            SSE_THROW(std::logic_error("sse::event_source: this source is read with async_next, so it takes no "
                                       "event handler (on_event, on); async_next and event handlers do not mix"));
    }

    /// async_next is being called: throws std::logic_error if the source has (or had) an event handler.
    void claim_next()
    {
        if (claim(reader::next) != reader::next)
            SSE_THROW(std::logic_error("sse::event_source::async_next: this source has event handlers (on_event, "
                                       "on), so it cannot be read with async_next; async_next and event handlers "
                                       "do not mix"));
    }

    // ---- hooks for the source, on its strand ----

    /// An event was dispatched: queued once async_next was called, else ignored.
    void push(event_view const& ev)
    {
        if (kind_.load(std::memory_order_acquire) != reader::next)
            return;
        event e;
        e.type.assign(ev.type);
        e.data.emplace(ev.data);
        e.id.emplace(ev.last_event_id);
        events_.push_back(std::move(e));
        serve();
    }

    /** The source has ended for good because of `why` (empty after close() or
        the source's destruction): the calls get the queued events, then `why`,
        or operation_aborted when it is empty.
    */
    void end(error_code why)
    {
        if (ended_)
            return;
        ended_ = true;
        end_reason_ = why ? why : sse::net_error(net::error::operation_aborted);
        holds_.clear();
        serve();
    }

    /** True, keeping `resume` to run later, while the queue is full: the
        caller then stops reading until a call takes an event.
    */
    bool hold(std::function<void()> resume)
    {
        if (kind_.load(std::memory_order_acquire) != reader::next || events_.size() < max_ || ended_)
            return false;
        holds_.push_back(std::move(resume));
        return true;
    }

    /// True while a reader is held: its silence is ours, not the server's.
    bool holding() const noexcept { return !holds_.empty(); }

    // ---- async_next's steps ----

    std::uint64_t new_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    /// A call, on the strand: served at once if an event or the end is there, else kept.
    void wait(next_waiter_ptr w)
    {
        if (waiter_) {
            w.release()->complete(sse::net_error(net::error::already_started), {});
            return;
        }
        waiter_ = std::move(w);
        serve();
        if (events_.size() < max_ && !holds_.empty()) {
            // Resumed only here, never from push(): the reader being resumed may be the caller of push().
            auto resume = std::move(holds_);
            holds_.clear();
            for (auto& r : resume)
                r();
        }
    }

    /// A terminal cancellation of call `id`, from the thread that emitted it.
    void request_cancel(std::uint64_t id) noexcept { cancelled_.store(id, std::memory_order_release); }

    bool cancel_requested(std::uint64_t id) const noexcept
    {
        return cancelled_.load(std::memory_order_acquire) == id;
    }

    /// Completes call `id` with operation_aborted if it still waits (on the strand).
    void cancel(std::uint64_t id)
    {
        if (waiter_ && waiter_->id() == id)
            waiter_.release()->complete(sse::net_error(net::error::operation_aborted), {});
    }

    /// Puts back an event taken by a call that was cancelled before its handler ran.
    void requeue(event e)
    {
        events_.push_front(std::move(e));
        serve();
    }

private:
    enum class reader : int { none, handlers, next };

    reader claim(reader want) noexcept
    {
        reader expected = reader::none;
        if (kind_.compare_exchange_strong(expected, want, std::memory_order_acq_rel))
            return want;
        return expected;
    }

    void serve()
    {
        if (!waiter_)
            return;
        if (cancel_requested(waiter_->id())) {
            // The cancellation is on its way here: the event stays for the next call.
            waiter_.release()->complete(sse::net_error(net::error::operation_aborted), {});
        } else if (!events_.empty()) {
            event e = std::move(events_.front());
            events_.pop_front();
            waiter_.release()->complete({}, std::move(e));
        } else if (ended_) {
            waiter_.release()->complete(end_reason_, {});
        }
    }

    std::size_t const max_;
    std::atomic<reader> kind_{reader::none};
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::uint64_t> cancelled_{0};
    std::deque<event> events_;
    next_waiter_ptr waiter_;
    std::vector<std::function<void()>> holds_;
    error_code end_reason_;
    bool ended_ = false;
};

/// A waiter holding the composed operation `Op`, in memory from the handler's allocator.
template<class Op>
class next_waiter_of final : public next_waiter
{
    using allocator = typename std::allocator_traits<net::associated_allocator_t<Op>>::template rebind_alloc<
        next_waiter_of>;
    using traits = std::allocator_traits<allocator>;

public:
    next_waiter_of(Op&& op, std::uint64_t id) : next_waiter(id), op_(std::move(op)) {}

    static next_waiter_ptr make(Op&& op, std::uint64_t id)
    {
        allocator a(net::get_associated_allocator(op));
        next_waiter_of* const p = traits::allocate(a, 1);
        traits::construct(a, p, std::move(op), id);   // moves a handler: does not throw
        return next_waiter_ptr(p);
    }

    void complete(error_code ec, event ev) override
    {
        // Freed before the upcall, as Asio asks of memory from the handler's allocator.
        Op op(std::move(op_));
        free(allocator(net::get_associated_allocator(op)));
        auto const ex = net::get_associated_executor(op);
        net::post(ex, [op = std::move(op), ec, ev = std::move(ev)]() mutable { op(ec, std::move(ev)); });
    }

    void destroy() noexcept override { free(allocator(net::get_associated_allocator(op_))); }

private:
    void free(allocator a) noexcept
    {
        traits::destroy(a, this);
        traits::deallocate(a, this, 1);
    }

    Op op_;
};

/** async_next as an asio::async_compose implementation.

    The waiter kept in the queue holds only a weak reference to the source: the
    source owns the queue, and a strong one would keep a destroyed source alive.
    The steps posted to the strand hold a strong one while they are queued.
*/
template<class Strand>
struct next_op
{
    next_queue* queue;
    Strand strand;
    std::weak_ptr<void> source;
    std::uint64_t id = 0;

    template<class Self>
    void operator()(Self& self)
    {
        std::shared_ptr<void> keep = source.lock();
        if (!keep) {
            // A deferred call started after the source was destroyed.
            auto const ex = net::get_associated_executor(self);
            net::post(ex, [op = std::move(self)]() mutable {
                op(sse::net_error(net::error::operation_aborted), event{});
            });
            return;
        }
        id = queue->new_id();
#if SSE_NET_HAS_CANCELLATION
        auto slot = self.get_cancellation_state().slot();
        if (slot.is_connected()) {
            // Only terminal cancellation gets here: async_compose's default filter.
            slot.assign([q = queue, s = strand, w = source, n = id](net::cancellation_type type) {
                auto k = w.lock();
                if (!k || (type & net::cancellation_type::terminal) == net::cancellation_type::none)
                    return;
                q->request_cancel(n);
                net::post(s, [q, k = std::move(k), n] { q->cancel(n); });
            });
        }
#endif
        auto* const q = queue;
        auto const s = strand;
        auto w = next_waiter_of<Self>::make(std::move(self), id);
        net::post(s, [q, k = std::move(keep), w = std::move(w)]() mutable { q->wait(std::move(w)); });
    }

    template<class Self>
    void operator()(Self& self, error_code ec, event ev)
    {
        auto const keep = source.lock();
        if (!ec && keep && queue->cancel_requested(id)) {
            // Cancelled after the event was taken but before this handler ran
            // (the other side of `||` won): the event goes back, first in line.
            net::post(strand, [q = queue, k = keep, e = std::move(ev)]() mutable { q->requeue(std::move(e)); });
            ec = sse::net_error(net::error::operation_aborted);
            ev = event{};
        }
        self.complete(ec, std::move(ev));
    }
};

/// Starts async_next on `queue`, run on `strand`; `source` owns the queue.
template<class Strand, class CompletionToken>
auto async_next(next_queue& queue, Strand const& strand, std::shared_ptr<void> const& source,
                CompletionToken&& token)
{
    queue.claim_next();
    return net::async_compose<CompletionToken, void(error_code, event)>(
        next_op<Strand>{&queue, strand, source}, token, strand);
}

} // namespace detail
SSE_NAMESPACE_END

#endif
