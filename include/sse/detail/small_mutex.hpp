// sse/detail/small_mutex.hpp - a mutex in four bytes, for what a server holds one of per connection.
#ifndef SSE_DETAIL_SMALL_MUTEX_HPP
#define SSE_DETAIL_SMALL_MUTEX_HPP

#include <sse/config.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

SSE_NAMESPACE_BEGIN
namespace detail {

/** A non-recursive mutex (Lockable, for `std::lock_guard`) in one 32-bit word.

    `std::mutex` takes 40 bytes on Linux, and a hub keeps one subscriber, with its
    lock, per connection. That lock is held for a push or a pull: a few hundred
    nanoseconds, never across a call out of the hub. Uncontended, lock() and
    unlock() are one atomic operation each, on the cache line the subscriber's
    queue is on anyway. Contended, lock() spins a little, since the holder is
    usually about to let go; then it yields, and if the holder still has not let
    go (it was preempted), it sleeps a few microseconds at a time.
*/
class small_mutex
{
public:
    small_mutex() noexcept = default;
    small_mutex(small_mutex const&) = delete;
    small_mutex& operator=(small_mutex const&) = delete;

    void lock() noexcept
    {
        if (!try_lock())
            lock_contended();
    }

    bool try_lock() noexcept
    {
        std::uint32_t expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }

    void unlock() noexcept { state_.store(0, std::memory_order_release); }

private:
    void lock_contended() noexcept
    {
        for (unsigned attempt = 0;; ++attempt) {
            // Reads until it looks free, so that waiters do not keep the line from the holder.
            if (state_.load(std::memory_order_relaxed) == 0 && try_lock())
                return;
            if (attempt < 64)
                cpu_relax();
            else if (attempt < 128)
                std::this_thread::yield();
            else
                std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    }

    static void cpu_relax() noexcept
    {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
        __builtin_ia32_pause();
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
        asm volatile("yield");
#endif
    }

    std::atomic<std::uint32_t> state_{0};   // 0 free, 1 held
};

} // namespace detail
SSE_NAMESPACE_END

#endif
