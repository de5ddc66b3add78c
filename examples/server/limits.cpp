// limits.cpp - token buckets.
#include "limits.hpp"

#include <algorithm>
#include <cmath>

namespace app {
namespace {
// Beyond this many buckets, full ones are dropped: a full bucket is the same as none.
constexpr std::size_t prune_above = 10000;
} // namespace

rate_limiter::rate_limiter(double rate, double burst) : rate_(rate), burst_(std::max(burst, 1.0)) {}

double rate_limiter::refilled(bucket const& b, clock::time_point now) const
{
    double const elapsed = std::chrono::duration<double>(now - b.at).count();
    return std::min(burst_, b.tokens + std::max(elapsed, 0.0) * rate_);
}

void rate_limiter::forget_full(clock::time_point now)
{
    for (auto it = buckets_.begin(); it != buckets_.end();) {
        if (refilled(it->second, now) >= burst_)
            it = buckets_.erase(it);
        else
            ++it;
    }
}

std::optional<std::chrono::seconds> rate_limiter::take(std::string const& key, clock::time_point now)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (buckets_.size() > prune_above)
        forget_full(now);
    auto [it, fresh] = buckets_.try_emplace(key, bucket{burst_, now});
    bucket& b = it->second;
    if (!fresh) {
        b.tokens = refilled(b, now);
        b.at = now;
    }
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return std::nullopt;
    }
    double const wait = (1.0 - b.tokens) / rate_;
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
}

} // namespace app
