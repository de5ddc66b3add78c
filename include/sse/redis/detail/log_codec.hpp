// sse/redis/detail/log_codec.hpp - a log entry as the fields of a Redis Stream
// entry, both ways, and the Lua scripts that append and synchronise.
#ifndef SSE_REDIS_DETAIL_LOG_CODEC_HPP
#define SSE_REDIS_DETAIL_LOG_CODEC_HPP

#include <sse/backplane.hpp>
#include <sse/config.hpp>
#include <sse/redis/detail/connection.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

// The fields of one stream entry. One letter each: an entry is stored once per
// event, and Redis keeps field names with every entry that differs from the
// stream's first one.
//   e  the epoch it was appended in (a reader checks it: a log deleted and made
//      again under the same key reuses positions)
//   i  the publisher's own id     t  type     d  data     r  retry (ms)
//   c  comment     k  key     a  audience: "*" all, "u" user, "t" topics
//   u  the user (a = u)     n  the topics (a = t), each as <length>:<bytes>
inline void append_length_prefixed(std::string& out, std::string_view s)
{
    out.append(std::to_string(s.size()));
    out.push_back(':');
    out.append(s.data(), s.size());
}

// Appends the field/value pairs of `p` to `args`. Returns false for an audience
// that cannot cross processes (a predicate).
inline bool encode_fields(log_publish const& p, std::string const& epoch, std::vector<std::string>& args)
{
    auto field = [&](char const* name, std::string value) {
        args.emplace_back(name);
        args.push_back(std::move(value));
    };
    field("e", epoch);
    if (p.ev.id)
        field("i", *p.ev.id);
    if (!p.ev.type.empty())
        field("t", p.ev.type);
    if (p.ev.data)
        field("d", *p.ev.data);
    if (p.ev.retry)
        field("r", std::to_string(p.ev.retry->count()));
    if (p.ev.comment)
        field("c", *p.ev.comment);
    if (!p.key.empty())
        field("k", p.key);
    switch (p.to.kind()) {
    case audience_kind::all:
        field("a", "*");
        break;
    case audience_kind::user:
        field("a", "u");
        field("u", p.to.user_id());
        break;
    case audience_kind::topics: {
        field("a", "t");
        std::string topics;
        for (auto const& t : p.to.topic_names())
            append_length_prefixed(topics, t);
        field("n", std::move(topics));
        break;
    }
    case audience_kind::matching:
        return false;
    }
    return true;
}

inline bool parse_u64(std::string_view s, std::uint64_t& out) noexcept
{
    if (s.empty())
        return false;
    auto const r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// "<seq>-0" -> seq. Entries the script did not write have other ids: refused.
inline bool parse_stream_id(std::string_view id, std::uint64_t& seq) noexcept
{
    auto const dash = id.find('-');
    return dash != std::string_view::npos && id.substr(dash + 1) == "0" && parse_u64(id.substr(0, dash), seq) &&
           seq != 0;
}

inline bool decode_topics(std::string_view s, std::vector<std::string>& out)
{
    while (!s.empty()) {
        auto const colon = s.find(':');
        std::uint64_t n = 0;
        if (colon == std::string_view::npos || !parse_u64(s.substr(0, colon), n) || n > s.size() - colon - 1)
            return false;
        out.emplace_back(s.substr(colon + 1, n));
        s.remove_prefix(colon + 1 + n);
    }
    return true;
}

// One entry of XRANGE, XREVRANGE or XREAD: [id, [field, value, ...]].
// Returns false for an entry this backplane did not write; `epoch` receives its `e`.
inline bool decode_entry(reply const& r, log_entry& out, std::string& epoch)
{
    if (r.type != reply::kind::array || r.elements.size() != 2 || r.elements[0].type != reply::kind::string ||
        r.elements[1].type != reply::kind::array || r.elements[1].elements.size() % 2 != 0)
        return false;
    if (!parse_stream_id(r.elements[0].str, out.seq))
        return false;
    auto const& f = r.elements[1].elements;
    char audience = 0;
    std::string user;
    std::vector<std::string> topics;
    epoch.clear();
    for (std::size_t i = 0; i < f.size(); i += 2) {
        if (f[i].type != reply::kind::string || f[i + 1].type != reply::kind::string || f[i].str.size() != 1)
            return false;
        std::string const& v = f[i + 1].str;
        switch (f[i].str[0]) {
        case 'e': epoch = v; break;
        case 'i': out.ev.id = v; break;
        case 't': out.ev.type = v; break;
        case 'd': out.ev.data = v; break;
        case 'c': out.ev.comment = v; break;
        case 'k': out.key = v; break;
        case 'u': user = v; break;
        case 'r': {
            std::uint64_t ms = 0;
            if (!parse_u64(v, ms))
                return false;
            out.ev.retry = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
            break;
        }
        case 'a':
            if (v.size() != 1)
                return false;
            audience = v[0];
            break;
        case 'n':
            if (!decode_topics(v, topics))
                return false;
            break;
        default:
            break;   // a field of a later version: ignored
        }
    }
    if (epoch.empty())
        return false;
    switch (audience) {
    case '*': out.to = sse::audience::all(); break;
    case 'u': out.to = sse::audience::user(std::move(user)); break;
    case 't': out.to = sse::audience::topics(std::move(topics)); break;
    default: return false;
    }
    return true;
}

// Appends one event. KEYS: meta, log, idempotency key. ARGV: the epoch the
// publisher follows, MAXLEN, the idempotency key's lifetime (s), "1" if there is
// one, then the entry's fields. The XADD comes before the sequence moves: if it
// fails (a key of another type), nothing is written and no position is lost.
// Positions are formatted with %d: Lua 5.1's tostring() turns 1e14 into "1e+14".
inline constexpr std::string_view publish_script = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if (not epoch) or epoch ~= ARGV[1] then
  return redis.error_reply('SSEEPOCH the log is at epoch ' .. tostring(epoch) .. ', not ' .. ARGV[1])
end
if ARGV[4] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local e, s = string.match(seen, '^(%S+) (%d+)$')
    if e == epoch then return {epoch, s, 1} end
  end
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') + 1
local id = string.format('%d', seq)
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], id .. '-0', unpack(fields))
redis.call('HSET', KEYS[1], 'seq', id)
if ARGV[4] == '1' then
  redis.call('SET', KEYS[3], epoch .. ' ' .. id, 'EX', ARGV[3])
end
return {epoch, id, 0}
)lua";

// Finds or starts the epoch, and returns it with the position and the newest
// entries in one atomic step, so that the reader continues exactly after them.
// KEYS: meta, log. ARGV: the server's run_id, a fresh epoch to start if needed,
// "1" if durable, the number of entries wanted.
// Not durable: an epoch belongs to one run of the Redis server; a restart (which
// may have rolled the data back to a snapshot) or a failover starts a new one, and
// the old log goes with it. Durable: the epoch stays while the meta hash does.
inline constexpr std::string_view sync_script = R"lua(
local epoch = redis.call('HGET', KEYS[1], 'epoch')
local run = redis.call('HGET', KEYS[1], 'run_id')
local fresh = 0
if (not epoch) or (ARGV[3] ~= '1' and run ~= ARGV[1]) then
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', '0', 'run_id', ARGV[1])
  epoch = ARGV[2]
  fresh = 1
elseif run ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'run_id', ARGV[1])
end
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
local tail = {}
if tonumber(ARGV[4]) > 0 then
  tail = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[4])
end
return {epoch, seq, tail, fresh}
)lua";

} // namespace detail
} // namespace redis
SSE_NAMESPACE_END

#endif
