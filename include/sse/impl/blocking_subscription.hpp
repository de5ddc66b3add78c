// sse/impl/blocking_subscription.hpp - bodies of blocking_subscription.
#ifndef SSE_IMPL_BLOCKING_SUBSCRIPTION_HPP
#define SSE_IMPL_BLOCKING_SUBSCRIPTION_HPP

#include <sse/blocking_subscription.hpp>
#include <sse/detail/last_message.hpp>

#include <algorithm>
#include <system_error>
#include <utility>

SSE_NAMESPACE_BEGIN

SSE_DECL std::shared_ptr<blocking_subscription> subscribe_blocking(
    hub& h, subscriber_options o, blocking_options how, error_code& ec)
{
    auto self = std::make_shared<blocking_subscription>(blocking_subscription::access{}, h, std::move(how));
    // The hub holds the sink weakly, sharing the owners' ownership: no cycle, and
    // an owner that lets go without cancel() still leaves the hub (the destructor).
    std::shared_ptr<delivery_sink> const sink(self, static_cast<delivery_sink*>(self.get()));
    self->sub_ = h.subscribe(std::move(o), sink, ec);
    if (ec)
        return nullptr;
    return self;
}

SSE_DECL std::shared_ptr<blocking_subscription> subscribe_blocking(hub& h, subscriber_options o, blocking_options how)
{
    error_code ec;
    auto s = subscribe_blocking(h, std::move(o), std::move(how), ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::subscribe_blocking"));
    return s;
}

SSE_DECL blocking_subscription::blocking_subscription(access, hub& h, blocking_options how)
    : options_(std::move(how)), hub_(h.anchor()), last_out_(clock::now())
{
}

SSE_DECL blocking_subscription::~blocking_subscription()
{
    leave_hub();
}

SSE_DECL void blocking_subscription::leave_hub()
{
    if (!sub_)
        return;
    // Through the anchor: the hub may be gone, or going, on another thread.
    if (auto anchor = hub_.lock())
        anchor->with([this](hub& h) { h.unsubscribe(*sub_); });
}

SSE_DECL void blocking_subscription::wake() noexcept
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        pending_ = true;
    }
    cv_.notify_one();
}

SSE_DECL void blocking_subscription::closed(close_reason) noexcept
{
    // The next pull hands out what is left, then reports the end; the reason is
    // the subscriber's ended().
    wake();
}

SSE_DECL void blocking_subscription::cancel()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_)
            return;
        cancelled_ = true;
    }
    cv_.notify_all();
    leave_hub();
}

SSE_DECL wait_status blocking_subscription::wait(std::string& out)
{
    return wait_until(out, clock::time_point::max());
}

SSE_DECL wait_status blocking_subscription::wait_until(std::string& out, clock::time_point deadline)
{
    auto const kept = out.size();
    bool opened = false;   // this wait appended the retry: line
    if (!started_) {
        started_ = true;
        if (options_.retry) {
            event e;
            e.retry = options_.retry;
            error_code invalid;
            serialize(e, out, invalid);
            opened = !invalid;
        }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
        if (cancelled_) {
            out.resize(kept);
            return wait_status::cancelled;
        }
        if (ended_)
            return wait_status::ended;
        auto now = clock::now();
        if (due_ && now >= *due_) {
            due_.reset();
            pending_ = true;
        }
        if (pending_) {
            // pull() without our lock: the hub's wake() must not wait for a copy.
            pending_ = false;
            lock.unlock();
            pull_result const r = sub_->pull(pulled_, options_.max_bytes, now);
            lock.lock();
            if (cancelled_) {
                pulled_.clear();
                out.resize(kept);
                return wait_status::cancelled;
            }
            if (r.next_due)
                due_ = r.next_due;
            else if (r.count != 0 && !r.drained && !r.closed)
                pending_ = true;   // max_bytes stopped it: the rest is ready now
            if (r.count == 0 && !r.closed && !opened)
                continue;
            // Copies and the user's final_event run unlocked: wake() never waits on them.
            lock.unlock();
            for (auto const& b : pulled_)
                out += *b;
            pulled_.clear();
            if (r.closed) {
                ended_ = true;
                append_last_message(sub_->ended(), out);
                return wait_status::ended;
            }
            last_out_ = now;
            return wait_status::events;
        }

        auto const beat = options_.heartbeat_interval.count() > 0 ? last_out_ + options_.heartbeat_interval
                                                                   : clock::time_point::max();
        if (now >= beat && beat <= deadline) {
            out += ":\n\n";   // a comment: WHATWG HTML 9.2.6 ignores a line that starts with U+003A
            last_out_ = now;
            return wait_status::heartbeat;
        }
        if (now >= deadline)
            return wait_status::timeout;
        auto until = std::min(deadline, beat);
        if (due_)
            until = std::min(until, *due_);
        if (until == clock::time_point::max())
            cv_.wait(lock);
        else
            cv_.wait_until(lock, until);
    }
}

SSE_DECL void blocking_subscription::append_last_message(std::optional<close_reason> why, std::string& out) const
{
    std::optional<event> const last = detail::last_message(why, options_);
    if (last) {
        error_code invalid;   // an event that cannot be sent is left out
        serialize(*last, out, invalid);
    }
}

SSE_NAMESPACE_END

#endif
