// sse/asio/detail/source_poller.hpp - the polling fallback's connection and timers.
//
// One poll (or probe of a silent stream) at a time, on its own connection,
// next to the stream or its trials. What to ask and which events are new is
// decided without I/O (detail::fallback_policy, through detail::source_core);
// the driver's steps over this state are in <sse/asio/impl/event_source_poll.hpp>.
#ifndef SSE_ASIO_DETAIL_SOURCE_POLLER_HPP
#define SSE_ASIO_DETAIL_SOURCE_POLLER_HPP

#include <sse/config.hpp>
#include <sse/client/poll_exchange.hpp>
#include <sse/asio/detail/source_connection.hpp>

#include <sse/asio/net.hpp>

#include <chrono>
#include <optional>
#include <string>

SSE_NAMESPACE_BEGIN
namespace detail {

template<class Socket>
struct source_poller
{
    using clock = std::chrono::steady_clock;

    template<class Executor>
    explicit source_poller(Executor const& ex) : connection(ex), probe_timer(ex), next_poll(ex), deadline(ex)
    {
    }

    source_connection<Socket> connection;
    net::steady_timer probe_timer;   // when a silent stream is probed
    net::steady_timer next_poll;     // the next poll while polling
    net::steady_timer deadline;      // one poll's time limit
    std::optional<poll_exchange> exchange;
    std::string request;
    bool in_flight = false;
    bool is_probe = false;
    clock::time_point probe_started{};
    clock::time_point last_probe{};

    /// Ends the poll in flight, if any: its completions are stale.
    void close_connection()
    {
        deadline.cancel();
        connection.disconnect();
        in_flight = false;
    }

    /// Stops everything: the poll in flight, and the timers.
    void stop()
    {
        close_connection();
        next_poll.cancel();
        probe_timer.cancel();
    }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
