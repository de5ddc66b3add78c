// fuzz_request_head - sse::http::request_parser gives the same result however its
// input is cut, and never takes more than its limits allow.
//
// Input layout: byte 0 picks small limits (so that the limit paths are reached),
// byte 1 picks the split position and the piece size, the rest is the request. It
// is parsed whole, split in two, and in pieces of 1 to 16 bytes; the three results
// must agree, respect the limits, and a complete head must parse the same from
// exactly its own bytes.
#include <sse/http/request_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool ok, char const* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_request_head: %s\n", what);
        std::abort();
    }
}

struct result
{
    sse::error_code ec;
    std::size_t used = 0;
    bool done = false;
    std::string head;   // everything the parsed head holds, as text
};

std::string describe(sse::http::request_head const& h)
{
    std::string s;
    s.append(h.method()).append("|").append(h.target()).append("|").append(h.path()).append("|");
    s.append(h.query()).append("|").append(std::to_string(h.version())).append("\n");
    for (sse::http::field const p : h.params())
        s.append(p.name).append("=").append(p.value).append("&");
    for (sse::http::field const f : h.fields())
        s.append("\n").append(f.name).append(":").append(f.value);
    s.append("\n").append(std::to_string(static_cast<int>(h.body_framing())));
    s.append(" ").append(std::to_string(h.content_length())).append(h.keep_alive() ? " k" : " c");
    return s;
}

void check_head(sse::http::request_head const& h, sse::http::request_limits const& l)
{
    require(sse::http::is_token(h.method()), "method is not a token");
    require(!h.target().empty() && h.target().size() <= l.max_target, "target empty or over its limit");
    require(!h.path().empty(), "empty path");
    require(h.version() == 10 || h.version() == 11, "version not 10 or 11");
    require(h.fields().size() <= l.max_fields, "more fields than max_fields");
    require(h.params().size() <= l.max_params, "more params than max_params");
    require(h.path().find('\0') == std::string_view::npos, "NUL in the decoded path");
    for (sse::http::field const f : h.fields()) {
        require(sse::http::is_token(f.name), "field name is not a token");
        for (char const c : f.value)
            require(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in a field value");
        require(f.value.empty() || (f.value.front() != ' ' && f.value.front() != '\t' && f.value.back() != ' ' &&
                                         f.value.back() != '\t'),
                "untrimmed value");
    }
    if (h.body_framing() != sse::http::framing::length)
        require(h.content_length() == 0, "content_length without length framing");
    require(h.body_framing() != sse::http::framing::until_close, "a request read until close");
}

// Feeds `pieces` of `in` (each at most `step` bytes, or cut once at `split`).
result run(std::string_view in, sse::http::request_limits const& l, std::size_t split, std::size_t step)
{
    result r;
    sse::http::request_parser p(l);
    std::size_t at = 0;
    while (at < in.size() && !r.ec && !p.done()) {
        std::size_t n = step ? step : (at < split ? split - at : in.size() - at);
        std::string_view const piece = in.substr(at, n);
        std::size_t const used = p.feed(piece, r.ec);
        require(used <= piece.size(), "feed used more than it was given");
        if (!r.ec && !p.done())
            require(used == piece.size(), "an unfinished parse left bytes unused");
        r.used += used;
        at += piece.size();
    }
    require(r.used <= in.size(), "used more than the input");
    require(r.used <= l.max_head, "head over max_head");
    r.done = p.done();
    require(!(r.done && r.ec), "done and failed at once");
    if (r.ec) {
        sse::error_code again;
        require(p.feed("GET / HTTP/1.1\r\n\r\n", again) == 0 && again == r.ec, "a failure did not stick");
        int const status = sse::http::status_for(r.ec);
        require(status == 400 || status == 414 || status == 431 || status == 505, "odd status");
    }
    if (r.done) {
        check_head(p.get(), l);
        r.head = describe(p.get());
        sse::error_code more;
        require(p.feed("x", more) == 0 && !more, "a finished parser took more");
        sse::http::request_head const moved = p.release();
        require(describe(moved) == r.head, "release changed the head");
    }
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 2)
        return 0;
    sse::http::request_limits limits;
    unsigned const pick = data[0];
    if (pick & 1)
        limits.max_head = 64 + (pick >> 1) * 4;
    if (pick & 2)
        limits.max_target = 4 + (pick >> 3);
    if (pick & 4)
        limits.max_fields = pick >> 5;
    if (pick & 8)
        limits.max_params = pick >> 6;
    std::string_view const in(reinterpret_cast<char const*>(data) + 2, size - 2);
    std::size_t const split = in.empty() ? 0 : (data[1] * 131u) % (in.size() + 1);
    std::size_t const step = 1 + (data[1] & 15u);

    result const whole = run(in, limits, in.size(), 0);
    result const two = run(in, limits, split, 0);
    result const small = run(in, limits, 0, step);
    for (result const* r : {&two, &small}) {
        require(r->ec == whole.ec, "cutting changed the error");
        require(r->used == whole.used, "cutting changed the bytes used");
        require(r->done == whole.done, "cutting changed completion");
        require(r->head == whole.head, "cutting changed the head");
    }
    if (whole.done) {
        result const exact = run(in.substr(0, whole.used), limits, whole.used, 0);
        require(exact.done && exact.used == whole.used && exact.head == whole.head,
                "the head parsed differently from exactly its own bytes");
    }
    return 0;
}
