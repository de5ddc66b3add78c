// clients.hpp - the open streams: who they are, how many each address and user holds, how they ended.
#ifndef SSE_SERVER_CLIENTS_HPP
#define SSE_SERVER_CLIENTS_HPP

#include "http.hpp"

#include <sse/hub.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace app {

/// Bounds on open streams.
struct connection_limits
{
    std::size_t total = 10000;
    std::size_t per_ip = 100;
    std::size_t per_user = 10;   ///< only for streams with a user id
};

/// The answer of client_registry::admit().
enum class admission
{
    ok,
    too_many_total,      ///< 503: the server is full
    too_many_for_ip,     ///< 429: this address holds its share
    too_many_for_user,   ///< 429: this user holds their share
};

/** One open stream: what the server knows of it besides its subscription.

    A server keeps one per connection, so it holds nothing the subscriber already
    does: the user, the topics (channels and metadata, see meta_topic()) and the
    start are the subscriber's.
*/
struct client_record
{
    std::weak_ptr<sse::subscriber const> subscription;
    peer_address remote;
};

/// The `sessionId` of a connection's metadata as the API writes it: a string, or null.
nlohmann::json session_id(std::map<std::string, std::string> const& metadata);

/// An open stream as GET /clients lists it.
struct client_view
{
    std::shared_ptr<sse::subscriber const> subscription;
    peer_address remote;
    std::size_t queue_depth = 0;
};

/** Open streams, counted per address and per user.

    A stream first reserves its place with admit(); then opened() records it
    under its id, or release() gives the place back if it never opened.
    closed() removes it and counts why it ended.

    @par Thread safety
    Safe.
*/
class client_registry
{
public:
    using clock = std::chrono::steady_clock;

    explicit client_registry(connection_limits limits);

    /// Reserves a place for a stream from `ip` for `user` (empty: anonymous), or says which limit refuses it.
    admission admit(std::string const& ip, std::string const& user);

    /// Gives back a reservation whose stream never opened.
    void release(std::string const& ip, std::string const& user);

    /// Records the stream of `r.subscription`, which holds a reservation.
    void opened(client_record r);

    /** Forgets the stream of `s`, gives back its place and counts `reason`.
        Returns its record, if known.
    */
    std::optional<client_record> closed(sse::subscriber const& s, std::string const& reason);

    bool contains(std::uint64_t id) const;
    std::size_t size() const;
    std::vector<client_view> list() const;

    /// Mean age of the open streams at `now`; zero if none.
    std::chrono::milliseconds average_age(clock::time_point now) const;

    /// Streams opened since start.
    std::uint64_t opened_total() const;

    /// Streams closed since start, by reason (see server.cpp for the names).
    std::map<std::string, std::uint64_t> closed_by_reason() const;

private:
    void give_back(std::string const& ip, std::string const& user);

    connection_limits limits_;
    mutable std::mutex mutex_;
    std::size_t reserved_ = 0;
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::unordered_map<std::string, std::size_t> per_user_;
    // By subscriber id. Unordered: a node is 24 bytes smaller than std::map's, and only
    // GET /clients wants them in order (list() sorts).
    std::unordered_map<std::uint64_t, client_record> open_;
    std::uint64_t opened_total_ = 0;
    std::map<std::string, std::uint64_t> closed_;
};

} // namespace app

#endif
