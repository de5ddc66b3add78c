// sse/delivery.hpp - the contract between a fan-out source (sse::hub) and a transport.
#ifndef SSE_DELIVERY_HPP
#define SSE_DELIVERY_HPP

#include <sse/config.hpp>

#include <chrono>
#include <cstddef>
#include <optional>

SSE_NAMESPACE_BEGIN

/// Why a subscription ended.
enum class close_reason
{
    slow_consumer,   ///< the queue passed its budget under slow_consumer_policy::disconnect
    shutdown,        ///< hub::shutdown() (or the hub's destruction)
    kicked,          ///< hub::kick()
    token_expired,   ///< hub::kick() with this reason, for credentials that ran out
    unsubscribed,    ///< hub::unsubscribe(): the transport ended it
    sink_expired,    ///< the delivery_sink was destroyed without unsubscribing
};

/// The number of close_reason values, for tables indexed by reason.
inline constexpr std::size_t close_reason_count = 6;

/** The transport's side of a subscription, implemented by the transport.

    The hub holds it weakly: the transport owns both its connection (which
    implements this) and the subscriber, so there is no cycle. If the sink dies
    without hub::unsubscribe(), the hub ends the subscription at the next event
    (close_reason::sink_expired).
*/
class delivery_sink
{
public:
    virtual ~delivery_sink() = default;

    /** The subscriber has something to pull.

        Called from the publishing thread, never with a hub or subscriber lock held,
        so it may call subscriber::pull() inline. Must not block or throw; typically
        it posts to the connection's executor. May be spurious: after a wake the hub
        sends no other until pull() has been called.
    */
    virtual void wake() noexcept = 0;

    /** As wake(), when the publishing thread has time to spare: the hub expects
        to wake every sink of this publish in well under the time between
        publishes. The sink may then do its work itself, on this thread, rather
        than hand it to another (sse::attach writes the events to an idle
        stream at once). Under the same rules as wake().

        Returns true if it did the work here: the hub times those wakes to
        decide when to wake inline. Calls wake() and returns false by default.
    */
    virtual bool wake_inline() noexcept
    {
        wake();
        return false;
    }

    /** Called shortly before wake() when the hub wakes many sinks in a row, so
        that a sink may prefetch what its wake() reads (see detail::prefetch):
        the misses of many connections' objects then overlap. Only a hint: it
        must not touch what the sink's own thread may be changing. Does nothing
        by default.
    */
    virtual void prefetch() const noexcept {}

    /** The hub ended the subscription (not called for hub::unsubscribe()).

        Called once, with no lock held. pull() then returns what is still to be
        written (after shutdown the queued events; after slow_consumer a `retry:`
        message), and finally reports `closed`.
    */
    virtual void closed(close_reason why) noexcept = 0;
};

/** What a pull from a source produced: subscriber::pull(), or a stream's pull hook. */
struct pull_result
{
    /// Buffers appended to the output vector.
    std::size_t count = 0;
    /// Nothing more is ready now, but something will be then (a throttled event):
    /// pull again at that time, without waiting for a wake.
    std::optional<std::chrono::steady_clock::time_point> next_due;
    /// The source has ended and everything it had was pulled: nothing more will come.
    bool closed = false;
    /** Everything ready was pulled, and the source will call the sink's wake()
        when more is: the caller need not pull again until then. False says
        nothing (pull again once what was pulled is written).
    */
    bool drained = false;
};

SSE_NAMESPACE_END

#endif
