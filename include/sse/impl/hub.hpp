// sse/impl/hub.hpp - bodies of the hub and its subscribers.
#ifndef SSE_IMPL_HUB_HPP
#define SSE_IMPL_HUB_HPP

#include <sse/hub.hpp>
#include <sse/impl/replay_buffer.hpp>
#include <sse/detail/prefetch.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

struct fanout_tally
{
    std::size_t deliveries = 0;
    std::size_t drops = 0;
    std::array<std::uint64_t, drop_reason_count> drops_by{};

    void drop(drop_reason r) noexcept
    {
        ++drops;
        ++drops_by[static_cast<std::size_t>(r)];
    }
};

// What a publish, kick or shutdown does once the hub lock is released: sinks are
// called without locks, so that they may pull inline.
struct after_unlock
{
    // A sink to wake, and where its subscriber's queue holds the first event
    // (null if unknown): an address that notify() only prefetches, never reads.
    struct wake
    {
        std::shared_ptr<delivery_sink> sink;
        void const* queued = nullptr;
    };
    std::vector<wake> wakes;
    std::vector<std::shared_ptr<subscriber>> closed;
    bool wake_inline = false;   // see hub::fanout_locked()
};

// What inline wakes that worked took: one pass of hub::notify(), or the sum of
// a fan-out's steps.
struct inline_cost
{
    std::chrono::steady_clock::duration took{};
    std::size_t worked = 0;

    void add(inline_cost const& pass) noexcept
    {
        took += pass.took;
        worked += pass.worked;
    }
};

// A publish whose fan-out goes in steps (hub::publish_stepwise): where it
// stands. Lives on the publishing thread's stack; guarded by the hub's mutex.
// It is done once the hub no longer points at it (hub::stepwise_).
struct stepwise_fanout
{
    stepwise_fanout(std::shared_ptr<published_event const> const& p, std::chrono::steady_clock::time_point t)
        : event(p.get()), buffer(p, &p->wire), at(t)
    {
    }

    published_event const* event;
    event_buffer buffer;
    std::chrono::steady_clock::time_point at;
    std::size_t list = 0;                 // the audience's list being walked (a topic's index)
    std::size_t left = ~std::size_t(0);   // its subscribers not yet visited: [0, left)
    publish_result result;                // the counts so far
};

// Subscribers a stepwise fan-out visits with the hub lock held, between two
// rounds of writes: few enough that each is still in the cache when its write
// comes, though the kernel's sends in between use the cache too. Cachegrind,
// 4,000 subscribers written at once: first-level read misses per delivery 8.5
// with 16, 11.3 with 64, 15.0 with 256, 13.9 in one pass (docs/benchmarks.md).
// A step costs a lock, an unlock and two clock reads: a few ns per delivery.
inline constexpr std::size_t fanout_step = 16;

// One reusable pair of vectors per thread: a warm publisher allocates nothing here.
// A publish made from inside a sink callback finds the pool taken and uses fresh ones.
inline after_unlock& after_unlock_pool() noexcept
{
    thread_local after_unlock pool;
    return pool;
}

class scoped_after_unlock
{
public:
    scoped_after_unlock() noexcept : lists_(std::move(after_unlock_pool())) {}
    ~scoped_after_unlock()
    {
        lists_.wakes.clear();
        lists_.closed.clear();
        lists_.wake_inline = false;
        after_unlock_pool() = std::move(lists_);
    }
    scoped_after_unlock(scoped_after_unlock const&) = delete;
    scoped_after_unlock& operator=(scoped_after_unlock const&) = delete;
    after_unlock& get() noexcept { return lists_; }

private:
    after_unlock lists_;
};

inline bool includes(audience const& a, subscriber const& s)
{
    switch (a.kind()) {
    case audience_kind::all:
        return true;
    case audience_kind::topics:
        for (auto const& t : a.topic_names())
            if (std::binary_search(s.topics().begin(), s.topics().end(), t))
                return true;
        return false;
    case audience_kind::user:
        return !s.user().empty() && s.user() == a.user_id();
    case audience_kind::matching:
        return a.matcher() && a.matcher()(s);
    }
    return false;
}

inline void append_json_string(std::string& out, std::string_view s)
{
    out.push_back('"');
    for (char c : s) {
        auto const u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            char const* hex = "0123456789abcdef";
            out.append("\\u00");
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xF]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

inline std::string_view reset_reason(error_code const& ec) noexcept
{
    if (ec == error::event_id_too_old)
        return "too_old";
    if (ec == error::foreign_event_id)
        return "foreign";
    return "unknown";
}

inline event_buffer make_reset_event(std::string newest_id, std::string_view reason, std::string_view last_id)
{
    event e;
    e.id = std::move(newest_id);
    e.type = "reset";
    std::string data = "{\"reason\":\"";
    data.append(reason.data(), reason.size());
    data.append("\",\"lastEventId\":");
    append_json_string(data, last_id);
    data.push_back('}');
    e.data = std::move(data);
    return make_event_buffer(e);
}

// A subscriber resuming from before the history, waiting for backplane::read():
// the entries (after, up_to] of `epoch` go in front of its queue.
struct history_read
{
    std::weak_ptr<subscriber> sub;
    std::string epoch;
    std::uint64_t after = 0;
    std::uint64_t up_to = 0;
    std::string last_id;   // as the client sent it, for a reset
};

// A log entry as the hub keeps it. An entry that cannot be sent (the log was
// written by something else) still takes its position: it becomes a comment, so
// that clients move past it and the history stays contiguous.
inline std::shared_ptr<published_event> prepare_log_entry(log_entry& le)
{
    error_code ec;
    auto p = replay_buffer::prepare(std::move(le.ev), le.to, le.key, ec);
    if (ec) {
        event skipped;
        skipped.comment = "a log entry that cannot be sent was skipped";
        p = replay_buffer::prepare(std::move(skipped), le.to, le.key, ec);
    }
    return p;
}

inline event_buffer make_retry_hint(std::chrono::milliseconds retry)
{
    event e;
    e.retry = retry;
    return make_event_buffer(e);
}

} // namespace detail

// subscriber -----------------------------------------------------------------

SSE_DECL subscriber::subscriber(detail::subscriber_access, subscriber_options&& o,
    std::shared_ptr<queue_limits const> const& defaults, std::weak_ptr<delivery_sink> sink, bool has_sink,
    clock::time_point now)
    : sink_(std::move(sink)), limits_(o.limits ? std::make_shared<queue_limits const>(*o.limits) : defaults),
      coalesce_(o.coalesce), has_sink_(has_sink), user_(std::move(o.user)), topics_(std::move(o.topics)),
      connected_since_(now)
{
    std::sort(topics_.begin(), topics_.end());
    topics_.erase(std::unique(topics_.begin(), topics_.end()), topics_.end());
    if (!topics_.empty())
        topic_pos_.reset(new std::uint32_t[topics_.size()]);
    if (o.filter || o.max_per_second > 0) {
        extras_ = std::make_unique<extras>();
        extras_->filter = std::move(o.filter);
    }
    if (o.max_per_second > 0) {
        auto& x = *extras_;
        x.interval = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / o.max_per_second));
        if (x.interval <= clock::duration::zero())
            x.interval = clock::duration(1);
        std::size_t const burst = o.burst == 0 ? 1 : o.burst;
        x.tolerance = x.interval * static_cast<clock::rep>(burst - 1);
    }
}

SSE_DECL pull_result subscriber::pull(std::vector<event_buffer>& out, std::size_t max_bytes, clock::time_point now)
{
    std::lock_guard<detail::small_mutex> lock(mutex_);
    return pull_locked(out, max_bytes, now);
}

SSE_DECL pull_result subscriber::pull_locked(std::vector<event_buffer>& out, std::size_t max_bytes, clock::time_point now)
{
    pull_result r;
    armed_ = true;
    if (gated_) {
        r.drained = true;   // the hub wakes the sink once the history is in front
        return r;
    }
    std::size_t bytes = 0;
    while (!queue_.empty()) {
        queued& q = queue_.front();
        std::size_t const size = q.buffer->size();
        if (r.count != 0 && bytes + size > max_bytes)
            break;
        // Throttling is a GCRA: an event may leave at tat_ - tolerance_, and each one
        // that leaves moves tat_ one interval on; a quiet period lets `burst` through.
        if (extras_ && extras_->interval != clock::duration::zero() && q.event != nullptr) {
            auto& x = *extras_;
            auto const allowed_at = x.tat - x.tolerance;
            if (now < allowed_at) {
                r.next_due = allowed_at;
                break;
            }
            x.tat = std::max(x.tat, now) + x.interval;
        }
        out.push_back(std::move(q.buffer));
        bytes += size;
        queued_bytes_ -= size;
        queue_.pop_front();
        ++r.count;
    }
    if (queue_.empty()) {
        if (closed_) {
            r.closed = true;
        } else {
            // armed_ is set: the next push wakes the sink.
            r.drained = true;
            // A drained queue gives its storage back: idle subscribers are what a
            // server holds by the thousand, and at low rates (one event, one pull)
            // an allocation per event costs far less than the write it feeds.
            queue_.release();
        }
    }
    return r;
}

SSE_DECL std::size_t subscriber::queue_size() const
{
    std::lock_guard<detail::small_mutex> lock(mutex_);
    return queue_.size();
}

SSE_DECL std::size_t subscriber::queue_bytes() const
{
    std::lock_guard<detail::small_mutex> lock(mutex_);
    return queued_bytes_;
}

SSE_DECL std::size_t subscriber::queue_capacity() const
{
    std::lock_guard<detail::small_mutex> lock(mutex_);
    return queue_.capacity();
}

SSE_DECL std::optional<close_reason> subscriber::ended() const
{
    std::lock_guard<detail::small_mutex> lock(mutex_);
    if (!closed_)
        return std::nullopt;
    return reason_;
}

SSE_DECL void subscriber::erase_locked(std::size_t i)
{
    queued_bytes_ -= queue_[i].buffer->size();
    queue_.erase(i);
}

SSE_DECL std::size_t subscriber::first_event_locked() const noexcept
{
    for (std::size_t i = 0; i < queue_.size(); ++i)
        if (queue_[i].event != nullptr)
            return i;
    return queue_.size();
}

SSE_DECL bool subscriber::push_locked(
    event_buffer const& b, published_event const& e, clock::time_point now, detail::fanout_tally& tally)
{
    auto const drop_same_key = [&] {
        if (e.key.empty())
            return false;
        for (std::size_t i = 0; i < queue_.size(); ++i) {
            if (queue_[i].event != nullptr && queue_[i].event->key == e.key) {
                erase_locked(i);
                tally.drop(drop_reason::coalesced);
                return true;
            }
        }
        return false;
    };

    bool const coalesced = coalesce_ && drop_same_key();
    queue_.emplace_back(queued{b, &e, now});
    queued_bytes_ += b->size();
    ++tally.deliveries;

    auto const too_old = [&] {
        if (limits_->max_age == clock::duration::zero())
            return false;
        std::size_t const i = first_event_locked();
        return i < queue_.size() && now - queue_[i].at > limits_->max_age;
    };
    auto const too_big = [&] { return queued_bytes_ > limits_->max_bytes; };
    if (!too_big() && !too_old())
        return false;

    switch (limits_->policy) {
    case slow_consumer_policy::disconnect:
        close_locked(close_reason::slow_consumer);
        return true;
    case slow_consumer_policy::coalesce:
        if (!coalesced && too_big()) {
            // The new event is last: look for an older one with its key.
            std::size_t const n = queue_.size() - 1;
            for (std::size_t i = 0; i < n && !e.key.empty(); ++i) {
                if (queue_[i].event != nullptr && queue_[i].event->key == e.key) {
                    erase_locked(i);
                    tally.drop(drop_reason::coalesced);
                    break;
                }
            }
        }
        [[fallthrough]];
    case slow_consumer_policy::drop_oldest:
        for (;;) {
            bool const age = too_old();
            if (!age && !too_big())
                break;
            std::size_t const i = first_event_locked();
            if (i == queue_.size())
                break;
            erase_locked(i);
            tally.drop(age ? drop_reason::queue_age : drop_reason::queue_bytes);
        }
        return false;
    }
    return false;
}

SSE_DECL void subscriber::close_locked(close_reason why)
{
    closed_ = true;
    reason_ = why;
    // Queued events stay pullable so that the transport can flush them, unless the
    // subscriber waits for its history: they would follow a gap.
    bool const flush = why == close_reason::shutdown && !gated_;
    gated_ = false;
    if (flush)
        return;
    queue_.release();
    queued_bytes_ = 0;
    if (why == close_reason::slow_consumer && limits_->retry_hint > std::chrono::milliseconds::zero()) {
        event_buffer hint = detail::make_retry_hint(limits_->retry_hint);
        queued_bytes_ = hint->size();
        queue_.emplace_back(queued{std::move(hint), nullptr, clock::time_point{}});
    }
}

// hub ------------------------------------------------------------------------

SSE_DECL hub::hub(hub_options options)
    : options_(std::move(options)), default_limits_(std::make_shared<queue_limits const>(options_.queue)),
      replay_(options_.replay, options_.backplane ? std::string() : options_.epoch)
{
    if (options_.backplane)
        options_.backplane->start(
            std::make_shared<backplane_receiver>(std::weak_ptr<void>(anchor_)), options_.replay.max_events);
}

SSE_DECL hub::~hub()
{
    shutdown();
    // Waits for the receiver's calls under way; later ones find no hub.
    anchor_->release();
}

SSE_DECL bool hub::registered_locked(subscriber const& s) const noexcept
{
    return s.all_pos_ < all_.size() && all_[s.all_pos_].get() == &s;
}

SSE_DECL hub::clock::time_point hub::now() const
{
    return options_.clock ? options_.clock() : clock::now();
}

SSE_DECL void hub::register_locked(std::shared_ptr<subscriber> const& s)
{
    // A fan-out going in steps meanwhile has published its event before this
    // subscriber came: it gets the event by replay only, if it asks for it.
    if (stepwise_ != nullptr)
        s->visited_seq_ = stepwise_->event->seq;
    s->all_pos_ = static_cast<std::uint32_t>(all_.size());
    all_.push_back(s);
    for (std::size_t i = 0; i < s->topics_.size(); ++i) {
        auto& list = topics_[s->topics_[i]];
        s->topic_pos_[i] = static_cast<std::uint32_t>(list.size());
        list.push_back(s.get());
    }
    if (!s->user_.empty()) {
        auto& list = users_[s->user_];
        s->user_pos_ = static_cast<std::uint32_t>(list.size());
        list.push_back(s.get());
    }
}

SSE_DECL std::shared_ptr<subscriber> hub::unregister_locked(subscriber& s)
{
    // Each index is a vector: removal swaps the last element into the hole and
    // updates the position that element keeps of itself.
    std::uint32_t const pos = s.all_pos_;
    std::shared_ptr<subscriber> keep = std::move(all_[pos]);
    if (pos + 1 != all_.size()) {
        all_[pos] = std::move(all_.back());
        all_[pos]->all_pos_ = pos;
    }
    all_.pop_back();
    s.all_pos_ = ~std::uint32_t(0);

    for (std::size_t i = 0; i < s.topics_.size(); ++i) {
        auto const it = topics_.find(s.topics_[i]);
        auto& list = it->second;
        std::uint32_t const at = s.topic_pos_[i];
        subscriber* moved = list.back();
        list[at] = moved;
        list.pop_back();
        if (moved != &s) {
            auto const j = std::lower_bound(moved->topics_.begin(), moved->topics_.end(), s.topics_[i]) -
                           moved->topics_.begin();
            moved->topic_pos_[static_cast<std::size_t>(j)] = at;
        }
        if (list.empty())
            topics_.erase(it);
    }
    if (!s.user_.empty()) {
        auto const it = users_.find(s.user_);
        auto& list = it->second;
        subscriber* moved = list.back();
        list[s.user_pos_] = moved;
        list.pop_back();
        if (moved != &s)
            moved->user_pos_ = s.user_pos_;
        if (list.empty())
            users_.erase(it);
    }
    return keep;
}

SSE_DECL std::shared_ptr<subscriber> hub::subscribe(
    subscriber_options o, std::shared_ptr<delivery_sink> const& sink, error_code& ec)
{
    ec = {};
    std::optional<std::string> const last_id = std::move(o.last_event_id);
    auto const start = now();
    auto s = std::make_shared<subscriber>(
        detail::subscriber_access{}, std::move(o), default_limits_, sink, sink != nullptr, start);
    enroll(s, last_id, start, ec);
    if (ec)
        return nullptr;
    return s;
}

SSE_DECL void hub::enroll(std::shared_ptr<subscriber> const& s, std::optional<std::string> const& last_id,
    clock::time_point start, error_code& ec)
{
    bool must_read = false;
    detail::history_read read;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_) {
            ec = error::hub_shut_down;
            return;
        }
        s->id_ = ++next_id_;
        register_locked(s);
        ++counters_.subscribes;
        if (options_.backplane && !log_synced_) {
            // No history yet: the first sync resolves its Last-Event-ID.
            {
                std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
                s->gated_ = true;
            }
            // Subscribers that left meanwhile are dropped from time to time.
            if (awaiting_sync_.size() > 2 * all_.size() + 16)
                awaiting_sync_.erase(std::remove_if(awaiting_sync_.begin(), awaiting_sync_.end(),
                                         [](auto const& w) { return w.first.expired(); }),
                    awaiting_sync_.end());
            awaiting_sync_.emplace_back(s, last_id ? *last_id : std::string());
        } else if (last_id && !last_id->empty()) {
            must_read = resume_locked(s, *last_id, start, read);
        }
    }
    if (options_.on_subscribe)
        options_.on_subscribe(*s);
    if (must_read)
        start_read(std::move(read));
}

SSE_DECL bool hub::resume_locked(std::shared_ptr<subscriber> const& s, std::string const& last_id,
    clock::time_point at, detail::history_read& read)
{
    error_code replay_ec;
    std::size_t replayed = 0;
    auto const replay_one = [&](event_buffer const& b, published_event const& e) {
        if (!detail::includes(e.audience, *s) || !s->accepts(e))
            return;
        std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
        s->queue_.emplace_back(subscriber::queued{b, &e, at});
        s->queued_bytes_ += b->size();
        ++replayed;
    };
    replay_.since(last_id, replay_one, replay_ec, at);
    if (replay_ec == error::event_id_too_old && options_.backplane) {
        // The log may still have what the history lost: the history goes in the
        // queue now, and the read puts the part before it in front.
        std::string_view epoch;
        std::uint64_t after = 0;
        if (detail::parse_assigned_id(last_id, epoch, after) && epoch == replay_.epoch()) {
            std::uint64_t const first = replay_.first_seq();
            std::string from;
            detail::append_assigned_id(from, epoch, first - 1);
            replay_.since(from, replay_one, replay_ec, at);
            counters_.replayed += replayed;
            {
                std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
                s->gated_ = true;
            }
            read.sub = s;
            read.epoch = replay_.epoch();
            read.after = after;
            read.up_to = first - 1;
            read.last_id = last_id;
            ++counters_.history_reads;
            return true;
        }
    }
    if (replay_ec == error::foreign_event_id && options_.foreign_ids == foreign_id_policy::replay_epoch)
        replay_.since(replay_.epoch() + "-0", replay_one, replay_ec, at);
    counters_.replayed += replayed;
    if (replay_ec) {
        auto reset = detail::make_reset_event(replay_.newest_id(), detail::reset_reason(replay_ec), last_id);
        std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
        s->queued_bytes_ += reset->size();
        s->queue_.emplace_back(subscriber::queued{std::move(reset), nullptr, at});
        ++counters_.resets;
    }
    return false;
}

SSE_DECL std::shared_ptr<subscriber> hub::subscribe(subscriber_options o, std::shared_ptr<delivery_sink> const& sink)
{
    error_code ec;
    auto s = subscribe(std::move(o), sink, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::hub::subscribe"));
    return s;
}

SSE_DECL std::string_view replay_lookup::reset_reason() const noexcept
{
    return reset ? detail::reset_reason(reset) : std::string_view();
}

SSE_DECL replay_lookup hub::events_after(std::string_view last_event_id, subscriber_options who, error_code& ec)
{
    ec = {};
    replay_lookup r;
    who.last_event_id.reset();
    auto const start = now();
    // An unregistered subscriber: routing and filters see exactly what they
    // would see in subscribe(), and nothing else learns of it.
    subscriber const probe(detail::subscriber_access{}, std::move(who), default_limits_, {}, false, start);
    std::lock_guard<std::mutex> lock(mutex_);
    if (shut_down_) {
        ec = error::hub_shut_down;
        return r;
    }
    r.newest_id = replay_.newest_id();
    if (last_event_id.empty())
        return r;
    auto const collect = [&](event_buffer const& b, published_event const& e) {
        if (!detail::includes(e.audience, probe) || !probe.accepts(e))
            return;
        // The buffer shares ownership of the event it points into.
        r.events.emplace_back(b, &e);
    };
    replay_.since(last_event_id, collect, r.reset, start);
    if (r.reset == error::foreign_event_id && options_.foreign_ids == foreign_id_policy::replay_epoch)
        replay_.since(replay_.epoch() + "-0", collect, r.reset, start);
    if (r.reset)
        r.events.clear();
    return r;
}

SSE_DECL replay_lookup hub::events_after(std::string_view last_event_id, subscriber_options who)
{
    error_code ec;
    auto r = events_after(last_event_id, std::move(who), ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::hub::events_after"));
    return r;
}

SSE_DECL void hub::unsubscribe(subscriber& s)
{
    std::shared_ptr<subscriber> keep;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (s.all_pos_ >= all_.size() || all_[s.all_pos_].get() != &s)
            return;
        keep = unregister_locked(s);
        {
            std::lock_guard<detail::small_mutex> sub_lock(s.mutex_);
            s.close_locked(close_reason::unsubscribed);
        }
        ++counters_.disconnects[static_cast<std::size_t>(close_reason::unsubscribed)];
    }
    if (options_.on_unsubscribe)
        options_.on_unsubscribe(s, close_reason::unsubscribed);
}

SSE_DECL void hub::deliver_locked(subscriber& s, event_buffer const& b, published_event const& e,
    clock::time_point at, detail::fanout_tally& tally, detail::after_unlock& after)
{
    if (!s.accepts(e))
        return;
    std::shared_ptr<delivery_sink> sink;
    void const* queued = nullptr;
    bool closed = false;
    {
        std::lock_guard<detail::small_mutex> lock(s.mutex_);
        if (s.closed_)
            return;
        closed = s.push_locked(b, e, at, tally);
        queued = s.queue_.empty() ? nullptr : &s.queue_.front();
        // A gated subscriber is woken when its history is in front.
        if (!closed && s.has_sink_ && !s.gated_) {
            // A sink destroyed without unsubscribe() ends the subscription here.
            if (s.armed_)
                sink = s.sink_.lock();
            if (s.armed_ ? sink == nullptr : s.sink_.expired()) {
                s.close_locked(close_reason::sink_expired);
                closed = true;
            }
            s.armed_ = false;
        }
    }
    if (closed)
        after.closed.push_back(all_[s.all_pos_]);
    else if (sink)
        after.wakes.push_back({std::move(sink), queued});
}

SSE_DECL void hub::notify(detail::after_unlock& after, detail::inline_cost* fanout)
{
    // The sinks of many connections are cold in the cache: ask for each a little
    // ahead (its own line and, for an inline wake, the queued event's slot two
    // sinks ahead, what its wake() reads one ahead), and let it go right after its
    // wake, while it is still at hand.
    auto& wakes = after.wakes;
    std::size_t const n = wakes.size();
    bool const inline_wakes = after.wake_inline && n != 0;
    auto const start = inline_wakes ? clock::now() : clock::time_point{};
    std::size_t worked = 0;   // inline wakes that did their work here
    for (std::size_t i = 0; i < n; ++i) {
        if (i + 2 < n) {
            detail::prefetch(wakes[i + 2].sink.get());
            if (inline_wakes && wakes[i + 2].queued != nullptr)
                detail::prefetch(wakes[i + 2].queued);
        }
        if (i + 1 < n)
            wakes[i + 1].sink->prefetch();
        std::shared_ptr<delivery_sink> const sink = std::move(wakes[i].sink);
        if (!inline_wakes)
            sink->wake();
        else if (sink->wake_inline())
            ++worked;
    }
    if (worked != 0) {
        detail::inline_cost const pass{clock::now() - start, worked};
        if (fanout == nullptr)
            note_inline_cost(pass);
        else
            fanout->add(pass);
    }
    for (auto& s : after.closed) {
        close_reason const why = s->reason_;   // written once, before the hub lock was released
        if (why != close_reason::sink_expired)
            if (auto sink = s->sink_.lock())
                sink->closed(why);
        if (options_.on_unsubscribe)
            options_.on_unsubscribe(*s, why);
    }
}

SSE_DECL void hub::note_inline_cost(detail::inline_cost const& c)
{
    // What one inline wake that works costs (the others are a small part of the
    // pass), over a whole fan-out: a fan-out in steps adds its steps up first,
    // so that a step that waited for the core (a preempted thread) weighs as a
    // part of the fan-out, not as a fan-out of its own. A moving average, so that
    // one slow fan-out does not decide alone either.
    auto const took = std::chrono::duration_cast<std::chrono::nanoseconds>(c.took).count();
    std::int64_t const per_wake = took / static_cast<std::int64_t>(c.worked);
    std::int64_t const old = inline_wake_ns_.load(std::memory_order_relaxed);
    inline_wake_ns_.store(old == 0 ? per_wake : old + (per_wake - old) / 8, std::memory_order_relaxed);
}

SSE_DECL void hub::fanout_locked(published_event const& p, event_buffer const& buffer, clock::time_point at,
    detail::fanout_tally& tally, detail::after_unlock& after)
{
    audience const& a = p.audience;
    switch (a.kind()) {
    case audience_kind::all:
        // As in notify(): ask for the subscribers a few ahead (their queue and lock).
        for (std::size_t i = 0, n = all_.size(); i < n; ++i) {
            if (i + 4 < n)
                all_[i + 4]->prefetch();
            deliver_locked(*all_[i], buffer, p, at, tally, after);
        }
        break;
    case audience_kind::matching:
        if (auto const& match = a.matcher())
            for (auto const& s : all_)
                if (match(*s))
                    deliver_locked(*s, buffer, p, at, tally, after);
        break;
    case audience_kind::topics: {
        auto const& names = a.topic_names();
        for (std::size_t j = 0; j < names.size(); ++j) {
            auto const it = topics_.find(names[j]);
            if (it == topics_.end())
                continue;
            for (subscriber* s : it->second) {
                // A subscriber of several of the topics gets the event once: at the first.
                bool seen = false;
                for (std::size_t k = 0; k < j && !seen; ++k)
                    seen = std::binary_search(s->topics_.begin(), s->topics_.end(), names[k]);
                if (!seen)
                    deliver_locked(*s, buffer, p, at, tally, after);
            }
        }
        break;
    }
    case audience_kind::user:
        if (auto const it = users_.find(a.user_id()); it != users_.end())
            for (subscriber* s : it->second)
                deliver_locked(*s, buffer, p, at, tally, after);
        break;
    }
}

SSE_DECL double hub::note_fanout_locked(clock::time_point at)
{
    // The rate of fan-outs of the last second or so: each adds one, decaying with
    // a time constant of a second. Returns the time since the previous one.
    double const since = std::chrono::duration<double>(at - previous_fanout_).count();
    fanout_rate_ = (previous_fanout_ == clock::time_point{} ? 0 : fanout_rate_ * std::exp(-std::max(since, 0.0))) + 1;
    previous_fanout_ = at;
    return since;
}

SSE_DECL bool hub::inline_wakes_locked(clock::time_point at, double since, std::size_t deliveries)
{
    // The sinks may do their work on this thread (write to idle connections at
    // once) when that is expected to take less than half the time between
    // events, were every one of them to work. Otherwise events come faster than
    // one thread writes them one by one: the connections' own threads take them,
    // and each gathers those that queue up meanwhile into one write.
    // Both the time since the previous event and the rate of the last second or
    // so must leave that time. The gap alone would let a loaded thread that
    // waited for the core it shares with the connections' threads write inline;
    // the rate alone would take a second to notice that events come fast.
    //
    // What an inline wake takes is measured only inline. Once the rate rules
    // inline wakes out, that measure would stand for good, and one taken while
    // the machine was slow would keep the events of a quiet hub off this thread
    // after the machine recovered. So a measure over a second old is taken again,
    // when the gap leaves the time even at that measure: at most one fan-out a
    // second that the rate alone would have handed to the sinks' threads.
    double const inline_time =
        2 * 1e-9 * static_cast<double>(inline_wake_ns_.load(std::memory_order_relaxed)) * static_cast<double>(deliveries);
    bool go = false;
    switch (options_.inline_wakes) {
    case inline_wake_policy::automatic:
        go = inline_time < since &&
             (inline_time * fanout_rate_ < 1 || at - last_inline_fanout_ >= std::chrono::seconds(1));
        break;
    case inline_wake_policy::always:
        go = true;
        break;
    case inline_wake_policy::never:
        go = false;
        break;
    }
    if (go && deliveries != 0)
        last_inline_fanout_ = at;
    return go;
}

SSE_DECL std::size_t hub::audience_size_locked(audience const& a) const
{
    switch (a.kind()) {
    case audience_kind::all:
    case audience_kind::matching:
        return all_.size();
    case audience_kind::topics: {
        std::size_t n = 0;
        for (auto const& t : a.topic_names())
            if (auto const it = topics_.find(t); it != topics_.end())
                n += it->second.size();
        return n;
    }
    case audience_kind::user:
        if (auto const it = users_.find(a.user_id()); it != users_.end())
            return it->second.size();
        return 0;
    }
    return 0;
}

SSE_DECL bool hub::step_locked(
    detail::stepwise_fanout& f, std::size_t budget, detail::fanout_tally& tally, detail::after_unlock& after)
{
    published_event const& p = *f.event;
    audience const& a = p.audience;
    // Walks a list from its end. Between two steps, an unsubscribe moves the
    // list's last subscriber into the hole it leaves: from the part already
    // visited (the end) into either part, never from the part not yet visited
    // into the visited one, so no one is missed. One moved back into the part not
    // yet visited has its visited_seq_ at this event already, and is not served
    // twice; nor is a subscriber of several of the topics. Subscribers added
    // meanwhile go past `left`, and register_locked() marked them visited anyway.
    //
    // Each delivery reads the subscriber and the reference counts of its sink,
    // all cold since the previous event, and a walk is too quick for a prefetch
    // a few subscribers ahead to arrive in time: a step asks for the subscribers
    // of the next step as it ends, while their wakes (one send each, microseconds)
    // go on, and for their sinks' counts as it starts.
    auto const walk = [&](auto const& list) {
        f.left = std::min(f.left, list.size());
        if (budget != ~std::size_t(0))
            for (std::size_t j = f.left - std::min(f.left, budget); j < f.left; ++j)
                list[j]->prefetch_sink();
        for (; f.left != 0 && budget != 0; --budget) {
            std::size_t const i = --f.left;
            if (i >= 4)
                list[i - 4]->prefetch();
            subscriber& s = *list[i];
            if (s.visited_seq_ == p.seq)
                continue;
            s.visited_seq_ = p.seq;
            if (a.kind() != audience_kind::matching || (a.matcher() && a.matcher()(s)))
                deliver_locked(s, f.buffer, p, f.at, tally, after);
        }
        for (std::size_t j = f.left - std::min(f.left, detail::fanout_step); j < f.left; ++j)
            list[j]->prefetch();
        return f.left == 0;
    };
    switch (a.kind()) {
    case audience_kind::all:
    case audience_kind::matching:
        return walk(all_);
    case audience_kind::user: {
        auto const it = users_.find(a.user_id());
        return it == users_.end() || walk(it->second);
    }
    case audience_kind::topics: {
        auto const& names = a.topic_names();
        for (; f.list < names.size(); ++f.list, f.left = ~std::size_t(0))
            if (auto const it = topics_.find(names[f.list]); it != topics_.end() && !walk(it->second))
                return false;
        return true;
    }
    }
    return true;
}

SSE_DECL void hub::finish_stepwise_locked(detail::after_unlock& after)
{
    if (stepwise_ == nullptr)
        return;
    detail::stepwise_fanout& f = *stepwise_;
    std::size_t const settled = after.closed.size();
    detail::fanout_tally tally;
    step_locked(f, ~std::size_t(0), tally, after);
    settle_locked(after, tally, f.result, settled);
    stepwise_ = nullptr;
}

SSE_DECL void hub::publish_stepwise(std::unique_lock<std::mutex>& lock, std::shared_ptr<published_event const> const& p,
    clock::time_point at, detail::after_unlock& after, publish_result& r)
{
    detail::stepwise_fanout f(p, at);
    stepwise_ = &f;
    // A sink or a hook that throws must not leave the hub pointing here.
    struct forget
    {
        hub& h;
        std::unique_lock<std::mutex>& lock;
        detail::stepwise_fanout& f;
        bool finished = false;
        ~forget()
        {
            if (finished)
                return;
            if (!lock.owns_lock())
                lock.lock();
            if (h.stepwise_ == &f)
                h.stepwise_ = nullptr;
        }
    } guard{*this, lock, f, false};
    after.wake_inline = true;
    std::size_t settled = after.closed.size();   // by the caller
    detail::inline_cost cost;                    // of this fan-out's steps
    for (;;) {
        if (stepwise_ == &f) {   // else a publish or a shutdown made meanwhile finished it
            detail::fanout_tally tally;
            bool const last = step_locked(f, detail::fanout_step, tally, after);
            settle_locked(after, tally, f.result, settled);
            if (last)
                stepwise_ = nullptr;
        }
        bool const done = stepwise_ != &f;
        lock.unlock();
        notify(after, &cost);
        after.wakes.clear();
        after.closed.clear();
        settled = 0;
        if (done)
            break;
        lock.lock();
    }
    guard.finished = true;
    if (cost.worked != 0)
        note_inline_cost(cost);
    r = std::move(f.result);
    r.id = p->id;
}

SSE_DECL void hub::settle_locked(
    detail::after_unlock& after, detail::fanout_tally const& tally, publish_result& r, std::size_t first_closed)
{
    // Subscribers closed by the fan-out leave the indexes only now: the fan-out
    // walks them. A closed one is skipped by deliver_locked() meanwhile.
    for (std::size_t i = first_closed; i < after.closed.size(); ++i) {
        auto const& s = after.closed[i];
        unregister_locked(*s);
        ++counters_.disconnects[static_cast<std::size_t>(s->reason_)];
        if (s->reason_ == close_reason::slow_consumer)
            ++r.disconnects;
    }
    counters_.deliveries += tally.deliveries;
    for (std::size_t i = 0; i < drop_reason_count; ++i)
        counters_.drops[i] += tally.drops_by[i];
    r.deliveries += tally.deliveries;
    r.drops += tally.drops;
}

SSE_DECL publish_result hub::publish(event e, audience to, std::string_view key, error_code& ec)
{
    publish_result r;
    if (options_.backplane) {
        // An inline failure is this call's error; a later answer has no one to go to.
        struct outcome
        {
            std::mutex mutex;
            bool returned = false;
            error_code ec;
        };
        auto const o = std::make_shared<outcome>();
        ec = publish_to_log(std::move(e), std::move(to), std::string(key), {},
            [o](error_code done_ec, std::string const&) {
                std::lock_guard<std::mutex> lock(o->mutex);
                if (!o->returned)
                    o->ec = done_ec;
            });
        if (!ec) {
            std::lock_guard<std::mutex> lock(o->mutex);
            o->returned = true;
            ec = o->ec;
        }
        return r;
    }
    auto prepared = replay_buffer::prepare(std::move(e), std::move(to), key, ec);
    if (ec)
        return r;
    detail::scoped_after_unlock scoped;
    auto& after = scoped.get();
    std::unique_lock<std::mutex> lock(mutex_);
    if (shut_down_) {
        ec = error::hub_shut_down;
        return r;
    }
    // A fan-out still going in steps comes first: its event came before this one.
    finish_stepwise_locked(after);
    std::size_t const settled = after.closed.size();
    auto const at = now();
    auto const p = replay_.append(std::move(prepared), at);
    ++counters_.published;
    double const since = note_fanout_locked(at);
    // Steps pay off when the sinks write on this thread; sinks that only post
    // (no inline wake has worked yet) gain nothing from them, and a publish at a
    // high rate need not count its audience.
    bool const sinks_write = options_.inline_wakes == inline_wake_policy::always ||
                             inline_wake_ns_.load(std::memory_order_relaxed) > 0;
    if (sinks_write) {
        std::size_t const reach = audience_size_locked(p->audience);
        if (reach > detail::fanout_step && inline_wakes_locked(at, since, reach)) {
            ++counters_.inline_fanouts;
            publish_stepwise(lock, p, at, after, r);
            return r;
        }
    }
    detail::fanout_tally tally;
    fanout_locked(*p, event_buffer(p, &p->wire), at, tally, after);
    after.wake_inline = inline_wakes_locked(at, since, tally.deliveries);
    counters_.inline_fanouts += after.wake_inline && tally.deliveries != 0;
    settle_locked(after, tally, r, settled);
    r.id = p->id;
    lock.unlock();
    notify(after);
    return r;
}

SSE_DECL void hub::publish_async(event e, audience to, publish_options o, publish_handler done)
{
    error_code ec;
    if (!options_.backplane) {
        auto r = publish(std::move(e), std::move(to), o.key, ec);
        if (done)
            done(ec, std::move(r));
        return;
    }
    ec = publish_to_log(std::move(e), std::move(to), std::move(o.key), std::move(o.idempotency_key),
        [done](error_code done_ec, std::string const& id) {
            if (!done)
                return;
            publish_result r;
            r.id = id;
            done(done_ec, std::move(r));
        });
    if (ec && done)
        done(ec, publish_result{});
}

SSE_DECL error_code hub::publish_to_log(
    event e, audience to, std::string key, std::string idempotency_key, log_done done)
{
    if (auto const ec = validate(e))
        return ec;
    if (to.kind() == audience_kind::matching)
        return error::audience_not_shareable;
    std::optional<std::string> own_id = e.id;
    log_publish p;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_)
            return error::hub_shut_down;
        // Before the first sync the hub follows no epoch yet: the log's current one applies.
        if (log_synced_)
            p.epoch = replay_.epoch();
    }
    p.ev = std::move(e);
    p.to = std::move(to);
    p.key = std::move(key);
    p.idempotency_key = std::move(idempotency_key);
    options_.backplane->publish(std::move(p),
        [own_id = std::move(own_id), done = std::move(done)](
            error_code ec, std::string const& epoch, std::uint64_t seq) {
            std::string id;
            if (!ec) {
                if (own_id)
                    id = *own_id;
                else
                    detail::append_assigned_id(id, epoch, seq);
            }
            done(ec, id);
        });
    return {};
}

SSE_DECL publish_result hub::publish(event e, audience to, std::string_view key)
{
    error_code ec;
    auto r = publish(std::move(e), std::move(to), key, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::hub::publish"));
    return r;
}

SSE_DECL bool hub::kick(std::uint64_t subscriber_id, close_reason why)
{
    detail::scoped_after_unlock scoped;
    auto& after = scoped.get();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto const it = std::find_if(
            all_.begin(), all_.end(), [&](auto const& s) { return s->id_ == subscriber_id; });
        if (it == all_.end())
            return false;
        auto s = unregister_locked(**it);
        {
            std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
            s->close_locked(why);
        }
        ++counters_.disconnects[static_cast<std::size_t>(why)];
        after.closed.push_back(std::move(s));
    }
    notify(after);
    return true;
}

SSE_DECL void hub::shutdown()
{
    detail::after_unlock after;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_)
            return;
        shut_down_ = true;
        // A fan-out still going in steps was published before: its event stays pullable too.
        finish_stepwise_locked(after);
        std::size_t const first = after.closed.size();
        after.closed.insert(
            after.closed.end(), std::make_move_iterator(all_.begin()), std::make_move_iterator(all_.end()));
        all_.clear();
        topics_.clear();
        users_.clear();
        for (std::size_t i = first; i < after.closed.size(); ++i) {
            auto const& s = after.closed[i];
            s->all_pos_ = ~std::uint32_t(0);
            std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
            s->close_locked(close_reason::shutdown);
        }
        counters_.disconnects[static_cast<std::size_t>(close_reason::shutdown)] += after.closed.size() - first;
        awaiting_sync_.clear();
    }
    notify(after);
    if (options_.backplane)
        options_.backplane->stop();
}

SSE_DECL hub_stats hub::stats() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    hub_stats st = counters_;
    st.subscribers = all_.size();
    for (auto const& [topic, list] : topics_)
        st.by_topic.emplace(topic, list.size());
    for (auto const& [user, list] : users_)
        st.by_user.emplace(user, list.size());
    for (auto const& s : all_) {
        std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
        st.queued_events += s->queue_.size();
        st.queued_bytes += s->queued_bytes_;
        st.max_queue_events = std::max(st.max_queue_events, s->queue_.size());
        st.max_queue_bytes = std::max(st.max_queue_bytes, s->queued_bytes_);
    }
    st.replay_events = replay_.size();
    st.replay_bytes = replay_.bytes();
    return st;
}

SSE_DECL std::string hub::newest_id() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return replay_.newest_id();
}

SSE_DECL std::string hub::epoch() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return replay_.epoch();
}

// hub with a backplane ---------------------------------------------------------

SSE_DECL void hub::ungate_locked(subscriber& s, detail::after_unlock& after)
{
    // With s.mutex_ held.
    s.gated_ = false;
    if (!s.has_sink_ || s.closed_)
        return;
    if (auto sink = s.sink_.lock()) {
        s.armed_ = false;
        after.wakes.push_back({std::move(sink)});
    }
}

SSE_DECL void hub::start_read(detail::history_read read)
{
    std::string const epoch = read.epoch;
    std::uint64_t const after = read.after;
    std::uint64_t const up_to = read.up_to;
    std::weak_ptr<detail::hub_anchor> anchor = anchor_;
    options_.backplane->read(epoch, after, up_to,
        [anchor = std::move(anchor), read = std::move(read)](error_code ec, std::vector<log_entry> got) {
            if (auto const a = anchor.lock())
                a->with([&](hub& h) { h.history_read_done(read, ec, std::move(got)); });
        });
}

SSE_DECL void hub::history_read_done(detail::history_read const& read, error_code ec, std::vector<log_entry> got)
{
    detail::scoped_after_unlock scoped;
    auto& after = scoped.get();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto const s = read.sub.lock();
        if (shut_down_ || s == nullptr || !registered_locked(*s))
            return;
        auto const at = now();
        // Only the exact entries close the gap between the client's id and the
        // history: anything else (trimmed, another epoch, an error) is a reset.
        bool exact = !ec && got.size() == read.up_to - read.after;
        for (std::size_t i = 0; exact && i < got.size(); ++i)
            exact = got[i].seq == read.after + 1 + i;
        std::vector<subscriber::queued> front;
        if (exact) {
            front.reserve(got.size());
            for (auto& le : got) {
                std::shared_ptr<published_event> p = detail::prepare_log_entry(le);
                replay_buffer::stamp(*p, read.epoch, le.seq, at);
                if (!detail::includes(p->audience, *s) || !s->accepts(*p))
                    continue;
                published_event const* e = p.get();
                front.push_back(subscriber::queued{event_buffer(std::move(p), &e->wire), e, at});
            }
            counters_.replayed += front.size();
        } else {
            std::string id;
            detail::append_assigned_id(id, read.epoch, read.up_to);
            front.push_back(subscriber::queued{
                detail::make_reset_event(std::move(id), "too_old", read.last_id), nullptr, at});
            ++counters_.resets;
        }
        std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
        if (s->closed_)
            return;
        // In front of what was queued since the subscribe: rotate it behind.
        std::size_t const queued_before = s->queue_.size();
        for (auto& q : front) {
            s->queued_bytes_ += q.buffer->size();
            s->queue_.emplace_back(std::move(q));
        }
        for (std::size_t i = 0; i < queued_before; ++i) {
            subscriber::queued q = std::move(s->queue_.front());
            s->queue_.pop_front();
            s->queue_.emplace_back(std::move(q));
        }
        ungate_locked(*s, after);
    }
    notify(after);
}

SSE_DECL void hub::reset_all_locked(std::string id, std::string_view reason, std::string const& last_id,
    clock::time_point at, detail::after_unlock& after)
{
    auto const reset = detail::make_reset_event(std::move(id), reason, last_id);
    for (auto const& s : all_) {
        std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
        if (s->closed_)
            continue;
        s->queue_.emplace_back(subscriber::queued{reset, nullptr, at});
        s->queued_bytes_ += reset->size();
        ++counters_.resets;
        if (s->has_sink_ && !s->gated_ && s->armed_) {
            if (auto sink = s->sink_.lock()) {
                s->armed_ = false;
                after.wakes.push_back({std::move(sink)});
            }
        }
    }
    ++counters_.log_resets;
}

SSE_DECL void hub::fill_history_locked(
    std::string epoch, std::uint64_t head, std::vector<log_entry>& tail, clock::time_point at)
{
    std::uint64_t start = head;
    if (!tail.empty() && tail.front().seq != 0 && tail.front().seq <= head)
        start = tail.front().seq - 1;
    replay_.restart(epoch, start);
    for (auto& le : tail) {
        // Out of order or past the head: not part of this log's tail.
        if (le.seq < replay_.next_seq() || le.seq > head)
            continue;
        replay_.append_at(detail::prepare_log_entry(le), le.seq, at);
    }
    // A tail that does not end at the head cannot be followed from the head.
    if (replay_.next_seq() - 1 != head)
        replay_.restart(std::move(epoch), head);
    counters_.log_position = head;
}

SSE_DECL void hub::entries_locked(std::vector<log_entry>& batch, clock::time_point at, detail::fanout_tally& tally,
    detail::after_unlock& after)
{
    for (auto& le : batch) {
        std::uint64_t const cursor = counters_.log_position;
        if (le.seq <= cursor || le.seq == ~std::uint64_t(0))
            continue;   // already delivered: a batch handed over twice
        if (le.seq != cursor + 1) {
            // Entries were lost: clients are told, and the history restarts
            // before this entry so that it stays contiguous.
            std::string const previous = replay_.newest_id();
            replay_.restart(replay_.epoch(), le.seq - 1);
            reset_all_locked(replay_.newest_id(), "gap", previous, at, after);
        }
        auto const p = replay_.append_at(detail::prepare_log_entry(le), le.seq, at);
        ++counters_.published;
        fanout_locked(*p, event_buffer(p, &p->wire), at, tally, after);
        after.wake_inline = inline_wakes_locked(at, note_fanout_locked(at), tally.deliveries);
        counters_.inline_fanouts += after.wake_inline && tally.deliveries != 0;
        counters_.log_position = le.seq;
    }
}

SSE_DECL void hub::log_synced(std::string epoch, std::uint64_t head, std::vector<log_entry> tail)
{
    // An epoch that ids cannot carry is a fault of the backplane: nothing to follow.
    if (!replay_buffer::valid_log_epoch(epoch) || head == ~std::uint64_t(0))
        return;
    std::vector<detail::history_read> reads;
    detail::scoped_after_unlock scoped;
    auto& after = scoped.get();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_)
            return;
        auto const at = now();
        detail::fanout_tally tally;
        std::uint64_t const cursor = counters_.log_position;
        if (!log_synced_) {
            fill_history_locked(std::move(epoch), head, tail, at);
            log_synced_ = true;
            for (auto& [weak, last_id] : awaiting_sync_) {
                auto const s = weak.lock();
                if (s == nullptr || !registered_locked(*s))
                    continue;
                detail::history_read read;
                if (!last_id.empty() && resume_locked(s, last_id, at, read)) {
                    reads.push_back(std::move(read));
                    continue;
                }
                std::lock_guard<detail::small_mutex> sub_lock(s->mutex_);
                ungate_locked(*s, after);
            }
            awaiting_sync_.clear();
            awaiting_sync_.shrink_to_fit();
        } else if (epoch == replay_.epoch() && cursor <= head &&
                   (cursor == head ||
                       (!tail.empty() && tail.front().seq <= cursor + 1 && tail.back().seq == head))) {
            // The same log, continued: what this hub missed while away is in the tail.
            entries_locked(tail, at, tally, after);
        } else {
            // Another epoch, a log that went back (restored from an older
            // snapshot), or entries lost while away: every client resynchronises.
            std::string_view const reason = epoch != replay_.epoch() || head < cursor ? "epoch" : "gap";
            std::string const previous = replay_.newest_id();
            fill_history_locked(std::move(epoch), head, tail, at);
            reset_all_locked(replay_.newest_id(), reason, previous, at, after);
        }
        publish_result ignored;
        settle_locked(after, tally, ignored, 0);
    }
    notify(after);
    for (auto& read : reads)
        start_read(std::move(read));
}

SSE_DECL void hub::log_entries(std::vector<log_entry> batch)
{
    detail::scoped_after_unlock scoped;
    auto& after = scoped.get();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (shut_down_ || !log_synced_)
            return;   // before the first sync there is no position to continue from
        detail::fanout_tally tally;
        entries_locked(batch, now(), tally, after);
        publish_result ignored;
        settle_locked(after, tally, ignored, 0);
    }
    notify(after);
}

SSE_DECL void hub::log_state(backplane_state st)
{
    std::lock_guard<std::mutex> lock(mutex_);
    counters_.log_state = st;
}

SSE_NAMESPACE_END

#include <sse/impl/backplane.hpp>

#endif
