// publisher.hpp - the one way events enter the hub, so that every event is counted.
#ifndef SSE_SERVER_PUBLISHER_HPP
#define SSE_SERVER_PUBLISHER_HPP

#include <sse/hub.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace app {

/** Publishes to a hub and keeps what /api/sse/stats reports about publishing:
    the time of the last event and the rate over the last ten seconds.

    @par Thread safety
    Safe: publish from any thread.
*/
class publisher
{
public:
    using clock = std::chrono::steady_clock;

    /// The window of events_per_second().
    static constexpr int window_seconds = 10;

    explicit publisher(sse::hub& h) : hub_(h) {}

    /** Publishes `e` to `to` (see sse::hub::publish). `key` names what the event
        is about, such as one operation's progress, so that queues that coalesce keep
        only the newest. Sets `ec` if the event cannot be sent or the hub is shut down.
    */
    sse::publish_result publish(sse::event e, sse::audience to, std::string_view key, sse::error_code& ec);

    /// As above; throws std::system_error on failure.
    sse::publish_result publish(sse::event e, sse::audience to = {}, std::string_view key = {});

    /// Events per second over the last window_seconds, the current second included.
    double events_per_second(clock::time_point now = clock::now()) const;

    /// When the last event was published; nothing before the first.
    std::optional<std::chrono::system_clock::time_point> last_event_time() const;

    sse::hub& hub() noexcept { return hub_; }

private:
    void count(clock::time_point now);

    struct second
    {
        long long index = -1;   // seconds since the clock's epoch
        std::uint64_t events = 0;
    };

    sse::hub& hub_;
    mutable std::mutex mutex_;
    std::array<second, window_seconds> window_{};
    std::optional<std::chrono::system_clock::time_point> last_;
};

} // namespace app

#endif
