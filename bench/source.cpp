// bench/source.cpp - the client's receive path without sockets: what
// sse::event_source does with each read (chunked decoding, parsing, one item per
// event), through its sans-I/O half detail::source_core.
#include "alloc_counter.hpp"

#include <sse/client/source_core.hpp>

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

// About 1 MiB of 100-byte events (`id`, `event` and one data line), each in a
// chunk of its own when `chunked`: a server that flushes event by event.
std::string make_body(bool chunked, std::size_t& events)
{
    std::string body;
    events = 0;
    char size[32];
    while (body.size() < (1u << 20)) {
        std::string event = "id: " + std::to_string(1000000 + events) + "\nevent: tick\ndata: ";
        event.append(100 - event.size() - 2, 'x');
        event += "\n\n";
        if (chunked) {
            std::snprintf(size, sizeof size, "%zx\r\n", event.size());
            body.append(size).append(event).append("\r\n");
        } else {
            body += event;
        }
        ++events;
    }
    return body;
}

void receive(benchmark::State& state, bool chunked, std::size_t read_size)
{
    std::size_t events_per_body = 0;
    std::string const body = make_body(chunked, events_per_body);
    std::string const head = std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n") +
                             (chunked ? "Transfer-Encoding: chunked\r\n" : "") + "\r\n";
    std::vector<std::string_view> reads;
    for (std::size_t i = 0; i < body.size(); i += read_size)
        reads.push_back(std::string_view(body).substr(i, read_size));

    sse::detail::source_core core(sse::parse_url("http://127.0.0.1:8080/events"), {});
    std::size_t delivered = 0;
    auto const now = std::chrono::steady_clock::now();
    auto open = [&] {
        sse::error_code ec;
        (void)core.begin_attempt();
        std::string_view in = head;
        if (core.on_head(in, ec, std::chrono::system_clock::time_point{}) != sse::detail::head_outcome::open)
            state.SkipWithError("the head did not open the stream");
        core.opened(now);
    };
    open();
    sse::error_code ec;
    // What the driver does with a read: every item, each event to a handler.
    auto feed = [&](std::string_view r) {
        for (;;) {
            auto const item = core.next(r, ec);
            if (item == sse::detail::source_item::event) {
                benchmark::DoNotOptimize(core.event().data.data());
                ++delivered;
            } else if (item != sse::detail::source_item::comment && item != sse::detail::source_item::retry) {
                return;
            }
        }
    };
    for (auto r : reads)   // warm-up: buffers grow to fit the traffic once
        feed(r);
    // The body has no last chunk, so feeding it again is just more of the stream.
    auto const allocations_before = bench::allocations();
    delivered = 0;
    for (auto _ : state) {
        for (auto r : reads)
            feed(r);
    }
    auto const allocations = bench::allocations() - allocations_before;
    if (ec || delivered != events_per_body * state.iterations())
        state.SkipWithError("lost events");
    state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(body.size()));
    state.counters["allocs_per_event"] = static_cast<double>(allocations) / static_cast<double>(delivered);
}

void source_100B_events_chunked_16KiB_reads(benchmark::State& state) { receive(state, true, 16 * 1024); }
void source_100B_events_until_close_16KiB_reads(benchmark::State& state) { receive(state, false, 16 * 1024); }
void source_100B_events_chunked_1500B_reads(benchmark::State& state) { receive(state, true, 1500); }

} // namespace

BENCHMARK(source_100B_events_chunked_16KiB_reads);
BENCHMARK(source_100B_events_until_close_16KiB_reads);
BENCHMARK(source_100B_events_chunked_1500B_reads);
