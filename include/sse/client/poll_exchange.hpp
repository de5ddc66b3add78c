// sse/client/poll_exchange.hpp - one request to a polling endpoint and its answer, without I/O.
#ifndef SSE_CLIENT_POLL_EXCHANGE_HPP
#define SSE_CLIENT_POLL_EXCHANGE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/detail/body_collector.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/client/source_options.hpp>
#include <sse/client/url.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

/** The event source's polling fallback speaks plain HTTP/1.1 GETs, one per
    connection: this builds the request and reads the answer's head and body
    (Content-Length, chunked, or until the connection closes), bounded.
*/
class poll_exchange
{
public:
    SSE_DECL poll_exchange(http::response_limits head_limits, http::chunked_limits chunked_limits,
                           std::size_t max_body);

    /** The request for `endpoint`, with `since_param=since` added to its query
        (percent-encoded; left out when `since` is empty).
    */
    SSE_DECL static std::string request(url const& endpoint, std::string_view since_param, std::string_view since,
                                        std::vector<header_field> const& headers);

    /** Feeds bytes of the answer. True once it is complete (then see status()
        and body()); `ec` on a malformed or oversized answer.
    */
    SSE_DECL bool feed(std::string_view input, error_code& ec);

    /// The connection closed: true if that completes the answer (a body delimited by the close).
    SSE_DECL bool closed();

    /// The final status (interim 1xx answers are skipped), 0 before the head.
    int status() const noexcept { return status_; }

    std::string& body() noexcept { return body_.body(); }

private:
    http::response_parser head_parser_;
    body_collector body_;
    int status_ = 0;
    bool head_done_ = false;
};

} // namespace detail
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/client/impl/poll_exchange.hpp>
#endif
#endif
