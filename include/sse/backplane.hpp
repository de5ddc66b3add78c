// sse/backplane.hpp - an external, ordered log that several hubs share.
#ifndef SSE_BACKPLANE_HPP
#define SSE_BACKPLANE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/replay_buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN

class hub;

/** One event of a shared log, as a backplane hands it to a hub.

    The log numbers its events densely within an epoch: 1, 2, 3, ... A hub that
    follows the log gives each event the id `<epoch>-<seq>` (unless the publisher
    gave its own), so every node of a cluster writes the same id for the same event.
*/
struct log_entry
{
    /// Position in the log: dense within the epoch, from 1.
    std::uint64_t seq = 0;
    /// The event as published. `id` absent: the hub writes `<epoch>-<seq>`.
    event ev;
    /// Who it is for: all, topics or a user (never a predicate, which cannot cross processes).
    sse::audience to;
    /// The publisher's key: filters read it, coalescing queues match it.
    std::string key;
};

/// What a hub asks a backplane to append to its log.
struct log_publish
{
    event ev;
    sse::audience to;
    std::string key;
    /// Not empty: a publish retried with the same key is appended once; the
    /// retry is answered with the first one's position.
    std::string idempotency_key;
    /// The epoch the publishing hub follows; the backplane refuses the publish
    /// (error::backplane_epoch_changed) if the log has moved to another one.
    std::string epoch;
};

/// The state of a backplane's connection to its log, for stats and health checks.
enum class backplane_state
{
    connecting,     ///< not yet synchronised with the log
    connected,      ///< following the log
    disconnected,   ///< lost it; reconnecting
};

/** The hub's side of a backplane: where the backplane delivers the log.

    Made by the hub and handed to backplane::start(). It refers to its hub
    weakly: once the hub is destroyed, every call does nothing. Calls must come
    from one thread at a time, in log order.
*/
class backplane_receiver
{
public:
    /** The backplane has (re)connected to the log: `epoch` is the log's epoch,
        `head` its newest position, `tail` its newest entries (oldest first, the
        last one at `head`, at most the hub's replay_limits::max_events).

        The hub fills its history from `tail`. If it was following the same epoch
        and `tail` continues where it was, it delivers the entries it had not
        seen; otherwise (another epoch, or a gap) every subscriber gets a reset
        event and delivery continues from `head`.
    */
    SSE_DECL void synced(std::string epoch, std::uint64_t head, std::vector<log_entry> tail);

    /** Entries that follow the previous ones, in log order. An entry the hub has
        already seen is ignored; one that leaves a gap sends every subscriber a
        reset event first.
    */
    SSE_DECL void entries(std::vector<log_entry> batch);

    /// The backplane's connection state changed; `why` says why it was lost.
    SSE_DECL void state(backplane_state s, error_code why = {});

    /// Made by the hub only.
    explicit backplane_receiver(std::weak_ptr<void> anchor) noexcept : anchor_(std::move(anchor)) {}

private:
    std::weak_ptr<void> anchor_;   // a detail::hub_anchor
};

/** An external log that gives a hub the order and the ids of its events, so that
    several hubs (in several processes) deliver one sequence of events.

    A hub given a backplane (hub_options::backplane) no longer delivers its
    publishes itself: hub::publish hands them to publish(), and delivery happens
    when the log hands them back, to every hub following it, the publishing one
    included. So every node sees one order, and the id of an event is its
    position in the log.

    Routing, filters, throttling and slow-consumer policies stay in each hub.
    `<sse/redis/backplane.hpp>` implements this over a Redis Stream; an
    implementation over another log (NATS JetStream, PostgreSQL) needs only these
    four calls.

    @par Thread safety
    publish() and read() may be called from any thread. Callbacks may run on the
    backplane's own thread, or inline when the call fails at once.
*/
class backplane
{
public:
    /// What publish() reports: the log's epoch and the position of the event, or an error.
    using publish_handler = std::function<void(error_code, std::string const& epoch, std::uint64_t seq)>;
    /// What read() reports: the entries found, oldest first, or an error.
    using read_handler = std::function<void(error_code, std::vector<log_entry>)>;

    virtual ~backplane() = default;

    /** Starts following the log; called once, by the hub that takes this backplane.

        `tail` is the number of newest entries to hand to backplane_receiver::synced
        on each (re)connection: the hub's replay_limits::max_events.
    */
    virtual void start(std::shared_ptr<backplane_receiver> receiver, std::size_t tail) = 0;

    /** Appends `p` to the log. `done` (if any) runs once, with the position or
        with an error; it runs inline with error::backplane_unavailable when the
        log cannot be reached: nothing is buffered.
    */
    virtual void publish(log_publish p, publish_handler done) = 0;

    /** Reads the entries of `epoch` with positions in (after, up_to], for a
        subscriber resuming from further back than the hub's history. Fewer than
        asked (trimmed from the log) or another epoch is not an error: the hub
        sees the gap and sends a reset.
    */
    virtual void read(std::string const& epoch, std::uint64_t after, std::uint64_t up_to, read_handler done) = 0;

    /// Stops following the log; pending callbacks may still run, with an error. Idempotent.
    virtual void stop() noexcept = 0;
};

SSE_NAMESPACE_END

// The receiver's bodies call into the hub: they are defined with it.
#include <sse/hub.hpp>

#endif
