// publish_request.hpp - the body of POST /api/sse/publish and /broadcast, checked field by field.
#ifndef SSE_SERVER_PUBLISH_REQUEST_HPP
#define SSE_SERVER_PUBLISH_REQUEST_HPP

#include "events.hpp"

#include <sse/event.hpp>
#include <sse/replay_buffer.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace app {

/// What a publish request may contain.
struct publish_rules
{
    std::size_t max_data = 64 * 1024;   ///< bytes of `data` as sent on the wire
    std::string reserved_id_prefix;     ///< "<epoch>-": ids the hub assigns, refused from publishers
    bool broadcast = false;             ///< /broadcast: every audience field is refused
    /** Through a backplane (--redis): an audience of several users, or of channels and
        users, is written with user_topic() instead of a predicate, which cannot cross
        processes; `clientIds` and several `metadata` pairs, which only a predicate can
        express, are refused.
    */
    bool shareable = false;
};

/// Bounds on a connection's metadata (the query parameters the server does not use itself).
inline constexpr std::size_t max_metadata_pairs = 16;
inline constexpr std::size_t max_metadata_key = 64;
inline constexpr std::size_t max_metadata_value = 256;
/// Pairs one publish may require.
inline constexpr std::size_t max_publish_metadata = 8;

/// A metadata key: 1 to 64 bytes of `A-Z a-z 0-9 _ . -`.
bool valid_metadata_key(std::string_view key) noexcept;

/// A metadata value: at most 256 bytes, no control characters.
bool valid_metadata_value(std::string_view value) noexcept;

/** The hidden topic a stream with the metadata pair `key`=`value` follows, so that
    a publish to one pair is a topics audience (and crosses --redis).
*/
std::string meta_topic(std::string_view key, std::string_view value);

/// The pair a meta_topic() names; nothing for any other topic.
std::optional<std::pair<std::string_view, std::string_view>> meta_pair_of(std::string_view topic) noexcept;

/// An event name a publisher may use: 1 to 64 bytes, no control characters.
bool valid_event_name(std::string_view name) noexcept;

/// A user id or channel name: 1 to `max` bytes, without commas or control characters.
bool valid_name(std::string_view name, std::size_t max) noexcept;

/** The hidden topic a stream of `user` also follows when the server shares events
    through Redis, so that an event for channels and users is one topics audience.
    It starts with a control character, which channel names cannot contain, and is
    left out of the channels that stats report.
*/
std::string user_topic(std::string_view user);

/// True for the topics user_topic() makes.
bool is_user_topic(std::string_view topic) noexcept;

/// True for the topics user_topic() and meta_topic() make: no channel can be named so.
bool is_hidden_topic(std::string_view topic) noexcept;

/// A valid request, ready for the hub.
struct publish_request
{
    sse::event event;
    sse::audience to;
    std::string key;   ///< sse::publish_options::key: what coalescing queues keep one of
};

/** Parses and checks a publish body:

        {"event": "notification", "data": {...}, "id": "order-7", "channels": ["orders"],
         "userIds": ["u1"], "retry": 5000}

    `event` (1 to 64 bytes, no control characters) and `data` (a string is sent
    as is, anything else but null as JSON) are required; typed events must carry
    their payload (see events.hpp), which is sent normalised. `id` is a string or
    a non-negative integer. `channels`, `userIds`, `clientIds` (the ids of
    GET /clients, strings or integers) and `metadata` (an object of 1 to 8 string
    pairs: the streams whose metadata hold them all) choose the audience: the
    union of those given, or everyone when none is. Unknown fields are refused,
    which catches typos such as "channel".

    @returns The request, or nothing with `error` naming the field at fault
    (`"body"` when the body is not a JSON object).
*/
std::optional<publish_request> parse_publish(std::string_view body, publish_rules const& rules, field_error& error);

} // namespace app

#endif
