// sse/asio/detail/source_connection.hpp - one HTTP connection of an event source.
//
// The stream's, or a poll's. Its generation changes when it is disconnected,
// so that completions of an older one are ignored.
//
// Asio requires a stream to outlive its operations. A disconnected
// connection's cancelled operations may still be queued (on another thread, or
// inside a TLS stream's composed operation that still has steps to run) when
// the next attempt replaces the socket, so every handler holds the socket it
// was started on, and the socket dies with the last of them rather than when
// it is replaced. The same goes for the read buffer: a TLS read decrypts into
// it in a step of its own, so a connection reads into a buffer its reads hold.
#ifndef SSE_ASIO_DETAIL_SOURCE_CONNECTION_HPP
#define SSE_ASIO_DETAIL_SOURCE_CONNECTION_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/client/url.hpp>
#include <sse/asio/detail/client_transport.hpp>

#include <sse/asio/net.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

template<class Socket>
struct source_connection
{
    using transport = client_transport<Socket>;

    template<class Executor>
    explicit source_connection(Executor const& ex) : resolver(ex)
    {
    }

    net::ip::tcp::resolver resolver;
    std::shared_ptr<Socket> socket;
    std::shared_ptr<std::vector<char>> buffer;
    std::size_t buffer_size = 16 * 1024;
    std::size_t generation = 0;
    bool tls_active = false;

    // Calls f(stream, socket) with what carries HTTP (the TLS stream, or the
    // TCP socket under it) and the socket for the handler to hold.
    template<class F>
    void with_stream(F&& f)
    {
        if constexpr (transport::tls) {
            if (tls_active) {
                f(*socket, socket);
                return;
            }
        }
        f(transport::tcp_layer(*socket), socket);
    }

    /// Cancels what is pending and closes the socket; later completions are stale.
    void disconnect()
    {
        ++generation;
        sse::detail::net_error_code ignored;
        resolver.cancel();
        if (socket) {
            transport::tcp_layer(*socket).shutdown(net::ip::tcp::socket::shutdown_both, ignored);
            transport::tcp_layer(*socket).close(ignored);
        }
    }

    /** Resolves, connects and, for https, handshakes with `target`; then
        `done(error_code)`, unless the connection was disconnected meanwhile.
        `owner` keeps this connection's owner (and so this object) alive while
        an operation is pending. `done` is type-erased so that Asio's connect
        and handshake operations are compiled once for the stream and the polls.
    */
    template<class Executor>
    void open(Executor const& ex, typename transport::context_type* tls, bool verify_peer, url const& target,
              std::shared_ptr<void> owner, std::function<void(error_code)> done)
    {
        std::size_t const gen = generation;
        resolver.async_resolve(target.host, std::to_string(target.port),
            [this, ex, tls, verify_peer, owner = std::move(owner), gen, target, done = std::move(done)](
                error_code ec, net::ip::tcp::resolver::results_type results) mutable {
                if (gen != generation)
                    return;
                if (ec)
                    return done(ec);
                // The previous socket lives on in its pending handlers, if any.
                socket = std::make_shared<Socket>(transport::make_socket(ex, tls));
                tls_active = false;
                auto s = socket;
                // Reused unless a read of an earlier connection still holds it.
                if (!buffer || buffer.use_count() > 1)
                    buffer = std::make_shared<std::vector<char>>(buffer_size);
                net::async_connect(transport::tcp_layer(*s), results,
                    [this, verify_peer, owner = std::move(owner), gen, s, target = std::move(target),
                     done = std::move(done)](error_code cec, net::ip::tcp::endpoint const&) mutable {
                        if (gen != generation)
                            return;
                        if (cec)
                            return done(cec);
                        sse::detail::net_error_code oec;
                        transport::tcp_layer(*s).set_option(net::ip::tcp::no_delay(true), oec);
                        if constexpr (transport::tls) {
                            if (target.is_https()) {
                                tls_active = true;
                                transport::async_handshake(*s, target, verify_peer,
                                    [this, owner = std::move(owner), gen, s, done = std::move(done)](
                                        error_code hec) mutable {
                                        if (gen == generation)
                                            done(hec);
                                    });
                                return;
                            }
                        }
                        (void)verify_peer;
                        done(error_code());
                    });
            });
    }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
