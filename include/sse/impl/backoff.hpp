// sse/impl/backoff.hpp - body of the reconnect delay policy.
#ifndef SSE_IMPL_BACKOFF_HPP
#define SSE_IMPL_BACKOFF_HPP

#include <sse/backoff.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN

SSE_DECL std::optional<backoff_window> backoff::next_window(clock::time_point now) noexcept
{
    // The stream that just ended, if any, ends the streak only if it was healthy
    // for long enough; a stream that opens and closes at once does not.
    if (open_) {
        if (now - opened_at_ >= options_.healthy_after) {
            attempts_ = 0;
            in_streak_ = false;
        }
        open_ = false;
    }
    if (!in_streak_) {
        streak_start_ = now;
        in_streak_ = true;
    }

    if (options_.max_attempts && attempts_ >= *options_.max_attempts)
        return std::nullopt;
    if (options_.max_elapsed && now - streak_start_ >= *options_.max_elapsed)
        return std::nullopt;

    using rep = std::chrono::milliseconds::rep;
    using wide = long double;   // neither the doubling nor the jitter can overflow it
    // The floor is the reconnection time, whatever the cap; the cap stops the
    // doubling, never the first window, so even a `retry:` above the cap is jittered.
    rep const floor = std::max(reconnection_time().count(), rep(0));
    wide const spread = 1 + (options_.jitter > 0 ? static_cast<wide>(options_.jitter) : 0);
    wide const first_top = static_cast<wide>(floor) * spread;
    wide const cap = std::max(static_cast<wide>(std::max(options_.cap.count(), rep(0))), first_top);

    wide top = first_top;
    for (std::size_t i = 0; i < attempts_ && top > 0 && top < cap; ++i)
        top *= 2;
    top = std::min(top, cap);
    auto const limit = static_cast<wide>(std::chrono::milliseconds::max().count());
    rep const high = top >= limit ? std::chrono::milliseconds::max().count() : static_cast<rep>(top);
    rep const low = std::min(high, std::max(floor, static_cast<rep>(static_cast<wide>(high) / spread)));
    ++attempts_;
    return backoff_window{std::chrono::milliseconds(low), std::chrono::milliseconds(high)};
}

SSE_NAMESPACE_END

#endif
