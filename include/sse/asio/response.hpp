// sse/asio/response.hpp - a small complete HTTP response, written and then closed or kept.
#ifndef SSE_ASIO_RESPONSE_HPP
#define SSE_ASIO_RESPONSE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/asio/detail/stream_support.hpp>

#include <sse/asio/net.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/// A plain response: for a refused request, a redirect, a health check.
struct response
{
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// Further header fields (name, value), written as given.
    std::vector<std::pair<std::string, std::string>> headers;
};

/// The reason phrase of `status` (RFC 9110 15), or "Unknown" for a code it does not list.
inline std::string_view reason_phrase(int status) noexcept;

/** The bytes of `r`: status line, `Content-Type`, `Content-Length`,
    `Connection: close`, the extra headers, an empty line, the body. A 1xx, 204
    or 304 gets neither `Content-Length` nor a body (RFC 9110). A field whose
    name is not an HTTP token or whose value holds CR, LF or NUL is left out,
    since it would forge other fields or the body.
*/
inline std::string format_response(response const& r);

/** As above, with `Connection: keep-alive` instead of `Connection: close` when
    `keep_alive` is true: the connection then carries another request (RFC 9112
    9.3; the field is what an HTTP/1.0 client needs to keep it, and harmless to
    HTTP/1.1).
*/
inline std::string format_response(response const& r, bool keep_alive);

/** Writes `r` on `socket` and closes it: fire and forget.

    Takes the connection. After the response it shuts down the sending side and
    reads what the client still sends until it closes, so that unread request
    bytes do not make the kernel reset the connection before the client has read
    the answer (a "lingering close"). Everything ends within `deadline` even if
    the client reads nothing: then the connection is closed as is.

    @tparam Socket As for `sse::stream`: an AsyncWriteStream and AsyncReadStream
    with `shutdown` and `close` on itself or its `lowest_layer()`.
*/
template<class Socket>
void respond_and_close(Socket socket, response const& r,
                       std::chrono::milliseconds deadline = std::chrono::seconds(2));

/** Writes `r` with `Connection: keep-alive` on `socket` and hands the connection
    back, for a persistent connection (RFC 9112 9.3): fire and forget, like
    `respond_and_close`.

    Takes the connection. Once the whole response is written, calls
    `next(error_code(), Socket)` with the open connection, for instance to read the
    next request with `basic_listener::serve`. If the write fails, or does not
    finish within `deadline` (a client that reads nothing), the connection is closed
    and `next(ec, Socket)` is called with the error (`error::write_timeout` for
    the deadline) and the closed socket. `next` is called exactly once, on a
    strand over the socket's executor, never inside this call.

    Answer this way only when the request allows it (`http::request_head::keep_alive()`),
    its body was read whole, and the answer is not an error that leaves the
    connection's state unknown (400, 408, 413, 431...): otherwise use `respond_and_close`.

    @tparam Socket As for `respond_and_close`.
    @tparam Handler `void(error_code, Socket)`.
*/
template<class Socket, class Handler>
void respond_and_keep(Socket socket, response const& r, Handler&& next,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10));

SSE_NAMESPACE_END

#include <sse/asio/impl/response.hpp>
#endif
