// bench/alloc_counter.cpp - a global operator new that counts its calls.
#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

#if defined(__GLIBC__)
#include <malloc.h>
#define SSE_BENCH_USABLE_SIZE(p) static_cast<std::int64_t>(malloc_usable_size(p))
#else
#define SSE_BENCH_USABLE_SIZE(p) std::int64_t(0)
#endif

namespace {
std::atomic<std::uint64_t> allocation_count{0};
std::atomic<std::int64_t> live_byte_count{0};
}

std::uint64_t bench::allocations() noexcept
{
    return allocation_count.load(std::memory_order_relaxed);
}

std::int64_t bench::live_bytes() noexcept
{
    return live_byte_count.load(std::memory_order_relaxed);
}

void* operator new(std::size_t size)
{
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        live_byte_count.fetch_add(SSE_BENCH_USABLE_SIZE(p), std::memory_order_relaxed);
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept
{
    if (p != nullptr)
        live_byte_count.fetch_sub(SSE_BENCH_USABLE_SIZE(p), std::memory_order_relaxed);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
