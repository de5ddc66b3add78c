// sse/detail/last_message.hpp - what a served subscription writes last, whatever serves it.
#ifndef SSE_DETAIL_LAST_MESSAGE_HPP
#define SSE_DETAIL_LAST_MESSAGE_HPP

#include <sse/config.hpp>
#include <sse/delivery.hpp>
#include <sse/event.hpp>

#include <chrono>
#include <optional>
#include <random>

SSE_NAMESPACE_BEGIN
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

/** The message written after the last event of a subscription the hub ended
    (`why`): after hub::shutdown(), a comment and a `retry:` drawn from the
    options' [shutdown_retry_min, shutdown_retry_max], so that clients come back
    spread out; otherwise the options' final_event, if any. `Options` is
    attach_options or blocking_options, which share these three members.
*/
template<class Options>
std::optional<event> last_message(std::optional<close_reason> why, Options const& options)
{
    std::optional<event> last;
    if (why == close_reason::shutdown) {
        last.emplace();
        last->comment = "server shutting down";
        last->retry = random_retry(options.shutdown_retry_min, options.shutdown_retry_max);
    } else if (why && options.final_event) {
        last = options.final_event(*why);
    }
    return last;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
