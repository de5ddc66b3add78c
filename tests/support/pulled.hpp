// tests/support/pulled.hpp - what a subscriber has queued, pulled at once as strings.
#ifndef SSE_TESTS_SUPPORT_PULLED_HPP
#define SSE_TESTS_SUPPORT_PULLED_HPP

#include "events.hpp"

#include <sse/hub.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace support {

// Every queued message as it goes on the wire; `*result`, if given, gets the pull's result.
inline std::vector<std::string> pull_wires(sse::subscriber& s, sse::subscriber::clock::time_point now,
    sse::pull_result* result = nullptr)
{
    std::vector<sse::event_buffer> out;
    auto const r = s.pull(out, std::size_t(-1), now);
    if (result != nullptr)
        *result = r;
    std::vector<std::string> wires;
    for (auto const& b : out)
        wires.emplace_back(*b);
    return wires;
}

// The data of each queued message (see data_of).
inline std::vector<std::string> pull_data(sse::subscriber& s, sse::subscriber::clock::time_point now,
    sse::pull_result* result = nullptr)
{
    std::vector<std::string> data;
    for (auto const& w : pull_wires(s, now, result))
        data.push_back(data_of(w));
    return data;
}

} // namespace support

#endif
