// sse/http/impl/chunked_decoder.hpp - bodies of the chunked decoder.
#ifndef SSE_HTTP_IMPL_CHUNKED_DECODER_HPP
#define SSE_HTTP_IMPL_CHUNKED_DECODER_HPP

#include <sse/http/chunked_decoder.hpp>
#include <sse/http/detail/chars.hpp>

SSE_NAMESPACE_BEGIN
namespace http {

SSE_DECL std::string_view chunked_decoder::next(std::string_view& input, error_code& ec)
{
    ec = {};
    if (state_ == state::failed) {
        ec = failure_;
        return {};
    }
    while (!input.empty() && state_ != state::done) {
        if (state_ == state::data) {
            // The size was checked against max_chunk; the data is only handed on.
            std::size_t const n = remaining_ < input.size() ? static_cast<std::size_t>(remaining_) : input.size();
            std::string_view const data = input.substr(0, n);
            input.remove_prefix(n);
            remaining_ -= n;
            if (remaining_ == 0)
                state_ = state::data_cr;
            return data;
        }
        if (!step(input.front(), ec)) {
            failure_ = ec;
            state_ = state::failed;
            return {};
        }
        input.remove_prefix(1);
    }
    return {};
}

SSE_DECL bool chunked_decoder::step(char c, error_code& ec)
{
    // RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF, and
    // 7.1.1: chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ).
    bool const in_size_line = state_ <= state::ext_value_ws;
    if (in_size_line && c != '\r' && ++count_ > limits_.max_line) {
        ec = error::bad_chunk;
        return false;
    }
    bool const in_trailers = state_ >= state::trailer_start && state_ <= state::end_lf;
    if (in_trailers && ++count_ > limits_.max_trailers) {
        ec = error::bad_chunk;
        return false;
    }

    auto fail = [&ec] {
        ec = error::bad_chunk;
        return false;
    };
    // After a name or a value: another extension, the end of the line, or BWS.
    auto after_ext_item = [&](state on_ws) {
        if (c == ';')
            state_ = state::ext_name_start;
        else if (c == '\r')
            state_ = state::size_lf;
        else if (detail::is_ows(c))
            state_ = on_ws;
        else
            return fail();
        return true;
    };

    switch (state_) {
    case state::size: {
        int const h = detail::hex_value(c);
        if (h >= 0) {
            // Checked before the shift, so the size can neither pass the limit
            // nor wrap around, however many digits arrive.
            auto const d = static_cast<std::uint64_t>(h);
            if (d > limits_.max_chunk || remaining_ > (limits_.max_chunk - d) / 16) {
                ec = error::chunk_too_large;
                return false;
            }
            remaining_ = remaining_ * 16 + d;
            ++digits_;
            return true;
        }
        if (digits_ == 0)
            return fail();
        return after_ext_item(state::size_ws);
    }

    case state::size_ws:
        // BWS only leads to ';': "5 \r\n" is not in the grammar.
        if (c == ';')
            state_ = state::ext_name_start;
        else if (!detail::is_ows(c))
            return fail();
        return true;

    case state::ext_name_start:
        if (detail::is_tchar(c))
            state_ = state::ext_name;
        else if (!detail::is_ows(c))
            return fail();
        return true;

    case state::ext_name:
        if (detail::is_tchar(c))
            return true;
        if (c == '=') {
            state_ = state::ext_value_start;
            return true;
        }
        return after_ext_item(state::ext_name_ws);

    case state::ext_name_ws:
        if (c == '=')
            state_ = state::ext_value_start;
        else if (c == ';')
            state_ = state::ext_name_start;
        else if (!detail::is_ows(c))
            return fail();
        return true;

    case state::ext_value_start:
        if (c == '"')
            state_ = state::ext_quoted;
        else if (detail::is_tchar(c))
            state_ = state::ext_token;
        else if (!detail::is_ows(c))
            return fail();
        return true;

    case state::ext_token:
        if (detail::is_tchar(c))
            return true;
        return after_ext_item(state::ext_value_ws);

    case state::ext_quoted:
        // RFC 9110 5.6.4: qdtext is HTAB, SP, VCHAR but '"' and '\', and obs-text.
        if (c == '"')
            state_ = state::ext_quoted_end;
        else if (c == '\\')
            state_ = state::ext_quoted_escape;
        else if (!detail::is_field_char(c))
            return fail();
        return true;

    case state::ext_quoted_escape:
        if (!detail::is_field_char(c))
            return fail();
        state_ = state::ext_quoted;
        return true;

    case state::ext_quoted_end:
        return after_ext_item(state::ext_value_ws);

    case state::ext_value_ws:
        // As after the size: BWS only leads to ';'.
        if (c == ';')
            state_ = state::ext_name_start;
        else if (!detail::is_ows(c))
            return fail();
        return true;

    case state::size_lf:
        if (c != '\n')
            return fail();
        count_ = 0;
        digits_ = 0;
        state_ = remaining_ == 0 ? state::trailer_start : state::data;
        return true;

    case state::data_cr:
        if (c != '\r')
            return fail();
        state_ = state::data_lf;
        return true;

    case state::data_lf:
        if (c != '\n')
            return fail();
        state_ = state::size;
        return true;

    case state::trailer_start:
        // RFC 9112 7.1.2: trailer fields are field lines; a leading space would
        // be obs-fold, refused as in heads.
        if (c == '\r')
            state_ = state::end_lf;
        else if (detail::is_tchar(c))
            state_ = state::trailer_name;
        else
            return fail();
        return true;

    case state::trailer_name:
        if (c == ':')
            state_ = state::trailer_value;
        else if (!detail::is_tchar(c))
            return fail();
        return true;

    case state::trailer_value:
        if (c == '\r')
            state_ = state::trailer_lf;
        else if (!detail::is_field_char(c))
            return fail();
        return true;

    case state::trailer_lf:
        if (c != '\n')
            return fail();
        state_ = state::trailer_start;
        return true;

    case state::end_lf:
        if (c != '\n')
            return fail();
        state_ = state::done;
        return true;

    case state::data:
    case state::done:
    case state::failed:
        break;
    }
    return fail();
}

} // namespace http
SSE_NAMESPACE_END

#endif
