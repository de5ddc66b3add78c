// bench/alloc_counter.hpp - counts heap allocations so benchmarks can report them.
#ifndef SSE_BENCH_ALLOC_COUNTER_HPP
#define SSE_BENCH_ALLOC_COUNTER_HPP

#include <atomic>
#include <cstdint>

namespace bench {

/// Number of calls to the global operator new since the program started.
std::uint64_t allocations() noexcept;

/// Heap bytes currently held through the global operator new, as the allocator
/// accounts them (usable size, so allocator rounding is included). 0 where the
/// C library cannot tell a block's size.
std::int64_t live_bytes() noexcept;

} // namespace bench

#endif
