// dashboard.cpp - the periodic dashboardUpdate.
#include "dashboard.hpp"

#include "log.hpp"

#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>

namespace app {

nlohmann::json dashboard_update(service_snapshot const& s, std::chrono::system_clock::time_point now)
{
    std::size_t users = 0;
    for (auto const& [user, streams] : s.hub.by_user)
        users += !user.empty() && streams > 0;
    return {{"connections", s.clients},
            {"uniqueUsers", users},
            {"eventsPerSecond", s.events_per_second},
            {"totalEventsSent", s.hub.published},
            {"timestamp", unix_ms(now)}};
}

dashboard_ticker::dashboard_ticker(asio::any_io_executor ex, publisher& p, std::chrono::milliseconds interval,
                                   snapshot_source snapshot)
    : strand_(asio::make_strand(ex)), timer_(strand_), publisher_(p), interval_(interval),
      snapshot_(std::move(snapshot))
{
}

void dashboard_ticker::start()
{
    if (interval_.count() <= 0)
        return;
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (!self->stopped_)
            self->arm();
    });
}

void dashboard_ticker::stop()
{
    asio::dispatch(strand_, [self = shared_from_this()] {
        self->stopped_ = true;
        self->timer_.cancel();
    });
}

void dashboard_ticker::arm()
{
    timer_.expires_after(interval_);
    timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](sse::error_code ec) {
        if (ec || self->stopped_)
            return;
        self->tick();
        self->arm();
    }));
}

void dashboard_ticker::tick()
{
    // Nobody follows the channel: nothing is published, so the history is not
    // filled with numbers nobody reads.
    auto const s = snapshot_();
    auto const followers = s.hub.by_topic.find(dashboard_channel);
    if (followers == s.hub.by_topic.end() || followers->second == 0)
        return;
    sse::event e;
    e.type = "dashboardUpdate";
    e.data = dashboard_update(s, std::chrono::system_clock::now()).dump();
    sse::error_code ignored;   // shutting down, or Redis unreachable: the next tick tries again
    publisher_.publish(std::move(e), sse::audience::topic(dashboard_channel), dashboard_key, ignored);
}

} // namespace app
