// poll.cpp - replay through a short-lived subscription.
#include "poll.hpp"

#include <sse/parser.hpp>

#include <limits>
#include <vector>

namespace app {

nlohmann::json poll_events(sse::hub& hub, sse::subscriber_options who, std::string const& since, sse::error_code& ec)
{
    ec = {};
    nlohmann::json out = {{"events", nlohmann::json::array()}, {"lastEventId", since}, {"reset", false}};
    if (since.empty()) {
        out["lastEventId"] = hub.newest_id();
        return out;
    }
    // The hub does not lend its replay buffer, but a subscription without a
    // sink is handed exactly what a stream would replay, routed and filtered the
    // same way, or the reset event: subscribe, take it all, leave.
    who.last_event_id = since;
    auto sub = hub.subscribe(std::move(who), nullptr, ec);
    if (!sub)
        return out;
    std::vector<sse::event_buffer> buffers;
    sub->pull(buffers, std::numeric_limits<std::size_t>::max(), std::chrono::steady_clock::now());
    hub.unsubscribe(*sub);

    // The buffers hold the wire form; the parser gives back what was published.
    sse::parser parser(sse::parser_limits{std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max()});
    auto& events = out["events"];
    for (auto const& b : buffers) {
        parser.feed(*b, [&](sse::event_view const& e) {
            if (e.type == "reset") {
                auto const why = nlohmann::json::parse(e.data, nullptr, false);
                out["reset"] = true;
                out["reason"] = why.is_object() ? why.value("reason", "unknown") : "unknown";
                events = nlohmann::json::array();
            } else {
                events.push_back({{"id", e.last_event_id}, {"event", e.type}, {"data", e.data}});
            }
            out["lastEventId"] = e.last_event_id;
        });
    }
    return out;
}

} // namespace app
