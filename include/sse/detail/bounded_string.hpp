// sse/detail/bounded_string.hpp - string growth that never passes a limit.
#ifndef SSE_DETAIL_BOUNDED_STRING_HPP
#define SSE_DETAIL_BOUNDED_STRING_HPP

#include <sse/config.hpp>
#include <cstddef>
#include <string>

SSE_NAMESPACE_BEGIN
namespace detail {

// Makes room for `needed` bytes in `s`, growing geometrically but never to more than
// `limit` bytes of capacity (plus the allocator's rounding). std::string's own growth
// may double past the limit, which would let a peer make us allocate twice what the
// limits promise; reserve() on a fresh string allocates close to the exact amount.
// Precondition: needed <= limit.
inline void reserve_bounded(std::string& s, std::size_t needed, std::size_t limit)
{
    std::size_t const cap = s.capacity();
    if (SSE_LIKELY(needed <= cap))
        return;
    std::size_t grown = cap > limit / 2 ? limit : 2 * cap;
    if (grown < needed)
        grown = needed;
    std::string fresh;
    fresh.reserve(grown);
    fresh.append(s);
    s.swap(fresh);
}

// Appends `n` bytes unless the result would exceed `limit` bytes; returns false then,
// leaving `s` unchanged.
inline bool append_bounded(std::string& s, char const* p, std::size_t n, std::size_t limit)
{
    if (n > limit || s.size() > limit - n)
        return false;
    reserve_bounded(s, s.size() + n, limit);
    s.append(p, n);
    return true;
}

// Replaces the contents of `s` with [p, p + n), growing to at most `limit` bytes.
// Precondition: n <= limit.
inline void assign_bounded(std::string& s, char const* p, std::size_t n, std::size_t limit)
{
    s.clear();
    reserve_bounded(s, n, limit);
    s.append(p, n);
}

} // namespace detail
SSE_NAMESPACE_END

#endif
