// metrics.cpp - two views of one snapshot.
#include "metrics.hpp"

#include "http.hpp"
#include "log.hpp"
#include "publish_request.hpp"

#include <cstdio>

namespace app {
namespace {

constexpr sse::drop_reason drop_reasons[] = {sse::drop_reason::queue_bytes, sse::drop_reason::queue_age,
                                             sse::drop_reason::coalesced};

// Writes one metric family of the exposition format.
class exposition
{
public:
    void family(char const* name, char const* type, char const* help)
    {
        out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }

    void sample(char const* name, double value) { line(name, {}, {}, value); }

    /// A family of one unlabelled sample.
    void single(char const* name, char const* type, char const* help, double value)
    {
        family(name, type, help);
        sample(name, value);
    }

    void sample(char const* name, char const* label, std::string const& label_value, double value)
    {
        line(name, label, label_value, value);
    }

    std::string take() { return std::move(out_); }

private:
    void line(char const* name, char const* label, std::string const& label_value, double value)
    {
        out_ += name;
        if (label != nullptr) {
            out_.append("{").append(label).append("=\"");
            // Label values escape backslash, double quote and line feed.
            for (char c : label_value) {
                if (c == '\\' || c == '"')
                    out_ += '\\';
                if (c == '\n') {
                    out_ += "\\n";
                    continue;
                }
                out_ += c;
            }
            out_ += "\"}";
        }
        char number[64];
        if (value == static_cast<double>(static_cast<long long>(value)))
            std::snprintf(number, sizeof number, " %lld\n", static_cast<long long>(value));
        else
            std::snprintf(number, sizeof number, " %.6g\n", value);
        out_ += number;
    }

    std::string out_;
};

} // namespace

char const* to_string(sse::drop_reason r) noexcept
{
    switch (r) {
    case sse::drop_reason::queue_bytes: return "queue_bytes";
    case sse::drop_reason::queue_age: return "queue_age";
    case sse::drop_reason::coalesced: return "coalesced";
    }
    return "unknown";
}

char const* to_string(sse::close_reason r) noexcept
{
    switch (r) {
    case sse::close_reason::slow_consumer: return "slow_consumer";
    case sse::close_reason::shutdown: return "shutdown";
    case sse::close_reason::kicked: return "kicked";
    case sse::close_reason::token_expired: return "token_expired";
    case sse::close_reason::unsubscribed: return "unsubscribed";
    case sse::close_reason::sink_expired: return "sink_expired";
    }
    return "unknown";
}

nlohmann::json backplane_json(backplane_snapshot const& b)
{
    nlohmann::json unreachable = nullptr;
    if (b.unreachable_for)
        unreachable = b.unreachable_for->count();
    return {
        {"state", b.state},
        {"namespace", b.ns},
        {"server", b.server},
        {"durable", b.durable},
        {"epoch", b.epoch},
        {"position", b.position},
        {"lag", b.lag},
        {"reconnects", b.reconnects},
        {"epochChanges", b.epoch_changes},
        {"published", b.published},
        {"publishFailures", b.publish_failures},
        {"duplicates", b.duplicates},
        {"historyReads", b.history_reads},
        {"entriesRead", b.entries_read},
        {"unreachableMs", unreachable},
        {"lastError", string_or_null(b.last_error)},
    };
}

nlohmann::json stats_json(service_snapshot const& s)
{
    nlohmann::json drops = nlohmann::json::object();
    for (auto r : drop_reasons)
        drops[to_string(r)] = s.hub.dropped(r);
    nlohmann::json last = nullptr;
    if (s.last_event)
        last = unix_ms(*s.last_event);
    // Without the hidden topics of users and metadata (see user_topic, meta_topic).
    nlohmann::json channels = nlohmann::json::object();
    for (auto const& [topic, n] : s.hub.by_topic)
        if (!is_hidden_topic(topic))
            channels[topic] = n;
    nlohmann::json out = {
        {"totalClients", s.clients},
        {"totalConnections", s.clients},
        {"uniqueUsers", s.unique_users},
        {"clientsByUser", s.hub.by_user},
        {"clientsByChannel", channels},
        {"averageConnectionDuration", s.average_connection.count()},
        {"connectionsSinceStart", s.connections_total},
        {"totalEventsPublished", s.hub.published},
        {"totalEventsSent", s.hub.deliveries},
        {"totalEventsReplayed", s.hub.replayed},
        {"replayResets", s.hub.resets},
        {"totalPolls", s.polls},
        {"totalEventsPolled", s.polled_events},
        {"pollResets", s.poll_resets},
        {"lastEventTime", last},
        {"eventsPerSecond", s.events_per_second},
        {"drops", drops},
        {"disconnects", s.disconnects},
        {"refused", s.refused},
        {"queuedEvents", s.hub.queued_events},
        {"queuedBytes", s.hub.queued_bytes},
        {"replayBufferEvents", s.hub.replay_events},
        {"replayBufferBytes", s.hub.replay_bytes},
        {"uptime", std::chrono::duration_cast<std::chrono::seconds>(s.uptime).count()},
    };
    if (s.backplane) {
        out["backplane"] = backplane_json(*s.backplane);
        out["backplane"]["logResets"] = s.hub.log_resets;
    }
    return out;
}

std::string prometheus_text(service_snapshot const& s)
{
    exposition m;
    m.single("sse_uptime_seconds", "gauge", "Seconds since the server started.",
             std::chrono::duration<double>(s.uptime).count());
    m.single("sse_clients", "gauge", "Open event streams.", static_cast<double>(s.clients));
    m.single("sse_connections_total", "counter", "Event streams opened.", static_cast<double>(s.connections_total));
    m.family("sse_disconnects_total", "counter", "Event streams closed, by reason.");
    for (auto const& [reason, n] : s.disconnects)
        m.sample("sse_disconnects_total", "reason", reason, static_cast<double>(n));
    m.family("sse_requests_refused_total", "counter", "Requests refused, by reason.");
    for (auto const& [reason, n] : s.refused)
        m.sample("sse_requests_refused_total", "reason", reason, static_cast<double>(n));
    m.single("sse_events_published_total", "counter", "Events published.", static_cast<double>(s.hub.published));
    m.single("sse_events_delivered_total", "counter", "Events queued to streams, replay excluded.",
             static_cast<double>(s.hub.deliveries));
    m.single("sse_events_written_inline_total", "counter",
             "Events published whose idle streams were written by the publishing thread.",
             static_cast<double>(s.hub.inline_fanouts));
    m.single("sse_events_replayed_total", "counter", "Events queued to streams by Last-Event-ID replay.",
             static_cast<double>(s.hub.replayed));
    m.single("sse_replay_resets_total", "counter", "Reset events sent to streams for ids the replay buffer could not place.",
             static_cast<double>(s.hub.resets));
    m.single("sse_polls_total", "counter", "Polls answered (GET /api/sse/poll).", static_cast<double>(s.polls));
    m.single("sse_events_polled_total", "counter", "Events returned by polls.", static_cast<double>(s.polled_events));
    m.single("sse_poll_resets_total", "counter", "Polls answered with a reset.", static_cast<double>(s.poll_resets));
    m.family("sse_events_dropped_total", "counter", "Queued events discarded before sending, by reason.");
    for (auto r : drop_reasons)
        m.sample("sse_events_dropped_total", "reason", to_string(r), static_cast<double>(s.hub.dropped(r)));
    m.single("sse_queued_events", "gauge", "Events waiting in stream queues.",
             static_cast<double>(s.hub.queued_events));
    m.single("sse_queued_bytes", "gauge", "Bytes waiting in stream queues.", static_cast<double>(s.hub.queued_bytes));
    m.single("sse_replay_buffer_events", "gauge", "Events kept for replay.", static_cast<double>(s.hub.replay_events));
    m.single("sse_replay_buffer_bytes", "gauge", "Bytes of events kept for replay.",
             static_cast<double>(s.hub.replay_bytes));
    if (auto const& b = s.backplane) {
        auto const n = [](std::uint64_t v) { return static_cast<double>(v); };
        m.single("sse_backplane_connected", "gauge", "1 while the Redis log is followed, else 0.",
                 b->state == "connected" ? 1 : 0);
        m.single("sse_backplane_unreachable_seconds", "gauge", "Seconds Redis has been unreachable (0 while connected).",
                 b->unreachable_for ? std::chrono::duration<double>(*b->unreachable_for).count() : 0.0);
        m.single("sse_backplane_position", "gauge", "The newest Redis log position handed to the hub.", n(b->position));
        m.single("sse_backplane_lag", "gauge", "Entries of the Redis log not yet handed to the hub.", n(b->lag));
        m.single("sse_backplane_reconnects_total", "counter", "Connections to Redis lost and made again.",
                 n(b->reconnects));
        m.single("sse_backplane_epoch_changes_total", "counter", "Syncs with Redis that found a new epoch.",
                 n(b->epoch_changes));
        m.single("sse_backplane_log_resets_total", "counter",
                 "Times every stream was sent a reset for a gap in the Redis log or a new epoch.", n(s.hub.log_resets));
        m.single("sse_backplane_published_total", "counter", "Publishes Redis took from this server.",
                 n(b->published));
        m.single("sse_backplane_publish_failures_total", "counter",
                 "Publishes refused: Redis unreachable, epoch changed, or an error.", n(b->publish_failures));
        m.single("sse_backplane_duplicates_total", "counter", "Publishes answered from their Idempotency-Key.",
                 n(b->duplicates));
        m.single("sse_backplane_history_reads_total", "counter",
                 "Reads of the Redis log for streams resuming from before the replay buffer.", n(b->history_reads));
        m.single("sse_backplane_entries_read_total", "counter", "Entries of the Redis log handed to the hub.",
                 n(b->entries_read));
    }
    return m.take();
}

} // namespace app
