// publisher.hpp - the one way events enter the hub, so that every event is counted.
#ifndef SSE_SERVER_PUBLISHER_HPP
#define SSE_SERVER_PUBLISHER_HPP

#include <sse/hub.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
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

    /// What publish_async() reports (see sse::hub::publish_async).
    using done_handler = std::function<void(sse::error_code, sse::publish_result const&)>;

    explicit publisher(sse::hub& h) : hub_(h) {}

    /** Publishes `e` to `to` through sse::hub::publish_async, and calls `done`
        (if any) once with the outcome.

        Standing alone, the hub publishes at once and `done` runs inline with the
        id and the recipients. With --redis the event first goes to Redis: `done`
        runs when Redis has taken it (with its id; the counts are zero, since every
        node delivers it when Redis hands it back), on the backplane's thread, or
        inline with sse::error::backplane_unavailable when Redis cannot be reached
        (nothing is published, nothing is buffered). `o.key` names what the event is
        about, such as one operation's progress, so that queues that coalesce keep
        only the newest; `o.idempotency_key` makes a retry publish once (with --redis).
    */
    void publish_async(sse::event e, sse::audience to, sse::publish_options o, done_handler done = {});

    /** Publishes `e` to `to` and returns what is known when this returns.

        Standing alone, that is everything. With --redis it is the result of a
        failure that was known at once (Redis unreachable: `ec` is set); otherwise
        the result is empty (no id yet), and a later failure shows only in the
        backplane's publish failures. Use publish_async() to learn the outcome. Sets `ec` if the event
        cannot be sent, the hub is shut down or Redis cannot be reached.
    */
    sse::publish_result publish(sse::event e, sse::audience to, std::string_view key, sse::error_code& ec);

    /// As above; throws std::system_error on a failure known at once.
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
