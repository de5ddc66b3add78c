// sse/asio/detail/client_transport.hpp - how event_source makes and opens a connection.
//
// The primary template covers sockets that are TCP all the way down. A layered
// stream (TLS) specialises it in its own header, <sse/asio/ssl.hpp>, so that a
// plain client never includes OpenSSL.
#ifndef SSE_ASIO_DETAIL_CLIENT_TRANSPORT_HPP
#define SSE_ASIO_DETAIL_CLIENT_TRANSPORT_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/client/source_options.hpp>

#include <memory>
#include <type_traits>

SSE_NAMESPACE_BEGIN
namespace detail {

template<class Socket>
struct client_transport
{
    static_assert(std::is_constructible<Socket, typename Socket::executor_type>::value,
        "event_source<Socket>: Socket must be constructible from an executor (a TCP socket); "
        "for net::ssl::stream include <sse/asio/ssl.hpp>");

    static constexpr bool tls = false;

    struct context_type
    {
    };

    static std::shared_ptr<context_type> make_context(event_source_options const&, error_code&) { return nullptr; }

    template<class Executor>
    static Socket make_socket(Executor const& ex, context_type*)
    {
        return Socket(ex);
    }

    static Socket& tcp_layer(Socket& s) noexcept { return s; }

    static bool is_truncation(error_code) noexcept { return false; }

    static bool is_final(error_code) noexcept { return false; }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
