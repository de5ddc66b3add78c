// log.hpp - one JSON object per line, to stderr by default.
#ifndef SSE_SERVER_LOG_HPP
#define SSE_SERVER_LOG_HPP

#include "config.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace app {

/** A structured log: each entry is one line of JSON with `time` (UTC, ms),
    `level`, `event` and the fields given, so that it can be read by people and
    by log shippers alike.

    @par Thread safety
    Safe: entries are written whole, one call to the sink each.
*/
class logger
{
public:
    /// Receives each complete line, newline included.
    using sink_type = std::function<void(std::string_view line)>;

    /// Writes entries at `level` and above to `sink`; empty: to stderr.
    explicit logger(log_level level = log_level::info, sink_type sink = {});

    bool enabled(log_level l) const noexcept { return l <= level_; }

    /// Writes `{"time":..., "level":..., "event": event, ...fields}` if `l` is enabled.
    void write(log_level l, std::string_view event, nlohmann::json fields = nlohmann::json::object()) const;

    void error(std::string_view event, nlohmann::json fields = nlohmann::json::object()) const
    {
        write(log_level::error, event, std::move(fields));
    }
    void warn(std::string_view event, nlohmann::json fields = nlohmann::json::object()) const
    {
        write(log_level::warn, event, std::move(fields));
    }
    void info(std::string_view event, nlohmann::json fields = nlohmann::json::object()) const
    {
        write(log_level::info, event, std::move(fields));
    }
    void debug(std::string_view event, nlohmann::json fields = nlohmann::json::object()) const
    {
        write(log_level::debug, event, std::move(fields));
    }

private:
    log_level level_;
    sink_type sink_;
};

/// Milliseconds since the Unix epoch: the time format of the API and the log.
long long unix_ms(std::chrono::system_clock::time_point t);

/// `t` as "2024-05-01T12:00:00.123Z".
std::string iso_time(std::chrono::system_clock::time_point t);

} // namespace app

#endif
