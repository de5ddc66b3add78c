// sse/impl/body_collector.hpp - bodies of detail::body_collector.
#ifndef SSE_IMPL_BODY_COLLECTOR_HPP
#define SSE_IMPL_BODY_COLLECTOR_HPP

#include <sse/detail/body_collector.hpp>

#include <algorithm>

SSE_NAMESPACE_BEGIN
namespace detail {

SSE_DECL body_collector::body_collector(http::chunked_limits chunked_limits, std::size_t max_body,
                                        error_code too_large)
    : chunked_(chunked_limits), max_body_(max_body), too_large_(too_large)
{
}

SSE_DECL bool body_collector::start(http::framing framing, std::uint64_t length, error_code& ec)
{
    chunked_.reset();
    framing_ = framing;
    left_ = length;
    body_.clear();
    done_ = framing == http::framing::none || (framing == http::framing::length && length == 0);
    if (framing == http::framing::length && length > max_body_)
        ec = too_large_;
    return done_;
}

SSE_DECL bool body_collector::feed(std::string_view input, error_code& ec)
{
    used_ = 0;
    if (done_)
        return true;
    done_ = consume(input, ec);
    if (ec)
        body_.clear();   // nothing of a failed body is used
    return done_;
}

SSE_DECL bool body_collector::consume(std::string_view input, error_code& ec)
{
    switch (framing_) {
    case http::framing::length: {
        std::size_t const take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, input.size()));
        body_.append(input.data(), take);
        left_ -= take;
        used_ = take;
        return left_ == 0;
    }
    case http::framing::chunked: {
        std::size_t const given = input.size();
        while (!input.empty() && !chunked_.done()) {
            std::string_view const data = chunked_.next(input, ec);
            if (ec)
                return false;
            if (body_.size() + data.size() > max_body_) {
                ec = too_large_;
                return false;
            }
            body_.append(data);
        }
        used_ = given - input.size();
        return chunked_.done();
    }
    case http::framing::until_close:
        if (body_.size() + input.size() > max_body_) {
            ec = too_large_;
            return false;
        }
        body_.append(input);
        used_ = input.size();
        return false;
    case http::framing::none:
    default:
        return true;
    }
}

SSE_DECL bool body_collector::closed()
{
    if (framing_ == http::framing::until_close)
        done_ = true;
    return done_;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
