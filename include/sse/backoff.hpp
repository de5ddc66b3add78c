// sse/backoff.hpp - when a client reconnects: exponential back-off with jitter.
#ifndef SSE_BACKOFF_HPP
#define SSE_BACKOFF_HPP

#include <sse/config.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>

SSE_NAMESPACE_BEGIN

/// How a client spreads its reconnects. See sse::backoff.
struct backoff_options
{
    /// The reconnection time before the server sends `retry:` (WHATWG HTML 9.2.2
    /// lets the user agent choose; 3 s is what browsers use).
    std::chrono::milliseconds initial_retry = std::chrono::seconds(3);

    /** No delay is longer than this once attempts fail in a row: the window stops
        doubling here. A server's `retry:` longer than this is still honoured (and
        jittered above): the cap bounds the growth, never the reconnection time the
        server asked for.
    */
    std::chrono::milliseconds cap = std::chrono::seconds(60);

    /** The reconnection time is never shorter than this, so that a server sending
        `retry: 0` and closing at once still meets a growing delay.
    */
    std::chrono::milliseconds min_retry = std::chrono::milliseconds(100);

    /** How far above its floor a delay may be drawn, as a fraction of the window's
        top: attempt n draws from [top / (1 + jitter), top] (see sse::backoff). 0.5
        spreads clients that lost the same server over a third of the window. Zero:
        no randomness; negative values count as zero.
    */
    double jitter = 0.5;

    /// Give up after this many attempts in a row without a healthy stream. Empty: never.
    std::optional<std::size_t> max_attempts;

    /// Give up when the next attempt would start this long after the streak of
    /// failures began. Empty: never.
    std::optional<std::chrono::milliseconds> max_elapsed;

    /** A stream must stay open this long before the back-off starts again from
        the server's retry. A server that answers 200 and closes at once thus
        gets longer and longer delays, not a tight loop.
    */
    std::chrono::milliseconds healthy_after = std::chrono::seconds(10);
};

/// The range an attempt's delay is drawn from, both ends included.
struct backoff_window
{
    std::chrono::milliseconds min{0};
    std::chrono::milliseconds max{0};

    friend bool operator==(backoff_window const& a, backoff_window const& b) noexcept
    {
        return a.min == b.min && a.max == b.max;
    }
    friend bool operator!=(backoff_window const& a, backoff_window const& b) noexcept { return !(a == b); }
};

/** The reconnect delay policy of an event source.

    Let R be the reconnection time: the server's last `retry:` (else
    `initial_retry`), and never less than `min_retry`. Attempt n (from 0) of a
    streak of failures waits a random time drawn uniformly from [low, top]:
    @code
    top = min(R × (1 + jitter) × 2^n, max(cap, R × (1 + jitter)))
    low = max(R, top / (1 + jitter))
    @endcode
    So no delay is shorter than R, as WHATWG HTML 9.2.3 asks ("wait a delay equal
    to the reconnection time", then optionally more): a server that sends `retry:`
    to shed load is obeyed. The jitter only lengthens delays, spreading the
    reconnects of clients that lost the same server at the same moment; the
    window doubles after each failure until the cap, so a failing server is not
    hammered. The streak ends, and the next failure starts from attempt 0 again,
    only when a stream stayed open for `healthy_after`.

    It does no I/O and keeps no clock: times and the random source are passed in.

    @code
    sse::backoff policy;
    std::mt19937 rng{std::random_device{}()};
    policy.server_retry(std::chrono::milliseconds(2000));     // from parser::retry()
    policy.opened(now);                                        // the stream opened
    if (auto delay = policy.next_delay(later, rng))            // it ended: wait, then reconnect
        schedule_reconnect(*delay);                            // 2000 ms to 3000 ms
    else
        give_up();                                             // a limit was reached
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class backoff
{
public:
    using clock = std::chrono::steady_clock;

    explicit backoff(backoff_options options = {}) noexcept : options_(options), retry_(options.initial_retry) {}

    /// Sets the base delay to the server's `retry:` value.
    void server_retry(std::chrono::milliseconds retry) noexcept { retry_ = retry; }

    /// The server's last `retry:`, or the initial one.
    std::chrono::milliseconds retry() const noexcept { return retry_; }

    /// The shortest delay any attempt waits: retry(), and never less than `min_retry`.
    std::chrono::milliseconds reconnection_time() const noexcept
    {
        return retry_ < options_.min_retry ? options_.min_retry : retry_;
    }

    /// The stream opened at `now`: if it stays open for `healthy_after`, the streak ends.
    void opened(clock::time_point now) noexcept
    {
        opened_at_ = now;
        open_ = true;
    }

    /** The range the next attempt's delay is drawn from, or nothing if a limit is
        reached.

        Call when a connection attempt failed or a stream ended, at `now`. Counts
        the attempt. `min` is never below reconnection_time().
    */
    SSE_DECL std::optional<backoff_window> next_window(clock::time_point now) noexcept;

    /** The delay before the next attempt, or nothing if a limit is reached.

        As next_window(), then draws uniformly from it with `rng` (a
        UniformRandomBitGenerator).
    */
    template<class URBG>
    std::optional<std::chrono::milliseconds> next_delay(clock::time_point now, URBG& rng)
    {
        auto const window = next_window(now);
        if (!window)
            return std::nullopt;
        std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(window->min.count(), window->max.count());
        return std::chrono::milliseconds(pick(rng));
    }

    /// Attempts in the current streak of failures.
    std::size_t attempts() const noexcept { return attempts_; }

    /// Forgets the streak (for example after the user reconnected by hand).
    void reset() noexcept
    {
        attempts_ = 0;
        in_streak_ = false;
        open_ = false;
    }

private:
    backoff_options options_;
    std::chrono::milliseconds retry_;
    std::size_t attempts_ = 0;
    // Plain values with flags rather than optionals: GCC 12 warns, wrongly, that
    // an optional time_point may be read uninitialised.
    clock::time_point streak_start_{};
    clock::time_point opened_at_{};
    bool in_streak_ = false;
    bool open_ = false;
};

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/backoff.hpp>
#endif
#endif
