// stream_health.cpp - the rules behind the figures and recommendations (docs/health-monitor.md).
#include "stream_health.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

namespace health {

namespace {

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A duration as a person says it: "850 ms", "12.5 s", "3.0 min".
std::string spoken(double s)
{
    if (s < 1)
        return fmt::format("{:.0f} ms", s * 1000);
    if (s < 120)
        return fmt::format("{:.{}f} s", s, s < 10 ? 2 : 1);
    return fmt::format("{:.1f} min", s / 60);
}

// The least-squares line through (seconds, ms) points, and its correlation.
struct line_fit
{
    std::size_t n = 0;
    double slope = 0;   // ms per s
    double start = 0;   // the line's value at the first point
    double span = 0;    // seconds from the first point to the last
    double r = 0;
    bool valid = false;
};

line_fit fit(std::vector<std::pair<double, double>> const& points)
{
    line_fit l;
    l.n = points.size();
    if (points.size() < 2)
        return l;
    double const n = double(points.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
    for (auto const& [x, y] : points) {
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
    }
    double const vx = n * sxx - sx * sx, vy = n * syy - sy * sy;
    if (vx <= 0)
        return l;
    l.valid = true;
    l.slope = (n * sxy - sx * sy) / vx;
    l.start = (sy - l.slope * sx) / n;
    l.span = points.back().first - points.front().first;
    l.r = vy > 0 ? (n * sxy - sx * sy) / std::sqrt(vx * vy) : 0;
    return l;
}

} // namespace

char const* to_string(status s) noexcept
{
    switch (s) {
    case status::connecting:
        return "connecting";
    case status::connected:
        return "connected";
    case status::disconnected:
        return "disconnected";
    case status::unhealthy:
        return "unhealthy";
    }
    return "unknown";
}

std::optional<double> percentile(std::vector<double>& values, double p)
{
    if (values.empty())
        return std::nullopt;
    std::sort(values.begin(), values.end());
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    rank = std::clamp<std::size_t>(rank, 1, values.size());
    return values[rank - 1];
}

std::optional<std::int64_t> parse_server_time(std::string_view data)
{
    while (!data.empty() && (data.front() == ' ' || data.front() == '\t'))
        data.remove_prefix(1);
    while (!data.empty() && (data.back() == ' ' || data.back() == '\t' || data.back() == '\n'))
        data.remove_suffix(1);
    if (data.empty())
        return std::nullopt;
    if (data.front() != '{') {
        std::int64_t v = 0;
        for (char c : data) {
            if (c < '0' || c > '9' || v > (INT64_MAX - 9) / 10)
                return std::nullopt;
            v = v * 10 + (c - '0');
        }
        return v;
    }
    auto const j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
    if (!j.is_object())
        return std::nullopt;
    for (char const* key : {"serverTime", "time"}) {
        auto const it = j.find(key);
        if (it == j.end())
            continue;
        if (it->is_number_integer())
            return it->get<std::int64_t>();
        if (it->is_number_float())
            return static_cast<std::int64_t>(std::llround(it->get<double>()));
        return std::nullopt;
    }
    return std::nullopt;
}

stream_health::stream_health(options o) : options_(o) {}

void stream_health::state(time_point at, sse::source_state s)
{
    using sse::source_state;
    if (!started_) {
        started_ = true;
        first_seen_ = at;
    }
    // Lost: waiting, failed, or another state that is not a connection nor a
    // clean end (a polling fallback, say). Closed ends an attempt without failing it.
    bool const lost = s != source_state::connecting && s != source_state::open && s != source_state::closed;
    if (s == source_state::connecting) {
        ++attempts_total_;
        attempts_.push_back({at});
    } else if (!attempts_.empty() && !attempts_.back().finished) {
        attempt& a = attempts_.back();
        a.finished = true;
        a.ended = at;
        a.failed = lost;   // a 204 or close() while connecting is not a failure
        failed_total_ += a.failed;
    }
    if (s == source_state::open) {
        opened_at_ = at;
        last_activity_ = at;
    } else if (state_ == source_state::open && lost) {
        ++disconnects_total_;
        lifetimes_.push_back({opened_at_, at});
    }
    if (state_ == source_state::open && s != source_state::open)
        lost_at_ = at;
    state_ = s;
    state_since_ = at;
    prune(at);
}

void stream_health::heartbeat(time_point at, std::optional<double> latency_ms)
{
    ++beats_total_;
    last_beat_ = last_activity_ = at;
    beats_.push_back({at, latency_ms});
    if (beats_.size() > options_.max_samples)
        beats_.pop_front();
    prune(at);
}

void stream_health::activity(time_point at) { last_activity_ = at; }

void stream_health::counters(time_point at, std::uint64_t events, std::uint64_t bytes)
{
    samples_.push_back({at, events, bytes});
    // One sample older than the rate window stays, as the start of the measure.
    while (samples_.size() > 2 && samples_[1].at <= at - options_.rate_window)
        samples_.pop_front();
}

void stream_health::prune(time_point now)
{
    auto const from = now - options_.window;
    while (!beats_.empty() && beats_.front().at < from)
        beats_.pop_front();
    while (!lifetimes_.empty() && lifetimes_.front().ended < from)
        lifetimes_.pop_front();
    while (attempts_.size() > 1 && attempts_.front().finished && attempts_.front().ended < from)
        attempts_.pop_front();
}

figures stream_health::report(time_point now) const
{
    using sse::source_state;
    figures f;
    auto const from = now - options_.window;
    double const interval_s = seconds(options_.heartbeat_interval);
    f.source = state_;
    f.attempts = attempts_total_;
    f.reconnects = attempts_total_ > 0 ? attempts_total_ - 1 : 0;
    f.failed_attempts = failed_total_;
    f.disconnects = disconnects_total_;
    f.heartbeats = beats_total_;

    // Latency: the samples in the window.
    std::vector<double> latencies;
    std::vector<std::pair<double, double>> points;
    time_point t0{};
    for (auto const& b : beats_) {
        if (b.at < from || !b.latency_ms)
            continue;
        if (points.empty())
            t0 = b.at;
        latencies.push_back(*b.latency_ms);
        points.emplace_back(seconds(b.at - t0), *b.latency_ms);
    }
    f.latency_samples = latencies.size();
    line_fit const trend = fit(points);
    if (trend.valid)
        f.latency_trend_ms_per_min = trend.slope * 60.0;
    f.latency_p50_ms = percentile(latencies, 50);
    f.latency_p99_ms = percentile(latencies, 99);

    // Errors: attempts that ended in the window, and disconnects.
    for (auto const& a : attempts_)
        if (a.finished && a.ended >= from) {
            ++f.attempts_in_window;
            f.failed_in_window += a.failed;
        }
    if (f.attempts_in_window > 0)
        f.error_rate = double(f.failed_in_window) / double(f.attempts_in_window);
    std::size_t drops = 0;
    for (auto const& l : lifetimes_)
        drops += l.ended >= from;
    if (started_) {
        double const observed = std::min(seconds(now - first_seen_), seconds(options_.window));
        f.errors_per_minute = double(f.failed_in_window + drops) / (std::max(observed, 60.0) / 60.0);
    }

    // Ages.
    if (state_ == source_state::open)
        f.uptime_s = seconds(now - opened_at_);
    if (last_beat_ != time_point{})
        f.heartbeat_age_s = seconds(now - last_beat_);
    if (last_activity_ != time_point{})
        f.silence_s = seconds(now - last_activity_);

    // Rates: the oldest and newest counters within the rate window.
    if (!samples_.empty()) {
        auto const& last = samples_.back();
        f.events = last.events;
        f.bytes = last.bytes;
        auto const& first = samples_.front();
        double const span = seconds(last.at - first.at);
        if (span > 0) {
            f.events_per_second = double(last.events - first.events) / span;
            f.bytes_per_second = double(last.bytes - first.bytes) / span;
        }
    }

    // The state a person reads.
    if (!started_ || state_ == source_state::closed || state_ == source_state::failed) {
        f.state = status::disconnected;
        f.reason = started_ ? (state_ == source_state::failed ? "the source failed for good" : "the source closed")
                            : "not started";
    } else {
        double const limit = options_.overdue_factor * interval_s;
        // Without a connection since the last one was lost, or since the start.
        double const offline = seconds(now - (lost_at_ != time_point{} ? lost_at_ : first_seen_));
        if (state_ == source_state::open && f.silence_s && *f.silence_s > limit) {
            f.state = status::unhealthy;
            f.reason = fmt::format("heartbeat overdue: nothing received for {}, expected every {}",
                                   spoken(*f.silence_s), spoken(interval_s));
        } else if (f.attempts_in_window >= options_.min_attempts && f.error_rate > options_.max_error_rate) {
            f.state = status::unhealthy;
            f.reason = fmt::format("error rate {:.0f}% ({} of {} attempts failed)", f.error_rate * 100,
                                   f.failed_in_window, f.attempts_in_window);
        } else if (state_ != source_state::open && offline > limit) {
            f.state = status::unhealthy;
            f.reason = "no connection for " + spoken(offline);
        } else {
            f.state = state_ == source_state::open ? status::connected : status::connecting;
        }
    }
    recommend(f, now);

    // Rising latency: a clear upward line through the window's samples.
    double const rise = trend.slope * trend.span;
    if (trend.valid && trend.n >= options_.trend_samples && rise >= double(options_.trend_rise.count()) &&
        trend.r >= options_.trend_correlation)
        f.recommendations.push_back({"rising_latency",
            "Events wait longer and longer before they are read: this consumer is too slow, or the server is "
            "overloaded. Check this client's CPU and event handlers, and the server's load and slow-consumer queue.",
            fmt::format("latency rose by {:.0f} ms over {} (from about {:.0f} to {:.0f} ms, correlation {:.2f})", rise,
                        spoken(trend.span), trend.start, trend.start + rise, trend.r),
            rise});
    return f;
}

void stream_health::recommend(figures& f, time_point now) const
{
    auto const from = now - options_.window;
    double const interval_s = seconds(options_.heartbeat_interval);

    // Buffering proxy: after a silence, several heartbeats at once.
    {
        std::vector<time_point> at;
        for (auto const& b : beats_)
            if (b.at >= from)
                at.push_back(b.at);
        // The silence before a heartbeat runs from the previous one, or from the
        // opening of its connection if that came later.
        std::vector<time_point> opens;
        for (auto const& l : lifetimes_)
            opens.push_back(l.opened);
        if (state_ == sse::source_state::open)
            opens.push_back(opened_at_);
        auto silence_before = [&](std::size_t i) -> std::optional<double> {
            std::optional<time_point> since;
            if (i > 0)
                since = at[i - 1];
            for (auto const o : opens)
                if (o <= at[i] && (!since || o > *since))
                    since = o;
            if (!since)
                return std::nullopt;
            return seconds(at[i] - *since);
        };
        std::size_t bursts = 0, biggest = 0;
        double gap_of_biggest = 0, span_of_biggest = 0;
        for (std::size_t i = 0; i < at.size();) {
            auto const gap = silence_before(i);
            std::size_t j = i;
            while (j + 1 < at.size() && seconds(at[j + 1] - at[i]) <= options_.burst_span * interval_s)
                ++j;
            std::size_t const size = j - i + 1;
            if (gap && *gap >= options_.burst_gap * interval_s && size >= options_.burst_count) {
                ++bursts;
                if (size > biggest) {
                    biggest = size;
                    gap_of_biggest = *gap;
                    span_of_biggest = seconds(at[j] - at[i]);
                }
                i = j + 1;
            } else {
                ++i;
            }
        }
        if (bursts > 0)
            f.recommendations.push_back({"buffering_proxy",
                "A proxy between this client and the server buffers the response: turn buffering off for "
                "text/event-stream (nginx: proxy_buffering off, or the header X-Accel-Buffering: no).",
                fmt::format("{} {} of heartbeats: {} arrived within {} after {} of silence, where one every {} was "
                            "expected",
                            bursts, bursts == 1 ? "burst" : "bursts", biggest, spoken(span_of_biggest),
                            spoken(gap_of_biggest), spoken(interval_s)),
                double(biggest)});
    }

    // Idle timeout: connections cut after a steady lifetime.
    {
        std::vector<double> lives;
        for (auto const& l : lifetimes_)
            if (l.ended >= from)
                lives.push_back(seconds(l.ended - l.opened));
        if (lives.size() >= options_.steady_count) {
            std::vector<double> sorted = lives;
            double const median = *percentile(sorted, 50);
            std::size_t close = 0;
            for (double v : lives)
                close += std::abs(v - median) <= options_.steady_tolerance * median;
            if (median > 0 && close >= options_.steady_count &&
                double(close) >= options_.steady_share * double(lives.size())) {
                double suggested = median / 2;
                if (suggested >= 2)
                    suggested = std::floor(suggested);
                std::string why = fmt::format("{} of {} connections ended after {} (within {:.0f}%)", close,
                                              lives.size(), spoken(median), options_.steady_tolerance * 100);
                if (interval_s < median)
                    why += fmt::format("; heartbeats every {} should keep it busy, so it may be a connection "
                                       "lifetime limit instead",
                                       spoken(interval_s));
                f.recommendations.push_back({"idle_timeout",
                    fmt::format("Something upstream (a proxy or load balancer) closes connections idle for about {}: "
                                "send heartbeats more often than that, e.g. every {} (sse-server --heartbeat-ms "
                                "{:.0f}), or raise its timeout.",
                                spoken(median), spoken(suggested), suggested * 1000),
                    why, median});
            }
        }
    }
}

} // namespace health
