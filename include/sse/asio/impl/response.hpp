// sse/asio/impl/response.hpp - bodies of the plain-response helpers.
#ifndef SSE_ASIO_IMPL_RESPONSE_HPP
#define SSE_ASIO_IMPL_RESPONSE_HPP

#include <sse/asio/response.hpp>

#include <sse/asio/net.hpp>

#include <type_traits>

SSE_NAMESPACE_BEGIN

inline std::string_view reason_phrase(int status) noexcept
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

inline std::string format_response(response const& r)
{
    return format_response(r, false);
}

inline std::string format_response(response const& r, bool keep_alive)
{
    std::string out;
    out.reserve(128 + r.body.size());
    out += "HTTP/1.1 ";
    out += std::to_string(r.status);
    out += ' ';
    out += reason_phrase(r.status);
    out += "\r\n";
    if (!r.content_type.empty())
        detail::append_safe_field(out, "Content-Type", r.content_type);
    // RFC 9110 8.6 and 6.4.1: 1xx and 204 carry no Content-Length, and neither they
    // nor 304 carry a body.
    bool const bodiless = r.status < 200 || r.status == 204 || r.status == 304;
    if (!bodiless)
        out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
    out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
    for (auto const& [name, value] : r.headers)
        detail::append_safe_field(out, name, value);
    out += "\r\n";
    if (!bodiless)
        out += r.body;
    return out;
}

namespace detail {

// Owns the connection until the response is out and the client has gone.
template<class Socket>
class responder : public std::enable_shared_from_this<responder<Socket>>
{
public:
    responder(Socket socket, std::string bytes)
        : socket_(std::move(socket)),
          strand_(strand_for<typename Socket::executor_type>::make(socket_.get_executor())),
          timer_(socket_.get_executor()),
          bytes_(std::move(bytes))
    {
    }

    void run(std::chrono::milliseconds deadline)
    {
        net::dispatch(strand_, [self = this->shared_from_this(), deadline] { self->begin(deadline); });
    }

private:
    void begin(std::chrono::milliseconds deadline)
    {
        auto self = this->shared_from_this();
        timer_.expires_after(deadline);
        // The timer may close the socket while I/O is pending: the strand keeps
        // them from running at the same time on a multi-threaded io_context.
        timer_.async_wait(net::bind_executor(strand_, [self](error_code ec) {
            if (!ec)
                self->close();
        }));
        net::async_write(socket_, net::buffer(bytes_), net::bind_executor(strand_, [self](error_code ec, std::size_t) {
            if (ec)
                return self->close();
            sse::detail::net_error_code ignored;
            detail::lowest_layer_of(self->socket_).shutdown(net::socket_base::shutdown_send, ignored);
            self->drain();
        }));
    }

    void drain()
    {
        socket_.async_read_some(net::buffer(scratch_),
                                net::bind_executor(strand_, [self = this->shared_from_this()](error_code ec, std::size_t) {
                                    if (ec)
                                        return self->close();
                                    self->drain();
                                }));
    }

    void close()
    {
        if (closed_)
            return;
        closed_ = true;
        sse::detail::net_error_code ignored;
        timer_.cancel();
        detail::lowest_layer_of(socket_).close(ignored);
    }

    Socket socket_;
    typename strand_for<typename Socket::executor_type>::type strand_;
    net::steady_timer timer_;
    std::string bytes_;
    char scratch_[512];
    bool closed_ = false;
};

// Owns the connection until the response is out, then hands it to the next step.
template<class Socket, class Handler>
class keeper : public std::enable_shared_from_this<keeper<Socket, Handler>>
{
public:
    keeper(Socket socket, std::string bytes, Handler next)
        : socket_(std::move(socket)),
          strand_(strand_for<typename Socket::executor_type>::make(socket_.get_executor())),
          timer_(socket_.get_executor()),
          bytes_(std::move(bytes)),
          next_(std::move(next))
    {
    }

    void run(std::chrono::milliseconds deadline)
    {
        // Posted, not dispatched: `next` never runs inside respond_and_keep.
        net::post(strand_, [self = this->shared_from_this(), deadline] { self->begin(deadline); });
    }

private:
    void begin(std::chrono::milliseconds deadline)
    {
        auto self = this->shared_from_this();
        timer_.expires_after(deadline);
        timer_.async_wait(net::bind_executor(strand_, [self](error_code ec) {
            if (!ec && !self->written_) {
                // The pending write completes with operation_aborted and finishes.
                self->timed_out_ = true;
                sse::detail::net_error_code ignored;
                detail::lowest_layer_of(self->socket_).close(ignored);
            }
        }));
        net::async_write(socket_, net::buffer(bytes_), net::bind_executor(strand_, [self](error_code ec, std::size_t) {
            self->written_ = true;
            self->timer_.cancel();
            if (self->timed_out_)
                ec = error::write_timeout;
            if (ec) {
                sse::detail::net_error_code ignored;
                detail::lowest_layer_of(self->socket_).close(ignored);
            }
            std::move(self->next_)(ec, std::move(self->socket_));
        }));
    }

    Socket socket_;
    typename strand_for<typename Socket::executor_type>::type strand_;
    net::steady_timer timer_;
    std::string bytes_;
    Handler next_;
    bool written_ = false;   // on strand_
    bool timed_out_ = false;
};

} // namespace detail

template<class Socket, class Handler>
void respond_and_keep(Socket socket, response const& r, Handler&& next, std::chrono::milliseconds deadline)
{
    using keeper = detail::keeper<Socket, std::decay_t<Handler>>;
    std::make_shared<keeper>(std::move(socket), format_response(r, true), std::forward<Handler>(next))->run(deadline);
}

template<class Socket>
void respond_and_close(Socket socket, response const& r, std::chrono::milliseconds deadline)
{
    std::make_shared<detail::responder<Socket>>(std::move(socket), format_response(r))->run(deadline);
}

SSE_NAMESPACE_END

#endif
