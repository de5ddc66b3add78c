// sse/redis/backplane.hpp - several hubs as one, through a Redis Stream.
#ifndef SSE_REDIS_BACKPLANE_HPP
#define SSE_REDIS_BACKPLANE_HPP

#include <sse/backplane.hpp>
#include <sse/config.hpp>
#include <sse/redis/error.hpp>
#include <sse/redis/options.hpp>

#include <sse/asio/net.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

SSE_NAMESPACE_BEGIN
namespace redis {

/// A snapshot of a backplane's counters and state (backplane::stats()).
struct backplane_stats
{
    backplane_state state = backplane_state::connecting;
    /// The log's epoch and the newest position the reader has handed to the hub.
    std::string epoch;
    std::uint64_t position = 0;
    /// The log's newest position when last seen, minus `position`: how far the reader is behind.
    std::uint64_t lag = 0;
    std::uint64_t reconnects = 0;          ///< connections lost and made again
    std::uint64_t epoch_changes = 0;       ///< syncs that found a new epoch
    std::uint64_t published = 0;           ///< publishes the log took
    std::uint64_t publish_failures = 0;    ///< publishes refused (Redis down, epoch changed, errors)
    std::uint64_t duplicates = 0;          ///< publishes answered from their idempotency key
    std::uint64_t history_reads = 0;       ///< XRANGE reads for resuming subscribers
    std::uint64_t entries_read = 0;        ///< entries the reader handed to the hub
    /// While not connected: since when.
    std::optional<std::chrono::steady_clock::time_point> unreachable_since;
    /// The last error met, as a message; empty if none.
    std::string last_error;
    /// The address in use (after Sentinel's answer, the master's).
    std::string server;
};

/** A backplane over one Redis Stream per namespace.

    @code
    asio::io_context io;
    sse::redis::backplane_options o;
    sse::redis::parse_url("redis://127.0.0.1:6379/news", o);
    auto log = sse::redis::backplane::create(io.get_executor(), o);
    sse::hub_options h;
    h.backplane = log;
    sse::hub hub(h);          // publishes go through Redis; every node delivers them
    io.run();
    @endcode

    - The log: `XADD {ns}:log MAXLEN ~ max_len <seq>-0 ...`, appended by one Lua
      script that also checks the epoch, takes the idempotency key and moves the
      sequence in `{ns}:meta`, so that positions are dense and never reused.
    - The reader: a connection of its own in `XREAD BLOCK` from its cursor; every
      event reaches the hub through it, on the publishing node too.
    - History: `XRANGE` for subscribers resuming from before the hub's replay buffer.
    - Reconnection: with back-off, asking the sentinels for the master each time if
      there are any; then a sync that hands the hub the epoch and the log's tail.

    @par Thread safety
    Safe: every member may be called from any thread. The I/O runs on the executor
    given to create(), which may be run by several threads.
*/
class backplane final : public sse::backplane, public std::enable_shared_from_this<backplane>
{
public:
    /// The options must be valid (a namespace valid_namespace() accepts); I/O starts at start().
    static inline std::shared_ptr<backplane> create(net::any_io_executor ex, backplane_options options);

    inline void start(std::shared_ptr<backplane_receiver> receiver, std::size_t tail) override;
    inline void publish(log_publish p, publish_handler done) override;
    inline void read(std::string const& epoch, std::uint64_t after, std::uint64_t up_to, read_handler done) override;
    inline void stop() noexcept override;

    inline backplane_stats stats() const;

    backplane_options const& options() const noexcept { return options_; }

    /// Use create().
    inline backplane(net::any_io_executor ex, backplane_options options);
    inline ~backplane() override;

private:
    struct state;
    backplane_options options_;
    std::shared_ptr<state> state_;
};

} // namespace redis
SSE_NAMESPACE_END

// Always header-only, also under SSE_SEPARATE_COMPILATION and with sse::compiled:
// a program includes the backplane in the one file that sets it up.
#include <sse/redis/impl/backplane.hpp>
#endif
