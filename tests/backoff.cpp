#include <sse/backoff.hpp>

#include <doctest/doctest.h>

#include <random>
#include <vector>

using namespace std::chrono_literals;
using time_point = sse::backoff::clock::time_point;
using window = std::pair<long long, long long>;

namespace {

// The windows of `n` failures in a row, one second apart; {-1, -1} once a limit is reached.
std::vector<window> windows(sse::backoff& b, int n, time_point start = time_point{})
{
    std::vector<window> out;
    for (int i = 0; i < n; ++i) {
        auto const w = b.next_window(start + std::chrono::seconds(i));
        out.push_back(w ? window{w->min.count(), w->max.count()} : window{-1, -1});
    }
    return out;
}

sse::backoff_window ms(long long low, long long high)
{
    return {std::chrono::milliseconds(low), std::chrono::milliseconds(high)};
}

} // namespace

// Expectations follow the documented rule: R is the reconnection time, the top of
// attempt n's window is R x 1.5 x 2^n (default jitter 0.5) up to the cap, and its
// bottom is top / 1.5 but never below R (WHATWG HTML 9.2.3: wait the reconnection
// time, then optionally more).

TEST_CASE("backoff: the window starts at the reconnection time and doubles up to the cap")
{
    sse::backoff b;   // initial retry 3 s, cap 60 s
    CHECK(windows(b, 7) == std::vector<window>{{3000, 4500}, {6000, 9000}, {12000, 18000}, {24000, 36000},
                               {40000, 60000}, {40000, 60000}, {40000, 60000}});
    CHECK(b.attempts() == 7);
}

TEST_CASE("backoff: the server's retry is the reconnection time")
{
    sse::backoff b;
    b.server_retry(250ms);
    CHECK(b.retry() == 250ms);
    CHECK(b.reconnection_time() == 250ms);
    CHECK(windows(b, 4) == std::vector<window>{{250, 375}, {500, 750}, {1000, 1500}, {2000, 3000}});
}

TEST_CASE("backoff: retry 0 still meets a growing delay, from min_retry")
{
    sse::backoff b;
    b.server_retry(0ms);
    CHECK(b.reconnection_time() == 100ms);
    CHECK(windows(b, 4) == std::vector<window>{{100, 150}, {200, 300}, {400, 600}, {800, 1200}});
}

TEST_CASE("backoff: with min_retry 0, retry 0 means at once, however long the streak")
{
    sse::backoff_options o;
    o.min_retry = 0ms;
    sse::backoff b(o);
    b.server_retry(0ms);
    auto const got = windows(b, 10000);
    CHECK(got.front() == window{0, 0});
    CHECK(got.back() == window{0, 0});
}

TEST_CASE("backoff: a retry longer than the cap is honoured, never shortened")
{
    sse::backoff_options o;
    o.cap = 5s;
    sse::backoff b(o);
    b.server_retry(8s);
    // The cap stops the doubling; it does not cut the server's reconnection time.
    CHECK(windows(b, 3) == std::vector<window>{{8000, 12000}, {8000, 12000}, {8000, 12000}});

    b.server_retry(std::chrono::milliseconds::max());
    auto const w = b.next_window(time_point{});
    REQUIRE(w.has_value());
    CHECK(w->min == std::chrono::milliseconds::max());
    CHECK(w->max == std::chrono::milliseconds::max());
}

TEST_CASE("backoff: without jitter the delay is exactly the reconnection time, then doubles")
{
    sse::backoff_options o;
    o.jitter = 0;
    sse::backoff b(o);
    CHECK(windows(b, 7) == std::vector<window>{{3000, 3000}, {6000, 6000}, {12000, 12000}, {24000, 24000},
                               {48000, 48000}, {60000, 60000}, {60000, 60000}});
    o.jitter = -1;   // counts as zero
    sse::backoff negative(o);
    CHECK(negative.next_window(time_point{}) == ms(3000, 3000));
}

TEST_CASE("backoff: a very long streak never overflows")
{
    sse::backoff b;
    auto const got = windows(b, 1000);
    CHECK(got.back() == window{40000, 60000});
    for (auto const& [low, high] : got) {
        CHECK(low >= 3000);
        CHECK(high <= 60000);
        CHECK(low <= high);
    }
}

TEST_CASE("backoff: only a healthy stream ends the streak")
{
    sse::backoff b;   // healthy_after: 10 s
    time_point t{};
    CHECK(b.next_window(t) == ms(3000, 4500));
    CHECK(b.next_window(t + 1s) == ms(6000, 9000));

    SUBCASE("a stream that opens and closes at once does not reset the back-off")
    {
        b.opened(t + 2s);
        CHECK(b.next_window(t + 2s + 50ms) == ms(12000, 18000));
        b.opened(t + 3s);
        CHECK(b.next_window(t + 12s) == ms(24000, 36000));   // 9 s: not yet healthy
    }
    SUBCASE("a stream that stays open long enough does")
    {
        b.opened(t + 2s);
        CHECK(b.next_window(t + 12s) == ms(3000, 4500));
        CHECK(b.attempts() == 1);
    }
}

TEST_CASE("backoff: max_attempts gives up, and a healthy stream starts a new streak")
{
    sse::backoff_options o;
    o.max_attempts = 3;
    sse::backoff b(o);
    CHECK(windows(b, 5) == std::vector<window>{{3000, 4500}, {6000, 9000}, {12000, 18000}, {-1, -1}, {-1, -1}});
    b.opened(time_point{} + 10s);
    CHECK(b.next_window(time_point{} + 60s) == ms(3000, 4500));
}

TEST_CASE("backoff: max_elapsed counts from the first failure of the streak")
{
    sse::backoff_options o;
    o.max_elapsed = 30s;
    sse::backoff b(o);
    time_point const start = time_point{} + 100s;
    CHECK(b.next_window(start).has_value());
    CHECK(b.next_window(start + 29s).has_value());
    CHECK_FALSE(b.next_window(start + 30s).has_value());
    b.reset();
    CHECK(b.next_window(start + 31s) == ms(3000, 4500));
}

TEST_CASE("backoff: seeded draws never fall below the reconnection time")
{
    // Whatever the seed, the retry and the attempt: never sooner than the server asked.
    for (std::uint32_t seed = 1; seed <= 50; ++seed) {
        std::mt19937 rng(seed);
        for (long long retry : {0LL, 1LL, 40LL, 200LL, 1500LL, 3000LL, 59999LL, 120000LL}) {
            sse::backoff b;
            b.server_retry(std::chrono::milliseconds(retry));
            auto const floor = std::max(retry, 100LL);   // min_retry
            for (int attempt = 0; attempt < 8; ++attempt) {
                auto const d = b.next_delay(time_point{} + std::chrono::seconds(attempt), rng);
                REQUIRE(d.has_value());
                CHECK(d->count() >= floor);
                CHECK(d->count() <= std::max(60000LL, floor + floor / 2));
            }
        }
    }
}

TEST_CASE("backoff: delays are drawn uniformly across the window")
{
    sse::backoff_options o;
    o.max_attempts = 1;
    std::mt19937 rng(20261122);
    double sum = 0;
    long long lowest = 1'000'000, highest = -1;
    int const draws = 20000;
    for (int i = 0; i < draws; ++i) {
        sse::backoff b(o);
        b.server_retry(1500ms);
        auto const d = b.next_delay(time_point{}, rng);
        REQUIRE(d.has_value());
        lowest = std::min<long long>(lowest, d->count());
        highest = std::max<long long>(highest, d->count());
        sum += static_cast<double>(d->count());
    }
    CHECK(lowest >= 1500);
    CHECK(highest <= 2250);
    CHECK(lowest < 1520);      // the jitter reaches the floor...
    CHECK(highest > 2230);     // ...and the top
    CHECK(sum / draws == doctest::Approx(1875).epsilon(0.01));

    sse::backoff limited(o);
    CHECK(limited.next_delay(time_point{}, rng).has_value());
    CHECK_FALSE(limited.next_delay(time_point{}, rng).has_value());
}

TEST_CASE("backoff: the documented example works as written")
{
    sse::backoff policy;
    std::mt19937 rng{std::random_device{}()};
    time_point const now = sse::backoff::clock::now();
    policy.server_retry(std::chrono::milliseconds(2000));
    policy.opened(now);
    auto delay = policy.next_delay(now + 1s, rng);
    REQUIRE(delay.has_value());
    CHECK(*delay >= 2000ms);
    CHECK(*delay <= 3000ms);
}
