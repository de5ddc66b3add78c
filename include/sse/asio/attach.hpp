// sse/asio/attach.hpp - serves a hub subscription over a stream.
#ifndef SSE_ASIO_ATTACH_HPP
#define SSE_ASIO_ATTACH_HPP

#include <sse/asio/stream.hpp>
#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/event.hpp>
#include <sse/hub.hpp>
#include <sse/detail/last_message.hpp>
#include <sse/detail/prefetch.hpp>


#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <vector>

SSE_NAMESPACE_BEGIN

/// How an attached stream ends when the hub ends its subscription.
struct attach_options
{
    /** On hub::shutdown(), the stream writes what is queued, then a final message
        with a `retry:` drawn uniformly from [shutdown_retry_min, shutdown_retry_max],
        so that clients do not all reconnect at the same moment.
    */
    std::chrono::milliseconds shutdown_retry_min = std::chrono::seconds(1);
    std::chrono::milliseconds shutdown_retry_max = std::chrono::seconds(10);

    /** On hub::shutdown(), a stream still open after this long is closed, whatever
        it was writing: a stalled peer never holds up the shutdown. Zero: only the
        stream's write timeout bounds it.
    */
    std::chrono::milliseconds shutdown_deadline = std::chrono::seconds(5);

    /** After a slow-consumer disconnect, a stream still open after this long is
        closed. Such a peer reads too little to take even the hub's `retry:` hint,
        and would otherwise hold its connection until the stream's write timeout.
        Zero: only the write timeout bounds it.
    */
    std::chrono::milliseconds slow_consumer_grace = std::chrono::seconds(1);

    /** The last message before the stream closes, for reasons other than shutdown
        (for example an event that says a token expired). Returns nothing for no
        message. After a slow-consumer disconnect the hub already queued its
        `retry:` hint.
    */
    std::function<std::optional<event>(close_reason)> final_event;

    /// Called once, on the stream's strand, when the stream has ended.
    std::function<void(error_code)> on_close;
    /** As `on_close`, with the subscription that ended (its id, user, topics and
        `ended()` reason) as well: one function serves every stream, so that the
        options can be shared by all of them instead of holding a closure per
        stream. Called after `on_close` when both are set.
    */
    std::function<void(subscriber const&, error_code)> on_end;
};

namespace detail {

// The hub's side of one attached stream, and the stream's hooks (its source and
// its close handler): one object, no closures, the attach options shared, and
// made in its subscriber's allocation (hub_companions): an idle connection's
// size is what a server multiplies.
//
// Ownership: the stream owns this block (as its hooks) until the stream is
// destroyed; the hub holds it too while subscribed. The hub's sink pointer is
// weak and shares the *stream's* ownership: when the hub locks it to wake, the
// stream is alive, and so is this block, which the stream holds. No cycle: the
// subscriber refers to the stream weakly, and the block reaches the hub through
// its anchor, so a stream that ends after the hub was destroyed leaves it alone.
template<class Socket>
class stream_sink : public delivery_sink, public stream_hooks
{
public:
    stream_sink(hub& h, stream<Socket>& s, std::shared_ptr<attach_options const> options)
        : stream_(&s), hub_(h.anchor()), options_(std::move(options))
    {
    }

    // Makes this the stream's source and close handler (before it starts).
    static void install(stream<Socket>& s, std::shared_ptr<stream_sink> sink)
    {
        s.set_hooks(std::move(sink));
    }

    // The hub's calls come through a sink pointer that keeps the stream alive.
    void wake() noexcept override { stream_->notify(); }

    // The publishing thread has time: an idle stream's events are written here and now.
    bool wake_inline() noexcept override
    {
        if constexpr (stream<Socket>::plain_socket) {
            if (stream_->writes_lent_.load(std::memory_order_acquire) && write_at_once())
                return true;
        }
        stream_->notify();
        return false;
    }

    // What wake_inline() reads: the stream's flag, and for a write at once the
    // subscriber's lock and queue, the socket and the write's bookkeeping.
    void prefetch() const noexcept override
    {
        if constexpr (stream<Socket>::plain_socket) {
            // With std::make_shared the reference counts that the hub's pointer
            // shares (and releases right after this wake) sit just before the stream.
            // The stream keeps what a write at once touches at its front (flag,
            // options, time), next to those counts and before its socket.
            detail::prefetch(reinterpret_cast<char const*>(stream_) - sizeof(void*));
            detail::prefetch(&stream_->writes_lent_);
            detail::prefetch(&stream_->socket_);
            hub_companions::prefetch_for_pull(subscriber_of(const_cast<stream_sink&>(*this)));
        }
        else {
            detail::prefetch(&stream_->wake_pending_);
        }
    }

    // The stream is idle and lends its writes (see stream::lend_writes): this
    // subscriber's lock guards them while the subscriber has nothing queued.
    bool lend_writes() noexcept override
    {
        subscriber& sub = subscriber_of(*this);
        std::lock_guard<small_mutex> lock(hub_companions::lock_of(sub));
        if (!hub_companions::idle_locked(sub))
            return false;
        stream_->writes_lent_.store(true, std::memory_order_relaxed);
        return true;
    }

    void take_writes_back() noexcept override
    {
        std::lock_guard<small_mutex> lock(hub_companions::lock_of(subscriber_of(*this)));
        stream_->writes_lent_.store(false, std::memory_order_relaxed);
    }

    void closed(close_reason why) noexcept override
    {
        // The stream pulls again, finds the subscription closed and writes the
        // final message (see pull()).
        stream_->notify();
        auto const limit = why == close_reason::shutdown        ? options_->shutdown_deadline
                           : why == close_reason::slow_consumer ? options_->slow_consumer_grace
                                                                : std::chrono::milliseconds::zero();
        // The stream's own deadline: no timer per stream, even when a
        // shutdown ends thousands at once.
        if (limit.count() > 0)
            stream_->end_within(limit);
    }

    // The stream's pull source, on its strand. Once it says closed, the stream
    // pulls no more: the final message is appended once.
    pull_result pull(std::vector<event_buffer>& out, std::size_t max_bytes) override
    {
        subscriber& sub = subscriber_of(*this);
        pull_result r = sub.pull(out, max_bytes, std::chrono::steady_clock::now());
        if (!r.closed)
            return r;
        // Ask the subscriber why: the hub marks it closed before it calls
        // closed() here, so this pull may see the end first.
        std::optional<event> const last = last_message(sub.ended(), *options_);
        error_code bad;
        if (last) {
            if (auto buffer = make_event_buffer(*last, bad)) {
                out.push_back(std::move(buffer));
                ++r.count;
            }
        }
        return r;
    }

    // The stream's close handler, on its strand: the deadline has nothing left to
    // do and the subscription leaves the hub.
    void stream_closed(error_code why) override
    {
        subscriber& sub = subscriber_of(*this);
        if (auto anchor = hub_.lock())
            anchor->with([&sub](hub& h) { h.unsubscribe(sub); });
        if (options_->on_close)
            options_->on_close(why);
        if (options_->on_end)
            options_->on_end(sub, why);
    }

private:
    // On the publishing thread, with the stream's writes lent: writes what is
    // queued at once. False if the stream took its writes back meanwhile.
    bool write_at_once() noexcept
    {
        subscriber& sub = subscriber_of(*this);
        bool kept = false;
        {
            std::lock_guard<small_mutex> lock(hub_companions::lock_of(sub));
            if (!stream_->writes_lent_.load(std::memory_order_relaxed))
                return false;
            // Closing, waiting for history, throttled: the stream's own pull knows what to do.
            if (hub_companions::plain_locked(sub))
                kept = stream_->write_lent(
                    [&sub](std::vector<event_buffer>& out, std::size_t max_bytes, subscriber::clock::time_point now) {
                        return hub_companions::pull_locked(sub, out, max_bytes, now);
                    });
            if (!kept)
                stream_->writes_lent_.store(false, std::memory_order_release);
        }
        if (!kept)
            stream_->notify();
        return true;
    }

    stream<Socket>* stream_;
    std::weak_ptr<detail::hub_anchor> hub_;
    std::shared_ptr<attach_options const> options_;
};

} // namespace detail

/** Subscribes `s` to `h`: events published to the hub are written to the stream.

    Call before `s->start()`. The stream pulls from the subscription whenever it is
    idle, so a slow peer holds its events in the hub's queue, where the
    subscriber's budget and slow-consumer policy apply. When the stream ends, the
    subscription is removed from the hub. When the hub ends the subscription:
    - on hub::shutdown(), queued events are written, then a final message with a
      randomised `retry:` (attach_options), then the stream closes, within
      attach_options::shutdown_deadline;
    - on a slow-consumer disconnect, the hub's `retry:` hint is written, then the
      stream closes, within attach_options::slow_consumer_grace;
    - on hub::kick(), attach_options::final_event (if any) is written, then the
      stream closes.

    attach() is the stream's source and close handler: do not also call the
    stream's `set_source` or `on_close` (use attach_options::on_close).

    `how` may be shared by every stream of a server (build it once with
    `std::make_shared`): a stream then holds no copy of it.

    @returns The subscription, or null with `ec` set (for example after shutdown).

    @par Lifetime
    The hub and the stream may end in either order. Destroying the hub shuts it
    down: attached streams then end as after hub::shutdown(), on their own
    strands, and no longer refer to the hub.
*/
namespace detail {

// A shared attach_options, deduced: `{}` then still means attach_options{}.
template<class Options>
using if_shared_attach_options =
    std::enable_if_t<std::is_convertible_v<Options, std::shared_ptr<attach_options const>>, int>;

} // namespace detail

template<class Socket, class SharedOptions, detail::if_shared_attach_options<SharedOptions> = 0>
std::shared_ptr<subscriber> attach(hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options,
    SharedOptions how, error_code& ec)
{
    std::shared_ptr<attach_options const> shared(std::move(how));
    SSE_ASSERT(shared != nullptr);
    SSE_ASSERT(s != nullptr);
    using sink_type = detail::stream_sink<Socket>;
    // The hub's pointer to the sink shares the stream's ownership (see stream_sink).
    auto const sink_of = [&s](sink_type& sink) {
        return std::weak_ptr<delivery_sink>(std::shared_ptr<delivery_sink>(s, &sink));
    };
    auto sink =
        detail::hub_companions::subscribe<sink_type>(h, std::move(options), sink_of, ec, h, *s, std::move(shared));
    if (ec)
        return nullptr;
    std::shared_ptr<subscriber> sub(sink, &detail::subscriber_of(*sink));
    sink_type::install(*s, std::move(sink));
    return sub;
}

/// As above, with a copy of `how`.
template<class Socket>
std::shared_ptr<subscriber> attach(hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options,
    attach_options const& how, error_code& ec)
{
    return attach(h, s, std::move(options), std::make_shared<attach_options const>(how), ec);
}

/// As above; throws std::system_error on failure.
template<class Socket, class SharedOptions, detail::if_shared_attach_options<SharedOptions> = 0>
std::shared_ptr<subscriber> attach(hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options,
    SharedOptions how)
{
    error_code ec;
    auto sub = attach(h, s, std::move(options), std::move(how), ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::attach"));
    return sub;
}

/// As above, with a copy of `how`; throws std::system_error on failure.
template<class Socket>
std::shared_ptr<subscriber> attach(
    hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options, attach_options const& how = {})
{
    return attach(h, s, std::move(options), std::make_shared<attach_options const>(how));
}

SSE_NAMESPACE_END

#endif
