// sse/detail/body_collector.hpp - a whole message body, by its framing, within a size limit.
#ifndef SSE_DETAIL_BODY_COLLECTOR_HPP
#define SSE_DETAIL_BODY_COLLECTOR_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/fields.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace detail {

/** Collects a body framed by Content-Length, chunked coding or the end of the
    connection, up to `max_body` octets (after chunked decoding). Shared by the
    server's request bodies (sse::async_read_body) and the event source's poll
    answers, which differ only in the error that says "too large".
*/
class body_collector
{
public:
    SSE_DECL body_collector(http::chunked_limits chunked_limits, std::size_t max_body, error_code too_large);

    /** Starts a body framed as `framing` (`length` octets for framing::length).
        True if it is already complete (no body, or an empty one); `ec` is the
        "too large" error if the declared length is over the limit.
    */
    SSE_DECL bool start(http::framing framing, std::uint64_t length, error_code& ec);

    /// Feeds bytes. True once the body is complete; on an error the body is dropped.
    SSE_DECL bool feed(std::string_view input, error_code& ec);

    /// Bytes of the last `feed` that belonged to the body; those after them follow it (a pipelined request).
    std::size_t used() const noexcept { return used_; }

    /// The connection closed: true if that completes the body (framing::until_close).
    SSE_DECL bool closed();

    std::string& body() noexcept { return body_; }

private:
    SSE_DECL bool consume(std::string_view input, error_code& ec);

    http::chunked_decoder chunked_;
    std::size_t max_body_;
    error_code too_large_;
    http::framing framing_ = http::framing::none;
    std::uint64_t left_ = 0;
    bool done_ = false;
    std::size_t used_ = 0;
    std::string body_;
};

} // namespace detail
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/body_collector.hpp>
#endif
#endif
