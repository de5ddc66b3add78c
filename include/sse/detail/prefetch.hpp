// sse/detail/prefetch.hpp - a hint that memory will be read soon.
#ifndef SSE_DETAIL_PREFETCH_HPP
#define SSE_DETAIL_PREFETCH_HPP

#include <sse/config.hpp>

SSE_NAMESPACE_BEGIN
namespace detail {

// Asks for the cache line holding `p`, without waiting for it. A loop over the
// objects of thousands of connections, which are all cold in the cache, asks
// for the next ones while it works on the current one: their misses then
// overlap instead of stalling the loop one after the other.
inline void prefetch(void const* p) noexcept
{
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

} // namespace detail
SSE_NAMESPACE_END

#endif
