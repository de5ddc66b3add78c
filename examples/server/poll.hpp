// poll.hpp - GET /api/sse/poll: the events after an id, as JSON, for clients that cannot stream.
#ifndef SSE_SERVER_POLL_HPP
#define SSE_SERVER_POLL_HPP

#include <sse/hub.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace app {

/** The events after `since` that a stream subscribed as `who` would have
    received, from the hub's replay buffer:

        {"events":[{"id":"...","event":"notification","data":"..."}],"lastEventId":"...","reset":false}

    `lastEventId` is the id to pass as `since` next time. An empty `since`
    returns no events and the newest id: the client starts from now. When the
    buffer cannot answer (`since` is too old, unknown or from before a restart),
    `reset` is true, `reason` says why (too_old, unknown, foreign) and
    `lastEventId` is the newest id: the client should reload its state, as a
    stream client does on `event: reset`.

    `who.last_event_id` is ignored; routing and filters are those of a stream.
    A poll is a read-only look-up (sse::hub::events_after): it subscribes
    nobody, so the hub's subscribe, replay and reset counters do not move.
    After hub::shutdown() sets `ec` to sse::error::hub_shut_down.
*/
nlohmann::json poll_events(sse::hub& hub, sse::subscriber_options who, std::string const& since, sse::error_code& ec);

} // namespace app

#endif
