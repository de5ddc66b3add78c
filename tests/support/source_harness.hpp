// tests/support/source_harness.hpp - an event_source on its own io_context, recording what it reports.
#ifndef SSE_TESTS_SUPPORT_SOURCE_HARNESS_HPP
#define SSE_TESTS_SUPPORT_SOURCE_HARNESS_HPP

#include <sse/asio/event_source.hpp>

#include "support/run_until.hpp"

#include "net.hpp"

#include <chrono>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace support {

/// An event as the source's handler saw it.
struct received
{
    std::string type, data, id;
    friend bool operator==(received const& a, received const& b)
    {
        return a.type == b.type && a.data == b.data && a.id == b.id;
    }
};

inline std::ostream& operator<<(std::ostream& os, received const& r)
{
    return os << '{' << r.type << ", " << r.data << ", " << r.id << '}';
}

/// A source with its io_context, recording every event and state change in order.
template<class Socket = asio::ip::tcp::socket>
struct source_harness
{
    asio::io_context io;
    std::vector<received> events;
    std::vector<std::pair<sse::source_state, sse::error_code>> states;
    sse::event_source<Socket> source;

    explicit source_harness(std::string const& url, sse::event_source_options options = {})
        : source(io.get_executor(), url, std::move(options))
    {
        source.on_event([this](sse::event_view const& ev) {
            events.push_back({std::string(ev.type), std::string(ev.data), std::string(ev.last_event_id)});
        });
        source.on_state([this](sse::source_state s, sse::error_code why) { states.emplace_back(s, why); });
    }

    /// True once the source has closed or failed for good.
    bool ended() const
    {
        return !states.empty() &&
               (states.back().first == sse::source_state::closed || states.back().first == sse::source_state::failed);
    }

    /// Starts the source and runs until it ends for good; false if it did not within `limit`.
    bool run(std::chrono::milliseconds limit = std::chrono::seconds(10))
    {
        source.start();
        return support::run_until(io, [this] { return ended(); }, limit);
    }

    /// How many times the source entered state `s`.
    std::size_t count(sse::source_state s) const
    {
        std::size_t n = 0;
        for (auto const& st : states)
            n += st.first == s;
        return n;
    }

    /// The reason given with the last state change.
    sse::error_code final_reason() const { return states.empty() ? sse::error_code() : states.back().second; }
};

} // namespace support

#endif
