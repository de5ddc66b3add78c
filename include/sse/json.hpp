// sse/json.hpp - nlohmann_json glue: the polling fallback's decoder for JSON answers.
#ifndef SSE_JSON_HPP
#define SSE_JSON_HPP

#include <sse/config.hpp>
#include <sse/source_options.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN

/** A poll_decoder for answers shaped as the example server's `/api/sse/poll`:

    @code
    {"events": [{"id": "k3v9qa-7", "event": "notification", "data": "{\"title\":\"Hi\"}"}],
     "lastEventId": "k3v9qa-7", "reset": false}
    @endcode

    `event` (or `type`) may be absent ("message"); `data` that is not a string
    is passed on as its JSON text. `"reset": true` (the server could not replay
    from `since`) becomes an `event: reset` whose data is `{"reason": …}`, first,
    as the stream would send it. Needs nlohmann_json (`nlohmann_json::nlohmann_json`).

    @code
    options.fallback.url = "/api/sse/poll?channels=orders";
    options.fallback.decode = sse::json_poll_decoder();
    @endcode
*/
inline poll_decoder json_poll_decoder()
{
    return [](std::string_view body, poll_batch& out, std::string& why) {
        using json = nlohmann::json;
        auto const text = [](json const& v) {
            return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
        };
        json const doc = json::parse(body.begin(), body.end(), nullptr, false);
        if (doc.is_discarded() || !doc.is_object()) {
            why = "the answer is not a JSON object";
            return false;
        }
        auto const events = doc.find("events");
        if (events == doc.end() || !events->is_array()) {
            why = "the answer has no \"events\" array";
            return false;
        }
        auto const reset = doc.find("reset");
        if (reset != doc.end() && reset->is_boolean() && reset->get<bool>()) {
            event e;
            e.type = "reset";
            auto const reason = doc.find("reason");
            e.data = json{{"reason", reason != doc.end() ? text(*reason) : std::string("unknown")}}.dump();
            out.events.push_back(std::move(e));
        }
        for (json const& item : *events) {
            if (!item.is_object()) {
                why = "an element of \"events\" is not an object";
                return false;
            }
            event e;
            auto const id = item.find("id");
            if (id != item.end() && !id->is_null())
                e.id = text(*id);
            auto type = item.find("event");
            if (type == item.end())
                type = item.find("type");
            if (type != item.end() && type->is_string())
                e.type = type->get<std::string>();
            auto const data = item.find("data");
            e.data = data == item.end() || data->is_null() ? std::string() : text(*data);
            out.events.push_back(std::move(e));
        }
        auto const last = doc.find("lastEventId");
        if (last != doc.end() && last->is_string())
            out.last_event_id = last->get<std::string>();
        return true;
    };
}

SSE_NAMESPACE_END

#endif
