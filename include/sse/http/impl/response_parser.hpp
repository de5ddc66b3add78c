// sse/http/impl/response_parser.hpp - bodies of the response-head parser.
#ifndef SSE_HTTP_IMPL_RESPONSE_PARSER_HPP
#define SSE_HTTP_IMPL_RESPONSE_PARSER_HPP

#include <sse/http/response_parser.hpp>

SSE_NAMESPACE_BEGIN
namespace http {

SSE_DECL std::size_t response_parser::feed(std::string_view bytes, error_code& ec)
{
    ec = {};
    if (state_ == state::failed) {
        ec = failure_;
        return 0;
    }
    if (state_ == state::done)
        return 0;
    // As for requests: the parser sees at most what the head may still grow by.
    std::size_t const room = limits_.max_head - size_;
    std::size_t const used = parse(bytes.substr(0, room), ec);
    size_ += used;
    if (!ec && state_ != state::done && bytes.size() > room)
        ec = error::head_too_large;
    if (ec) {
        failure_ = ec;
        state_ = state::failed;
    }
    return used;
}

SSE_DECL std::size_t response_parser::feed(std::string_view bytes)
{
    error_code ec;
    std::size_t const used = feed(bytes, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return used;
}

SSE_DECL response_head response_parser::release()
{
    SSE_ASSERT(done());
    response_head head = std::move(head_);
    reset();
    return head;
}

SSE_DECL void response_parser::reset() noexcept
{
    head_ = response_head();
    fields_.reset();
    size_ = 0;
    failure_ = {};
    state_ = state::version;
    version_size_ = 0;
    status_digits_ = 0;
}

SSE_DECL std::size_t response_parser::parse(std::string_view in, error_code& ec)
{
    char const* const begin = in.data();
    char const* const end = begin + in.size();
    char const* p = begin;
    auto used = [&] { return static_cast<std::size_t>(p - begin); };

    while (p != end) {
        switch (state_) {
        case state::version: {
            while (p != end && *p != ' ' && version_size_ < sizeof(version_))
                version_[version_size_++] = *p++;
            if (p == end)
                break;
            // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
            std::string_view const v(version_, version_size_);
            if (*p != ' ' || v.size() != 8 || v.substr(0, 5) != "HTTP/" || !detail::is_digit(v[5]) ||
                v[6] != '.' || !detail::is_digit(v[7])) {
                ec = error::bad_status_line;
                return used();
            }
            if (v[5] != '1') {
                ec = error::bad_version;
                return used();
            }
            head_.version_ = v[7] == '0' ? 10 : 11;
            ++p;
            state_ = state::status;
            break;
        }

        case state::status:
            // RFC 9112 4: status-code = 3DIGIT, and RFC 9110 15 uses 100 to 599.
            if (!detail::is_digit(*p)) {
                ec = error::bad_status_line;
                return used();
            }
            head_.status_ = head_.status_ * 10 + (*p - '0');
            if (++status_digits_ == 3) {
                if (head_.status_ < 100 || head_.status_ > 599) {
                    ec = error::bad_status_line;
                    return used();
                }
                state_ = state::after_status;
            }
            ++p;
            break;

        case state::after_status:
            // The SP before an empty reason is required of servers, but some omit
            // it; nothing else can follow the code, so accepting that is safe.
            if (*p == ' ') {
                state_ = state::reason;
            } else if (*p == '\r') {
                state_ = state::line_lf;
            } else if (*p == '\n') {
                state_ = state::fields;
            } else {
                ec = error::bad_status_line;
                return used();
            }
            ++p;
            break;

        case state::reason: {
            // RFC 9112 4: reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ).
            char const* const start = p;
            while (p != end && detail::is_field_char(*p))
                ++p;
            head_.reason_.append(start, static_cast<std::size_t>(p - start));
            if (p == end)
                break;
            if (*p == '\r') {
                state_ = state::line_lf;
            } else if (*p == '\n') {
                state_ = state::fields;
            } else {
                ec = error::bad_status_line;
                return used();
            }
            ++p;
            break;
        }

        case state::line_lf:
            if (*p != '\n') {
                ec = error::bad_status_line;
                return used();
            }
            ++p;
            state_ = state::fields;
            break;

        case state::fields:
            if (fields_.parse(p, end, head_.fields_, limits_.max_fields, ec)) {
                head_.finish_fields(ec);
                if (!ec)
                    state_ = state::done;
                return used();
            }
            if (ec)
                return used();
            break;

        case state::done:
        case state::failed:
            return used();
        }
    }
    return used();
}

} // namespace http
SSE_NAMESPACE_END

#endif
