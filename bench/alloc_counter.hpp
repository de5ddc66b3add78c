// bench/alloc_counter.hpp - counts heap allocations so benchmarks can report them.
#ifndef SSE_BENCH_ALLOC_COUNTER_HPP
#define SSE_BENCH_ALLOC_COUNTER_HPP

#include <atomic>
#include <cstdint>

namespace bench {

/// Number of calls to the global operator new since the program started.
std::uint64_t allocations() noexcept;

} // namespace bench

#endif
