// sse/http/request_parser.hpp - bounded, incremental parser of HTTP/1.x request heads.
#ifndef SSE_HTTP_REQUEST_PARSER_HPP
#define SSE_HTTP_REQUEST_PARSER_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/fields.hpp>
#include <sse/http/request_head.hpp>
#include <cstddef>
#include <string_view>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace http {

/** Bounds on what a client may send before its request is refused.

    Each limit fails the parse as soon as it is crossed, in the middle of a line
    if need be, so a peer that never ends a line cannot grow memory past it.
*/
struct request_limits
{
    /// Octets of the whole head: request line, fields, line ends, final empty line
    /// and any empty lines before the request line. Over it: `error::head_too_large` (431).
    std::size_t max_head = 16 * 1024;

    /// Octets of the request target as sent. Over it: `error::target_too_long` (414).
    std::size_t max_target = 8 * 1024;

    /// Header field lines. One more: `error::too_many_headers` (431).
    std::size_t max_fields = 100;

    /// Non-empty `&`-separated pieces of the query. One more: `error::target_too_long` (414).
    std::size_t max_params = 100;
};

/** Parses a request head from bytes arriving in pieces of any size.

    Accepts `method SP target SP HTTP/1.x` and field lines ended by CRLF or a
    bare LF, then stops just after the empty line. The body, or a pipelined
    request, stays with the caller. See docs/http.md for what is refused and why.

    @code
    sse::http::request_parser parser;
    std::size_t used = parser.feed(bytes, ec);   // bytes.substr(used) is not part of the head
    if (parser.done()) route(parser.get());
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class request_parser
{
public:
    explicit request_parser(request_limits limits = {}) noexcept : limits_(limits) {}

    /** Consumes bytes of the head and returns how many were used.

        Returns fewer than `bytes.size()` only once the head is complete or on
        failure. After a failure the parser keeps failing with the same error
        until `reset()`. After `done()` it consumes nothing.
        Throws `std::system_error` on failure; the other overload reports through `ec`.
    */
    SSE_DECL std::size_t feed(std::string_view bytes, error_code& ec);
    SSE_DECL std::size_t feed(std::string_view bytes);

    /// True once the empty line ending the head has been consumed and the head is valid.
    bool done() const noexcept { return state_ == state::done; }

    /// The parsed head. Requires `done()`.
    request_head const& get() const noexcept
    {
        SSE_ASSERT(done());
        return head_;
    }

    /// Moves the parsed head out and resets the parser for the next request. Requires `done()`.
    SSE_DECL request_head release();

    /// Forgets everything fed so far; the limits are kept.
    SSE_DECL void reset() noexcept;

    request_limits const& limits() const noexcept { return limits_; }

private:
    enum class state : unsigned char { start, start_lf, method, target, version, line_lf, fields, done, failed };

    SSE_DECL std::size_t parse(std::string_view in, error_code& ec);
    SSE_DECL void end_request_line(error_code& ec);

    request_limits limits_;
    request_head head_;
    detail::field_parser fields_;
    std::size_t size_ = 0;
    error_code failure_;
    state state_ = state::start;
    unsigned char version_size_ = 0;
    char version_[8] = {};
};

/** The status a server answers a request that failed with `ec`.

    414 for `target_too_long`, 431 for `head_too_large` and `too_many_headers`,
    505 for `bad_version` (a well-formed version other than HTTP/1.x), 413 for
    `body_too_large`, 408 for `head_timeout` and `body_timeout`, and 400 for
    everything else.
*/
SSE_DECL int status_for(error_code const& ec) noexcept;

} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/request_parser.hpp>
#endif
#endif
