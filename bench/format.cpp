// bench/format.cpp - cost of turning events into their wire form.
#include "alloc_counter.hpp"

#include <sse/event.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace {

sse::event make_event(std::size_t data_size, std::size_t lines)
{
    sse::event e;
    std::string data;
    for (std::size_t i = 0; i < lines; ++i) {
        if (i)
            data.push_back('\n');
        data.append(data_size / lines, 'x');
    }
    e.data = std::move(data);
    return e;
}

void report(benchmark::State& state, std::size_t bytes_per_event, std::uint64_t allocs_before)
{
    auto const events = static_cast<std::int64_t>(state.iterations());
    state.SetItemsProcessed(events);
    state.SetBytesProcessed(events * static_cast<std::int64_t>(bytes_per_event));
    state.counters["allocs_per_event"] =
        static_cast<double>(bench::allocations() - allocs_before) / static_cast<double>(events);
}

// Serialising into a caller's buffer that is reused: the steady state of a
// writer that formats into one scratch buffer.
void format_into_buffer(benchmark::State& state)
{
    auto const e = make_event(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
    std::string out;
    out.reserve(sse::serialized_size(e));
    auto const before = bench::allocations();
    for (auto _ : state) {
        out.clear();
        sse::serialize(e, out);
        benchmark::DoNotOptimize(out.data());
    }
    report(state, out.size(), before);
}
BENCHMARK(format_into_buffer)->ArgNames({"data", "lines"})->Args({100, 1})->Args({1024, 1})->Args({1024, 16});

// Serialising once into a shared buffer, as hub::publish does per event.
void format_shared_buffer(benchmark::State& state)
{
    auto const e = make_event(static_cast<std::size_t>(state.range(0)), 1);
    std::size_t const size = sse::serialized_size(e);
    auto const before = bench::allocations();
    for (auto _ : state) {
        auto buffer = sse::make_event_buffer(e);
        benchmark::DoNotOptimize(buffer.get());
    }
    report(state, size, before);
}
BENCHMARK(format_shared_buffer)->ArgName("data")->Arg(100)->Arg(1024);

} // namespace
