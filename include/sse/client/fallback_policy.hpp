// sse/client/fallback_policy.hpp - the polling fallback's decisions, without I/O.
//
// What polls ask for, and which of their events are new: events are told
// apart by id across the switches between streaming and polling, so that none
// is delivered twice. detail::source_core holds one and decides when to switch.
#ifndef SSE_CLIENT_FALLBACK_POLICY_HPP
#define SSE_CLIENT_FALLBACK_POLICY_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/client/poll_exchange.hpp>
#include <sse/client/source_options.hpp>
#include <sse/client/url.hpp>

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

class fallback_policy
{
public:
    /// The fallback of `options`, its URL resolved against `origin`.
    SSE_DECL fallback_policy(url const& origin, poll_fallback_options const& options);

    /// True if a fallback is configured (even with a URL it cannot use).
    bool configured() const noexcept { return endpoint_.has_value() || bad_url_; }

    /// True if the configured URL cannot be used: the first attempt fails with error::bad_url.
    bool bad_url() const noexcept { return bad_url_; }

    /// The polling endpoint (configured() and not bad_url() only).
    url const& endpoint() const noexcept { return *endpoint_; }

    /// The request of the next poll: it continues after `since`.
    SSE_DECL std::string request(std::string_view since, std::vector<header_field> const& headers) const;

    /// True the first time `id` is seen, from either path; false for a repeat.
    SSE_DECL bool first_delivery(std::string_view id);

    /** Reads a poll's answer into the batch that next_polled() walks. False if
        the answer is not usable (a status other than 200, or the decoder refused it).
    */
    SSE_DECL bool read_answer(int status, std::string_view body);

    /// An event of the batch.
    struct polled
    {
        enum kind_type { none, fresh, duplicate } kind = none;
        event const* e = nullptr;
    };

    /** The next event of the batch with data: fresh, or a duplicate (an id
        already seen). `none` once the batch is done.
    */
    SSE_DECL polled next_polled();

    /// Where the batch says the next poll continues, once next_polled() said `none`.
    std::optional<std::string> const& batch_last_id() const noexcept { return batch_.last_event_id; }

private:
    poll_fallback_options const& options_;
    std::optional<url> endpoint_;
    bool bad_url_ = false;
    poll_batch batch_;
    std::size_t next_ = 0;
    // Ids delivered recently, to drop an event that comes again by the other path.
    std::deque<std::string> recent_order_;
    std::unordered_set<std::string_view> recent_ids_;   // views of recent_order_
};

} // namespace detail
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/client/impl/fallback_policy.hpp>
#endif
#endif
