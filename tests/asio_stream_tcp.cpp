// sse::stream over real loopback TCP, in both threading modes: the paths a mock
// socket does not take (writes tried at once on a non-blocking socket, the peer
// watched by a readiness wait, wakes gathered per io_context).
#include <sse/asio/attach.hpp>

#include <doctest/doctest.h>

#include <sse/parser.hpp>

#include "support/net.hpp"

#include <chrono>
#include <future>
#include <map>
#include <optional>
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

namespace {

// An attached stream over loopback whose io_context runs on the case's threads
// until stop_io(): its client reads on the test's thread.
struct attached_pair
{
    // `buffers`: the client's receive buffer and the server's send buffer; 0: the system's.
    explicit attached_pair(threading_case const& c, sse::hub& hub, std::size_t buffers = 0)
        : io(c.io_threads), acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}), client(io)
    {
        client.open(tcp::v4());
        if (buffers != 0)
            client.set_option(asio::socket_base::receive_buffer_size(static_cast<int>(buffers)));
        client.connect(acceptor.local_endpoint());
        sse::stream_options so;
        so.threading = c.threading;
        so.retry.reset();
        so.heartbeat_interval = 0ms;
        tcp::socket accepted = acceptor.accept();
        if (buffers != 0)
            accepted.set_option(asio::socket_base::send_buffer_size(static_cast<int>(buffers)));
        stream = std::make_shared<tcp_stream>(std::move(accepted), std::move(so));
        sse::attach_options how;
        how.on_close = [this](sse::error_code ec) { closed.set_value(ec); };
        sub = sse::attach(hub, stream, {}, how);
        stream->start();
        for (int i = 0; i < c.io_threads; ++i)
            runners.emplace_back([this] { io.run(); });
    }

    // Waits until every handler queued so far has run, then stops the io_context:
    // nothing of the stream runs until run_io().
    void stop_io()
    {
        std::promise<void> ran;
        asio::post(stream->get_executor(), [&ran] { ran.set_value(); });
        ran.get_future().wait();
        work.reset();
        io.stop();
        for (auto& t : runners)
            t.join();
        runners.clear();
    }

    void run_io()
    {
        io.restart();
        work.emplace(io.get_executor());
        runners.emplace_back([this] { io.run(); });
    }

    // Reads exactly `n` bytes.
    std::string read(std::size_t n)
    {
        std::string got(n, '\0');
        asio::read(client, asio::buffer(got));
        return got;
    }

    ~attached_pair()
    {
        work.reset();
        client.close();
        if (runners.empty())
            run_io();
        work.reset();
        for (auto& t : runners)
            t.join();
    }

    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{io.get_executor()};
    tcp::acceptor acceptor;
    tcp::socket client;
    std::shared_ptr<tcp_stream> stream;
    std::shared_ptr<sse::subscriber> sub;
    std::promise<sse::error_code> closed;
    std::vector<std::thread> runners;
};

sse::event with_data(std::string data)
{
    sse::event e;
    e.data = std::move(data);
    return e;
}

// A hub whose ids start with `epoch`, with the given inline wakes and room for large events.
sse::hub_options hub_options(std::string epoch, sse::inline_wake_policy inline_wakes)
{
    sse::hub_options ho;
    ho.epoch = std::move(epoch);
    ho.inline_wakes = inline_wakes;
    ho.queue.max_bytes = 8 * 1024 * 1024;
    return ho;
}

std::string const plain_head = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/event-stream\r\n"
                               "Cache-Control: no-cache\r\n"
                               "X-Accel-Buffering: no\r\n"
                               "\r\n";

} // namespace

TEST_CASE("stream over TCP: an idle attached stream is written by the thread that publishes, at once")
{
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        sse::hub hub(hub_options("now", sse::inline_wake_policy::always));
        attached_pair p(c, hub);
        CHECK(p.read(plain_head.size()) == plain_head);

        // No thread runs the io_context: an idle stream's event is on the wire
        // when publish() returns, written by the publishing thread.
        p.stop_io();
        for (int n = 1; n <= 3; ++n) {
            sse::event e;
            e.data = "at once " + std::to_string(n);
            hub.publish(std::move(e));
            std::string const expected = "id: now-" + std::to_string(n) + "\ndata: at once " + std::to_string(n) + "\n\n";
            REQUIRE(p.client.available() == expected.size());
            CHECK(p.read(expected.size()) == expected);
        }

        // The stream takes its writes back for its own work, and still ends once.
        p.run_io();
        sse::event own;
        own.data = "own";
        p.stream->send(own);
        CHECK(p.read(11) == "data: own\n\n");
        hub.publish(with_data("after"));
        std::string const after = "id: now-4\ndata: after\n\n";
        CHECK(p.read(after.size()) == after);
        p.client.close();
        auto result = p.closed.get_future();
        REQUIRE(result.wait_for(5s) == std::future_status::ready);
        CHECK(result.get() == sse::error::peer_closed);
        CHECK(hub.stats().subscribers == 0);
    }
}

TEST_CASE("stream over TCP: what the publishing thread cannot write at once, the stream writes, in order")
{
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        sse::hub hub(hub_options("rest", sse::inline_wake_policy::always));
        attached_pair p(c, hub, 4096);
        CHECK(p.read(plain_head.size()) == plain_head);

        // With no thread running the io_context, the first event fills the
        // socket's buffers: the rest of it and the events after wait for the stream.
        p.stop_io();
        std::vector<std::string> expected;
        for (int n = 1; n <= 5; ++n) {
            std::string data = n == 1 ? std::string(2 * 1024 * 1024, 'x') : "small " + std::to_string(n);
            expected.push_back("id: rest-" + std::to_string(n) + "\ndata: " + data + "\n\n");
            hub.publish(with_data(std::move(data)));
        }
        CHECK(p.client.available() < expected[0].size());
        p.run_io();
        for (auto const& e : expected)
            CHECK(p.read(e.size()) == e);
        // And once the stream is idle again, an event is written at once as before.
        hub.publish(with_data("idle again"));
        std::string const last = "id: rest-6\ndata: idle again\n\n";
        CHECK(p.read(last.size()) == last);
    }
}

TEST_CASE("stream over TCP: publishing threads, the stream's own sends and its timers take turns with the writes")
{
    // Run under ThreadSanitizer. Two threads publish while another sends on the
    // stream itself and a 1 ms heartbeat keeps the stream taking its writes back:
    // each client still reads every event, each source's in its order.
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        constexpr int clients = 4;
        constexpr int per_source = 400;
        asio::io_context io(c.io_threads);
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        sse::hub hub(hub_options("turns", sse::inline_wake_policy::always));
        sse::stream_options so;
        so.threading = c.threading;
        so.retry.reset();
        so.heartbeat_interval = 1ms;
        auto const options = std::make_shared<sse::stream_options const>(std::move(so));

        std::vector<std::future<std::string>> reads;
        for (int i = 0; i < clients; ++i) {
            reads.push_back(std::async(std::launch::async, [port = acceptor.local_endpoint().port()] {
                asio::io_context cio;
                tcp::socket s(cio);
                s.connect({asio::ip::make_address("127.0.0.1"), port});
                std::string bytes;
                test::net_error_code ec;
                asio::read(s, asio::dynamic_buffer(bytes), ec);
                return bytes;
            }));
        }
        std::vector<std::shared_ptr<tcp_stream>> streams;
        for (int i = 0; i < clients; ++i) {
            streams.push_back(std::make_shared<tcp_stream>(acceptor.accept(), options));
            sse::attach(hub, streams.back(), {});
            streams.back()->start();
        }
        std::vector<std::thread> runners;
        for (int i = 0; i < c.io_threads; ++i)
            runners.emplace_back([&io] { io.run(); });

        auto source = [&](std::string name) {
            for (int n = 0; n < per_source; ++n) {
                sse::event e;
                e.data = name + " " + std::to_string(n);
                hub.publish(std::move(e));
                if (n % 50 == 0)
                    std::this_thread::sleep_for(1ms);   // let the streams go idle and lend their writes
            }
        };
        std::thread a(source, "a");
        std::thread b(source, "b");
        std::thread own([&] {
            for (int n = 0; n < per_source; ++n) {
                for (auto& s : streams)
                    s->send(with_data("own " + std::to_string(n)));
                if (n % 50 == 0)
                    std::this_thread::sleep_for(1ms);
            }
        });
        a.join();
        b.join();
        own.join();
        // The stream's own sends are written in order: once a last one is, all are.
        // (Shutdown would otherwise close the streams ahead of sends still on their way.)
        for (auto& s : streams)
            CHECK_NOTHROW(s->async_send(with_data("own end"), asio::use_future).get());
        hub.shutdown();
        streams.clear();
        for (auto& r : reads) {
            received const got = parse(r.get());
            CHECK(!got.end);
            std::map<std::string, int> next;
            int total = 0;
            for (auto const& [id, data] : got.events) {
                if (data == "own end")
                    continue;
                auto const space = data.find(' ');
                REQUIRE(space != std::string::npos);
                std::string const name = data.substr(0, space);
                CHECK(std::stoi(data.substr(space + 1)) == next[name]);
                ++next[name];
                ++total;
            }
            CHECK(total == 3 * per_source);
            CHECK(next["a"] == per_source);
            CHECK(next["b"] == per_source);
            CHECK(next["own"] == per_source);
        }
        for (auto& t : runners)
            t.join();
    }
}

TEST_CASE("stream over TCP: with inline wakes off, the stream's own thread writes every event")
{
    for (auto const& c : threading_cases) {
        std::string const mode = c.name;
        CAPTURE(mode);
        sse::hub hub(hub_options("later", sse::inline_wake_policy::never));
        attached_pair p(c, hub);
        CHECK(p.read(plain_head.size()) == plain_head);
        p.stop_io();
        hub.publish(with_data("queued"));
        CHECK(p.client.available() == 0);
        p.run_io();
        std::string const expected = "id: later-1\ndata: queued\n\n";
        CHECK(p.read(expected.size()) == expected);
    }
}
