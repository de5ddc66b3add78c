// demo_request.cpp - 001's demo endpoint and the actions sent back from notifications.
#include "demo_request.hpp"

#include <algorithm>
#include <initializer_list>

namespace app {
namespace {

constexpr std::size_t max_user = 128;
constexpr std::size_t max_notification_id = 200;

// The body as a JSON object whose fields are all among `known`.
std::optional<nlohmann::json> object_body(std::string_view body, std::initializer_list<char const*> known,
                                          field_error& error)
{
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) {
        error = {"body", "the body is not valid JSON"};
        return std::nullopt;
    }
    if (!doc.is_object()) {
        error = {"body", "the body must be a JSON object"};
        return std::nullopt;
    }
    for (auto const& [key, value] : doc.items()) {
        if (std::find_if(known.begin(), known.end(), [&](char const* k) { return key == k; }) != known.end())
            continue;
        std::string list;
        for (char const* k : known)
            list.append(list.empty() ? "" : ", ").append(k);
        error = {key, "unknown field; expected " + list};
        return std::nullopt;
    }
    return doc;
}

// An optional string field of at most `max` bytes; false (and `error`) if it is something else.
bool optional_text(nlohmann::json const& doc, char const* field, std::size_t max, std::optional<std::string>& out,
                   field_error& error)
{
    auto const it = doc.find(field);
    if (it == doc.end())
        return true;
    if (!it->is_string() || it->get_ref<std::string const&>().size() > max) {
        error = {field, "must be a string of at most " + std::to_string(max) + " bytes"};
        return false;
    }
    out = it->get<std::string>();
    return true;
}

// Checks and normalises the event as a publish of it would be, then sizes it.
bool finish(publish_request& out, nlohmann::json data, publish_rules const& rules, field_error& error)
{
    if (auto bad = normalise_payload(out.event.type, data)) {
        error = std::move(*bad);
        return false;
    }
    out.event.data = data.dump();
    if (out.event.data->size() > rules.max_data) {
        error = {"data", "must be at most " + std::to_string(rules.max_data) + " bytes"};
        return false;
    }
    return true;
}

} // namespace

std::optional<publish_request> parse_demo(std::string_view body, publish_rules const& rules, field_error& error)
{
    auto doc = object_body(body, {"type", "userId", "message", "data"}, error);
    if (!doc)
        return std::nullopt;
    auto fail = [&](char const* field, std::string why) {
        error = {field, std::move(why)};
        return std::nullopt;
    };
    static char const* const kinds = "broadcast, user, system, update, progress, success or error";
    auto const t = doc->find("type");
    if (t == doc->end())
        return fail("type", std::string("is required: one of ") + kinds);
    static constexpr std::string_view known_types[] = {"broadcast", "user",    "system", "update",
                                                       "progress",  "success", "error"};
    std::string const type = t->is_string() ? t->get<std::string>() : std::string();
    if (std::find(std::begin(known_types), std::end(known_types), type) == std::end(known_types))
        return fail("type", std::string("must be one of ") + kinds);

    std::optional<std::string> user;
    if (auto const u = doc->find("userId"); u != doc->end()) {
        if (!u->is_string() || !valid_name(u->get_ref<std::string const&>(), max_user))
            return fail("userId", "must be a string of 1 to 128 bytes without commas or control characters");
        user = u->get<std::string>();
    }
    std::optional<std::string> message;
    if (!optional_text(*doc, "message", max_message, message, error))
        return std::nullopt;
    std::string const text = message.value_or("Test message");
    nlohmann::json const given = doc->value("data", nlohmann::json());
    auto const from_data = [&](char const* field, nlohmann::json fallback) {
        if (given.is_object() && given.contains(field))
            return given[field];
        return fallback;
    };

    publish_request out;
    nlohmann::json data;
    // 001's broadcast and systemNotification go to everyone; the others to the user when one is named.
    out.to = user ? sse::audience::user(*user) : sse::audience::all();
    if (type == "broadcast" || type == "user") {
        if (type == "user" && !user)
            return fail("userId", "is required for type \"user\": the user whose streams get the notification");
        if (type == "broadcast")
            out.to = sse::audience::all();
        out.event.type = "notification";
        data = {{"notificationType", "info"}, {"title", type == "user" ? "Personal" : "Broadcast"}, {"message", text}};
        if (!given.is_null())
            data["data"] = given;
    } else if (type == "system") {
        out.to = sse::audience::all();
        out.event.type = "system";
        data = {{"message", text}, {"level", from_data("level", "info")}};
    } else if (type == "update") {
        out.event.type = "update";
        data = {{"type", from_data("type", "demo")}};
        if (!given.is_null())
            data["data"] = given;
    } else if (type == "progress") {
        out.event.type = "progress";
        data = {{"operationId", from_data("operationId", "demo")}, {"progress", from_data("progress", 50)},
                {"message", text}};
        if (data["operationId"].is_string())
            out.key = "progress:" + data["operationId"].get<std::string>();
    } else {
        out.event.type = type;   // success or error
        data = {{"message", text}};
        if (!given.is_null())
            data["data"] = given;
    }
    if (!finish(out, std::move(data), rules, error))
        return std::nullopt;
    return out;
}

std::optional<publish_request> parse_action(std::string_view body, std::string const& user,
                                            publish_rules const& rules, field_error& error)
{
    if (user.empty()) {
        error = {"userId", "an action is sent back to its user's streams: pass a token or ?userId="};
        return std::nullopt;
    }
    auto doc = object_body(body, {"event", "notificationId", "label", "data"}, error);
    if (!doc)
        return std::nullopt;
    auto const event = doc->find("event");
    if (event == doc->end() || !event->is_string() || !valid_event_name(event->get_ref<std::string const&>())) {
        error = {"event", "is required: the action's event name, 1 to 64 bytes without control characters"};
        return std::nullopt;
    }
    std::string const type = event->get<std::string>();
    for (char const* typed : {"notification", "update", "progress", "system"})
        if (type == typed) {
            error = {"event", "\"" + type + "\" is one of the server's typed events, whose payloads differ: give the "
                              "action another event name"};
            return std::nullopt;
        }
    std::optional<std::string> notification_id;
    std::optional<std::string> label;
    if (!optional_text(*doc, "notificationId", max_notification_id, notification_id, error) ||
        !optional_text(*doc, "label", max_action_label, label, error))
        return std::nullopt;
    auto const or_null = [](std::optional<std::string> const& s) {
        return s ? nlohmann::json(*s) : nlohmann::json(nullptr);
    };
    publish_request out;
    out.event.type = type;
    out.to = sse::audience::user(user);
    nlohmann::json data = {{"notificationId", or_null(notification_id)},
                           {"label", or_null(label)},
                           {"userId", user},
                           {"data", doc->value("data", nlohmann::json())}};
    if (!finish(out, std::move(data), rules, error))
        return std::nullopt;
    return out;
}

} // namespace app
