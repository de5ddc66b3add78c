// sse/client/impl/fallback_policy.hpp - bodies of the polling fallback's decisions.
#ifndef SSE_CLIENT_IMPL_FALLBACK_POLICY_HPP
#define SSE_CLIENT_IMPL_FALLBACK_POLICY_HPP

#include <sse/client/fallback_policy.hpp>

#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

SSE_DECL fallback_policy::fallback_policy(url const& origin, poll_fallback_options const& options)
    : options_(options)
{
    if (options_.url.empty() || !options_.decode)
        return;
    error_code ec;
    url endpoint = resolve_url(origin, options_.url, ec);
    if (ec)
        bad_url_ = true;
    else
        endpoint_ = std::move(endpoint);
}

SSE_DECL std::string fallback_policy::request(std::string_view since, std::vector<header_field> const& headers) const
{
    return poll_exchange::request(*endpoint_, options_.since_param, since, headers);
}

SSE_DECL bool fallback_policy::first_delivery(std::string_view id)
{
    if (recent_ids_.count(id) != 0)
        return false;
    // Enough to cover a replay after any switch; old ids leave first. The set
    // views the deque's strings, which stay put when the deque grows or shrinks
    // at its ends: one copy per id, none per look-up.
    constexpr std::size_t remembered = 4096;
    recent_order_.emplace_back(id);
    recent_ids_.insert(recent_order_.back());
    if (recent_order_.size() > remembered) {
        recent_ids_.erase(recent_order_.front());
        recent_order_.pop_front();
    }
    return true;
}

SSE_DECL bool fallback_policy::read_answer(int status, std::string_view body)
{
    batch_ = poll_batch{};
    next_ = 0;
    std::string why;
    if (status != 200 || !options_.decode(body, batch_, why)) {
        batch_ = poll_batch{};
        return false;
    }
    return true;
}

SSE_DECL fallback_policy::polled fallback_policy::next_polled()
{
    while (next_ < batch_.events.size()) {
        event const& e = batch_.events[next_++];
        if (!e.data)
            continue;   // nothing to dispatch, as for a stream
        bool const repeat = e.id && !e.id->empty() && !first_delivery(*e.id);
        return polled{repeat ? polled::duplicate : polled::fresh, &e};
    }
    return polled{};
}

} // namespace detail
SSE_NAMESPACE_END

#endif
