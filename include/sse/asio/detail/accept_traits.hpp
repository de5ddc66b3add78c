// sse/asio/detail/accept_traits.hpp - what a listener does to an accepted socket before reading the head.
#ifndef SSE_ASIO_DETAIL_ACCEPT_TRAITS_HPP
#define SSE_ASIO_DETAIL_ACCEPT_TRAITS_HPP

#include <sse/config.hpp>

#include <asio/ip/tcp.hpp>

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

template<>
struct accept_traits<asio::ip::tcp::socket>
{
    struct context_type
    {
    };
    static constexpr bool handshake = false;
    static asio::ip::tcp::socket make(asio::ip::tcp::socket socket, context_type*) { return socket; }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
