// events.cpp - payloads of the typed events.
#include "events.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>

namespace app {
namespace {

sse::event json_event(char const* type, nlohmann::json const& data)
{
    sse::event e;
    e.type = type;
    e.data = data.dump();
    return e;
}

// Checks of one payload; each returns the first problem found.
class payload_check
{
public:
    explicit payload_check(nlohmann::json const& data) : data_(data) {}

    std::optional<field_error> object(char const* expected)
    {
        if (!data_.is_object())
            return field_error{"data", std::string("must be an object with ") + expected};
        return std::nullopt;
    }

    std::optional<field_error> text(char const* name, bool required, std::size_t max, bool non_empty = false,
                                    char const* alternative = "")
    {
        auto const it = data_.find(name);
        if (it == data_.end())
            return required ? fail(name, std::string("is required") + alternative) : std::nullopt;
        if (!it->is_string())
            return fail(name, "must be a string");
        auto const& s = it->get_ref<std::string const&>();
        if (non_empty && s.empty())
            return fail(name, "must not be empty");
        if (s.size() > max)
            return fail(name, "must be at most " + std::to_string(max) + " bytes");
        return std::nullopt;
    }

    std::optional<field_error> one_of(char const* name, bool required, std::initializer_list<char const*> values)
    {
        auto const it = data_.find(name);
        if (it == data_.end())
            return required ? fail(name, "is required") : std::nullopt;
        std::string list;
        for (char const* v : values) {
            if (it->is_string() && it->get_ref<std::string const&>() == v)
                return std::nullopt;
            list += list.empty() ? "" : ", ";
            list += v;
        }
        return fail(name, "must be one of " + list);
    }

    std::optional<field_error> number(char const* name, bool required, double min, double max, bool integer)
    {
        auto const it = data_.find(name);
        if (it == data_.end())
            return required ? fail(name, "is required") : std::nullopt;
        bool const ok_type = integer ? it->is_number_integer() : it->is_number();
        auto const range = " from " + format_number(min) + " to " + format_number(max);
        if (!ok_type)
            return fail(name, std::string(integer ? "must be an integer" : "must be a number") + range);
        double const v = it->get<double>();
        if (!(v >= min && v <= max))
            return fail(name, "must be" + range);
        return std::nullopt;
    }

    std::optional<field_error> boolean(char const* name)
    {
        auto const it = data_.find(name);
        if (it != data_.end() && !it->is_boolean())
            return fail(name, "must be true or false");
        return std::nullopt;
    }

private:
    static std::string format_number(double v)
    {
        return v == std::floor(v) ? std::to_string(static_cast<long long>(v)) : nlohmann::json(v).dump();
    }

    static std::optional<field_error> fail(char const* name, std::string why)
    {
        return field_error{std::string("data.") + name, std::move(why)};
    }

    nlohmann::json const& data_;
};

// The first error of a list of checks, in order.
std::optional<field_error> first(std::initializer_list<std::optional<field_error>> checks)
{
    for (auto const& c : checks)
        if (c)
            return c;
    return std::nullopt;
}

bool is_notification_type(std::string const& s)
{
    return s == "success" || s == "error" || s == "warning" || s == "info";
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept
{
    return s.substr(0, prefix.size()) == prefix;
}

// A link a page may open: http(s), or a path on the page's own origin. Not
// "//host" (another origin) and not javascript: or data: URLs.
bool safe_url(std::string const& url)
{
    std::string lower(url.substr(0, 8));
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (starts_with(lower, "http://") || starts_with(lower, "https://"))
        return true;
    return starts_with(url, "/") && !starts_with(url, "//") && !starts_with(url, "/\\");
}

bool has_control_char(std::string const& s)
{
    return std::any_of(s.begin(), s.end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; });
}

// `actions`: at most max_actions choices, each a label and either a URL to open
// or an event name the page sends back through POST /api/sse/actions.
std::optional<field_error> check_actions(nlohmann::json const& data)
{
    auto const it = data.find("actions");
    if (it == data.end())
        return std::nullopt;
    if (!it->is_array() || it->size() > max_actions)
        return field_error{"data.actions", "must be an array of at most " + std::to_string(max_actions) +
                                               " objects {\"label\", and \"url\" or \"event\"}"};
    for (std::size_t i = 0; i < it->size(); ++i) {
        auto const& a = (*it)[i];
        std::string const at = "data.actions[" + std::to_string(i) + "]";
        auto fail = [&](char const* field, std::string why) {
            return field_error{at + (*field ? "." : "") + field, std::move(why)};
        };
        if (!a.is_object())
            return fail("", "must be an object {\"label\", and \"url\" or \"event\"}");
        auto const label = a.find("label");
        if (label == a.end())
            return fail("label", "is required");
        if (!label->is_string() || label->get_ref<std::string const&>().empty() ||
            label->get_ref<std::string const&>().size() > max_action_label)
            return fail("label", "must be a string of 1 to " + std::to_string(max_action_label) + " bytes");
        auto const url = a.find("url");
        auto const event = a.find("event");
        if ((url == a.end()) == (event == a.end()))
            return fail(url == a.end() ? "url" : "event", "give exactly one of url (a link to open) or event (an "
                                                          "event name sent back to POST /api/sse/actions)");
        if (url != a.end()) {
            if (!url->is_string() || url->get_ref<std::string const&>().size() > max_action_url ||
                has_control_char(url->get_ref<std::string const&>()) || !safe_url(url->get_ref<std::string const&>()))
                return fail("url", "must be an http: or https: URL, or a path starting with \"/\", of at most " +
                                       std::to_string(max_action_url) + " bytes without control characters");
        } else {
            if (!event->is_string() || event->get_ref<std::string const&>().empty() ||
                event->get_ref<std::string const&>().size() > 64 || has_control_char(event->get_ref<std::string const&>()))
                return fail("event", "must be an event name of 1 to 64 bytes without control characters");
        }
    }
    return std::nullopt;
}

} // namespace

char const* to_string(notification_type t) noexcept
{
    switch (t) {
    case notification_type::success: return "success";
    case notification_type::error: return "error";
    case notification_type::warning: return "warning";
    case notification_type::info: return "info";
    }
    return "info";
}

char const* to_string(update_action a) noexcept
{
    switch (a) {
    case update_action::created: return "created";
    case update_action::updated: return "updated";
    case update_action::deleted: return "deleted";
    }
    return "updated";
}

char const* to_string(system_level l) noexcept
{
    switch (l) {
    case system_level::info: return "info";
    case system_level::warning: return "warning";
    case system_level::error: return "error";
    case system_level::critical: return "critical";
    }
    return "info";
}

nlohmann::json to_json(notification const& n)
{
    nlohmann::json j = {{"notificationType", to_string(n.type)}, {"message", n.message}};
    if (!n.title.empty())
        j["title"] = n.title;
    if (n.duration)
        j["duration"] = n.duration->count();
    return j;
}

nlohmann::json to_json(update const& u)
{
    nlohmann::json j = {{"entity", u.entity}, {"action", to_string(u.action)}};
    if (!u.payload.is_null())
        j["payload"] = u.payload;
    return j;
}

nlohmann::json to_json(progress const& p)
{
    nlohmann::json j = {{"operationId", p.operation_id}, {"progress", std::clamp(p.percent, 0.0, 100.0)}};
    if (!p.message.empty())
        j["message"] = p.message;
    return j;
}

nlohmann::json to_json(system_message const& s)
{
    return {{"message", s.message}, {"level", to_string(s.level)}};
}

sse::event make_event(notification const& n) { return json_event("notification", to_json(n)); }
sse::event make_event(update const& u) { return json_event("update", to_json(u)); }
sse::event make_event(progress const& p) { return json_event("progress", to_json(p)); }
sse::event make_event(system_message const& s) { return json_event("system", to_json(s)); }

std::optional<field_error> normalise_payload(std::string_view type, nlohmann::json& data)
{
    payload_check c(data);
    if (type == "notification") {
        if (auto e = c.object("a message (or body)"))
            return e;
        // 000 names the kind `type`; 001 and 004 send none at all.
        if (!data.contains("notificationType")) {
            auto const t = data.find("type");
            bool const usable = t != data.end() && t->is_string() && is_notification_type(t->get<std::string>());
            data["notificationType"] = usable ? t->get<std::string>() : std::string("info");
        }
        // 004 writes the text as `body`: it becomes the message, and stays as sent.
        if (!data.contains("message") && data.contains("body")) {
            if (auto e = c.text("body", true, max_message))
                return e;
            data["message"] = data["body"];
        }
        return first({c.one_of("notificationType", true, {"success", "error", "warning", "info"}),
                      c.text("title", false, max_title),
                      c.text("message", true, max_message, false, " (or body)"),
                      c.number("duration", false, 0, static_cast<double>(max_duration.count()), true),
                      c.boolean("autoDismiss"), check_actions(data)});
    }
    if (type == "update") {
        if (auto e = c.object("entity (and action), or type"))
            return e;
        // 003 describes an entity; 001's realtimeUpdate(type, data) only a type.
        if (data.contains("entity"))
            return first({c.text("entity", true, max_name, true),
                          c.one_of("action", false, {"created", "updated", "deleted"})});
        if (data.contains("type"))
            return c.text("type", true, max_name, true);
        return field_error{"data.entity", "is required (or type, as in {\"type\":\"content\",\"data\":{...}})"};
    }
    if (type == "progress") {
        if (auto e = c.object("operationId and progress"))
            return e;
        return first({c.text("operationId", true, max_name, true), c.number("progress", true, 0, 100, false),
                      c.text("message", false, max_message)});
    }
    if (type == "system") {
        if (auto e = c.object("message"))
            return e;
        // 001's announceSystemUpdate calls it severity.
        if (!data.contains("level")) {
            if (data.contains("severity")) {
                if (auto e = c.one_of("severity", true, {"info", "warning", "error", "critical"}))
                    return e;
                data["level"] = data["severity"];
            } else {
                data["level"] = "info";
            }
        }
        return first({c.text("message", true, max_message),
                      c.one_of("level", true, {"info", "warning", "error", "critical"})});
    }
    return std::nullopt;
}

std::optional<field_error> validate_payload(std::string_view type, nlohmann::json const& data)
{
    nlohmann::json copy = data;
    return normalise_payload(type, copy);
}

sse::publish_result notify_user(publisher& p, std::string const& user, notification const& n)
{
    return p.publish(make_event(n), sse::audience::user(user));
}

sse::publish_result system_notice(publisher& p, std::string message, system_level level)
{
    return p.publish(make_event(system_message{std::move(message), level}), sse::audience::all());
}

sse::publish_result report_progress(publisher& p, sse::audience const& to, std::string const& operation_id,
                                    double percent, std::string message)
{
    return p.publish(make_event(progress{operation_id, percent, std::move(message)}), to, "progress:" + operation_id);
}

sse::publish_result job_completed(publisher& p, std::string const& user, std::string const& operation_id,
                                  std::string message)
{
    auto const to = sse::audience::user(user);
    report_progress(p, to, operation_id, 100, message);
    notification done;
    done.type = notification_type::success;
    done.title = "Completed: " + operation_id;
    done.message = std::move(message);
    done.duration = std::chrono::seconds(5);
    return p.publish(make_event(done), to);
}

sse::publish_result data_changed(publisher& p, std::string const& channel, std::string entity,
                                 update_action action, nlohmann::json payload)
{
    return p.publish(make_event(update{std::move(entity), action, std::move(payload)}), sse::audience::topic(channel));
}

} // namespace app
