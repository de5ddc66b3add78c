// publish_request.cpp - validation of publish bodies.
#include "publish_request.hpp"

#include "http.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
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
constexpr std::size_t max_client_ids = 1000;
constexpr long long max_retry_ms = 24LL * 3600 * 1000;

constexpr std::string_view user_topic_prefix = "\x1fuser:";
constexpr std::string_view meta_topic_prefix = "\x1fmeta:";

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
        if (!valid_name(s, max_size))
            return fail("entries must not contain commas or control characters");
        out.push_back(s);
    }
    return out;
}

// `clientIds`: the ids GET /clients lists, as strings ("3") or numbers (3).
std::optional<std::set<std::uint64_t>> client_ids(nlohmann::json const& value, field_error& error)
{
    auto fail = [&](std::string why) {
        error = {"clientIds", std::move(why)};
        return std::nullopt;
    };
    char const* const shape = "must be an array of 1 to 1000 client ids as GET /clients lists them (\"3\" or 3)";
    if (!value.is_array() || value.empty() || value.size() > max_client_ids)
        return fail(shape);
    std::set<std::uint64_t> out;
    for (auto const& v : value) {
        if (v.is_number_unsigned()) {
            out.insert(v.get<std::uint64_t>());
            continue;
        }
        if (!v.is_string())
            return fail(shape);
        auto const& s = v.get_ref<std::string const&>();
        std::uint64_t id = 0;
        auto const [end, err] = std::from_chars(s.data(), s.data() + s.size(), id);
        if (s.empty() || err != std::errc() || end != s.data() + s.size())
            return fail("\"" + s.substr(0, 32) + "\" is not a client id: ids are decimal numbers, as GET /clients lists them");
        out.insert(id);
    }
    return out;
}

// `metadata`: the pairs a stream's metadata must all hold.
std::optional<std::map<std::string, std::string>> metadata_pairs(nlohmann::json const& value, field_error& error)
{
    auto fail = [&](std::string field, std::string why) {
        error = {std::move(field), std::move(why)};
        return std::nullopt;
    };
    if (!value.is_object() || value.empty() || value.size() > max_publish_metadata)
        return fail("metadata", "must be an object of 1 to " + std::to_string(max_publish_metadata) +
                                    " string pairs, e.g. {\"page\":\"dashboard\"}");
    std::map<std::string, std::string> out;
    for (auto const& [key, v] : value.items()) {
        if (!valid_metadata_key(key))
            return fail("metadata", "key \"" + key.substr(0, 64) + "\" must be 1 to 64 bytes of A-Z, a-z, 0-9, _, . or -");
        if (!v.is_string() || !valid_metadata_value(v.get_ref<std::string const&>()))
            return fail("metadata." + key, "must be a string of at most " + std::to_string(max_metadata_value) +
                                               " bytes without control characters");
        out.emplace(key, v.get<std::string>());
    }
    return out;
}

// Who a publish is for: the union of what it names.
struct targets
{
    std::vector<std::string> channels;
    std::vector<std::string> users;
    std::set<std::uint64_t> clients;
    std::map<std::string, std::string> metadata;

    bool empty() const { return channels.empty() && users.empty() && clients.empty() && metadata.empty(); }
};

sse::audience audience_for(targets t, bool shareable)
{
    if (t.empty())
        return sse::audience::all();
    auto topics = std::move(t.channels);
    // One pair is one hidden topic, which every stream holding that pair follows.
    if (t.metadata.size() == 1)
        topics.push_back(meta_topic(t.metadata.begin()->first, t.metadata.begin()->second));
    if (t.clients.empty() && t.metadata.size() <= 1) {
        if (t.users.empty())
            return sse::audience::topics(std::move(topics));
        if (topics.empty() && t.users.size() == 1)
            return sse::audience::user(std::move(t.users.front()));
        if (shareable) {
            // Every stream of a user follows the user's topic: one topics audience, the union.
            for (auto& u : t.users)
                topics.push_back(user_topic(u));
            return sse::audience::topics(std::move(topics));
        }
    }
    // Anything else is one predicate, kept with the event so that replay routes it the same way.
    std::vector<std::string> all_pairs;
    if (t.metadata.size() > 1)
        for (auto const& [k, v] : t.metadata)
            all_pairs.push_back(meta_topic(k, v));
    auto const any_topics = std::make_shared<std::set<std::string> const>(topics.begin(), topics.end());
    auto const ids = std::make_shared<std::set<std::string> const>(t.users.begin(), t.users.end());
    auto const clients = std::make_shared<std::set<std::uint64_t> const>(std::move(t.clients));
    auto const pairs = std::make_shared<std::vector<std::string> const>(std::move(all_pairs));
    return sse::audience::matching([any_topics, ids, clients, pairs](sse::subscriber const& s) {
        if (!s.user().empty() && ids->count(s.user()) != 0)
            return true;
        if (clients->count(s.id()) != 0)
            return true;
        auto const& mine = s.topics();   // sorted
        auto const follows = [&](std::string const& topic) {
            return std::binary_search(mine.begin(), mine.end(), topic);
        };
        if (!pairs->empty() && std::all_of(pairs->begin(), pairs->end(), follows))
            return true;
        return std::any_of(any_topics->begin(), any_topics->end(), follows);
    });
}

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

std::string meta_topic(std::string_view key, std::string_view value)
{
    std::string t(meta_topic_prefix);
    t.append(key).append("=").append(value);
    return t;
}

std::optional<std::pair<std::string_view, std::string_view>> meta_pair_of(std::string_view topic) noexcept
{
    if (topic.substr(0, meta_topic_prefix.size()) != meta_topic_prefix)
        return std::nullopt;
    topic.remove_prefix(meta_topic_prefix.size());
    // Keys cannot contain '=' (valid_metadata_key): the first one ends the key.
    auto const eq = topic.find('=');
    if (eq == std::string_view::npos)
        return std::nullopt;
    return std::pair{topic.substr(0, eq), topic.substr(eq + 1)};
}

bool is_hidden_topic(std::string_view topic) noexcept
{
    // Both prefixes start with a control character, which channel names cannot contain.
    return !topic.empty() && topic.front() == '\x1f';
}

bool valid_metadata_key(std::string_view key) noexcept
{
    return !key.empty() && key.size() <= max_metadata_key && std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
    });
}

bool valid_metadata_value(std::string_view value) noexcept
{
    return value.size() <= max_metadata_value && !has_control(value);
}

bool valid_event_name(std::string_view name) noexcept
{
    return !name.empty() && name.size() <= max_event_name && !has_control(name);
}

bool valid_name(std::string_view name, std::size_t max) noexcept
{
    return !name.empty() && name.size() <= max && !has_control(name) && name.find(',') == std::string_view::npos;
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

    static char const* const known[] = {"event", "data", "id", "channels", "userIds", "clientIds", "metadata", "retry"};
    for (auto const& [key, value] : doc.items())
        if (std::find(std::begin(known), std::end(known), key) == std::end(known))
            return fail(key, "unknown field; expected event, data, id, channels, userIds, clientIds, metadata or retry");

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
    if (auto bad = normalise_payload(type, *data))
        return fail(bad->field, bad->message);
    out.event.data = data->is_string() ? data->get<std::string>() : data->dump();
    if (out.event.data->size() > rules.max_data)
        return fail("data", "must be at most " + std::to_string(rules.max_data) + " bytes");

    if (auto const id = doc.find("id"); id != doc.end()) {
        // 003 sends ids such as 1642678901234: a number is sent as its digits.
        if (id->is_number_unsigned()) {
            out.event.id = std::to_string(id->get<std::uint64_t>());
        } else {
            if (!id->is_string())
                return fail("id", "must be a string or a non-negative integer");
            auto const& s = id->get_ref<std::string const&>();
            if (s.empty() || s.size() > max_id)
                return fail("id", "must be 1 to " + std::to_string(max_id) + " bytes");
            if (has_control(s))
                return fail("id", "must not contain line breaks or other control characters");
            if (!rules.reserved_id_prefix.empty() &&
                s.compare(0, rules.reserved_id_prefix.size(), rules.reserved_id_prefix) == 0)
                return fail("id", "ids starting with \"" + rules.reserved_id_prefix + "\" are assigned by the server");
            out.event.id = s;
        }
    }

    if (auto const retry = doc.find("retry"); retry != doc.end()) {
        if (!retry->is_number_integer() || retry->get<long long>() < 0 || retry->get<long long>() > max_retry_ms)
            return fail("retry", "must be an integer number of milliseconds from 0 to " + std::to_string(max_retry_ms));
        out.event.retry = std::chrono::milliseconds(retry->get<long long>());
    }

    targets to;
    for (char const* field : {"channels", "userIds", "clientIds", "metadata"}) {
        auto const it = doc.find(field);
        if (it == doc.end())
            continue;
        if (rules.broadcast)
            return fail(field, "/broadcast sends to everyone; target with POST /api/sse/publish");
        std::string_view const name(field);
        if (name == "clientIds") {
            auto ids = client_ids(*it, error);
            if (!ids)
                return std::nullopt;
            to.clients = std::move(*ids);
        } else if (name == "metadata") {
            auto pairs = metadata_pairs(*it, error);
            if (!pairs)
                return std::nullopt;
            to.metadata = std::move(*pairs);
        } else {
            bool const is_channels = name == "channels";
            auto list = names(*it, field, is_channels ? max_channels : max_users, is_channels ? max_channel : max_user,
                              error);
            if (!list)
                return std::nullopt;
            (is_channels ? to.channels : to.users) = std::move(*list);
        }
    }
    if (rules.shareable) {
        // Only a predicate can say these, and a predicate cannot travel through Redis.
        char const* const why = " targets the connections of one server, and --redis shares each event between "
                                "servers: target with userIds, channels or a single metadata pair";
        if (!to.clients.empty())
            return fail("clientIds", std::string("clientIds") + why);
        if (to.metadata.size() > 1)
            return fail("metadata", std::string("more than one metadata pair") + why);
    }
    out.to = audience_for(std::move(to), rules.shareable);
    return out;
}

} // namespace app
