// limits.hpp - the publish rate per credential: a token bucket for each.
#ifndef SSE_SERVER_LIMITS_HPP
#define SSE_SERVER_LIMITS_HPP

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace app {

/** Allows `rate` requests per second per key, and `burst` at once after a quiet period.

    Each key has a bucket of `burst` tokens that refills at `rate` per second;
    a request takes one. Buckets that are full again are forgotten once there
    are many, so a stream of one-off keys cannot grow memory without bound.

    @par Thread safety
    Safe.
*/
class rate_limiter
{
public:
    using clock = std::chrono::steady_clock;

    rate_limiter(double rate, double burst);

    /// Takes a token for `key`. Returns nothing if allowed; otherwise how long
    /// until a token is available, rounded up to whole seconds (for Retry-After).
    std::optional<std::chrono::seconds> take(std::string const& key, clock::time_point now);

private:
    struct bucket
    {
        double tokens;
        clock::time_point at;
    };

    double refilled(bucket const& b, clock::time_point now) const;
    void forget_full(clock::time_point now);

    double rate_;
    double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, bucket> buckets_;
};

} // namespace app

#endif
