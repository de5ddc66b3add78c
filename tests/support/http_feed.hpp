// tests/support/http_feed.hpp - feeds the HTTP parsers whole, byte by byte, cut at
// every position and in seeded random pieces, and collects what they produced.
#ifndef SSE_TESTS_SUPPORT_HTTP_FEED_HPP
#define SSE_TESTS_SUPPORT_HTTP_FEED_HPP

#include <sse/error.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/request_head.hpp>
#include <sse/http/response_head.hpp>
#include <doctest/doctest.h>
#include <cstddef>
#include <ostream>   // doctest prints std::error_code through it
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace support {
namespace http {

/// One way to cut an input: where each piece ends, and a name for CAPTURE.
struct cut
{
    std::string name;
    std::vector<std::size_t> ends;
};

/** The ways to cut an input of `n` octets: whole, one octet at a time, in two at
    every position (unless `every_position` is false), and four seeded random cuttings.
*/
inline std::vector<cut> cuts(std::size_t n, bool every_position = true)
{
    std::vector<cut> out;
    out.push_back({"whole", {}});
    cut bytes{"byte by byte", {}};
    for (std::size_t i = 1; i < n; ++i)
        bytes.ends.push_back(i);
    out.push_back(bytes);
    if (every_position)
        for (std::size_t i = 1; i < n; ++i)
            out.push_back({"in two at " + std::to_string(i), {i}});
    std::mt19937 rng(static_cast<std::mt19937::result_type>(n));
    for (int k = 0; k < 4; ++k) {
        cut c{"random #" + std::to_string(k), {}};
        std::uniform_int_distribution<std::size_t> step(1, 17);
        for (std::size_t i = step(rng); i < n; i += step(rng))
            c.ends.push_back(i);
        out.push_back(c);
    }
    return out;
}

inline std::vector<std::string_view> pieces(std::string_view s, cut const& c)
{
    std::vector<std::string_view> out;
    std::size_t from = 0;
    for (std::size_t const e : c.ends) {
        out.push_back(s.substr(from, e - from));
        from = e;
    }
    out.push_back(s.substr(from));
    return out;
}

/// What a head parser made of an input.
template<class Parser>
struct outcome
{
    Parser parser;
    sse::error_code ec;
    std::size_t used = 0;
};

/// Feeds the pieces of `input` to a fresh parser until it is done or fails.
template<class Parser, class Limits>
outcome<Parser> parse(std::string_view input, cut const& c, Limits limits)
{
    outcome<Parser> r{Parser(limits), {}, 0};
    for (std::string_view const piece : pieces(input, c)) {
        r.used += r.parser.feed(piece, r.ec);
        if (r.ec || r.parser.done())
            break;
    }
    return r;
}

inline std::string describe(sse::http::fields const& f)
{
    std::string s;
    for (sse::http::field const fl : f)
        s.append(fl.name).append(": ").append(fl.value).append("\n");
    return s;
}

/// Everything a request head holds, as text, so two heads compare in one CHECK.
inline std::string describe(sse::http::request_head const& h)
{
    std::string s;
    s.append(h.method()).append(" ").append(h.target()).append(" ").append(std::to_string(h.version()));
    s.append("\npath ").append(h.path()).append("\nquery ").append(h.query()).append("\n");
    for (sse::http::field const p : h.params())
        s.append("param ").append(p.name).append("=").append(p.value).append("\n");
    s.append(describe(h.fields()));
    s.append("framing ").append(std::to_string(static_cast<int>(h.body_framing())));
    s.append(" length ").append(std::to_string(h.content_length()));
    s.append(h.keep_alive() ? " keep-alive" : " close");
    return s;
}

/// Everything a response head holds, as text.
inline std::string describe(sse::http::response_head const& h)
{
    std::string s;
    s.append(std::to_string(h.version())).append(" ").append(std::to_string(h.status())).append(" ");
    s.append(h.reason()).append("\n").append(describe(h.fields()));
    s.append("framing ").append(std::to_string(static_cast<int>(h.body_framing())));
    s.append(" length ").append(std::to_string(h.content_length()));
    s.append(h.keep_alive() ? " keep-alive" : " close");
    s.append(h.is_event_stream() ? " event-stream" : "");
    return s;
}

/** Parses `input` cut every way and checks that every cutting uses the same
    octets and ends the same way, with the same head. Returns the outcome of
    the whole input.
*/
template<class Parser, class Limits>
outcome<Parser> parse_all(std::string_view input, Limits limits, bool every_position = true)
{
    std::vector<cut> const all = cuts(input.size(), every_position);
    outcome<Parser> first = parse<Parser>(input, all.front(), limits);
    CHECK(first.used <= input.size());
    for (std::size_t i = 1; i < all.size(); ++i) {
        CAPTURE(all[i].name);
        outcome<Parser> const r = parse<Parser>(input, all[i], limits);
        CHECK(r.ec == first.ec);
        CHECK(r.used == first.used);
        REQUIRE(r.parser.done() == first.parser.done());
        if (r.parser.done())
            CHECK(describe(r.parser.get()) == describe(first.parser.get()));
    }
    return first;
}

/// Checks that every cutting of `input` fails with `e`; returns the octets used.
template<class Parser, class Limits>
std::size_t fails_with(std::string_view input, sse::error e, Limits limits, bool every_position = true)
{
    outcome<Parser> const r = parse_all<Parser>(input, limits, every_position);
    CHECK(r.ec == e);
    CHECK_FALSE(r.parser.done());
    return r.used;
}

/// What the chunked decoder made of an input.
struct decoded
{
    std::string body;
    sse::error_code ec;
    std::size_t used = 0;
    bool done = false;
};

/// Feeds the pieces of `input` to a fresh decoder until the body ends or fails.
inline decoded decode(std::string_view input, cut const& c, sse::http::chunked_limits limits = {})
{
    sse::http::chunked_decoder decoder(limits);
    decoded r;
    for (std::string_view const piece : pieces(input, c)) {
        r.used += decoder.feed(piece, [&](std::string_view data) { r.body.append(data); }, r.ec);
        if (r.ec || decoder.done())
            break;
    }
    r.done = decoder.done();
    return r;
}

/// Decodes `input` cut every way, checks that all agree, and returns the whole-input result.
inline decoded decode_all(std::string_view input, sse::http::chunked_limits limits = {},
                          bool every_position = true)
{
    std::vector<cut> const all = cuts(input.size(), every_position);
    decoded const first = decode(input, all.front(), limits);
    CHECK(first.used <= input.size());
    CHECK(first.body.size() <= first.used);
    for (std::size_t i = 1; i < all.size(); ++i) {
        CAPTURE(all[i].name);
        decoded const r = decode(input, all[i], limits);
        CHECK(r.ec == first.ec);
        CHECK(r.used == first.used);
        CHECK(r.done == first.done);
        CHECK(r.body == first.body);
    }
    return first;
}

} // namespace http
} // namespace support

#endif
