// sse/replay_buffer.hpp - recent events kept for Last-Event-ID resumption.
#ifndef SSE_REPLAY_BUFFER_HPP
#define SSE_REPLAY_BUFFER_HPP

#include <sse/config.hpp>
#include <sse/detail/ring.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

SSE_NAMESPACE_BEGIN

class subscriber;

/// Which subscribers an event is for: see audience.
enum class audience_kind
{
    all,        ///< every subscriber
    topics,     ///< subscribers of at least one of the topics
    user,       ///< subscribers with that user id
    matching,   ///< subscribers a predicate accepts
};

/** Who a published event is for. Kept with the event, so that replay is routed
    exactly as live delivery was.

    An audience is a cheap handle to immutable data: copying it copies a
    `shared_ptr`. Build one once and reuse it to publish without allocating:
    @code
    auto const news = sse::audience::topic("news");
    hub.publish(e, news);
    @endcode

    @par Thread safety
    Immutable: safe to share between threads.
*/
class audience
{
public:
    /// Returns true for the subscribers this audience includes (`matching` only).
    using predicate = std::function<bool(subscriber const&)>;

    /// Every subscriber.
    audience() noexcept = default;

    /// Every subscriber.
    static audience all() noexcept { return {}; }

    /// Subscribers of `name`.
    static audience topic(std::string name) { return topics({std::move(name)}); }

    /// Subscribers of at least one of `names`; each gets the event once.
    static audience topics(std::vector<std::string> names)
    {
        return audience(audience_kind::topics, std::move(names), {}, {});
    }

    /// Subscribers whose subscriber_options::user is `id`.
    static audience user(std::string id) { return audience(audience_kind::user, {}, std::move(id), {}); }

    /** Subscribers for which `p(subscriber const&)` returns true.

        The hub calls `p` with its lock held, once per subscriber: keep it short,
        and do not call into the hub from it.
    */
    static audience matching(predicate p) { return audience(audience_kind::matching, {}, {}, std::move(p)); }

    audience_kind kind() const noexcept { return data_ ? data_->kind : audience_kind::all; }

    /// The topics of a `topics` audience; empty otherwise.
    SSE_DECL std::vector<std::string> const& topic_names() const noexcept;

    /// The user id of a `user` audience; empty otherwise.
    SSE_DECL std::string const& user_id() const noexcept;

    /// The predicate of a `matching` audience; empty otherwise.
    SSE_DECL predicate const& matcher() const noexcept;

private:
    struct data
    {
        audience_kind kind;
        std::vector<std::string> topics;
        std::string user;
        predicate match;
    };

    audience(audience_kind k, std::vector<std::string> t, std::string u, predicate p)
        : data_(std::make_shared<data const>(data{k, std::move(t), std::move(u), std::move(p)}))
    {
    }

    std::shared_ptr<data const> data_;   // null: all
};

/** One published event as the hub and the replay buffer keep it: the wire form,
    serialised once, and what routing and filters look at.

    It is immutable once appended. Subscriber filters receive it.
*/
struct published_event
{
    std::string wire;                  ///< the serialised bytes, `id:` line included
    std::string id;                    ///< the id as sent: assigned, or the publisher's
    std::string type;                  ///< the `event:` type; empty means `message`
    std::optional<std::string> data;   ///< the data as published, before line splitting
    std::string key;                   ///< the publisher's key: filters read it, coalescing matches it
    sse::audience audience;            ///< who it was published for
    std::uint64_t seq = 0;             ///< position in the buffer's order: 1, 2, 3, ...
    std::chrono::steady_clock::time_point time;   ///< when it was appended
    bool assigned_id = false;          ///< true if the buffer assigned `id`
};

/// Bounds of a replay_buffer. An event leaves when any bound is passed, oldest first.
struct replay_limits
{
    /// Most events kept. Zero keeps none: every id but the newest is then too old.
    std::size_t max_events = 1024;
    /// Most serialised bytes kept (the sum of the wire sizes).
    std::size_t max_bytes = 1024 * 1024;
    /// Oldest event kept. Zero: no age limit.
    std::chrono::steady_clock::duration max_age = std::chrono::minutes(5);
};

/** Keeps the newest events so that a reconnecting client can catch up.

    Every appended event gets a sequence number and, unless the publisher gave it
    an id, the id `<epoch>-<seq>`: the epoch is 1 to 16 characters of `[0-9a-z]`
    chosen at construction (6 random characters unless given), the sequence is
    decimal and starts at 1. Ids from another epoch (an earlier run, another
    server) are recognised as foreign.

    A hub that follows a shared log (sse::backplane) drives the buffer from the
    log instead: restart() adopts the log's epoch (1 to 32 of `[0-9a-z]`) and
    position, and append_at() stores each event at the log's sequence number.

    A publisher's own id is kept as it is and indexed, so since() finds it too;
    if two events carry the same id, the newer one counts. Once such an event is
    evicted its id is no longer known: since() then reports
    error::unknown_event_id, not error::event_id_too_old.

    Eviction by count and bytes happens on append; eviction by age happens lazily,
    on append and on since(). Time is passed in, never read from a clock the
    caller cannot control. Storage is one ring of 24-byte entries that grows to the
    count limit: once warm, append allocates nothing beyond the event itself (and,
    for a publisher's own id, an index node).

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe (the hub locks its own).
*/
class replay_buffer
{
public:
    using clock = std::chrono::steady_clock;

    /// An empty buffer. `epoch` empty: a random one. Otherwise 1 to 16 of `[0-9a-z]`.
    SSE_DECL explicit replay_buffer(replay_limits limits = {}, std::string epoch = {});

    replay_buffer(replay_buffer const&) = delete;
    replay_buffer& operator=(replay_buffer const&) = delete;

    /// The epoch that prefixes assigned ids.
    std::string const& epoch() const noexcept { return epoch_; }

    replay_limits const& limits() const noexcept { return limits_; }

    /** Serialises `e` once and returns it ready for append(), without touching the buffer.

        The hub calls this before taking its lock. If `e` has no id, room is reserved
        for the one append() assigns. Returns null and sets `ec` if `e` cannot be sent.
    */
    static SSE_DECL std::shared_ptr<published_event> prepare(
        event e, sse::audience to, std::string_view key, error_code& ec);

    /// Appends a prepared event: assigns its id and sequence, stores it, evicts. Returns it.
    SSE_DECL std::shared_ptr<published_event const> append(
        std::shared_ptr<published_event> prepared, clock::time_point now);

    /** Finishes a prepared event as append() would at `seq` of `epoch`, without
        storing it: sets its sequence number and time and, if it has no id of its
        publisher's, writes `<epoch>-<seq>`. For events handed out of a log's
        history, which the buffer does not keep.
    */
    static SSE_DECL void stamp(published_event& e, std::string_view epoch, std::uint64_t seq, clock::time_point now);

    /** Log-driven mode: appends a prepared event at the sequence number `seq`
        that a shared log gave it (at least next_seq()), then evicts. Returns it.

        `seq` above next_seq() means the log skipped positions: the stored events
        are dropped first, so that the history stays contiguous (ids before `seq`
        are then too old).
    */
    SSE_DECL std::shared_ptr<published_event const> append_at(
        std::shared_ptr<published_event> prepared, std::uint64_t seq, clock::time_point now);

    /** Log-driven mode: drops every event and continues at `position` of
        `epoch` (1 to 32 of `[0-9a-z]`, see valid_log_epoch()): newest_id() becomes
        `<epoch>-<position>`, ids of `epoch` below it are too old, and ids above it
        unknown, until events are appended.
    */
    SSE_DECL void restart(std::string epoch, std::uint64_t position);

    /// True if `epoch` may be a log's epoch: 1 to 32 characters of `[0-9a-z]`.
    static SSE_DECL bool valid_log_epoch(std::string_view epoch) noexcept;

    /// prepare() and append() in one call.
    SSE_DECL std::shared_ptr<published_event const> append(
        event e, sse::audience to, std::string_view key, clock::time_point now, error_code& ec);

    /// As above, for every subscriber; throws `std::system_error` if `e` cannot be sent.
    SSE_DECL std::shared_ptr<published_event const> append(event e, clock::time_point now = clock::now());

    /** Calls `f(event_buffer const&, published_event const&)` for each stored event
        after the one with `last_id`, oldest first.

        On failure `f` is not called and `ec` says why: error::foreign_event_id (an id
        of another epoch), error::event_id_too_old (events after it were evicted), or
        error::unknown_event_id (never seen, malformed, from the future, or a
        publisher's id no longer stored). The newest id gives no events and no error.
    */
    template<class Function>
    void since(std::string_view last_id, Function&& f, error_code& ec, clock::time_point now = clock::now())
    {
        std::size_t const first = find_after(last_id, ec, now);
        if (ec)
            return;
        for (std::size_t i = first; i < entries_.size(); ++i)
            f(entries_[i].buffer, *entries_[i].event);
    }

    /// The buffers after `last_id`, oldest first; empty with `ec` set on failure.
    SSE_DECL std::vector<event_buffer> since(
        std::string_view last_id, error_code& ec, clock::time_point now = clock::now());

    /** The id that stands for "up to date": `<epoch>-<seq>` of the newest event
        appended (`<epoch>-0` before the first). since() accepts it even after the
        event was evicted, as long as nothing newer was.
    */
    SSE_DECL std::string newest_id() const;

    /// Drops the events older than limits().max_age at `now`.
    SSE_DECL void evict_expired(clock::time_point now);

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return entries_.empty(); }
    /// Sequence number the next append() takes.
    std::uint64_t next_seq() const noexcept { return next_seq_; }
    /// Sequence number of the oldest stored event; next_seq() when empty.
    std::uint64_t first_seq() const noexcept { return next_seq_ - entries_.size(); }

    /// Drops every event; ids keep counting up.
    SSE_DECL void clear() noexcept;

private:
    struct entry
    {
        event_buffer buffer;             // aliases *event, shares its ownership
        published_event const* event;
    };

    SSE_DECL std::size_t find_after(std::string_view last_id, error_code& ec, clock::time_point now);
    SSE_DECL void store(std::shared_ptr<published_event> const& p, clock::time_point now);
    SSE_DECL void evict_front() noexcept;
    SSE_DECL void index_own_id(published_event const& e);

    replay_limits limits_;
    std::string epoch_;
    detail::ring<entry> entries_;
    std::unordered_map<std::string_view, std::uint64_t> own_ids_;   // keys view the stored events' ids
    std::size_t bytes_ = 0;
    std::uint64_t next_seq_ = 1;
};

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/replay_buffer.hpp>
#endif
#endif
