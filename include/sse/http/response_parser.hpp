// sse/http/response_parser.hpp - bounded, incremental parser of HTTP/1.x response heads.
#ifndef SSE_HTTP_RESPONSE_PARSER_HPP
#define SSE_HTTP_RESPONSE_PARSER_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/fields.hpp>
#include <sse/http/response_head.hpp>
#include <cstddef>
#include <string_view>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace http {

/** Bounds on what a server may send before its response is refused.

    Each limit fails the parse as soon as it is crossed, in the middle of a line
    if need be. Servers send larger heads than browsers (policies, cookies), so
    the size default is higher than the request one.
*/
struct response_limits
{
    /// Octets of the whole head: status line, fields, line ends and the final
    /// empty line. Over it: `error::head_too_large`.
    std::size_t max_head = 64 * 1024;

    /// Header field lines. One more: `error::too_many_headers`.
    std::size_t max_fields = 128;
};

/** Parses a response head from bytes arriving in pieces of any size.

    Accepts `HTTP/1.x SP 3DIGIT SP reason` (the last space may be missing) and
    field lines ended by CRLF or a bare LF, then stops just after the empty line:
    body bytes stay with the caller. A 1xx response is a complete head of its
    own; call `reset()` and feed the rest to read the final one.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class response_parser
{
public:
    explicit response_parser(response_limits limits = {}) noexcept : limits_(limits) {}

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
    response_head const& get() const noexcept
    {
        SSE_ASSERT(done());
        return head_;
    }

    /// Moves the parsed head out and resets the parser. Requires `done()`.
    SSE_DECL response_head release();

    /// Forgets everything fed so far; the limits are kept.
    SSE_DECL void reset() noexcept;

    response_limits const& limits() const noexcept { return limits_; }

private:
    enum class state : unsigned char { version, status, after_status, reason, line_lf, fields, done, failed };

    SSE_DECL std::size_t parse(std::string_view in, error_code& ec);

    response_limits limits_;
    response_head head_;
    detail::field_parser fields_;
    std::size_t size_ = 0;
    error_code failure_;
    state state_ = state::version;
    unsigned char version_size_ = 0;
    unsigned char status_digits_ = 0;
    char version_[8] = {};
};

} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/response_parser.hpp>
#endif
#endif
