// fuzz_response_head - sse::http::response_parser gives the same result however its
// input is cut, and never takes more than its limits allow.
//
// Input layout: byte 0 picks small limits, byte 1 picks the split position and the
// piece size, the rest is the response. It is parsed whole, split in two, and in
// pieces of 1 to 16 bytes; the three results must agree, respect the limits, and a
// complete head must parse the same from exactly its own bytes.
#include <sse/http/response_parser.hpp>

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
        std::fprintf(stderr, "fuzz_response_head: %s\n", what);
        std::abort();
    }
}

struct result
{
    sse::error_code ec;
    std::size_t used = 0;
    bool done = false;
    std::string head;
};

std::string describe(sse::http::response_head const& h)
{
    std::string s;
    s.append(std::to_string(h.version())).append("|").append(std::to_string(h.status())).append("|");
    s.append(h.reason());
    for (sse::http::field const f : h.fields())
        s.append("\n").append(f.name).append(":").append(f.value);
    s.append("\n").append(std::to_string(static_cast<int>(h.body_framing())));
    s.append(" ").append(std::to_string(h.content_length())).append(h.keep_alive() ? " k" : " c");
    s.append(h.is_event_stream() ? " es" : "");
    return s;
}

void check_head(sse::http::response_head const& h, sse::http::response_limits const& l)
{
    using sse::http::framing;
    require(h.status() >= 100 && h.status() <= 599, "status out of range");
    require(h.version() == 10 || h.version() == 11, "version not 10 or 11");
    require(h.fields().size() <= l.max_fields, "more fields than max_fields");
    for (char const c : h.reason())
        require(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in the reason");
    for (sse::http::field const f : h.fields()) {
        require(sse::http::is_token(f.name), "field name is not a token");
        for (char const c : f.value)
            require(c != '\r' && c != '\n' && c != '\0', "CR, LF or NUL in a field value");
    }
    bool const no_body = h.status() < 200 || h.status() == 204 || h.status() == 304;
    require(no_body == (h.body_framing() == framing::none), "framing none disagrees with the status");
    if (h.body_framing() != framing::length)
        require(h.content_length() == 0, "content_length without length framing");
    if (h.body_framing() == framing::until_close)
        require(!h.keep_alive(), "keep-alive on a body read until close");
    if (h.body_framing() == framing::chunked)
        require(h.fields().count("Transfer-Encoding") > 0, "chunked without Transfer-Encoding");
    if (h.body_framing() == framing::length)
        require(h.fields().count("Transfer-Encoding") == 0, "length despite Transfer-Encoding");
}

result run(std::string_view in, sse::http::response_limits const& l, std::size_t split, std::size_t step)
{
    result r;
    sse::http::response_parser p(l);
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
        require(p.feed("HTTP/1.1 200 OK\r\n\r\n", again) == 0 && again == r.ec, "a failure did not stick");
    }
    if (r.done) {
        check_head(p.get(), l);
        r.head = describe(p.get());
        sse::error_code more;
        require(p.feed("x", more) == 0 && !more, "a finished parser took more");
        sse::http::response_head const moved = p.release();
        require(describe(moved) == r.head, "release changed the head");
    }
    return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size < 2)
        return 0;
    sse::http::response_limits limits;
    unsigned const pick = data[0];
    if (pick & 1)
        limits.max_head = 32 + (pick >> 1) * 4;
    if (pick & 2)
        limits.max_fields = pick >> 4;
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
