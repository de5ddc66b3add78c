// tests/support/feed.hpp - runs sse::parser over an input cut into chunks in several ways.
#ifndef SSE_TESTS_SUPPORT_FEED_HPP
#define SSE_TESTS_SUPPORT_FEED_HPP

#include <sse/parser.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace support {

/// How parse() cuts its input before feeding it.
enum class feed_mode
{
    whole,            ///< one feed() call
    byte_at_a_time,   ///< one feed() call per byte
    random_chunks,    ///< chunks of 1 to 17 bytes from a std::mt19937 with a fixed seed
    every_split,      ///< for every k: [0, k) then [k, n); see parse()
};

inline constexpr std::array<feed_mode, 4> all_feed_modes = {
    feed_mode::whole, feed_mode::byte_at_a_time, feed_mode::random_chunks, feed_mode::every_split};

inline char const* to_string(feed_mode m)
{
    switch (m) {
    case feed_mode::whole:
        return "whole";
    case feed_mode::byte_at_a_time:
        return "byte_at_a_time";
    case feed_mode::random_chunks:
        return "random_chunks";
    case feed_mode::every_split:
        return "every_split";
    }
    return "?";
}

inline std::ostream& operator<<(std::ostream& os, feed_mode m) { return os << to_string(m); }

/// One dispatched event, copied out of the parser's views.
struct parsed
{
    std::string type, data, id;

    friend bool operator==(parsed const& a, parsed const& b)
    {
        return a.type == b.type && a.data == b.data && a.id == b.id;
    }
    friend bool operator!=(parsed const& a, parsed const& b) { return !(a == b); }
};

inline std::ostream& operator<<(std::ostream& os, parsed const& e)
{
    return os << "{type=\"" << e.type << "\" data=\"" << e.data << "\" id=\"" << e.id << "\"}";
}

/// Everything a parse produced. size() and operator[] reach the events directly.
struct result
{
    std::vector<parsed> events;
    std::vector<std::string> comments;
    std::vector<long long> retries;
    std::string last_event_id;   ///< parser::last_event_id() after the input
    std::error_code ec;          ///< the first error, if any
    /// every_split only: the first split position whose result differed from `whole`.
    std::optional<std::size_t> mismatch_at;

    std::size_t size() const noexcept { return events.size(); }
    parsed const& operator[](std::size_t i) const { return events.at(i); }

    /// Compares what was parsed (not mismatch_at).
    friend bool operator==(result const& a, result const& b)
    {
        return a.events == b.events && a.comments == b.comments && a.retries == b.retries &&
               a.last_event_id == b.last_event_id && a.ec == b.ec;
    }
    friend bool operator!=(result const& a, result const& b) { return !(a == b); }
};

inline std::ostream& operator<<(std::ostream& os, result const& r)
{
    os << "{events=[";
    for (auto const& e : r.events)
        os << e << ' ';
    os << "] comments=" << r.comments.size() << " retries=" << r.retries.size()
       << " last_event_id=\"" << r.last_event_id << "\" ec=" << r.ec.message();
    if (r.mismatch_at)
        os << " mismatch_at=" << *r.mismatch_at;
    return os << '}';
}

/// Collects every item into a result.
struct collector
{
    result* out;

    void on_event(sse::event_view const& e)
    {
        out->events.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id)});
    }
    void on_retry(std::chrono::milliseconds ms) { out->retries.push_back(ms.count()); }
    void on_comment(std::string_view text) { out->comments.emplace_back(text); }
};

/// Feeds `chunks` in order to a fresh parser, then ends the stream.
inline result parse_chunks(std::vector<std::string_view> const& chunks, sse::parser_limits limits = {})
{
    result r;
    sse::parser p(limits);
    for (auto chunk : chunks) {
        p.feed(chunk, collector{&r}, r.ec);
        if (r.ec)
            break;
    }
    p.finish();
    r.last_event_id = p.last_event_id();
    return r;
}

/** Parses `input`, cut as `mode` says, and ends the stream.

    For feed_mode::every_split it parses the input whole and then once for every split
    position k in [1, n) as [0, k) + [k, n); it returns the whole result if every split
    gave the same, and otherwise the first differing result with `mismatch_at` = k, so
    that a comparison with the expected values fails.
*/
inline result parse(feed_mode mode, std::string_view input, sse::parser_limits limits = {})
{
    switch (mode) {
    case feed_mode::whole:
        return parse_chunks({input}, limits);
    case feed_mode::byte_at_a_time: {
        std::vector<std::string_view> chunks;
        for (std::size_t i = 0; i < input.size(); ++i)
            chunks.push_back(input.substr(i, 1));
        return parse_chunks(chunks, limits);
    }
    case feed_mode::random_chunks: {
        std::mt19937 rng(20240601u);
        std::uniform_int_distribution<std::size_t> length(1, 17);
        std::vector<std::string_view> chunks;
        for (std::size_t i = 0; i < input.size();) {
            std::size_t const n = std::min(length(rng), input.size() - i);
            chunks.push_back(input.substr(i, n));
            i += n;
        }
        return parse_chunks(chunks, limits);
    }
    case feed_mode::every_split: {
        result const whole = parse_chunks({input}, limits);
        for (std::size_t k = 1; k < input.size(); ++k) {
            result split = parse_chunks({input.substr(0, k), input.substr(k)}, limits);
            if (split != whole) {
                split.mismatch_at = k;
                return split;
            }
        }
        return whole;
    }
    }
    return {};
}

/// The first split position k at which [0, k) + [k, n) parses differently from the
/// whole input, if any.
inline std::optional<std::size_t> first_split_mismatch(std::string_view input, sse::parser_limits limits = {})
{
    return parse(feed_mode::every_split, input, limits).mismatch_at;
}

} // namespace support

#endif
