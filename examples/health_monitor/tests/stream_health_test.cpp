// The health analysis on made-up timelines: every time is given, no clock is read.
#include "stream_health.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using sse::source_state;

namespace {

// A fixed origin far from the clock's epoch, which means "never".
health::time_point at(std::chrono::milliseconds t) { return health::time_point(std::chrono::hours(1000)) + t; }

health::recommendation const* find(health::figures const& f, std::string const& code)
{
    for (auto const& r : f.recommendations)
        if (r.code == code)
            return &r;
    return nullptr;
}

std::string codes(health::figures const& f)
{
    std::string out;
    for (auto const& r : f.recommendations)
        out += r.code + " (" + r.why + "); ";
    return out;
}

health::options every(std::chrono::milliseconds interval)
{
    health::options o;
    o.heartbeat_interval = interval;
    return o;
}

// The documentation's example (docs/health-monitor.md).
// A stream with 1 s heartbeats that a proxy releases four at a time.
health::figures buffered_stream()
{
    health::options o;
    o.heartbeat_interval = std::chrono::seconds(1);
    health::stream_health h(o);

    auto const t0 = health::clock::now();
    h.state(t0, sse::source_state::connecting);
    h.state(t0 + 5ms, sse::source_state::open);
    for (int burst = 1; burst <= 3; ++burst)
        for (int i = 0; i < 4; ++i)   // 4 s of silence, then 4 heartbeats within 30 ms
            h.heartbeat(t0 + burst * 4s + i * 10ms, /* latency_ms = */ 3000.0 - 1000 * i);
    return h.report(t0 + 13s);   // state, p50/p99, error rate... and recommendations
}

} // namespace

TEST_CASE("stream_health: the documentation's example")
{
    auto const f = buffered_stream();
    CAPTURE(codes(f));
    REQUIRE(f.recommendations.size() == 1);
    CHECK(f.recommendations[0].code == "buffering_proxy");
    CHECK(f.recommendations[0].why.find("3 bursts of heartbeats: 4 arrived within 30 ms after ") == 0);
    CHECK(f.latency_p50_ms == 1000.0);
    CHECK(f.latency_p99_ms == 3000.0);
}

TEST_CASE("stream_health: p50 and p99 are nearest-rank percentiles of the window's samples")
{
    health::stream_health h(every(1s));
    h.state(at(0ms), source_state::connecting);
    h.state(at(10ms), source_state::open);
    SUBCASE("1 to 100 ms, shuffled")
    {
        std::vector<double> latencies;
        for (int i = 1; i <= 100; ++i)
            latencies.push_back(i);
        std::shuffle(latencies.begin(), latencies.end(), std::mt19937(7));
        for (std::size_t i = 0; i < latencies.size(); ++i)
            h.heartbeat(at(std::chrono::milliseconds(1000 * (i + 1))), latencies[i]);
        auto const f = h.report(at(101s));
        CHECK(f.latency_samples == 100);
        CHECK(f.latency_p50_ms == 50.0);
        CHECK(f.latency_p99_ms == 99.0);
        CHECK(f.heartbeats == 100);
        CHECK(f.heartbeat_age_s == doctest::Approx(1.0));
    }
    SUBCASE("ten samples")
    {
        int i = 0;
        for (double v : {5.0, 1.0, 4.0, 2.0, 3.0, 10.0, 9.0, 8.0, 7.0, 6.0})
            h.heartbeat(at(std::chrono::milliseconds(1000 * ++i)), v);
        auto const f = h.report(at(11s));
        CHECK(f.latency_p50_ms == 5.0);    // rank ceil(0.5 * 10) = 5
        CHECK(f.latency_p99_ms == 10.0);   // rank ceil(0.99 * 10) = 10
    }
    SUBCASE("samples older than the window no longer count; heartbeats without a time none at all")
    {
        health::options o = every(1s);
        o.window = 10s;
        health::stream_health w(o);
        w.state(at(0ms), source_state::connecting);
        w.state(at(10ms), source_state::open);
        w.heartbeat(at(1s), 1000.0);   // drops out of the window
        for (int s = 2; s <= 12; ++s)
            w.heartbeat(at(std::chrono::seconds(s)), double(s));
        w.heartbeat(at(12500ms), std::nullopt);   // a comment: alive, no latency
        auto const f = w.report(at(13s));
        CHECK(f.latency_samples == 10);   // 3..12 s: within 10 s of 13 s
        CHECK(f.latency_p50_ms == 7.0);
        CHECK(f.latency_p99_ms == 12.0);
        CHECK(f.heartbeats == 13);
        CHECK(f.heartbeat_age_s == doctest::Approx(0.5));
    }
    std::vector<double> none;
    CHECK(health::percentile(none, 50) == std::nullopt);
}

TEST_CASE("stream_health: the error rate is failed attempts per attempt that ended in the window")
{
    health::stream_health h(every(1s));
    h.state(at(0ms), source_state::connecting);
    h.state(at(100ms), source_state::waiting);   // refused: failed attempt
    h.state(at(300ms), source_state::connecting);
    h.state(at(400ms), source_state::waiting);   // failed attempt
    h.state(at(900ms), source_state::connecting);
    h.state(at(1000ms), source_state::open);     // ok
    h.state(at(5000ms), source_state::waiting);  // the open stream was lost: a disconnect, not a failed attempt
    h.state(at(5100ms), source_state::connecting);
    h.state(at(5200ms), source_state::open);     // ok
    h.heartbeat(at(5300ms), 10.0);

    auto const f = h.report(at(5500ms));
    CHECK(f.attempts == 4);
    CHECK(f.reconnects == 3);
    CHECK(f.failed_attempts == 2);
    CHECK(f.disconnects == 1);
    CHECK(f.attempts_in_window == 4);
    CHECK(f.failed_in_window == 2);
    CHECK(f.error_rate == doctest::Approx(0.5));
    CHECK(f.errors_per_minute == doctest::Approx(3.0));   // 2 failed + 1 lost, over at least a minute
    CHECK(f.uptime_s == doctest::Approx(0.3));
    CHECK(f.state == health::status::unhealthy);          // over 25% with 3 or more attempts
    CHECK(f.reason.find("error rate 50%") != std::string::npos);

    SUBCASE("it falls as good attempts follow, and old ones leave the window")
    {
        health::options o = every(10s);   // heartbeats overdue only after 20 s
        o.window = 60s;
        health::stream_health w(o);
        w.state(at(0s), source_state::connecting);
        w.state(at(1s), source_state::waiting);
        for (int i = 0; i < 3; ++i) {
            w.state(at(std::chrono::seconds(2 + 20 * i)), source_state::connecting);
            w.state(at(std::chrono::seconds(3 + 20 * i)), source_state::open);
            w.heartbeat(at(std::chrono::seconds(4 + 20 * i)), 5.0);
            if (i < 2)
                w.state(at(std::chrono::seconds(5 + 20 * i)), source_state::waiting);
        }
        auto f1 = w.report(at(50s));
        CHECK(f1.error_rate == doctest::Approx(0.25));   // 1 of 4
        CHECK(f1.state == health::status::connected);     // 25% is not over the limit
        w.heartbeat(at(62s), 5.0);
        auto f2 = w.report(at(62s));                        // the failure at 1 s left the 60 s window
        CHECK(f2.attempts_in_window == 3);
        CHECK(f2.error_rate == 0.0);
        CHECK(f2.failed_attempts == 1);                     // the total stays
    }
}

TEST_CASE("stream_health: heartbeats in bursts after a silence mean a buffering proxy")
{
    health::stream_health h(every(1s));
    h.state(at(0ms), source_state::connecting);
    h.state(at(5ms), source_state::open);
    for (int s = 1; s <= 3; ++s)
        h.heartbeat(at(std::chrono::seconds(s)), 20.0);
    // Silence from 3 s to 7 s, then four heartbeats within 60 ms, released at once by a proxy.
    h.heartbeat(at(7000ms), 3020.0);
    h.heartbeat(at(7020ms), 2040.0);
    h.heartbeat(at(7040ms), 1060.0);
    h.heartbeat(at(7060ms), 80.0);
    h.heartbeat(at(8000ms), 20.0);
    auto const f = h.report(at(8500ms));
    CAPTURE(codes(f));
    auto const r = find(f, "buffering_proxy");
    REQUIRE(r);
    CHECK(r->value == 4.0);
    CHECK(r->why.find("4 arrived within 60 ms after 4.00 s of silence") != std::string::npos);
    CHECK(r->advice.find("proxy_buffering off") != std::string::npos);
    CHECK(f.recommendations.size() == 1);
}

TEST_CASE("stream_health: connections cut after a steady time mean an idle timeout upstream")
{
    // The server beats every 60 s; something closes idle connections after 30 s.
    health::options o = every(60s);
    o.window = 10min;
    health::stream_health h(o);
    auto t = at(0ms);
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> wobble(-500, 500);   // within 2% of 30 s
    for (int i = 0; i < 5; ++i) {
        h.state(t, source_state::connecting);
        t += 50ms;
        h.state(t, source_state::open);
        t += 30s + std::chrono::milliseconds(wobble(rng));
        h.state(t, source_state::waiting);
        t += std::chrono::milliseconds(200 + 100 * i);   // back-off varies: lifetimes are what is steady
    }
    auto const f = h.report(t);
    CAPTURE(codes(f));
    auto const r = find(f, "idle_timeout");
    REQUIRE(r);
    CHECK(r->value == doctest::Approx(30.0).epsilon(0.02));
    CHECK(r->why.find("5 of 5 connections ended after") != std::string::npos);
    CHECK(r->advice.find("every 15.0 s") != std::string::npos);
    CHECK(r->advice.find("--heartbeat-ms 15000") != std::string::npos);
    CHECK(f.disconnects == 5);
    CHECK(f.error_rate == 0.0);   // every attempt opened

    SUBCASE("lifetimes that vary do not fire it")
    {
        health::stream_health v(o);
        auto u = at(0ms);
        for (int secs : {12, 40, 25, 70, 31}) {
            v.state(u, source_state::connecting);
            v.state(u + 10ms, source_state::open);
            u += std::chrono::seconds(secs);
            v.state(u, source_state::waiting);
            u += 500ms;
        }
        auto const g = v.report(u);
        CAPTURE(codes(g));
        CHECK_FALSE(find(g, "idle_timeout"));
    }
}

TEST_CASE("stream_health: latency rising across the window means a slow consumer or an overloaded server")
{
    health::stream_health h(every(1s));
    h.state(at(0ms), source_state::connecting);
    h.state(at(10ms), source_state::open);
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> jitter(-3, 3);
    for (int i = 1; i <= 60; ++i)
        h.heartbeat(at(std::chrono::seconds(i)), 20.0 + 5.0 * i + jitter(rng));
    auto const f = h.report(at(60500ms));
    CAPTURE(codes(f));
    auto const r = find(f, "rising_latency");
    REQUIRE(r);
    CHECK(r->value == doctest::Approx(295.0).epsilon(0.03));   // 5 ms/s over 59 s
    REQUIRE(f.latency_trend_ms_per_min);
    CHECK(*f.latency_trend_ms_per_min == doctest::Approx(300.0).epsilon(0.03));
    CHECK(r->advice.find("slow") != std::string::npos);
    CHECK_FALSE(find(f, "buffering_proxy"));
}

TEST_CASE("stream_health: a healthy steady stream gets no recommendation")
{
    health::options o = every(1s);
    o.window = 2min;
    health::stream_health h(o);
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> arrival(-30, 30);
    std::uniform_real_distribution<double> latency(35, 45);
    h.state(at(0ms), source_state::connecting);
    h.state(at(20ms), source_state::open);
    std::uint64_t events = 0, bytes = 0;
    for (int i = 1; i <= 600; ++i) {
        auto const t = at(std::chrono::milliseconds(1000 * i + arrival(rng)));
        h.heartbeat(t, latency(rng));
        events += 11;
        bytes += 11 * 50;
        h.counters(t, events, bytes);
    }
    auto const now = at(600200ms);
    auto const f = h.report(now);
    CAPTURE(codes(f));
    CHECK(f.recommendations.empty());
    CHECK(f.state == health::status::connected);
    CHECK(f.reason.empty());
    CHECK(f.error_rate == 0.0);
    CHECK(f.errors_per_minute == 0.0);
    CHECK(f.reconnects == 0);
    CHECK(*f.latency_p50_ms >= 35.0);
    CHECK(*f.latency_p99_ms <= 45.0);
    CHECK(std::abs(*f.latency_trend_ms_per_min) < 3.0);
    CHECK(f.events_per_second == doctest::Approx(11.0).epsilon(0.02));
    CHECK(f.bytes_per_second == doctest::Approx(550.0).epsilon(0.02));
    CHECK(f.events == events);
    CHECK(f.uptime_s == doctest::Approx(600.18));

    SUBCASE("then silence: the heartbeat is overdue")
    {
        auto const g = h.report(now + 2500ms);   // last beat about 0.2 s before now, limit 2 s
        CHECK(g.state == health::status::unhealthy);
        CHECK(g.reason.find("heartbeat overdue") != std::string::npos);
    }
    SUBCASE("an event keeps a stream without heartbeats alive")
    {
        h.activity(now + 1500ms);
        CHECK(h.report(now + 2500ms).state == health::status::connected);
    }
}

TEST_CASE("stream_health: states a person reads")
{
    health::stream_health h(every(1s));
    CHECK(h.report(at(0ms)).state == health::status::disconnected);
    CHECK(h.report(at(0ms)).reason == "not started");
    h.state(at(0ms), source_state::connecting);
    CHECK(h.report(at(500ms)).state == health::status::connecting);
    CHECK(h.report(at(2500ms)).state == health::status::unhealthy);   // no connection for over 2 intervals
    CHECK(h.report(at(2500ms)).reason.find("no connection for") != std::string::npos);
    h.state(at(3000ms), source_state::open);
    CHECK(h.report(at(3500ms)).state == health::status::connected);
    h.state(at(4000ms), source_state::failed);
    auto const f = h.report(at(4500ms));
    CHECK(f.state == health::status::disconnected);
    CHECK(f.reason == "the source failed for good");
    CHECK(f.uptime_s == 0.0);
}

TEST_CASE("stream_health: the server time of a heartbeat")
{
    CHECK(health::parse_server_time("1700000000123") == 1700000000123);
    CHECK(health::parse_server_time(" 42\n") == 42);
    CHECK(health::parse_server_time(R"({"serverTime": 1700000000123, "seq": 4})") == 1700000000123);
    CHECK(health::parse_server_time(R"({"time": 17.6})") == 18);
    CHECK(health::parse_server_time(R"({"time": "soon"})") == std::nullopt);
    CHECK(health::parse_server_time(R"({"other": 1})") == std::nullopt);
    CHECK(health::parse_server_time("12a") == std::nullopt);
    CHECK(health::parse_server_time("") == std::nullopt);
    CHECK(health::parse_server_time("{broken") == std::nullopt);
    CHECK(health::parse_server_time("99999999999999999999999") == std::nullopt);
}
