// sse/redis/detail/connection.hpp - one pipelined connection to a Redis server,
// over Asio, with hiredis as the RESP codec.
#ifndef SSE_REDIS_DETAIL_CONNECTION_HPP
#define SSE_REDIS_DETAIL_CONNECTION_HPP

// DECLARATIONS ONLY: the contract the backplane is written against.
// Implementation: see the helper's task (helper "redis-conn").

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/redis/error.hpp>

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

/// A reply, owned: converted from hiredis's redisReply, which is freed at once.
struct reply
{
    enum class kind
    {
        nil,
        string,    ///< bulk string
        status,    ///< +OK
        integer,
        array,
        error,     ///< -ERR ...: `str` holds the message
    };
    kind type = kind::nil;
    std::string str;
    long long integer = 0;
    std::vector<reply> elements;
};

/** One TCP connection to one Redis server.

    Commands are written in the order they are sent and may be pipelined: each
    handler gets its own reply, in order. Every handler runs on the connection's
    strand, never inline from the call that queued it. Safe to call from any thread.
*/
class connection : public std::enable_shared_from_this<connection>
{
public:
    using connect_handler = std::function<void(error_code)>;
    /// `ec`: transport errors (connection_lost, timeout, protocol_error), or the
    /// classified Redis error of an error reply (auth_failed, noscript, no_streams,
    /// moved, wrong_type, server_error), the reply then holding the message.
    using reply_handler = std::function<void(error_code, reply)>;

    static std::shared_ptr<connection> create(asio::any_io_executor ex, std::size_t max_reply_bytes);

    /// Resolves `host` and connects within `timeout`.
    void async_connect(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, connect_handler done);

    /// Sends one command (formatted with redisFormatCommandArgv); `done` gets its
    /// reply, or error::timeout after `timeout` (the connection is then closed).
    void async_command(std::vector<std::string> args, std::chrono::milliseconds timeout, reply_handler done);

    /// Closes the socket; pending handlers complete with error::connection_lost. Idempotent.
    void close() noexcept;

    bool is_open() const noexcept;
};

} // namespace detail
} // namespace redis
SSE_NAMESPACE_END

#endif
