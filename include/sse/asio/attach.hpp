// sse/asio/attach.hpp - serves a hub subscription over a stream.
#ifndef SSE_ASIO_ATTACH_HPP
#define SSE_ASIO_ATTACH_HPP

#include <sse/asio/stream.hpp>
#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/event.hpp>
#include <sse/hub.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>

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

    /** The last message before the stream closes, for reasons other than shutdown
        (for example an event that says a token expired). Returns nothing for no
        message. After a slow-consumer disconnect the hub already queued its
        `retry:` hint.
    */
    std::function<std::optional<event>(close_reason)> final_event;

    /// Called once, on the stream's strand, when the stream has ended.
    std::function<void(error_code)> on_close;
};

namespace detail {

/// Draws a retry delay in [low, high], spreading reconnects after a shutdown.
inline std::chrono::milliseconds random_retry(std::chrono::milliseconds low, std::chrono::milliseconds high)
{
    if (high <= low)
        return low;
    thread_local std::minstd_rand engine{std::random_device{}()};
    std::uniform_int_distribution<std::chrono::milliseconds::rep> pick(low.count(), high.count());
    return std::chrono::milliseconds(pick(engine));
}

// The hub's side of one attached stream. The hub holds it weakly, the stream owns
// it (through its pull source) and it holds the stream weakly: no cycle.
template<class Socket>
class stream_sink final : public delivery_sink, public std::enable_shared_from_this<stream_sink<Socket>>
{
public:
    stream_sink(std::weak_ptr<stream<Socket>> s, attach_options const& options)
        : stream_(std::move(s)), deadline_(options.shutdown_deadline)
    {
    }

    void wake() noexcept override
    {
        if (auto s = stream_.lock())
            s->notify();
    }

    void closed(close_reason why) noexcept override
    {
        auto s = stream_.lock();
        if (!s)
            return;
        // The stream pulls again, finds the subscription closed and writes the
        // final message (see attach()).
        s->notify();
        if (why == close_reason::shutdown && deadline_.count() > 0)
            arm_deadline(s);
    }

    // On the strand: the stream has ended, so the deadline has nothing left to do.
    void cancel_deadline() noexcept
    {
        ended_ = true;
        if (timer_)
            timer_->cancel();
    }

    bool final_sent = false;   // on the strand only

private:
    void arm_deadline(std::shared_ptr<stream<Socket>> const& s)
    {
        // The hub calls closed() holding a strong reference, so shared_from_this()
        // is valid; the handler keeps the sink alive until it has run.
        asio::post(s->get_executor(), [self = this->shared_from_this(), exec = s->get_executor()] {
            auto weak = self->stream_;
            if (self->ended_ || weak.expired())
                return;   // the stream ended first: no timer to keep the io_context busy
            self->timer_ = std::make_shared<asio::steady_timer>(exec, self->deadline_);
            self->timer_->async_wait([weak](error_code ec) {
                if (ec)
                    return;
                if (auto s3 = weak.lock())
                    s3->close();
            });
        });
    }

    std::weak_ptr<stream<Socket>> stream_;
    std::chrono::milliseconds deadline_;
    std::shared_ptr<asio::steady_timer> timer_;   // on the strand only
    bool ended_ = false;                          // on the strand only
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
      stream closes;
    - on hub::kick(), attach_options::final_event (if any) is written, then the
      stream closes.

    @returns The subscription, or null with `ec` set (for example after shutdown).

    @par Lifetime
    The hub must outlive the streams attached to it.
*/
template<class Socket>
std::shared_ptr<subscriber> attach(hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options,
    attach_options const& how, error_code& ec)
{
    auto sink = std::make_shared<detail::stream_sink<Socket>>(s, how);
    auto sub = h.subscribe(std::move(options), sink, ec);
    if (ec)
        return nullptr;

    auto final_event = how.final_event;
    auto const retry_min = how.shutdown_retry_min;
    auto const retry_max = how.shutdown_retry_max;
    s->set_source([sub, sink, final_event, retry_min, retry_max](std::vector<event_buffer>& out, std::size_t max_bytes) {
        pull_result r = sub->pull(out, max_bytes, std::chrono::steady_clock::now());
        if (!r.closed || sink->final_sent)
            return r;
        sink->final_sent = true;
        std::optional<event> last;
        // Ask the subscriber why: the hub marks it closed before it calls the sink's
        // closed(), so this pull may see the end first.
        auto const why = sub->ended();
        if (why == close_reason::shutdown) {
            last.emplace();
            last->comment = "server shutting down";
            last->retry = detail::random_retry(retry_min, retry_max);
        } else if (why && final_event) {
            last = final_event(*why);
        }
        error_code bad;
        if (last) {
            if (auto buffer = make_event_buffer(*last, bad)) {
                out.push_back(std::move(buffer));
                ++r.count;
            }
        }
        return r;
    });
    s->on_close([&h, sub, sink, on_close = how.on_close](error_code why) {
        sink->cancel_deadline();
        h.unsubscribe(*sub);
        if (on_close)
            on_close(why);
    });
    return sub;
}

/// As above; throws std::system_error on failure.
template<class Socket>
std::shared_ptr<subscriber> attach(
    hub& h, std::shared_ptr<stream<Socket>> const& s, subscriber_options options, attach_options const& how = {})
{
    error_code ec;
    auto sub = attach(h, s, std::move(options), how, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::attach"));
    return sub;
}

SSE_NAMESPACE_END

#endif
