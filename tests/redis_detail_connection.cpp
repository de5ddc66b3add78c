#include <sse/redis/detail/connection.hpp>

#include <doctest/doctest.h>

#include "support/redis_server.hpp"
#include "support/resp_script_server.hpp"
#include "support/run_until.hpp"

#include <asio/io_context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sse::redis::error;
using sse::redis::detail::connection;
using sse::redis::detail::reply;

namespace {

struct outcome
{
    bool done = false;
    std::error_code ec;
    reply r;
};

std::shared_ptr<connection> connected(asio::io_context& io, std::uint16_t port,
                                      std::size_t max_reply_bytes = 64 * 1024 * 1024)
{
    auto c = connection::create(io.get_executor(), max_reply_bytes);
    bool done = false;
    std::error_code ec;
    c->async_connect("127.0.0.1", port, 2s, [&](std::error_code e) {
        done = true;
        ec = e;
    });
    REQUIRE_MESSAGE(support::run_until(io, [&] { return done; }), "connect did not complete within 5 s");
    REQUIRE_MESSAGE(!ec, ec.message());
    CHECK(c->is_open());
    return c;
}

/// Queues a command whose outcome lands in the returned object.
std::shared_ptr<outcome> send(connection& c, std::vector<std::string> args, std::chrono::milliseconds timeout = 2s)
{
    auto o = std::make_shared<outcome>();
    c.async_command(std::move(args), timeout, [o](std::error_code ec, reply r) {
        o->done = true;
        o->ec = ec;
        o->r = std::move(r);
    });
    return o;
}

outcome run(asio::io_context& io, connection& c, std::vector<std::string> args, std::chrono::milliseconds timeout = 2s)
{
    auto o = send(c, std::move(args), timeout);
    REQUIRE_MESSAGE(support::run_until(io, [&] { return o->done; }), "no reply within 5 s");
    return *o;
}

std::uint16_t closed_port()
{
    // A port nothing listens on: bound, then closed (nothing else takes it in the meantime on loopback).
    support::resp_script_server probe([](auto&) {});
    return probe.port();
}

} // namespace

TEST_CASE("redis connection: connect and PING")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto const o = run(io, *c, {"PING"});
    CHECK(!o.ec);
    CHECK(o.r.type == reply::kind::status);
    CHECK(o.r.str == "PONG");

    auto const n = run(io, *c, {"GET", "missing"});
    CHECK(!n.ec);
    CHECK(n.r.type == reply::kind::nil);

    auto const i = run(io, *c, {"INCRBY", "counter", "41"});
    CHECK(i.r.type == reply::kind::integer);
    CHECK(i.r.integer == 41);

    run(io, *c, {"RPUSH", "list", "a", "b"});
    auto const a = run(io, *c, {"LRANGE", "list", "0", "-1"});
    REQUIRE(a.r.type == reply::kind::array);
    REQUIRE(a.r.elements.size() == 2);
    CHECK(a.r.elements[0].type == reply::kind::string);
    CHECK(a.r.elements[0].str == "a");
    CHECK(a.r.elements[1].str == "b");
}

TEST_CASE("redis connection: a host name is resolved")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    std::optional<std::error_code> ec;
    c->async_connect("localhost", redis.port(), 2s, [&](std::error_code e) { ec = e; });
    REQUIRE(support::run_until(io, [&] { return ec.has_value(); }));
    // localhost may resolve to ::1 first, where Redis does not listen: the next address is tried.
    CHECK_MESSAGE(!*ec, ec->message());
}

TEST_CASE("redis connection: 1000 pipelined commands are answered in order")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    std::vector<std::string> got;
    std::vector<long long> counts;
    for (int i = 0; i < 1000; ++i) {
        c->async_command({"ECHO", "m" + std::to_string(i)}, 5s, [&](std::error_code ec, reply r) {
            CHECK(!ec);
            got.push_back(r.str);
        });
        c->async_command({"INCR", "n"}, 5s, [&](std::error_code, reply r) { counts.push_back(r.integer); });
    }
    REQUIRE(support::run_until(io, [&] { return counts.size() == 1000; }, 10s));
    REQUIRE(got.size() == 1000);
    for (int i = 0; i < 1000; ++i) {
        CAPTURE(i);
        CHECK(got[static_cast<std::size_t>(i)] == "m" + std::to_string(i));
        CHECK(counts[static_cast<std::size_t>(i)] == i + 1);
    }
}

TEST_CASE("redis connection: arguments and replies are binary-safe")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    std::string const tricky("a\0b\r\nc\n\r$3\r\n*1\r\n\xff", 18);
    std::string big(1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 7 + i / 251);

    CHECK(!run(io, *c, {"SET", tricky, tricky}).ec);
    auto const t = run(io, *c, {"GET", tricky});
    CHECK(t.r.type == reply::kind::string);
    CHECK(t.r.str == tricky);

    CHECK(!run(io, *c, {"SET", "big", big}).ec);
    auto const b = run(io, *c, {"GET", "big"});
    CHECK(b.r.str.size() == big.size());
    CHECK(b.r.str == big);
    // Checked independently of the connection under test.
    CHECK(redis.command({"STRLEN", "big"}).integer == static_cast<long long>(big.size()));
    CHECK(redis.command({"GET", tricky}).str == tricky);

    auto const e = run(io, *c, {"ECHO", ""});
    CHECK(e.r.type == reply::kind::string);
    CHECK(e.r.str.empty());
}

TEST_CASE("redis connection: error replies are classified and keep their message")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    run(io, *c, {"SET", "s", "v"});
    auto const w = run(io, *c, {"LPUSH", "s", "x"});
    CHECK(w.ec == error::wrong_type);
    CHECK(w.r.type == reply::kind::error);
    CHECK(w.r.str.rfind("WRONGTYPE", 0) == 0);

    auto const u = run(io, *c, {"NOSUCHCOMMAND"});
    CHECK(u.ec == error::server_error);
    CHECK(u.r.str.rfind("ERR unknown command", 0) == 0);

    auto const s = run(io, *c, {"EVALSHA", std::string(40, 'a'), "0"});
    CHECK(s.ec == error::noscript);

    // The connection carries on after error replies.
    CHECK(run(io, *c, {"PING"}).r.str == "PONG");
}

TEST_CASE("redis connection: a wrong password or none is auth_failed")
{
    support::redis_server_options opts;
    opts.requirepass = "right";
    support::redis_server redis(opts);
    asio::io_context io;
    auto c = connected(io, redis.port());

    auto const none = run(io, *c, {"GET", "k"});   // NOAUTH
    CHECK(none.ec == error::auth_failed);
    CHECK(none.r.str.rfind("NOAUTH", 0) == 0);

    auto const wrong = run(io, *c, {"AUTH", "wrong"});   // WRONGPASS
    CHECK(wrong.ec == error::auth_failed);
    CHECK(wrong.r.str.rfind("WRONGPASS", 0) == 0);

    auto const right = run(io, *c, {"AUTH", "right"});
    CHECK(!right.ec);
    CHECK(right.r.str == "OK");
    CHECK(!run(io, *c, {"GET", "k"}).ec);
}

TEST_CASE("redis connection: errors a real Redis 7 does not send are classified (fake server)")
{
    struct scripted
    {
        std::vector<std::string> command;
        std::string answer;
        sse::redis::error expected;
    };
    std::vector<scripted> const cases = {
        {{"XADD", "{n}:log", "*", "k", "v"}, "-ERR unknown command 'XADD'\r\n", error::no_streams},
        {{"xread", "STREAMS", "k", "0"}, "-ERR unknown command 'xread', with args beginning with: 'STREAMS' \r\n",
         error::no_streams},
        {{"XRANGE", "k", "-", "+"}, "-ERR unknown command `XRANGE`, with args beginning with: \r\n",
         error::no_streams},
        {{"XREVRANGE", "k", "+", "-"}, "-ERR unknown command 'XREVRANGE'\r\n", error::no_streams},
        {{"FOO"}, "-ERR unknown command 'FOO'\r\n", error::server_error},
        {{"GET", "k"}, "-MOVED 3999 127.0.0.1:6381\r\n", error::moved},
        {{"GET", "k"}, "-ASK 3999 127.0.0.1:6381\r\n", error::moved},
        {{"EVALSHA", "x", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n", error::noscript},
        {{"GET", "k"}, "-NOPERM this user has no permissions to access one of the keys\r\n", error::auth_failed},
        {{"GET", "k"}, "-ERR something else\r\n", error::server_error},
        {{"GET", "k"}, "-ASKING is not a redirection\r\n", error::server_error},
    };
    std::vector<std::vector<std::string>> seen;
    std::mutex mutex;
    support::resp_script_server fake([&](auto& conn) {
        for (auto const& c : cases) {
            auto const got = conn.read_commands(1);
            if (got.empty())
                return;
            {
                std::lock_guard<std::mutex> lock(mutex);
                seen.push_back(got[0]);
            }
            conn.send(c.answer);
        }
        conn.wait_for_close();
    });
    asio::io_context io;
    auto c = connected(io, fake.port());
    for (auto const& s : cases) {
        CAPTURE(s.answer);
        auto const o = run(io, *c, s.command);
        CHECK(o.ec == s.expected);
        CHECK(o.r.type == reply::kind::error);
        CHECK(o.r.str + "\r\n" == s.answer.substr(1));
    }
    c->close();
    std::lock_guard<std::mutex> lock(mutex);
    REQUIRE(seen.size() == cases.size());
    CHECK(seen[0] == cases[0].command);   // the command reached the server as sent
}

TEST_CASE("redis connection: garbage from the server is protocol_error, never a crash")
{
    for (std::string const& garbage : {std::string("!!not resp\r\n"), std::string("HTTP/1.1 200 OK\r\n\r\n"),
                                      std::string("$abc\r\n"), std::string("*1\r\n?\r\n"),
                                      std::string("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"),
                                      std::string("*-5\r\n")}) {
        CAPTURE(garbage);
        support::resp_script_server fake([&](auto& conn) {
            conn.read_commands(1);
            conn.send(garbage);
            conn.wait_for_close();
        });
        asio::io_context io;
        auto c = connected(io, fake.port());
        auto const first = send(*c, {"PING"});
        auto const second = send(*c, {"PING"});
        REQUIRE(support::run_until(io, [&] { return first->done && second->done; }));
        CHECK(first->ec == error::protocol_error);
        CHECK(first->r.type == reply::kind::error);
        CHECK(!first->r.str.empty());
        CHECK(second->ec == error::connection_lost);
        CHECK(!c->is_open());
        // Later commands fail at once, and asynchronously.
        auto const later = send(*c, {"PING"});
        CHECK(!later->done);
        REQUIRE(support::run_until(io, [&] { return later->done; }));
        CHECK(later->ec == error::connection_lost);
    }
}

TEST_CASE("redis connection: a reply unasked for is protocol_error")
{
    support::resp_script_server fake([&](auto& conn) {
        conn.send("+HELLO\r\n");
        conn.wait_for_close();
    });
    asio::io_context io;
    auto c = connected(io, fake.port());
    REQUIRE_MESSAGE(support::run_until(io, [&] { return !c->is_open(); }), "the connection stayed open");
}

TEST_CASE("redis connection: a reply over max_reply_bytes is protocol_error")
{
    support::redis_server redis;
    redis.command({"SET", "big", std::string(5000, 'x')});
    redis.command({"SET", "small", "y"});
    for (int i = 0; i < 200; ++i)
        redis.command({"RPUSH", "many", "z"});

    SUBCASE("a bulk string")
    {
        asio::io_context io;
        auto c = connected(io, redis.port(), 4096);
        CHECK(run(io, *c, {"GET", "small"}).r.str == "y");
        auto const o = run(io, *c, {"GET", "big"});
        CHECK(o.ec == error::protocol_error);
        CHECK(o.r.str.find("max_reply_bytes") != std::string::npos);
        CHECK(!c->is_open());
    }
    SUBCASE("an array of small elements (its size in memory)")
    {
        asio::io_context io;
        auto c = connected(io, redis.port(), 4096);
        auto const o = run(io, *c, {"LRANGE", "many", "0", "-1"});   // about 1 KB on the wire
        CHECK(o.ec == error::protocol_error);
        CHECK(!c->is_open());
    }
    SUBCASE("within the limit")
    {
        asio::io_context io;
        auto c = connected(io, redis.port(), 64 * 1024);
        CHECK(run(io, *c, {"GET", "big"}).r.str.size() == 5000);
        CHECK(run(io, *c, {"LRANGE", "many", "0", "-1"}).r.elements.size() == 200);
    }
}

TEST_CASE("redis connection: a hostile announced size allocates nothing (fake server)")
{
    for (std::string const& header : {std::string("*2000000000\r\n"), std::string("*2147483647\r\n"),
                                     std::string("$2000000000\r\nabc"), std::string("*1\r\n*1000000000\r\n")}) {
        CAPTURE(header);
        support::resp_script_server fake([&](auto& conn) {
            conn.read_commands(1);
            conn.send(header);
            conn.send(std::string(8192, ':'));   // not enough to complete anything, more than the limit
            conn.wait_for_close();
        });
        asio::io_context io;
        auto c = connected(io, fake.port(), 4096);
        auto const o = run(io, *c, {"GET", "k"});
        CHECK(o.ec == error::protocol_error);
    }
}

TEST_CASE("redis connection: connecting to a closed port fails")
{
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    std::optional<std::error_code> ec;
    c->async_connect("127.0.0.1", closed_port(), 2s, [&](std::error_code e) { ec = e; });
    REQUIRE(support::run_until(io, [&] { return ec.has_value(); }));
    CHECK(*ec == asio::error::connection_refused);
    CHECK(!c->is_open());
    auto const o = send(*c, {"PING"});
    REQUIRE(support::run_until(io, [&] { return o->done; }));
    CHECK(o->ec == error::connection_lost);
}

TEST_CASE("redis connection: a connect that hangs is timeout")
{
    // A listener that never accepts, its queue filled: Linux then drops further
    // SYNs (tcp_abort_on_overflow 0), so the next connect neither succeeds nor fails.
    int const listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof a;
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), size) == 0);
    REQUIRE(::listen(listener, 0) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &size) == 0);
    std::vector<int> fillers;
    for (int i = 0; i < 4; ++i) {
        int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        ::connect(fd, reinterpret_cast<sockaddr*>(&a), size);
        fillers.push_back(fd);
    }
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    std::optional<std::error_code> ec;
    auto const start = std::chrono::steady_clock::now();
    c->async_connect("127.0.0.1", ntohs(a.sin_port), 300ms, [&](std::error_code e) { ec = e; });
    REQUIRE(support::run_until(io, [&] { return ec.has_value(); }));
    CHECK(*ec == error::timeout);
    CHECK(std::chrono::steady_clock::now() - start >= 300ms);
    CHECK(!c->is_open());
    for (int fd : fillers)
        ::close(fd);
    ::close(listener);
}

TEST_CASE("redis connection: commands sent while connecting are written once connected")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    bool connected_ok = false;
    c->async_connect("127.0.0.1", redis.port(), 2s, [&](std::error_code ec) { connected_ok = !ec; });
    auto const o = send(*c, {"ECHO", "early"});
    REQUIRE(support::run_until(io, [&] { return o->done; }));
    CHECK(connected_ok);
    CHECK(o->r.str == "early");
}

TEST_CASE("redis connection: handlers never run inside the call")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    auto const before = send(*c, {"PING"});   // not connected: fails, but later
    CHECK(!before->done);
    support::run_until(io, [&] { return before->done; });
    CHECK(before->ec == error::connection_lost);

    auto const bad = send(*c, {});   // no arguments
    CHECK(!bad->done);
    support::run_until(io, [&] { return bad->done; });
    CHECK(bad->ec == std::errc::invalid_argument);
}

TEST_CASE("redis connection: the server killed with commands pending is connection_lost")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto const blocked = send(*c, {"BLPOP", "nothing", "0"}, 0ms);   // waits for ever
    auto const behind = send(*c, {"PING"}, 0ms);
    // The BLPOP is in Redis once another client sees it blocked.
    REQUIRE(support::run_until(io, [&] {
        return redis.command({"INFO", "clients"}).str.find("blocked_clients:1") != std::string::npos;
    }));
    redis.kill();
    REQUIRE(support::run_until(io, [&] { return blocked->done && behind->done; }));
    CHECK(blocked->ec == error::connection_lost);
    CHECK(behind->ec == error::connection_lost);
    CHECK(!c->is_open());
}

TEST_CASE("redis connection: a command past its timeout is timeout, and the connection closes")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto const start = std::chrono::steady_clock::now();
    auto const blocked = send(*c, {"BLPOP", "nothing", "5"}, 200ms);
    auto const behind = send(*c, {"PING"}, 10s);
    REQUIRE(support::run_until(io, [&] { return blocked->done && behind->done; }));
    auto const took = std::chrono::steady_clock::now() - start;
    CHECK(blocked->ec == error::timeout);
    CHECK(behind->ec == error::connection_lost);   // its reply could no longer be matched
    CHECK(took >= 200ms);
    CHECK(took < 4s);
    CHECK(!c->is_open());
}

TEST_CASE("redis connection: a short timeout queued behind a long one still fires")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto const slow = send(*c, {"BLPOP", "nothing", "5"}, 10s);
    auto const quick = send(*c, {"PING"}, 300ms);
    REQUIRE(support::run_until(io, [&] { return slow->done && quick->done; }));
    CHECK(quick->ec == error::timeout);
    CHECK(slow->ec == error::connection_lost);
}

TEST_CASE("redis connection: close() fails pending commands with connection_lost")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto const blocked = send(*c, {"BLPOP", "nothing", "0"}, 0ms);
    c->close();
    c->close();   // idempotent
    REQUIRE(support::run_until(io, [&] { return blocked->done; }));
    CHECK(blocked->ec == error::connection_lost);
    CHECK(!c->is_open());
}

TEST_CASE("redis connection: close() while connecting completes the connect with connection_lost")
{
    support::resp_script_server fake([](auto& conn) { conn.wait_for_close(); });
    asio::io_context io;
    auto c = connection::create(io.get_executor(), 1024);
    std::optional<std::error_code> ec;
    c->async_connect("127.0.0.1", fake.port(), 2s, [&](std::error_code e) { ec = e; });
    c->close();
    REQUIRE(support::run_until(io, [&] { return ec.has_value(); }));
    CHECK(*ec == error::connection_lost);
    CHECK(!c->is_open());
}

TEST_CASE("redis connection: dropped by its owner with commands pending, it answers them, then goes")
{
    support::redis_server redis;
    asio::io_context io;
    std::weak_ptr<connection> weak;
    std::vector<std::string> got;
    {
        auto c = connected(io, redis.port());
        weak = c;
        for (int i = 0; i < 100; ++i)
            c->async_command({"ECHO", std::to_string(i)}, 5s,
                             [&got](std::error_code ec, reply r) { got.push_back(ec ? ec.message() : r.str); });
    }
    REQUIRE(support::run_until(io, [&] { return got.size() == 100; }));
    for (int i = 0; i < 100; ++i)
        CHECK(got[static_cast<std::size_t>(i)] == std::to_string(i));
    // Idle and unowned, it closes and is freed.
    REQUIRE_MESSAGE(support::run_until(io, [&] { return weak.expired(); }), "the idle connection kept itself alive");
}

TEST_CASE("redis connection: dropped by its owner while the server dies, no crash")
{
    support::redis_server redis;
    asio::io_context io;
    auto lost = std::make_shared<int>(0);
    std::weak_ptr<connection> weak;
    {
        auto c = connected(io, redis.port());
        weak = c;
        c->async_command({"BLPOP", "nothing", "0"}, 0ms, [lost](std::error_code ec, reply) {
            if (ec == error::connection_lost)
                ++*lost;
        });
        c->async_command({"PING"}, 0ms, [lost](std::error_code ec, reply) {
            if (ec == error::connection_lost)
                ++*lost;
        });
    }
    REQUIRE(support::run_until(io, [&] {
        return redis.command({"INFO", "clients"}).str.find("blocked_clients:1") != std::string::npos;
    }));
    // The writes' completions are ready by now: once they have run, only the
    // pending commands keep the connection alive.
    io.restart();
    io.poll();
    CHECK(!weak.expired());
    redis.kill();
    REQUIRE(support::run_until(io, [&] { return *lost == 2; }));
    REQUIRE(support::run_until(io, [&] { return weak.expired(); }));
}

TEST_CASE("redis connection: dropped with the io_context, pending work is freed (ASan)")
{
    support::redis_server redis;
    auto io = std::make_unique<asio::io_context>();
    auto c = connected(*io, redis.port());
    send(*c, {"BLPOP", "nothing", "0"}, 0ms);
    send(*c, {"PING"}, 0ms);
    io->run_for(20ms);
    c.reset();
    io.reset();   // destroys the pending operations and, through them, the connection
}

TEST_CASE("redis connection: commands from several threads, io_context run by several threads")
{
    support::redis_server redis;
    asio::io_context io;
    auto c = connected(io, redis.port());
    auto work = asio::make_work_guard(io);
    std::vector<std::thread> runners;
    for (int i = 0; i < 2; ++i)
        runners.emplace_back([&] { io.run(); });

    constexpr int senders = 4;
    constexpr int per_sender = 250;
    std::mutex mutex;
    std::vector<std::vector<std::string>> got(senders);
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < senders; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_sender; ++i)
                c->async_command({"ECHO", std::to_string(t) + ":" + std::to_string(i)}, 5s,
                                 [&, t](std::error_code ec, reply r) {
                                     {
                                         std::lock_guard<std::mutex> lock(mutex);
                                         got[static_cast<std::size_t>(t)].push_back(ec ? ec.message() : r.str);
                                     }
                                     ++done;
                                 });
        });
    for (auto& t : threads)
        t.join();
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (done.load() < senders * per_sender && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);   // the runners do the work; this thread only watches
    c->close();
    work.reset();
    for (auto& r : runners)
        r.join();
    REQUIRE(done.load() == senders * per_sender);
    for (int t = 0; t < senders; ++t) {
        CAPTURE(t);
        auto const& g = got[static_cast<std::size_t>(t)];
        REQUIRE(g.size() == per_sender);
        // Each thread's commands are answered in the order that thread sent them.
        for (int i = 0; i < per_sender; ++i)
            CHECK(g[static_cast<std::size_t>(i)] == std::to_string(t) + ":" + std::to_string(i));
    }
}
