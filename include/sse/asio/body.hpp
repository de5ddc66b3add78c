// sse/asio/body.hpp - reads a request body, bounded in size and time.
#ifndef SSE_ASIO_BODY_HPP
#define SSE_ASIO_BODY_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/request_head.hpp>

#include <chrono>
#include <cstddef>
#include <string>

SSE_NAMESPACE_BEGIN

/// Bounds on a request body.
struct body_limits
{
    /// Octets of the body (after chunked decoding). Over it: `error::body_too_large` (413).
    std::size_t max_body = 1024 * 1024;

    /// Time the whole body may take to arrive. Over it: `error::body_timeout` (408). Zero: no limit.
    std::chrono::milliseconds timeout = std::chrono::seconds(10);

    /** Answer `Expect: 100-continue` with `HTTP/1.1 100 Continue` before reading,
        as clients such as curl wait for it (a second or so) before they send a
        large body. Not sent when the body is refused at once or already arriving.
    */
    bool send_continue = true;
};

/** Reads the body of a request whose head was already read, such as a POST
    handed over by `sse::listener`.

    @code
    auto socket = std::make_shared<asio::ip::tcp::socket>(std::move(s));
    auto buffer = std::make_shared<std::string>(rest);   // what came after the head
    sse::async_read_body(*socket, head, *buffer, {}, [socket, buffer](sse::error_code ec, std::string body) {
        if (ec)
            return sse::respond_and_close(std::move(*socket), {sse::http::status_for(ec), "text/plain", ec.message()});
        publish(body);   // *buffer now holds what followed the body: the next request, if any
    });
    // or, in a coroutine:
    std::string body = co_await sse::async_read_body(socket, head, buffer, {}, asio::use_awaitable);
    @endcode

    The body is framed as the head says: `Content-Length`, `Transfer-Encoding:
    chunked` (decoded), or none (an empty body). A declared length over the
    limit fails before anything is read. `head` is used only during the call.

    `buffer` works as the dynamic buffer of an Asio read: on entry it holds the
    bytes that arrived after the head (the listener's `rest`); the operation
    reads from the socket into it; on success it holds the bytes read after the
    body (the start of a pipelined request, for `basic_listener::serve`); on an
    error it is empty. Bytes after the body that had not arrived are left in the
    socket. Like any buffer given to an Asio operation, it must stay valid and
    untouched until completion.

    A request with `Expect: 100-continue` (HTTP/1.1) is first answered
    `100 Continue` (see `body_limits::send_continue`), unless its declared length
    is already too large, or its body already arriving: then nothing is written.

    Completes once the body is read whole, or on the first error. Completion
    signature: `void(error_code, std::string body)`, the body empty on an error.
    Errors: `error::body_too_large`, `error::body_timeout`, the chunked
    decoder's errors, the socket's, or `asio::error::operation_aborted` after a
    cancellation. Map them to a status with `http::status_for`.

    Any completion token works (a callback, `use_future`, `deferred`,
    `use_awaitable`). The handler runs on its associated executor (else the
    socket's), never inside this call; the operation's intermediate steps run
    on a strand over the socket's executor (the socket's own if it is a strand).

    Cancellation: terminal only (through the handler's cancellation slot). The
    pending read or write stops and the operation completes with
    `asio::error::operation_aborted`; the connection's state is then unknown,
    so close it. Partial and total cancellation are ignored.

    Allocation: the intermediate steps are allocated through the handler's
    associated allocator, as for any composed operation. With a timeout, the
    deadline (a timer and two flags, allocated once per operation) uses the
    default allocator: its cancelled wait may complete after the handler has
    run, and Asio requires what the handler's allocator gave to be returned
    before then.

    `socket` and `buffer` must outlive the operation.
*/
template<class Socket, class CompletionToken>
auto async_read_body(Socket& socket, http::request_head const& head, std::string& buffer, body_limits limits,
                     CompletionToken&& token);

SSE_NAMESPACE_END

#include <sse/asio/impl/body.hpp>
#endif
