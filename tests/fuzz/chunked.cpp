// fuzz_chunked - sse::http::chunked_decoder gives the same body however its input is
// cut, hands out views into its input, and never outputs more than it took.
//
// Input layout: byte 0 picks small limits, byte 1 picks the split position and the
// piece size, the rest is the chunked body. It is decoded whole through feed(),
// split in two through feed(), and in pieces of 1 to 16 bytes through next(); the
// three results must agree, and a finished body must decode the same from exactly
// its own bytes.
#include <sse/http/chunked_decoder.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

namespace {

void require(bool ok, char const* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_chunked: %s\n", what);
        std::abort();
    }
}

struct result
{
    sse::error_code ec;
    std::size_t used = 0;
    bool done = false;
    std::string body;
};

bool inside(std::string_view part, std::string_view whole)
{
    return std::less_equal<char const*>()(whole.data(), part.data()) &&
           std::less_equal<char const*>()(part.data() + part.size(), whole.data() + whole.size());
}

void finish(result& r, sse::http::chunked_decoder& d, std::string_view in)
{
    require(r.used <= in.size(), "used more than the input");
    require(r.body.size() <= r.used, "more body than input used");
    r.done = d.done();
    require(!(r.done && r.ec), "done and failed at once");
    if (r.ec) {
        sse::error_code again;
        std::string_view more = "0\r\n\r\n";
        require(d.next(more, again).empty() && again == r.ec && more.size() == 5, "a failure did not stick");
    }
    if (r.done) {
        sse::error_code again;
        std::string_view more = "1\r\nx\r\n";
        require(d.next(more, again).empty() && !again && more.size() == 6, "a finished decoder took more");
    }
}

// Through feed(), cut once at `split`.
result by_feed(std::string_view in, sse::http::chunked_limits const& l, std::size_t split)
{
    result r;
    sse::http::chunked_decoder d(l);
    for (std::string_view piece : {in.substr(0, split), in.substr(split)}) {
        if (r.ec || d.done())
            break;
        std::size_t const used = d.feed(
            piece,
            [&](std::string_view data) {
                require(!data.empty() && inside(data, piece), "data is not a view into the input");
                r.body.append(data);
            },
            r.ec);
        require(used <= piece.size(), "feed used more than it was given");
        if (!r.ec && !d.done())
            require(used == piece.size(), "an unfinished body left bytes unused");
        r.used += used;
    }
    finish(r, d, in);
    return r;
}

// Through next(), in pieces of `step` bytes.
result by_next(std::string_view in, sse::http::chunked_limits const& l, std::size_t step)
{
    result r;
    sse::http::chunked_decoder d(l);
    for (std::size_t at = 0; at < in.size() && !r.ec && !d.done(); at += step) {
        std::string_view const piece = in.substr(at, step);
        std::string_view input = piece;
        for (;;) {
            std::string_view const data = d.next(input, r.ec);
            require(inside(input, piece), "next moved input outside itself");
            if (data.empty())
                break;
            require(inside(data, piece) && data.data() + data.size() == input.data(),
                    "data is not the view just before the rest of the input");
            r.body.append(data);
        }
        require(r.ec || d.done() || input.empty(), "next stopped early without a reason");
        r.used += piece.size() - input.size();
    }
    finish(r, d, in);
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 2)
        return 0;
    sse::http::chunked_limits limits;
    unsigned const pick = data[0];
    if (pick & 1)
        limits.max_chunk = pick >> 1;
    if (pick & 2)
        limits.max_line = 1 + (pick >> 2);
    if (pick & 4)
        limits.max_trailers = pick >> 3;
    if (pick == 0xff)
        limits.max_chunk = UINT64_MAX;
    std::string_view const in(reinterpret_cast<char const*>(data) + 2, size - 2);
    std::size_t const split = in.empty() ? 0 : (data[1] * 131u) % (in.size() + 1);
    std::size_t const step = 1 + (data[1] & 15u);

    result const whole = by_feed(in, limits, in.size());
    result const two = by_feed(in, limits, split);
    result const small = by_next(in, limits, step);
    for (result const* r : {&two, &small}) {
        require(r->ec == whole.ec, "cutting changed the error");
        require(r->used == whole.used, "cutting changed the bytes used");
        require(r->done == whole.done, "cutting changed completion");
        require(r->body == whole.body, "cutting changed the body");
    }
    if (whole.done) {
        result const exact = by_feed(in.substr(0, whole.used), limits, whole.used);
        require(exact.done && exact.used == whole.used && exact.body == whole.body,
                "the body decoded differently from exactly its own bytes");
    }
    return 0;
}
