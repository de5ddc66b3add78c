// sse/asio/detail/wake_queue.hpp - one handler per batch of stream wakes, per io_context.
#ifndef SSE_ASIO_DETAIL_WAKE_QUEUE_HPP
#define SSE_ASIO_DETAIL_WAKE_QUEUE_HPP

#include <sse/config.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/execution_context.hpp>
#include <asio/post.hpp>

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

/// What a wake_queue wakes: a stream, on a thread that runs its io_context.
class wakeable
{
public:
    virtual void woken() noexcept = 0;

protected:
    ~wakeable() = default;
};

/** The wakes of an execution context's streams, run together.

    A publish wakes every subscriber's stream, from the publisher's thread. A
    handler posted per stream costs an allocation, the scheduler's lock and,
    when the io_context's thread sleeps, a wake-up of that thread each. Here the
    first wake of a batch posts one handler, later ones join its list until it
    runs, and it runs them all: one post and one wake-up per publish, however
    many streams.
*/
class wake_queue final : public asio::execution_context::service
{
public:
    using key_type = wake_queue;
    inline static asio::execution_context::id id;

    explicit wake_queue(asio::execution_context& context) : asio::execution_context::service(context) {}

    /** Where the batches run: the first executor given (each stream gives its
        socket's, which must not count as outstanding work). Any thread.
    */
    void use_executor(asio::any_io_executor const& ex)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!executor_)
            executor_ = ex;
    }

    /// Any thread. Throws std::bad_alloc, having queued nothing.
    void push(std::shared_ptr<wakeable> w)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_.push_back(std::move(w));
        if (posted_)
            return;
#if SSE_HAS_EXCEPTIONS
        try {
#endif
            asio::post(executor_, [this] { run(); });
#if SSE_HAS_EXCEPTIONS
        } catch (...) {
            pending_.pop_back();
            throw;
        }
#endif
        posted_ = true;
    }

private:
    void run() noexcept
    {
        std::vector<std::shared_ptr<wakeable>> batch;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            batch.swap(pending_);
            posted_ = false;
        }
        for (auto& w : batch)
            w->woken();
        batch.clear();
        // Keep the larger list for the next batch, so that a steady rate allocates nothing.
        std::lock_guard<std::mutex> lock(mutex_);
        if (pending_.empty() && pending_.capacity() < batch.capacity())
            pending_.swap(batch);
    }

    void shutdown() override
    {
        // Handlers still posted are destroyed by the io_context without running:
        // let the streams go with them.
        std::lock_guard<std::mutex> lock(mutex_);
        std::vector<std::shared_ptr<wakeable>>().swap(pending_);
        executor_ = asio::any_io_executor();
    }

    std::mutex mutex_;
    asio::any_io_executor executor_;
    std::vector<std::shared_ptr<wakeable>> pending_;
    bool posted_ = false;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
