#include <sse/detail/utf8.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string from_hex(std::string const& hex)
{
    std::string out;
    if (hex == "-")
        return out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

std::string to_hex(std::string const& bytes)
{
    static char const digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 15]);
    }
    return out.empty() ? "-" : out;
}

// tests/vectors/utf8_decode.txt: expected outputs of the WHATWG Encoding UTF-8 decoder,
// generated with node's TextDecoder (see utf8_decode.js beside it).
std::vector<std::pair<std::string, std::string>> load_vectors()
{
    std::ifstream file(SSE_TEST_VECTORS_DIR "/utf8_decode.txt");
    REQUIRE(file.is_open());
    std::vector<std::pair<std::string, std::string>> vectors;
    std::string line;
    while (std::getline(file, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream fields(line);
        std::string in, out;
        fields >> in >> out;
        vectors.emplace_back(from_hex(in), from_hex(out));
    }
    return vectors;
}

constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

std::string decode(std::vector<std::string> const& chunks)
{
    sse::detail::utf8_decoder d;
    std::string out;
    for (auto const& c : chunks)
        REQUIRE(d.decode(c.data(), c.data() + c.size(), out, no_limit));
    REQUIRE(d.flush(out, no_limit));
    CHECK_FALSE(d.pending());
    return out;
}

} // namespace

TEST_CASE("utf8: decoder matches the WHATWG Encoding vectors, whole and split anywhere")
{
    auto const vectors = load_vectors();
    REQUIRE(vectors.size() > 250);
    for (auto const& vector : vectors) {
        std::string const& in = vector.first;
        std::string const& expected = vector.second;
        CAPTURE(to_hex(in));
        CHECK(to_hex(decode({in})) == to_hex(expected));
        for (std::size_t k = 1; k < in.size(); ++k) {
            CAPTURE(k);
            CHECK(to_hex(decode({in.substr(0, k), in.substr(k)})) == to_hex(expected));
        }
        std::vector<std::string> bytes;
        for (char c : in)
            bytes.emplace_back(1, c);
        CHECK(to_hex(decode(bytes)) == to_hex(expected));
    }
}

TEST_CASE("utf8: valid_prefix accepts exactly the input that decodes to itself")
{
    for (auto const& vector : load_vectors()) {
        std::string const& in = vector.first;
        std::string const& expected = vector.second;
        CAPTURE(to_hex(in));
        bool const valid = in == expected;
        CHECK((sse::detail::utf8_valid_prefix(in.data(), in.size()) == in.size()) == valid);
        // The prefix it reports is itself valid and decodes to itself.
        std::size_t const n = sse::detail::utf8_valid_prefix(in.data(), in.size());
        CHECK(decode({in.substr(0, n)}) == in.substr(0, n));
    }
}

TEST_CASE("utf8: valid_prefix finds a bad byte at every offset of a long ASCII run")
{
    // Exercises the 16- and 8-byte ASCII paths and the byte-wise tail.
    for (std::size_t length : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 64u}) {
        for (std::size_t at = 0; at < length; ++at) {
            CAPTURE(length);
            CAPTURE(at);
            std::string s(length, 'a');
            CHECK(sse::detail::utf8_valid_prefix(s.data(), s.size()) == length);
            s[at] = '\x80';
            CHECK(sse::detail::utf8_valid_prefix(s.data(), s.size()) == at);
            s[at] = '\xC3';   // a lead byte cut off, or followed by 'a'
            CHECK(sse::detail::utf8_valid_prefix(s.data(), s.size()) == at);
        }
    }
    std::string const mixed = "abcdefgh\xC3\xA9" "abcdefghijklmnop\xE2\x82\xAC" "abcdefg\xF0\x9F\x98\x80";
    CHECK(sse::detail::utf8_valid_prefix(mixed.data(), mixed.size()) == mixed.size());
}

TEST_CASE("utf8: a truncated sequence is held across calls and replaced at the end")
{
    sse::detail::utf8_decoder d;
    std::string out;
    std::string const head = "a\xF0\x9F";
    REQUIRE(d.decode(head.data(), head.data() + head.size(), out, no_limit));
    CHECK(out == "a");
    CHECK(d.pending());
    REQUIRE(d.flush(out, no_limit));
    CHECK(out == "a\xEF\xBF\xBD");
    CHECK_FALSE(d.pending());
    REQUIRE(d.flush(out, no_limit));
    CHECK(out == "a\xEF\xBF\xBD");
}

TEST_CASE("utf8: the output never grows past the limit")
{
    SUBCASE("valid bytes")
    {
        sse::detail::utf8_decoder d;
        std::string out;
        std::string const in = "abcdef";
        CHECK(d.decode(in.data(), in.data() + 4, out, 4));
        CHECK(out == "abcd");
        CHECK_FALSE(d.decode(in.data() + 4, in.data() + 5, out, 4));
        CHECK(out == "abcd");
    }
    SUBCASE("a replacement that does not fit")
    {
        sse::detail::utf8_decoder d;
        std::string out;
        std::string const in = "ab\x80";
        CHECK_FALSE(d.decode(in.data(), in.data() + in.size(), out, 4));
        CHECK(out == "ab");
    }
    SUBCASE("a pending sequence that does not fit at flush")
    {
        sse::detail::utf8_decoder d;
        std::string out;
        std::string const in = "ab\xE2";
        CHECK(d.decode(in.data(), in.data() + in.size(), out, 4));
        CHECK_FALSE(d.flush(out, 4));
        CHECK(out == "ab");
    }
    SUBCASE("capacity stays within the limit")
    {
        sse::detail::utf8_decoder d;
        std::string out;
        std::string const in(1000, 'x');
        for (int i = 0; i < 10; ++i)
            CHECK(d.decode(in.data(), in.data() + in.size(), out, 10'000));
        CHECK_FALSE(d.decode(in.data(), in.data() + 1, out, 10'000));
        CHECK(out.size() == 10'000);
        CHECK(out.capacity() <= 10'000 + 64);
    }
}
