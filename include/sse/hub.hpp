// sse/hub.hpp - fan-out of serialised events to many subscribers, with replay.
#ifndef SSE_HUB_HPP
#define SSE_HUB_HPP

#include <sse/backplane.hpp>
#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/detail/hub_anchor.hpp>
#include <sse/detail/prefetch.hpp>
#include <sse/detail/ring.hpp>
#include <sse/detail/small_mutex.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/replay_buffer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/// What a subscriber's queue does when it passes its budget (queue_limits).
enum class slow_consumer_policy
{
    /// Ends the subscription (close_reason::slow_consumer). The queued events are
    /// discarded and replaced by one `retry:` message (queue_limits::retry_hint), so
    /// the client reconnects later and catches up through Last-Event-ID.
    disconnect,
    /// Discards the oldest queued events until the queue fits again.
    drop_oldest,
    /// First discards the queued event with the new event's key (last value
    /// wins); then, if the queue still does not fit, the oldest, as drop_oldest.
    coalesce,
};

/// Why a queued event was discarded before it was pulled.
enum class drop_reason
{
    queue_bytes,   ///< the queue passed queue_limits::max_bytes
    queue_age,     ///< the oldest event passed queue_limits::max_age
    coalesced,     ///< a newer event with the same key replaced it
};
inline constexpr std::size_t drop_reason_count = 3;

/// The outbound budget of one subscriber, and what happens when it is passed.
struct queue_limits
{
    /// Most bytes queued (serialised sizes), replay included.
    std::size_t max_bytes = 2 * 1024 * 1024;
    /// Oldest queued event, checked when an event is queued. Zero: no limit.
    std::chrono::steady_clock::duration max_age = std::chrono::seconds(30);
    slow_consumer_policy policy = slow_consumer_policy::disconnect;
    /// slow_consumer_policy::disconnect: the `retry:` written before closing. Zero: none.
    std::chrono::milliseconds retry_hint = std::chrono::seconds(5);
};

/// What a subscriber receives, and how fast.
struct subscriber_options
{
    /// Receives events published to any of these topics.
    std::vector<std::string> topics;

    /// Receives events published to this user. Empty: anonymous.
    std::string user;

    /** Receives only events for which `filter(published_event const&)` returns true;
        called with the hub lock held, for live and replayed events alike. It must
        not throw nor call into the hub.
    */
    std::function<bool(published_event const&)> filter;

    /// The client's Last-Event-ID: the events after it are queued first (see hub::subscribe).
    /// Absent or empty: live events only.
    std::optional<std::string> last_event_id;

    /// Throttling: most events released per second by pull(). Zero: no throttling.
    /// Excess events wait in the queue (and count against its budget).
    double max_per_second = 0;

    /// Throttling: events that may be released at once after a quiet period (at least 1).
    std::size_t burst = 1;

    /// A queued event is replaced by a newer one with the same non-empty key:
    /// the new one goes to the back of the queue, so ids stay in order.
    bool coalesce = false;

    /// The subscriber's budget and slow-consumer policy. Absent: hub_options::queue.
    std::optional<queue_limits> limits;
};

class hub;

namespace detail {
// Lets only the hub construct subscribers, through make_shared.
class subscriber_access
{
    subscriber_access() = default;
    friend class sse::hub;
    friend struct hub_companions;
};
struct fanout_tally;
struct after_unlock;
struct stepwise_fanout;
struct inline_cost;
struct history_read;
struct hub_companions;
} // namespace detail

/** One subscription: a queue of shared event buffers, filled by the hub and
    drained by the transport through pull().

    Obtained from hub::subscribe() and owned by `shared_ptr`. It does not refer to
    its hub; it outlives it safely.

    @par Thread safety
    Safe: pull() and the accessors may be called from any thread while the hub
    publishes.
*/
class subscriber
{
public:
    using clock = std::chrono::steady_clock;

    /** Moves queued buffers into `out`, in order: at least one if any is ready, then
        more while their total stays within `max_bytes`.

        Throttled events stay queued; the result's `next_due` then says when to call
        again. Call pull() once after subscribe() (replayed events are queued without
        a wake), after each wake(), and again once written until it returns nothing.
        Never blocks on the hub: it takes only this subscriber's lock.
    */
    SSE_DECL pull_result pull(std::vector<event_buffer>& out, std::size_t max_bytes, clock::time_point now);

    /// Unique within its hub, from 1.
    std::uint64_t id() const noexcept { return id_; }
    std::string const& user() const noexcept { return user_; }
    /// The topics, sorted and without duplicates.
    std::vector<std::string> const& topics() const noexcept { return topics_; }
    clock::time_point connected_since() const noexcept { return connected_since_; }

    /// Events waiting in the queue.
    SSE_DECL std::size_t queue_size() const;
    /// Serialised bytes waiting in the queue.
    SSE_DECL std::size_t queue_bytes() const;
    /// Slots the queue holds without allocating: 0 until the first event.
    SSE_DECL std::size_t queue_capacity() const;
    /// Why the subscription ended; empty while it runs.
    SSE_DECL std::optional<close_reason> ended() const;

    /// Constructed by hub::subscribe() only.
    SSE_DECL subscriber(detail::subscriber_access, subscriber_options&& o,
        std::shared_ptr<queue_limits const> const& defaults, std::weak_ptr<delivery_sink> sink, bool has_sink,
        clock::time_point now);

    subscriber(subscriber const&) = delete;
    subscriber& operator=(subscriber const&) = delete;

private:
    friend class hub;
    friend struct detail::hub_companions;

    // What few subscribers have: a filter, throttling. Apart, so that the many
    // that have neither do not carry them.
    struct extras
    {
        std::function<bool(published_event const&)> filter;
        clock::duration interval{};    // throttling: 1 / max_per_second
        clock::duration tolerance{};   // throttling: (burst - 1) * interval
        clock::time_point tat{};       // throttling, guarded by mutex_: theoretical arrival time (GCRA)
    };

    struct queued
    {
        event_buffer buffer;
        published_event const* event;   // null: a control message (reset, retry hint)
        clock::time_point at;
    };

    // The lines a delivery reads (see detail::prefetch): the first 96 bytes.
    void prefetch() const noexcept
    {
        detail::prefetch(this);
        detail::prefetch(&mutex_);
        detail::prefetch(&queued_bytes_);
        detail::prefetch(&visited_seq_);
    }

    // What a delivery's sink_.lock() reads: the reference counts the sink
    // pointer shares (with sse::attach, those of the stream, cold after the
    // previous event). The subscriber's own line must be at hand already: call
    // this a little after prefetch(). Only a hint: the weak pointer's second word
    // is its control block in libstdc++, libc++ and Microsoft's library alike,
    // and a prefetch of any other address does nothing.
    void prefetch_sink() const noexcept
    {
        static_assert(sizeof(sink_) == 2 * sizeof(void const*), "a weak pointer is two words");
        void const* words[2];
        std::memcpy(words, static_cast<void const*>(&sink_), sizeof words);
        detail::prefetch(words[1]);
    }

    // Queue operations, with mutex_ held. push_locked returns true if it closed.
    SSE_DECL pull_result pull_locked(std::vector<event_buffer>& out, std::size_t max_bytes, clock::time_point now);
    SSE_DECL bool push_locked(event_buffer const& b, published_event const& e, clock::time_point now,
        detail::fanout_tally& tally);
    SSE_DECL void close_locked(close_reason why);
    SSE_DECL void erase_locked(std::size_t i);
    SSE_DECL std::size_t first_event_locked() const noexcept;
    // The filter's verdict on `e`; true without a filter.
    bool accepts(published_event const& e) const { return !extras_ || !extras_->filter || extras_->filter(e); }

    // First, what every delivery reads or writes (a push on the publishing
    // thread, a pull later): 96 bytes together, two cache lines rather than
    // three or four. A publish to 20,000 subscribers finds each of them cold.

    // Immutable after subscribe().
    std::weak_ptr<delivery_sink> sink_;
    // The hub's default limits, shared by every subscriber that has no limits of its own.
    std::shared_ptr<queue_limits const> limits_;
    std::unique_ptr<extras> extras_;   // null: no filter, no throttling
    bool coalesce_ = false;
    bool has_sink_ = false;

    // Four bytes, not std::mutex's forty: a server holds one subscriber per connection.
    mutable detail::small_mutex mutex_;
    // Guarded by mutex_.
    bool armed_ = true;         // the next push wakes the sink
    bool closed_ = false;
    bool gated_ = false;        // with a backplane: waits for its history; pull() gives nothing
    close_reason reason_ = close_reason::unsubscribed;
    detail::ring<queued> queue_;
    std::size_t queued_bytes_ = 0;
    // Guarded by the hub's mutex: the seq of the last event a stepwise fan-out
    // visited this subscriber for, or that was under way when it subscribed (see
    // hub::step_locked). Next to what a push reads, so that the step costs no line.
    std::uint64_t visited_seq_ = 0;

    // Immutable after subscribe().
    std::uint64_t id_ = 0;
    std::string user_;
    std::vector<std::string> topics_;
    clock::time_point connected_since_;

    // Guarded by the hub's mutex: positions in the hub's indexes.
    std::unique_ptr<std::uint32_t[]> topic_pos_;
    std::uint32_t all_pos_ = ~std::uint32_t(0);   // ~0: not registered
    std::uint32_t user_pos_ = 0;
};

namespace detail {

/** A subscriber and the object that serves it (sse::attach's sink), in one
    allocation: a server holds one of each per connection, and one block costs
    one control block and one malloc header, not two. The companion is the base,
    so that it finds its subscriber without storing a pointer to it
    (subscriber_of()).
*/
template<class Companion>
struct subscriber_with final : Companion
{
    template<class... Args>
    subscriber_with(subscriber_access access, subscriber_options&& o, std::shared_ptr<queue_limits const> const& limits,
        std::chrono::steady_clock::time_point now, Args&&... args)
        : Companion(std::forward<Args>(args)...), sub(access, std::move(o), limits, {}, true, now)
    {
    }

    subscriber sub;
};

// The subscriber that `c`, made by hub_companions::subscribe(), serves.
template<class Companion>
subscriber& subscriber_of(Companion& c) noexcept
{
    return static_cast<subscriber_with<Companion>&>(c).sub;
}

} // namespace detail

/** What a resume with a Last-Event-ID from another epoch gets: an id issued by
    an earlier run of this server, or by another server.
*/
enum class foreign_id_policy
{
    /// A reset event (`reason` `foreign`): the client resynchronises. Right
    /// whenever events may have been published that this hub never saw.
    reset,
    /** Everything this epoch has published, as if the client had been up to date
        when the epoch began, or a reset (`too_old`) if some of it was evicted.
        Right for a single server restarted gracefully: a client that was
        connected had received everything the previous run published. A client
        that was away before the restart silently misses what the previous run
        published meanwhile.
    */
    replay_epoch,
};

/** Whether the sinks of a publish may do their work on the publishing thread
    (delivery_sink::wake_inline(): sse::attach then writes each event to an idle
    stream at once, one write per connection, instead of handing it to the
    stream's own thread).
*/
enum class inline_wake_policy
{
    /** When the hub expects every delivery of the event done inline to take
        less than half the time between events: since the previous one, and at
        the rate of the last second or so. It measures what inline wakes take,
        and measures again on one event a second while events go elsewhere.
        Then one write per connection is the cheapest, and the quickest. Events
        that come faster go to the connections' own threads, which gather the
        events queued meanwhile into one write each.
    */
    automatic,
    /// For every publish: the publishing thread writes to every idle connection.
    always,
    /// Never: the publishing thread only queues and wakes (delivery_sink::wake()).
    never,
};

/// Options of a hub.
struct hub_options
{
    /// Bounds of the history kept for Last-Event-ID.
    replay_limits replay;
    /// Epoch of assigned ids: empty for a random one (see replay_buffer).
    std::string epoch;
    /// What a Last-Event-ID from another epoch gets.
    foreign_id_policy foreign_ids = foreign_id_policy::reset;
    /// Default budget and slow-consumer policy of each subscriber.
    queue_limits queue;
    /// The time source for publish times and queue ages. Empty: steady_clock::now.
    std::function<std::chrono::steady_clock::time_point()> clock;
    /// Called after a subscriber is registered, with no lock held.
    std::function<void(subscriber const&)> on_subscribe;
    /// Called once when a subscription ends, whatever the reason, with no lock held.
    std::function<void(subscriber const&, close_reason)> on_unsubscribe;
    /** A shared log that gives this hub its order and ids (see sse::backplane):
        publishes go through it and are delivered when it hands them back. Null:
        the hub orders and delivers its own publishes. `epoch` is then ignored:
        the log's epoch is used.
    */
    std::shared_ptr<sse::backplane> backplane;
    /// Whether the publishing thread does the sinks' work (see inline_wake_policy).
    inline_wake_policy inline_wakes = inline_wake_policy::automatic;
};

/// How hub::publish_async() publishes.
struct publish_options
{
    /// The publisher's label of the event (see hub::publish).
    std::string key;
    /// With a backplane: a retry with the same key is published once (see log_publish).
    std::string idempotency_key;
};

/// What hub::publish() did.
struct publish_result
{
    std::string id;                  ///< the event's id: assigned, or the publisher's
    std::size_t deliveries = 0;      ///< subscribers whose queue took the event
    std::size_t drops = 0;           ///< queued events discarded to make room (or coalesced)
    std::size_t disconnects = 0;     ///< subscribers ended as slow consumers
};

/// A snapshot of a hub's counters, from hub::stats().
struct hub_stats
{
    std::size_t subscribers = 0;
    std::map<std::string, std::size_t, std::less<>> by_topic;
    std::map<std::string, std::size_t, std::less<>> by_user;
    std::uint64_t subscribes = 0;    ///< subscribe() calls that succeeded
    std::uint64_t published = 0;     ///< events published
    std::uint64_t deliveries = 0;    ///< events queued to subscribers, replay excluded
    std::uint64_t replayed = 0;      ///< events queued by replay
    std::uint64_t resets = 0;        ///< reset events sent instead of a replay
    /// Published events whose sinks were woken to write on the publishing
    /// thread (hub_options::inline_wakes); the others were handed to the sinks' own threads.
    std::uint64_t inline_fanouts = 0;
    std::array<std::uint64_t, drop_reason_count> drops{};          ///< by drop_reason
    std::array<std::uint64_t, close_reason_count> disconnects{};   ///< by close_reason
    std::size_t queued_events = 0;   ///< over all subscribers
    std::size_t queued_bytes = 0;
    std::size_t max_queue_events = 0;   ///< the deepest queue
    std::size_t max_queue_bytes = 0;
    std::size_t replay_events = 0;
    std::size_t replay_bytes = 0;

    // With a backplane (hub_options::backplane):
    backplane_state log_state = backplane_state::connecting;
    std::uint64_t log_position = 0;    ///< the newest log position delivered
    std::uint64_t log_resets = 0;      ///< times every subscriber was reset for a gap or a new epoch
    std::uint64_t history_reads = 0;   ///< backplane::read() calls for resuming subscribers

    std::uint64_t dropped(drop_reason r) const noexcept { return drops[static_cast<std::size_t>(r)]; }
    std::uint64_t disconnected(close_reason r) const noexcept
    {
        return disconnects[static_cast<std::size_t>(r)];
    }
};

/// What hub::events_after() found.
struct replay_lookup
{
    /// The events after the id, oldest first, that a subscriber would be
    /// replayed: routed and filtered as for it. Empty when `reset` is set.
    std::vector<std::shared_ptr<published_event const>> events;

    /** Set when the history cannot answer, as subscribe() would then queue a
        reset event: error::event_id_too_old, error::unknown_event_id or
        error::foreign_event_id. The caller resumes from `newest_id`.
    */
    error_code reset;

    /// The newest id at the time of the look-up (hub::newest_id()).
    std::string newest_id;

    /// The `reason` a reset event carries for `reset` (`too_old`, `unknown`,
    /// `foreign`); empty when `reset` is not set.
    SSE_DECL std::string_view reset_reason() const noexcept;
};

/** Routes published events to subscribers' queues, serialising each event once
    and keeping a replay_buffer for reconnecting clients.

    A publish takes the hub's one mutex for the id assignment, the history append
    and the fan-out, so that every subscriber sees events in id order; the event is
    validated and serialised before, outside the lock. Each matching subscriber's
    queue gets the same `event_buffer` (a reference-count increment, no copy, no
    allocation once its ring has grown). wake() and closed() are called after the
    lock is released, so a sink may pull inline.

    When the sinks are to do their work on the publishing thread (see
    inline_wake_policy) and have done so before, a fan-out to many subscribers
    goes in steps of 16: the lock is released after each step while that step's
    sinks write, so that the first writes leave at once and each subscriber is
    still in the cache when its write comes. The order holds: a publish made
    meanwhile first finishes the fan-out under way, and a subscriber that
    subscribes meanwhile gets that event by replay only, as if it had subscribed
    after the publish.

    @par Thread safety
    Safe: every member may be called from any thread.
*/
class hub
{
public:
    using clock = std::chrono::steady_clock;

    SSE_DECL explicit hub(hub_options options = {});

    /// Shuts down (see shutdown()), then waits for calls made through anchor() that are under way.
    SSE_DECL ~hub();

    hub(hub const&) = delete;
    hub& operator=(hub const&) = delete;

    /** Registers a subscriber and, if `o.last_event_id` is set, queues the events
        after it, in the same critical section as publishes: every later event goes
        to the live queue, none is lost or doubled between replay and live.

        Replay uses the same routing and filter as live delivery. If the history
        cannot answer, the queue starts instead with one reset event, and nothing is
        replayed:
        @code
        id: <newest id>
        event: reset
        data: {"reason":"too_old","lastEventId":"<the id the client sent>"}
        @endcode
        `reason` is `too_old`, `unknown` or `foreign`; the id lets the client resume
        from here. An id from another epoch is answered as
        `hub_options::foreign_ids` says. Call pull() once after this returns.

        With a backplane, the subscriber may first wait (pull() gives nothing, and
        the sink is woken when that ends): until the log's first sync, which resolves
        its Last-Event-ID; and, for an id of the log's epoch older than the history,
        until backplane::read() has brought the entries before the history, which go
        in front of its queue. If the log no longer has them all, the front is a
        `too_old` reset whose id is the position just before the history, and the
        history follows it: the client resumes from the reset's id without a gap.
        Live events queue behind meanwhile, within its budget.

        `sink` may be null for a subscriber that is only polled. It is held weakly.
        After shutdown(), fails with error::hub_shut_down and returns null.
    */
    SSE_DECL std::shared_ptr<subscriber> subscribe(
        subscriber_options o, std::shared_ptr<delivery_sink> const& sink, error_code& ec);

    /// As above; throws `std::system_error` after shutdown().
    SSE_DECL std::shared_ptr<subscriber> subscribe(
        subscriber_options o, std::shared_ptr<delivery_sink> const& sink = nullptr);

    /** Looks up what subscribe() would replay to a subscriber described by `who`
        that sent `last_event_id`, without subscribing: for a client that polls.

        Routing, the filter and hub_options::foreign_ids apply as in subscribe();
        `who.last_event_id` is ignored. Nothing is registered, no queue is made,
        `on_subscribe` and `on_unsubscribe` are not called, and no counter of
        stats() changes. The filter runs with the hub lock held, as for
        subscribe(). An empty `last_event_id` finds no events and no reset.
        With a backplane it answers from the history only: an id older than it
        gets the `too_old` reset, the log is not read.
        After shutdown(), fails with error::hub_shut_down.
    */
    SSE_DECL replay_lookup events_after(std::string_view last_event_id, subscriber_options who, error_code& ec);

    /// As above; throws `std::system_error` after shutdown().
    SSE_DECL replay_lookup events_after(std::string_view last_event_id, subscriber_options who = {});

    /// Ends a subscription (close_reason::unsubscribed): drops its queue; no closed() call.
    /// Does nothing if it already ended.
    SSE_DECL void unsubscribe(subscriber& s);

    /** Publishes `e` to `to`: appends it to the history, then queues it for each
        matching subscriber that its filter accepts.

        `key` is the publisher's label of the event: filters see it, and queues that
        coalesce replace an older event with the same key. If `e` has no id, one is
        assigned. Sets `ec` if `e` cannot be sent (nothing is published) or the hub
        was shut down.

        With a backplane (hub_options::backplane) the event is handed to the log
        instead, and delivered when the log hands it back: the result then has an
        empty id and zero counts (publish_async() reports the id). Sets `ec` also
        to error::audience_not_shareable for an audience::matching, and to the
        backplane's error if it failed at once (error::backplane_unavailable).
    */
    SSE_DECL publish_result publish(event e, audience to, std::string_view key, error_code& ec);

    /// As above; throws `std::system_error` on failure.
    SSE_DECL publish_result publish(event e, audience to = {}, std::string_view key = {});

    /// What publish_async() reports.
    using publish_handler = std::function<void(error_code, publish_result)>;

    /** Publishes `e` to `to`, and calls `done` once with the result.

        Without a backplane this is publish(), and `done` runs inline. With one,
        the event is handed to the backplane and `done` runs when the log has taken
        it, with its id (`deliveries` and the other counts are then zero: delivery
        happens when the log hands the event back), or with an error:
        error::backplane_unavailable (inline, nothing published),
        error::backplane_epoch_changed, error::audience_not_shareable.
    */
    SSE_DECL void publish_async(event e, audience to, publish_options o, publish_handler done);

    /// Ends one subscription with `why` (kicked or token_expired). Returns false if
    /// no such subscriber is registered.
    SSE_DECL bool kick(std::uint64_t subscriber_id, close_reason why = close_reason::kicked);

    /** Ends every subscription with close_reason::shutdown; their queued events stay
        pullable, so transports can flush them. Later subscribe() and publish() fail
        with error::hub_shut_down. Idempotent.
    */
    SSE_DECL void shutdown();

    /// A consistent snapshot of the counters; walks every subscriber.
    SSE_DECL hub_stats stats() const;

    /// The id meaning "up to date now" (replay_buffer::newest_id()).
    SSE_DECL std::string newest_id() const;

    /// The epoch of assigned ids. With a backplane, the log's epoch once synchronised
    /// with it (it changes when the log moves to a new epoch).
    SSE_DECL std::string epoch() const;

    /// A weak handle for objects that may outlive the hub, such as an attached
    /// stream (<sse/asio/attach.hpp>): they reach the hub through it only while it exists.
    std::weak_ptr<detail::hub_anchor> anchor() const noexcept { return anchor_; }

private:
    friend class backplane_receiver;
    friend struct detail::hub_companions;

    // subscribe() once the subscriber is made: registers it and queues its replay.
    SSE_DECL void enroll(std::shared_ptr<subscriber> const& s, std::optional<std::string> const& last_id,
        clock::time_point start, error_code& ec);

    SSE_DECL clock::time_point now() const;
    SSE_DECL bool registered_locked(subscriber const& s) const noexcept;
    SSE_DECL void register_locked(std::shared_ptr<subscriber> const& s);
    SSE_DECL std::shared_ptr<subscriber> unregister_locked(subscriber& s);
    SSE_DECL void deliver_locked(subscriber& s, event_buffer const& b, published_event const& e,
        clock::time_point now, detail::fanout_tally& tally, detail::after_unlock& after);
    SSE_DECL void notify(detail::after_unlock& after, detail::inline_cost* fanout = nullptr);
    SSE_DECL void note_inline_cost(detail::inline_cost const& c);
    SSE_DECL void fanout_locked(published_event const& p, event_buffer const& b, clock::time_point at,
        detail::fanout_tally& tally, detail::after_unlock& after);
    SSE_DECL double note_fanout_locked(clock::time_point at);
    SSE_DECL bool inline_wakes_locked(clock::time_point at, double since, std::size_t deliveries);
    SSE_DECL std::size_t audience_size_locked(audience const& a) const;
    SSE_DECL bool step_locked(detail::stepwise_fanout& f, std::size_t budget, detail::fanout_tally& tally,
        detail::after_unlock& after);
    SSE_DECL void finish_stepwise_locked(detail::after_unlock& after);
    SSE_DECL void publish_stepwise(std::unique_lock<std::mutex>& lock, std::shared_ptr<published_event const> const& p,
        clock::time_point at, detail::after_unlock& after, publish_result& r);
    SSE_DECL void settle_locked(
        detail::after_unlock& after, detail::fanout_tally const& tally, publish_result& r, std::size_t first_closed);
    SSE_DECL void ungate_locked(subscriber& s, detail::after_unlock& after);
    SSE_DECL bool resume_locked(std::shared_ptr<subscriber> const& s, std::string const& last_id,
        clock::time_point at, detail::history_read& read);

    // With a backplane.
    using log_done = std::function<void(error_code, std::string const& id)>;
    SSE_DECL error_code publish_to_log(event e, audience to, std::string key, std::string idempotency_key, log_done done);
    SSE_DECL void start_read(detail::history_read read);
    SSE_DECL void history_read_done(detail::history_read const& read, error_code ec, std::vector<log_entry> got);
    SSE_DECL void log_synced(std::string epoch, std::uint64_t head, std::vector<log_entry> tail);
    SSE_DECL void log_entries(std::vector<log_entry> batch);
    SSE_DECL void log_state(backplane_state s);
    SSE_DECL void fill_history_locked(std::string epoch, std::uint64_t head, std::vector<log_entry>& tail,
        clock::time_point at);
    SSE_DECL void entries_locked(std::vector<log_entry>& batch, clock::time_point at, detail::fanout_tally& tally,
        detail::after_unlock& after);
    SSE_DECL void reset_all_locked(std::string id, std::string_view reason, std::string const& last_id,
        clock::time_point at, detail::after_unlock& after);

    hub_options options_;
    std::shared_ptr<queue_limits const> default_limits_;   // options_.queue, shared by subscribers

    mutable std::mutex mutex_;
    replay_buffer replay_;
    std::vector<std::shared_ptr<subscriber>> all_;
    std::unordered_map<std::string, std::vector<subscriber*>> topics_;
    std::unordered_map<std::string, std::vector<subscriber*>> users_;
    std::uint64_t next_id_ = 0;
    bool shut_down_ = false;
    hub_stats counters_;   // only the counters are kept up to date
    // Whether a publish's sinks may do their work on the publishing thread
    // (delivery_sink::wake_inline): the previous fan-out's time, the recent
    // rate of fan-outs per second and the time of the last fan-out done inline
    // (guarded by mutex_), and what one inline wake that worked took lately, in
    // nanoseconds (0: not yet measured).
    clock::time_point previous_fanout_{};
    double fanout_rate_ = 0;
    clock::time_point last_inline_fanout_{};
    std::atomic<std::int64_t> inline_wake_ns_{0};
    // The publish whose fan-out goes in steps (see publish_stepwise), if one is
    // under way: another publish, or a shutdown, finishes it first.
    detail::stepwise_fanout* stepwise_ = nullptr;

    // With a backplane: subscribers registered before the first sync, with their
    // Last-Event-ID, resolved when the history is there.
    bool log_synced_ = false;
    std::vector<std::pair<std::weak_ptr<subscriber>, std::string>> awaiting_sync_;
    std::shared_ptr<detail::hub_anchor> anchor_ = std::make_shared<detail::hub_anchor>(this);
};

namespace detail {

// For transports: a subscription whose companion (its sink) lives in the
// subscriber's allocation (see subscriber_with).
struct hub_companions
{
    /** As hub::subscribe(), with a `Companion` made from `args` next to the
        subscriber. `sink_of(Companion&)` gives the weak sink the hub wakes: it may
        share the ownership of another object (the stream that owns the companion).
        Returns the companion, sharing the subscriber's ownership; null with `ec`
        set on failure.
    */
    template<class Companion, class SinkOf, class... Args>
    static std::shared_ptr<Companion> subscribe(
        hub& h, subscriber_options o, SinkOf&& sink_of, error_code& ec, Args&&... args)
    {
        ec = {};
        std::optional<std::string> const last_id = std::move(o.last_event_id);
        auto const start = h.now();
        auto block = std::make_shared<subscriber_with<Companion>>(
            subscriber_access{}, std::move(o), h.default_limits_, start, std::forward<Args>(args)...);
        block->sub.sink_ = sink_of(static_cast<Companion&>(*block));
        h.enroll(std::shared_ptr<subscriber>(block, &block->sub), last_id, start, ec);
        if (ec)
            return nullptr;
        return std::shared_ptr<Companion>(std::move(block));
    }

    // A transport may lend its writer to the threads that publish (sse::attach
    // does, for an idle stream): the subscriber's lock then guards the writer too,
    // so that a publishing thread writes the events it woke the sink for at once.

    static small_mutex& lock_of(subscriber& s) noexcept { return s.mutex_; }

    // What a pull with the lock held reads first (see delivery_sink::prefetch()).
    static void prefetch_for_pull(subscriber const& s) noexcept
    {
        detail::prefetch(&s.mutex_);
        detail::prefetch(&s.queued_bytes_);
    }

    // With the lock held: nothing queued, and the next push wakes the sink.
    static bool idle_locked(subscriber const& s) noexcept { return s.armed_ && s.queue_.empty() && plain_locked(s); }

    // With the lock held: what is queued can leave now and is all there is
    // (not closed, not waiting for its history, not throttled).
    static bool plain_locked(subscriber const& s) noexcept
    {
        return !s.closed_ && !s.gated_ && !(s.extras_ && s.extras_->interval != subscriber::clock::duration::zero());
    }

    // subscriber::pull() with the lock held.
    static pull_result pull_locked(
        subscriber& s, std::vector<event_buffer>& out, std::size_t max_bytes, subscriber::clock::time_point now)
    {
        return s.pull_locked(out, max_bytes, now);
    }
};

} // namespace detail

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/hub.hpp>
#endif
#endif
