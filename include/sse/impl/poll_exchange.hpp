// sse/impl/poll_exchange.hpp - bodies of the polling fallback's HTTP exchange.
#ifndef SSE_IMPL_POLL_EXCHANGE_HPP
#define SSE_IMPL_POLL_EXCHANGE_HPP

#include <sse/detail/poll_exchange.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN
namespace detail {

SSE_DECL poll_exchange::poll_exchange(http::response_limits head_limits, http::chunked_limits chunked_limits,
                                      std::size_t max_body)
    : head_parser_(head_limits), chunked_(chunked_limits), max_body_(max_body)
{
}

SSE_DECL std::string poll_exchange::request(url const& endpoint, std::string_view since_param,
                                            std::string_view since, std::vector<header_field> const& headers)
{
    std::string target = endpoint.target;
    if (!since.empty()) {
        // Unreserved characters (RFC 3986 2.3) as they are, every other octet escaped.
        static constexpr char hex[] = "0123456789ABCDEF";
        target += target.find('?') == std::string::npos ? '?' : '&';
        target.append(since_param).append("=");
        for (char c : since) {
            unsigned char const u = static_cast<unsigned char>(c);
            bool const unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                                    u == '-' || u == '.' || u == '_' || u == '~';
            if (unreserved) {
                target += c;
            } else {
                target += '%';
                target += hex[u >> 4];
                target += hex[u & 15];
            }
        }
    }
    std::string out;
    out.reserve(256);
    out.append("GET ").append(target).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(endpoint.authority()).append("\r\n");
    out.append("Accept: application/json\r\nCache-Control: no-cache\r\n");
    out.append("User-Agent: ssepp/" SSE_VERSION_STRING "\r\n");
    for (auto const& [name, value] : headers)
        out.append(name).append(": ").append(value).append("\r\n");
    out.append("Connection: close\r\n\r\n");
    return out;
}

SSE_DECL void poll_exchange::reset()
{
    head_parser_.reset();
    chunked_.reset();
    framing_ = http::framing::until_close;
    left_ = 0;
    status_ = 0;
    head_done_ = false;
    done_ = false;
    body_.clear();
}

SSE_DECL bool poll_exchange::feed(std::string_view input, error_code& ec)
{
    bool const done = consume(input, ec);
    if (ec)
        body_.clear();   // nothing of a failed answer is used
    return done;
}

SSE_DECL bool poll_exchange::consume(std::string_view input, error_code& ec)
{
    while (!head_done_) {
        if (input.empty())
            return false;
        std::size_t const used = head_parser_.feed(input, ec);
        input.remove_prefix(used);
        if (ec)
            return false;
        if (!head_parser_.done())
            return false;
        int const status = head_parser_.get().status();
        if (status >= 100 && status < 200) {   // 100 Continue, 103 Early Hints
            head_parser_.reset();
            continue;
        }
        http::response_head head = head_parser_.release();
        status_ = status;
        head_done_ = true;
        framing_ = status == 204 || status == 304 ? http::framing::none : head.body_framing();
        left_ = head.content_length();
        if (framing_ == http::framing::length && left_ > max_body_) {
            ec = error::bad_poll_response;
            return false;
        }
        if (framing_ == http::framing::none || (framing_ == http::framing::length && left_ == 0))
            return done_ = true;
    }
    if (done_)
        return true;
    switch (framing_) {
    case http::framing::length: {
        std::size_t const take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, input.size()));
        body_.append(input.data(), take);
        left_ -= take;
        return done_ = left_ == 0;
    }
    case http::framing::chunked:
        while (!input.empty() && !chunked_.done()) {
            std::string_view const data = chunked_.next(input, ec);
            if (ec)
                return false;
            if (body_.size() + data.size() > max_body_) {
                ec = error::bad_poll_response;
                return false;
            }
            body_.append(data);
        }
        return done_ = chunked_.done();
    case http::framing::until_close:
    default:
        if (body_.size() + input.size() > max_body_) {
            ec = error::bad_poll_response;
            return false;
        }
        body_.append(input);
        return false;
    }
}

SSE_DECL bool poll_exchange::closed()
{
    if (head_done_ && !done_ && framing_ == http::framing::until_close)
        done_ = true;
    return done_;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
