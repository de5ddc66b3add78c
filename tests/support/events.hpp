// tests/support/events.hpp - the events the tests publish, and what a subscriber has queued,
// pulled back as strings to compare.
#ifndef SSE_TESTS_SUPPORT_EVENTS_HPP
#define SSE_TESTS_SUPPORT_EVENTS_HPP

#include <sse/event.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace support {

// An event with only `data` (and an id, if given).
inline sse::event data_event(std::string data, std::optional<std::string> id = std::nullopt)
{
    sse::event e;
    e.data = std::move(data);
    e.id = std::move(id);
    return e;
}

// The value of a message's first `data:` line, or the whole message if it has none (a
// `retry:` hint, a comment), so that a test sees what it got instead of an empty string.
inline std::string data_of(std::string_view wire)
{
    auto const at = wire.find("data: ");
    if (at == std::string_view::npos)
        return std::string(wire);
    auto const value = wire.substr(at + 6);
    return std::string(value.substr(0, value.find('\n')));
}

} // namespace support

#endif
