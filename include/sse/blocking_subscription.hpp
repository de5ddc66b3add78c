// sse/blocking_subscription.hpp - a hub subscription that a thread waits on.
#ifndef SSE_BLOCKING_SUBSCRIPTION_HPP
#define SSE_BLOCKING_SUBSCRIPTION_HPP

#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/hub.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

SSE_NAMESPACE_BEGIN

/// How a blocking subscription hands out its bytes, and how it ends.
struct blocking_options
{
    /** The `retry:` handed out by the first wait, before any event: how long a
        client waits before it reconnects (as stream_options::retry). Empty: none.
    */
    std::optional<std::chrono::milliseconds> retry = std::chrono::milliseconds(3000);

    /** A heartbeat (the comment `:\n\n`, ignored by every client) is handed out
        when nothing else was for this long. A server notices a client that went
        away only when it writes, so this is also how late it notices. Zero: never.
    */
    std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(15);

    /// Bytes of events handed out by one wait (a larger single event still goes out whole).
    std::size_t max_bytes = 64 * 1024;

    /** On hub::shutdown(), the last bytes handed out are the queued events, then
        `: server shutting down` with a `retry:` drawn uniformly from
        [shutdown_retry_min, shutdown_retry_max], so that clients do not all
        reconnect at the same moment (as sse::attach does).
    */
    std::chrono::milliseconds shutdown_retry_min = std::chrono::seconds(1);
    std::chrono::milliseconds shutdown_retry_max = std::chrono::seconds(10);

    /** The last message when the hub ends the subscription for another reason
        (hub::kick(), with close_reason::kicked or token_expired). Returns nothing
        for no message. After a slow-consumer disconnect the hub already queued
        its `retry:` hint.
    */
    std::function<std::optional<event>(close_reason)> final_event;
};

/// What a wait on a blocking_subscription ended with. Write what it appended, then act on this.
enum class wait_status
{
    events,      ///< events (or the first wait's `retry:`) were appended; wait again once they are written
    heartbeat,   ///< nothing happened for blocking_options::heartbeat_interval: a heartbeat was appended
    timeout,     ///< the caller's deadline passed first; nothing was appended
    ended,       ///< the subscription ended: the last bytes (if any) were appended; end the response
    cancelled,   ///< cancel() was called; nothing was appended; end the response
};

class blocking_subscription;

/** Subscribes to `h` for a thread that serves one connection, such as a
    cpp-httplib chunked content provider (docs/integrations.md, cpp-httplib).

    As hub::subscribe(): with `o.last_event_id` set, the events after it come
    first, then live ones, with no gap and no duplicate between them.

    @returns The subscription, or null with `ec` set (error::hub_shut_down).
*/
SSE_DECL std::shared_ptr<blocking_subscription> subscribe_blocking(
    hub& h, subscriber_options o, blocking_options how, error_code& ec);

/// As above; throws `std::system_error` on failure.
SSE_DECL std::shared_ptr<blocking_subscription> subscribe_blocking(
    hub& h, subscriber_options o, blocking_options how = {});

/** A hub subscription served by a thread of its own: the thread blocks in
    wait() until there is something to write, and writes it.

    wait() returns when events are queued, when the subscription ends, when a
    heartbeat is due, or when cancel() is called from another thread. It sleeps
    on a condition variable in between: the hub wakes it when it queues an event
    (delivery_sink::wake()), so an idle connection costs its thread and no CPU.
    Its bytes are the events' wire form, copied out of the hub's shared buffers
    into one string: the one copy an API that writes one buffer at a time needs.

    The hub may end the subscription (shutdown, kick, slow consumer): the
    queued events and a last message are then handed out, and the wait returns
    wait_status::ended. Made by subscribe_blocking() and owned by `shared_ptr`:
    when the last owner lets go, it leaves the hub.

    @par Thread safety
    One thread at a time may wait. cancel() and the accessors may be called from
    any thread, but not from a signal handler. The hub may be destroyed first:
    the subscription then ends as after hub::shutdown().
*/
class blocking_subscription : private delivery_sink
{
    struct access
    {
        explicit access() = default;
    };

public:
    using clock = std::chrono::steady_clock;

    /// Made by subscribe_blocking() only.
    SSE_DECL blocking_subscription(access, hub& h, blocking_options how);

    /// Leaves the hub, if it still exists and the subscription has not ended.
    SSE_DECL ~blocking_subscription() override;

    blocking_subscription(blocking_subscription const&) = delete;
    blocking_subscription& operator=(blocking_subscription const&) = delete;

    /** Blocks until there is something to write, and appends it to `out`.

        Returns wait_status::events with the ready events (at least one, up to
        about blocking_options::max_bytes; call again for the rest; the first
        wait returns at once, with blocking_options::retry before any event),
        wait_status::heartbeat with a heartbeat, wait_status::ended with the last
        bytes once the subscription has ended (and at once on every later call),
        or wait_status::cancelled with nothing. Throttled events
        (subscriber_options::max_per_second) are handed out when they are due.
    */
    SSE_DECL wait_status wait(std::string& out);

    /** As wait(), and returns wait_status::timeout with nothing appended if
        `deadline` passes first: for a server with deadlines of its own.
    */
    SSE_DECL wait_status wait_until(std::string& out, clock::time_point deadline);

    /** Ends the subscription from any thread: it leaves the hub at once, and the
        wait under way, if any, and every later one return wait_status::cancelled.
        Idempotent. For a server that stops while its hub goes on, or a
        connection known from elsewhere to be gone.
    */
    SSE_DECL void cancel();

    /// The hub's side: id(), user(), topics(), ended().
    subscriber const& subscription() const noexcept { return *sub_; }

private:
    friend std::shared_ptr<blocking_subscription> subscribe_blocking(
        hub&, subscriber_options, blocking_options, error_code&);

    // delivery_sink, called by the hub from publishing threads.
    SSE_DECL void wake() noexcept override;
    SSE_DECL void closed(close_reason why) noexcept override;

    // Appends the message that ends a subscription ended by the hub for `why`.
    SSE_DECL void append_last_message(std::optional<close_reason> why, std::string& out) const;
    SSE_DECL void leave_hub();

    blocking_options options_;
    std::weak_ptr<detail::hub_anchor> hub_;
    std::shared_ptr<subscriber> sub_;   // set once by subscribe_blocking(), before any wait

    // The waiting thread's own; never touched by others.
    std::vector<event_buffer> pulled_;
    clock::time_point last_out_;                // heartbeats count from the last bytes handed out
    std::optional<clock::time_point> due_;      // a throttled event may leave then
    bool ended_ = false;
    bool started_ = false;   // the first wait hands out the retry: line

    std::mutex mutex_;
    std::condition_variable cv_;
    // Guarded by mutex_.
    bool pending_ = true;   // pull before sleeping: replayed events are queued without a wake
    bool cancelled_ = false;
};

SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/impl/blocking_subscription.hpp>
#endif
#endif
