// dashboard.hpp - the periodic dashboardUpdate on channel "dashboard" (GET /api/dashboard/sse).
#ifndef SSE_SERVER_DASHBOARD_HPP
#define SSE_SERVER_DASHBOARD_HPP

#include "metrics.hpp"
#include "publisher.hpp"

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace app {

/// The channel GET /api/dashboard/sse follows, and dashboardUpdate events go to.
inline constexpr char const* dashboard_channel = "dashboard";

/// The key of dashboardUpdate events: a queue that coalesces keeps only the newest.
inline constexpr char const* dashboard_key = "dashboard:stats";

/** The data of a dashboardUpdate event: `connections` (open streams), `uniqueUsers`
    (distinct user ids among them), `eventsPerSecond`, `totalEventsSent` (events
    published since start) and `timestamp` (Unix ms).
*/
nlohmann::json dashboard_update(service_snapshot const& s, std::chrono::system_clock::time_point now);

/** Publishes a dashboardUpdate to channel `dashboard` every `interval`, while at
    least one stream follows that channel.

    @par Thread safety
    start and stop may be called from any thread. Owned by a shared_ptr: the
    pending wait keeps it alive until stop().
*/
class dashboard_ticker : public std::enable_shared_from_this<dashboard_ticker>
{
public:
    using snapshot_source = std::function<service_snapshot()>;

    dashboard_ticker(asio::any_io_executor ex, publisher& p, std::chrono::milliseconds interval,
                     snapshot_source snapshot);

    /// Starts ticking; does nothing with a zero interval.
    void start();

    /// Stops ticking; idempotent.
    void stop();

private:
    void arm();
    void tick();

    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer timer_;   // on strand_
    publisher& publisher_;
    std::chrono::milliseconds interval_;
    snapshot_source snapshot_;
    bool stopped_ = false;   // on strand_
};

} // namespace app

#endif
