// metrics.hpp - GET /api/sse/stats (JSON) and GET /metrics (Prometheus text format).
#ifndef SSE_SERVER_METRICS_HPP
#define SSE_SERVER_METRICS_HPP

#include "backplane.hpp"

#include <sse/hub.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace app {

/// Everything the two endpoints report, gathered at one moment.
struct service_snapshot
{
    sse::hub_stats hub;
    std::size_t clients = 0;              ///< open streams
    std::size_t unique_users = 0;         ///< distinct non-empty user ids among the open streams
    std::uint64_t connections_total = 0;  ///< streams opened since start
    std::chrono::milliseconds average_connection{0};
    std::map<std::string, std::uint64_t> disconnects;   ///< streams closed, by reason
    std::map<std::string, std::uint64_t> refused;       ///< requests refused (auth, limits), by reason
    std::uint64_t polls = 0;           ///< GET /api/sse/poll answered
    std::uint64_t polled_events = 0;   ///< events those answers carried
    std::uint64_t poll_resets = 0;     ///< answers that were a reset
    double events_per_second = 0;
    std::optional<std::chrono::system_clock::time_point> last_event;
    std::chrono::steady_clock::duration uptime{};
    /// With --redis only.
    std::optional<backplane_snapshot> backplane;
};

/// The `backplane` object of /health and /api/sse/stats.
nlohmann::json backplane_json(backplane_snapshot const& b);

/// The body of GET /api/sse/stats; with --redis it has a `backplane` object, with the hub's `logResets`.
nlohmann::json stats_json(service_snapshot const& s);

/** The body of GET /metrics, in the Prometheus text exposition format 0.0.4:
    `# HELP` and `# TYPE` before each family, counters named `_total`.
*/
std::string prometheus_text(service_snapshot const& s);

/// The Content-Type of prometheus_text().
inline constexpr char const* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// The names of sse::drop_reason and sse::close_reason values in the API.
char const* to_string(sse::drop_reason r) noexcept;
char const* to_string(sse::close_reason r) noexcept;

} // namespace app

#endif
