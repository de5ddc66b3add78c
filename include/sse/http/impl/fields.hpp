// sse/http/impl/fields.hpp - bodies of fields, the field-line parser and the framing rules.
#ifndef SSE_HTTP_IMPL_FIELDS_HPP
#define SSE_HTTP_IMPL_FIELDS_HPP

#include <sse/http/fields.hpp>

SSE_NAMESPACE_BEGIN
namespace http {

SSE_DECL bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (detail::to_lower(a[i]) != detail::to_lower(b[i]))
            return false;
    return true;
}

SSE_DECL bool is_token(std::string_view s) noexcept
{
    if (s.empty())
        return false;
    for (char const c : s)
        if (!detail::is_tchar(c))
            return false;
    return true;
}

SSE_DECL bool list_contains(std::string_view list, std::string_view token) noexcept
{
    for (;;) {
        std::size_t const comma = list.find(',');
        if (iequals(detail::trim_ows(list.substr(0, comma)), token))
            return true;
        if (comma == std::string_view::npos)
            return false;
        list.remove_prefix(comma + 1);
    }
}

namespace detail {

SSE_DECL void pair_list::push_back(std::string_view name, std::string_view value)
{
    // The entry is added last: if an append throws, the list still holds only whole pairs.
    std::size_t const offset = data_.size();
    data_.append(name);
    data_.append(value);
    entries_.push_back({offset, name.size(), value.size()});
}

} // namespace detail

SSE_DECL std::optional<std::string_view> fields::find(std::string_view name) const noexcept
{
    for (field const fl : list_)
        if (iequals(fl.name, name))
            return fl.value;
    return std::nullopt;
}

SSE_DECL std::size_t fields::count(std::string_view name) const noexcept
{
    std::size_t n = 0;
    for (field const fl : list_)
        if (iequals(fl.name, name))
            ++n;
    return n;
}

SSE_DECL bool fields::has_token(std::string_view name, std::string_view token) const noexcept
{
    for (field const fl : list_)
        if (iequals(fl.name, name) && list_contains(fl.value, token))
            return true;
    return false;
}

namespace detail {

SSE_DECL void field_parser::commit(fields& out)
{
    // RFC 9112 5.1: OWS around the value is not part of it. The leading run was
    // never stored; the trailing one is cut here, once the line has ended.
    std::size_t n = value_.size();
    while (n > 0 && is_ows(value_[n - 1]))
        --n;
    out.insert(name_, std::string_view(value_.data(), n));
    name_.clear();
    value_.clear();
}

SSE_DECL bool field_parser::parse(char const*& p, char const* end, fields& out,
                                  std::size_t max_fields, error_code& ec)
{
    while (p != end) {
        switch (state_) {
        case state::line_start:
            if (*p == '\r') {
                ++p;
                state_ = state::end_lf;
                break;
            }
            if (*p == '\n') {   // RFC 9112 2.2: a bare LF may end a line
                ++p;
                return true;
            }
            // A leading SP or HTAB is obs-fold, or whitespace after the start line:
            // RFC 9112 2.2 and 5.2 allow rejecting both, which avoids guessing.
            if (!is_tchar(*p)) {
                ec = error::bad_header;
                return false;
            }
            if (out.size() >= max_fields) {
                ec = error::too_many_headers;
                return false;
            }
            state_ = state::name;
            break;

        case state::name: {
            char const* const start = p;
            while (p != end && is_tchar(*p))
                ++p;
            name_.append(start, static_cast<std::size_t>(p - start));
            if (p == end)
                return false;
            // RFC 9112 5.1: whitespace between the name and the colon is rejected.
            if (*p != ':') {
                ec = error::bad_header;
                return false;
            }
            ++p;
            state_ = state::before_value;
            break;
        }

        case state::before_value:
            while (p != end && is_ows(*p))
                ++p;
            if (p != end)
                state_ = state::value;
            break;

        case state::value: {
            char const* const start = p;
            while (p != end && is_field_char(*p))
                ++p;
            value_.append(start, static_cast<std::size_t>(p - start));
            if (p == end)
                return false;
            if (*p == '\r') {
                ++p;
                state_ = state::value_lf;
            } else if (*p == '\n') {
                ++p;
                commit(out);
                state_ = state::line_start;
            } else {   // RFC 9110 5.5: NUL and other controls are not passed on
                ec = error::bad_header;
                return false;
            }
            break;
        }

        case state::value_lf:
            // RFC 9112 2.2: a bare CR is invalid; replacing it would let two
            // parsers see different fields.
            if (*p != '\n') {
                ec = error::bad_header;
                return false;
            }
            ++p;
            commit(out);
            state_ = state::line_start;
            break;

        case state::end_lf:
            if (*p != '\n') {
                ec = error::bad_header;
                return false;
            }
            ++p;
            return true;
        }
    }
    return false;
}

// Skips a quoted-string (RFC 9110 5.6.4) starting at s[i] == '"'. Returns false if unterminated.
inline bool skip_quoted(std::string_view s, std::size_t& i) noexcept
{
    for (++i; i < s.size(); ++i) {
        if (s[i] == '"') {
            ++i;
            return true;
        }
        if (s[i] == '\\' && ++i == s.size())
            return false;
    }
    return false;
}

inline void skip_ows(std::string_view s, std::size_t& i) noexcept
{
    while (i < s.size() && is_ows(s[i]))
        ++i;
}

inline std::string_view take_token(std::string_view s, std::size_t& i) noexcept
{
    std::size_t const start = i;
    while (i < s.size() && is_tchar(s[i]))
        ++i;
    return s.substr(start, i - start);
}

SSE_DECL transfer_coding classify_transfer_coding(fields const& f) noexcept
{
    bool present = false;
    bool valid = true;
    bool last_is_chunked = false;
    std::size_t chunked_count = 0;
    for (field const fl : f) {
        if (!iequals(fl.name, "Transfer-Encoding"))
            continue;
        present = true;
        // RFC 9112 7: transfer-coding = token *( OWS ";" OWS token BWS "=" BWS
        // ( token / quoted-string ) ). A real scan, so a comma inside a quoted
        // parameter cannot fake a final "chunked".
        std::string_view const s = fl.value;
        std::size_t i = 0;
        for (;;) {
            while (i < s.size() && (is_ows(s[i]) || s[i] == ','))
                ++i;
            if (i == s.size())
                break;
            std::string_view const coding = take_token(s, i);
            if (coding.empty()) {
                valid = false;
                break;
            }
            last_is_chunked = iequals(coding, "chunked");
            chunked_count += last_is_chunked ? 1 : 0;
            skip_ows(s, i);
            while (valid && i < s.size() && s[i] == ';') {
                ++i;
                skip_ows(s, i);
                valid = !take_token(s, i).empty();
                skip_ows(s, i);
                if (valid && i < s.size() && s[i] == '=') {
                    ++i;
                    skip_ows(s, i);
                    if (i < s.size() && s[i] == '"')
                        valid = skip_quoted(s, i);
                    else
                        valid = !take_token(s, i).empty();
                    skip_ows(s, i);
                } else {
                    valid = false;
                }
            }
            if (!valid || (i < s.size() && s[i] != ',')) {
                valid = false;
                break;
            }
        }
        if (!valid)
            break;
    }
    if (!present)
        return transfer_coding::absent;
    // RFC 9112 6.1: chunked is applied at most once, and last.
    if (valid && last_is_chunked && chunked_count == 1)
        return transfer_coding::chunked;
    return transfer_coding::other;
}

SSE_DECL bool read_content_length(fields const& f, std::optional<std::uint64_t>& out) noexcept
{
    out.reset();
    for (field const fl : f) {
        if (!iequals(fl.name, "Content-Length"))
            continue;
        // RFC 9110 8.6: a list of identical values ("42, 42") stands for one value.
        std::string_view s = fl.value;
        for (;;) {
            std::size_t const comma = s.find(',');
            std::string_view const digits = trim_ows(s.substr(0, comma));
            if (digits.empty())
                return false;
            std::uint64_t v = 0;
            for (char const c : digits) {
                if (!is_digit(c))
                    return false;
                auto const d = static_cast<std::uint64_t>(c - '0');
                if (v > (UINT64_MAX - d) / 10)
                    return false;
                v = v * 10 + d;
            }
            if (out && *out != v)
                return false;
            out = v;
            if (comma == std::string_view::npos)
                break;
            s.remove_prefix(comma + 1);
        }
    }
    return true;
}

} // namespace detail
} // namespace http
SSE_NAMESPACE_END

#endif
