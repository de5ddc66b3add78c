// sse/http/impl/request_head.hpp - bodies of percent-decoding and the request-head checks.
#ifndef SSE_HTTP_IMPL_REQUEST_HEAD_HPP
#define SSE_HTTP_IMPL_REQUEST_HEAD_HPP

#include <sse/http/request_head.hpp>

SSE_NAMESPACE_BEGIN
namespace http {
namespace detail {

SSE_DECL bool percent_decode_append(std::string_view in, std::string& out, bool plus_is_space)
{
    out.reserve(out.size() + in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        std::size_t run = i;
        while (run < in.size() && in[run] != '%' && !(plus_is_space && in[run] == '+'))
            ++run;
        out.append(in.data() + i, run - i);
        i = run;
        if (i == in.size())
            break;
        if (in[i] == '+') {
            out.push_back(' ');
            ++i;
            continue;
        }
        if (in.size() - i < 3)
            return false;
        int const hi = hex_value(in[i + 1]);
        int const lo = hex_value(in[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 3;
    }
    return true;
}

} // namespace detail

SSE_DECL std::string percent_decode(std::string_view in, error_code& ec)
{
    ec = {};
    std::string out;
    if (!detail::percent_decode_append(in, out, false)) {
        ec = error::bad_target;
        out.clear();
    }
    return out;
}

SSE_DECL std::string percent_decode(std::string_view in)
{
    error_code ec;
    std::string out = percent_decode(in, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return out;
}

SSE_DECL std::string form_decode(std::string_view in, error_code& ec)
{
    ec = {};
    std::string out;
    if (!detail::percent_decode_append(in, out, true)) {
        ec = error::bad_target;
        out.clear();
    }
    return out;
}

SSE_DECL std::string form_decode(std::string_view in)
{
    error_code ec;
    std::string out = form_decode(in, ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
    return out;
}

SSE_DECL std::optional<std::string_view> query_params::find(std::string_view name) const noexcept
{
    for (field const p : list_)
        if (p.name == name)
            return p.value;
    return std::nullopt;
}

SSE_DECL void request_head::finish_target(std::size_t max_params, error_code& ec)
{
    std::string_view const t = target_;
    if (t.empty()) {
        ec = error::bad_target;
        return;
    }
    if (t == "*") {
        // RFC 9112 3.2.4: the asterisk-form only asks OPTIONS of the whole server.
        if (method_ != "OPTIONS")
            ec = error::bad_target;
        else
            path_ = "*";
        return;
    }

    std::size_t path_start = 0;
    if (t.front() != '/') {
        // RFC 9112 3.2.2: a server accepts the absolute-form from any client. Only
        // http and https name a resource here; anything else, the authority-form
        // of CONNECT included, is refused.
        std::size_t i = 0;
        while (i < t.size() && (detail::is_alpha(t[i]) || (i > 0 && (detail::is_digit(t[i]) ||
                                                                     t[i] == '+' || t[i] == '-' || t[i] == '.'))))
            ++i;
        std::string_view const scheme = t.substr(0, i);
        if (!(iequals(scheme, "http") || iequals(scheme, "https")) || t.substr(i, 3) != "://") {
            ec = error::bad_target;
            return;
        }
        i += 3;
        std::size_t authority_end = t.find_first_of("/?", i);
        if (authority_end == std::string_view::npos)
            authority_end = t.size();
        std::string_view const authority = t.substr(i, authority_end - i);
        // RFC 9110 4.2.4: userinfo in an http(s) URI is treated as an error.
        if (authority.empty() || authority.find('@') != std::string_view::npos) {
            ec = error::bad_target;
            return;
        }
        path_start = authority_end;
    }

    std::size_t const question = t.find('?', path_start);
    std::string_view const raw_path =
        t.substr(path_start, question == std::string_view::npos ? std::string_view::npos : question - path_start);
    if (raw_path.empty())
        path_ = "/";   // RFC 9110 4.2.3: an empty path is equivalent to "/"
    else if (!detail::percent_decode_append(raw_path, path_, false)) {
        ec = error::bad_target;
        return;
    }
    if (question == std::string_view::npos)
        return;

    query_pos_ = question + 1;
    std::string_view rest = t.substr(query_pos_);
    std::string name;
    std::string value;
    for (;;) {
        std::size_t const amp = rest.find('&');
        std::string_view const piece = rest.substr(0, amp);
        if (!piece.empty()) {
            if (params_.size() >= max_params) {
                ec = error::target_too_long;
                return;
            }
            std::size_t const eq = piece.find('=');
            name.clear();
            value.clear();
            if (!detail::percent_decode_append(piece.substr(0, eq), name, true) ||
                (eq != std::string_view::npos &&
                 !detail::percent_decode_append(piece.substr(eq + 1), value, true))) {
                ec = error::bad_target;
                return;
            }
            params_.list_.push_back(name, value);
        }
        if (amp == std::string_view::npos)
            break;
        rest.remove_prefix(amp + 1);
    }
}

SSE_DECL void request_head::finish_fields(error_code& ec)
{
    // RFC 9112 3.2: a server rejects an HTTP/1.1 request without Host, and any
    // request with more than one.
    std::size_t const hosts = fields_.count("Host");
    if (hosts > 1 || (version_ == 11 && hosts == 0)) {
        ec = error::bad_header;
        return;
    }

    std::optional<std::uint64_t> length;
    if (!detail::read_content_length(fields_, length)) {
        ec = error::bad_content_length;
        return;
    }
    switch (detail::classify_transfer_coding(fields_)) {
    case detail::transfer_coding::absent:
        if (length) {
            framing_ = framing::length;
            content_length_ = *length;
        }
        break;
    case detail::transfer_coding::chunked:
        // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty
        // framing. 6.3: with Content-Length as well, a server may reject; two
        // framings in one request is how requests get smuggled, so it does.
        if (version_ == 10) {
            ec = error::bad_header;
            return;
        }
        if (length) {
            ec = error::bad_content_length;
            return;
        }
        framing_ = framing::chunked;
        break;
    case detail::transfer_coding::other:
        // RFC 9112 6.3: a request whose final coding is not chunked has no
        // knowable length: 400.
        ec = error::bad_header;
        return;
    }

    bool const close = fields_.has_token("Connection", "close");
    keep_alive_ = version_ == 11 ? !close : (!close && fields_.has_token("Connection", "keep-alive"));
}

} // namespace http
SSE_NAMESPACE_END

#endif
