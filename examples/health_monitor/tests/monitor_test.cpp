// The monitor end to end over loopback: a server with a known heartbeat and an
// injected delay, streams that fail, the Prometheus endpoint, and the program.
#include "monitor.hpp"

#include "support/script_server.hpp"

#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using support::script_server;

namespace {

long long now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// `event: heartbeat` every 100 ms whose server time is 50 ms in the past, as from a
// server whose events reach this client 50 ms late; /down answers 503; /flaky
// sends one heartbeat and closes.
script_server::handler_type heartbeats()
{
    return [](script_server::connection& c, support::recorded_request const& r) {
        if (r.target == "/down") {
            c.send(support::status_response(503, "Service Unavailable", "Connection: close\r\n", "later\n"));
            return;
        }
        if (!c.send(support::sse_head()))
            return;
        do {
            if (!c.send("event: heartbeat\ndata: " + std::to_string(now_ms() - 50) + "\n\n"))
                return;
            if (r.target == "/flaky")
                return;
            c.pause(100ms);
        } while (!c.stopping());
    };
}

health::monitor_config config_for(std::vector<health::stream_spec> streams)
{
    health::monitor_config c;
    c.streams = std::move(streams);
    c.analysis.heartbeat_interval = 100ms;
    c.analysis.window = 30s;
    c.tick = 100ms;
    c.source.backoff.initial_retry = 20ms;
    c.source.backoff.min_retry = 1ms;
    c.source.backoff.cap = 100ms;
    return c;
}

// A monitor whose io_context runs on its own thread; the test waits on its ticks.
class running
{
public:
    explicit running(health::monitor_config c) : monitor_(io_, std::move(c))
    {
        monitor_.on_tick([this](std::vector<health::stream_report> const& reports) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                last_ = reports;
            }
            ticked_.notify_all();
        });
        monitor_.start();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~running()
    {
        monitor_.stop();
        thread_.join();
    }

    health::monitor& monitor() { return monitor_; }

    /// Waits for a tick whose report of `name` satisfies `done`; returns that report.
    template<class Predicate>
    std::optional<health::stream_report> wait(std::string const& name, Predicate done,
                                              std::chrono::milliseconds limit = 15s)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        std::optional<health::stream_report> found;
        ticked_.wait_for(lock, limit, [&] {
            for (auto const& r : last_)
                if (r.name == name && done(r)) {
                    found = r;
                    return true;
                }
            return false;
        });
        return found;
    }

private:
    asio::io_context io_;
    health::monitor monitor_;
    std::mutex mutex_;
    std::condition_variable ticked_;
    std::vector<health::stream_report> last_;
    std::thread thread_;
};

// GET `target` on 127.0.0.1:port; the whole response.
std::string http_get(unsigned short port, std::string const& target)
{
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    std::string const request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    asio::write(s, asio::buffer(request));
    std::string response;
    std::error_code ec;
    asio::read(s, asio::dynamic_buffer(response), ec);   // until the server closes
    return response;
}

// The value of the sample `series` (name and labels) in an exposition text.
std::optional<double> sample(std::string const& text, std::string const& series)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.compare(0, series.size() + 1, series + " ") == 0)
            return std::stod(line.substr(series.size() + 1));
    return std::nullopt;
}

} // namespace

TEST_CASE("health_monitor: latency from heartbeats 50 ms late, no errors, and the metrics endpoint")
{
    script_server server(heartbeats());
    auto config = config_for({{"steady", server.url("/beat")}});
    config.metrics_port = 0;
    running m(config);
    auto const r = m.wait("steady", [](health::stream_report const& x) { return x.figures.latency_samples >= 10; });
    REQUIRE(r);
    auto const& f = r->figures;
    REQUIRE(f.latency_p50_ms);
    CHECK(*f.latency_p50_ms >= 45.0);   // 50 ms, plus transit and scheduling on a busy machine
    CHECK(*f.latency_p50_ms <= 150.0);
    CHECK(*f.latency_p99_ms >= *f.latency_p50_ms);
    CHECK(f.error_rate == 0.0);
    CHECK(f.reconnects == 0);
    CHECK(f.failed_attempts == 0);
    CHECK(f.state == health::status::connected);
    CHECK(f.source == sse::source_state::open);
    REQUIRE(f.heartbeat_age_s);
    CHECK(*f.heartbeat_age_s < 1.0);
    CHECK(f.events >= 10);
    CHECK(f.bytes > 0);
    CHECK(r->source.stats.opens == 1);
    CHECK(f.recommendations.empty());

    REQUIRE(m.monitor().metrics_port());
    auto const response = http_get(*m.monitor().metrics_port(), "/metrics");
    CAPTURE(response);
    CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(response.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(response.find("# HELP sse_stream_latency_p50_seconds ") != std::string::npos);
    CHECK(response.find("# TYPE sse_stream_latency_p50_seconds gauge\n") != std::string::npos);
    CHECK(response.find("# TYPE sse_stream_reconnects_total counter\n") != std::string::npos);
    auto const p50 = sample(response, R"(sse_stream_latency_p50_seconds{stream="steady"})");
    REQUIRE(p50);
    CHECK(*p50 >= 0.045);
    CHECK(*p50 <= 0.150);
    CHECK(sample(response, R"(sse_stream_up{stream="steady"})") == 1.0);
    CHECK(sample(response, R"(sse_stream_error_rate{stream="steady"})") == 0.0);
    CHECK(http_get(*m.monitor().metrics_port(), "/other").rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("health_monitor: a stream answering 503 and one that keeps closing")
{
    script_server server(heartbeats());
    running m(config_for({{"down", server.url("/down")}, {"flaky", server.url("/flaky")}, {"ok", server.url("/")}}));
    auto const down = m.wait("down", [](health::stream_report const& x) { return x.figures.failed_attempts >= 4; });
    auto const flaky = m.wait("flaky", [](health::stream_report const& x) { return x.figures.disconnects >= 4; });
    auto const ok = m.wait("ok", [](health::stream_report const& x) { return x.figures.latency_samples >= 3; });
    REQUIRE(down);
    REQUIRE(flaky);
    REQUIRE(ok);

    CHECK(down->figures.error_rate == 1.0);   // every attempt refused
    CHECK(down->figures.reconnects >= 3);
    CHECK(down->figures.errors_per_minute > 0);
    CHECK(down->figures.state == health::status::unhealthy);
    CHECK(down->figures.reason.find("error rate 100%") != std::string::npos);
    CHECK(down->source.stats.last_status == 503);
    CHECK(down->figures.source != sse::source_state::failed);   // it keeps trying (retry_5xx)

    CHECK(flaky->figures.reconnects >= 3);
    CHECK(flaky->figures.error_rate == 0.0);   // every attempt opened...
    CHECK(flaky->figures.errors_per_minute > 0);   // ...and was lost
    CHECK(flaky->figures.heartbeats >= 4);

    CHECK(ok->figures.error_rate == 0.0);     // the others do not disturb it
    CHECK(ok->figures.reconnects == 0);
    CHECK(ok->figures.state == health::status::connected);
}

TEST_CASE("health_monitor: a 429 is retried after its Retry-After, and the wait is reported")
{
    // The first answer is a connection limit's 429; the monitor comes back after it.
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0) {
            c.send(support::status_response(429, "Too Many Requests", "Retry-After: 1\r\n"));
            return;
        }
        if (!c.send(support::sse_head()))
            return;
        do {
            if (!c.send("event: heartbeat\ndata: " + std::to_string(now_ms()) + "\n\n"))
                return;
            c.pause(100ms);
        } while (!c.stopping());
    });
    running m(config_for({{"busy", server.url("/")}}));
    auto const waiting = m.wait("busy", [](health::stream_report const& x) {
        return x.source.stats.state == sse::source_state::waiting;
    });
    REQUIRE(waiting);
    CHECK(waiting->source.stats.last_status == 429);
    CHECK(waiting->source.stats.reconnect_delay == 1000ms);   // the header's, not the 20 ms back-off
    std::string const table = health::render_table({*waiting}, false);
    CHECK(table.find("reconnecting in 1000 ms (429") != std::string::npos);
    CHECK(health::to_json(*waiting, std::chrono::system_clock::now())["retryInMs"] == 1000);

    auto const back = m.wait("busy", [](health::stream_report const& x) { return x.figures.heartbeats >= 2; });
    REQUIRE(back);
    auto const requests = server.requests();
    REQUIRE(requests.size() >= 2);
    CHECK(requests[1].at - requests[0].at >= 1000ms);
}

TEST_CASE("health_monitor: the program prints JSON lines")
{
    script_server server(heartbeats());
    std::string const command = std::string(SSE_HEALTH_MONITOR_EXE) +
                                " --json --duration 2 --interval 0.5 --heartbeat-ms 100 steady=" +
                                server.url("/beat") + " 2>/dev/null";
    FILE* out = ::popen(command.c_str(), "r");
    REQUIRE(out);
    std::string text;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, out)) > 0;)
        text.append(buffer, n);
    int const status = ::pclose(out);
    CAPTURE(text);
    CHECK(status == 0);

    std::vector<nlohmann::json> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(nlohmann::json::parse(line));
    REQUIRE(lines.size() >= 3);   // every 0.5 s, and at exit
    auto const& last = lines.back();
    CHECK(last["stream"] == "steady");
    CHECK(last["url"] == server.url("/beat"));
    CHECK(last["errorRate"] == 0.0);
    CHECK(last["reconnects"] == 0);
    REQUIRE(last["latencyP50Ms"].is_number());
    CHECK(last["latencyP50Ms"].get<double>() >= 45.0);
    CHECK(last["latencyP50Ms"].get<double>() <= 150.0);
    CHECK(last["latencySamples"].get<int>() >= 5);
    CHECK(last["recommendations"].is_array());
}

TEST_CASE("health_monitor: the program refuses bad arguments")
{
    auto run = [](std::string const& args) {
        int const status = ::system((std::string(SSE_HEALTH_MONITOR_EXE) + " " + args + " >/dev/null 2>&1").c_str());
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    };
    CHECK(run("not-a-url") == 2);
    CHECK(run("a=http://127.0.0.1:1/ a=http://127.0.0.1:2/") == 2);   // two streams of one name
    CHECK(run("--heartbeat-ms 0 http://127.0.0.1:1/") == 2);
    CHECK(run("--no-such-flag") == 2);
    CHECK(run("--help") == 0);
}
