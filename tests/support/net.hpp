// support/net.hpp - the Asio the transport tests run on, named `asio::` either way.
//
// The transport suite is compiled twice: on standalone Asio (sse_asio_tests) and,
// for the stream, listener, attach and event source tests, on Boost.Asio
// (sse_boost_asio_tests, built with SSE_USE_BOOST_ASIO through sse::boost_asio).
// There `asio` is made an alias of `boost::asio`, so that one source serves both.
//
// What differs between the two and the tests must spell out:
// - Asio's own calls take `test::net_error_code` (std::error_code, or
//   boost::system::error_code); the library's handlers give sse::error_code.
// - An Asio error value compares with the library's codes through
//   sse::net_error(): std::errc conditions do not match standalone Asio's codes.
// - Per-operation cancellation exists only where SSE_NET_HAS_CANCELLATION is 1.
#ifndef SSE_TEST_SUPPORT_NET_HPP
#define SSE_TEST_SUPPORT_NET_HPP

#include <sse/asio/net.hpp>

#if defined(SSE_USE_BOOST_ASIO)
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_future.hpp>
namespace asio = ::boost::asio;
#else
#include <asio/executor_work_guard.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_future.hpp>
#endif

namespace test {
using net_error_code = sse::detail::net_error_code;
}

#endif
