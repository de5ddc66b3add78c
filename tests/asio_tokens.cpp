// Each async_* of the transport accepts any completion token: asio::experimental::deferred here.
#include <sse/asio/stream.hpp>

#include <doctest/doctest.h>

#include "support/mock_socket.hpp"

#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/use_future.hpp>

#include <optional>
#include <type_traits>

namespace {

template<class Stream>
using deferred_send_t =
    decltype(std::declval<Stream&>().async_send(sse::event{}, asio::experimental::deferred));
template<class Stream>
using deferred_close_t =
    decltype(std::declval<Stream&>().async_close(std::nullopt, asio::experimental::deferred));

static_assert(!std::is_void_v<deferred_send_t<sse::stream<asio::ip::tcp::socket>>>);
static_assert(!std::is_void_v<deferred_close_t<sse::stream<asio::ip::tcp::socket>>>);

} // namespace

TEST_CASE("stream: async operations work with deferred and use_future")
{
    asio::io_context io;
    support::mock_socket socket(io.get_executor());
    auto st = socket.shared_state();
    sse::stream_options o;
    o.heartbeat_interval = std::chrono::milliseconds(0);
    auto s = std::make_shared<sse::stream<support::mock_socket>>(std::move(socket), o);
    s->start();

    sse::event e;
    e.data = "deferred";
    auto send = s->async_send(e, asio::experimental::deferred);
    auto close = s->async_close(std::nullopt, asio::experimental::deferred);
    CHECK(st->written.empty());   // nothing happens before a deferred operation is launched
    std::optional<sse::error_code> sent, closed;
    std::move(send)([&](sse::error_code ec) { sent = ec; });
    std::move(close)([&](sse::error_code ec) { closed = ec; });
    io.run();
    REQUIRE(sent);
    REQUIRE(closed);
    CHECK(!*sent);
    CHECK(!*closed);
    CHECK(st->written.find("data: deferred\n\n") != std::string::npos);

    asio::io_context io2;
    support::mock_socket socket2(io2.get_executor());
    auto s2 = std::make_shared<sse::stream<support::mock_socket>>(std::move(socket2), o);
    s2->start();
    std::future<void> f = s2->async_send(e, asio::use_future);
    io2.run_for(std::chrono::milliseconds(50));
    CHECK_NOTHROW(f.get());
    s2->close();
    io2.run_for(std::chrono::milliseconds(20));
}
