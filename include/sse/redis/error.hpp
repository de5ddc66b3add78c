// sse/redis/error.hpp - what can go wrong between the backplane and Redis.
#ifndef SSE_REDIS_ERROR_HPP
#define SSE_REDIS_ERROR_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>

#include <system_error>

SSE_NAMESPACE_BEGIN
namespace redis {

/// Errors of sse::redis, in their own category (sse::redis::category()).
enum class error
{
    bad_url = 1,        ///< not a redis:// URL, or its host or port is malformed
    bad_namespace,      ///< the namespace is empty, too long or has characters outside [A-Za-z0-9_.-]
    auth_failed,        ///< Redis refused AUTH (WRONGPASS, NOAUTH, NOPERM)
    server_error,       ///< Redis answered an error the backplane cannot handle (see the log)
    noscript,           ///< EVALSHA found no script and EVAL failed too
    no_streams,         ///< the server does not know XADD/XREAD: Redis 5 or later is needed
    moved,              ///< a Redis Cluster redirection (MOVED/ASK): connect to the node holding the namespace's slot
    wrong_type,         ///< a backplane key holds another type (WRONGTYPE): the namespace is used by something else
    protocol_error,     ///< the server's reply is not RESP, or too large
    connection_lost,    ///< the connection closed with commands pending
    timeout,            ///< connecting or a command took longer than its timeout
    no_master,          ///< no sentinel knew the master's address
};

inline std::error_category const& category() noexcept;

inline error_code make_error_code(error e) noexcept { return {static_cast<int>(e), category()}; }

} // namespace redis
SSE_NAMESPACE_END

namespace std {
template<>
struct is_error_code_enum<sse::redis::error> : true_type
{
};
} // namespace std

// Always header-only, also under SSE_SEPARATE_COMPILATION and with sse::compiled:
// a program includes the backplane in the one file that sets it up.
#include <sse/redis/impl/error.hpp>
#endif
