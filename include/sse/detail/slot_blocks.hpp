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
// A thread that allocates keeps the last blocks it gave back itself (up to
// `recent_limit`; older ones go to the others) in a list of its own, and takes
// from it first: when the publishing thread also writes (a fan-out in steps,
// hub.hpp), the blocks a step's writes free are the ones the next step's pushes
// take, still in the cache, not blocks the previous event freed, long cold. Any
// other block goes back onto a shared stack, one compare-and-swap. A thread that
// has no recent block takes from a second list of its own, and when that is empty
// takes the whole shared stack at once (no block is popped alone from the shared
// stack, so no ABA). A thread that only gives (a stream's thread draining queues
// that the publishing thread filled) gives everything to the shared stack, so
// that blocks flow back to the thread that allocates. The blocks are never
// returned to the system: with one publishing thread they number at most the
// one-slot queues that were ever full at once (each further publishing thread may
// hold as many in its own lists), 32 bytes each (20,000 subscribers: 640 KB),
// which glibc would hold in its bins anyway. A thread's lists are destroyed with
// the thread, onto the shared stack; a take() after that (a static object's
// destructor) falls back to operator new, and a give() goes to the shared stack.
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
        if (!own.alive)
            return ::operator new(block_size);
        own.takes = true;
        if (own.recent != nullptr) {
            --own.recent_count;
            return pop(own.recent);
        }
        if (own.head == nullptr)
            own.head = shared().exchange(nullptr, std::memory_order_acquire);
        if (own.head == nullptr)
            return ::operator new(block_size);
        return pop(own.head);
    }

    static void give(void* block) noexcept
    {
        auto* n = static_cast<node*>(block);
        thread_cache& own = cache();
        if (!own.alive || !own.takes) {
            push(n, n);
            return;
        }
        if (own.recent_count == recent_limit) {
            // Full: the older ones go to the others, this one starts the list anew.
            push(own.recent, own.recent_tail);
            own.recent = nullptr;
            own.recent_count = 0;
        }
        poison(n);
        n->next = own.recent;
        if (own.recent == nullptr)
            own.recent_tail = n;
        own.recent = n;
        ++own.recent_count;
    }

private:
    // Enough for the blocks of a few steps of a fan-out (16 subscribers each);
    // what a thread keeps back from the others is bounded by it.
    static constexpr unsigned recent_limit = 64;

    // The blocks this thread holds and has not handed out: those it gave back
    // itself last (recent), and those it took from the shared stack (head). At
    // thread exit they go back to the shared stack, for the other threads.
    struct thread_cache
    {
        node* recent = nullptr;
        node* recent_tail = nullptr;   // the oldest of recent, valid while recent is not empty
        node* head = nullptr;
        unsigned recent_count = 0;
        bool takes = false;   // this thread allocates: it keeps what it gives back
        bool alive = true;

        ~thread_cache()
        {
            alive = false;
            push_all(recent);
            push_all(head);
        }
    };

    static node* pop(node*& list) noexcept
    {
        node* n = list;
        unpoison(n);
        list = n->next;
        return n;
    }

    // Links a whole list of this thread's (poisoned but for the links) onto the
    // shared stack.
    static void push_all(node* first) noexcept
    {
        if (first == nullptr)
            return;
        node* last = first;
        for (;;) {
            unpoison(last);
            if (last->next == nullptr)
                break;
            last = last->next;
        }
        push(first, last);
    }

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
