// sse/asio/listener.hpp - a small ready acceptor: accept, read the request head, hand it over.
#ifndef SSE_ASIO_LISTENER_HPP
#define SSE_ASIO_LISTENER_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/request_head.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/detail/accept_traits.hpp>

#include <sse/asio/net.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN

/// Settings of a listener.
struct listener_options
{
    /** Time a client has to send its whole request head, from accept to the
        empty line. Over it: 408 and close (against slowloris).
    */
    std::chrono::milliseconds head_timeout = std::chrono::seconds(10);

    /// Bounds on the head; over them: 400, 414 or 431 (see `http::status_for`).
    http::request_limits limits;

    /** Connections whose head is still being read. One more is answered 503 with
        `Retry-After` and closed. Zero: no limit.
    */
    std::size_t max_pending = 1024;

    /// The `Retry-After` of a 503.
    std::chrono::seconds retry_after = std::chrono::seconds(5);

    /// Time an error response and the lingering close may take before the connection is cut.
    std::chrono::milliseconds response_deadline = std::chrono::seconds(2);

    /// The listen backlog.
    int backlog = net::socket_base::max_listen_connections;

    /// SO_REUSEADDR on the listening socket.
    bool reuse_address = true;

    /** The executors accepted connections are spread over, in turn: each
        connection's socket, and so each stream made from it, runs on one of them.
        Give one `io_context` per thread to serve many connections on several
        threads without a strand per connection (see `stream_threading::one_thread`).
        Empty: every connection uses the listener's executor.

        Their contexts must outlive the listener's pending accept: after stop(),
        let the listener's executor run (join its threads) before destroying them.
        Asio makes the next connection's socket in its context when the accept
        starts, and touches it when the accept ends, even when stopped.
    */
    std::vector<net::any_io_executor> connection_executors;
};

/** Accepts TCP connections, reads each request head under a deadline, and hands
    the head and the connection to a handler, for users without an HTTP server.
    `sse::listener` serves plain TCP; `sse::tls_listener` (`<sse/asio/ssl.hpp>`)
    serves https, the TLS handshake counted in the head's deadline.

    @code
    auto l = std::make_shared<sse::listener>(io.get_executor(), endpoint,
        [](sse::http::request_head head, asio::ip::tcp::socket socket, std::string_view) {
            if (head.path() != "/events")
                return sse::respond_and_close(std::move(socket), {404, "text/plain", "not found\n"});
            auto s = std::make_shared<sse::stream<asio::ip::tcp::socket>>(std::move(socket));
            s->start(head);
        });
    l->start();
    @endcode

    A head that is malformed gets 400, a target too long 414, a head too large
    431, an unsupported version 505, a head that is too slow 408: each with a
    short body and `Connection: close`, then the connection closes. A client that
    goes away before its head is complete, or whose TLS handshake fails, is
    closed silently. Bytes that arrived with the head but follow it (the start of
    a body, a pipelined request) are handed to the handler; the rest stay unread
    on the connection. To keep a connection for another request, answer with
    `respond_and_keep` and hand the connection back to `serve`.

    @par Ownership
    Always owned by a `std::shared_ptr`. Pending operations keep it alive until
    `stop()`.

    @par Thread safety
    `start`, `stop`, `local_endpoint`, `pending`, `accepted` and `failed_handshakes`
    may be called from any thread. Each connection reads its head on a strand of
    its own, so heads (and TLS handshakes) are read in parallel when several
    threads run the executor; the handler runs on the listener's strand, one call
    at a time: it should hand the connection over and return, not block. The
    sockets it receives use the listener's executor, or the next of
    `listener_options::connection_executors`, never a strand: a stream made from
    one makes its own strand unless its executor runs on one thread.

    @tparam Socket `asio::ip::tcp::socket`, `sse::io_context_socket`, or `sse::tls_socket` with
    `<sse/asio/ssl.hpp>`.
*/
template<class Socket>
class basic_listener : public std::enable_shared_from_this<basic_listener<Socket>>
{
    using traits = detail::accept_traits<Socket>;

public:
    using socket_type = Socket;
    using executor_type = net::strand<net::any_io_executor>;

    /// What the connections need besides the socket: an `asio::ssl::context` for TLS.
    using context_type = typename traits::context_type;

    /** Called with each complete, valid request head, its connection, and the
        bytes read after the head (valid during the call; usually empty, or the
        start of a body such as a POST's).
    */
    using handler_type = std::function<void(http::request_head, socket_type, std::string_view)>;

    /// Opens, binds and listens on `endpoint` (port 0: any free port).
    /// Throws `std::system_error` on failure. Plain TCP only.
    basic_listener(net::any_io_executor ex, net::ip::tcp::endpoint const& endpoint, handler_type handler,
                   listener_options options = {})
        : basic_listener(ex, nullptr, endpoint, std::move(handler), std::move(options))
    {
        static_assert(!traits::handshake, "a TLS listener needs its net::ssl::context");
    }

    /// As above; reports failure through `ec` (the listener then does nothing).
    basic_listener(net::any_io_executor ex, net::ip::tcp::endpoint const& endpoint, handler_type handler,
                   listener_options options, error_code& ec)
        : basic_listener(ex, nullptr, endpoint, std::move(handler), std::move(options), ec)
    {
        static_assert(!traits::handshake, "a TLS listener needs its net::ssl::context");
    }

    /** With the context every connection is made with (for TLS: certificate and
        key). The context must outlive the listener and every connection it made.
    */
    basic_listener(net::any_io_executor ex, context_type& context, net::ip::tcp::endpoint const& endpoint,
                   handler_type handler, listener_options options = {})
        : basic_listener(ex, &context, endpoint, std::move(handler), std::move(options))
    {
    }

    /// As above; reports failure through `ec`.
    basic_listener(net::any_io_executor ex, context_type& context, net::ip::tcp::endpoint const& endpoint,
                   handler_type handler, listener_options options, error_code& ec)
        : basic_listener(ex, &context, endpoint, std::move(handler), std::move(options), ec)
    {
    }

    basic_listener(basic_listener const&) = delete;
    basic_listener& operator=(basic_listener const&) = delete;

    /// The bound address: the port chosen when asked for port 0.
    net::ip::tcp::endpoint local_endpoint() const noexcept { return endpoint_; }

    executor_type get_executor() const noexcept { return strand_; }

    /// Starts accepting.
    void start();

    /** Stops accepting and closes the connections whose head is still being
        read. Connections already handed over are the handler's. Handlers in
        flight complete; the listener is released once they have.
    */
    void stop();

    /** Reads the next request head on a connection that already carried one: a
        persistent connection (RFC 9112 9.3), after its answer was written (see
        `respond_and_keep`).

        `socket` is a connection this listener handed over (for TLS, with its
        handshake done). `already_read` holds the bytes that arrived after the
        previous request (a pipelined request), used first; it is copied. The head
        is then read as a new connection's is, with the same limits and answers,
        except that `head_timeout` counts as the idle time: a connection on which
        no byte of a new head arrives within it is closed without an answer, as
        is one whose client closes it. The head goes to `handler`, or to the
        listener's handler when `handler` is empty.

        The connection counts in `pending()` while it waits, and is closed at once
        without an answer when `max_pending` connections already wait, or after
        `stop()` (which also closes those that wait). May be called from any thread.
    */
    void serve(socket_type socket, std::string_view already_read = {});

    /// As above, with `handler` instead of the listener's handler for this one request.
    void serve(socket_type socket, std::string_view already_read, handler_type handler);

    /// Connections accepted whose head is still being read, kept ones included.
    std::size_t pending() const noexcept { return pending_.load(std::memory_order_relaxed); }

    /// Connections accepted since construction (refused ones included).
    std::size_t accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }

    /// TLS handshakes that failed or timed out (always 0 for plain TCP).
    std::size_t failed_handshakes() const noexcept { return failed_handshakes_.load(std::memory_order_relaxed); }

private:
    class head_reader;
    friend class head_reader;

    basic_listener(net::any_io_executor ex, context_type* context, net::ip::tcp::endpoint const& endpoint,
                   handler_type handler, listener_options options);
    basic_listener(net::any_io_executor ex, context_type* context, net::ip::tcp::endpoint const& endpoint,
                   handler_type handler, listener_options options, error_code& ec);

    void open(net::ip::tcp::endpoint const& endpoint, error_code& ec);
    void accept();
    using tcp_socket = typename traits::tcp_socket;
    void on_accept(error_code ec, tcp_socket socket);
    net::any_io_executor const& next_connection_executor();
    void do_stop();

    net::any_io_executor io_;
    executor_type strand_;
    context_type* context_;
    net::ip::tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    net::ip::tcp::endpoint endpoint_;
    handler_type handler_;
    listener_options options_;
    std::mutex readers_mutex_;
    head_reader* readers_ = nullptr;   // intrusive list of heads being read, for stop()
    std::atomic<std::size_t> pending_{0};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> failed_handshakes_{0};
    bool stopped_ = false;   // on the strand
    std::size_t next_executor_ = 0;   // on the strand: the connection_executors entry for the next accept
};

/// The plain-TCP listener.
using listener = basic_listener<net::ip::tcp::socket>;

/** A TCP socket bound to an `io_context`'s own executor type instead of
    `asio::any_io_executor`. The socket is 48 bytes smaller, and so is each
    operation pending on it by 112 bytes: an idle `sse::stream` always has one
    (its watch for the peer going away). For servers that hold many idle
    connections; a stream over it works as over `asio::ip::tcp::socket`.
*/
using io_context_socket = net::basic_stream_socket<net::ip::tcp, net::io_context::executor_type>;

/** A plain-TCP listener whose connections are `io_context_socket`s. Its
    executor (or, if given, each of `listener_options::connection_executors`) must
    be an `io_context`'s; if not, construction fails with `std::errc::invalid_argument`.
*/
using io_context_listener = basic_listener<io_context_socket>;

SSE_NAMESPACE_END

#include <sse/asio/impl/listener.hpp>
#endif
