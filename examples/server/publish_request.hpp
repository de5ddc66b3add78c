// publish_request.hpp - the body of POST /api/sse/publish and /broadcast, checked field by field.
#ifndef SSE_SERVER_PUBLISH_REQUEST_HPP
#define SSE_SERVER_PUBLISH_REQUEST_HPP

#include "events.hpp"

#include <sse/event.hpp>
#include <sse/replay_buffer.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace app {

/// What a publish request may contain.
struct publish_rules
{
    std::size_t max_data = 64 * 1024;   ///< bytes of `data` as sent on the wire
    std::string reserved_id_prefix;     ///< "<epoch>-": ids the hub assigns, refused from publishers
    bool broadcast = false;             ///< /broadcast: `channels` and `userIds` are refused
    /// Through a backplane (--redis): an audience of several users, or of channels and
    /// users, is written with user_topic() instead of a predicate, which cannot cross processes.
    bool shareable = false;
};

/** The hidden topic a stream of `user` also follows when the server shares events
    through Redis, so that an event for channels and users is one topics audience.
    It starts with a control character, which channel names cannot contain, and is
    left out of the channels that stats report.
*/
std::string user_topic(std::string_view user);

/// True for the topics user_topic() makes.
bool is_user_topic(std::string_view topic) noexcept;

/// A valid request, ready for the hub.
struct publish_request
{
    sse::event event;
    sse::audience to;
};

/** Parses and checks a publish body:

        {"event": "notification", "data": {...}, "id": "order-7", "channels": ["orders"],
         "userIds": ["u1"], "retry": 5000}

    `event` (1 to 64 bytes, no control characters) and `data` (a string is sent
    as is, anything else but null as JSON) are required; typed events must carry
    their payload (see events.hpp). `channels` and `userIds` choose the
    audience: either or both (the union), or neither for everyone. Unknown fields
    are refused, which catches typos such as "channel".

    @returns The request, or nothing with `error` naming the field at fault
    (`"body"` when the body is not a JSON object).
*/
std::optional<publish_request> parse_publish(std::string_view body, publish_rules const& rules, field_error& error);

} // namespace app

#endif
