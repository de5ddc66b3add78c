// sse/detail/lines.hpp - splitting text at CR, LF and CRLF.
#ifndef SSE_DETAIL_LINES_HPP
#define SSE_DETAIL_LINES_HPP

#include <sse/config.hpp>

#include <cstring>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace detail {

/// True if `s` contains CR or LF.
inline bool has_line_break(std::string_view s) noexcept
{
    return !s.empty() && (std::memchr(s.data(), '\n', s.size()) != nullptr ||
                          std::memchr(s.data(), '\r', s.size()) != nullptr);
}

/** Calls `f(line)` for each line of `text`, split at CRLF, CR and LF.

    Text with n line breaks has n + 1 lines, so "" gives one empty line and
    "a\n" gives "a" and "". The next CR and the next LF are searched once each
    and remembered: searching again for each line would rescan a long text
    with no CR once per line.
*/
template<class Function>
void for_each_line(std::string_view text, Function&& f)
{
    char const* const begin = text.data();
    char const* const end = begin + text.size();
    auto find = [end](char const* from, char c) -> char const* {
        if (from >= end)
            return end;
        auto const* hit = static_cast<char const*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
        return hit ? hit : end;
    };
    char const* line = begin;
    char const* next_lf = find(line, '\n');
    char const* next_cr = find(line, '\r');
    for (;;) {
        char const* brk = next_lf < next_cr ? next_lf : next_cr;
        f(std::string_view(line, static_cast<std::size_t>(brk - line)));
        if (brk == end)
            return;
        line = brk + 1;
        if (*brk == '\r' && line != end && *line == '\n')
            ++line;   // CRLF is one line break
        if (next_lf < line)
            next_lf = find(line, '\n');
        if (next_cr < line)
            next_cr = find(line, '\r');
    }
}

} // namespace detail
SSE_NAMESPACE_END

#endif
