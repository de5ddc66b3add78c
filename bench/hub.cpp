// bench/hub.cpp - fan-out of one event to many subscribers, and replay look-ups.
#include "alloc_counter.hpp"

#include <sse/hub.hpp>
#include <sse/replay_buffer.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

// A transport stand-in: a wake is a counter increment (a real one posts to an executor).
struct counting_sink : sse::delivery_sink
{
    std::uint64_t wakes = 0;
    void wake() noexcept override { ++wakes; }
    void closed(sse::close_reason) noexcept override {}
};

sse::event hundred_byte_event()
{
    sse::event e;
    e.type = "tick";
    e.data = std::string(100 - std::string("id: xxxxxx-1\nevent: tick\ndata: \n\n").size(), 'x');
    return e;
}

// Publishes one 100-byte event to one topic followed by N subscribers, then pulls
// every queue empty, as connections would. Deliveries/s is items_per_second.
void hub_publish_fanout(benchmark::State& state)
{
    auto const n = static_cast<std::size_t>(state.range(0));
    sse::hub_options options;
    options.replay.max_events = 1024;
    sse::hub hub(options);
    auto sink = std::make_shared<counting_sink>();
    std::vector<std::shared_ptr<sse::subscriber>> subs;
    subs.reserve(n);

    sse::subscriber_options o;
    o.topics = {"ticks"};
    // Memory held per idle subscriber: its object, its index entries, nothing queued.
    auto const bytes_before = bench::live_bytes();
    for (std::size_t i = 0; i < n; ++i)
        subs.push_back(hub.subscribe(o, sink));
    auto const bytes_after = bench::live_bytes();
    state.counters["bytes_per_subscriber"] =
        static_cast<double>(bytes_after - bytes_before - static_cast<std::int64_t>(n * sizeof(subs[0]))) /
        static_cast<double>(n);
    state.counters["sizeof_subscriber"] = sizeof(sse::subscriber);

    auto const topic = sse::audience::topic("ticks");
    auto const e = hundred_byte_event();
    std::vector<sse::event_buffer> out;
    out.reserve(16);
    auto const drain = [&] {
        for (auto const& s : subs) {
            s->pull(out, 64 * 1024, sse::subscriber::clock::now());
            out.clear();
        }
    };
    // Warm up: the queues' rings and the wake list reach their steady size.
    for (int i = 0; i < 3; ++i) {
        hub.publish(e, topic);
        drain();
    }

    // What one publish allocates by itself (event copy, record, wire): not per delivery.
    sse::hub lone(options);
    lone.publish(e, topic);
    auto const lone_before = bench::allocations();
    lone.publish(e, topic);
    auto const per_publish = bench::allocations() - lone_before;

    auto const allocs_before = bench::allocations();
    for (auto _ : state) {
        auto const r = hub.publish(e, topic);
        benchmark::DoNotOptimize(r.deliveries);
        drain();
    }
    auto const allocs = bench::allocations() - allocs_before;
    auto const iterations = static_cast<double>(state.iterations());
    auto const deliveries = iterations * static_cast<double>(n);
    state.SetItemsProcessed(static_cast<std::int64_t>(deliveries));
    state.SetBytesProcessed(static_cast<std::int64_t>(deliveries * 100));
    state.counters["ns_per_delivery"] = benchmark::Counter(
        static_cast<double>(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    state.counters["allocs_per_publish"] = static_cast<double>(allocs) / iterations;
    state.counters["allocs_per_delivery"] =
        (static_cast<double>(allocs) - static_cast<double>(per_publish) * iterations) / deliveries;
}
BENCHMARK(hub_publish_fanout)->ArgName("subscribers")->Arg(1000)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// A connection stand-in that drains its queue at each wake, inline or not, and
// then spins for 5 µs, a stand-in for the send (5 to 7 µs on loopback here): the publishing thread does the
// whole delivery, as sse::attach does for idle streams.
struct draining_sink : sse::delivery_sink
{
    sse::subscriber* sub = nullptr;
    std::vector<sse::event_buffer> out;
    void wake() noexcept override
    {
        sub->pull(out, 64 * 1024, sse::subscriber::clock::now());
        out.clear();
        auto const until = std::chrono::steady_clock::now() + std::chrono::microseconds(5);
        while (std::chrono::steady_clock::now() < until) {
        }
    }
    bool wake_inline() noexcept override
    {
        wake();
        return true;
    }
    void closed(sse::close_reason) noexcept override {}
};

// How long a subscribe() and its unsubscribe() take while another thread
// publishes to 20,000 subscribers without pause (each delivery costing the
// publishing thread over 5 µs), with the fan-out in one pass (steps:0,
// inline_wake_policy::never) or in steps (steps:1, always). In one pass the
// hub's lock is held for the whole fan-out; in steps for 16 subscribers at a
// time. Reports the median, p99, p99.9 and worst of the pairs, and the publishes made.
void hub_subscribe_during_publish(benchmark::State& state)
{
    constexpr std::size_t n = 20000;
    sse::hub_options options;
    options.inline_wakes = state.range(0) != 0 ? sse::inline_wake_policy::always : sse::inline_wake_policy::never;
    sse::hub hub(options);
    std::vector<std::shared_ptr<draining_sink>> sinks;
    std::vector<std::shared_ptr<sse::subscriber>> subs;
    for (std::size_t i = 0; i < n; ++i) {
        auto sink = std::make_shared<draining_sink>();
        subs.push_back(hub.subscribe({}, sink));
        sink->sub = subs.back().get();
        sinks.push_back(std::move(sink));
    }
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> publishes{0};
    std::thread publisher([&] {
        auto const e = hundred_byte_event();
        while (!stop.load(std::memory_order_relaxed)) {
            hub.publish(e);
            publishes.fetch_add(1, std::memory_order_relaxed);
        }
    });
    while (publishes.load() < 2)
        std::this_thread::yield();

    std::vector<double> took;   // microseconds
    for (auto _ : state) {
        auto const start = std::chrono::steady_clock::now();
        auto s = hub.subscribe({});
        hub.unsubscribe(*s);
        took.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    stop = true;
    publisher.join();
    std::sort(took.begin(), took.end());
    auto const at = [&](double q) { return took[static_cast<std::size_t>(q * static_cast<double>(took.size() - 1))]; };
    state.counters["p50_us"] = at(0.5);
    state.counters["p99_us"] = at(0.99);
    state.counters["p999_us"] = at(0.999);
    state.counters["max_us"] = took.back();
    state.counters["publishes"] = static_cast<double>(publishes.load());
}
BENCHMARK(hub_subscribe_during_publish)->ArgName("steps")->Arg(0)->Arg(1)->Iterations(1000000)->Unit(benchmark::kMicrosecond);

// A replay buffer that keeps exactly `n` events, whatever their age or size.
sse::replay_limits count_limits(std::size_t n)
{
    sse::replay_limits limits;
    limits.max_events = n;
    limits.max_bytes = n * 200;
    limits.max_age = {};
    return limits;
}

// Times since(id) on `history`: each call walks the 16 events after `id`.
void time_since(benchmark::State& state, sse::replay_buffer& history, std::string const& id,
                sse::replay_buffer::clock::time_point t)
{
    std::size_t found = 0;
    sse::error_code ec;
    auto const allocs_before = bench::allocations();
    for (auto _ : state) {
        history.since(id, [&](sse::event_buffer const& b, sse::published_event const&) {
            found += b->size();
        }, ec, t);
        benchmark::DoNotOptimize(found);
    }
    if (ec)
        state.SkipWithError("since failed");
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["allocs_per_lookup"] =
        static_cast<double>(bench::allocations() - allocs_before) / static_cast<double>(state.iterations());
}

// since(id) on a full buffer for an assigned id: arithmetic, then the walk.
void replay_since(benchmark::State& state)
{
    auto const n = static_cast<std::size_t>(state.range(0));
    sse::replay_buffer history(count_limits(n), "bench");
    auto const e = hundred_byte_event();
    auto const t = sse::replay_buffer::clock::now();
    for (std::size_t i = 0; i < n + n / 2; ++i)
        history.append(e, t);
    time_since(state, history, "bench-" + std::to_string(history.next_seq() - 17), t);
}
BENCHMARK(replay_since)->ArgName("events")->Arg(1000)->Arg(100000);

// since(id) for a publisher's own id: one hash look-up, then the same walk.
void replay_since_own_id(benchmark::State& state)
{
    auto const n = static_cast<std::size_t>(state.range(0));
    sse::replay_buffer history(count_limits(n), "bench");
    auto e = hundred_byte_event();
    auto const t = sse::replay_buffer::clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        e.id = "order:" + std::to_string(i);
        history.append(e, t);
    }
    time_since(state, history, "order:" + std::to_string(n - 17), t);
}
BENCHMARK(replay_since_own_id)->ArgName("events")->Arg(1000)->Arg(100000);

// Appending to a full buffer: eviction and id assignment, the steady state of a publisher.
void replay_append_full(benchmark::State& state)
{
    sse::replay_limits limits;
    limits.max_events = 1024;
    sse::replay_buffer history(limits, "bench");
    auto const e = hundred_byte_event();
    auto const t = sse::replay_buffer::clock::now();
    for (int i = 0; i < 2048; ++i)
        history.append(e, t);
    auto const allocs_before = bench::allocations();
    for (auto _ : state)
        benchmark::DoNotOptimize(history.append(e, t));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.counters["allocs_per_append"] =
        static_cast<double>(bench::allocations() - allocs_before) / static_cast<double>(state.iterations());
}
BENCHMARK(replay_append_full);

} // namespace
