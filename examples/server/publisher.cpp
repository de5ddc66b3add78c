// publisher.cpp - publishing, counted.
#include "publisher.hpp"

#include <memory>
#include <system_error>

namespace app {
namespace {
long long second_of(publisher::clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
} // namespace

void publisher::publish_async(sse::event e, sse::audience to, sse::publish_options o, done_handler done)
{
    hub_.publish_async(std::move(e), std::move(to), std::move(o),
                       [this, done = std::move(done)](sse::error_code ec, sse::publish_result r) {
                           if (!ec)
                               count(clock::now());
                           if (done)
                               done(ec, r);
                       });
}

sse::publish_result publisher::publish(sse::event e, sse::audience to, std::string_view key, sse::error_code& ec)
{
    // Whether the completion ran inline (standing alone, or a failure known at once)
    // or will run later on the backplane's thread, which must not touch this frame.
    struct outcome
    {
        std::mutex mutex;
        bool returned = false;   // publish() has returned: a completion now is late
        bool done = false;
        sse::error_code ec;
        sse::publish_result result;
    };
    auto const o = std::make_shared<outcome>();
    sse::publish_options options;
    options.key = std::string(key);
    publish_async(std::move(e), std::move(to), std::move(options),
                  [o](sse::error_code error, sse::publish_result const& r) {
                      std::lock_guard<std::mutex> lock(o->mutex);
                      if (o->returned)
                          return;
                      o->done = true;
                      o->ec = error;
                      o->result = r;
                  });
    std::lock_guard<std::mutex> lock(o->mutex);
    o->returned = true;
    ec = o->done ? o->ec : sse::error_code();
    return o->done ? std::move(o->result) : sse::publish_result();
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
