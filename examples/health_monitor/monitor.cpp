// monitor.cpp - the streams, the ticks, the three outputs (table, JSON lines, Prometheus).
#include "monitor.hpp"

#include <sse/asio/response.hpp>
#include <sse/url.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <asio/ip/address.hpp>
#include <asio/post.hpp>

#include <cmath>
#include <cstdio>
#include <iterator>
#include <sstream>
#include <utility>

namespace health {

namespace {

std::string duration_text(double s)
{
    if (s < 60)
        return fmt::format("{:.{}f}s", s, s < 10 ? 1 : 0);
    if (s < 3600)
        return fmt::format("{}m{}s", int(s) / 60, int(s) % 60);
    return fmt::format("{}h{}m", int(s) / 3600, int(s) % 3600 / 60);
}

std::string rate_text(double v)
{
    if (v >= 1e6)
        return fmt::format("{:.1f}M", v / 1e6);
    if (v >= 1e3)
        return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.{}f}", v, v < 10 ? 1 : 0);
}

std::string ms_text(std::optional<double> v) { return v ? fmt::format("{:.0f}", *v) : "-"; }

// A Prometheus label value: backslash, double quote and line feed escaped (exposition format 0.0.4).
std::string label(std::string_view v)
{
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string number(double v)
{
    if (std::isnan(v))
        return "NaN";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.6g", v);
    return buffer;
}

} // namespace

std::optional<stream_spec> parse_stream_spec(std::string const& text)
{
    stream_spec s;
    auto const eq = text.find('=');
    auto const scheme = text.find("://");
    if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
        s.name = text.substr(0, eq);
        s.url = text.substr(eq + 1);
        if (s.name.empty())
            return std::nullopt;
    } else {
        s.url = text;
    }
    sse::error_code ec;
    sse::url const u = sse::parse_url(s.url, ec);
    if (ec)
        return std::nullopt;
    if (s.name.empty())
        s.name = u.authority() + u.target;
    return s;
}

monitor::monitor(asio::io_context& io, monitor_config config)
    : config_(std::move(config)), group_(io.get_executor()), timer_(group_.get_executor())
{
    for (auto const& spec : config_.streams) {
        sse::event_source_options o = config_.source;
        o.retry_5xx = true;   // a monitor keeps watching through an outage
        // retry_429 stays as configured (on by default): a server at its connection
        // limit is asked again after its Retry-After, and the report shows the wait.
        if (!config_.token.empty())
            sse::set_header(o.headers, "Authorization", "Bearer " + config_.token);
        if (!config_.ca_file.empty())
            o.ca_file = config_.ca_file;
        if (config_.insecure)
            o.verify_peer = false;
        auto const stall = 4 * config_.analysis.heartbeat_interval;
        o.stall_timeout = std::max<std::chrono::milliseconds>(stall, std::chrono::seconds(2));
        group_.add(spec.name, spec.url, std::move(o));
        health_.emplace(spec.name, std::make_unique<stream_health>(config_.analysis));
    }

    group_.on_state([this](std::string_view name, sse::source_state s, sse::error_code) {
        auto const it = health_.find(name);
        if (it != health_.end())
            it->second->state(clock::now(), s);
    });
    group_.on_event([this](std::string_view name, sse::event_view const& ev) {
        auto const it = health_.find(name);
        if (it == health_.end())
            return;
        auto const at = clock::now();
        if (ev.type != "heartbeat") {
            it->second->activity(at);
            return;
        }
        std::optional<double> latency;
        if (auto const server_ms = parse_server_time(ev.data)) {
            auto const wall = std::chrono::duration_cast<std::chrono::microseconds>(
                config_.wall_clock().time_since_epoch());
            latency = double(wall.count()) / 1000.0 - double(*server_ms);
        }
        it->second->heartbeat(at, latency);
    });
    // A comment is the other usual heartbeat: it shows the stream alive, without a time.
    group_.on_comment([this](std::string_view name, std::string_view) {
        auto const it = health_.find(name);
        if (it != health_.end())
            it->second->heartbeat(clock::now(), std::nullopt);
    });
}

monitor::~monitor()
{
    if (listener_)
        listener_->stop();
}

void monitor::start()
{
    if (config_.metrics_port) {
        auto const endpoint = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), *config_.metrics_port);
        listener_ = std::make_shared<sse::listener>(group_.get_executor(), endpoint,
            [this](sse::http::request_head head, asio::ip::tcp::socket socket, std::string_view) {
                serve(head, std::move(socket));
            });
        metrics_port_ = listener_->local_endpoint().port();
        listener_->start();
    }
    group_.start();
    asio::post(group_.get_executor(), [this] { tick(); });
}

void monitor::stop()
{
    asio::post(group_.get_executor(), [this] {
        if (stopped_)
            return;
        stopped_ = true;
        // The last report shows the streams as they were, not as closed by this stop.
        auto reports = compute();
        {
            std::lock_guard<std::mutex> lock(mutex_);
            latest_ = std::move(reports);
        }
        timer_.cancel();
        group_.close();
        if (listener_)
            listener_->stop();
    });
}

std::vector<stream_report> monitor::latest() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return latest_;
}

std::vector<stream_report> monitor::compute()
{
    auto const now = clock::now();
    std::vector<stream_report> out;
    for (auto& h : group_.health()) {
        auto const it = health_.find(h.name);
        if (it == health_.end())
            continue;
        it->second->counters(now, h.stats.events_received, h.stats.bytes_received);
        stream_report r;
        r.name = h.name;
        r.url = h.url;
        r.figures = it->second->report(now);
        r.source = std::move(h);
        out.push_back(std::move(r));
    }
    return out;
}

void monitor::tick()
{
    if (stopped_)
        return;
    auto reports = compute();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        latest_ = reports;
    }
    if (on_tick_)
        on_tick_(reports);
    timer_.expires_after(config_.tick);
    timer_.async_wait([this](sse::error_code ec) {
        if (!ec)
            tick();
    });
}

void monitor::serve(sse::http::request_head const& head, asio::ip::tcp::socket socket)
{
    sse::response r;
    if (head.path() == "/metrics") {
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = prometheus_text(compute());
    } else if (head.path() == "/healthz") {
        r.body = "ok\n";
    } else {
        r.status = 404;
        r.body = "try /metrics\n";
    }
    sse::respond_and_close(std::move(socket), r);
}

std::string waiting_text(sse::event_source_stats const& stats)
{
    std::string text = fmt::format("reconnecting in {} ms", stats.reconnect_delay.count());
    if (stats.last_error == sse::error::bad_status && stats.last_status == 429)
        text += " (429: the server's limit; its Retry-After is honoured)";
    else if (stats.last_error == sse::error::bad_status)
        text += fmt::format(" (after status {})", stats.last_status);
    else if (stats.last_error)
        text += fmt::format(" ({})", stats.last_error.message());
    return text;
}

std::string render_table(std::vector<stream_report> const& reports, bool ansi)
{
    auto colour = [ansi](status s) -> std::string {
        if (!ansi)
            return "";
        switch (s) {
        case status::connected:
            return "\x1b[32m";
        case status::connecting:
            return "\x1b[33m";
        case status::unhealthy:
            return "\x1b[31;1m";
        case status::disconnected:
            return "\x1b[31m";
        }
        return "";
    };
    char const* const reset = ansi ? "\x1b[0m" : "";
    std::string out;
    auto line = std::back_inserter(out);
    fmt::format_to(line, "{}{:<24} {:<12} {:>7} {:>7} {:>6} {:>6} {:>7} {:>7} {:>7} {:>8} {:>9}\n{}",
                   ansi ? "\x1b[1m" : "", "STREAM", "STATE", "P50 ms", "P99 ms", "ERR%", "RECON", "UPTIME", "HB AGE",
                   "EV/s", "BYTES/s", "TREND/min", reset);
    for (auto const& r : reports) {
        auto const& f = r.figures;
        std::string name = r.name.size() > 24 ? r.name.substr(0, 23) + "~" : r.name;
        fmt::format_to(line, "{:<24} {}{:<12}{} {:>7} {:>7} {:>6.0f} {:>6} {:>7} {:>7} {:>7} {:>8} {:>9}\n", name,
                       colour(f.state), to_string(f.state), reset, ms_text(f.latency_p50_ms),
                       ms_text(f.latency_p99_ms), f.error_rate * 100, f.reconnects, duration_text(f.uptime_s),
                       f.heartbeat_age_s ? duration_text(*f.heartbeat_age_s) : "-", rate_text(f.events_per_second),
                       rate_text(f.bytes_per_second),
                       f.latency_trend_ms_per_min ? fmt::format("{:.1f}ms", *f.latency_trend_ms_per_min) : "-");
        if (!f.reason.empty() && f.state != status::connected)
            fmt::format_to(line, "    {}\n", f.reason);
        if (r.source.stats.state == sse::source_state::waiting)
            fmt::format_to(line, "    {}\n", waiting_text(r.source.stats));
        for (auto const& rec : f.recommendations)
            fmt::format_to(line, "    {}{}{}: {}\n      why: {}\n", ansi ? "\x1b[36m" : "", rec.code, reset, rec.advice,
                           rec.why);
    }
    return out;
}

nlohmann::json to_json(stream_report const& r, std::chrono::system_clock::time_point at)
{
    auto const& f = r.figures;
    auto optional = [](std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    nlohmann::json recs = nlohmann::json::array();
    for (auto const& rec : f.recommendations)
        recs.push_back({{"code", rec.code}, {"advice", rec.advice}, {"why", rec.why}, {"value", rec.value}});
    return {
        {"time", std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count()},
        {"stream", r.name},
        {"url", r.url},
        {"state", to_string(f.state)},
        {"reason", f.reason},
        {"sourceState", sse::to_string(f.source)},
        {"latencyP50Ms", optional(f.latency_p50_ms)},
        {"latencyP99Ms", optional(f.latency_p99_ms)},
        {"latencySamples", f.latency_samples},
        {"latencyTrendMsPerMin", optional(f.latency_trend_ms_per_min)},
        {"errorRate", f.error_rate},
        {"errorsPerMinute", f.errors_per_minute},
        {"attempts", f.attempts},
        {"failedAttempts", f.failed_attempts},
        {"reconnects", f.reconnects},
        {"disconnects", f.disconnects},
        {"uptimeSeconds", f.uptime_s},
        {"heartbeatAgeSeconds", optional(f.heartbeat_age_s)},
        {"heartbeats", f.heartbeats},
        {"events", f.events},
        {"bytes", f.bytes},
        {"eventsPerSecond", f.events_per_second},
        {"bytesPerSecond", f.bytes_per_second},
        {"lastStatus", r.source.stats.last_status},
        {"retryInMs", r.source.stats.state == sse::source_state::waiting
                          ? nlohmann::json(r.source.stats.reconnect_delay.count())
                          : nlohmann::json(nullptr)},
        {"lastError", r.source.stats.last_error ? r.source.stats.last_error.message() : std::string()},
        {"recommendations", recs},
    };
}

std::string prometheus_text(std::vector<stream_report> const& reports)
{
    std::ostringstream out;
    auto family = [&](char const* name, char const* type, char const* help, auto value) {
        bool any = false;
        for (auto const& r : reports) {
            std::optional<double> const v = value(r);
            if (!v)
                continue;
            if (!any) {
                out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
                any = true;
            }
            out << name << "{stream=\"" << label(r.name) << "\"} " << number(*v) << '\n';
        }
    };
    using opt = std::optional<double>;
    family("sse_stream_up", "gauge", "1 if the stream is open, else 0.",
           [](stream_report const& r) -> opt { return r.figures.source == sse::source_state::open ? 1 : 0; });
    family("sse_stream_healthy", "gauge", "1 if the stream is connected and no unhealthy rule fired, else 0.",
           [](stream_report const& r) -> opt { return r.figures.state == status::connected ? 1 : 0; });
    family("sse_stream_latency_p50_seconds", "gauge",
           "Median heartbeat latency (local receive time minus server time) over the window.",
           [](stream_report const& r) -> opt {
               return r.figures.latency_p50_ms ? opt(*r.figures.latency_p50_ms / 1000) : std::nullopt;
           });
    family("sse_stream_latency_p99_seconds", "gauge", "99th percentile of the heartbeat latency over the window.",
           [](stream_report const& r) -> opt {
               return r.figures.latency_p99_ms ? opt(*r.figures.latency_p99_ms / 1000) : std::nullopt;
           });
    family("sse_stream_error_rate", "gauge", "Failed attempts per attempt that ended in the window.",
           [](stream_report const& r) -> opt { return r.figures.error_rate; });
    family("sse_stream_errors_per_minute", "gauge", "Failed attempts and lost connections per minute in the window.",
           [](stream_report const& r) -> opt { return r.figures.errors_per_minute; });
    family("sse_stream_reconnects_total", "counter", "Connection attempts after the first.",
           [](stream_report const& r) -> opt { return double(r.figures.reconnects); });
    family("sse_stream_failed_attempts_total", "counter", "Attempts that ended before the stream opened.",
           [](stream_report const& r) -> opt { return double(r.figures.failed_attempts); });
    family("sse_stream_disconnects_total", "counter", "Open streams that ended, other than by closing the client.",
           [](stream_report const& r) -> opt { return double(r.figures.disconnects); });
    family("sse_stream_uptime_seconds", "gauge", "Age of the current connection; 0 when not open.",
           [](stream_report const& r) -> opt { return r.figures.uptime_s; });
    family("sse_stream_heartbeat_age_seconds", "gauge", "Time since the last heartbeat.",
           [](stream_report const& r) -> opt { return r.figures.heartbeat_age_s; });
    family("sse_stream_events_total", "counter", "Events received.",
           [](stream_report const& r) -> opt { return double(r.figures.events); });
    family("sse_stream_bytes_total", "counter", "Bytes received, HTTP heads and framing included.",
           [](stream_report const& r) -> opt { return double(r.figures.bytes); });
    family("sse_stream_events_per_second", "gauge", "Events per second over the rate window.",
           [](stream_report const& r) -> opt { return r.figures.events_per_second; });
    family("sse_stream_bytes_per_second", "gauge", "Bytes per second over the rate window.",
           [](stream_report const& r) -> opt { return r.figures.bytes_per_second; });
    bool any = false;
    for (auto const& r : reports)
        for (auto const& rec : r.figures.recommendations) {
            if (!any) {
                out << "# HELP sse_stream_recommendation 1 for each recommendation in force.\n"
                       "# TYPE sse_stream_recommendation gauge\n";
                any = true;
            }
            out << "sse_stream_recommendation{stream=\"" << label(r.name) << "\",code=\"" << label(rec.code)
                << "\"} 1\n";
        }
    return out.str();
}

} // namespace health
