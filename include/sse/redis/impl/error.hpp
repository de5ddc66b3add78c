// sse/redis/impl/error.hpp - the body of the sse.redis error category.
#ifndef SSE_REDIS_IMPL_ERROR_HPP
#define SSE_REDIS_IMPL_ERROR_HPP

#include <sse/redis/error.hpp>

#include <string>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

class error_category_impl final : public std::error_category
{
public:
    char const* name() const noexcept override { return "sse.redis"; }

    std::string message(int value) const override
    {
        switch (static_cast<error>(value)) {
        case error::bad_url:
            return "the Redis address is not redis://[[user]:password@]host[:port][/namespace] "
                   "(rediss://, TLS, is not supported; no query string; port 1-65535; "
                   "percent-encode reserved characters in the user and password): correct the URL";
        case error::bad_namespace:
            return "the Redis namespace must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' or '-': "
                   "choose another name";
        case error::auth_failed:
            return "Redis refused the credentials (WRONGPASS, NOAUTH or NOPERM): check the user and "
                   "password, and that the user's ACL allows the backplane's commands and keys";
        case error::server_error:
            return "Redis answered with an error the backplane cannot handle: see the reply's message "
                   "and the Redis log";
        case error::noscript:
            return "Redis does not have the backplane's Lua script (NOSCRIPT) and could not load it: "
                   "check that EVAL and SCRIPT are allowed for this user";
        case error::no_streams:
            return "the server does not know the Stream commands (XADD, XREAD, XRANGE): use Redis 5 "
                   "or later";
        case error::moved:
            return "Redis Cluster redirected the command (MOVED or ASK): connect to the node that "
                   "holds the namespace's hash slot";
        case error::wrong_type:
            return "a backplane key holds a value of another type (WRONGTYPE): the namespace is used "
                   "by something else; choose another namespace";
        case error::protocol_error:
            return "the server's reply is not valid RESP, is unsolicited, or exceeds max_reply_bytes: "
                   "check that the address is a Redis server (raise max_reply_bytes if it is)";
        case error::connection_lost:
            return "the connection to Redis was closed with commands pending: they may or may not "
                   "have been executed; reconnect and retry";
        case error::timeout:
            return "Redis did not answer within the timeout (connecting or a command): check that it "
                   "is reachable and not overloaded, or raise the timeout";
        case error::no_master:
            return "no sentinel knew the master's address: check the sentinel addresses and the "
                   "master name";
        }
        return "unknown sse.redis error";
    }
};

} // namespace detail

inline std::error_category const& category() noexcept
{
    static detail::error_category_impl const instance;
    return instance;
}

} // namespace redis
SSE_NAMESPACE_END

#endif
