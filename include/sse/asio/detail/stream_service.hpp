// sse/asio/detail/stream_service.hpp - what the streams of one execution context share:
// batched wakes and one timer.
#ifndef SSE_ASIO_DETAIL_STREAM_SERVICE_HPP
#define SSE_ASIO_DETAIL_STREAM_SERVICE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>

#include <sse/asio/net.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

class stream_service;

/// The stream's side of a stream_service: what it calls back, on a thread of the context.
class stream_client
{
public:
    using time_point = std::chrono::steady_clock::time_point;

    /// After stream_service::wake().
    virtual void woken() noexcept = 0;

    /// When the deadline set with stream_service::schedule() has come.
    virtual void deadline_reached() noexcept = 0;

    /// The client, kept alive while it is called back; null once it is being destroyed.
    virtual std::shared_ptr<stream_client> keep_alive() noexcept = 0;

protected:
    /** The deadline the service holds for this client; zero: none. Only the
        client's own thread writes it (through stream_service::schedule(), and
        forget_deadline() once the service no longer holds it), so the client
        reads it without the service's lock.
    */
    time_point held_deadline() const noexcept { return deadline_; }
    /// Call only when the service does not hold the client (after it called back, or after unschedule()).
    void forget_deadline() noexcept { deadline_ = {}; }

    stream_client() = default;
    stream_client(stream_client const&) = delete;
    stream_client& operator=(stream_client const&) = delete;
    ~stream_client() = default;

private:
    friend class stream_service;
    static constexpr std::size_t unscheduled = static_cast<std::size_t>(-1);
    time_point deadline_{};
    std::size_t heap_index_ = unscheduled;   // in the service's heap; guarded by its mutex
};

/** One per execution context, shared by its streams (any thread may call it).

    Wakes: a publish wakes every subscriber's stream from the publisher's thread.
    A handler posted per stream costs an allocation, the scheduler's lock and,
    when the context's thread sleeps, a wake-up of that thread each. Here the first
    wake of a batch posts one handler, later ones join its list until it runs, and
    it runs them all: one post and one wake-up per publish, however many streams.

    Deadlines: each stream needs one deadline at a time (write timeout, heartbeat,
    a throttled event's due time). A timer per stream costs the timer (120 bytes)
    and its pending wait (about 150) for every idle connection. Here the streams'
    deadlines live in one min-heap (two words per stream) under one timer, armed
    at the earliest. Deadlines are far apart in practice: heartbeats every 15 s, a
    write timeout only when a write waits, so the heap changes rarely.

    Streams call back through stream_client. A stream unschedules itself when it
    ends or is destroyed; the service never owns one, so the heap holds plain
    pointers and the service takes a strong reference (keep_alive()) only for the
    time of a call.
*/
class stream_service final : public net::execution_context::service
{
public:
    using key_type = stream_service;
    using time_point = stream_client::time_point;
    inline static net::execution_context::id id;

    explicit stream_service(net::execution_context& context) : net::execution_context::service(context) {}

    /** Where wakes and deadlines run: the first executor given. It must be the
        context's own (not a strand) and must not count as outstanding work.
    */
    void use_executor(net::any_io_executor const& ex)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (executor_ || shut_down_)
            return;
        executor_ = ex;
        timer_ = std::make_unique<net::steady_timer>(ex);
    }

    /// Calls `c.woken()` soon, with other wakes. Throws std::bad_alloc, having queued nothing.
    void wake(std::shared_ptr<stream_client> c)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        wakes_.push_back(std::move(c));
        if (wake_posted_)
            return;
#if SSE_HAS_EXCEPTIONS
        try {
#endif
            net::post(executor_, [this] { run_wakes(); });
#if SSE_HAS_EXCEPTIONS
        } catch (...) {
            wakes_.pop_back();
            throw;
        }
#endif
        wake_posted_ = true;
    }

    /** Calls `c.deadline_reached()` at `t` (or a little later), replacing its
        previous deadline. Throws std::bad_alloc, having changed nothing.
    */
    void schedule(stream_client& c, time_point t)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_)
            return;
        if (c.heap_index_ == stream_client::unscheduled) {
            heap_.push_back(&c);   // may throw: nothing changed yet
            c.heap_index_ = heap_.size() - 1;
            c.deadline_ = t;
            sift_up(c.heap_index_);
        } else {
            time_point const before = c.deadline_;
            c.deadline_ = t;
            if (t < before)
                sift_up(c.heap_index_);
            else
                sift_down(c.heap_index_);
        }
        arm_locked();
    }

    /// Forgets `c`'s deadline, if any.
    void unschedule(stream_client& c) noexcept
    {
        std::lock_guard<std::mutex> lock(mutex_);
        remove_locked(c);
        // An armed timer counts as work: with nothing left to wait for, it must
        // not keep io_context::run() from returning. Otherwise it may now fire
        // early: it then finds nothing due and re-arms.
        if (heap_.empty() && timer_waiting_) {
            timer_waiting_ = false;
            ++timer_generation_;
            timer_->cancel();
        }
    }

    /// True while `c` has a deadline that has not been reached.
    bool scheduled(stream_client const& c) noexcept
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return c.heap_index_ != stream_client::unscheduled;
    }

    /// How many times the timer was set (each is a system call on most reactors).
    std::uint64_t timer_arms() noexcept
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return timer_arms_;
    }

private:
    void shutdown() override
    {
        // Handlers still posted are destroyed by the context without running: the
        // streams they would wake go with them. The timer goes now, while its
        // service still exists.
        std::unique_ptr<net::steady_timer> timer;
        std::vector<std::shared_ptr<stream_client>> wakes;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            shut_down_ = true;
            timer_waiting_ = false;
            wakes.swap(wakes_);
            timer.swap(timer_);
            for (stream_client* c : heap_)
                c->heap_index_ = stream_client::unscheduled;
            std::vector<stream_client*>().swap(heap_);
            executor_ = net::any_io_executor();
        }
    }

    void run_wakes() noexcept
    {
        std::vector<std::shared_ptr<stream_client>> batch;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            batch.swap(wakes_);
            wake_posted_ = false;
        }
        for (auto& c : batch)
            c->woken();
        batch.clear();
        // Keep the larger list for the next batch, so that a steady rate allocates nothing.
        std::lock_guard<std::mutex> lock(mutex_);
        if (wakes_.empty() && wakes_.capacity() < batch.capacity())
            wakes_.swap(batch);
    }

    // Arms the timer at the earliest deadline, unless it already waits for that or
    // earlier, or on_timer() is calling streams back and arms it once they are done.
    void arm_locked()
    {
        if (calling_back_ || heap_.empty() || !timer_ || (timer_waiting_ && armed_at_ <= heap_[0]->deadline_))
            return;
        ++timer_arms_;
        armed_at_ = heap_[0]->deadline_;
        timer_waiting_ = true;
        std::uint64_t const generation = ++timer_generation_;
        timer_->expires_at(armed_at_);   // a wait pending for a later time completes as aborted
        timer_->async_wait([this, generation](error_code) { on_timer(generation); });
    }

    void on_timer(std::uint64_t generation) noexcept
    {
        // Called back without the lock: each callback sets its stream's next deadline.
        std::vector<std::shared_ptr<stream_client>> due;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (generation != timer_generation_ || shut_down_)
                return;   // a later arm replaced this wait
            timer_waiting_ = false;
            auto const now = std::chrono::steady_clock::now();
            while (!heap_.empty() && heap_[0]->deadline_ <= now) {
                stream_client& c = *heap_[0];
                remove_locked(c);
                if (auto kept = c.keep_alive()) {
#if SSE_HAS_EXCEPTIONS
                    try {
#endif
                        due.push_back(std::move(kept));
#if SSE_HAS_EXCEPTIONS
                    } catch (...) {
                        // Out of memory: the stream's next write or wake reschedules it.
                    }
#endif
                }
            }
            if (due.empty())
                return arm_locked_nothrow();
            // Streams that come due together (their heartbeats, in the second they
            // connected in) each set their next deadline from their callback, in no
            // useful order: arming the timer for each earlier one cost a system call
            // per stream. Meanwhile their deadlines only go into the heap, and the
            // timer is armed once, after the last callback.
            calling_back_ = true;
        }
        for (auto& c : due)
            c->deadline_reached();
        due.clear();   // may destroy streams: not under the lock
        std::lock_guard<std::mutex> lock(mutex_);
        calling_back_ = false;
        arm_locked_nothrow();
    }

    // arm_locked(), for where an exception cannot go: out of memory, the next
    // schedule() arms the timer.
    void arm_locked_nothrow() noexcept
    {
#if SSE_HAS_EXCEPTIONS
        try {
#endif
            arm_locked();
#if SSE_HAS_EXCEPTIONS
        } catch (...) {
            timer_waiting_ = false;
        }
#endif
    }

    void remove_locked(stream_client& c) noexcept
    {
        std::size_t const i = c.heap_index_;
        if (i == stream_client::unscheduled)
            return;
        c.heap_index_ = stream_client::unscheduled;
        stream_client* const last = heap_.back();
        heap_.pop_back();
        if (i == heap_.size())
            return;
        heap_[i] = last;
        last->heap_index_ = i;
        sift_up(i);
        sift_down(last->heap_index_);
    }

    void sift_up(std::size_t i) noexcept
    {
        while (i > 0) {
            std::size_t const parent = (i - 1) / 2;
            if (!(heap_[i]->deadline_ < heap_[parent]->deadline_))
                break;
            swap_entries(i, parent);
            i = parent;
        }
    }

    void sift_down(std::size_t i) noexcept
    {
        for (;;) {
            std::size_t smallest = i;
            std::size_t const left = 2 * i + 1;
            std::size_t const right = left + 1;
            if (left < heap_.size() && heap_[left]->deadline_ < heap_[smallest]->deadline_)
                smallest = left;
            if (right < heap_.size() && heap_[right]->deadline_ < heap_[smallest]->deadline_)
                smallest = right;
            if (smallest == i)
                return;
            swap_entries(i, smallest);
            i = smallest;
        }
    }

    void swap_entries(std::size_t a, std::size_t b) noexcept
    {
        std::swap(heap_[a], heap_[b]);
        heap_[a]->heap_index_ = a;
        heap_[b]->heap_index_ = b;
    }

    std::mutex mutex_;
    net::any_io_executor executor_;
    std::unique_ptr<net::steady_timer> timer_;
    std::vector<std::shared_ptr<stream_client>> wakes_;
    std::vector<stream_client*> heap_;
    time_point armed_at_{};
    std::uint64_t timer_generation_ = 0;
    std::uint64_t timer_arms_ = 0;
    bool wake_posted_ = false;
    bool calling_back_ = false;   // on_timer() is calling the due streams back
    bool timer_waiting_ = false;
    bool shut_down_ = false;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
