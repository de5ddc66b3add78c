// sse/http/response_head.hpp - a parsed status line and its header fields.
#ifndef SSE_HTTP_RESPONSE_HEAD_HPP
#define SSE_HTTP_RESPONSE_HEAD_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/fields.hpp>
#include <cstdint>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace http {

/** A status line and header fields, with what a client needs to read the body.

    Produced by `response_parser`. All views point into the object and stay valid
    while it lives unmoved.

    @par Thread safety
    Distinct objects: safe. Shared objects: const member functions are safe.
*/
class response_head
{
public:
    /// The status code, 100 to 599.
    int status() const noexcept { return status_; }

    /// The reason phrase as sent, possibly empty. RFC 9112 4: clients ignore it.
    std::string_view reason() const noexcept { return reason_; }

    /// 10 for HTTP/1.0, 11 for HTTP/1.1 (and for HTTP/1.2 to 1.9, RFC 9112 2.3).
    int version() const noexcept { return version_; }

    /// The header fields in arrival order.
    http::fields const& fields() const noexcept { return fields_; }

    /** True if the media type of Content-Type is text/event-stream.

        Case is ignored, spaces and tabs around the media type are allowed, and so
        are parameters (`text/event-stream; charset=utf-8`). With several
        Content-Type fields, every one must say so; with none, the result is `false`.
    */
    SSE_DECL bool is_event_stream() const noexcept;

    /** How the body ends, by RFC 9112 6.3.

        `none` for 1xx, 204 and 304; else `chunked` if Transfer-Encoding ends with
        chunked; `until_close` for any other Transfer-Encoding (it overrides
        Content-Length); `length` if Content-Length is present; else `until_close`.
        An HTTP/1.0 response with Transfer-Encoding is read until close (RFC 9112 6.1).
        The response to a HEAD request has no body whatever this says.
    */
    framing body_framing() const noexcept { return framing_; }

    /// The body size when `body_framing()` is `length`, else 0.
    std::uint64_t content_length() const noexcept { return content_length_; }

    /** True if the connection may carry another request after this response.

        False when the body ends at close, when both Transfer-Encoding and
        Content-Length were sent (RFC 9112 6.3 calls that a likely attack), and
        as for requests: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only
        with `Connection: keep-alive`.
    */
    bool keep_alive() const noexcept { return keep_alive_; }

private:
    friend class response_parser;

    SSE_DECL void finish_fields(error_code& ec);

    int status_ = 0;
    int version_ = 11;
    std::string reason_;
    http::fields fields_;
    framing framing_ = framing::until_close;
    std::uint64_t content_length_ = 0;
    bool keep_alive_ = false;
};

} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/response_head.hpp>
#endif
#endif
