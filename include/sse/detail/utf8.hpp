// sse/detail/utf8.hpp - UTF-8 validation and the WHATWG Encoding "UTF-8 decoder".
#ifndef SSE_DETAIL_UTF8_HPP
#define SSE_DETAIL_UTF8_HPP

#include <sse/config.hpp>
#include <sse/detail/bounded_string.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

SSE_NAMESPACE_BEGIN
namespace detail {

// WHATWG Encoding, UTF-8 decoder: the bounds on the byte after a lead byte. E0 and
// F0 raise the lower bound (no overlong forms), ED lowers the upper bound (no
// surrogates), F4 lowers it (nothing above U+10FFFF). Returns the sequence length, or 0
// for a byte that cannot start a sequence (80-C1, F5-FF).
inline int utf8_lead(unsigned char b, unsigned char& lower, unsigned char& upper) noexcept
{
    lower = 0x80;
    upper = 0xBF;
    if (b >= 0xC2 && b <= 0xDF)
        return 2;
    if (b >= 0xE0 && b <= 0xEF) {
        if (b == 0xE0)
            lower = 0xA0;
        else if (b == 0xED)
            upper = 0x9F;
        return 3;
    }
    if (b >= 0xF0 && b <= 0xF4) {
        if (b == 0xF0)
            lower = 0x90;
        else if (b == 0xF4)
            upper = 0x8F;
        return 4;
    }
    return 0;
}

inline bool has_high_bit(char const* p) noexcept
{
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return (w & 0x8080808080808080u) != 0;
}

/// Returns the length of the longest prefix of [p, p + n) made of complete, well-formed
/// UTF-8 sequences. ASCII runs are checked eight bytes at a time.
inline std::size_t utf8_valid_prefix(char const* p, std::size_t n) noexcept
{
    std::size_t i = 0;
    for (;;) {
        while (n - i >= 16) {
            std::uint64_t a, b;
            std::memcpy(&a, p + i, 8);
            std::memcpy(&b, p + i + 8, 8);
            if (((a | b) & 0x8080808080808080u) != 0)
                break;
            i += 16;
        }
        if (n - i >= 8 && !has_high_bit(p + i))
            i += 8;
        if (i == n)
            return n;
        auto const b = static_cast<unsigned char>(p[i]);
        if (b < 0x80) {
            ++i;
            continue;
        }
        unsigned char lower, upper;
        auto const len = static_cast<std::size_t>(utf8_lead(b, lower, upper));
        if (len == 0 || n - i < len)
            return i;
        auto const c1 = static_cast<unsigned char>(p[i + 1]);
        if (c1 < lower || c1 > upper)
            return i;
        for (std::size_t k = 2; k < len; ++k)
            if ((static_cast<unsigned char>(p[i + k]) & 0xC0) != 0x80)
                return i;
        i += len;
    }
}

/** The WHATWG Encoding "UTF-8 decoder" as a streaming transcoder from bytes to UTF-8.

    Well-formed input passes through unchanged. Each maximal subpart of an ill-formed
    sequence becomes one U+FFFD (EF BF BD); a sequence cut off by the end of a call is
    kept and completed by the next call, and flush() turns one left at the end of the
    input into U+FFFD. Output is appended to a string that never grows past a limit.
    The byte order mark is not handled here: WHATWG Encoding's "UTF-8 decode" strips it
    before decoding, and so does the parser.
*/
class utf8_decoder
{
public:
    /// Decodes [p, end) onto `out`. Returns false, appending nothing more, as soon as
    /// `out` would exceed `limit` bytes.
    bool decode(char const* p, char const* end, std::string& out, std::size_t limit)
    {
        while (p != end) {
            if (have_ == 0) {
                std::size_t const run = utf8_valid_prefix(p, static_cast<std::size_t>(end - p));
                if (run != 0) {
                    if (!append_bounded(out, p, run, limit))
                        return false;
                    p += run;
                    if (p == end)
                        return true;
                }
                // p is at a lead byte that cannot start a sequence, or at the start of a
                // sequence that is ill-formed or cut off by `end`.
                auto const b = static_cast<unsigned char>(*p);
                len_ = static_cast<unsigned char>(utf8_lead(b, lower_, upper_));
                if (len_ == 0) {
                    if (!replacement(out, limit))
                        return false;
                } else {
                    bytes_[0] = b;
                    have_ = 1;
                }
                ++p;
                continue;
            }
            auto const b = static_cast<unsigned char>(*p);
            if (b < lower_ || b > upper_) {
                // WHATWG Encoding, UTF-8 decoder: an unexpected byte ends the maximal subpart with
                // one U+FFFD and is then processed again as the start of a new sequence.
                have_ = 0;
                if (!replacement(out, limit))
                    return false;
                continue;
            }
            lower_ = 0x80;
            upper_ = 0xBF;
            bytes_[have_++] = b;
            ++p;
            if (have_ == len_) {
                have_ = 0;
                if (!append_bounded(out, reinterpret_cast<char const*>(bytes_), len_, limit))
                    return false;
            }
        }
        return true;
    }

    /// Ends the input: a sequence still incomplete becomes one U+FFFD. Returns false if
    /// that would make `out` exceed `limit` bytes.
    bool flush(std::string& out, std::size_t limit)
    {
        if (have_ == 0)
            return true;
        have_ = 0;
        return replacement(out, limit);
    }

    /// True while an incomplete sequence is held.
    bool pending() const noexcept { return have_ != 0; }

    void reset() noexcept { have_ = 0; }

private:
    static bool replacement(std::string& out, std::size_t limit)
    {
        return append_bounded(out, "\xEF\xBF\xBD", 3, limit);
    }

    unsigned char bytes_[4] = {};
    unsigned char have_ = 0;   // bytes held of an incomplete sequence; 0: between sequences
    unsigned char len_ = 0;    // length of the held sequence
    unsigned char lower_ = 0x80;
    unsigned char upper_ = 0xBF;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
