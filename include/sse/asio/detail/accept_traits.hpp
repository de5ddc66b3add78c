// sse/asio/detail/accept_traits.hpp - what a listener does to an accepted socket before reading the head.
#ifndef SSE_ASIO_DETAIL_ACCEPT_TRAITS_HPP
#define SSE_ASIO_DETAIL_ACCEPT_TRAITS_HPP

#include <sse/config.hpp>

#include <sse/asio/net.hpp>

#include <type_traits>
#include <typeinfo>

SSE_NAMESPACE_BEGIN

template<class Socket>
class basic_listener;

namespace detail {

/** How a listener turns an accepted TCP socket into the `Socket` its handler
    receives. Plain TCP needs nothing; `<sse/asio/ssl.hpp>` specialises it for
    TLS, which needs a context and a handshake before the head can be read.
*/
template<class Socket>
struct accept_traits;

// Plain TCP, on any executor type: `asio::ip::tcp::socket`, or a socket bound to
// an io_context's executor (sse::io_context_socket).
template<class Executor>
struct accept_traits<net::basic_stream_socket<net::ip::tcp, Executor>>
{
    /// What the acceptor makes.
    using tcp_socket = net::basic_stream_socket<net::ip::tcp, Executor>;
    struct context_type
    {
    };
    static constexpr bool handshake = false;
    static tcp_socket make(tcp_socket socket, context_type*) { return socket; }
};

/** `ex` as the executor type of an accepted socket; null if it is not one.
    Asio 1.22's `target<T>()` casts whatever it holds without checking its type,
    so the type is checked here; without RTTI (`ASIO_NO_TYPEID`, or
    `BOOST_ASIO_NO_TYPEID`) it cannot be, and the executors must be of the right type.
*/
template<class Executor>
Executor const* as_socket_executor(net::any_io_executor const& ex) noexcept
{
    if constexpr (std::is_same<Executor, net::any_io_executor>::value) {
        return &ex;
    } else {
#if !defined(ASIO_NO_TYPEID) && !defined(BOOST_ASIO_NO_TYPEID)
        if (!ex || ex.target_type() != typeid(Executor))
            return nullptr;
#endif
        return ex.target<Executor>();
    }
}

} // namespace detail
SSE_NAMESPACE_END

#endif
