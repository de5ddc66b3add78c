// config.hpp - the server's settings: flags, SSE_SERVER_* environment variables and a JSON file.
#ifndef SSE_SERVER_CONFIG_HPP
#define SSE_SERVER_CONFIG_HPP

#include <chrono>
#include <cstddef>
#include <optional>
#include <iosfwd>
#include <string>
#include <vector>

namespace app {

/// The data of a heartbeat event (`--heartbeat-data`).
enum class heartbeat_data
{
    time,           ///< the server's Unix time in ms, e.g. `1700000000000`
    json,           ///< `{"serverTime":<ms>}`: JSON for clients that parse every event
    empty_object,   ///< `{}`, as seed 003 sends it
};

/// How a stream request refused for its credentials is answered (`--stream-auth-errors`).
enum class stream_auth_errors
{
    status,   ///< a JSON 401 or 403, as any API request
    event,    ///< 200 text/event-stream with one `error` event, then the connection closes
};

/// How much the log says; each level includes the ones before it.
enum class log_level { error, warn, info, debug };

/** Everything the server can be told. The defaults are the local demo:
    127.0.0.1:8080, anonymous mode, no secrets.

    Every member has a flag of the same name (`max_connections_per_ip` is
    `--max-connections-per-ip`), an environment variable (`SSE_SERVER_MAX_CONNECTIONS_PER_IP`)
    and a key in the JSON file (`"max-connections-per-ip"`). A flag beats the
    environment, which beats the file.
*/
struct config
{
    // Network.
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    /// Threads running the io_context. 0: the number of cores (2 if unknown).
    unsigned threads = 0;
    /// PEM certificate chain and private key: with both, the server speaks https only.
    std::string tls_cert;
    std::string tls_key;

    // Authentication.
    /// HS256 secret of the tokens. Empty: tokens are not accepted.
    std::string jwt_secret;
    /// Clock skew allowed when checking `exp` and `nbf`.
    std::chrono::seconds jwt_leeway{30};
    /// A shared key that allows publishing (X-API-Key, or Bearer). Empty: none.
    std::string publish_key;
    /** Requests without a credential may stream and publish. Absent: on only
        when bound to a loopback address with neither a JWT secret nor a publish
        key (see effective_anonymous()).
    */
    std::optional<bool> anonymous;

    // Cross-origin requests.
    /// Origins whose pages may use the API; "*" for any. Empty: same origin only.
    std::vector<std::string> cors_origins;
    /// Sends Access-Control-Allow-Credentials: true to allowed origins.
    bool cors_credentials = true;

    // Streams.
    std::chrono::milliseconds heartbeat{15000};
    std::chrono::milliseconds retry{3000};
    std::chrono::milliseconds write_timeout{30000};
    std::chrono::milliseconds shutdown_deadline{5000};
    /// A stream the hub ended as a slow consumer is closed this long after, even if it could not write its retry.
    std::chrono::milliseconds slow_consumer_grace{1000};
    /// The event type of heartbeats ("ping" for seeds 001 and 004).
    std::string heartbeat_event = "heartbeat";
    /// The data of heartbeats.
    app::heartbeat_data heartbeat_data = app::heartbeat_data::time;
    /// Sent as a `notification` right after `connected` when not empty (seed 003's greeting).
    std::string greeting;
    /// How refused stream requests are answered.
    app::stream_auth_errors stream_auth_errors = app::stream_auth_errors::status;
    /// Milliseconds between `dashboardUpdate` events on channel `dashboard`. Zero: none.
    std::chrono::milliseconds dashboard_interval{5000};

    // HTTP.
    /// Requests one connection may carry (HTTP/1.1 persistent connections); the last is answered
    /// with `Connection: close`. 1: every connection closes after its answer. 0: no limit.
    std::size_t keep_alive_requests = 100;

    // Replay.
    std::size_t replay_events = 1024;
    std::size_t replay_bytes = 4 * 1024 * 1024;
    std::chrono::seconds replay_age{300};
    /// A Last-Event-ID from an earlier run gets what this run published (see
    /// sse::foreign_id_policy); off: a reset event.
    bool replay_after_restart = true;

    // Limits.
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_ip = 100;
    std::size_t max_connections_per_user = 10;
    std::chrono::seconds retry_after{5};
    std::size_t max_body = 256 * 1024;
    std::size_t max_event_bytes = 64 * 1024;
    std::chrono::milliseconds head_timeout{10000};
    std::chrono::milliseconds body_timeout{10000};
    double publish_rate = 50;
    double publish_burst = 100;

    // Several servers as one, through Redis (docs/server.md, "Several servers as one").
    /// `redis://[[user]:password@]host:port/namespace`. Empty: this server stands alone.
    std::string redis;
    /// Sentinels, `host:port`, asked for the master's address; with them the URL's host and port are ignored.
    std::vector<std::string> redis_sentinel;
    /// The name the sentinels know the master by: required with redis_sentinel.
    std::string redis_master;
    /// Keeps the log's epoch across Redis restarts: only for a Redis with `appendonly yes` and `appendfsync always`.
    bool redis_durable = false;
    /// Entries the Redis log keeps (how far back a client can resume). Absent: the library's default.
    std::optional<std::size_t> redis_max_len;
    /// /health answers 503 once Redis has been unreachable this long.
    std::chrono::milliseconds redis_unhealthy_after{10000};
    /// Redis's password when the URL has none. Only from the environment (SSE_REDIS_PASSWORD): flags show in `ps`.
    std::string redis_password;

    // Operation.
    log_level log = log_level::info;

    /// True if requests without a credential are allowed.
    bool effective_anonymous() const;

    /// The number of io_context threads to run.
    unsigned effective_threads() const;

    /** Why this configuration cannot serve anyone, or nothing if it can. For
        example no JWT secret while anonymous mode is off: no stream could be opened.
    */
    std::optional<std::string> problem() const;
};

/// "error", "warn", "info" or "debug".
char const* to_string(log_level l) noexcept;

/// "time", "json" or "empty-object".
char const* to_string(heartbeat_data d) noexcept;

/// "status" or "event".
char const* to_string(stream_auth_errors e) noexcept;

/** Reads flags, environment variables and the `--config` file into `out`.

    Returns an exit status when the program should stop at once: 0 after
    `--help`, 2 after a usage error (already printed to `err`). Returns nothing
    when the server should run.
*/
std::optional<int> parse_command_line(int argc, char const* const* argv, config& out,
                                      std::ostream& help_out, std::ostream& err);

} // namespace app

#endif
