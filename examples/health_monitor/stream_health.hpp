// stream_health.hpp - the health analysis of one SSE stream, without I/O.
//
// Fed with what a client sees (state changes, heartbeats, events, byte counts),
// each with the time it happened, it answers with figures (state, latency
// percentiles, error rate, rates...) and recommendations with their reasons.
// It never reads a clock: every call takes the time, so tests drive it with
// made-up timelines. See docs/health-monitor.md for the definitions.
#ifndef SSE_HEALTH_MONITOR_STREAM_HEALTH_HPP
#define SSE_HEALTH_MONITOR_STREAM_HEALTH_HPP

#include <sse/source_options.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace health {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using milliseconds = std::chrono::milliseconds;

/// Thresholds of the analysis. The defaults suit a server with 15 s heartbeats.
struct options
{
    /// The heartbeat interval the server is expected to keep.
    milliseconds heartbeat_interval{15000};

    /// The sliding window of latency samples, attempts, disconnects and bursts.
    milliseconds window{std::chrono::minutes(5)};

    /// Events and bytes per second are measured over this much recent time.
    milliseconds rate_window{10000};

    /// Unhealthy when an open stream is silent (no heartbeat, comment or event)
    /// for more than this many heartbeat intervals, or a stream has been
    /// without a connection for that long.
    double overdue_factor = 2.0;

    /// Unhealthy when more than this share of the attempts in the window failed...
    double max_error_rate = 0.25;
    /// ...and at least this many attempts ended in the window.
    std::size_t min_attempts = 3;

    /// Bursts: at least `burst_count` heartbeats within `burst_span` heartbeat
    /// intervals, after a silence of at least `burst_gap` intervals.
    std::size_t burst_count = 3;
    double burst_span = 0.1;
    double burst_gap = 1.5;

    /// Steady reconnects: at least `steady_count` connection lifetimes within
    /// `steady_tolerance` (relative) of their median, and at least
    /// `steady_share` of all lifetimes in the window.
    std::size_t steady_count = 3;
    double steady_tolerance = 0.1;
    double steady_share = 0.75;

    /// Rising latency: a least-squares line over at least `trend_samples`
    /// samples that rises by `trend_rise` or more across them, with a
    /// correlation of at least `trend_correlation`.
    std::size_t trend_samples = 10;
    milliseconds trend_rise{100};
    double trend_correlation = 0.6;

    /// Latency samples kept at most, whatever the window.
    std::size_t max_samples = 100000;
};

/// The state a person reads.
enum class status
{
    connecting,     ///< connecting or waiting to reconnect
    connected,      ///< open, heartbeats on time, few errors
    disconnected,   ///< not started, or ended for good (closed or failed)
    unhealthy,      ///< running, but a rule in figures::reason fired
};

char const* to_string(status s) noexcept;

/// One piece of advice and the observation behind it.
struct recommendation
{
    std::string code;      ///< "buffering_proxy", "idle_timeout" or "rising_latency"
    std::string advice;    ///< what to do
    std::string why;       ///< what was seen
    double value = 0;      ///< the figure behind it: burst size, period in s, rise in ms
};

/// What report() answers. Durations are in seconds, latencies in milliseconds.
struct figures
{
    status state = status::disconnected;
    std::string reason;                       ///< why unhealthy or disconnected; empty otherwise
    sse::source_state source = sse::source_state::closed;

    std::size_t latency_samples = 0;          ///< heartbeats with a server time, in the window
    std::optional<double> latency_p50_ms;     ///< nearest-rank percentiles of those samples
    std::optional<double> latency_p99_ms;
    std::optional<double> latency_trend_ms_per_min;   ///< slope of the least-squares line

    std::size_t attempts_in_window = 0;       ///< attempts that ended (opened or failed) in the window
    std::size_t failed_in_window = 0;         ///< of those, the ones that did not open
    double error_rate = 0;                    ///< failed_in_window / attempts_in_window, 0 if none
    double errors_per_minute = 0;             ///< failed attempts and disconnects in the window, per minute

    std::uint64_t attempts = 0;               ///< since the start
    std::uint64_t reconnects = 0;             ///< attempts after the first
    std::uint64_t failed_attempts = 0;
    std::uint64_t disconnects = 0;            ///< open streams that ended other than by closing the source

    double uptime_s = 0;                      ///< age of the current connection; 0 unless open
    std::optional<double> heartbeat_age_s;    ///< since the last heartbeat; none before the first
    std::optional<double> silence_s;          ///< since the last heartbeat, comment or event

    std::uint64_t heartbeats = 0;
    std::uint64_t events = 0;                 ///< as last given to counters()
    std::uint64_t bytes = 0;
    double events_per_second = 0;             ///< over options::rate_window
    double bytes_per_second = 0;

    std::vector<recommendation> recommendations;
};

/** The analysis of one stream. Not thread-safe: feed and ask from one thread. */
class stream_health
{
public:
    explicit stream_health(options o = {});

    /// The source's state changed at `at`.
    void state(time_point at, sse::source_state s);

    /// A heartbeat arrived at `at`; `latency_ms` is the local receive time
    /// minus the server's time, when the heartbeat carried one.
    void heartbeat(time_point at, std::optional<double> latency_ms);

    /// Any other event or comment arrived at `at` (it proves the stream alive).
    void activity(time_point at);

    /// The source's cumulative counters at `at` (events received, bytes received).
    void counters(time_point at, std::uint64_t events, std::uint64_t bytes);

    /// The figures and recommendations as of `now`.
    figures report(time_point now) const;

    options const& settings() const noexcept { return options_; }

private:
    struct attempt
    {
        time_point began;
        time_point ended{};
        bool finished = false;
        bool failed = false;
    };
    struct beat
    {
        time_point at;
        std::optional<double> latency_ms;
    };
    struct lifetime
    {
        time_point opened, ended;
    };
    struct sample
    {
        time_point at;
        std::uint64_t events, bytes;
    };

    void prune(time_point now);
    void recommend(figures& f, time_point now) const;

    options options_;
    sse::source_state state_ = sse::source_state::closed;
    bool started_ = false;
    time_point first_seen_{}, state_since_{}, opened_at_{}, lost_at_{}, last_beat_{}, last_activity_{};
    std::deque<attempt> attempts_;
    std::deque<beat> beats_;
    std::deque<lifetime> lifetimes_;
    std::deque<sample> samples_;
    std::uint64_t attempts_total_ = 0, failed_total_ = 0, disconnects_total_ = 0, beats_total_ = 0;
};

/** The server time in a heartbeat's data, in ms since the Unix epoch: the data
    itself as an integer (what sse-server sends), or a JSON object with a
    numeric `serverTime` or `time` field. None otherwise.
*/
std::optional<std::int64_t> parse_server_time(std::string_view data);

/// The nearest-rank percentile `p` (0 < p <= 100) of `values`, which it sorts; none if empty.
std::optional<double> percentile(std::vector<double>& values, double p);

} // namespace health

#endif
