// sse/client/impl/poll_exchange.hpp - bodies of the polling fallback's HTTP exchange.
#ifndef SSE_CLIENT_IMPL_POLL_EXCHANGE_HPP
#define SSE_CLIENT_IMPL_POLL_EXCHANGE_HPP

#include <sse/client/poll_exchange.hpp>


SSE_NAMESPACE_BEGIN
namespace detail {

SSE_DECL poll_exchange::poll_exchange(http::response_limits head_limits, http::chunked_limits chunked_limits,
                                      std::size_t max_body)
    : head_parser_(head_limits), body_(chunked_limits, max_body, error::bad_poll_response)
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

SSE_DECL bool poll_exchange::feed(std::string_view input, error_code& ec)
{
    while (!head_done_) {
        if (input.empty())
            return false;
        std::size_t const used = head_parser_.feed(input, ec);
        input.remove_prefix(used);
        if (ec || !head_parser_.done())
            return false;
        int const status = head_parser_.get().status();
        if (status >= 100 && status < 200) {   // 100 Continue, 103 Early Hints
            head_parser_.reset();
            continue;
        }
        http::response_head head = head_parser_.release();
        status_ = status;
        head_done_ = true;
        auto const framing = status == 204 || status == 304 ? http::framing::none : head.body_framing();
        if (body_.start(framing, head.content_length(), ec) || ec)
            return !ec;
    }
    return body_.feed(input, ec);
}

SSE_DECL bool poll_exchange::closed()
{
    return head_done_ && body_.closed();
}

} // namespace detail
SSE_NAMESPACE_END

#endif
