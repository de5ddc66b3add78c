// monitor.hpp - sse-health-monitor's engine: streams in an sse::source_group, one
// stream_health each, a report every second, and the Prometheus endpoint.
#ifndef SSE_HEALTH_MONITOR_MONITOR_HPP
#define SSE_HEALTH_MONITOR_MONITOR_HPP

#include "stream_health.hpp"

#include <sse/asio/listener.hpp>
#include <sse/asio/source_group.hpp>
#include <sse/asio/ssl.hpp>

#include <nlohmann/json_fwd.hpp>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace health {

/// A stream to watch: its name (a label in every output) and URL.
struct stream_spec
{
    std::string name;
    std::string url;
};

/** Reads "name=URL" or "URL" (named after its host, port and path). None if the
    text is neither.
*/
std::optional<stream_spec> parse_stream_spec(std::string const& text);

struct monitor_config
{
    std::vector<stream_spec> streams;

    /// Thresholds of the analysis, the expected heartbeat interval among them.
    options analysis;

    /// The source options every stream starts from. The monitor adds the
    /// token, TLS settings, `retry_5xx` and a stall timeout of four heartbeat intervals.
    sse::event_source_options source;

    /// Sent as `Authorization: Bearer <token>` when not empty.
    std::string token;
    std::string ca_file;
    bool insecure = false;

    /// Serve /metrics on 127.0.0.1 at this port (0: any free port). None: no endpoint.
    std::optional<unsigned short> metrics_port;

    /// How often the figures are computed.
    std::chrono::milliseconds tick{1000};

    /// The wall clock that heartbeats' server times are compared with (tests move it).
    std::function<std::chrono::system_clock::time_point()> wall_clock = [] { return std::chrono::system_clock::now(); };
};

/// One stream's state as of a tick.
struct stream_report
{
    std::string name;
    std::string url;
    health::figures figures;
    sse::source_health source;
};

/** Watches the configured streams until stop(). Runs on the io_context given;
    reports are computed on the group's strand each tick.
*/
class monitor
{
public:
    /// Throws std::system_error for a URL it cannot use or a repeated name (sse::error::duplicate_stream_name).
    monitor(asio::io_context& io, monitor_config config);
    ~monitor();

    monitor(monitor const&) = delete;
    monitor& operator=(monitor const&) = delete;

    /// Calls `handler(reports)` after each tick, on the monitor's strand.
    void on_tick(std::function<void(std::vector<stream_report> const&)> handler) { on_tick_ = std::move(handler); }

    /// Starts the streams, the ticks and the metrics endpoint (throws if it cannot listen).
    void start();

    /// Closes the streams and the endpoint and stops ticking; io.run() then returns. Any thread.
    void stop();

    /// The reports of the last tick, or of stop(), which makes one before closing; safe from any thread.
    std::vector<stream_report> latest() const;

    /// The port of the metrics endpoint, once started.
    std::optional<unsigned short> metrics_port() const { return metrics_port_; }

private:
    void tick();
    std::vector<stream_report> compute();
    void serve(sse::http::request_head const& head, asio::ip::tcp::socket socket);

    monitor_config config_;
    sse::source_group<sse::tls_socket> group_;
    asio::steady_timer timer_;
    std::map<std::string, std::unique_ptr<stream_health>, std::less<>> health_;   // on the strand
    std::shared_ptr<sse::listener> listener_;
    std::optional<unsigned short> metrics_port_;
    std::function<void(std::vector<stream_report> const&)> on_tick_;
    mutable std::mutex mutex_;
    std::vector<stream_report> latest_;
    bool stopped_ = false;   // on the strand
};

/// "reconnecting in N ms", and why: a 429 (the server's limit), another status, an error.
std::string waiting_text(sse::event_source_stats const& stats);

/// The reports as a table: with ANSI colours when `ansi`.
std::string render_table(std::vector<stream_report> const& reports, bool ansi);

/// One report as a JSON object (one line of --json output).
nlohmann::json to_json(stream_report const& r, std::chrono::system_clock::time_point at);

/// The reports in the Prometheus text exposition format 0.0.4.
std::string prometheus_text(std::vector<stream_report> const& reports);

} // namespace health

#endif
