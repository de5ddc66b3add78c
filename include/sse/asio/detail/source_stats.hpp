// sse/asio/detail/source_stats.hpp - the event source's statistics, kept by its driver.
//
// Written on the source's strand, read by stats() from any thread. Counters
// bumped per event or per read are relaxed atomics, so that the hot path takes
// no lock; the rest changes rarely and sits under one small mutex.
#ifndef SSE_ASIO_DETAIL_SOURCE_STATS_HPP
#define SSE_ASIO_DETAIL_SOURCE_STATS_HPP

#include <sse/config.hpp>
#include <sse/client/source_options.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace detail {

class source_stats
{
public:
    using clock = std::chrono::steady_clock;

    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> events_received{0};
    std::atomic<std::uint64_t> events_delivered{0};
    std::atomic<std::uint64_t> events_filtered{0};
    std::atomic<std::uint64_t> events_coalesced{0};
    std::atomic<std::uint64_t> comments_received{0};

    static void bump(std::atomic<std::uint64_t>& counter) noexcept { counter.fetch_add(1, std::memory_order_relaxed); }

    void received(std::size_t bytes, clock::time_point now) noexcept
    {
        bytes_received.fetch_add(bytes, std::memory_order_relaxed);
        last_byte_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }

    /// Calls `f(event_source_stats&)` under the lock, for the fields that are not counters above.
    template<class F>
    void update(F&& f)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        f(rare_);
    }

    /// The newest event id; the lock is taken only when it changes.
    void last_event_id(std::string_view id)
    {
        if (id == last_id_)
            return;
        last_id_.assign(id);
        std::lock_guard<std::mutex> lock(mutex_);
        rare_.last_event_id = last_id_;
    }

    /** The state changes to `s` at `now`: the time spent open is added up when
        it leaves `open`. Returns the state before.
    */
    source_state state(source_state s, clock::time_point now)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        source_state const before = rare_.state;
        if (before == source_state::open && s != source_state::open) {
            connected_before_ += now - rare_.open_since;
            rare_.open_since = {};
        }
        if (s == source_state::open && before != source_state::open)
            rare_.open_since = now;
        rare_.state = s;
        return before;
    }

    event_source_stats snapshot(clock::time_point now) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        event_source_stats s = rare_;
        s.bytes_received = bytes_received.load(std::memory_order_relaxed);
        s.events_received = events_received.load(std::memory_order_relaxed);
        s.events_delivered = events_delivered.load(std::memory_order_relaxed);
        s.events_filtered = events_filtered.load(std::memory_order_relaxed);
        s.events_coalesced = events_coalesced.load(std::memory_order_relaxed);
        s.comments_received = comments_received.load(std::memory_order_relaxed);
        s.last_byte_at = clock::time_point(clock::duration(last_byte_at_.load(std::memory_order_relaxed)));
        s.time_connected = connected_before_;
        if (s.state == source_state::open)
            s.time_connected += now - s.open_since;
        return s;
    }

private:
    std::atomic<clock::rep> last_byte_at_{0};
    std::string last_id_;   // the strand's copy: the mutex is taken only when it changes
    mutable std::mutex mutex_;
    event_source_stats rare_;
    clock::duration connected_before_{};
};

} // namespace detail
SSE_NAMESPACE_END

#endif
