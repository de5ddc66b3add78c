// sse/impl/backplane.hpp - bodies of the backplane receiver: calls into its hub.
#ifndef SSE_IMPL_BACKPLANE_HPP
#define SSE_IMPL_BACKPLANE_HPP

#include <sse/detail/hub_anchor.hpp>
#include <sse/hub.hpp>

#include <utility>

SSE_NAMESPACE_BEGIN

// Each call reaches the hub through its anchor: once ~hub() has released it,
// calls do nothing, and ~hub() waits for the calls under way.

SSE_DECL void backplane_receiver::synced(std::string epoch, std::uint64_t head, std::vector<log_entry> tail)
{
    if (auto const a = std::static_pointer_cast<detail::hub_anchor>(anchor_.lock()))
        a->with([&](hub& h) { h.log_synced(std::move(epoch), head, std::move(tail)); });
}

SSE_DECL void backplane_receiver::entries(std::vector<log_entry> batch)
{
    if (auto const a = std::static_pointer_cast<detail::hub_anchor>(anchor_.lock()))
        a->with([&](hub& h) { h.log_entries(std::move(batch)); });
}

SSE_DECL void backplane_receiver::state(backplane_state s, error_code why)
{
    (void)why;   // the backplane keeps its own record of errors
    if (auto const a = std::static_pointer_cast<detail::hub_anchor>(anchor_.lock()))
        a->with([&](hub& h) { h.log_state(s); });
}

SSE_NAMESPACE_END

#endif
