// sse/http/impl/request_parser.hpp - bodies of the request-head parser.
#ifndef SSE_HTTP_IMPL_REQUEST_PARSER_HPP
#define SSE_HTTP_IMPL_REQUEST_PARSER_HPP

#include <sse/http/request_parser.hpp>

SSE_NAMESPACE_BEGIN
namespace http {

SSE_DECL std::size_t request_parser::feed(std::string_view bytes, error_code& ec)
{
    ec = {};
    if (state_ == state::failed) {
        ec = failure_;
        return 0;
    }
    if (state_ == state::done)
        return 0;
    // The parser never sees more than the head may still grow by, so the size
    // limit holds without a check per octet, and one octet over it fails.
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

SSE_DECL std::size_t request_parser::feed(std::string_view bytes)
{
    error_code ec;
    std::size_t const used = feed(bytes, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return used;
}

SSE_DECL request_head request_parser::release()
{
    SSE_ASSERT(done());
    request_head head = std::move(head_);
    reset();
    return head;
}

SSE_DECL void request_parser::reset() noexcept
{
    head_ = request_head();
    fields_.reset();
    size_ = 0;
    failure_ = {};
    state_ = state::start;
    version_size_ = 0;
}

SSE_DECL void request_parser::end_request_line(error_code& ec)
{
    // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
    std::string_view const v(version_, version_size_);
    if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !detail::is_digit(v[5]) || v[6] != '.' ||
        !detail::is_digit(v[7])) {
        ec = error::bad_request_line;
        return;
    }
    if (v[5] != '1') {
        ec = error::bad_version;
        return;
    }
    // RFC 9112 2.3: a higher minor version is treated as the highest one known.
    head_.version_ = v[7] == '0' ? 10 : 11;
    head_.finish_target(limits_.max_params, ec);
}

SSE_DECL std::size_t request_parser::parse(std::string_view in, error_code& ec)
{
    char const* const begin = in.data();
    char const* const end = begin + in.size();
    char const* p = begin;
    auto used = [&] { return static_cast<std::size_t>(p - begin); };

    while (p != end) {
        switch (state_) {
        case state::start:
            // RFC 9112 2.2: empty lines before the request line are skipped. They
            // count towards max_head, which bounds them.
            if (*p == '\r') {
                ++p;
                state_ = state::start_lf;
            } else if (*p == '\n') {
                ++p;
            } else {
                state_ = state::method;
            }
            break;

        case state::start_lf:
            if (*p != '\n') {
                ec = error::bad_request_line;
                return used();
            }
            ++p;
            state_ = state::start;
            break;

        case state::method: {
            char const* const start = p;
            while (p != end && detail::is_tchar(*p))
                ++p;
            head_.method_.append(start, static_cast<std::size_t>(p - start));
            if (p == end)
                break;
            if (*p == ' ' && !head_.method_.empty()) {
                ++p;
                state_ = state::target;
                break;
            }
            // A line that ends or a space that comes too early is a broken line;
            // any other octet makes a method that is not a token.
            ec = (*p == ' ' || *p == '\r' || *p == '\n') ? error::bad_request_line : error::bad_method;
            return used();
        }

        case state::target: {
            // Any VCHAR but '#': a fragment is never sent (RFC 9112 3.2), and a
            // control or non-ASCII octet has to be percent-encoded.
            char const* const start = p;
            while (p != end && detail::is_vchar(*p) && *p != '#')
                ++p;
            std::size_t const room = limits_.max_target - head_.target_.size();
            if (static_cast<std::size_t>(p - start) > room) {
                head_.target_.append(start, room);
                p = start + room;
                ec = error::target_too_long;
                return used();
            }
            head_.target_.append(start, static_cast<std::size_t>(p - start));
            if (p == end)
                break;
            if (*p == ' ' && !head_.target_.empty()) {
                ++p;
                state_ = state::version;
                break;
            }
            ec = (*p == ' ' || *p == '\r' || *p == '\n') ? error::bad_request_line : error::bad_target;
            return used();
        }

        case state::version:
            while (p != end && *p != '\r' && *p != '\n') {
                if (version_size_ == sizeof(version_)) {
                    ec = error::bad_request_line;
                    return used();
                }
                version_[version_size_++] = *p++;
            }
            if (p == end)
                break;
            state_ = *p == '\r' ? state::line_lf : state::fields;
            ++p;
            end_request_line(ec);
            if (ec)
                return used();
            break;

        case state::line_lf:
            if (*p != '\n') {
                ec = error::bad_request_line;
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

SSE_DECL int status_for(error_code const& ec) noexcept
{
    if (ec.category() == error_category()) {
        switch (static_cast<error>(ec.value())) {
        case error::target_too_long:
            return 414;
        case error::head_too_large:
        case error::too_many_headers:
            return 431;
        case error::bad_version:
            return 505;
        case error::body_too_large:
            return 413;
        case error::head_timeout:
        case error::body_timeout:
            return 408;
        default:
            break;
        }
    }
    return 400;
}

} // namespace http
SSE_NAMESPACE_END

#endif
