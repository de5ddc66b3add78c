// sse/detail/hub_anchor.hpp - a hub's address for objects that may outlive it.
#ifndef SSE_DETAIL_HUB_ANCHOR_HPP
#define SSE_DETAIL_HUB_ANCHOR_HPP

#include <sse/config.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>

SSE_NAMESPACE_BEGIN

class hub;

namespace detail {

// Held weakly by objects whose last call into a hub may come after the hub is
// gone (an attached stream's close handler runs whenever its connection ends).
// ~hub() calls release(): later calls see no hub, and release() waits for the
// calls under way, so none runs on a destroyed hub. A count rather than a lock
// held across the call: a call may end another stream inline (a user's
// on_unsubscribe running the io_context), whose own call must not wait for it.
class hub_anchor
{
public:
    explicit hub_anchor(hub* h) noexcept : hub_(h) {}
    hub_anchor(hub_anchor const&) = delete;
    hub_anchor& operator=(hub_anchor const&) = delete;

    // Calls f(hub&) if the hub still exists; returns false if it is gone.
    template<class Function>
    bool with(Function&& f)
    {
        hub* h = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (hub_ == nullptr)
                return false;
            h = hub_;
            ++users_;
        }
        struct leave
        {
            hub_anchor& a;
            ~leave()
            {
                std::lock_guard<std::mutex> lock(a.mutex_);
                if (--a.users_ == 0)
                    a.done_.notify_all();
            }
        } guard{*this};
        f(*h);
        return true;
    }

    // From ~hub(): no call starts after this returns, and none is still running.
    void release() noexcept
    {
        std::unique_lock<std::mutex> lock(mutex_);
        hub_ = nullptr;
        done_.wait(lock, [this] { return users_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable done_;
    hub* hub_;
    std::size_t users_ = 0;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
