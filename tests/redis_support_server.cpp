// The test harness itself: later suites rely on restart() and AOF keeping their promises.
#include "support/redis_server.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace {

std::string run_id(support::redis_server const& redis)
{
    auto const info = redis.command({"INFO", "server"}).str;
    auto const at = info.find("run_id:");
    REQUIRE(at != std::string::npos);
    return info.substr(at + 7, 40);
}

} // namespace

TEST_CASE("support redis_server: a private server on a free loopback port, removed after")
{
    std::string dir;
    {
        support::redis_server redis;
        dir = redis.dir();
        CHECK(redis.running());
        CHECK(redis.port() != 0);
        CHECK(std::filesystem::is_directory(dir));
        CHECK(redis.command({"PING"}).str == "PONG");
        auto const cfg = redis.command({"CONFIG", "GET", "bind"});
        REQUIRE(cfg.elements.size() == 2);
        CHECK(cfg.elements[1].str == "127.0.0.1");
        CHECK(redis.command({"CONFIG", "GET", "save"}).elements.at(1).str.empty());
    }
    CHECK(!std::filesystem::exists(dir));
}

TEST_CASE("support redis_server: two servers get two ports")
{
    support::redis_server a;
    support::redis_server b;
    CHECK(a.port() != b.port());
    a.command({"SET", "where", "a"});
    CHECK(b.command({"EXISTS", "where"}).integer == 0);
}

TEST_CASE("support redis_server: without AOF a restart loses the data, on the same port")
{
    support::redis_server redis;
    auto const port = redis.port();
    redis.command({"SET", "k", "v"});
    redis.restart();
    CHECK(redis.port() == port);
    CHECK(redis.command({"EXISTS", "k"}).integer == 0);
}

TEST_CASE("support redis_server: with AOF (appendfsync always) a SIGKILL loses nothing")
{
    support::redis_server_options o;
    o.appendonly = true;
    support::redis_server redis(o);
    CHECK(redis.command({"CONFIG", "GET", "appendfsync"}).elements.at(1).str == "always");
    redis.command({"SET", "k", "v"});
    auto const before = run_id(redis);
    redis.kill();
    CHECK(!redis.running());
    CHECK_THROWS(redis.command({"PING"}, std::chrono::milliseconds(200)));
    redis.start();
    CHECK(redis.command({"GET", "k"}).str == "v");
    CHECK(run_id(redis) != before);   // a new process: a new run_id
}

TEST_CASE("support redis_server: requirepass, and command() authenticates")
{
    support::redis_server_options o;
    o.requirepass = "pw";
    support::redis_server redis(o);
    CHECK(redis.command({"PING"}).str == "PONG");
    CHECK(redis.url("ns") == "redis://:pw@127.0.0.1:" + std::to_string(redis.port()) + "/ns");
}
