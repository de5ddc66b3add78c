// events.cpp - payloads of the typed events.
#include "events.hpp"

#include <algorithm>
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

    std::optional<field_error> text(char const* name, bool required, std::size_t max, bool non_empty = false)
    {
        auto const it = data_.find(name);
        if (it == data_.end())
            return required ? fail(name, "is required") : std::nullopt;
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

std::optional<field_error> validate_payload(std::string_view type, nlohmann::json const& data)
{
    payload_check c(data);
    if (type == "notification") {
        if (auto e = c.object("notificationType and message (and an optional title)"))
            return e;
        return first({c.one_of("notificationType", true, {"success", "error", "warning", "info"}),
                      c.text("title", false, max_title, true), c.text("message", true, max_message),
                      c.number("duration", false, 0, static_cast<double>(max_duration.count()), true)});
    }
    if (type == "update") {
        if (auto e = c.object("entity and action"))
            return e;
        return first({c.text("entity", true, max_name, true),
                      c.one_of("action", true, {"created", "updated", "deleted"})});
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
        return first({c.text("message", true, max_message), c.one_of("level", false, {"info", "warning", "error"})});
    }
    return std::nullopt;
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
