// publish_request.cpp - validation of publish bodies.
#include "publish_request.hpp"

#include "http.hpp"

#include <algorithm>
#include <memory>
#include <set>

namespace app {
namespace {

constexpr std::size_t max_event_name = 64;
constexpr std::size_t max_id = 128;
constexpr std::size_t max_channel = 64;
constexpr std::size_t max_channels = 32;
constexpr std::size_t max_user = 128;
constexpr std::size_t max_users = 1000;
constexpr long long max_retry_ms = 24LL * 3600 * 1000;

// A list of names: channels or user ids.
std::optional<std::vector<std::string>> names(nlohmann::json const& value, char const* field, std::size_t max_count,
                                              std::size_t max_size, field_error& error)
{
    auto fail = [&](std::string why) {
        error = {field, std::move(why)};
        return std::nullopt;
    };
    if (!value.is_array())
        return fail("must be an array of strings");
    if (value.size() > max_count)
        return fail("must have at most " + std::to_string(max_count) + " entries");
    std::vector<std::string> out;
    for (auto const& v : value) {
        if (!v.is_string())
            return fail("must be an array of strings");
        auto const& s = v.get_ref<std::string const&>();
        if (s.empty() || s.size() > max_size)
            return fail("entries must be 1 to " + std::to_string(max_size) + " bytes");
        // Channels travel in a comma-separated query parameter.
        if (has_control(s) || s.find(',') != std::string::npos)
            return fail("entries must not contain commas or control characters");
        out.push_back(s);
    }
    return out;
}

sse::audience audience_for(std::vector<std::string> channels, std::vector<std::string> users, bool shareable)
{
    if (channels.empty() && users.empty())
        return sse::audience::all();
    if (users.empty())
        return sse::audience::topics(std::move(channels));
    if (channels.empty() && users.size() == 1)
        return sse::audience::user(std::move(users.front()));
    if (shareable) {
        // Every stream of a user follows the user's topic: one topics audience, the union.
        for (auto& u : users)
            channels.push_back(user_topic(u));
        return sse::audience::topics(std::move(channels));
    }
    // Several users, or channels and users: one predicate, kept with the event so
    // that replay routes it the same way.
    auto const topics = std::make_shared<std::set<std::string> const>(channels.begin(), channels.end());
    auto const ids = std::make_shared<std::set<std::string> const>(users.begin(), users.end());
    return sse::audience::matching([topics, ids](sse::subscriber const& s) {
        if (!s.user().empty() && ids->count(s.user()) != 0)
            return true;
        return std::any_of(s.topics().begin(), s.topics().end(),
                           [&](std::string const& t) { return topics->count(t) != 0; });
    });
}

constexpr std::string_view user_topic_prefix = "\x1fuser:";

} // namespace

std::string user_topic(std::string_view user)
{
    std::string t(user_topic_prefix);
    t += user;
    return t;
}

bool is_user_topic(std::string_view topic) noexcept
{
    return topic.substr(0, user_topic_prefix.size()) == user_topic_prefix;
}

std::optional<publish_request> parse_publish(std::string_view body, publish_rules const& rules, field_error& error)
{
    auto fail = [&](std::string field, std::string why) {
        error = {std::move(field), std::move(why)};
        return std::nullopt;
    };
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded())
        return fail("body", "the body is not valid JSON");
    if (!doc.is_object())
        return fail("body", "the body must be a JSON object");

    static char const* const known[] = {"event", "data", "id", "channels", "userIds", "retry"};
    for (auto const& [key, value] : doc.items())
        if (std::find(std::begin(known), std::end(known), key) == std::end(known))
            return fail(key, "unknown field; expected event, data, id, channels, userIds or retry");

    publish_request out;

    auto const event = doc.find("event");
    if (event == doc.end())
        return fail("event", "is required");
    if (!event->is_string())
        return fail("event", "must be a string");
    auto const& type = event->get_ref<std::string const&>();
    if (type.empty() || type.size() > max_event_name)
        return fail("event", "must be 1 to " + std::to_string(max_event_name) + " bytes");
    if (has_control(type))
        return fail("event", "must not contain line breaks or other control characters");
    out.event.type = type;

    auto const data = doc.find("data");
    if (data == doc.end() || data->is_null())
        return fail("data", "is required");
    if (auto bad = validate_payload(type, *data))
        return fail(bad->field, bad->message);
    out.event.data = data->is_string() ? data->get<std::string>() : data->dump();
    if (out.event.data->size() > rules.max_data)
        return fail("data", "must be at most " + std::to_string(rules.max_data) + " bytes");

    if (auto const id = doc.find("id"); id != doc.end()) {
        if (!id->is_string())
            return fail("id", "must be a string");
        auto const& s = id->get_ref<std::string const&>();
        if (s.empty() || s.size() > max_id)
            return fail("id", "must be 1 to " + std::to_string(max_id) + " bytes");
        if (has_control(s))
            return fail("id", "must not contain line breaks or other control characters");
        if (!rules.reserved_id_prefix.empty() && s.compare(0, rules.reserved_id_prefix.size(), rules.reserved_id_prefix) == 0)
            return fail("id", "ids starting with \"" + rules.reserved_id_prefix + "\" are assigned by the server");
        out.event.id = s;
    }

    if (auto const retry = doc.find("retry"); retry != doc.end()) {
        if (!retry->is_number_integer() || retry->get<long long>() < 0 || retry->get<long long>() > max_retry_ms)
            return fail("retry", "must be an integer number of milliseconds from 0 to " + std::to_string(max_retry_ms));
        out.event.retry = std::chrono::milliseconds(retry->get<long long>());
    }

    std::vector<std::string> channels;
    std::vector<std::string> users;
    for (char const* field : {"channels", "userIds"}) {
        auto const it = doc.find(field);
        if (it == doc.end())
            continue;
        if (rules.broadcast)
            return fail(field, "/broadcast sends to everyone; target with POST /api/sse/publish");
        bool const is_channels = field == std::string_view("channels");
        auto list = names(*it, field, is_channels ? max_channels : max_users, is_channels ? max_channel : max_user,
                          error);
        if (!list)
            return std::nullopt;
        (is_channels ? channels : users) = std::move(*list);
    }
    out.to = audience_for(std::move(channels), std::move(users), rules.shareable);
    return out;
}

} // namespace app
