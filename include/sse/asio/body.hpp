// sse/asio/body.hpp - reads a request body, bounded in size and time.
#ifndef SSE_ASIO_BODY_HPP
#define SSE_ASIO_BODY_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/detail/body_collector.hpp>
#include <sse/http/fields.hpp>
#include <sse/http/request_head.hpp>
#include <sse/asio/detail/stream_support.hpp>

#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <asio/strand.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

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
    sse::async_read_body(*socket, head, rest, {}, [socket, head](sse::error_code ec, std::string body) {
        if (ec)
            return sse::respond_and_close(std::move(*socket), {sse::http::status_for(ec), "text/plain", ec.message()});
        publish(body);
    });
    @endcode

    The body is framed as the head says: `Content-Length`, `Transfer-Encoding:
    chunked` (decoded), or none (the handler gets an empty body at once). A
    declared length over the limit fails before anything is read. `already_read`
    holds the bytes that arrived with the head. Bytes after the body (a
    pipelined request) are not read from the socket; those that arrived with
    the body are handed to a handler that takes them (see below), else dropped.

    A request with `Expect: 100-continue` (HTTP/1.1) is first answered
    `100 Continue` (see `body_limits::send_continue`), unless its declared length
    is already too large: then it gets `error::body_too_large` without a byte read.

    `handler(error_code, std::string body)` is called exactly once, through a
    strand over the socket's executor. A handler that takes a third argument,
    `handler(error_code, std::string body, std::string_view after)`, also gets
    the bytes that arrived after the body (valid during the call), to read the
    next request of a persistent connection with them (`basic_listener::serve`). Errors: `error::body_too_large`,
    `error::body_timeout`, the chunked decoder's errors, or the socket's. Map
    them to a status with `http::status_for`. `socket` must outlive the
    operation; `head` and `already_read` are used only during the call.
*/
template<class Socket, class Handler>
void async_read_body(Socket& socket, http::request_head const& head, std::string_view already_read,
                     body_limits limits, Handler&& handler);

namespace detail {

template<class Socket, class Handler>
class body_reader : public std::enable_shared_from_this<body_reader<Socket, Handler>>
{
public:
    body_reader(Socket& socket, http::request_head const& head, body_limits limits, Handler handler)
        : socket_(socket), strand_(asio::make_strand(socket.get_executor())), timer_(strand_),
          handler_(std::move(handler)), limits_(limits), framing_(head.body_framing()),
          declared_length_(head.content_length()), body_({}, limits.max_body, error::body_too_large)
    {
        if (limits_.send_continue && head.version() >= 11) {
            auto const expect = head.fields().find("Expect");
            expects_continue_ = expect && http::iequals(*expect, "100-continue");
        }
    }

    void start(std::string_view already_read)
    {
        error_code ec;
        if (body_.start(framing_, declared_length_, ec) || ec)
            return finish_later(ec);
        if (limits_.timeout.count() > 0) {
            timer_.expires_after(limits_.timeout);
            timer_.async_wait([self = this->shared_from_this()](error_code tec) {
                if (!tec && !self->done_) {
                    self->timed_out_ = true;
                    error_code ignored;
                    lowest_layer_of(self->socket_).cancel(ignored);
                }
            });
        }
        if (body_.feed(already_read, ec) || ec) {
            if (!ec)
                after_.assign(already_read.substr(body_.used()));
            return finish_later(ec);
        }
        if (expects_continue_ && already_read.empty())
            return send_continue();
        read();
    }

private:
    void send_continue()
    {
        static constexpr char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
        asio::async_write(socket_, asio::buffer(interim, sizeof interim - 1),
            asio::bind_executor(strand_, [self = this->shared_from_this()](error_code ec, std::size_t) {
                if (self->done_)
                    return;
                if (self->timed_out_)
                    return self->finish(error::body_timeout);
                if (ec)
                    return self->finish(ec);
                self->read();
            }));
    }

    void read()
    {
        socket_.async_read_some(asio::buffer(buffer_),
            asio::bind_executor(strand_, [self = this->shared_from_this()](error_code ec, std::size_t n) {
                self->on_read(ec, n);
            }));
    }

    void on_read(error_code ec, std::size_t n)
    {
        if (done_)
            return;
        if (timed_out_)
            return finish(error::body_timeout);
        error_code parse_ec;
        bool const complete = body_.feed(std::string_view(buffer_.data(), n), parse_ec);
        if (complete && !parse_ec)
            after_.assign(buffer_.data() + body_.used(), n - body_.used());
        if (complete || parse_ec)
            return finish(parse_ec);
        if (ec)
            return finish(ec);
        read();
    }

    void finish_later(error_code ec)
    {
        asio::post(strand_, [self = this->shared_from_this(), ec] { self->finish(ec); });
    }

    void finish(error_code ec)
    {
        if (done_)
            return;
        done_ = true;
        timer_.cancel();
        if (ec) {
            body_.body().clear();
            after_.clear();
        }
        if constexpr (std::is_invocable_v<Handler&&, error_code, std::string, std::string_view>)
            std::move(handler_)(ec, std::move(body_.body()), std::string_view(after_));
        else
            std::move(handler_)(ec, std::move(body_.body()));
    }

    Socket& socket_;
    asio::strand<typename Socket::executor_type> strand_;
    asio::steady_timer timer_;
    Handler handler_;
    body_limits limits_;
    http::framing framing_;
    std::uint64_t declared_length_;
    body_collector body_;
    std::string after_;   // bytes that followed the body
    std::array<char, 8192> buffer_{};
    bool expects_continue_ = false;
    bool done_ = false;
    bool timed_out_ = false;
};

} // namespace detail

template<class Socket, class Handler>
void async_read_body(Socket& socket, http::request_head const& head, std::string_view already_read,
                     body_limits limits, Handler&& handler)
{
    using reader = detail::body_reader<Socket, std::decay_t<Handler>>;
    std::make_shared<reader>(socket, head, limits, std::forward<Handler>(handler))->start(already_read);
}

SSE_NAMESPACE_END

#endif
