// sse::async_read_body as an Asio operation: completion tokens, the handler's
// executor, and per-operation cancellation. Over loopback TCP.
#include <sse/asio/body.hpp>
#include <sse/http/request_parser.hpp>

#include "support/body_peer.hpp"
#include "support/run_until.hpp"

#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/strand.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using asio::ip::tcp;

namespace {

using support::head_of;
using support::socket_pair;

std::string const post_11 = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n";

} // namespace

TEST_CASE("async_read_body: a callback runs on its associated executor, never inside the call")
{
    socket_pair s;
    auto strand = asio::make_strand(s.io);
    std::string buffer = "hello world";   // the whole body came with the head
    std::optional<sse::error_code> got;
    bool on_strand = false;
    sse::async_read_body(s.server, head_of(post_11), buffer, {},
                         asio::bind_executor(strand, [&](sse::error_code ec, std::string body) {
                             on_strand = strand.running_in_this_thread();
                             got = ec;
                             CHECK(body == "hello world");
                         }));
    CHECK_FALSE(got);   // complete at once, yet reported through the executor
    REQUIRE(support::run_until(s.io, [&] { return got.has_value(); }));
    CHECK_FALSE(*got);
    CHECK(on_strand);

    // After a read from the socket too.
    got.reset();
    on_strand = false;
    buffer.clear();
    sse::async_read_body(s.server, head_of(post_11), buffer, {},
                         asio::bind_executor(strand, [&](sse::error_code ec, std::string) {
                             on_strand = strand.running_in_this_thread();
                             got = ec;
                         }));
    s.send("hello world");
    REQUIRE(support::run_until(s.io, [&] { return got.has_value(); }));
    CHECK_FALSE(*got);
    CHECK(on_strand);
}

TEST_CASE("async_read_body: use_future and deferred")
{
    socket_pair s;
    std::string buffer = "hel";
    std::future<std::string> f = sse::async_read_body(s.server, head_of(post_11), buffer, {}, asio::use_future);
    s.send("lo world");
    std::thread runner([&] { s.io.run_for(5s); });
    REQUIRE(f.wait_for(5s) == std::future_status::ready);
    CHECK(f.get() == "hello world");
    s.io.stop();
    runner.join();

    // A future reports an error by throwing it.
    s.io.restart();
    buffer.clear();
    sse::body_limits small;
    small.max_body = 4;
    std::future<std::string> refused = sse::async_read_body(s.server, head_of(post_11), buffer, small, asio::use_future);
    REQUIRE(support::run_until(s.io, [&] { return refused.wait_for(0s) == std::future_status::ready; }));
    try {
        refused.get();
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::body_too_large);
    }

    s.io.restart();
    buffer = "hello";
    auto op = sse::async_read_body(s.server, head_of(post_11), buffer, {}, asio::experimental::deferred);
    CHECK(buffer == "hello");   // nothing happens before a deferred operation is launched
    std::optional<std::string> body;
    std::move(op)([&](sse::error_code ec, std::string b) {
        CHECK_FALSE(ec);
        body = std::move(b);
    });
    s.send(" world");
    REQUIRE(support::run_until(s.io, [&] { return body.has_value(); }));
    CHECK(*body == "hello world");
}

TEST_CASE("async_read_body: a terminal cancellation ends it with operation_aborted")
{
    for (bool expect_continue : {false, true}) {
        CAPTURE(expect_continue);
        socket_pair s;
        std::string buffer;
        asio::cancellation_signal signal;
        std::optional<sse::error_code> got;
        std::string const head = expect_continue
            ? "POST /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n"
            : post_11;
        sse::async_read_body(s.server, head_of(head), buffer, {},
                             asio::bind_cancellation_slot(signal.slot(), [&](sse::error_code ec, std::string body) {
                                 got = ec;
                                 CHECK(body.empty());
                             }));
        s.send("hel");   // the body starts, then stops coming
        s.io.run_for(50ms);
        REQUIRE_FALSE(got);
        signal.emit(asio::cancellation_type::terminal);
        // The default limits would wait 10 s for the rest.
        REQUIRE(support::run_until(s.io, [&] { return got.has_value(); }, 2s));
        CHECK(*got == asio::error::operation_aborted);
        CHECK(buffer.empty());
    }
}

TEST_CASE("async_read_body: partial and total cancellation are ignored")
{
    socket_pair s;
    std::string buffer;
    asio::cancellation_signal signal;
    std::optional<sse::error_code> got;
    std::string body;
    sse::async_read_body(s.server, head_of(post_11), buffer, {},
                         asio::bind_cancellation_slot(signal.slot(), [&](sse::error_code ec, std::string b) {
                             got = ec;
                             body = std::move(b);
                         }));
    s.io.run_for(20ms);
    signal.emit(asio::cancellation_type::partial);
    signal.emit(asio::cancellation_type::total);
    s.io.run_for(50ms);
    CHECK_FALSE(got);
    s.send("hello world");
    REQUIRE(support::run_until(s.io, [&] { return got.has_value(); }));
    CHECK_FALSE(*got);
    CHECK(body == "hello world");
}
