// poll.cpp - replay for clients that poll, through the hub's read-only look-up.
#include "poll.hpp"

#include <string_view>

namespace app {
namespace {

// What an EventSource dispatches as `data` (WHATWG HTML 9.2.6): the data lines
// joined by LF, so a CR or CRLF the publisher sent arrives as LF.
std::string as_dispatched(std::string_view data)
{
    std::string out;
    out.reserve(data.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (data[i] != '\r') {
            out += data[i];
            continue;
        }
        out += '\n';
        if (i + 1 < data.size() && data[i + 1] == '\n')
            ++i;
    }
    return out;
}

} // namespace

nlohmann::json poll_events(sse::hub& hub, sse::subscriber_options who, std::string const& since, sse::error_code& ec)
{
    nlohmann::json out = {{"events", nlohmann::json::array()}, {"lastEventId", since}, {"reset", false}};
    auto const found = hub.events_after(since, std::move(who), ec);
    if (ec)
        return out;
    if (since.empty()) {
        out["lastEventId"] = found.newest_id;
        return out;
    }
    if (found.reset) {
        out["reset"] = true;
        out["reason"] = found.reset_reason();
        out["lastEventId"] = found.newest_id;
        return out;
    }
    auto& events = out["events"];
    for (auto const& e : found.events) {
        // The ids advance past every event, as a stream's Last-Event-ID does.
        out["lastEventId"] = e->id;
        // An event without data is dispatched by no EventSource: a stream client never sees it.
        if (!e->data)
            continue;
        events.push_back({{"id", e->id}, {"event", e->type.empty() ? std::string("message") : e->type},
                          {"data", as_dispatched(*e->data)}});
    }
    return out;
}

} // namespace app
