// bench/parse.cpp - throughput of sse::parser, from 64 KiB reads down to one byte at a time.
#include "alloc_counter.hpp"

#include <sse/parser.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

// A stream of about 1 MiB of events, each `data_lines` data lines of `line_bytes` bytes of
// text, so that one event is about `data_lines * (line_bytes + 7) + 1` bytes on the wire.
// With `utf8`, the text mixes two-, three- and four-byte sequences with ASCII, as
// JSON in many languages does, so the decoder leaves its ASCII fast path.
std::string make_stream(std::size_t line_bytes, std::size_t data_lines, std::size_t& events, bool utf8 = false)
{
    std::string event;
    for (std::size_t i = 0; i < data_lines; ++i) {
        std::string text;
        while (utf8 && text.size() + 11 <= line_bytes)
            text += "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F"
                    "\x98\x80";   // "abé€😀": 11 bytes
        text.resize(line_bytes, static_cast<char>('a' + i % 26));
        event += "data: " + text + "\n";
    }
    event += "\n";
    std::string stream;
    events = 0;
    while (stream.size() < (1u << 20)) {
        stream += event;
        ++events;
    }
    return stream;
}

// Parses the stream in chunks of `chunk` bytes, over and over with one parser: the steady
// state of a long-lived connection.
void parse(benchmark::State& state, std::size_t line_bytes, std::size_t data_lines, std::size_t chunk,
           bool utf8 = false)
{
    std::size_t events_per_stream = 0;
    std::string const stream = make_stream(line_bytes, data_lines, events_per_stream, utf8);
    std::vector<std::string_view> chunks;
    for (std::size_t i = 0; i < stream.size(); i += chunk)
        chunks.push_back(std::string_view(stream).substr(i, chunk));

    sse::parser parser;
    std::size_t delivered = 0;
    auto const on_event = [&](sse::event_view const& e) {
        benchmark::DoNotOptimize(e.data.data());
        ++delivered;
    };
    for (auto c : chunks)   // warm-up: the buffers grow to fit the traffic once
        parser.feed(c, on_event);

    delivered = 0;
    auto const allocations_before = bench::allocations();
    for (auto _ : state) {
        for (auto c : chunks)
            parser.feed(c, on_event);
    }
    auto const allocations = bench::allocations() - allocations_before;

    if (delivered != events_per_stream * state.iterations())
        state.SkipWithError("lost events");
    auto const events = static_cast<std::int64_t>(delivered);
    state.SetItemsProcessed(events);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(stream.size()));
    state.counters["allocs_per_event"] = static_cast<double>(allocations) / static_cast<double>(events);
    state.counters["event_bytes"] = static_cast<double>(stream.size()) / static_cast<double>(events_per_stream);
}

// 100-byte events: `data: ` + 92 bytes + LF LF.
void parse_100B_events_64KiB_chunks(benchmark::State& state) { parse(state, 92, 1, 64 * 1024); }
void parse_100B_utf8_events_64KiB_chunks(benchmark::State& state) { parse(state, 92, 1, 64 * 1024, true); }
void parse_1KiB_events_64KiB_chunks(benchmark::State& state) { parse(state, 1016, 1, 64 * 1024); }
// Eight data lines of 40 bytes per event.
void parse_multiline_events_64KiB_chunks(benchmark::State& state) { parse(state, 40, 8, 64 * 1024); }
// The worst case: every byte arrives on its own.
void parse_100B_events_1B_chunks(benchmark::State& state) { parse(state, 92, 1, 1); }
void parse_multiline_events_1B_chunks(benchmark::State& state) { parse(state, 40, 8, 1); }

BENCHMARK(parse_100B_events_64KiB_chunks);
BENCHMARK(parse_100B_utf8_events_64KiB_chunks);
BENCHMARK(parse_1KiB_events_64KiB_chunks);
BENCHMARK(parse_multiline_events_64KiB_chunks);
BENCHMARK(parse_100B_events_1B_chunks);
BENCHMARK(parse_multiline_events_1B_chunks);

} // namespace
