// sse-health-monitor - watches Server-Sent Events streams and says how healthy they are.
//
// Shows sse::source_group<sse::tls_socket>: several streams (http and https) at
// once, shared handlers that know each stream's name, and a health snapshot per
// stream. For each stream it measures latency from the server's heartbeats (local
// receive time minus the server time in `event: heartbeat`), the error rate,
// reconnects, uptime, heartbeat age, events and bytes per second, and derives
// recommendations (a buffering proxy, an idle timeout upstream, a slow consumer).
//
//   sse-server --heartbeat-ms 2000 &
//   sse-health-monitor --heartbeat-ms 2000 http://127.0.0.1:8080/api/sse
//   sse-health-monitor --json --interval 10 eu=https://eu.example/events us=https://us.example/events
//   sse-health-monitor --metrics-port 9464 URL &  curl -s 127.0.0.1:9464/metrics
//
// With no URL it watches http://127.0.0.1:8080/api/sse (a local sse-server). A
// live table is redrawn every second when stdout is a terminal; --json prints one
// JSON object per stream every --interval seconds. Ctrl-C stops it. See
// docs/health-monitor.md.
#include "monitor.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

namespace {

std::chrono::milliseconds to_ms(double seconds)
{
    return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

bool write_out(std::string const& text)
{
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"sse-health-monitor: watches Server-Sent Events streams and reports their health"};
    std::vector<std::string> urls;
    long long heartbeat_ms = 15000;
    double window = 300, duration = 0, interval = 0;
    bool json = false;
    int metrics_port = -1;
    health::monitor_config config;
    app.add_option("streams", urls, "Streams to watch: URL or name=URL (default http://127.0.0.1:8080/api/sse)");
    app.add_option("--heartbeat-ms", heartbeat_ms, "The server's heartbeat interval, in milliseconds")
        ->check(CLI::Range(1LL, 86400000LL))
        ->capture_default_str();
    app.add_option("--window", window, "Seconds of history for latency percentiles, trend and error rate")
        ->check(CLI::Range(1.0, 86400.0))
        ->capture_default_str();
    app.add_option("--token", config.token, "Sent as Authorization: Bearer <token>");
    app.add_option("--cacert", config.ca_file, "PEM file of trusted certificates (instead of the system store)")
        ->check(CLI::ExistingFile);
    app.add_flag("--insecure", config.insecure, "Do not verify certificates (tests only)");
    app.add_option("--duration", duration, "Exit after this many seconds (0: run until interrupted)")
        ->check(CLI::Range(0.0, 1e9));
    app.add_flag("--json", json, "Print one JSON object per stream every --interval seconds, and at exit");
    app.add_option("--interval", interval, "Seconds between reports (default: 1 for the table, 5 for --json)")
        ->check(CLI::Range(0.1, 86400.0));
    app.add_option("--metrics-port", metrics_port,
                   "Serve Prometheus metrics on http://127.0.0.1:PORT/metrics (0: any free port)")
        ->check(CLI::Range(0, 65535));
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        return app.exit(e) == 0 ? 0 : 2;   // --help is a success; every usage error is 2
    }

    if (urls.empty())
        urls.push_back("http://127.0.0.1:8080/api/sse");
    std::set<std::string> names;
    for (auto const& text : urls) {
        auto spec = health::parse_stream_spec(text);
        if (!spec) {
            fmt::print(stderr, "sse-health-monitor: not a stream: '{}' (want URL or name=URL)\n", text);
            return 2;
        }
        if (!names.insert(spec->name).second) {
            fmt::print(stderr, "sse-health-monitor: two streams are called '{}': name them (name=URL)\n", spec->name);
            return 2;
        }
        config.streams.push_back(*spec);
    }
    config.analysis.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
    config.analysis.window = to_ms(window);
    if (metrics_port >= 0)
        config.metrics_port = static_cast<unsigned short>(metrics_port);

    bool const tty = ::isatty(STDOUT_FILENO) == 1;
    bool const live = tty && !json;
    if (interval <= 0)
        interval = json ? 5 : 1;
    auto const every = to_ms(interval);
    config.tick = std::min<std::chrono::milliseconds>(every, std::chrono::seconds(1));

    asio::io_context io;
    std::optional<health::monitor> mon;
    try {
        mon.emplace(io, config);
        mon->start();
    } catch (std::exception const& e) {
        fmt::print(stderr, "sse-health-monitor: {}\n", e.what());
        return 2;
    }
    if (auto const port = mon->metrics_port())
        fmt::print(stderr, "sse-health-monitor: metrics on http://127.0.0.1:{}/metrics\n", *port);

    int status = 0;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    asio::steady_timer deadline(io);
    auto finish = [&] {
        signals.cancel();
        deadline.cancel();
        mon->stop();
    };
    auto print = [&](std::vector<health::stream_report> const& reports) {
        std::string text;
        if (json) {
            auto const at = std::chrono::system_clock::now();
            for (auto const& r : reports)
                text += health::to_json(r, at).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        } else {
            text = (live ? "\x1b[H\x1b[2J" : "") + health::render_table(reports, live) + (live ? "" : "\n");
        }
        if (!write_out(text)) {
            status = 1;   // nobody reads any more
            finish();
        }
    };
    auto next_print = std::chrono::steady_clock::now() + (live ? std::chrono::milliseconds(0) : every);
    mon->on_tick([&](std::vector<health::stream_report> const& reports) {
        auto const now = std::chrono::steady_clock::now();
        if (now + std::chrono::milliseconds(50) < next_print)
            return;
        next_print += every;
        if (next_print < now)
            next_print = now + every;
        print(reports);
    });

    signals.async_wait([&](std::error_code ec, int signo) {
        if (ec)
            return;
        status = 128 + signo;
        finish();
    });
    if (duration > 0) {
        deadline.expires_after(to_ms(duration));
        deadline.async_wait([&](std::error_code ec) {
            if (!ec)
                finish();
        });
    }
    std::signal(SIGPIPE, SIG_IGN);
    io.run();
    if (json || !live)
        print(mon->latest());   // the final state, also for a run shorter than --interval
    return status;
}
