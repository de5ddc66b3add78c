// sse::stream over real loopback TCP, in both threading modes: the paths a mock
// socket does not take (writes tried at once on a non-blocking socket, the peer
// watched by a readiness wait, wakes gathered per io_context).
#include <sse/asio/attach.hpp>

#include <doctest/doctest.h>

#include <sse/parser.hpp>

#include "support/net.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using tcp_stream = sse::stream<tcp::socket>;

struct threading_case
{
    char const* name;
    sse::stream_threading threading;
    int io_threads;
};

// one_thread is only correct with one thread; the strand mode is tested where it matters, on two.
threading_case const threading_cases[] = {
    {"one_thread, one io thread", sse::stream_threading::one_thread, 1},
    {"strand, two io threads", sse::stream_threading::strand, 2},
};

// What a client read: the body after the head, parsed as the WHATWG parser does.
struct received
{
    std::string head;
    std::vector<std::pair<std::string, std::string>> events;   // id, data
    std::vector<std::string> comments;
    sse::error_code end;
};

received parse(std::string const& bytes)
{
    received r;
    auto const end_of_head = bytes.find("\r\n\r\n");
    if (end_of_head == std::string::npos)
        return r;
    r.head = bytes.substr(0, end_of_head + 4);
    std::string_view body(bytes);
    body.remove_prefix(end_of_head + 4);
    sse::parser_limits limits;
    limits.max_line = 1024 * 1024;   // the large event is one line
    sse::parser p(limits);
    sse::error_code ec;
    for (;;) {
        auto const item = p.next(body, ec);
        if (ec || item == sse::parse_item::need_more) {
            r.end = ec;
            break;
        }
        if (item == sse::parse_item::event)
            r.events.emplace_back(std::string(p.event().last_event_id), std::string(p.event().data));
        else if (item == sse::parse_item::comment)
            r.comments.emplace_back(p.comment());
    }
    return r;
}

std::string event_data(int n)
{
    // One event is larger than any socket buffer here: written in parts.
    return n == 150 ? std::string(256 * 1024, 'x') : "event " + std::to_string(n);
}

} // namespace

TEST_CASE("stream over TCP: a hub's events reach every stream whole and in order, in both threading modes")
{
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        constexpr int clients = 8;
        constexpr int events = 300;

        asio::io_context io(c.io_threads);
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        sse::hub_options ho;
        ho.epoch = "tcp";
        ho.queue.max_bytes = 8 * 1024 * 1024;   // the large event must not count as a slow consumer
        sse::hub hub(std::move(ho));

        sse::stream_options so;
        so.threading = c.threading;
        so.retry.reset();
        auto const options = std::make_shared<sse::stream_options const>(std::move(so));
        sse::attach_options how;
        how.shutdown_retry_min = 1000ms;
        how.shutdown_retry_max = 1000ms;

        // Each client reads on its own thread until the server closes, through a
        // small receive buffer, so that the large event fills the kernel's buffers.
        std::vector<std::future<std::string>> reads;
        for (int i = 0; i < clients; ++i) {
            reads.push_back(std::async(std::launch::async, [port = acceptor.local_endpoint().port()] {
                asio::io_context cio;
                tcp::socket s(cio);
                s.open(tcp::v4());
                s.set_option(asio::socket_base::receive_buffer_size(4096));
                s.connect({asio::ip::make_address("127.0.0.1"), port});
                std::string bytes;
                test::net_error_code ec;
                asio::read(s, asio::dynamic_buffer(bytes), ec);
                return bytes;
            }));
        }
        for (int i = 0; i < clients; ++i) {
            auto stream = std::make_shared<tcp_stream>(acceptor.accept(), options);
            sse::attach(hub, stream, {}, how);
            stream->start();
        }
        std::vector<std::thread> runners;
        for (int i = 0; i < c.io_threads; ++i)
            runners.emplace_back([&io] { io.run(); });

        // Publishes come from a thread that does not run the io_context.
        std::thread publisher([&hub] {
            for (int n = 1; n <= events; ++n) {
                sse::event e;
                e.id = std::to_string(n);
                e.data = event_data(n);
                hub.publish(std::move(e));
            }
            hub.shutdown();
        });
        publisher.join();
        for (auto& r : reads) {
            received const got = parse(r.get());
            CHECK(got.head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
            CHECK(!got.end);
            REQUIRE(got.events.size() == events);
            for (int n = 1; n <= events; ++n) {
                auto const& [id, data] = got.events[static_cast<std::size_t>(n - 1)];
                CHECK(id == std::to_string(n));
                CHECK(data == event_data(n));
            }
            CHECK(got.comments == std::vector<std::string>{"server shutting down"});
        }
        for (auto& t : runners)
            t.join();
    }
}

TEST_CASE("stream over TCP: bytes from the peer are dropped, and its close is noticed without writing")
{
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        asio::io_context io(c.io_threads);
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        tcp::socket client(io);
        client.connect(acceptor.local_endpoint());

        sse::stream_options so;
        so.threading = c.threading;
        so.retry.reset();
        so.heartbeat_interval = 0ms;
        auto stream = std::make_shared<tcp_stream>(acceptor.accept(), std::move(so));
        std::promise<sse::error_code> closed;
        stream->on_close([&closed](sse::error_code ec) { closed.set_value(ec); });
        stream->start();
        std::vector<std::thread> runners;
        auto work = asio::make_work_guard(io);
        for (int i = 0; i < c.io_threads; ++i)
            runners.emplace_back([&io] { io.run(); });

        // A client has nothing to say, but one that talks must not end its stream
        // or stall it: the bytes are read and dropped.
        for (int i = 0; i < 3; ++i)
            asio::write(client, asio::buffer(std::string(1000, 'z')));
        sse::event e;
        e.data = "after the chatter";
        stream->send(e);
        std::string expected = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\n"
                               "X-Accel-Buffering: no\r\n"
                               "\r\n"
                               "data: after the chatter\n\n";
        std::string got(expected.size(), '\0');
        asio::read(client, asio::buffer(got));
        CHECK(got == expected);

        // The peer goes away: the stream ends with peer_closed, with nothing to write.
        client.close();
        auto result = closed.get_future();
        REQUIRE(result.wait_for(5s) == std::future_status::ready);
        CHECK(result.get() == sse::error::peer_closed);
        work.reset();
        stream.reset();
        for (auto& t : runners)
            t.join();
    }
}
