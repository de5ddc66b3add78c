#include <sse/backoff.hpp>

#include <doctest/doctest.h>

#include <random>
#include <vector>

using namespace std::chrono_literals;
using time_point = sse::backoff::clock::time_point;

namespace {

// The ceilings of `n` failures in a row, one second apart.
std::vector<long long> ceilings(sse::backoff& b, int n, time_point start = time_point{})
{
    std::vector<long long> out;
    for (int i = 0; i < n; ++i) {
        auto const c = b.next_ceiling(start + std::chrono::seconds(i));
        out.push_back(c ? c->count() : -1);
    }
    return out;
}

} // namespace

TEST_CASE("backoff: the ceiling doubles from the initial retry up to the cap")
{
    sse::backoff b;
    CHECK(ceilings(b, 8) == std::vector<long long>{3000, 6000, 12000, 24000, 48000, 60000, 60000, 60000});
    CHECK(b.attempts() == 8);
}

TEST_CASE("backoff: the server's retry is the base")
{
    sse::backoff b;
    b.server_retry(250ms);
    CHECK(b.retry() == 250ms);
    CHECK(ceilings(b, 4) == std::vector<long long>{250, 500, 1000, 2000});
}

TEST_CASE("backoff: retry 0 still meets a growing delay")
{
    sse::backoff b;
    b.server_retry(0ms);
    CHECK(ceilings(b, 4) == std::vector<long long>{100, 200, 400, 800});
}

TEST_CASE("backoff: a retry longer than the cap is capped")
{
    sse::backoff_options o;
    o.cap = 5s;
    sse::backoff b(o);
    b.server_retry(std::chrono::milliseconds::max());
    CHECK(ceilings(b, 3) == std::vector<long long>{5000, 5000, 5000});
}

TEST_CASE("backoff: a very long streak never overflows")
{
    sse::backoff b;
    auto const got = ceilings(b, 1000);
    CHECK(got.back() == 60000);
    for (auto c : got) {
        CHECK(c >= 3000);
        CHECK(c <= 60000);
    }
}

TEST_CASE("backoff: only a healthy stream ends the streak")
{
    sse::backoff b;   // healthy_after: 10 s
    time_point t{};
    CHECK(b.next_ceiling(t) == 3000ms);
    CHECK(b.next_ceiling(t + 1s) == 6000ms);

    SUBCASE("a stream that opens and closes at once does not reset the back-off")
    {
        b.opened(t + 2s);
        CHECK(b.next_ceiling(t + 2s + 50ms) == 12000ms);
        b.opened(t + 3s);
        CHECK(b.next_ceiling(t + 12s) == 24000ms);   // 9 s: not yet healthy
    }
    SUBCASE("a stream that stays open long enough does")
    {
        b.opened(t + 2s);
        CHECK(b.next_ceiling(t + 12s) == 3000ms);
        CHECK(b.attempts() == 1);
    }
}

TEST_CASE("backoff: max_attempts gives up, and a healthy stream starts a new streak")
{
    sse::backoff_options o;
    o.max_attempts = 3;
    sse::backoff b(o);
    CHECK(ceilings(b, 5) == std::vector<long long>{3000, 6000, 12000, -1, -1});
    b.opened(time_point{} + 10s);
    CHECK(b.next_ceiling(time_point{} + 60s) == 3000ms);
}

TEST_CASE("backoff: max_elapsed counts from the first failure of the streak")
{
    sse::backoff_options o;
    o.max_elapsed = 30s;
    sse::backoff b(o);
    time_point const start = time_point{} + 100s;
    CHECK(b.next_ceiling(start).has_value());
    CHECK(b.next_ceiling(start + 29s).has_value());
    CHECK_FALSE(b.next_ceiling(start + 30s).has_value());
    b.reset();
    CHECK(b.next_ceiling(start + 31s) == 3000ms);
}

TEST_CASE("backoff: delays are drawn uniformly below the ceiling (full jitter)")
{
    sse::backoff_options o;
    o.max_attempts = 1;
    std::mt19937 rng(20261122);
    double sum = 0;
    long long lowest = 1'000'000, highest = -1;
    int const draws = 20000;
    for (int i = 0; i < draws; ++i) {
        sse::backoff b(o);
        auto const d = b.next_delay(time_point{}, rng);
        REQUIRE(d.has_value());
        lowest = std::min<long long>(lowest, d->count());
        highest = std::max<long long>(highest, d->count());
        sum += static_cast<double>(d->count());
    }
    CHECK(lowest >= 0);
    CHECK(highest <= 3000);
    CHECK(lowest < 100);       // full jitter reaches near zero...
    CHECK(highest > 2900);     // ...and near the ceiling
    CHECK(sum / draws == doctest::Approx(1500).epsilon(0.03));

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
    CHECK(*delay <= 2000ms);
}
