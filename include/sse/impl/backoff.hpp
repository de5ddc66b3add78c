// sse/impl/backoff.hpp - body of the reconnect delay policy.
#ifndef SSE_IMPL_BACKOFF_HPP
#define SSE_IMPL_BACKOFF_HPP

#include <sse/backoff.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN

SSE_DECL std::optional<std::chrono::milliseconds> backoff::next_ceiling(clock::time_point now) noexcept
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

    // min(cap, base × 2^attempts), without overflow however long the streak.
    auto const cap = std::max(options_.cap.count(), std::chrono::milliseconds::rep(0));
    auto const base = std::min(std::max(retry_, options_.min_retry).count(), cap);
    auto ceiling = cap;
    if (base <= 0)
        ceiling = 0;
    else if (attempts_ < 62 && base <= (cap >> attempts_))
        ceiling = std::min(cap, base << attempts_);
    ++attempts_;
    return std::chrono::milliseconds(ceiling);
}

SSE_NAMESPACE_END

#endif
