#include <sse/asio/stream.hpp>

#include <doctest/doctest.h>

#include "support/events.hpp"
#include "support/mock_socket.hpp"
#include "support/net.hpp"
#include "support/run_until.hpp"

#include <sse/http/request_parser.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mock_stream = sse::stream<support::mock_socket>;
using state = support::mock_socket::state;

std::string const default_head = "HTTP/1.1 200 OK\r\n"
                                 "Content-Type: text/event-stream\r\n"
                                 "Cache-Control: no-cache\r\n"
                                 "X-Accel-Buffering: no\r\n"
                                 "\r\n";

using support::run_until;

using support::data_event;

sse::stream_options quiet_options()
{
    sse::stream_options o;
    o.heartbeat_interval = 0ms;
    o.write_timeout = 0ms;
    return o;
}

struct fixture
{
    asio::io_context io;
    support::mock_socket socket{io.get_executor()};
    std::shared_ptr<state> st = socket.shared_state();
    std::optional<sse::error_code> closed;

    std::shared_ptr<mock_stream> make(sse::stream_options o = quiet_options())
    {
        auto s = std::make_shared<mock_stream>(std::move(socket), std::move(o));
        s->on_close([this](sse::error_code ec) { closed = ec; });
        return s;
    }
};

} // namespace

TEST_CASE("stream: writes the head, the initial retry and events in order")
{
    fixture f;
    auto s = f.make();
    s->start();
    s->send(data_event("one", "1"));
    s->send(sse::make_event_buffer(data_event("two\nlines")));
    s->send(data_event("three"));
    std::string const expected = default_head + "retry: 3000\n\n" + "id: 1\ndata: one\n\n" +
                                 "data: two\ndata: lines\n\n" + "data: three\n\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= expected.size(); }));
    CHECK(f.st->written == expected);
    CHECK(f.st->written.find("Connection") == std::string::npos);
    CHECK(f.st->written.find("Keep-Alive") == std::string::npos);
    CHECK(f.st->written.find("chunked") == std::string::npos);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    CHECK(*f.closed == sse::error::stream_closed);
    CHECK(f.st->closed);
}

TEST_CASE("stream: the head carries CORS and extra headers when configured")
{
    sse::stream_options o = quiet_options();
    o.retry.reset();
    std::string origin;
    std::string expected_cors;
    SUBCASE("a listed origin is echoed")
    {
        o.cors.allowed_origins = {"https://a.example", "https://b.example"};
        o.cors.allow_credentials = true;
        o.cors.expose_headers = {"X-One", "X-Two"};
        origin = "https://b.example";
        expected_cors = "Access-Control-Allow-Origin: https://b.example\r\n"
                        "Access-Control-Allow-Credentials: true\r\n"
                        "Access-Control-Expose-Headers: X-One, X-Two\r\n"
                        "Vary: Origin\r\n";
    }
    SUBCASE("an unlisted origin gets nothing but Vary")
    {
        o.cors.allowed_origins = {"https://a.example"};
        origin = "https://evil.example";
        expected_cors = "Vary: Origin\r\n";
    }
    SUBCASE("a wildcard without credentials answers *")
    {
        o.cors.allowed_origins = {"*"};
        origin = "https://any.example";
        expected_cors = "Access-Control-Allow-Origin: *\r\n";
    }
    SUBCASE("no CORS configured: no CORS headers")
    {
        origin = "https://any.example";
    }
    o.extra_headers = {{"X-Server", "ssepp"}};
    fixture f;
    auto s = f.make(o);
    s->start(origin);
    std::string const expected = default_head.substr(0, default_head.size() - 2) + expected_cors +
                                 "X-Server: ssepp\r\n\r\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= expected.size(); }));
    CHECK(f.st->written == expected);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: queued buffers are gathered into one write")
{
    sse::stream_options o = quiet_options();
    std::size_t expected_writes = 1;
    SUBCASE("unbounded") {}
    SUBCASE("four buffers per write")
    {
        o.max_write_buffers = 4;
        expected_writes = 3;   // the head and 10 events: 4 + 4 + 3
    }
    fixture f;
    auto s = f.make(o);
    std::string expected = default_head + "retry: 3000\n\n";
    for (int i = 0; i < 10; ++i) {
        s->send(data_event(std::to_string(i)));
        expected += "data: " + std::to_string(i) + "\n\n";
    }
    s->start();
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= expected.size(); }));
    CHECK(f.st->written == expected);
    CHECK(f.st->write_calls == expected_writes);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: partial writes resume where they stopped")
{
    for (std::size_t cut : {1u, 2u, 7u, 64u}) {
        CAPTURE(cut);
        fixture f;
        f.st->max_write = cut;
        auto s = f.make();
        s->start();
        std::string expected = default_head + "retry: 3000\n\n";
        for (int i = 0; i < 20; ++i) {
            s->send(data_event("event number " + std::to_string(i), std::to_string(i)));
            expected += "id: " + std::to_string(i) + "\ndata: event number " + std::to_string(i) + "\n\n";
        }
        REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= expected.size(); }));
        CHECK(f.st->written == expected);
        for (auto n : f.st->write_sizes)
            CHECK(n <= cut);
        s->close();
        REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    }
}

TEST_CASE("stream: heartbeats are written only when the stream is idle")
{
    sse::stream_options o = quiet_options();
    o.retry.reset();
    o.heartbeat_interval = 40ms;
    fixture f;
    auto s = f.make(o);
    s->start();
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() == default_head.size(); }));

    // Busy: an event every 5 ms for 200 ms leaves no room for a heartbeat. A
    // loaded machine may delay a tick past the interval, and then a heartbeat is
    // right: the rule is checked only when every gap stayed below it.
    asio::steady_timer tick(f.io);
    int sent = 0;
    auto last = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration longest_gap{};
    std::function<void()> next = [&] {
        tick.expires_after(5ms);
        tick.async_wait([&](sse::error_code) {
            auto const now = std::chrono::steady_clock::now();
            longest_gap = std::max(longest_gap, now - last);
            last = now;
            s->send(data_event("x"));
            if (++sent < 40)
                next();
        });
    };
    next();
    REQUIRE(run_until(f.io, [&] { return sent == 40 && f.st->write == nullptr; }));
    if (longest_gap < 30ms)
        CHECK(f.st->written.find(":\n\n") == std::string::npos);
    else
        MESSAGE("a tick came late; the busy phase proves nothing this run");

    // Idle: heartbeats come.
    std::size_t const before = f.st->written.size();
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= before + 6; }));
    CHECK(f.st->written.substr(before, 6) == ":\n\n:\n\n");
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: streams that went quiet together owe their heartbeats at one instant, at most a 64th late")
{
    using sse::detail::heartbeat_due;
    using tp = std::chrono::steady_clock::time_point;
    using std::chrono::steady_clock;
    // 15 s: a grain of 234.375 ms on the clock's own scale.
    auto const grain = std::chrono::duration_cast<steady_clock::duration>(15000ms) / 64;
    tp const grid_point{grain * 1000};   // a multiple of the grain
    // Quiet since 120 ms and since 20 ms before grid_point - 15 s: both owe theirs at grid_point.
    tp const a = grid_point - 15s - 120ms;
    tp const b = grid_point - 15s - 20ms;
    CHECK(heartbeat_due(a, 15s) == grid_point);
    CHECK(heartbeat_due(b, 15s) == grid_point);
    // Exactly on the grid: not moved.
    CHECK(heartbeat_due(grid_point - 15s, 15s) == grid_point);
    // One tick past it: the next grid point, a whole grain later.
    CHECK(heartbeat_due(grid_point - 15s + steady_clock::duration(1), 15s) == grid_point + grain);
    // Never early, never later than the grain, for any instant.
    auto const now = steady_clock::now();
    for (auto interval : {1ms, 40ms, 15000ms, 3600000ms}) {
        auto const g = std::max(std::chrono::duration_cast<steady_clock::duration>(interval) / 64,
            steady_clock::duration(1));
        for (int i = 0; i < 1000; ++i) {
            tp const last = now + std::chrono::microseconds(i * 997);
            tp const due = heartbeat_due(last, interval);
            CAPTURE(interval.count());
            CAPTURE(i);
            CHECK(due >= last + interval);
            CHECK(due < last + interval + g);
            CHECK(due.time_since_epoch() % g == steady_clock::duration::zero());
        }
    }
}

TEST_CASE("stream: the coarse clock of writes at once is steady_clock's, at most a tick behind it")
{
    // A write at once stamps the stream's last activity with it, and heartbeats and
    // write timeouts count from that against steady_clock: another clock (the
    // wall clock, the boot clock after a suspend) would make them fire at once or
    // never. Linux's tick is 1 to 10 ms; a loaded machine may take longer between
    // two readings, never less.
    using std::chrono::steady_clock;
    for (int i = 0; i < 1000; ++i) {
        auto const before = steady_clock::now();
        auto const coarse = sse::detail::coarse_now();
        auto const after = steady_clock::now();
        CAPTURE(i);
        CHECK(coarse <= after);
        CHECK(coarse >= before - 20ms);
    }
}

TEST_CASE("stream: a heartbeat can be a named event carrying the server time")
{
    sse::stream_options o = quiet_options();
    o.retry.reset();
    o.heartbeat_interval = 10ms;
    o.heartbeat = sse::heartbeat_kind::event;
    fixture f;
    auto s = f.make(o);
    s->start();
    std::string const prefix = default_head + "event: heartbeat\ndata: ";
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() > prefix.size() + 10; }));
    CHECK(f.st->written.compare(0, prefix.size(), prefix) == 0);
    auto const ms = std::stoll(f.st->written.substr(prefix.size()));
    auto const now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    CHECK(ms <= now);
    CHECK(ms > now - 60000);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: a peer that accepts no bytes is closed after the write timeout")
{
    sse::stream_options o = quiet_options();
    o.write_timeout = 30ms;
    o.heartbeat_interval = 10ms;   // heartbeats must not hide the stall
    fixture f;
    f.st->stalled = true;
    auto s = f.make(o);
    std::weak_ptr<mock_stream> weak = s;
    s->start();
    s.reset();
    auto const t0 = std::chrono::steady_clock::now();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
    CHECK(*f.closed == sse::error::write_timeout);
    CHECK(f.st->closed);
    CHECK(f.st->written.empty());
    REQUIRE(run_until(f.io, [&] { return weak.expired(); }));
}

TEST_CASE("stream: a vanished peer is noticed without writing")
{
    fixture f;
    auto s = f.make();
    std::weak_ptr<mock_stream> weak = s;
    s->start();
    s.reset();
    REQUIRE(run_until(f.io, [&] { return !f.st->written.empty() && f.st->write == nullptr; }));
    std::size_t const calls = f.st->write_calls;
    support::mock_socket::close_peer(*f.st);
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    CHECK(*f.closed == sse::error::peer_closed);
    CHECK(f.st->write_calls == calls);
    REQUIRE(run_until(f.io, [&] { return weak.expired(); }));
}

TEST_CASE("stream: async_send completes once its bytes are written")
{
    fixture f;
    auto s = f.make();
    s->start();
    std::vector<sse::error_code> results;
    std::size_t written_at_completion = 0;
    s->async_send(data_event("a"), [&](sse::error_code ec) {
        results.push_back(ec);
        written_at_completion = f.st->written.size();
    });
    sse::event bad;
    bad.id = "a\nb";
    s->async_send(bad, [&](sse::error_code ec) { results.push_back(ec); });
    REQUIRE(run_until(f.io, [&] { return results.size() == 2; }));
    CHECK(results[0] == sse::error::id_has_newline);
    CHECK(!results[1]);
    CHECK(written_at_completion == default_head.size() + std::string("retry: 3000\n\ndata: a\n\n").size());
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: async_send before start completes only once its event is written")
{
    // The head is inserted in front of what was queued before start(). When it
    // goes out in a write of its own, the send must still wait for its event.
    std::string const event_bytes = "data: a\n\n";
    std::string const head = default_head + "retry: 3000\n\n";
    sse::stream_options o = quiet_options();
    SUBCASE("one buffer per write") { o.max_write_buffers = 1; }
    SUBCASE("the event does not fit beside the head") { o.max_write_bytes = head.size(); }
    fixture f;
    f.st->stalled = true;
    auto s = f.make(o);
    std::optional<sse::error_code> result;
    std::size_t written_at_completion = 0;
    s->async_send(data_event("a"), [&](sse::error_code ec) {
        result = ec;
        written_at_completion = f.st->written.size();
    });
    s->start();
    REQUIRE(run_until(f.io, [&] { return f.st->write != nullptr; }));
    support::mock_socket::accept_one(*f.st);   // the head alone
    REQUIRE(f.st->written == head);
    f.io.restart();
    f.io.poll();
    CHECK(!result);
    REQUIRE(f.st->write != nullptr);   // the event's write, pending
    support::mock_socket::accept_one(*f.st);
    REQUIRE(run_until(f.io, [&] { return result.has_value(); }));
    CHECK(!*result);
    CHECK(written_at_completion == head.size() + event_bytes.size());
    CHECK(f.st->written == head + event_bytes);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}

TEST_CASE("stream: async_close writes the final event, then shuts down and closes")
{
    fixture f;
    auto s = f.make();
    std::weak_ptr<mock_stream> weak = s;
    s->start();
    s->send(data_event("last live"));
    sse::event bye;
    bye.type = "bye";
    bye.data = "";
    bye.retry = 4321ms;
    std::optional<sse::error_code> result;
    s->async_close(bye, [&](sse::error_code ec) { result = ec; });
    s->send(data_event("too late"));
    std::optional<sse::error_code> late;
    s->async_send(data_event("too late"), [&](sse::error_code ec) { late = ec; });
    s.reset();
    REQUIRE(run_until(f.io, [&] { return result && late && f.closed; }));
    CHECK(!*result);
    CHECK(!*f.closed);
    CHECK(*late == sse::error::stream_closed);
    CHECK(f.st->shutdown_send);
    CHECK(f.st->closed);
    std::string const tail = "data: last live\n\nevent: bye\nretry: 4321\ndata:\n\n";
    REQUIRE(f.st->written.size() >= tail.size());
    CHECK(f.st->written.substr(f.st->written.size() - tail.size()) == tail);
    REQUIRE(run_until(f.io, [&] { return weak.expired(); }));
}

TEST_CASE("stream: an overflowing queue closes the stream")
{
    sse::stream_options o = quiet_options();
    o.max_queue_bytes = 100;
    fixture f;
    f.st->stalled = true;
    auto s = f.make(o);
    s->start();
    for (int i = 0; i < 10; ++i)
        s->send(data_event("0123456789"));
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    CHECK(*f.closed == sse::error::send_queue_full);
}

TEST_CASE("stream: a failure at every operation is reported and leaks nothing")
{
    bool clean_run = false;
    for (std::size_t n = 0; !clean_run && n < 100; ++n) {
        CAPTURE(n);
        fixture f;
        f.st->fail_at = n;
        f.st->max_write = 16;   // many operations: a failure point between each
        auto s = f.make();
        std::weak_ptr<mock_stream> weak = s;
        s->start();
        std::vector<sse::error_code> sends;
        for (int i = 0; i < 3; ++i)
            s->async_send(data_event("event " + std::to_string(i)), [&](sse::error_code ec) { sends.push_back(ec); });
        std::optional<sse::error_code> close_result;
        s->async_close(std::nullopt, [&](sse::error_code ec) { close_result = ec; });
        s.reset();
        REQUIRE(run_until(f.io, [&] { return f.closed && close_result && sends.size() == 3; }));
        clean_run = f.st->operations <= n;
        if (clean_run) {
            CHECK(!*f.closed);
            CHECK(!*close_result);
            for (auto ec : sends)
                CHECK(!ec);
        }
        else {
            CHECK(*f.closed == sse::net_error(asio::error::network_down));
            CHECK(*close_result == sse::net_error(asio::error::network_down));
            // Sends written before the failure succeeded; the rest report it.
            bool failed = false;
            for (auto ec : sends) {
                if (ec)
                    failed = true;
                CHECK((ec ? ec == sse::net_error(asio::error::network_down) : !failed));
            }
        }
        CHECK(f.st->closed);
        REQUIRE(run_until(f.io, [&] { return weak.expired(); }));
    }
    CHECK(clean_run);
}

TEST_CASE("stream: a pull source is drained when idle, on notify and when due")
{
    struct shared_source
    {
        std::mutex m;
        std::deque<sse::event_buffer> items;
        std::optional<std::chrono::steady_clock::time_point> due;
        bool closed = false;
        int pulls = 0;
    } src;
    fixture f;
    auto s = f.make();
    s->set_source([&](std::vector<sse::event_buffer>& out, std::size_t max_bytes) {
        std::lock_guard<std::mutex> lock(src.m);
        ++src.pulls;
        sse::pull_result r;
        std::size_t bytes = 0;
        while (!src.items.empty() && (r.count == 0 || bytes + src.items.front()->size() <= max_bytes)) {
            bytes += src.items.front()->size();
            out.push_back(std::move(src.items.front()));
            src.items.pop_front();
            ++r.count;
        }
        if (r.count == 0)
            r.next_due = std::exchange(src.due, std::nullopt);
        r.closed = src.closed && src.items.empty();
        return r;
    });
    {
        std::lock_guard<std::mutex> lock(src.m);
        src.items.push_back(sse::make_event_buffer(data_event("queued before start")));
    }
    s->start();
    std::string expected = default_head + "retry: 3000\n\ndata: queued before start\n\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written == expected; }));

    // notify() from another thread.
    std::thread publisher([&] {
        {
            std::lock_guard<std::mutex> lock(src.m);
            src.items.push_back(sse::make_event_buffer(data_event("notified")));
        }
        s->notify();
        s->notify();
    });
    expected += "data: notified\n\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written == expected; }));
    publisher.join();

    // Nothing now, something in 20 ms: pulled then without a notify.
    {
        std::lock_guard<std::mutex> lock(src.m);
        src.due = std::chrono::steady_clock::now() + 20ms;
    }
    s->notify();
    REQUIRE(run_until(f.io, [&] {
        std::lock_guard<std::mutex> lock(src.m);
        return !src.due.has_value();
    }));
    {
        std::lock_guard<std::mutex> lock(src.m);
        src.items.push_back(sse::make_event_buffer(data_event("due")));
    }
    expected += "data: due\n\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written == expected; }));

    // The source ends the stream: what it hands over is written first.
    {
        std::lock_guard<std::mutex> lock(src.m);
        src.items.push_back(sse::make_event_buffer(data_event("goodbye")));
        src.closed = true;
    }
    s->notify();
    expected += "data: goodbye\n\n";
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
    CHECK(*f.closed == sse::error::source_closed);
    CHECK(f.st->written == expected);
    CHECK(f.st->shutdown_send);
}

TEST_CASE("stream: send from several threads while the io_context runs on several threads")
{
    asio::io_context io;
    support::mock_socket socket(io.get_executor());
    auto st = socket.shared_state();
    st->max_write = 100;
    auto s = std::make_shared<mock_stream>(std::move(socket), quiet_options());
    std::atomic<bool> closed{false};
    s->on_close([&](sse::error_code) { closed = true; });
    auto guard = asio::make_work_guard(io);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i)
        runners.emplace_back([&] { io.run(); });
    s->start();
    constexpr int threads = 4;
    constexpr int per_thread = 500;
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
        senders.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                if (i % 2)
                    s->send(data_event(std::to_string(t) + ":" + std::to_string(i)));
                else
                    s->notify();
                s->send(data_event(std::to_string(t) + ":" + std::to_string(i) + "b"));
            }
        });
    for (auto& t : senders)
        t.join();
    std::promise<sse::error_code> done;
    s->async_close(std::nullopt, [&](sse::error_code ec) { done.set_value(ec); });
    CHECK(!done.get_future().get());
    guard.reset();
    for (auto& t : runners)
        t.join();
    CHECK(closed);
    // Every event arrived once, and each thread's events in its order.
    std::vector<int> last(threads, -1);
    std::size_t count = 0;
    std::size_t pos = 0;
    while ((pos = st->written.find("data: ", pos)) != std::string::npos) {
        pos += 6;
        auto const colon = st->written.find(':', pos);
        int const t = std::stoi(st->written.substr(pos, colon - pos));
        int const i = std::stoi(st->written.substr(colon + 1));
        CHECK(i >= last[t]);
        last[t] = i;
        ++count;
    }
    CHECK(count == threads * (per_thread + per_thread / 2));
}

// The example of docs/stream.md: an existing server hands over a connection.
namespace docs_example {

// Your server accepted `socket` and parsed its request into `head`.
std::shared_ptr<sse::stream<asio::ip::tcp::socket>> serve_events(asio::ip::tcp::socket socket,
                                                                 sse::http::request_head const& head)
{
    sse::stream_options options;
    options.retry = std::chrono::seconds(2);
    options.heartbeat_interval = std::chrono::seconds(15);
    options.cors.allowed_origins = {"https://app.example"};

    auto stream = std::make_shared<sse::stream<asio::ip::tcp::socket>>(std::move(socket), std::move(options));
    stream->on_close([](sse::error_code ec) {
        if (ec)
            std::fprintf(stderr, "stream ended: %s\n", ec.message().c_str());
    });
    stream->start(head);   // the response head (with CORS for this Origin), then retry: 2000

    sse::event hello;
    hello.type = "hello";
    hello.data = "resuming after " + std::string(head.fields().find("Last-Event-ID").value_or("nothing"));
    stream->send(hello);
    return stream;   // keep it (or a weak_ptr) to send more later
}

} // namespace docs_example

TEST_CASE("stream: an existing server hands over a parsed request (loopback)")
{
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto const port = acceptor.local_endpoint().port();

    std::string received;
    std::thread client([&] {
        asio::io_context cio;
        asio::ip::tcp::socket c(cio);
        c.connect({asio::ip::make_address("127.0.0.1"), port});
        asio::write(c, asio::buffer(std::string("GET /events HTTP/1.1\r\nHost: localhost\r\n"
                                                "Origin: https://app.example\r\nLast-Event-ID: 41\r\n\r\n")));
        test::net_error_code ec;
        asio::read(c, asio::dynamic_buffer(received), ec);
    });

    // The existing server's side: accept, parse the head, hand it over.
    asio::ip::tcp::socket socket = acceptor.accept();
    sse::http::request_parser parser;
    char buf[512];
    while (!parser.done())
        parser.feed(std::string_view(buf, socket.read_some(asio::buffer(buf))));
    auto stream = docs_example::serve_events(std::move(socket), parser.get());
    sse::event next;
    next.id = "42";
    next.data = "{\"n\":42}";
    stream->send(next);
    stream->async_close(std::nullopt, [](sse::error_code ec) { CHECK(!ec); });
    stream.reset();
    io.run();
    client.join();
    CHECK(received == "HTTP/1.1 200 OK\r\n"
                      "Content-Type: text/event-stream\r\n"
                      "Cache-Control: no-cache\r\n"
                      "X-Accel-Buffering: no\r\n"
                      "Access-Control-Allow-Origin: https://app.example\r\n"
                      "Vary: Origin\r\n"
                      "\r\n"
                      "retry: 2000\n\n"
                      "event: hello\ndata: resuming after 41\n\n"
                      "id: 42\ndata: {\"n\":42}\n\n");
}

TEST_CASE("stream: the head leaves out a field that would forge others")
{
    sse::stream_options o = quiet_options();
    o.retry.reset();
    o.extra_headers = {{"X-Bad", "a\r\nSet-Cookie: x=y"}, {"X-Nul", std::string("a\0b", 3)}, {"X-Good", "ok"}};
    fixture f;
    auto s = f.make(o);
    s->start();
    std::string const expected = default_head.substr(0, default_head.size() - 2) + "X-Good: ok\r\n\r\n";
    REQUIRE(run_until(f.io, [&] { return f.st->written.size() >= expected.size(); }));
    CHECK(f.st->written == expected);
    s->close();
    REQUIRE(run_until(f.io, [&] { return f.closed.has_value(); }));
}
