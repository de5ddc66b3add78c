#include <sse/detail/ring.hpp>
#include <sse/detail/slot_blocks.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if defined(SSE_DETAIL_SLOT_BLOCKS_ASAN)
#include <sanitizer/asan_interface.h>
#endif

// Each test case uses a block size of its own: the pool is per size and
// process-wide, and nothing else in this binary allocates these sizes from it.

namespace {

template<class Blocks>
std::set<void*> take_blocks(int n)
{
    std::set<void*> taken;
    for (int i = 0; i < n; ++i)
        taken.insert(Blocks::take());
    return taken;
}

template<class Blocks>
void give_blocks(std::set<void*> const& blocks)
{
    for (void* p : blocks)
        Blocks::give(p);
}

} // namespace

TEST_CASE("slot_blocks: a block given back is handed out again, not a new one")
{
    using blocks = sse::detail::slot_blocks<72>;
    auto const first = take_blocks<blocks>(5);
    REQUIRE(first.size() == 5);
    give_blocks<blocks>(first);
    auto const second = take_blocks<blocks>(5);
    CHECK(second == first);
    give_blocks<blocks>(second);
}

TEST_CASE("slot_blocks: blocks freed on other threads reach the thread that allocates")
{
    using blocks = sse::detail::slot_blocks<80>;
    auto const taken = take_blocks<blocks>(100);
    REQUIRE(taken.size() == 100);
    // Another thread frees them all, as a stream's thread frees its queue's block.
    std::thread([&] { give_blocks<blocks>(taken); }).join();
    auto const again = take_blocks<blocks>(100);
    CHECK(again == taken);
    give_blocks<blocks>(again);
}

TEST_CASE("slot_blocks: a thread that ends gives back the blocks it had taken and not handed out")
{
    using blocks = sse::detail::slot_blocks<88>;
    auto const taken = take_blocks<blocks>(10);
    REQUIRE(taken.size() == 10);
    // Given back on a thread that never takes: they go to the shared stack.
    std::thread([&] { give_blocks<blocks>(taken); }).join();
    // This thread takes one block: its cache adopts all ten, and keeps nine (and
    // the one it gives back) when it ends.
    void* used = nullptr;
    std::thread([&] {
        used = blocks::take();
        blocks::give(used);
    }).join();
    auto const after = take_blocks<blocks>(10);
    CHECK(after == taken);
    CHECK(after.count(used) == 1);
    give_blocks<blocks>(after);
}

TEST_CASE("slot_blocks: a thread that takes gets back first the blocks it gave back last")
{
    using blocks = sse::detail::slot_blocks<120>;
    // Three blocks freed long ago, on a stream's thread: on the shared stack.
    auto const old = take_blocks<blocks>(3);
    std::thread([&] { give_blocks<blocks>(old); }).join();
    // This thread adopts them with its next take, then takes a second; the third
    // stays in its list.
    void* const a = blocks::take();
    CHECK(old.count(a) == 1);
    void* const b = blocks::take();
    blocks::give(a);
    blocks::give(b);
    // What it gave back last comes first, not the one it still held: the next
    // step of a fan-out reuses what the last one freed, still in the cache.
    CHECK(blocks::take() == b);
    CHECK(blocks::take() == a);
    void* const held = blocks::take();
    CHECK(old.count(held) == 1);
    CHECK(held != a);
    CHECK(held != b);
    blocks::give(held);
    blocks::give(a);
    blocks::give(b);
}

TEST_CASE("slot_blocks: a thread keeps at most 64 of the blocks it gave back last; older ones reach other threads")
{
    using blocks = sse::detail::slot_blocks<112>;
    std::vector<void*> order;
    for (int i = 0; i < 100; ++i)
        order.push_back(blocks::take());
    for (void* p : order)
        blocks::give(p);
    // The 65th give found 64 kept: those went to the shared stack, and this
    // thread kept the 36 given from then on.
    std::set<void*> const older(order.begin(), order.begin() + 64);
    std::set<void*> const kept(order.begin() + 64, order.end());
    std::set<void*> elsewhere;
    std::thread([&] {
        for (int i = 0; i < 64; ++i)
            elsewhere.insert(blocks::take());
        for (void* p : elsewhere)
            blocks::give(p);
    }).join();
    CHECK(elsewhere == older);
    std::vector<void*> mine;
    for (int i = 0; i < 36; ++i)
        mine.push_back(blocks::take());
    // The warmest first.
    CHECK(std::vector<void*>(order.rbegin(), order.rbegin() + 36) == mine);
    CHECK(std::set<void*>(mine.begin(), mine.end()) == kept);
    for (void* p : mine)
        blocks::give(p);
}

TEST_CASE("slot_blocks: threads that take and give at once never share a block")
{
    using blocks = sse::detail::slot_blocks<96>;
    constexpr int threads = 4;
    constexpr int rounds = 20000;
    std::atomic<int> shared_blocks{0};
    std::vector<std::thread> pool;
    // Half the blocks a thread takes are given back by its neighbour, as when the
    // publishing thread fills queues that stream threads drain.
    std::vector<std::vector<void*>> handed(threads);
    std::vector<std::atomic<bool>> done(threads);
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            std::vector<void*> mine;
            for (int i = 0; i < rounds; ++i) {
                auto* p = static_cast<std::uint64_t*>(blocks::take());
                // A block is this thread's alone until it gives it back: stamp it
                // and check that nobody else wrote it meanwhile.
                std::uint64_t const stamp = (std::uint64_t(t) << 32) | std::uint32_t(i);
                for (int w = 0; w < 12; ++w)
                    p[w] = stamp;
                mine.push_back(p);
                if (mine.size() == 8) {
                    for (void* q : mine) {
                        auto* words = static_cast<std::uint64_t*>(q);
                        for (int w = 0; w < 12; ++w)
                            if (words[w] >> 32 != std::uint64_t(t))
                                ++shared_blocks;
                        blocks::give(q);
                    }
                    mine.clear();
                }
            }
            for (void* q : mine)
                blocks::give(q);
        });
    for (auto& th : pool)
        th.join();
    CHECK(shared_blocks.load() == 0);
}

#if defined(SSE_DETAIL_SLOT_BLOCKS_ASAN)
TEST_CASE("slot_blocks: under AddressSanitizer a block given back is poisoned but for its link")
{
    using blocks = sse::detail::slot_blocks<104>;
    auto* p = static_cast<char*>(blocks::take());
    CHECK_FALSE(__asan_address_is_poisoned(p + 8));
    blocks::give(p);
    CHECK(__asan_address_is_poisoned(p + 8));
    CHECK(__asan_address_is_poisoned(p + 103));
    CHECK(blocks::take() == p);
    CHECK_FALSE(__asan_address_is_poisoned(p + 103));
    blocks::give(p);
}
#endif

TEST_CASE("ring: keeps its order while it grows from one slot, and a released one-slot ring starts again")
{
    sse::detail::ring<std::string> r;
    CHECK(r.capacity() == 0);
    r.emplace_back("a");
    CHECK(r.capacity() == 1);
    for (char c = 'b'; c <= 'j'; ++c)
        r.emplace_back(std::string(1, c));
    CHECK(r.capacity() == 16);
    std::string order;
    while (!r.empty()) {
        order += r.front();
        r.pop_front();
    }
    CHECK(order == "abcdefghij");
    r.release();
    CHECK(r.capacity() == 0);
    // One event at a time, as at low rates: one slot, taken and given back each time.
    for (int i = 0; i < 3; ++i) {
        r.emplace_back("event " + std::to_string(i));
        CHECK(r.capacity() == 1);
        CHECK(r.front() == "event " + std::to_string(i));
        r.release();
        CHECK(r.capacity() == 0);
    }
}
