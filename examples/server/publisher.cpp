// publisher.cpp - publishing, counted.
#include "publisher.hpp"

#include <system_error>

namespace app {
namespace {
long long second_of(publisher::clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
} // namespace

sse::publish_result publisher::publish(sse::event e, sse::audience to, std::string_view key, sse::error_code& ec)
{
    auto r = hub_.publish(std::move(e), std::move(to), key, ec);
    if (!ec)
        count(clock::now());
    return r;
}

sse::publish_result publisher::publish(sse::event e, sse::audience to, std::string_view key)
{
    sse::error_code ec;
    auto r = publish(std::move(e), std::move(to), key, ec);
    if (ec)
        throw std::system_error(ec, "app::publisher::publish");
    return r;
}

void publisher::count(clock::time_point now)
{
    long long const s = second_of(now);
    std::lock_guard<std::mutex> lock(mutex_);
    second& slot = window_[static_cast<std::size_t>(s % window_seconds)];
    if (slot.index != s)
        slot = {s, 0};
    ++slot.events;
    last_ = std::chrono::system_clock::now();
}

double publisher::events_per_second(clock::time_point now) const
{
    long long const s = second_of(now);
    std::uint64_t events = 0;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto const& slot : window_)
        if (slot.index > s - window_seconds && slot.index <= s)
            events += slot.events;
    return static_cast<double>(events) / window_seconds;
}

std::optional<std::chrono::system_clock::time_point> publisher::last_event_time() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return last_;
}

} // namespace app
