// stream::async_send and async_close as Asio operations: completion tokens
// (callback, deferred, use_future; use_awaitable in tests/coro/), the handler's
// executor and allocator, and per-operation cancellation.
#include <sse/asio/stream.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"
#include "support/mock_socket.hpp"
#include "support/run_until.hpp"

#include <asio/bind_allocator.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>

#include <memory>
#include <optional>
#include <string>
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

// A started stream over a mock socket, without heartbeats or a retry: field.
// A stalled one's peer reads nothing until mock_socket::release().
using support::data_event;

struct mock_stream
{
    asio::io_context io;
    std::shared_ptr<support::mock_socket::state> st;
    std::shared_ptr<sse::stream<support::mock_socket>> s;
    std::optional<sse::error_code> ended;

    explicit mock_stream(bool stalled = false)
    {
        support::mock_socket socket(io.get_executor());
        st = socket.shared_state();
        st->stalled = stalled;
        sse::stream_options o;
        o.heartbeat_interval = std::chrono::milliseconds(0);
        o.retry.reset();
        s = std::make_shared<sse::stream<support::mock_socket>>(std::move(socket), o);
        s->on_close([this](sse::error_code ec) { ended = ec; });
        s->start();
    }

    ~mock_stream()
    {
        s->close();
        io.restart();
        io.run_for(std::chrono::milliseconds(20));
    }
};

} // namespace

TEST_CASE("stream: async operations work with deferred and use_future")
{
    mock_stream t;
    auto send = t.s->async_send(data_event("deferred"), asio::experimental::deferred);
    auto close = t.s->async_close(std::nullopt, asio::experimental::deferred);
    CHECK(t.st->written.empty());   // nothing happens before a deferred operation is launched
    std::optional<sse::error_code> sent, closed;
    std::move(send)([&](sse::error_code ec) { sent = ec; });
    std::move(close)([&](sse::error_code ec) { closed = ec; });
    t.io.run();
    REQUIRE(sent);
    REQUIRE(closed);
    CHECK(!*sent);
    CHECK(!*closed);
    CHECK(t.st->written.find("data: deferred\n\n") != std::string::npos);

    mock_stream t2;
    std::future<void> f = t2.s->async_send(data_event("future"), asio::use_future);
    t2.io.run_for(std::chrono::milliseconds(50));
    CHECK_NOTHROW(f.get());
    CHECK(t2.st->written.find("data: future\n\n") != std::string::npos);
}

namespace {


struct alloc_counts
{
    int allocations = 0;
    int live = 0;
};

// Counts what an operation allocates through its handler's associated allocator.
template<class T>
struct counting_allocator
{
    using value_type = T;
    alloc_counts* counts;

    explicit counting_allocator(alloc_counts* c) noexcept : counts(c) {}
    template<class U>
    counting_allocator(counting_allocator<U> const& other) noexcept : counts(other.counts)
    {
    }
    T* allocate(std::size_t n)
    {
        ++counts->allocations;
        ++counts->live;
        return std::allocator<T>().allocate(n);
    }
    void deallocate(T* p, std::size_t n) noexcept
    {
        --counts->live;
        std::allocator<T>().deallocate(p, n);
    }
    template<class U>
    bool operator==(counting_allocator<U> const& o) const noexcept
    {
        return counts == o.counts;
    }
    template<class U>
    bool operator!=(counting_allocator<U> const& o) const noexcept
    {
        return counts != o.counts;
    }
};

} // namespace

TEST_CASE("stream: a callback runs on its associated executor, never inside the call")
{
    mock_stream t;
    auto& io = t.io;
    auto& s = t.s;
    auto strand = asio::make_strand(io);
    std::optional<sse::error_code> sent, bad;
    bool on_strand = false;
    s->async_send(data_event("x"), asio::bind_executor(strand, [&](sse::error_code ec) {
        on_strand = strand.running_in_this_thread();
        sent = ec;
    }));
    sse::event invalid;
    invalid.id = std::string("a\nb");
    s->async_send(invalid, [&](sse::error_code ec) { bad = ec; });
    CHECK_FALSE(bad);   // a validation error too is reported through the executor
    REQUIRE(support::run_until(io, [&] { return sent && bad; }));
    CHECK_FALSE(*sent);
    CHECK(on_strand);
    CHECK(*bad);
}

TEST_CASE("stream: a terminal cancellation stops the wait of async_send; its bytes stay queued, in order")
{
    mock_stream t(true);
    asio::cancellation_signal signal;
    std::optional<sse::error_code> first, second;
    t.s->async_send(data_event("one"), asio::bind_cancellation_slot(signal.slot(), [&](sse::error_code ec) { first = ec; }));
    t.s->async_send(data_event("two"), [&](sse::error_code ec) { second = ec; });
    t.io.run_for(std::chrono::milliseconds(20));
    REQUIRE_FALSE(first);
    signal.emit(asio::cancellation_type::terminal);
    // The socket accepts nothing meanwhile: only the cancellation can end the wait.
    REQUIRE(support::run_until(t.io, [&] { return first.has_value(); }, std::chrono::seconds(2)));
    CHECK(*first == asio::error::operation_aborted);
    CHECK_FALSE(second);
    signal.emit(asio::cancellation_type::terminal);   // once completed, a later one changes nothing

    support::mock_socket::release(*t.st);
    REQUIRE(support::run_until(t.io, [&] { return second.has_value(); }));
    CHECK_FALSE(*second);
    auto const one = t.st->written.find("data: one\n\n");
    auto const two = t.st->written.find("data: two\n\n");
    REQUIRE(one != std::string::npos);   // cancelling stops the wait; it cannot unsend
    REQUIRE(two != std::string::npos);
    CHECK(one < two);
    CHECK_FALSE(t.ended);
}

TEST_CASE("stream: a terminal cancellation stops the wait of async_close; the stream still closes")
{
    mock_stream t(true);
    asio::cancellation_signal signal;
    std::optional<sse::error_code> closed;
    t.s->async_close(data_event("bye"), asio::bind_cancellation_slot(signal.slot(), [&](sse::error_code ec) { closed = ec; }));
    t.io.run_for(std::chrono::milliseconds(20));
    REQUIRE_FALSE(closed);
    signal.emit(asio::cancellation_type::terminal);
    REQUIRE(support::run_until(t.io, [&] { return closed.has_value(); }, std::chrono::seconds(2)));
    CHECK(*closed == asio::error::operation_aborted);
    CHECK_FALSE(t.ended);

    support::mock_socket::release(*t.st);
    REQUIRE(support::run_until(t.io, [&] { return t.ended.has_value(); }));
    CHECK_FALSE(*t.ended);   // graceful: every byte written
    CHECK(t.st->written.find("data: bye\n\n") != std::string::npos);
    CHECK(t.st->shutdown_send);
}

TEST_CASE("stream: partial and total cancellation are ignored")
{
    mock_stream t(true);
    asio::cancellation_signal signal;
    std::optional<sse::error_code> sent;
    t.s->async_send(data_event("one"), asio::bind_cancellation_slot(signal.slot(), [&](sse::error_code ec) { sent = ec; }));
    t.io.run_for(std::chrono::milliseconds(10));
    signal.emit(asio::cancellation_type::partial);
    signal.emit(asio::cancellation_type::total);
    t.io.run_for(std::chrono::milliseconds(20));
    CHECK_FALSE(sent);
    support::mock_socket::release(*t.st);
    REQUIRE(support::run_until(t.io, [&] { return sent.has_value(); }));
    CHECK_FALSE(*sent);
}

TEST_CASE("stream: waiters are allocated through the handler's associated allocator and freed before it runs")
{
    mock_stream t;
    auto& io = t.io;
    auto& s = t.s;
    alloc_counts send_counts, close_counts;   // one each: the close still waits when the send completes
    std::optional<int> live_in_send, live_in_close;
    s->async_send(data_event("x"), asio::bind_allocator(counting_allocator<void>(&send_counts),
                                                        [&](sse::error_code) { live_in_send = send_counts.live; }));
    s->async_close(std::nullopt, asio::bind_allocator(counting_allocator<void>(&close_counts),
                                                      [&](sse::error_code) { live_in_close = close_counts.live; }));
    REQUIRE(support::run_until(io, [&] { return live_in_send && live_in_close; }));
    CHECK(send_counts.allocations >= 1);   // the waiter, at least
    CHECK(close_counts.allocations >= 1);
    CHECK(*live_in_send == 0);   // Asio's rule: the memory goes back before the upcall
    CHECK(*live_in_close == 0);
    CHECK(send_counts.live == 0);
    CHECK(close_counts.live == 0);
}
