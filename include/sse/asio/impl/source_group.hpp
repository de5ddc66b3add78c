// sse/asio/impl/source_group.hpp - bodies of sse::source_group's bookkeeping.
#ifndef SSE_ASIO_IMPL_SOURCE_GROUP_HPP
#define SSE_ASIO_IMPL_SOURCE_GROUP_HPP

#include <sse/asio/source_group.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN
namespace detail {

inline error_code group_state::insert(std::shared_ptr<group_member> m)
{
    // Weak on both sides: a source must keep neither its member (which owns
    // the source) nor the group alive, or nothing would ever be freed.
    std::weak_ptr<group_state> const group = shared_from_this();
    std::weak_ptr<group_member> const member = m;
    m->wire(
        [group, member](event_view const& ev) {
            auto const g = group.lock();
            auto const self = member.lock();
            if (g && self)
                g->deliver(*self, ev);
        },
        [group, member](std::string_view text) {
            auto const g = group.lock();
            auto const self = member.lock();
            if (g && self)
                g->comment(*self, text);
        },
        [group, member](source_state s, error_code why) {
            auto const g = group.lock();
            auto const self = member.lock();
            if (g && self)
                g->changed(*self, s, why);
        });
    bool start_now = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (members_.find(m->name) != members_.end())
            return make_error_code(error::duplicate_stream_name);
        auto const now = clock::now();
        m->added_at = now;
        start_now = started_;
        if (start_now) {
            m->started = true;
            m->started_at = m->state_since = now;
            ++running_;
        }
        members_.emplace(m->name, m);
    }
    if (start_now)
        m->start();
    return {};
}

inline bool group_state::remove(std::string_view name)
{
    std::shared_ptr<group_member> m;
    bool last = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto const it = members_.find(name);
        if (it == members_.end())
            return false;
        m = std::move(it->second);
        members_.erase(it);
        m->removed = true;
        if (m->started && !m->ended) {
            m->ended = true;
            last = --running_ == 0;
        }
    }
    // Destroying the source closes it without a report; a handler running on
    // another thread holds the member until it returns.
    m.reset();
    if (last)
        net::dispatch(strand, [self = shared_from_this()] {
            if (self->running() == 0)
                self->notify_all_ended();
        });
    return true;
}

inline void group_state::start()
{
    std::vector<std::shared_ptr<group_member>> to_start;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        started_ = true;
        auto const now = clock::now();
        for (auto& [name, m] : members_)
            if (!m->started) {
                m->started = true;
                m->started_at = m->state_since = now;
                ++running_;
                to_start.push_back(m);
            }
    }
    for (auto& m : to_start)
        m->start();
}

inline void group_state::close()
{
    std::vector<std::shared_ptr<group_member>> to_close;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        started_ = false;
        for (auto& [name, m] : members_)
            if (m->started && !m->ended)
                to_close.push_back(m);
    }
    for (auto& m : to_close)
        m->close();
}

inline void group_state::clear()
{
    std::map<std::string, std::shared_ptr<group_member>, std::less<>> gone;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        gone.swap(members_);
        started_ = false;
        running_ = 0;
        for (auto& [name, m] : gone)
            m->removed = true;
    }
}

inline void group_state::deliver(group_member& m, event_view const& ev)
{
    if (m.removed)
        return;
    m.last_event_at.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    for (auto const& h : every_event)
        h(m.name, ev);
    auto const it = typed.find(ev.type);
    if (it != typed.end())
        for (auto const& h : it->second)
            h(m.name, ev);
}

inline void group_state::comment(group_member& m, std::string_view text)
{
    if (m.removed)
        return;
    for (auto const& h : comments)
        h(m.name, text);
}

inline void group_state::changed(group_member& m, source_state s, error_code why)
{
    bool last = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (m.removed)
            return;
        // Lost: waiting, failed, or any later state that is neither a connection
        // nor a clean end (a polling fallback, say).
        bool const lost = s != source_state::connecting && s != source_state::open && s != source_state::closed;
        if (lost && m.state == source_state::connecting)
            ++m.failed_attempts;
        if (lost && m.state == source_state::open)
            ++m.disconnects;
        m.state = s;
        m.state_since = clock::now();
        ++m.state_changes;
        if ((s == source_state::closed || s == source_state::failed) && m.started && !m.ended) {
            m.ended = true;
            last = --running_ == 0;
        }
    }
    for (auto const& h : states)
        h(m.name, s, why);
    if (last)
        notify_all_ended();
}

inline void group_state::notify_all_ended()
{
    for (auto const& h : all_ended)
        h();
}

inline std::vector<source_health> group_state::health(std::optional<std::string_view> only) const
{
    std::vector<source_health> out;
    std::vector<std::shared_ptr<group_member>> keep;   // alive while stats() is read outside the lock
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto const& [name, m] : members_) {
            if (only && name != *only)
                continue;
            source_health h;
            h.name = m->name;
            h.url = m->url;
            h.started = m->started;
            h.added_at = m->added_at;
            h.started_at = m->started_at;
            h.state_since = m->state_since;
            h.failed_attempts = m->failed_attempts;
            h.disconnects = m->disconnects;
            h.state_changes = m->state_changes;
            out.push_back(std::move(h));
            keep.push_back(m);
        }
    }
    auto const now = clock::now();
    for (std::size_t i = 0; i < out.size(); ++i) {
        source_health& h = out[i];
        h.stats = keep[i]->stats();
        h.state = h.stats.state;
        h.last_event_at = clock::time_point(clock::duration(keep[i]->last_event_at.load(std::memory_order_relaxed)));
        if (h.state == source_state::open && h.stats.open_since != clock::time_point{})
            h.uptime = now - h.stats.open_since;
        if (h.started && now > h.started_at) {
            double const share = std::chrono::duration<double>(h.stats.time_connected).count() /
                                 std::chrono::duration<double>(now - h.started_at).count();
            h.availability = std::clamp(share, 0.0, 1.0);
        }
    }
    return out;
}

inline std::vector<std::string> group_state::names() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    out.reserve(members_.size());
    for (auto const& [name, m] : members_)
        out.push_back(name);
    return out;
}

inline bool group_state::contains(std::string_view name) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return members_.find(name) != members_.end();
}

inline std::size_t group_state::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return members_.size();
}

inline std::size_t group_state::running() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return running_;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
