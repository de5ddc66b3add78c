// sse/detail/slot_blocks.hpp - recycled blocks for one-slot queues.
#ifndef SSE_DETAIL_SLOT_BLOCKS_HPP
#define SSE_DETAIL_SLOT_BLOCKS_HPP

#include <sse/config.hpp>

#include <atomic>
#include <cstddef>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define SSE_DETAIL_SLOT_BLOCKS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSE_DETAIL_SLOT_BLOCKS_ASAN 1
#endif
#endif
#if defined(SSE_DETAIL_SLOT_BLOCKS_ASAN)
// AddressSanitizer's public interface (<sanitizer/asan_interface.h>), declared
// here: core headers include only the standard library.
extern "C" void __asan_poison_memory_region(void const volatile* addr, std::size_t size);
extern "C" void __asan_unpoison_memory_region(void const volatile* addr, std::size_t size);
#endif

SSE_NAMESPACE_BEGIN
namespace detail {

// Blocks of one size, recycled across the process: the storage of a queue that
// holds one event. At low rates a fan-out gives every subscriber's empty queue a
// one-slot block, and each write frees it again: tens of thousands of small
// blocks allocated in a row, then freed in a row. glibc serves such a burst badly:
// its per-thread cache holds 7 blocks, and any larger allocation in between
// (a handler, a string) merges the freed blocks back into its bins, so each
// allocation takes the slow path (2 % of a low-rate delivery's CPU, in
// bench/load). Here a block costs a pointer swap on the allocating thread.
//
// Any thread gives a block back: onto a shared stack, one compare-and-swap. A
// thread that allocates takes from a list of its own, and when that is empty
// takes the whole shared stack at once (no block is popped alone from the
// shared stack, so no ABA). The blocks are never returned to the system: with one
// publishing thread they number at most the one-slot queues that were ever full
// at once (each further publishing thread may hold as many in its own list),
// 32 bytes each (20,000 subscribers: 640 KB), which glibc would hold in its bins
// anyway. A thread's list is destroyed with the thread; a take() after that (a
// static object's destructor) falls back to operator new.
// Size: the blocks' size (at least a pointer's); their alignment is operator new's.
template<std::size_t Size>
class slot_blocks
{
    struct node
    {
        node* next;
    };
    static constexpr std::size_t block_size = Size < sizeof(node) ? sizeof(node) : Size;

public:
    static void* take()
    {
        thread_cache& own = cache();
        if (own.alive && own.head == nullptr)
            own.head = shared().exchange(nullptr, std::memory_order_acquire);
        if (!own.alive || own.head == nullptr)
            return ::operator new(block_size);
        node* n = own.head;
        unpoison(n);
        own.head = n->next;
        return n;
    }

    static void give(void* block) noexcept
    {
        auto* n = static_cast<node*>(block);
        push(n, n);
    }

private:
    // The blocks this thread took and has not handed out. At thread exit they
    // go back to the shared stack, for the other threads.
    struct thread_cache
    {
        node* head = nullptr;
        bool alive = true;

        ~thread_cache()
        {
            alive = false;
            if (head == nullptr)
                return;
            node* tail = head;
            for (;;) {
                unpoison(tail);
                if (tail->next == nullptr)
                    break;
                tail = tail->next;
            }
            push(head, tail);
            head = nullptr;
        }
    };

    static thread_cache& cache() noexcept
    {
        thread_local thread_cache own;
        return own;
    }

    // Never destroyed: a block may be given back during static destruction.
    static std::atomic<node*>& shared() noexcept
    {
        static auto* const stack = new std::atomic<node*>(nullptr);
        return *stack;
    }

    // Links first..last (already linked) onto the shared stack. They are
    // poisoned first: once on the stack they may be taken at once.
    static void push(node* first, node* last) noexcept
    {
        for (node* n = first;; n = n->next) {
            poison(n);
            if (n == last)
                break;
        }
        std::atomic<node*>& stack = shared();
        node* head = stack.load(std::memory_order_relaxed);
        do {
            last->next = head;
        } while (!stack.compare_exchange_weak(head, first, std::memory_order_release, std::memory_order_relaxed));
    }

    // Under AddressSanitizer a block waiting here is poisoned but for its link,
    // so that a use after give() is still reported.
    static void poison([[maybe_unused]] node* n) noexcept
    {
#if defined(SSE_DETAIL_SLOT_BLOCKS_ASAN)
        __asan_poison_memory_region(reinterpret_cast<char*>(n) + sizeof(node), block_size - sizeof(node));
#endif
    }

    static void unpoison([[maybe_unused]] node* n) noexcept
    {
#if defined(SSE_DETAIL_SLOT_BLOCKS_ASAN)
        __asan_unpoison_memory_region(n, block_size);
#endif
    }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
