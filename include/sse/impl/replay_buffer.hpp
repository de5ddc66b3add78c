// sse/impl/replay_buffer.hpp - bodies of the replay buffer.
#ifndef SSE_IMPL_REPLAY_BUFFER_HPP
#define SSE_IMPL_REPLAY_BUFFER_HPP

#include <sse/impl/event.hpp>
#include <sse/replay_buffer.hpp>

#include <charconv>
#include <random>
#include <system_error>

SSE_NAMESPACE_BEGIN
namespace detail {

// An epoch chosen for a buffer (hub_options::epoch) has at most 16 characters; one
// taken from a shared log (a backplane) up to 32, and ids of either are recognised.
constexpr std::size_t max_epoch_size = 16;
constexpr std::size_t max_log_epoch_size = 32;
// "id: " + epoch + "-" + 20 digits + "\n": reserved in front of an event without an id.
constexpr std::size_t assigned_id_line_room = 4 + max_log_epoch_size + 1 + 20 + 1;

inline bool is_epoch_char(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

inline bool is_epoch(std::string_view s, std::size_t max_size = max_log_epoch_size) noexcept
{
    if (s.empty() || s.size() > max_size)
        return false;
    for (char c : s)
        if (!is_epoch_char(c))
            return false;
    return true;
}

// Splits "<epoch>-<seq>"; false unless the id has exactly that shape (no sign, no
// leading zero, a value that fits 64 bits).
inline bool parse_assigned_id(std::string_view id, std::string_view& epoch, std::uint64_t& seq) noexcept
{
    auto const dash = id.find('-');
    if (dash == std::string_view::npos)
        return false;
    epoch = id.substr(0, dash);
    auto const digits = id.substr(dash + 1);
    if (!is_epoch(epoch) || digits.empty() || digits.size() > 20 || (digits[0] == '0' && digits.size() > 1))
        return false;
    for (char c : digits)
        if (c < '0' || c > '9')
            return false;
    auto const r = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
    return r.ec == std::errc() && r.ptr == digits.data() + digits.size();
}

inline void append_assigned_id(std::string& out, std::string_view epoch, std::uint64_t seq)
{
    char digits[20];
    auto const r = std::to_chars(digits, digits + sizeof digits, seq);
    out.append(epoch.data(), epoch.size());
    out.push_back('-');
    out.append(digits, static_cast<std::size_t>(r.ptr - digits));
}

// Six base-36 characters (31 bits) from the random device, the clock and an
// address: enough that two runs of a server almost never share an epoch.
inline std::string random_epoch()
{
    std::random_device device;
    std::uint64_t x = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    x ^= static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
    x ^= static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&x));
    x *= 0x9E3779B97F4A7C15ull;
    x ^= x >> 29;
    std::string epoch(6, '0');
    for (char& c : epoch) {
        c = "0123456789abcdefghijklmnopqrstuvwxyz"[x % 36];
        x /= 36;
    }
    return epoch;
}

} // namespace detail

SSE_DECL std::vector<std::string> const& audience::topic_names() const noexcept
{
    static std::vector<std::string> const none;
    return data_ ? data_->topics : none;
}

SSE_DECL std::string const& audience::user_id() const noexcept
{
    static std::string const none;
    return data_ ? data_->user : none;
}

SSE_DECL audience::predicate const& audience::matcher() const noexcept
{
    static predicate const none;
    return data_ ? data_->match : none;
}

SSE_DECL replay_buffer::replay_buffer(replay_limits limits, std::string epoch)
    : limits_(limits), epoch_(epoch.empty() ? detail::random_epoch() : std::move(epoch))
{
    SSE_ASSERT(detail::is_epoch(epoch_, detail::max_epoch_size));
}

SSE_DECL bool replay_buffer::valid_log_epoch(std::string_view epoch) noexcept
{
    return detail::is_epoch(epoch);
}

SSE_DECL std::shared_ptr<published_event> replay_buffer::prepare(
    event e, sse::audience to, std::string_view key, error_code& ec)
{
    ec = validate(e);
    if (ec)
        return nullptr;
    auto p = std::make_shared<published_event>();
    if (e.id) {
        p->wire.reserve(serialized_size(e));
        detail::append_valid(e, p->wire);
        p->id = std::move(*e.id);
    } else {
        // append() writes the id line in front, inside this capacity: no reallocation.
        p->wire.reserve(serialized_size(e) + detail::assigned_id_line_room);
        detail::append_valid(e, p->wire);
        p->assigned_id = true;
    }
    p->type = std::move(e.type);
    p->data = std::move(e.data);
    p->key.assign(key.data(), key.size());
    p->audience = std::move(to);
    return p;
}

SSE_DECL void replay_buffer::stamp(published_event& e, std::string_view epoch, std::uint64_t seq, clock::time_point now)
{
    e.seq = seq;
    e.time = now;
    if (e.assigned_id) {
        e.id.clear();
        detail::append_assigned_id(e.id, epoch, e.seq);
        char line[detail::assigned_id_line_room];
        std::size_t n = 0;
        for (char c : std::string_view("id: "))
            line[n++] = c;
        for (char c : e.id)
            line[n++] = c;
        line[n++] = '\n';
        e.wire.insert(0, line, n);
    }
}

SSE_DECL std::shared_ptr<published_event const> replay_buffer::append(
    std::shared_ptr<published_event> p, clock::time_point now)
{
    SSE_ASSERT(p != nullptr);
    stamp(*p, epoch_, next_seq_++, now);
    store(p, now);
    return p;
}

SSE_DECL std::shared_ptr<published_event const> replay_buffer::append_at(
    std::shared_ptr<published_event> p, std::uint64_t seq, clock::time_point now)
{
    SSE_ASSERT(p != nullptr);
    SSE_ASSERT(seq >= next_seq_ && seq != ~std::uint64_t(0));
    // Stored events stay contiguous (find_after() computes positions from the
    // newest): after a jump the older ones can no longer be found, so they go.
    if (seq != next_seq_)
        clear();
    next_seq_ = seq + 1;
    stamp(*p, epoch_, seq, now);
    store(p, now);
    return p;
}

SSE_DECL void replay_buffer::restart(std::string epoch, std::uint64_t position)
{
    SSE_ASSERT(detail::is_epoch(epoch) && position != ~std::uint64_t(0));
    clear();
    epoch_ = std::move(epoch);
    next_seq_ = position + 1;
}

SSE_DECL void replay_buffer::store(std::shared_ptr<published_event> const& p, clock::time_point now)
{
    evict_expired(now);
    if (limits_.max_events != 0) {
        published_event const* stored = p.get();
        entries_.emplace_back(entry{event_buffer(p, &p->wire), stored});
        bytes_ += stored->wire.size();
        if (!stored->assigned_id && !stored->id.empty())
            index_own_id(*stored);
        while (!entries_.empty() && (entries_.size() > limits_.max_events || bytes_ > limits_.max_bytes))
            evict_front();
    }
}

SSE_DECL std::shared_ptr<published_event const> replay_buffer::append(
    event e, sse::audience to, std::string_view key, clock::time_point now, error_code& ec)
{
    auto p = prepare(std::move(e), std::move(to), key, ec);
    if (ec)
        return nullptr;
    return append(std::move(p), now);
}

SSE_DECL std::shared_ptr<published_event const> replay_buffer::append(event e, clock::time_point now)
{
    error_code ec;
    auto p = append(std::move(e), sse::audience::all(), {}, now, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::replay_buffer::append"));
    return p;
}

SSE_DECL std::vector<event_buffer> replay_buffer::since(
    std::string_view last_id, error_code& ec, clock::time_point now)
{
    std::vector<event_buffer> out;
    since(last_id, [&](event_buffer const& b, published_event const&) { out.push_back(b); }, ec, now);
    return out;
}

SSE_DECL std::string replay_buffer::newest_id() const
{
    std::string id;
    detail::append_assigned_id(id, epoch_, next_seq_ - 1);
    return id;
}

SSE_DECL void replay_buffer::evict_expired(clock::time_point now)
{
    if (limits_.max_age == clock::duration::zero())
        return;
    while (!entries_.empty() && now - entries_.front().event->time > limits_.max_age)
        evict_front();
}

SSE_DECL void replay_buffer::clear() noexcept
{
    entries_.clear();
    own_ids_.clear();
    bytes_ = 0;
}

SSE_DECL void replay_buffer::index_own_id(published_event const& e)
{
    std::string_view const id(e.id);
    auto const it = own_ids_.find(id);
    if (it == own_ids_.end()) {
        own_ids_.emplace(id, e.seq);
        return;
    }
    // The key must view the newest event's string: the older one leaves first.
    auto node = own_ids_.extract(it);
    node.key() = id;
    node.mapped() = e.seq;
    own_ids_.insert(std::move(node));
}

SSE_DECL void replay_buffer::evict_front() noexcept
{
    published_event const& e = *entries_.front().event;
    bytes_ -= e.wire.size();
    if (!e.assigned_id && !e.id.empty()) {
        auto const it = own_ids_.find(std::string_view(e.id));
        // A newer event with the same id owns the entry (and views its own string).
        if (it != own_ids_.end() && it->second == e.seq)
            own_ids_.erase(it);
    }
    entries_.pop_front();
}

SSE_DECL std::size_t replay_buffer::find_after(std::string_view last_id, error_code& ec, clock::time_point now)
{
    ec = {};
    evict_expired(now);
    std::uint64_t seq = 0;
    if (auto const it = own_ids_.find(last_id); it != own_ids_.end()) {
        seq = it->second;
    } else {
        std::string_view epoch;
        if (!detail::parse_assigned_id(last_id, epoch, seq)) {
            ec = error::unknown_event_id;
            return 0;
        }
        if (epoch != epoch_) {
            ec = error::foreign_event_id;
            return 0;
        }
    }
    if (seq >= next_seq_) {
        ec = error::unknown_event_id;   // from the future of this epoch
        return 0;
    }
    std::uint64_t const first = first_seq();
    if (seq + 1 < first) {
        ec = error::event_id_too_old;
        return 0;
    }
    return static_cast<std::size_t>(seq + 1 - first);
}

SSE_NAMESPACE_END

#endif
