// http.hpp - what every route needs: the request, JSON answers, CORS.
#ifndef SSE_SERVER_HTTP_HPP
#define SSE_SERVER_HTTP_HPP

#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/cors.hpp>
#include <sse/http/request_head.hpp>

#include <asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace app {

/** A peer's address and port in 24 bytes: as a string it would take 32, and a
    heap block for the longer IPv6 forms. A server keeps one per open stream.
*/
class peer_address
{
public:
    peer_address() = default;
    /// IPv4-mapped IPv6 addresses are kept as the IPv4 address they map.
    peer_address(asio::ip::address const& a, unsigned short port);

    /// "127.0.0.1", "::1".
    std::string ip() const;
    /// "127.0.0.1:53122", "[::1]:53122".
    std::string to_string() const;

private:
    std::array<unsigned char, 16> bytes_{};   // IPv4: the first four
    std::uint32_t scope_ = 0;                 // IPv6 link-local: the interface
    std::uint16_t port_ = 0;
    bool v6_ = false;
};

/// One request as a route sees it.
struct request
{
    sse::http::request_head head;
    peer_address peer;       ///< who sent it
    std::string remote_ip;   ///< peer.ip(), e.g. "127.0.0.1"
    std::string remote;      ///< peer.to_string(), e.g. "127.0.0.1:53122"

    /// Set for /api/dashboard/sse: the one channel the stream follows, whatever ?channels= says.
    std::string only_channel;

    /** What the connection does after the answer (HTTP/1.1 persistent connections,
        RFC 9112 9.3). Mutable: a route shares the request as const, yet learns
        while answering whether the body was read and what followed it.
    */
    struct connection_state
    {
        std::size_t served = 1;     ///< requests on this connection so far, this one included
        bool body_unread = false;   ///< the request has a body nobody has read: close after the answer
        bool must_close = false;    ///< the answer ends the connection, whatever the request allows
        std::string pipelined;      ///< bytes after the request: the start of the next one
    };
    mutable connection_state connection;

    std::optional<std::string_view> header(std::string_view name) const { return head.fields().find(name); }
    std::string_view origin() const { return header("Origin").value_or(std::string_view()); }
};

/// A JSON response with `Cache-Control: no-store`: API answers are never cached.
sse::response json_response(int status, nlohmann::json const& body);

/** `{"error": message}`, plus `"field": field` when a request field is to blame.

    Every refusal of the API has this shape, so a client needs one error path.
*/
sse::response error_response(int status, std::string const& message, std::string_view field = {});

/// A 429 or 503 that says when to come back.
sse::response retry_later(int status, std::string const& message, std::chrono::seconds retry_after);

/** The server's cross-origin rules: one allow-list (sse::cors_policy) for
    streams, API answers and preflights.

    Pages of allowed origins may send `Content-Type`, `Authorization`,
    `X-API-Key`, `Last-Event-ID`, `Cache-Control` (EventSource polyfills send it)
    and `Idempotency-Key`, and read `Retry-After`; with
    `credentials` they may also read answers to requests that carry cookies
    (`credentials: "include"`, `withCredentials`). A preflight answer is
    reused for 10 minutes.
*/
sse::cors_policy cors_policy_for(std::vector<std::string> origins, bool credentials);

/// `s` as JSON, or null when it is empty: how the API writes an absent user id.
nlohmann::json string_or_null(std::string const& s);

/// The non-empty, trimmed pieces of a comma-separated list ("a, b,,c" gives a, b, c).
std::vector<std::string> split_list(std::string_view list);

/// True if `s` has a control character (CR, LF, NUL, DEL...): such text is refused in names and ids.
bool has_control(std::string_view s) noexcept;

} // namespace app

#endif
