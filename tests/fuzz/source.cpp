// fuzz_source - the event source's decisions on a response do not depend on how
// the response is cut into reads.
//
// Input layout: byte 0 picks small or default limits, byte 1 the split position,
// the rest is what a server sends: head and body. detail::source_core (the
// sans-I/O half of sse::event_source) reads it whole, split in two, and one byte
// per read; the events it dispatches, the retry it learns and how the response
// ends (open, redirect, stop or retry; ended, failed or more) must agree. The
// polling fallback's reader (detail::poll_exchange) gets the same bytes as a
// poll answer, read the same three ways: status, body, completion and error
// must agree, and the body must stay within its limit.
#include <sse/client/source_core.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

void require(bool ok, char const* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_source: %s\n", what);
        std::abort();
    }
}

struct result
{
    std::vector<std::string> events;   // type, data and id joined by NUL
    sse::detail::head_outcome head = sse::detail::head_outcome::need_more;
    sse::detail::source_item body = sse::detail::source_item::need_more;
    sse::error_code ec;
    std::string target;
    std::chrono::milliseconds retry{0};

    bool operator==(result const& o) const
    {
        return events == o.events && head == o.head && body == o.body && ec == o.ec && target == o.target &&
               retry == o.retry;
    }
};

sse::event_source_options options_for(std::uint8_t pick)
{
    sse::event_source_options o;
    o.jitter_seed = 1;
    if (pick & 1) {
        o.limits.max_line = 64;
        o.limits.max_event = 128;
        o.head_limits.max_head = 512;
        o.head_limits.max_fields = 8;
        o.chunked_limits.max_chunk = 256;
        o.chunked_limits.max_line = 32;
        o.chunked_limits.max_trailers = 64;
    }
    o.max_redirects = (pick >> 1) & 3;
    return o;
}

result run(std::string_view response, std::vector<std::string_view> const& reads, std::uint8_t pick)
{
    auto const options = options_for(pick);
    sse::detail::source_core core(sse::parse_url("http://127.0.0.1:8080/start?x=1"), options);
    result r;
    require(!core.begin_attempt().error, "a valid request was refused");
    require(core.request().find("\r\n\r\n") + 4 == core.request().size(), "the request has a body");
    auto const now = std::chrono::steady_clock::now();
    for (std::string_view input : reads) {
        if (r.head == sse::detail::head_outcome::need_more) {
            r.head = core.on_head(input, r.ec, std::chrono::system_clock::time_point{});
            if (r.head == sse::detail::head_outcome::need_more) {
                require(input.empty() && !r.ec, "need_more left input or an error");
                continue;
            }
            if (r.head != sse::detail::head_outcome::open)
                break;
            core.opened(now);
        }
        // Items until the read is used up, or the body ends or fails.
        for (;;) {
            r.body = core.next(input, r.ec);
            if (r.body == sse::detail::source_item::event) {
                auto const ev = core.event();
                require(ev.data.size() <= options.limits.max_event, "an event over the limit was dispatched");
                r.events.push_back(std::string(ev.type) + '\0' + std::string(ev.data) + '\0' +
                                   std::string(ev.last_event_id));
                continue;
            }
            if (r.body == sse::detail::source_item::need_more) {
                require(input.empty() && !r.ec, "need_more left input or an error");
                break;
            }
            if (r.body == sse::detail::source_item::ended || r.body == sse::detail::source_item::failed)
                break;
        }
        if (r.body == sse::detail::source_item::ended || r.body == sse::detail::source_item::failed)
            break;
    }
    r.target = core.target().to_string();
    r.retry = core.retry();
    (void)response;
    return r;
}

struct poll_result
{
    bool done = false;
    int status = 0;
    std::string body;
    sse::error_code ec;

    bool operator==(poll_result const& o) const
    {
        return done == o.done && status == o.status && body == o.body && ec == o.ec;
    }
};

poll_result run_poll(std::vector<std::string_view> const& reads, std::uint8_t pick)
{
    auto const options = options_for(pick);
    std::size_t const max_body = (pick & 1) ? 100 : 4096;
    sse::detail::poll_exchange exchange(options.head_limits, options.chunked_limits, max_body);
    poll_result r;
    for (std::string_view input : reads) {
        r.done = exchange.feed(input, r.ec);
        if (r.done || r.ec)
            break;
    }
    if (!r.done && !r.ec)
        r.done = exchange.closed();   // the connection ends after the last byte
    r.status = exchange.status();
    r.body = exchange.body();
    require(r.body.size() <= max_body, "a poll answer over its limit was kept");
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 2)
        return 0;
    std::uint8_t const pick = data[0];
    std::string_view const response(reinterpret_cast<char const*>(data + 2), size - 2);
    std::size_t const split = response.empty() ? 0 : data[1] % (response.size() + 1);

    result const whole = run(response, {response}, pick);
    result const halves = run(response, {response.substr(0, split), response.substr(split)}, pick);
    require(whole == halves, "a split changed the outcome");

    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < response.size(); ++i)
        bytes.push_back(response.substr(i, 1));
    result const single = run(response, bytes, pick);
    require(whole == single, "byte-at-a-time reads changed the outcome");

    poll_result const poll_whole = run_poll({response}, pick);
    require(poll_whole == run_poll({response.substr(0, split), response.substr(split)}, pick),
            "a split changed the poll answer");
    require(poll_whole == run_poll(bytes, pick), "byte-at-a-time reads changed the poll answer");
    return 0;
}
