// demo_request.hpp - the bodies of POST /api/sse/demo and POST /api/sse/actions, turned into publishes.
#ifndef SSE_SERVER_DEMO_REQUEST_HPP
#define SSE_SERVER_DEMO_REQUEST_HPP

#include "publish_request.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace app {

/** Parses POST /api/sse/demo, 001's test endpoint:

        {"type": "broadcast|user|system|update|progress|success|error",
         "userId": "u1", "message": "Test message", "data": {...}}

    Each type becomes what 001's utility function of that name publishes:

    | type      | event          | data                                                          | to            |
    |-----------|----------------|---------------------------------------------------------------|---------------|
    | broadcast | notification   | notificationType info, title "Broadcast", message, data        | everyone      |
    | user      | notification   | notificationType info, title "Personal", message, data         | userId (required) |
    | system    | system         | message, level: data.level or "info"                           | everyone      |
    | update    | update         | type: data.type or "demo", data                                | userId or everyone |
    | progress  | progress       | operationId: data.operationId or "demo", progress: data.progress or 50, message | userId or everyone |
    | success, error | success, error | message, data                                         | userId or everyone |

    `message` defaults to "Test message"; `data` is left out when absent. The
    result is checked as a publish of that event is (events.hpp). Unknown fields
    are refused.

    @returns The request, or nothing with `error` naming the field at fault.
*/
std::optional<publish_request> parse_demo(std::string_view body, publish_rules const& rules, field_error& error);

/** Parses POST /api/sse/actions: the action a user picked on a notification, sent back.

        {"event": "order.open", "notificationId": "n-7", "label": "Open", "data": {...}}

    `event` (required) follows the publish rules, and may not be one of the typed
    events; `notificationId` and `label` are optional strings; `data` any JSON.
    The request publishes `event` with
    `{"notificationId","label","userId","data"}` (absent ones null) to the streams
    of `user`, who must not be empty. Unknown fields are refused.
*/
std::optional<publish_request> parse_action(std::string_view body, std::string const& user,
                                            publish_rules const& rules, field_error& error);

} // namespace app

#endif
