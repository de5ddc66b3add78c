// fuzz_parser - sse::parser gives the same result however its input is cut.
//
// Input layout: byte 0 picks the split position and the pull interface's chunk sizes,
// byte 1 picks small limits (so that the limit paths are reached), the rest is the
// stream. The stream is parsed whole, split in two, and through next() in small
// chunks; the three results must agree, and every result must respect the limits and
// the spec's guarantees (valid UTF-8 out, no line breaks in type or id).
#include <sse/parser.hpp>

#include "../support/feed.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

void require(bool ok, char const* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_parser: %s\n", what);
        std::abort();
    }
}

bool valid_utf8(std::string_view s)
{
    return sse::detail::utf8_valid_prefix(s.data(), s.size()) == s.size();
}

// Parses through the pull interface, in chunks of 1 to 4 bytes chosen by `pattern`.
support::result pull(std::string_view stream, sse::parser_limits limits, unsigned pattern)
{
    support::result r;
    sse::parser p(limits);
    std::size_t const bound = (limits.max_event + 1) + 4 * limits.max_line + 5 * 64;
    for (std::size_t i = 0, turn = 0; i < stream.size() && !r.ec; ++turn) {
        std::size_t const n = 1 + ((pattern >> (2 * (turn % 4))) & 3);
        std::string_view chunk = stream.substr(i, n);
        i += chunk.size();
        for (;;) {
            auto const item = p.next(chunk, r.ec);
            require(p.buffer_capacity() <= bound, "a buffer grew past its limit");
            if (item == sse::parse_item::need_more)
                break;
            if (item == sse::parse_item::event) {
                auto const e = p.event();
                r.events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
            } else if (item == sse::parse_item::retry) {
                r.retries.push_back(p.retry()->count());
            } else {
                r.comments.emplace_back(p.comment());
            }
        }
        require(static_cast<bool>(r.ec) == p.failed(), "failed() disagrees with the error");
    }
    p.finish();
    r.last_event_id = p.last_event_id();
    return r;
}

void check_invariants(support::result const& r, sse::parser_limits limits)
{
    for (auto const& e : r.events) {
        require(valid_utf8(e.type) && valid_utf8(e.data) && valid_utf8(e.id), "ill-formed UTF-8 out");
        require(e.type.find_first_of("\r\n") == std::string::npos, "line break in a type");
        require(e.id.find_first_of("\r\n") == std::string::npos, "line break in an id");
        require(e.id.find('\0') == std::string::npos, "NUL in an id");
        require(e.data.find('\r') == std::string::npos, "CR in data");
        require(!e.type.empty(), "empty type");
        require(e.data.size() <= limits.max_event, "data over max_event");
        require(e.type.size() <= limits.max_line || e.type == "message", "type over max_line");
        require(e.id.size() <= limits.max_line, "id over max_line");
    }
    for (auto const& c : r.comments)
        require(valid_utf8(c) && c.size() < limits.max_line + 1, "bad comment");
    for (auto ms : r.retries)
        require(ms >= 0, "negative retry");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 2)
        return 0;
    unsigned const shape = data[0];
    unsigned const limit_choice = data[1];
    std::string_view const stream(reinterpret_cast<char const*>(data + 2), size - 2);

    sse::parser_limits limits;
    if (limit_choice & 1) {
        limits.max_line = 1 + (limit_choice >> 1) % 64;
        limits.max_event = 1 + (limit_choice >> 3) * 7;
    }

    support::result const whole = support::parse_chunks({stream}, limits);
    check_invariants(whole, limits);

    std::size_t const k = stream.empty() ? 0 : (shape * 7919u) % (stream.size() + 1);
    support::result const split = support::parse_chunks({stream.substr(0, k), stream.substr(k)}, limits);
    require(split == whole, "split input parsed differently");

    require(pull(stream, limits, shape) == whole, "next() in small chunks parsed differently");
    return 0;
}
