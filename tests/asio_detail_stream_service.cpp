// detail::stream_service: the deadlines and wakes the streams of one io_context share.
#include <sse/asio/detail/stream_service.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using sse::detail::stream_client;
using sse::detail::stream_service;

struct client final : stream_client, std::enable_shared_from_this<client>
{
    explicit client(int n) : id(n) {}

    void woken() noexcept override { ++wakes; }
    void deadline_reached() noexcept override
    {
        reached.push_back(clock_type::now());
        if (log)
            log->push_back(id);
        if (then)
            then(*this);
    }
    std::shared_ptr<stream_client> keep_alive() noexcept override { return weak_from_this().lock(); }

    int id;
    std::atomic<int> wakes{0};
    std::vector<clock_type::time_point> reached;
    std::vector<int>* log = nullptr;
    std::function<void(client&)> then;   // called back after each deadline, as a stream reschedules
};

stream_service& service_of(asio::io_context& io)
{
    auto& s = asio::use_service<stream_service>(io);
    s.use_executor(io.get_executor());
    return s;
}

} // namespace

TEST_CASE("stream_service: deadlines are reached once, not before their time, earliest first")
{
    asio::io_context io;
    auto& service = service_of(io);
    std::mt19937 random(7);
    std::uniform_int_distribution<int> ms(0, 60);

    constexpr int n = 200;
    std::vector<int> order;
    std::vector<std::shared_ptr<client>> clients;
    std::vector<clock_type::time_point> due(n);
    auto const start = clock_type::now();
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_shared<client>(i));
        clients.back()->log = &order;
        due[static_cast<std::size_t>(i)] = start + std::chrono::milliseconds(ms(random));
        service.schedule(*clients.back(), due[static_cast<std::size_t>(i)]);
    }
    // Move some deadlines earlier, some later, and forget some: each replaces the last.
    for (int i = 0; i < n; i += 3) {
        auto& d = due[static_cast<std::size_t>(i)];
        d = i % 2 == 0 ? start + std::chrono::milliseconds(ms(random) / 2) : d + 20ms;
        service.schedule(*clients[static_cast<std::size_t>(i)], d);
    }
    std::vector<bool> forgotten(n, false);
    for (int i = 1; i < n; i += 7) {
        service.unschedule(*clients[static_cast<std::size_t>(i)]);
        forgotten[static_cast<std::size_t>(i)] = true;
    }
    for (int i = 0; i < n; ++i)
        CHECK(service.scheduled(*clients[static_cast<std::size_t>(i)]) == !forgotten[static_cast<std::size_t>(i)]);

    // run() returns once every deadline was reached: the shared timer does not
    // keep the io_context busy with nothing to wait for.
    io.run();

    for (int i = 0; i < n; ++i) {
        auto const& c = *clients[static_cast<std::size_t>(i)];
        CAPTURE(i);
        if (forgotten[static_cast<std::size_t>(i)]) {
            CHECK(c.reached.empty());
            continue;
        }
        REQUIRE(c.reached.size() == 1);
        CHECK(c.reached[0] >= due[static_cast<std::size_t>(i)]);
        CHECK_FALSE(service.scheduled(c));
    }
    // Reached in the order of their deadlines.
    CHECK(std::is_sorted(order.begin(), order.end(), [&](int a, int b) {
        return due[static_cast<std::size_t>(a)] < due[static_cast<std::size_t>(b)];
    }));
}

TEST_CASE("stream_service: a client destroyed with a deadline pending is never called")
{
    asio::io_context io;
    auto& service = service_of(io);
    auto kept = std::make_shared<client>(1);
    auto dropped = std::make_shared<client>(2);
    service.schedule(*kept, clock_type::now() + 10ms);
    service.schedule(*dropped, clock_type::now() + 5ms);
    // A stream unschedules itself in its destructor; a client that is already
    // being destroyed when its deadline comes is skipped (keep_alive() is null).
    service.unschedule(*dropped);
    dropped.reset();
    io.run();
    CHECK(kept->reached.size() == 1);

    // With nothing left to wait for, the shared timer does not keep run() going:
    // a stream that ends long before its heartbeat lets the io_context finish.
    io.restart();
    service.schedule(*kept, clock_type::now() + 1h);
    service.unschedule(*kept);
    io.run_for(5s);
    CHECK(io.stopped());
    CHECK(kept->reached.size() == 1);
}

TEST_CASE("stream_service: wakes from other threads all arrive, gathered")
{
    asio::io_context io;
    auto& service = service_of(io);
    constexpr int n = 100;
    constexpr int rounds = 50;
    std::vector<std::shared_ptr<client>> clients;
    for (int i = 0; i < n; ++i)
        clients.push_back(std::make_shared<client>(i));
    auto work = asio::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    std::thread waker([&] {
        for (int r = 0; r < rounds; ++r)
            for (auto& c : clients)
                service.wake(c);
    });
    waker.join();
    // Every wake() has queued its client and posted its batch, if it had to, by
    // now: a handler posted after them runs after them (one thread, FIFO).
    asio::post(io, [&work] { work.reset(); });
    runner.join();
    for (auto const& c : clients)
        CHECK(c->wakes == rounds);
}

TEST_CASE("stream_service: streams due together set their next deadlines with one arm of the timer")
{
    // Heartbeats come due together for the streams that connected in the same
    // second, and each sets its next deadline from its callback. Here each asks
    // for an earlier one than the callback before it, the order in which arming
    // the timer for the earliest deadline took one system call per stream.
    asio::io_context io;
    auto& service = service_of(io);
    constexpr int n = 500;
    auto const first = clock_type::now() + 20ms;
    int calls = 0;
    client* last = nullptr;
    std::vector<std::shared_ptr<client>> clients;
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_shared<client>(i));
        clients.back()->then = [&](client& self) {
            ++calls;
            if (calls == n)
                last = &self;
            // The last callback asks for the earliest deadline of all, soon.
            auto const next = calls == n ? first + 30ms : first + 10h - std::chrono::milliseconds(calls);
            service.schedule(self, next);
        };
        service.schedule(*clients.back(), first);
    }
    auto const arms_before = service.timer_arms();
    // One handler: the timer's, which calls all of them back.
    for (int k = 0; k < 50 && calls < n; ++k)
        io.run_one_for(100ms);
    REQUIRE(calls == n);
    CHECK(service.timer_arms() - arms_before == 1);
    for (auto const& c : clients)
        CHECK(service.scheduled(*c));

    // That one arm is for the earliest deadline set during the callbacks.
    REQUIRE(last != nullptr);
    for (int k = 0; k < 100 && last->reached.size() < 2; ++k)
        io.run_for(50ms);
    REQUIRE(last->reached.size() == 2);
    CHECK(last->reached[1] >= first + 30ms);
    for (auto const& c : clients)
        service.unschedule(*c);
}
