// sse/asio/net.hpp - the Asio under the transport: standalone Asio, or Boost.Asio.
//
//     // standalone Asio (the default)      // Boost.Asio: the same headers, one macro
//     #include <sse/asio/stream.hpp>         #define SSE_USE_BOOST_ASIO   // or link sse::boost_asio
//     sse::stream<asio::ip::tcp::socket>     #include <sse/asio/stream.hpp>
//                                            sse::stream<boost::asio::ip::tcp::socket>
//
// Every transport header reaches Asio through this one, as `sse::net`: `::asio`,
// or `::boost::asio` when SSE_USE_BOOST_ASIO is defined. Define it for the whole
// program (the CMake target sse::boost_asio does), never for some files only:
// the transport's classes are the same names on both, so mixing the two in one
// program breaks the one-definition rule.
//
// Completion handlers get `sse::error_code` (std::error_code) on both; Boost's
// error codes are converted to it. Compare one with an Asio error value through
// sse::net_error(), which compiles and holds on either Asio:
//
//     if (ec == sse::net_error(sse::net::error::operation_aborted)) ...
//
// (On standalone Asio `ec == asio::error::operation_aborted` works too; on Boost,
// std::error_code and Boost's enums do not compare directly.)
//
// Boost 1.74 (Asio 1.18) predates per-operation cancellation: there,
// SSE_NET_HAS_CANCELLATION is 0 and an operation ends only through the object's
// close() or cancel(). Asio 1.19 and Boost 1.77 on have it.
#ifndef SSE_ASIO_NET_HPP
#define SSE_ASIO_NET_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>

#if defined(SSE_USE_BOOST_ASIO)
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/version.hpp>
#include <boost/asio/write.hpp>
#define SSE_NET_VERSION BOOST_ASIO_VERSION
#else
#include <asio/any_io_executor.hpp>
#include <asio/associated_allocator.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/basic_stream_socket.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/execution/context.hpp>
#include <asio/execution_context.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/query.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/version.hpp>
#include <asio/write.hpp>
#define SSE_NET_VERSION ASIO_VERSION
#endif

#if SSE_NET_VERSION < 101800
#error "the transport needs Asio 1.18 or later (Boost 1.74 or later)"
#endif

// Cancellation slots came with Asio 1.19 (Boost 1.77), bind_allocator with 1.22 (Boost 1.79).
#if SSE_NET_VERSION >= 101900
#define SSE_NET_HAS_CANCELLATION 1
#if defined(SSE_USE_BOOST_ASIO)
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/cancellation_type.hpp>
#else
#include <asio/associated_cancellation_slot.hpp>
#include <asio/cancellation_type.hpp>
#endif
#else
#define SSE_NET_HAS_CANCELLATION 0
#endif

#if SSE_NET_VERSION >= 102200
#if defined(SSE_USE_BOOST_ASIO)
#include <boost/asio/bind_allocator.hpp>
#else
#include <asio/bind_allocator.hpp>
#endif
#endif

#include <type_traits>
#include <utility>

SSE_NAMESPACE_BEGIN

#if defined(SSE_USE_BOOST_ASIO)
namespace net = ::boost::asio;
#else
namespace net = ::asio;
#endif

/** An Asio error value (`net::error::eof`, `net::ssl::error::stream_truncated`...)
    as the error_code the library's handlers give, in the same category, so that
    `==` compares exactly on either Asio.
*/
template<class ErrorEnum>
error_code net_error(ErrorEnum e) noexcept
{
    return make_error_code(e);   // Boost's converts to std::error_code
}

namespace detail {

/// The error code type Asio's own functions take and give: std::error_code, or
/// boost::system::error_code. The library converts it to error_code at its edges.
#if defined(SSE_USE_BOOST_ASIO)
using net_error_code = ::boost::system::error_code;
#else
using net_error_code = ::asio::error_code;
#endif

/// `errno` as a handler would have received it from the socket.
inline error_code net_errno(int value) noexcept
{
    return net_error_code(value, net::error::get_system_category());
}

#if SSE_NET_VERSION < 102200
// Before bind_allocator: Asio finds a handler's allocator through its nested
// allocator_type and get_allocator(), in every version.
template<class Allocator, class F>
struct allocator_bound
{
    using allocator_type = Allocator;
    allocator_type get_allocator() const noexcept { return alloc; }

    template<class... Args>
    void operator()(Args&&... args)
    {
        f(std::forward<Args>(args)...);
    }

    Allocator alloc;
    F f;
};
#endif

/// The function object `f` (which has no associated executor or cancellation
/// slot) as a completion handler that allocates with `alloc`.
template<class Allocator, class F>
auto with_allocator(Allocator const& alloc, F&& f)
{
#if SSE_NET_VERSION >= 102200
    return net::bind_allocator(alloc, std::forward<F>(f));
#else
    return allocator_bound<Allocator, std::decay_t<F>>{alloc, std::forward<F>(f)};
#endif
}

} // namespace detail

SSE_NAMESPACE_END

#endif
