// backplane.hpp - several servers as one: the Redis backplane of --redis, its thread and its health.
#ifndef SSE_SERVER_BACKPLANE_HPP
#define SSE_SERVER_BACKPLANE_HPP

#include "config.hpp"

#include <sse/backplane.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace app {

class logger;

/// What /health, /api/sse/stats and /metrics say about the backplane, at one moment.
struct backplane_snapshot
{
    std::string state;    ///< "connecting", "connected" or "disconnected"
    std::string ns;       ///< the namespace (--redis URL's path)
    std::string server;   ///< the Redis server in use, host:port (after Sentinel's answer, the master's)
    bool durable = false;
    std::string epoch;
    std::uint64_t position = 0;   ///< the newest log position handed to the hub
    std::uint64_t lag = 0;        ///< the log's newest position minus `position`
    std::uint64_t reconnects = 0;
    std::uint64_t epoch_changes = 0;
    std::uint64_t published = 0;
    std::uint64_t publish_failures = 0;
    std::uint64_t duplicates = 0;      ///< publishes answered from their Idempotency-Key
    std::uint64_t history_reads = 0;   ///< reads of the Redis log for clients resuming from far back
    std::uint64_t entries_read = 0;
    /// While not connected: for how long (since start-up if it never was).
    std::optional<std::chrono::milliseconds> unreachable_for;
    /// True while Redis has been unreachable for at least --redis-unhealthy-after-ms.
    bool unhealthy = false;
    std::string last_error;
};

/// True if this build has the Redis backplane (hiredis was found when it was built).
bool backplane_supported() noexcept;

/** Why the --redis settings of `c` cannot work, naming the flag to fix; nothing
    if they can, or if `c` has no --redis (and no other --redis-* flag).
*/
std::optional<std::string> backplane_problem(config const& c);

/** The Redis backplane of a server configured with --redis, on a thread of its
    own: the reader's I/O and the delivery of Redis's entries to the hub never wait
    behind the streams' work. Without --redis it holds nothing.

    It watches the backplane's state and logs each change: `backplane_connected`,
    `backplane_unavailable` (with Redis's error), `backplane_epoch_changed`,
    `backplane_unhealthy` and `backplane_healthy`.

    @par Thread safety
    Safe: every member may be called from any thread.
*/
class backplane_runner
{
public:
    /// Throws std::runtime_error with the text of backplane_problem() if `c` cannot work.
    backplane_runner(config const& c, logger const& log);

    /// Stops, as stop() does.
    ~backplane_runner();

    backplane_runner(backplane_runner const&) = delete;
    backplane_runner& operator=(backplane_runner const&) = delete;

    /// The backplane for hub_options::backplane: null without --redis.
    std::shared_ptr<sse::backplane> get() const;

    /// Nothing without --redis.
    std::optional<backplane_snapshot> snapshot(std::chrono::steady_clock::time_point now =
                                                   std::chrono::steady_clock::now()) const;

    /** Stops the backplane and waits (up to 5 s) for its thread, so that no
        completion runs afterwards. Call it once the server's own threads have
        finished, before anything a completion refers to is destroyed. Idempotent.
    */
    void stop() noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace app

#endif
