#include <sse/asio/attach.hpp>

#include <doctest/doctest.h>

#include "support/mock_socket.hpp"
#include "support/run_until.hpp"

#include <sse/parser.hpp>

#include "support/events.hpp"
#include "support/net.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using mock_stream = sse::stream<support::mock_socket>;
using state = support::mock_socket::state;

using support::run_until;

using support::data_event;

sse::hub_options hub_options()
{
    sse::hub_options o;
    o.epoch = "mock";
    return o;
}

// What follows the response head.
std::string body(state const& st)
{
    auto const end = st.written.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : st.written.substr(end + 4);
}

// One attached stream over a mock socket.
struct connection
{
    explicit connection(asio::io_context& io) : socket(io.get_executor()) {}

    support::mock_socket socket;
    std::shared_ptr<state> st = socket.shared_state();
    std::shared_ptr<mock_stream> stream;
    std::shared_ptr<sse::subscriber> sub;
    int closes = 0;
    std::optional<sse::error_code> closed;

    void attach(sse::hub& hub, sse::subscriber_options o = {}, sse::attach_options how = {},
                sse::stream_options so = quiet())
    {
        stream = std::make_shared<mock_stream>(std::move(socket), std::move(so));
        how.on_close = [this](sse::error_code ec) {
            ++closes;
            closed = ec;
        };
        sub = sse::attach(hub, stream, std::move(o), how);
        REQUIRE(sub != nullptr);
        stream->start();
    }

    static sse::stream_options quiet()
    {
        sse::stream_options o;
        o.retry.reset();
        o.heartbeat_interval = 0ms;
        o.write_timeout = 0ms;
        return o;
    }
};

// The retry values in `bytes`, in order.
std::vector<std::chrono::milliseconds> retries_in(std::string_view bytes)
{
    std::vector<std::chrono::milliseconds> out;
    sse::parser p;
    sse::error_code ec;
    for (;;) {
        auto const item = p.next(bytes, ec);
        if (ec || item == sse::parse_item::need_more)
            return out;
        if (item == sse::parse_item::retry)
            out.push_back(*p.retry());
    }
}

} // namespace

TEST_CASE("attach: published events are written to the stream, in order")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    sse::subscriber_options o;
    o.topics = {"news"};
    c.attach(hub, o);
    CHECK(hub.stats().subscribers == 1);

    hub.publish(data_event("one"));
    hub.publish(data_event("elsewhere"), sse::audience::topic("sport"));
    hub.publish(data_event("two"), sse::audience::topic("news"));
    std::string const expected = "id: mock-1\ndata: one\n\nid: mock-3\ndata: two\n\n";
    CHECK(run_until(io, [&] { return body(*c.st) == expected; }));
    CHECK(c.st->written.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

    // The peer goes away: the stream ends and leaves the hub.
    support::mock_socket::close_peer(*c.st);
    CHECK(run_until(io, [&] { return c.closed.has_value(); }));
    CHECK(*c.closed == sse::error::peer_closed);
    auto const st = hub.stats();
    CHECK(st.subscribers == 0);
    CHECK(st.by_topic.empty());
    CHECK(st.disconnected(sse::close_reason::unsubscribed) == 1);
    io.restart();
    io.run();
    CHECK(c.closes == 1);
}

TEST_CASE("attach: a kick writes the final event, then closes")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    sse::attach_options how;
    how.final_event = [](sse::close_reason why) -> std::optional<sse::event> {
        sse::event e;
        if (why == sse::close_reason::kicked) {
            e.type = "bye";
            e.data = "kicked";
        }
        else if (why == sse::close_reason::token_expired) {
            e.type = "expired";
            e.data = "log in again";
        }
        else {
            return std::nullopt;
        }
        return e;
    };
    std::string expected_final;
    sse::close_reason why = sse::close_reason::kicked;
    SUBCASE("kicked")
    {
        expected_final = "event: bye\ndata: kicked\n\n";
    }
    SUBCASE("token expired")
    {
        why = sse::close_reason::token_expired;
        expected_final = "event: expired\ndata: log in again\n\n";
    }
    SUBCASE("no final event")
    {
        how.final_event = nullptr;
    }
    c.attach(hub, {}, how);
    hub.publish(data_event("one"));
    CHECK(run_until(io, [&] { return body(*c.st) == "id: mock-1\ndata: one\n\n"; }));
    CHECK(hub.kick(c.sub->id(), why));
    CHECK(!hub.kick(c.sub->id(), why));
    CHECK(run_until(io, [&] { return c.closed.has_value(); }));
    CHECK(body(*c.st) == "id: mock-1\ndata: one\n\n" + expected_final);
    CHECK(*c.closed == sse::error::source_closed);
    CHECK(c.st->shutdown_send);
    CHECK(c.st->closed);
    CHECK(hub.stats().subscribers == 0);
    CHECK(hub.stats().disconnected(why) == 1);
    io.restart();
    io.run();
    CHECK(c.closes == 1);
}

TEST_CASE("attach: a slow consumer gets the hub's retry hint, then the stream closes")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    c.st->stalled = true;   // the head is never accepted: the events stay in the hub's queue
    sse::subscriber_options o;
    sse::queue_limits limits;
    limits.max_bytes = 256;
    limits.policy = sse::slow_consumer_policy::disconnect;
    limits.retry_hint = 4321ms;
    o.limits = limits;
    c.attach(hub, o);
    io.restart();
    io.poll();
    for (int i = 0; i < 10; ++i)
        hub.publish(data_event(std::string(50, 'x')));
    CHECK(hub.stats().disconnected(sse::close_reason::slow_consumer) == 1);
    CHECK(hub.stats().subscribers == 0);
    io.restart();
    io.poll();
    CHECK(!c.closed);   // it waits for its write

    support::mock_socket::release(*c.st);
    CHECK(run_until(io, [&] { return c.closed.has_value(); }));
    CHECK(body(*c.st) == "retry: 4321\n\n");
    CHECK(*c.closed == sse::error::source_closed);
    io.restart();
    io.run();
    CHECK(c.closes == 1);
}

TEST_CASE("attach: a slow consumer that takes nothing more is closed after the grace")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    c.st->stalled = true;   // reads nothing: not even the retry hint goes out
    sse::subscriber_options o;
    sse::queue_limits limits;
    limits.max_bytes = 256;
    limits.policy = sse::slow_consumer_policy::disconnect;
    o.limits = limits;
    sse::attach_options how;
    how.slow_consumer_grace = 50ms;
    sse::stream_options so = connection::quiet();
    so.write_timeout = 1h;   // only the grace can end it within the test
    c.attach(hub, o, how, so);
    io.restart();
    io.poll();
    for (int i = 0; i < 10; ++i)
        hub.publish(data_event(std::string(50, 'x')));
    REQUIRE(hub.stats().disconnected(sse::close_reason::slow_consumer) == 1);
    auto const start = std::chrono::steady_clock::now();
    REQUIRE(run_until(io, [&] { return c.closed.has_value(); }));
    CHECK(std::chrono::steady_clock::now() - start >= 50ms);
    CHECK(*c.closed == sse::error::stream_closed);
    CHECK(c.st->closed);
    CHECK(c.sub->ended() == sse::close_reason::slow_consumer);
    io.restart();
    io.run();   // returns: nothing is left pending
    CHECK(c.closes == 1);
}

TEST_CASE("attach: a kicked stream whose peer stalls waits for its write timeout, not the grace")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    c.st->stalled = true;
    sse::attach_options how;
    how.slow_consumer_grace = 10ms;
    c.attach(hub, {}, how);
    io.restart();
    io.poll();
    REQUIRE(hub.kick(c.sub->id()));
    CHECK(!run_until(io, [&] { return c.closed.has_value(); }, 100ms));
    c.stream->close();
    CHECK(run_until(io, [&] { return c.closed.has_value(); }));
}

TEST_CASE("attach: shutdown writes the queued events, then a randomised retry")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    sse::attach_options how;
    how.shutdown_retry_min = 200ms;
    how.shutdown_retry_max = 300ms;
    std::vector<std::unique_ptr<connection>> cs;
    for (int i = 0; i < 8; ++i) {
        cs.push_back(std::make_unique<connection>(io));
        cs.back()->attach(hub, {}, how);
    }
    hub.publish(data_event("one"));
    hub.publish(data_event("two"));
    hub.shutdown();
    CHECK(run_until(io, [&] {
        for (auto const& c : cs)
            if (!c->closed)
                return false;
        return true;
    }));
    std::set<long long> values;
    for (auto const& c : cs) {
        std::string const b = body(*c->st);
        std::string const events = "id: mock-1\ndata: one\n\nid: mock-2\ndata: two\n\n";
        CHECK(b.rfind(events + ": server shutting down\nretry: ", 0) == 0);
        auto const retries = retries_in(b);
        REQUIRE(retries.size() == 1);
        CHECK(retries[0] >= 200ms);
        CHECK(retries[0] <= 300ms);
        values.insert(retries[0].count());
        CHECK(*c->closed == sse::error::source_closed);
        CHECK(c->st->shutdown_send);
    }
    CHECK(values.size() > 1);
    CHECK(hub.stats().disconnected(sse::close_reason::shutdown) == cs.size());

    // The deadline timers (5 s by default) do not outlive the streams.
    auto const start = std::chrono::steady_clock::now();
    io.restart();
    io.run();
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    for (auto const& c : cs)
        CHECK(c->closes == 1);
}

TEST_CASE("attach: the shutdown deadline closes a stream whose peer stalls")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    connection c(io);
    c.st->stalled = true;
    sse::attach_options how;
    how.shutdown_deadline = 100ms;
    c.attach(hub, {}, how);   // no write timeout: only the deadline can end it
    hub.publish(data_event("one"));
    auto const start = std::chrono::steady_clock::now();
    hub.shutdown();
    CHECK(run_until(io, [&] { return c.closed.has_value(); }));
    CHECK(std::chrono::steady_clock::now() - start >= 100ms);
    CHECK(*c.closed == sse::error::stream_closed);
    CHECK(c.st->closed);
    io.restart();
    io.run();
    CHECK(c.closes == 1);
}

TEST_CASE("attach: the shutdown message is written even if the stream pulls before closed() reaches it")
{
    // The hub marks every subscription closed, then calls each sink's closed()
    // in turn; a stream that pulls in between (here: while the first sink's
    // on_unsubscribe runs) must still write its final message.
    asio::io_context io;
    std::unique_ptr<connection> second;
    std::uint64_t first_id = 0;
    auto o = hub_options();
    o.on_unsubscribe = [&](sse::subscriber const& s, sse::close_reason why) {
        if (s.id() != first_id || why != sse::close_reason::shutdown)
            return;
        support::mock_socket::release(*second->st);
        run_until(io, [&] { return second->closed.has_value(); }, 1s);
    };
    sse::hub hub(o);
    sse::attach_options how;
    how.shutdown_retry_min = how.shutdown_retry_max = 1234ms;
    connection first(io);
    first.attach(hub, {}, how);
    first_id = first.sub->id();
    second = std::make_unique<connection>(io);
    second->st->stalled = true;
    second->attach(hub, {}, how);
    hub.publish(data_event("one"));
    io.restart();
    io.poll();
    hub.shutdown();
    CHECK(run_until(io, [&] { return first.closed && second->closed; }));
    std::string const expected = "id: mock-1\ndata: one\n\n: server shutting down\nretry: 1234\n\n";
    CHECK(body(*first.st) == expected);
    CHECK(body(*second->st) == expected);
}

TEST_CASE("attach: however the stream ends, on_close runs once and the subscriber leaves the hub")
{
    for (std::size_t fail_at = 0; fail_at < 6; ++fail_at) {
        for (int ending = 0; ending < 3; ++ending) {
            if (ending != 0 && fail_at != 0)
                continue;   // a failure point matters only for the failure
            CAPTURE(fail_at);
            CAPTURE(ending);
            asio::io_context io;
            sse::hub hub(hub_options());
            connection c(io);
            c.st->fail_at = ending == 0 ? fail_at : std::size_t(-1);
            c.st->max_write = 7;   // many short writes
            c.attach(hub);
            for (int i = 0; i < 3; ++i)
                hub.publish(data_event("e" + std::to_string(i)));
            if (ending == 1)
                support::mock_socket::close_peer(*c.st);
            else if (ending == 2)
                c.stream->close();
            CHECK(run_until(io, [&] { return c.closed.has_value(); }));
            io.restart();
            io.run();
            CHECK(c.closes == 1);
            CHECK(hub.stats().subscribers == 0);
            CHECK(hub.stats().disconnected(sse::close_reason::unsubscribed) == 1);
            CHECK(c.st->closed);
        }
    }
}

TEST_CASE("attach: one shared on_end serves every stream, with its subscription and reason")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    struct ended
    {
        std::uint64_t id;
        std::optional<sse::close_reason> reason;
        sse::error_code why;
    };
    std::vector<ended> seen;
    auto how = std::make_shared<sse::attach_options>();
    how->on_end = [&](sse::subscriber const& s, sse::error_code why) { seen.push_back({s.id(), s.ended(), why}); };
    std::shared_ptr<sse::attach_options const> shared = std::move(how);

    std::vector<std::unique_ptr<connection>> conns;
    for (int i = 0; i < 3; ++i) {
        conns.push_back(std::make_unique<connection>(io));
        auto& c = *conns.back();
        c.stream = std::make_shared<mock_stream>(std::move(c.socket), connection::quiet());
        c.sub = sse::attach(hub, c.stream, {}, shared);
        REQUIRE(c.sub != nullptr);
        c.stream->start();
    }
    CHECK(shared.use_count() == 4);   // the streams share it; none holds a copy
    hub.publish(data_event("x"));
    support::mock_socket::close_peer(*conns[0]->st);   // the peer goes away
    conns[1]->stream->close();                          // the server closes it
    CHECK(hub.kick(conns[2]->sub->id()));               // the hub ends it
    CHECK(run_until(io, [&] { return seen.size() == 3; }));
    io.restart();
    io.run();
    REQUIRE(seen.size() == 3);
    auto const find = [&](std::uint64_t id) {
        auto const it = std::find_if(seen.begin(), seen.end(), [&](ended const& e) { return e.id == id; });
        REQUIRE(it != seen.end());
        return *it;
    };
    CHECK(find(conns[0]->sub->id()).why == sse::error::peer_closed);
    CHECK(find(conns[1]->sub->id()).why == sse::error::stream_closed);
    auto const kicked = find(conns[2]->sub->id());
    CHECK(kicked.reason == sse::close_reason::kicked);
    CHECK(kicked.why == sse::error::source_closed);
    CHECK(hub.stats().subscribers == 0);
}

TEST_CASE("attach: the hub may be destroyed while streams are attached")
{
    // ~hub() shuts down; the streams write their final message and end later,
    // on the io_context, after the hub is gone. Run under AddressSanitizer, this
    // catches any use of the destroyed hub.
    asio::io_context io;
    auto hub = std::make_unique<sse::hub>(hub_options());
    sse::attach_options how;
    how.shutdown_retry_min = how.shutdown_retry_max = 1234ms;
    connection idle(io), stalled(io), vanishing(io);
    stalled.st->stalled = true;   // still writing when the hub goes
    idle.attach(*hub, {}, how);
    stalled.attach(*hub, {}, how);
    vanishing.attach(*hub, {}, how);
    hub->publish(data_event("one"));
    io.restart();
    io.poll();
    hub.reset();
    support::mock_socket::close_peer(*vanishing.st);
    support::mock_socket::release(*stalled.st);
    io.restart();
    io.run();
    std::string const expected = "id: mock-1\ndata: one\n\n: server shutting down\nretry: 1234\n\n";
    CHECK(body(*idle.st) == expected);
    CHECK(body(*stalled.st) == expected);
    for (auto* c : {&idle, &stalled, &vanishing}) {
        CHECK(c->closes == 1);
        CHECK(c->st->closed);
        CHECK(c->sub->ended() == sse::close_reason::shutdown);
    }
}

TEST_CASE("attach: the hub may be destroyed on one thread while streams end on others")
{
    // Run under ThreadSanitizer: a stream's last call into the hub either
    // finishes before ~hub() returns or is not made.
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        asio::io_context io;
        auto hub = std::make_unique<sse::hub>(hub_options());
        std::vector<std::unique_ptr<connection>> conns;
        for (int i = 0; i < 8; ++i) {
            conns.push_back(std::make_unique<connection>(io));
            conns.back()->attach(*hub);
        }
        auto work = asio::make_work_guard(io);
        std::vector<std::thread> threads;
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([&io] { io.run(); });
        for (auto& c : conns)
            c->stream->close();
        hub.reset();
        work.reset();
        for (auto& t : threads)
            t.join();
        for (auto& c : conns)
            CHECK(c->closes == 1);
    }
}

TEST_CASE("attach: publishes may wake streams while they end and are released")
{
    // The hub reaches a stream's sink through a pointer that shares the stream's
    // ownership; the sink lives in its subscriber's allocation. Run under
    // AddressSanitizer and ThreadSanitizer: a wake that races with the stream's
    // end and release must find the sink alive or not reach it at all.
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        asio::io_context io;
        sse::hub hub(hub_options());
        std::vector<std::unique_ptr<connection>> conns;
        for (int i = 0; i < 8; ++i) {
            conns.push_back(std::make_unique<connection>(io));
            conns.back()->attach(hub);
        }
        auto work = asio::make_work_guard(io);
        std::vector<std::thread> threads;
        for (int i = 0; i < 2; ++i)
            threads.emplace_back([&io] { io.run(); });
        std::thread publisher([&hub] {
            for (int i = 0; i < 200; ++i)
                hub.publish(data_event(std::to_string(i)));
        });
        for (auto& c : conns) {
            // The peer goes away on the stream's strand (the mock is not thread-safe);
            // then only the stream's own operations and the hub hold it.
            asio::post(c->stream->get_executor(), [st = c->st] { support::mock_socket::close_peer(*st); });
            c->stream.reset();
            c->sub.reset();
        }
        publisher.join();
        work.reset();
        for (auto& t : threads)
            t.join();
        for (auto& c : conns) {
            CHECK(c->closes == 1);
            CHECK(c->closed == sse::error_code(sse::error::peer_closed));
        }
        CHECK(hub.stats().subscribers == 0);
    }
}

TEST_CASE("attach: a stream released before it starts ends its subscription at the next publish")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    support::mock_socket socket(io.get_executor());
    auto s = std::make_shared<mock_stream>(std::move(socket), connection::quiet());
    auto sub = sse::attach(hub, s, {});
    REQUIRE(sub != nullptr);
    s.reset();
    // The subscription outlives its stream safely, and nothing reaches the stream.
    CHECK(hub.stats().subscribers == 1);
    CHECK_FALSE(sub->ended().has_value());
    hub.publish(data_event("after"));
    CHECK(sub->ended() == sse::close_reason::sink_expired);
    auto const stats = hub.stats();
    CHECK(stats.subscribers == 0);
    CHECK(stats.disconnected(sse::close_reason::sink_expired) == 1);
}

TEST_CASE("attach: fails once the hub is shut down")
{
    asio::io_context io;
    sse::hub hub(hub_options());
    hub.shutdown();
    support::mock_socket socket(io.get_executor());
    auto s = std::make_shared<mock_stream>(std::move(socket), connection::quiet());
    sse::error_code ec;
    CHECK(sse::attach(hub, s, {}, {}, ec) == nullptr);
    CHECK(ec == sse::error::hub_shut_down);
    CHECK_THROWS_AS(sse::attach(hub, s, {}), std::system_error);
}
