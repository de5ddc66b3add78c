// events.hpp - the typed events of the service, their JSON payloads, and helpers to publish them.
//
//   event: notification   {"notificationType":"success|error|warning|info","title":"...","message":"...","duration":5000,
//                          "autoDismiss":true,"actions":[{"label":"Open","url":"/orders/7"}]}
//                         (all but message optional)
//   event: update         {"entity":"order","action":"created|updated|deleted","payload":{...}}
//                         or {"type":"content","data":{...}}
//   event: progress       {"operationId":"import-42","progress":57.5,"message":"..."}
//   event: system         {"message":"...","level":"info|warning|error|critical"}
//
// The same shapes are checked on events published through POST /api/sse/publish
// with one of these names, and the seeds' variants are normalised to them (see
// normalise_payload); other event names carry any data.
#ifndef SSE_SERVER_EVENTS_HPP
#define SSE_SERVER_EVENTS_HPP

#include "publisher.hpp"

#include <sse/event.hpp>
#include <sse/hub.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace app {

enum class notification_type { success, error, warning, info };
enum class update_action { created, updated, deleted };
enum class system_level { info, warning, error, critical };

char const* to_string(notification_type t) noexcept;
char const* to_string(update_action a) noexcept;
char const* to_string(system_level l) noexcept;

/// Bounds on payload texts, so that a page can show them as they come.
inline constexpr std::size_t max_title = 200;
inline constexpr std::size_t max_message = 2000;
inline constexpr std::size_t max_name = 200;   ///< entity names and operation ids
inline constexpr std::size_t max_actions = 5;
inline constexpr std::size_t max_action_label = 100;
inline constexpr std::size_t max_action_url = 2048;
inline constexpr std::chrono::milliseconds max_duration = std::chrono::hours(1);

/// A toast for the user. `duration` is how long the page shows it; absent: until dismissed.
struct notification
{
    notification_type type = notification_type::info;
    std::string title;   ///< optional: empty, it is left out of the payload
    std::string message;
    std::optional<std::chrono::milliseconds> duration;
};

/// Something changed in the application's data.
struct update
{
    std::string entity;
    update_action action = update_action::updated;
    nlohmann::json payload;   ///< null: omitted
};

/// How far an operation has come, from 0 to 100.
struct progress
{
    std::string operation_id;
    double percent = 0;
    std::string message;
};

/// A message from the service itself: maintenance, shutdown, a kicked session.
struct system_message
{
    std::string message;
    system_level level = system_level::info;
};

nlohmann::json to_json(notification const& n);
nlohmann::json to_json(update const& u);
nlohmann::json to_json(progress const& p);
nlohmann::json to_json(system_message const& s);

/// The event, with type and JSON data set and no id (the hub assigns one).
sse::event make_event(notification const& n);
sse::event make_event(update const& u);
sse::event make_event(progress const& p);
sse::event make_event(system_message const& s);

/// A field of a request or payload that is wrong, and why.
struct field_error
{
    std::string field;     ///< e.g. "data.notificationType"
    std::string message;
};

/** Checks `data` against the payload of `type` if it is one of the typed
    events above, and fills in what the seeds' variants leave out; any data
    passes, unchanged, for other types. Fields the server does not know are kept.

    - notification: `notificationType` absent is taken from `type` when that is
      one of the four, else "info"; `message` absent is taken from `body`.
    - system: `level` absent is taken from `severity`, else "info".
    - update: either `entity` (with an optional `action`) or `type`.

    Fields are named `data.<name>` in the error (`data.actions[1].url`). On an
    error `data` may be partly filled in.
*/
std::optional<field_error> normalise_payload(std::string_view type, nlohmann::json& data);

/// As normalise_payload(), on a copy: only whether `data` is acceptable.
std::optional<field_error> validate_payload(std::string_view type, nlohmann::json const& data);

// Helpers for the common cases. Each publishes one event (job_completed two)
// and returns what the hub did; they throw std::system_error after shutdown.

/// A notification to every stream of `user`.
sse::publish_result notify_user(publisher& p, std::string const& user, notification const& n);

/// A system message to every stream.
sse::publish_result system_notice(publisher& p, std::string message, system_level level = system_level::info);

/** Progress of `operation_id` to `to`, clamped to 0..100. The events carry the
    key "progress:<operation_id>", so that coalescing queues keep only the newest.
*/
sse::publish_result report_progress(publisher& p, sse::audience const& to, std::string const& operation_id,
                                    double percent, std::string message = {});

/// Progress 100 for `operation_id`, then a success notification, both to `user`.
sse::publish_result job_completed(publisher& p, std::string const& user, std::string const& operation_id,
                                  std::string message);

/// An update of `entity` to the subscribers of `channel`.
sse::publish_result data_changed(publisher& p, std::string const& channel, std::string entity,
                                 update_action action, nlohmann::json payload = nullptr);

} // namespace app

#endif
