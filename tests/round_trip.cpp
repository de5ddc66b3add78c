// Property: whatever an event holds, a conformant parser gives it back.
// Random values mix CR, LF, CRLF, NUL, BOMs and multi-byte UTF-8; they are
// serialised, parsed in every feed mode, and compared with the original (with
// its line breaks as LF, the one change the wire format makes).
#include <sse/event.hpp>
#include <sse/parser.hpp>

#include <doctest/doctest.h>

#include "support/feed.hpp"

#include <random>
#include <string>
#include <vector>

namespace {

// Pieces that stress the writer and the parser; all valid UTF-8.
std::vector<std::string> const pieces = {
    "a", "z", " ", "  ", ":", "data:", "id: x", "\n", "\r", "\r\n", "\n\r", std::string(1, '\0'),
    "\xEF\xBB\xBF",           // U+FEFF BOM, kept anywhere but at the start of the stream
    "\xC3\xA9",               // é
    "\xE2\x82\xAC",           // €
    "\xF0\x9F\x98\x80",       // U+1F600, four bytes
    "\xE4\xB8\xAD\xE6\x96\x87",
    std::string(300, 'x'),
};

std::string random_text(std::mt19937& rng, std::size_t max_pieces)
{
    std::uniform_int_distribution<std::size_t> count(0, max_pieces);
    std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1);
    std::string s;
    for (std::size_t n = count(rng); n > 0; --n)
        s += pieces[pick(rng)];
    return s;
}

std::string without(std::string s, std::string_view forbidden)
{
    std::string out;
    for (char c : s)
        if (forbidden.find(c) == std::string_view::npos)
            out += c;
    return out;
}

// CRLF and CR become LF: what the wire format can carry.
std::string normalized(std::string_view s)
{
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            out += '\n';
            if (i + 1 < s.size() && s[i + 1] == '\n')
                ++i;
        } else {
            out += s[i];
        }
    }
    return out;
}

} // namespace

TEST_CASE("round trip: random events come back identical through the parser")
{
    std::mt19937 rng(20261122);
    for (int round = 0; round < 300; ++round) {
        std::vector<sse::event> sent(1 + round % 4);
        std::string wire;
        for (auto& e : sent) {
            e.data = random_text(rng, 8);
            if (rng() % 2)
                e.type = without(random_text(rng, 3), "\r\n");
            if (rng() % 2)
                e.id = without(random_text(rng, 3), std::string("\r\n\0", 3));
            if (rng() % 4 == 0)
                e.comment = random_text(rng, 3);
            sse::serialize(e, wire);
        }
        CAPTURE(round);
        CAPTURE(wire);

        for (auto mode : support::all_feed_modes) {
            CAPTURE(mode);
            auto const got = support::parse(mode, wire);
            REQUIRE_FALSE(got.ec);
            REQUIRE(got.events.size() == sent.size());
            std::string expected_id;
            for (std::size_t i = 0; i < sent.size(); ++i) {
                if (sent[i].id)
                    expected_id = *sent[i].id;
                CHECK(got.events[i].data == normalized(*sent[i].data));
                CHECK(got.events[i].type == (sent[i].type.empty() ? "message" : sent[i].type));
                CHECK(got.events[i].id == expected_id);
            }
            CHECK(got.last_event_id == expected_id);
        }
    }
}

TEST_CASE("round trip: comments, retry-only and id-only messages dispatch nothing but take effect")
{
    using namespace std::chrono_literals;
    std::string wire;
    sse::event comment;
    comment.comment = "one\ntwo";
    sse::serialize(comment, wire);
    sse::event retry;
    retry.retry = 1500ms;
    sse::serialize(retry, wire);
    sse::event id_only;
    id_only.id = "seven";
    sse::serialize(id_only, wire);

    for (auto mode : support::all_feed_modes) {
        CAPTURE(mode);
        auto const got = support::parse(mode, wire);
        CHECK(got.events.empty());
        CHECK(got.comments == std::vector<std::string>{"one", "two"});
        CHECK(got.retries == std::vector<long long>{1500});
        CHECK(got.last_event_id == "seven");
    }
}
