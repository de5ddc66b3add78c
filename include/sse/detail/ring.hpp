// sse/detail/ring.hpp - a FIFO on one power-of-two array, for queues and history.
#ifndef SSE_DETAIL_RING_HPP
#define SSE_DETAIL_RING_HPP

#include <sse/config.hpp>
#include <sse/detail/slot_blocks.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

// A queue that allocates only when it grows. It starts with no storage, so an idle
// subscriber's queue costs its 24 bytes and nothing on the heap; it grows on demand
// (1, 4, 8, 16, ...), and once warmed up a push and a pop never allocate. It starts at
// one slot because a queue released when drained holds one event at low rates; a
// fan-out takes one such block per subscriber and frees them as the writes go out,
// so one-slot blocks are recycled across the process (slot_blocks), not by malloc.
// A second event means a busier queue: it jumps to four. The capacity is
// a power of two so that an index wraps with a mask, not a division. Middle erase
// (used by coalescing) shifts the later elements: queues that coalesce stay short.
template<class T>
class ring
{
public:
    ring() noexcept = default;
    ring(ring const&) = delete;
    ring& operator=(ring const&) = delete;

    ring(ring&& other) noexcept
        : data_(std::exchange(other.data_, nullptr)), head_(std::exchange(other.head_, 0)),
          size_(std::exchange(other.size_, 0)), capacity_(std::exchange(other.capacity_, 0))
    {
    }

    ~ring() { release(); }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    bool empty() const noexcept { return size_ == 0; }

    T& operator[](std::size_t i) noexcept { return data_[(head_ + i) & (capacity_ - 1)]; }
    T const& operator[](std::size_t i) const noexcept { return data_[(head_ + i) & (capacity_ - 1)]; }
    T& front() noexcept { return data_[head_]; }
    T& back() noexcept { return (*this)[size_ - 1]; }

    template<class... Args>
    T& emplace_back(Args&&... args)
    {
        if (size_ == capacity_)
            grow();
        T* slot = &data_[(head_ + size_) & (capacity_ - 1)];
        ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
        ++size_;
        return *slot;
    }

    void pop_front() noexcept
    {
        data_[head_].~T();
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
    }

    // Removes element i, keeping the order of the others.
    void erase(std::size_t i) noexcept
    {
        for (std::size_t j = i; j + 1 < size_; ++j)
            (*this)[j] = std::move((*this)[j + 1]);
        back().~T();
        --size_;
    }

    void clear() noexcept
    {
        while (size_ != 0)
            pop_front();
        head_ = 0;
    }

    // Destroys the elements and frees the storage: back to zero capacity.
    void release() noexcept
    {
        clear();
        if (data_ != nullptr)
            deallocate(data_, capacity_);
        data_ = nullptr;
        capacity_ = 0;
    }

private:
    using one_slot_blocks = slot_blocks<sizeof(T)>;
    static constexpr bool pooled_one_slot = alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;

    static T* allocate(std::uint32_t capacity)
    {
        if (pooled_one_slot && capacity == 1)
            return static_cast<T*>(one_slot_blocks::take());
        return std::allocator<T>().allocate(capacity);
    }

    static void deallocate(T* data, std::uint32_t capacity) noexcept
    {
        if (pooled_one_slot && capacity == 1)
            one_slot_blocks::give(data);
        else
            std::allocator<T>().deallocate(data, capacity);
    }

    void grow()
    {
        std::uint32_t const fresh_capacity = capacity_ == 0 ? 1 : capacity_ == 1 ? 4 : capacity_ * 2;
        T* fresh = allocate(fresh_capacity);
        for (std::uint32_t i = 0; i < size_; ++i) {
            T& old = (*this)[i];
            ::new (static_cast<void*>(fresh + i)) T(std::move(old));
            old.~T();
        }
        if (data_ != nullptr)
            deallocate(data_, capacity_);
        data_ = fresh;
        head_ = 0;
        capacity_ = fresh_capacity;
    }

    T* data_ = nullptr;
    std::uint32_t head_ = 0;
    std::uint32_t size_ = 0;
    std::uint32_t capacity_ = 0;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
