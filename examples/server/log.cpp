// log.cpp - JSON lines.
#include "log.hpp"

#include <cstdio>
#include <ctime>

namespace app {

logger::logger(log_level level, sink_type sink) : level_(level), sink_(std::move(sink))
{
    if (!sink_)
        sink_ = [](std::string_view line) {
            // One fwrite per line: stdio locks the stream, so lines of concurrent threads never mix.
            std::fwrite(line.data(), 1, line.size(), stderr);
        };
}

void logger::write(log_level l, std::string_view event, nlohmann::json fields) const
{
    if (!enabled(l))
        return;
    nlohmann::json entry = {
        {"time", iso_time(std::chrono::system_clock::now())},
        {"level", to_string(l)},
        {"event", event},
    };
    entry.update(fields);
    // Invalid UTF-8 from a client (a user id, a path) is replaced, never a reason to throw.
    std::string line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    sink_(line);
}

long long unix_ms(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string iso_time(std::chrono::system_clock::time_point t)
{
    long long const ms = unix_ms(t);
    std::time_t const seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::size_t const n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms % 1000));
    return text;
}

} // namespace app
