// config.cpp - command line, environment and JSON file, through CLI11.
#include "config.hpp"

#include "backplane.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <asio/ip/address.hpp>

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <istream>
#include <ostream>
#include <string_view>
#include <thread>

namespace app {
namespace {

/** Reads a JSON object of `"long-flag-name": value` pairs for CLI11.

    CLI11 applies the file before the environment and lets neither override
    the other; keys whose SSE_SERVER_* variable is set are skipped here, so
    that the environment wins over the file, as it does for most services.
*/
class json_config : public CLI::Config
{
public:
    explicit json_config(CLI::App const& app) : app_(app) {}

    std::string to_config(CLI::App const*, bool, bool, std::string) const override
    {
        throw CLI::ConfigError("writing the configuration back is not supported");
    }

    std::vector<CLI::ConfigItem> from_config(std::istream& in) const override
    {
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(in);
        } catch (nlohmann::json::parse_error const& e) {
            throw CLI::ConfigError(std::string("the configuration file is not valid JSON: ") + e.what());
        }
        if (!doc.is_object())
            throw CLI::ConfigError("the configuration file must hold a JSON object");
        std::vector<CLI::ConfigItem> out;
        for (auto const& [key, value] : doc.items()) {
            if (overridden_by_environment(key))
                continue;
            CLI::ConfigItem item;
            item.name = key;
            if (value.is_array()) {
                for (auto const& v : value)
                    item.inputs.push_back(scalar(key, v));
            } else {
                item.inputs.push_back(scalar(key, value));
            }
            out.push_back(std::move(item));
        }
        return out;
    }

private:
    static std::string scalar(std::string const& key, nlohmann::json const& v)
    {
        if (v.is_string())
            return v.get<std::string>();
        if (v.is_boolean())
            return v.get<bool>() ? "true" : "false";
        if (v.is_number())
            return v.dump();
        throw CLI::ConfigError("\"" + key + "\" in the configuration file must be a string, number, boolean or array");
    }

    bool overridden_by_environment(std::string const& key) const
    {
        CLI::Option const* opt = app_.get_option_no_throw("--" + key);
        if (opt == nullptr || opt->get_envname().empty())
            return false;
        char const* value = std::getenv(opt->get_envname().c_str());
        return value != nullptr && *value != '\0';
    }

    CLI::App const& app_;
};

// "max-connections-per-ip" -> "SSE_SERVER_MAX_CONNECTIONS_PER_IP"
std::string env_name(std::string const& flag)
{
    std::string out = "SSE_SERVER_";
    for (char c : flag)
        out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// Adds --name bound to `target`, with its environment variable.
template<class T>
CLI::Option* add(CLI::App& app, std::string const& name, T& target, std::string const& help)
{
    return app.add_option("--" + name, target, help)->envname(env_name(name))->capture_default_str();
}

CLI::Option* add_switch(CLI::App& app, std::string const& names, std::string const& name, bool& target,
                        std::string const& help)
{
    return app.add_flag(names, target, help)->envname(env_name(name));
}

} // namespace

char const* to_string(log_level l) noexcept
{
    switch (l) {
    case log_level::error: return "error";
    case log_level::warn: return "warn";
    case log_level::info: return "info";
    case log_level::debug: return "debug";
    }
    return "info";
}

char const* to_string(heartbeat_data d) noexcept
{
    switch (d) {
    case heartbeat_data::time: return "time";
    case heartbeat_data::json: return "json";
    case heartbeat_data::empty_object: return "empty-object";
    }
    return "time";
}

char const* to_string(stream_auth_errors e) noexcept
{
    return e == stream_auth_errors::event ? "event" : "status";
}

bool config::effective_anonymous() const
{
    if (anonymous)
        return *anonymous;
    std::error_code ec;
    auto const address = asio::ip::make_address(host, ec);
    bool const loopback = !ec && address.is_loopback();
    return loopback && jwt_secret.empty() && publish_key.empty();
}

unsigned config::effective_threads() const
{
    if (threads > 0)
        return threads;
    unsigned const cores = std::thread::hardware_concurrency();
    return cores > 0 ? cores : 2;
}

std::optional<std::string> config::problem() const
{
    if (!effective_anonymous() && jwt_secret.empty())
        return "anonymous mode is off (the default off loopback and with --publish-key), so streams need "
               "tokens, but there is no --jwt-secret to check them: set one, or pass --anonymous to serve "
               "without authentication";
    if (tls_cert.empty() != tls_key.empty())
        return "--tls-cert and --tls-key go together: give both to serve https, or neither";
    if (!jwt_secret.empty() && jwt_secret.size() < 32)
        return "--jwt-secret must be at least 32 bytes: shorter HS256 secrets can be guessed offline";
    // Written on an event: line: a line break would end it, and a long name is a mistake.
    if (heartbeat_event.empty() || heartbeat_event.size() > 64 ||
        heartbeat_event.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return "--heartbeat-event must be 1 to 64 bytes without line breaks, e.g. heartbeat or ping";
    if (greeting.size() > 1024)
        return "--greeting must be at most 1024 bytes";
    if (auto why = backplane_problem(*this))
        return why;
    return std::nullopt;
}

std::optional<int> parse_command_line(int argc, char const* const* argv, config& out,
                                      std::ostream& help_out, std::ostream& err)
{
    CLI::App app("sse-server: a Server-Sent Events notification service with a demo page.\n"
                 "Every option can also come from an SSE_SERVER_<NAME> environment variable or from\n"
                 "the JSON file given with --config (keys are the long option names). A flag beats\n"
                 "the environment, which beats the file.",
                 "sse-server");
    app.config_formatter(std::make_shared<json_config>(app));
    // CLI11 reads the file before it looks at the environment, so the variable
    // naming the file is read here; a file named that way must exist.
    char const* const env_file = std::getenv("SSE_SERVER_CONFIG");
    bool const from_env = env_file != nullptr && *env_file != '\0';
    app.set_config("--config", from_env ? env_file : "",
                   "JSON file of settings, e.g. {\"port\": 9000, \"cors-origins\": [\"https://a.example\"]}",
                   from_env)
        ->envname("SSE_SERVER_CONFIG");
    app.allow_config_extras(CLI::config_extras_mode::error);

    std::int64_t heartbeat_ms = out.heartbeat.count();
    std::int64_t retry_ms = out.retry.count();
    std::int64_t write_timeout_ms = out.write_timeout.count();
    std::int64_t shutdown_ms = out.shutdown_deadline.count();
    std::int64_t slow_consumer_grace_ms = out.slow_consumer_grace.count();
    std::int64_t head_timeout_ms = out.head_timeout.count();
    std::int64_t body_timeout_ms = out.body_timeout.count();
    std::int64_t leeway_s = out.jwt_leeway.count();
    std::int64_t replay_age_s = out.replay_age.count();
    std::int64_t retry_after_s = out.retry_after.count();
    std::int64_t redis_unhealthy_ms = out.redis_unhealthy_after.count();
    std::size_t redis_max_len = out.redis_max_len.value_or(0);
    std::int64_t dashboard_ms = out.dashboard_interval.count();
    std::string heartbeat_form = to_string(out.heartbeat_data);
    std::string auth_errors = to_string(out.stream_auth_errors);
    bool anonymous = false;
    std::string level = to_string(out.log);

    auto const positive = CLI::PositiveNumber;
    auto const non_negative = CLI::NonNegativeNumber;

    add(app, "host", out.host, "Address to listen on; anything but loopback turns anonymous mode off by default")
        ->group("Network");
    add(app, "port", out.port, "Port to listen on (0: any free port)")->group("Network");
    add(app, "threads", out.threads, "Threads running the server (0: one per core)")->group("Network");
    add(app, "tls-cert", out.tls_cert, "PEM certificate chain (server certificate first); with --tls-key: https")
        ->check(CLI::ExistingFile)->group("Network");
    add(app, "tls-key", out.tls_key, "PEM private key of --tls-cert")->check(CLI::ExistingFile)->group("Network");

    add(app, "jwt-secret", out.jwt_secret,
        "HS256 secret of the JWTs (at least 32 bytes); prefer the environment variable")
        ->group("Authentication");
    add(app, "jwt-leeway", leeway_s, "Seconds of clock skew allowed for exp and nbf")
        ->check(non_negative)->group("Authentication");
    add(app, "publish-key", out.publish_key,
        "Key that allows publishing, sent as X-API-Key or Bearer; prefer the environment variable")
        ->group("Authentication");
    add_switch(app, "--anonymous,!--no-anonymous", "anonymous", anonymous,
               "Let requests without a credential stream and publish (default: on only on loopback "
               "with no --jwt-secret and no --publish-key)")
        ->group("Authentication");

    add(app, "cors-origins", out.cors_origins,
        "Origins whose pages may call the API, e.g. https://app.example; * for any")
        ->delimiter(',')->group("CORS");
    add_switch(app, "--cors-credentials,!--no-cors-credentials", "cors-credentials", out.cors_credentials,
               "Allow credentials (cookies) from allowed origins")
        ->capture_default_str()->group("CORS");

    add(app, "heartbeat-ms", heartbeat_ms, "Milliseconds between heartbeat events on an idle stream (0: none)")
        ->check(non_negative)->group("Streams");
    add(app, "retry-ms", retry_ms, "The retry: delay sent to clients, in milliseconds")
        ->check(non_negative)->group("Streams");
    add(app, "write-timeout-ms", write_timeout_ms, "A client that reads nothing for this long is dropped")
        ->check(non_negative)->group("Streams");
    add(app, "shutdown-deadline-ms", shutdown_ms, "Time streams get to close on SIGINT or SIGTERM")
        ->check(non_negative)->group("Streams");
    add(app, "slow-consumer-grace-ms", slow_consumer_grace_ms,
        "Time a client dropped for falling behind gets to take its retry: before it is cut off (0: the write timeout)")
        ->check(non_negative)->group("Streams");
    add(app, "heartbeat-event", out.heartbeat_event,
        "Event type of heartbeats: heartbeat, or ping for clients that listen for ping")
        ->group("Streams");
    add(app, "heartbeat-data", heartbeat_form,
        "Data of heartbeats: time (the server's Unix time in ms), json ({\"serverTime\":ms}) or "
        "empty-object ({})")
        ->check(CLI::IsMember({"time", "json", "empty-object"}))->group("Streams");
    add(app, "greeting", out.greeting,
        "When set, every stream gets a notification event with this message right after connected")
        ->group("Streams");
    add(app, "stream-auth-errors", auth_errors,
        "A stream refused for its credentials gets: status (a JSON 401/403) or event (200 with an error "
        "event, then close; EventSource cannot read a 401)")
        ->check(CLI::IsMember({"status", "event"}))->group("Streams");
    add(app, "dashboard-interval", dashboard_ms,
        "Milliseconds between dashboardUpdate events on channel dashboard while someone follows it (0: none)")
        ->check(non_negative)->group("Streams");

    add(app, "keep-alive-requests", out.keep_alive_requests,
        "Requests one connection may carry before it is closed (1: close after every answer; 0: no limit)")
        ->group("Limits");

    add(app, "replay-events", out.replay_events, "Events kept for Last-Event-ID and polling")->group("Replay");
    add(app, "replay-bytes", out.replay_bytes, "Bytes of events kept for replay")->group("Replay");
    add(app, "replay-age", replay_age_s, "Seconds an event is kept for replay (0: no limit)")
        ->check(non_negative)->group("Replay");
    add_switch(app, "--replay-after-restart,!--no-replay-after-restart", "replay-after-restart",
               out.replay_after_restart,
               "Give a client that resumes with an id from an earlier run of this server everything this run "
               "published; off: a reset event. Keep it off behind a load balancer")
        ->capture_default_str()->group("Replay");

    add(app, "max-connections", out.max_connections, "Streams in total; one more gets 503")->group("Limits");
    add(app, "max-connections-per-ip", out.max_connections_per_ip, "Streams per client address; one more gets 429")
        ->group("Limits");
    add(app, "max-connections-per-user", out.max_connections_per_user, "Streams per user; one more gets 429")
        ->group("Limits");
    add(app, "retry-after", retry_after_s, "Seconds sent in Retry-After with 429 and 503")
        ->check(positive)->group("Limits");
    add(app, "max-body", out.max_body, "Bytes of a request body; more gets 413")->check(positive)->group("Limits");
    add(app, "max-event-bytes", out.max_event_bytes, "Bytes of a published event's data")
        ->check(positive)->group("Limits");
    add(app, "head-timeout-ms", head_timeout_ms, "Time a client has to send its request head; then 408")
        ->check(positive)->group("Limits");
    add(app, "body-timeout-ms", body_timeout_ms, "Time a client has to send its request body; then 408")
        ->check(positive)->group("Limits");
    add(app, "publish-rate", out.publish_rate, "Publish requests per second per credential; more gets 429")
        ->check(positive)->group("Limits");
    add(app, "publish-burst", out.publish_burst, "Publish requests allowed at once after a quiet period")
        ->check(positive)->group("Limits");

    add(app, "redis", out.redis,
        "Share events with other servers through Redis: redis://[[user]:password@]host:port/namespace "
        "(password also from SSE_REDIS_PASSWORD)")
        ->group("Redis");
    add(app, "redis-sentinel", out.redis_sentinel,
        "Sentinels host:port,... to ask for the master's address; the --redis URL's host and port are then ignored")
        ->delimiter(',')->group("Redis");
    add(app, "redis-master", out.redis_master, "The master's name at the sentinels (with --redis-sentinel)")
        ->group("Redis");
    add_switch(app, "--redis-durable", "redis-durable", out.redis_durable,
               "Keep the event ids across Redis restarts, so that clients resume without a reset: only for a "
               "Redis with appendonly yes and appendfsync always")
        ->group("Redis");
    // No captured default: absent, the library's own applies.
    app.add_option("--redis-max-len", redis_max_len,
                   "Events the Redis log keeps for clients that resume (default: the library's, 100000)")
        ->envname(env_name("redis-max-len"))->check(positive)->group("Redis");
    add(app, "redis-unhealthy-after-ms", redis_unhealthy_ms,
        "GET /health answers 503 once Redis has been unreachable this long")
        ->check(non_negative)->group("Redis");

    add(app, "log-level", level, "error, warn, info or debug; logs go to stderr")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))->group("Operation");

    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        int const status = app.exit(e, help_out, err);   // prints the help or the error
        return status == 0 ? 0 : 2;
    }

    out.heartbeat = std::chrono::milliseconds(heartbeat_ms);
    out.retry = std::chrono::milliseconds(retry_ms);
    out.write_timeout = std::chrono::milliseconds(write_timeout_ms);
    out.shutdown_deadline = std::chrono::milliseconds(shutdown_ms);
    out.slow_consumer_grace = std::chrono::milliseconds(slow_consumer_grace_ms);
    out.head_timeout = std::chrono::milliseconds(head_timeout_ms);
    out.body_timeout = std::chrono::milliseconds(body_timeout_ms);
    out.jwt_leeway = std::chrono::seconds(leeway_s);
    out.replay_age = std::chrono::seconds(replay_age_s);
    out.retry_after = std::chrono::seconds(retry_after_s);
    if (app.get_option("--anonymous")->count() > 0)
        out.anonymous = anonymous;
    out.redis_unhealthy_after = std::chrono::milliseconds(redis_unhealthy_ms);
    out.dashboard_interval = std::chrono::milliseconds(dashboard_ms);
    for (heartbeat_data d : {heartbeat_data::time, heartbeat_data::json, heartbeat_data::empty_object})
        if (heartbeat_form == to_string(d))
            out.heartbeat_data = d;
    out.stream_auth_errors = auth_errors == "event" ? stream_auth_errors::event : stream_auth_errors::status;
    if (app.get_option("--redis-max-len")->count() > 0)
        out.redis_max_len = redis_max_len;
    // Not a flag: a password on the command line shows in `ps`.
    if (char const* password = std::getenv("SSE_REDIS_PASSWORD"); password != nullptr && out.redis_password.empty())
        out.redis_password = password;
    for (log_level l : {log_level::error, log_level::warn, log_level::info, log_level::debug})
        if (level == to_string(l))
            out.log = l;
    if (auto why = out.problem()) {
        err << "sse-server: " << *why << '\n';
        return 2;
    }
    return std::nullopt;
}

} // namespace app
