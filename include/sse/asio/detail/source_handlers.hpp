// sse/asio/detail/source_handlers.hpp - the event source's user handlers, filters and throttles.
//
// The user's code, kept apart from the sans-I/O policy (detail::source_core),
// which never calls it. The driver owns one and calls it on its strand only.
#ifndef SSE_ASIO_DETAIL_SOURCE_HANDLERS_HPP
#define SSE_ASIO_DETAIL_SOURCE_HANDLERS_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/client/source_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

class source_handlers
{
public:
    using clock = std::chrono::steady_clock;
    using event_handler = std::function<void(event_view const&)>;
    using filter_function = std::function<bool(event_view const&)>;

    std::function<void(std::string_view)> on_comment;
    std::function<void(source_state, error_code)> on_state;
    std::function<void(std::vector<header_field>&)> before_attempt;

    // Registration. `id` (non-zero, unique) names what on() and filter() add,
    // for remove(). Safe from inside a handler: a handler added during a
    // delivery sees the next event, not the current one.
    void on(std::string type, std::uint64_t id, event_handler handler)
    {
        auto slot = std::make_unique<handler_slot>();
        slot->id = id;
        slot->handler = std::move(handler);
        types_[std::move(type)].handlers.push_back(std::move(slot));
    }

    void on_event(event_handler handler) { every_event_.push_back(std::move(handler)); }

    void filter(std::string type, std::uint64_t id, filter_function predicate)
    {
        per_type& entry = types_[std::move(type)];
        entry.filter = std::make_shared<filter_function const>(std::move(predicate));
        entry.filter_id = id;
    }

    void throttle(std::string type, std::chrono::milliseconds min_interval)
    {
        types_[std::move(type)].min_interval = min_interval;
    }

    /** Removes the handler or filter added with `id`; nothing if it is gone or
        was replaced (a later filter() for the same type). A handler removed
        during a delivery is not called again, not even for the current event.
    */
    void remove(std::uint64_t id)
    {
        if (id == 0)
            return;
        for (auto& [type, entry] : types_) {
            if (entry.filter_id == id) {
                entry.filter.reset();
                entry.filter_id = 0;
                return;
            }
            auto& handlers = entry.handlers;
            for (auto it = handlers.begin(); it != handlers.end(); ++it) {
                if ((*it)->id != id)
                    continue;
                // A delivery may be running this very handler: erase it afterwards.
                if (delivering_ > 0) {
                    (*it)->id = 0;
                    removed_in_delivery_ = true;
                } else {
                    handlers.erase(it);
                }
                return;
            }
        }
    }

    /// What admit() decided about an event.
    enum class verdict
    {
        deliver,     ///< hand it to the handlers now
        filtered,    ///< the type's filter refused it
        held,        ///< throttled: kept until its interval ends
        coalesced,   ///< throttled: replaced the one kept before it
    };

    /// Runs the type's filter and throttle on an event received at `now`.
    verdict admit(event_view const& ev, clock::time_point now)
    {
        auto const it = types_.find(ev.type);
        if (it == types_.end())
            return verdict::deliver;
        per_type& entry = it->second;
        if (entry.filter) {
            auto const keep = entry.filter;   // lives on if the predicate replaces itself
            if (!(*keep)(ev))
                return verdict::filtered;
        }
        if (entry.min_interval.count() <= 0)
            return verdict::deliver;
        bool const due = !entry.dispatched_once || now - entry.last_dispatch >= entry.min_interval;
        if (due && !entry.has_pending) {
            entry.last_dispatch = now;
            entry.dispatched_once = true;
            return verdict::deliver;
        }
        // Too soon: keep only the newest, to be delivered at the interval's end.
        bool const replaced = entry.has_pending;
        entry.pending.type.assign(ev.type);
        entry.pending.data.assign(ev.data);
        entry.pending.last_event_id.assign(ev.last_event_id);
        entry.has_pending = true;
        return replaced ? verdict::coalesced : verdict::held;
    }

    /// An event held back by a throttle, taken out to be delivered.
    struct held_event
    {
        std::string type, data, last_event_id;
        event_view view() const noexcept { return event_view{type, data, last_event_id}; }
    };

    /// When the earliest held event is due, if any.
    std::optional<clock::time_point> next_due() const
    {
        std::optional<clock::time_point> due;
        for (auto const& [type, entry] : types_)
            if (entry.has_pending) {
                auto const t = entry.last_dispatch + entry.min_interval;
                if (!due || t < *due)
                    due = t;
            }
        return due;
    }

    /** Takes out one held event due at `now` (any held event when `now` is
        empty: the source ends on its own and delivers what it received). False if none.
    */
    bool take_due(std::optional<clock::time_point> now, held_event& out)
    {
        for (auto& [type, entry] : types_) {
            if (!entry.has_pending || (now && *now - entry.last_dispatch < entry.min_interval))
                continue;
            out = std::move(entry.pending);
            entry.has_pending = false;
            if (now)
                entry.last_dispatch = *now;
            return true;
        }
        return false;
    }

    /// Drops every held event (close()).
    void drop_held() noexcept
    {
        for (auto& [type, entry] : types_)
            entry.has_pending = false;
    }

    /** Calls the handlers for `ev`: every-event ones, then the type's. Stops
        as soon as `stopped()` is true (a handler closed the source).
    */
    template<class Stopped>
    void deliver(event_view const& ev, Stopped const& stopped)
    {
        for (auto const& handler : every_event_) {
            if (stopped())
                return;
            handler(ev);
        }
        auto const it = types_.find(ev.type);
        if (it == types_.end())
            return;
        // Slots stay put while handlers run; those added now start with the next
        // event, those removed now are skipped (as for DOM event listeners).
        struct delivery
        {
            source_handlers& owner;
            explicit delivery(source_handlers& o) : owner(o) { ++owner.delivering_; }
            ~delivery()
            {
                if (--owner.delivering_ == 0 && owner.removed_in_delivery_)
                    owner.compact();
            }
            delivery(delivery const&) = delete;
            delivery& operator=(delivery const&) = delete;
        } const scope(*this);
        auto& handlers = it->second.handlers;
        std::size_t const n = handlers.size();
        for (std::size_t i = 0; i < n && !stopped(); ++i) {
            handler_slot& slot = *handlers[i];
            if (slot.id != 0)
                slot.handler(ev);
        }
    }

private:
    // Stable in memory while a handler runs, even if a handler adds another.
    struct handler_slot
    {
        std::uint64_t id = 0;   // 0: removed during a delivery, erased after it
        event_handler handler;
    };

    struct per_type
    {
        std::vector<std::unique_ptr<handler_slot>> handlers;
        // Shared, so that a predicate that replaces or removes itself lives until it returns.
        std::shared_ptr<filter_function const> filter;
        std::uint64_t filter_id = 0;
        std::chrono::milliseconds min_interval{0};
        clock::time_point last_dispatch{};
        bool dispatched_once = false;
        bool has_pending = false;
        held_event pending;
    };

    void compact()
    {
        removed_in_delivery_ = false;
        for (auto& [type, entry] : types_) {
            auto& handlers = entry.handlers;
            handlers.erase(
                std::remove_if(handlers.begin(), handlers.end(), [](auto const& slot) { return slot->id == 0; }),
                handlers.end());
        }
    }

    std::vector<event_handler> every_event_;
    std::map<std::string, per_type, std::less<>> types_;
    unsigned delivering_ = 0;   // nesting of deliver(): slots are erased only at 0
    bool removed_in_delivery_ = false;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
