// sse/redis/options.hpp - where the Redis backplane finds Redis, and how it uses it.
#ifndef SSE_REDIS_OPTIONS_HPP
#define SSE_REDIS_OPTIONS_HPP

#include <sse/backoff.hpp>
#include <sse/config.hpp>
#include <sse/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {

/// A host and a port: a Redis server or a Sentinel.
struct endpoint
{
    std::string host;
    std::uint16_t port = 6379;
};

/** Everything sse::redis::backplane needs: where Redis is, which keys it uses,
    and how it behaves when Redis goes away.

    @code
    sse::redis::backplane_options o;
    sse::redis::parse_url("redis://127.0.0.1:6379/notifications", o);   // server and namespace
    o.durable = true;   // only with appendonly yes + appendfsync always
    @endcode
*/
struct backplane_options
{
    /// The Redis server. Ignored when `sentinels` is not empty.
    endpoint server{"127.0.0.1", 6379};

    /// Sentinels to ask for the master's address, on every (re)connection.
    std::vector<endpoint> sentinels;
    /// The name the sentinels monitor the master under.
    std::string master_name;

    /// AUTH: a user (Redis 6 ACL; empty: the default user) and password (empty: no AUTH).
    std::string username;
    std::string password;

    /// The namespace: the keys are `{<ns>}:log`, `{<ns>}:meta` and `{<ns>}:idem:<key>`,
    /// hash-tagged so that a Redis Cluster keeps them in one slot.
    /// 1 to 64 characters of `[A-Za-z0-9_.-]`.
    std::string ns = "sse";

    /** Keeps the epoch across Redis restarts, so that clients resume seamlessly.
        Only for a Redis that loses nothing it acknowledged (`appendonly yes`,
        `appendfsync always`): otherwise a restart may roll the log back under ids
        clients have already seen. Off: the epoch follows the Redis server's run_id,
        and any restart or failover resets clients.
    */
    bool durable = false;

    /// Entries the log keeps at least (`XADD ... MAXLEN ~`): how far back a client can resume.
    std::size_t max_len = 100000;

    /// How long an idempotency key is remembered.
    std::chrono::seconds idempotency_ttl = std::chrono::hours(1);

    /// The reader's `XREAD BLOCK` time: also how soon it notices a log that was
    /// deleted under it.
    std::chrono::milliseconds block = std::chrono::seconds(2);

    /// Connecting, and every command but the reader's blocking one.
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(2);
    std::chrono::milliseconds command_timeout = std::chrono::seconds(2);

    /// The pause between reconnection attempts.
    backoff_options reconnect = default_reconnect();

    /// Largest reply accepted from Redis (a hostile or broken server cannot exhaust memory).
    std::size_t max_reply_bytes = 64 * 1024 * 1024;

    static backoff_options default_reconnect()
    {
        backoff_options b;
        b.initial_retry = std::chrono::milliseconds(100);
        b.cap = std::chrono::seconds(5);
        b.healthy_after = std::chrono::seconds(1);
        return b;
    }
};

/** Reads `redis://[[user]:password@]host[:port][/namespace]` into `o` (server,
    username, password, ns); the other members are left as they are.

    - The user and password are percent-decoded (any octet); without them, `o`'s
      are cleared. `user@host` (no colon) is refused: clients disagree on whether
      it names a user or a password.
    - The host is a name, an IPv4 address, or an IPv6 address in brackets (`[::1]`,
      stored without them). The port is 1 to 65535, 6379 if absent.
    - No path, or `/`, keeps `o.ns`.

    Sets `ec` to error::bad_url (another scheme, `rediss` as TLS is not supported,
    a query string or fragment, no host, a bad port or percent-encoding) or
    error::bad_namespace, and then leaves `o` unchanged.
*/
inline void parse_url(std::string_view url, backplane_options& o, error_code& ec);

/** Reads `host[:port],host[:port],...` (Sentinels), hosts as in parse_url();
    a missing port is `default_port` (26379 for Sentinels). Spaces around entries
    are ignored. An empty list or entry, or a bad host or port, sets `ec` to
    error::bad_url and returns nothing.
*/
inline std::vector<endpoint> parse_endpoints(std::string_view list, std::uint16_t default_port, error_code& ec);

/// Returns true if `ns` is a usable namespace (see backplane_options::ns).
inline bool valid_namespace(std::string_view ns) noexcept;

} // namespace redis
SSE_NAMESPACE_END

// Always header-only, also under SSE_SEPARATE_COMPILATION and with sse::compiled:
// a program includes the backplane in the one file that sets it up.
#include <sse/redis/impl/options.hpp>
#endif
