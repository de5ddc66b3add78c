// sse/client/impl/source_core.hpp - bodies of the event source's decisions.
#ifndef SSE_CLIENT_IMPL_SOURCE_CORE_HPP
#define SSE_CLIENT_IMPL_SOURCE_CORE_HPP

#include <sse/client/source_core.hpp>
#include <sse/http/detail/chars.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

namespace source {

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d: whole 400-year
// eras of 146097 days, the years before the date's in its era, and the day of
// a year counted from March, so that the leap day comes last.
inline std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept
{
    y -= m <= 2 ? 1 : 0;
    std::int64_t const era = (y >= 0 ? y : y - 399) / 400;
    std::int64_t const year_of_era = y - era * 400;
    std::int64_t const day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    std::int64_t const day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

inline bool two_or_four_digits(std::string_view s, int& out) noexcept
{
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + (c - '0');
    }
    return !s.empty();
}

inline int month_number(std::string_view name) noexcept
{
    static constexpr std::string_view months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (name == months[i])
            return i + 1;
    return 0;
}

// An HTTP-date as seconds since 1970 (RFC 9110 5.6.7): IMF-fixdate
// "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete forms a recipient must
// still accept, RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
// "Sun Nov  6 08:49:37 1994". The day name is not checked.
inline std::optional<std::int64_t> http_date(std::string_view v) noexcept
{
    std::string_view day, month, year, time;
    auto const comma = v.find(',');
    if (comma != std::string_view::npos) {
        std::string_view const rest = v.substr(comma + 1);
        if (rest.size() == 25 && rest[0] == ' ' && rest[3] == ' ' && rest[7] == ' ' && rest[12] == ' ' &&
            rest.substr(21) == " GMT") {
            day = rest.substr(1, 2), month = rest.substr(4, 3), year = rest.substr(8, 4), time = rest.substr(13, 8);
        } else if (rest.size() == 23 && rest[0] == ' ' && rest[3] == '-' && rest[7] == '-' && rest[10] == ' ' &&
                   rest.substr(19) == " GMT") {
            day = rest.substr(1, 2), month = rest.substr(4, 3), year = rest.substr(8, 2), time = rest.substr(11, 8);
        } else {
            return std::nullopt;
        }
    } else if (v.size() == 24 && v[3] == ' ' && v[7] == ' ' && v[10] == ' ' && v[19] == ' ') {
        month = v.substr(4, 3), day = v.substr(8, 2), time = v.substr(11, 8), year = v.substr(20, 4);
        if (day[0] == ' ')
            day.remove_prefix(1);
    } else {
        return std::nullopt;
    }
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0;
    int const m = month_number(month);
    if (m == 0 || !two_or_four_digits(day, d) || !two_or_four_digits(year, y) || time[2] != ':' ||
        time[5] != ':' || !two_or_four_digits(time.substr(0, 2), hh) || !two_or_four_digits(time.substr(3, 2), mm) ||
        !two_or_four_digits(time.substr(6, 2), ss))
        return std::nullopt;
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return std::nullopt;
    // RFC 9110 5.6.7 asks to read a two-digit year that looks more than 50 years
    // ahead as the past year with those digits; against today's dates that is
    // 20yy up to 2069, 19yy from 70.
    if (year.size() == 2)
        y += y < 70 ? 2000 : 1900;
    return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

// Retry-After (RFC 9110 10.2.3): delay-seconds, or an HTTP-date measured from
// the answer's Date field (the server's own clock: no skew) or, without one,
// from `wall_now`. Capped at `limit`; a date in the past is no delay.
inline std::optional<std::chrono::milliseconds> retry_after(http::response_head const& head,
                                                            std::chrono::system_clock::time_point wall_now,
                                                            std::chrono::milliseconds limit)
{
    auto const value = head.fields().find("Retry-After");
    if (!value || value->empty())
        return std::nullopt;
    std::int64_t const limit_s = std::max<std::int64_t>(0, limit.count() / 1000 + 1);
    std::int64_t seconds = 0;
    bool digits = true;
    for (char c : *value) {
        if (c < '0' || c > '9') {
            digits = false;
            break;
        }
        seconds = std::min(seconds * 10 + (c - '0'), limit_s);
    }
    if (!digits) {
        auto const at = http_date(*value);
        if (!at)
            return std::nullopt;
        std::optional<std::int64_t> now_s;
        if (auto const date = head.fields().find("Date"))
            now_s = http_date(*date);
        if (!now_s)
            now_s = std::chrono::duration_cast<std::chrono::seconds>(wall_now.time_since_epoch()).count();
        seconds = std::clamp<std::int64_t>(*at - *now_s, 0, limit_s);
    }
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), limit);
}

inline bool same_origin(url const& a, url const& b) noexcept
{
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port;
}

// Credentials the user set for the original origin, not to be sent elsewhere
// (as the Fetch standard does on a cross-origin redirect).
inline bool is_credential(std::string_view name) noexcept
{
    return http::iequals(name, "Authorization") || http::iequals(name, "Cookie") ||
           http::iequals(name, "Proxy-Authorization");
}

// The user's request fields, for the stream and the polls alike: each a token
// name with a value that cannot forge fields, and none the source writes itself.
inline bool valid_user_headers(std::vector<header_field> const& headers) noexcept
{
    for (auto const& [name, value] : headers)
        if (!http::is_token(name) || !http::detail::is_safe_header_value(value) || is_source_header(name))
            return false;
    return true;
}

} // namespace source

SSE_DECL source_core::source_core(url origin, event_source_options options)
    : origin_(std::move(origin)), target_(origin_), options_(std::move(options)),
      head_parser_(options_.head_limits), chunked_(options_.chunked_limits), parser_(options_.limits),
      backoff_(options_.backoff),
      rng_(options_.jitter_seed ? *options_.jitter_seed : std::random_device{}())
{
    parser_.last_event_id(options_.last_event_id);
    stats_.retry = backoff_.retry();
    stats_.last_event_id = stats_last_event_id_ = options_.last_event_id;
    newest_id_ = options_.last_event_id;
    if (!options_.fallback.url.empty() && options_.fallback.decode) {
        error_code ec;
        url endpoint = resolve_url(origin_, options_.fallback.url, ec);
        if (ec)
            poll_url_bad_ = true;   // reported by the first attempt
        else
            poll_url_ = std::move(endpoint);
    }
}

SSE_DECL void source_core::on(std::string type, std::uint64_t id, event_handler handler)
{
    auto slot = std::make_unique<handler_slot>();
    slot->id = id;
    slot->handler = std::move(handler);
    types_[std::move(type)].handlers.push_back(std::move(slot));
}

SSE_DECL void source_core::filter(std::string type, std::uint64_t id, filter_function predicate)
{
    per_type& entry = types_[std::move(type)];
    entry.filter = std::make_shared<filter_function const>(std::move(predicate));
    entry.filter_id = id;
}

SSE_DECL void source_core::remove(std::uint64_t id)
{
    if (id == 0)
        return;
    for (auto& [type, entry] : types_) {
        if (entry.filter_id == id) {
            entry.filter.reset();
            entry.filter_id = 0;
            return;
        }
        auto& handlers = entry.handlers;
        for (auto it = handlers.begin(); it != handlers.end(); ++it) {
            if ((*it)->id != id)
                continue;
            // A dispatch may be running this very handler: erase it afterwards.
            if (delivering_ > 0) {
                (*it)->id = 0;
                removed_in_delivery_ = true;
            } else {
                handlers.erase(it);
            }
            return;
        }
    }
}

SSE_DECL void source_core::compact()
{
    removed_in_delivery_ = false;
    for (auto& [type, entry] : types_) {
        auto& handlers = entry.handlers;
        handlers.erase(std::remove_if(handlers.begin(), handlers.end(), [](auto const& slot) { return slot->id == 0; }),
                       handlers.end());
    }
}

SSE_DECL void source_core::throttle(std::string type, std::chrono::milliseconds min_interval)
{
    types_[std::move(type)].min_interval = min_interval;
}

SSE_DECL bool source_core::is_final(error_code ec) noexcept
{
    if (ec.category() != error_category())
        return false;
    switch (static_cast<error>(ec.value())) {
    case error::bad_url:
    case error::https_not_supported:
    case error::too_many_redirects:
    case error::bad_redirect:
    case error::bad_content_type:
    case error::no_content:
    case error::bad_header:
    // The server would send the same oversized event again.
    case error::line_too_long:
    case error::event_too_long:
    case error::reconnect_limit:
        return true;
    default:
        return false;
    }
}

SSE_DECL void source_core::set_state(source_state s, error_code why)
{
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.state = s;
    }
    state_ = s;
    if (on_state_)
        on_state_(s, why);
}

SSE_DECL void source_core::finish(source_state s, error_code why)
{
    if (stopped_)
        return;
    // Events already received are not lost to throttling when the source ends
    // on its own; close() is the user's choice to drop them.
    flush_all();
    stopped_ = true;
    set_state(s, why);
}

SSE_DECL error_code source_core::begin_attempt()
{
    target_ = origin_;
    cross_origin_ = false;
    redirects_in_chain_ = 0;
    send_body_ = true;
    method_ = !options_.method.empty() ? options_.method : (options_.body ? "POST" : "GET");
    retry_after_.reset();
    retry_after_exact_ = false;
    if (hook_)
        hook_(options_.headers);
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.attempts;
        if (started_)
            ++stats_.reconnects;
    }
    started_ = true;
    if (has_fallback()) {
        // Continue after the newest event from either path.
        parser_.last_event_id(newest_id_);
        stream_id_ = newest_id_;
        trial_open_ = false;
    }
    // While polling, an attempt is a trial: the state stays `polling` until it streams.
    if (!polling_)
        set_state(source_state::connecting, {});

    if (unusable_)
        return unusable_;
    error_code ec;
    if (poll_url_bad_)
        return make_error_code(error::bad_url);
    if (!http::is_token(method_))
        ec = error::bad_method;
    if (!source::valid_user_headers(options_.headers))
        ec = error::bad_header;
    if (!http::detail::is_safe_header_value(parser_.last_event_id()))
        ec = error::bad_header;
    return ec;
}

SSE_DECL std::string source_core::request() const
{
    std::string out;
    out.reserve(256);
    out.append(method_).append(" ").append(target_.target).append(" HTTP/1.1\r\n");
    out.append("Host: ").append(target_.authority()).append("\r\n");
    out.append("Accept: text/event-stream\r\nCache-Control: no-cache\r\n");
    out.append("User-Agent: ssepp/" SSE_VERSION_STRING "\r\n");
    if (!parser_.last_event_id().empty())
        out.append("Last-Event-ID: ").append(parser_.last_event_id()).append("\r\n");
    for (auto const& [name, value] : options_.headers) {
        if (cross_origin_ && source::is_credential(name))
            continue;
        out.append(name).append(": ").append(value).append("\r\n");
    }
    bool const with_body = options_.body && send_body_;
    if (with_body) {
        out.append("Content-Type: ").append(options_.content_type).append("\r\n");
        out.append("Content-Length: ").append(std::to_string(options_.body->size())).append("\r\n");
    }
    out.append("\r\n");
    if (with_body)
        out.append(*options_.body);
    return out;
}

SSE_DECL void source_core::received(std::size_t bytes, clock::time_point now)
{
    counters_.bytes_received.fetch_add(bytes, std::memory_order_relaxed);
    last_byte_at_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
}

SSE_DECL head_outcome source_core::on_head(std::string_view& input, error_code& ec,
                                           std::chrono::system_clock::time_point wall_now)
{
    for (;;) {
        std::size_t const used = head_parser_.feed(input, ec);
        input.remove_prefix(used);
        if (ec)
            return head_outcome::retry;   // a garbled head may be a transient fault
        if (!head_parser_.done())
            return head_outcome::need_more;
        int const status = head_parser_.get().status();
        // Interim responses (100 Continue, 103 Early Hints) precede the real one.
        if (status >= 100 && status < 200 && status != 101) {
            head_parser_.reset();
            continue;
        }
        break;
    }
    http::response_head head = head_parser_.release();
    int const status = head.status();
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.last_status = status;
    }
    switch (status) {
    case 200:
        if (!head.is_event_stream()) {
            ec = error::bad_content_type;
            return head_outcome::stop;
        }
        framing_ = head.body_framing();
        body_left_ = head.content_length();
        chunked_.reset();
        parser_.reset();
        return head_outcome::open;
    case 204:
        ec = error::no_content;
        return head_outcome::stop;
    case 301:
    case 302:
    case 303:
    case 307:
    case 308:
        return redirect(head, ec);
    default:
        break;
    }
    ec = error::bad_status;
    // 429 is a limit the server lifts later (RFC 6585 4): retried by default,
    // exactly after its Retry-After. A 5xx or 401 waits at least as long.
    if (status == 429 && options_.retry_429) {
        retry_after_ = source::retry_after(head, wall_now, options_.max_retry_after);
        retry_after_exact_ = true;
        return head_outcome::retry;
    }
    if ((status >= 500 && options_.retry_5xx) || (status == 401 && options_.retry_401)) {
        retry_after_ = source::retry_after(head, wall_now, options_.max_retry_after);
        return head_outcome::retry;
    }
    return head_outcome::stop;
}

SSE_DECL head_outcome source_core::redirect(http::response_head const& head, error_code& ec)
{
    auto const location = head.fields().find("Location");
    if (!location) {
        ec = error::bad_redirect;
        return head_outcome::stop;
    }
    if (redirects_in_chain_ >= options_.max_redirects) {
        ec = error::too_many_redirects;
        return head_outcome::stop;
    }
    url next = resolve_url(target_, *location, ec);
    if (ec) {
        ec = error::bad_redirect;
        return head_outcome::stop;
    }
    // As browsers do: 303 always, and 301/302 after a POST, continue with a GET
    // and no body; 307 and 308 repeat the request as it was.
    int const status = head.status();
    if (status == 303 || ((status == 301 || status == 302) && method_ == "POST")) {
        if (method_ != "HEAD")
            method_ = "GET";
        send_body_ = false;
    }
    ++redirects_in_chain_;
    target_ = std::move(next);
    cross_origin_ = cross_origin_ || !source::same_origin(origin_, target_);
    head_parser_.reset();
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.redirects;
    }
    return head_outcome::redirect;
}

SSE_DECL void source_core::opened(clock::time_point now)
{
    backoff_.opened(now);
    if (polling_) {
        {
            std::lock_guard<std::mutex> lock(stats_mutex_);
            ++stats_.opens;
        }
        // A trial. After failures, a stream that opens is back. After a held-back
        // stream it must also deliver bytes: a buffering proxy answers the head
        // at once and holds the rest.
        if (polled_for_held_back_) {
            trial_open_ = true;
            return;
        }
        polling_ = false;
    }
    failures_in_row_ = 0;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.opens;
        stats_.open_since = now;
    }
    set_state(source_state::open, {});
}

SSE_DECL body_outcome source_core::on_body(std::string_view input, clock::time_point now, error_code& ec)
{
    if (polling_ && trial_open_ && !input.empty()) {
        polling_ = false;
        trial_open_ = false;
        failures_in_row_ = 0;
        {
            std::lock_guard<std::mutex> lock(stats_mutex_);
            stats_.open_since = now;
        }
        set_state(source_state::open, {});
        if (stopped_)
            return body_outcome::stopped;
    }
    switch (framing_) {
    case http::framing::chunked:
        while (!input.empty()) {
            std::string_view const data = chunked_.next(input, ec);
            if (ec)
                return body_outcome::failed;
            if (!data.empty()) {
                body_outcome const r = parse(data, now, ec);
                if (r != body_outcome::more)
                    return r;
            }
            if (chunked_.done())
                return body_outcome::ended;
        }
        return body_outcome::more;
    case http::framing::length: {
        // Bytes past Content-Length are not ours: a broken server. Ignore them.
        std::size_t const take = static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, input.size()));
        body_left_ -= take;
        body_outcome const r = parse(input.substr(0, take), now, ec);
        if (r != body_outcome::more)
            return r;
        return body_left_ == 0 ? body_outcome::ended : body_outcome::more;
    }
    case http::framing::none:
        return body_outcome::ended;
    case http::framing::until_close:
        break;
    }
    return parse(input, now, ec);
}

SSE_DECL body_outcome source_core::parse(std::string_view data, clock::time_point now, error_code& ec)
{
    while (!stopped_) {
        switch (parser_.next(data, ec)) {
        case parse_item::need_more:
            return ec ? body_outcome::failed : body_outcome::more;
        case parse_item::event: {
            event_view const ev = parser_.event();
            counters_.events_received.fetch_add(1, std::memory_order_relaxed);
            if (has_fallback()) {
                // An event whose id differs from the one before carried an id
                // line: if that id came already by polling, this is a repeat.
                bool const own_id = ev.last_event_id != stream_id_;
                stream_id_.assign(ev.last_event_id);
                if (own_id && !ev.last_event_id.empty() && !first_delivery(ev.last_event_id)) {
                    std::lock_guard<std::mutex> lock(stats_mutex_);
                    ++stats_.duplicates_dropped;
                    break;
                }
                if (own_id)
                    newest_id_.assign(ev.last_event_id);
            }
            if (stats_last_event_id_ != ev.last_event_id) {
                stats_last_event_id_.assign(ev.last_event_id);
                std::lock_guard<std::mutex> lock(stats_mutex_);
                stats_.last_event_id = stats_last_event_id_;
            }
            dispatch(ev, now);
            break;
        }
        case parse_item::retry: {
            backoff_.server_retry(*parser_.retry());
            std::lock_guard<std::mutex> lock(stats_mutex_);
            stats_.retry = *parser_.retry();
            break;
        }
        case parse_item::comment:
            counters_.comments_received.fetch_add(1, std::memory_order_relaxed);
            if (on_comment_)
                on_comment_(parser_.comment());
            break;
        }
    }
    return body_outcome::stopped;
}

SSE_DECL void source_core::dispatch(event_view const& ev, clock::time_point now)
{
    auto const it = types_.find(ev.type);
    per_type* const entry = it == types_.end() ? nullptr : &it->second;
    if (entry && entry->filter) {
        auto const keep = entry->filter;
        if (!(*keep)(ev)) {
            counters_.events_filtered.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
    if (entry && entry->min_interval.count() > 0) {
        bool const due = !entry->dispatched_once || now - entry->last_dispatch >= entry->min_interval;
        if (!due || entry->has_pending) {
            // Too soon: keep only the newest, to be delivered at the interval's end.
            if (entry->has_pending)
                counters_.events_coalesced.fetch_add(1, std::memory_order_relaxed);
            entry->pending.type.assign(ev.type);
            entry->pending.data.assign(ev.data);
            entry->pending.last_event_id.assign(ev.last_event_id);
            entry->has_pending = true;
            return;
        }
        entry->last_dispatch = now;
        entry->dispatched_once = true;
    }
    deliver(entry, ev);
}

SSE_DECL void source_core::deliver(per_type* entry, event_view const& ev)
{
    counters_.events_delivered.fetch_add(1, std::memory_order_relaxed);
    // A handler may call close(): nothing is delivered after it.
    for (auto const& handler : every_event_) {
        if (stopped_)
            return;
        handler(ev);
    }
    if (!entry)
        return;
    // Slots stay put while handlers run; those added now start with the next
    // event, those removed now are skipped (as for DOM event listeners).
    struct delivery
    {
        source_core& core;
        explicit delivery(source_core& c) : core(c) { ++core.delivering_; }
        ~delivery()
        {
            if (--core.delivering_ == 0 && core.removed_in_delivery_)
                core.compact();
        }
        delivery(delivery const&) = delete;
        delivery& operator=(delivery const&) = delete;
    } const scope(*this);
    std::size_t const n = entry->handlers.size();
    for (std::size_t i = 0; i < n && !stopped_; ++i) {
        handler_slot& slot = *entry->handlers[i];
        if (slot.id != 0)
            slot.handler(ev);
    }
}

SSE_DECL std::optional<source_core::clock::time_point> source_core::next_due() const
{
    std::optional<clock::time_point> due;
    for (auto const& [type, entry] : types_)
        if (entry.has_pending) {
            auto const t = entry.last_dispatch + entry.min_interval;
            if (!due || t < *due)
                due = t;
        }
    return due;
}

SSE_DECL void source_core::flush_due(clock::time_point now)
{
    for (auto& [type, entry] : types_) {
        if (stopped_)
            return;
        if (!entry.has_pending || now - entry.last_dispatch < entry.min_interval)
            continue;
        pending_event const pending = std::move(entry.pending);
        entry.has_pending = false;
        entry.last_dispatch = now;
        deliver(&entry, event_view{pending.type, pending.data, pending.last_event_id});
    }
}

SSE_DECL void source_core::flush_all()
{
    for (auto& [type, entry] : types_) {
        if (!entry.has_pending)
            continue;
        pending_event const pending = std::move(entry.pending);
        entry.has_pending = false;
        deliver(&entry, event_view{pending.type, pending.data, pending.last_event_id});
    }
}

SSE_DECL std::optional<std::chrono::milliseconds> source_core::ended(
    error_code why, bool final, clock::time_point now)
{
    if (stopped_)
        return std::nullopt;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.last_error = why;
        if (state_ == source_state::open) {
            connected_before_ += now - stats_.open_since;
            stats_.open_since = {};
        }
    }
    head_parser_.reset();
    if (why == error::no_content) {
        finish(source_state::closed, why);
        return std::nullopt;
    }
    // With a fallback, a stream the server refuses (any status, another content
    // type) or cannot deliver is polled instead; a bad certificate or URL is not.
    bool const poll_instead = has_fallback() && options_.reconnect &&
                              (why == error::bad_status || why == error::bad_content_type || (!final && !is_final(why)));
    if (polling_) {
        trial_open_ = false;
        if (!poll_instead) {
            finish(source_state::failed, why);
            return std::nullopt;
        }
        // A trial failed: polling goes on, and the stream is tried again later.
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.reconnect_delay = options_.fallback.stream_retry;
        return options_.fallback.stream_retry;
    }
    if (poll_instead && ++failures_in_row_ >= options_.fallback.after_failures) {
        enter_polling(why);
        return std::nullopt;
    }
    if (!poll_instead && (final || is_final(why))) {
        finish(source_state::failed, why);
        return std::nullopt;
    }
    if (!options_.reconnect) {
        finish(why == error::stream_ended ? source_state::closed : source_state::failed, why);
        return std::nullopt;
    }
    auto delay = backoff_.next_delay(now, rng_);
    if (!delay) {
        if (has_fallback())
            enter_polling(why);
        else
            finish(source_state::failed, error::reconnect_limit);
        return std::nullopt;
    }
    if (retry_after_ && retry_after_exact_)
        delay = std::max(*retry_after_, options_.backoff.min_retry);
    else if (retry_after_ && *retry_after_ > *delay)
        delay = retry_after_;
    retry_after_.reset();
    retry_after_exact_ = false;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.reconnect_delay = *delay;
    }
    set_state(source_state::waiting, why);
    if (stopped_)   // the state handler called close()
        return std::nullopt;
    return delay;
}

SSE_DECL void source_core::enter_polling(error_code why)
{
    polling_ = true;
    polled_for_held_back_ = why == error::held_back;
    trial_open_ = false;
    failures_in_row_ = 0;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.fallbacks;
        stats_.reconnect_delay = options_.fallback.stream_retry;
    }
    set_state(source_state::polling, why);
}

SSE_DECL void source_core::stream_held_back()
{
    if (stopped_ || polling_)
        return;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.last_error = error::held_back;
        if (state_ == source_state::open) {
            connected_before_ += clock::now() - stats_.open_since;
            stats_.open_since = {};
        }
    }
    head_parser_.reset();
    enter_polling(error::held_back);
}

SSE_DECL std::string source_core::begin_poll(error_code& ec)
{
    ec = {};
    if (hook_)
        hook_(options_.headers);
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        ++stats_.polls;
    }
    if (!source::valid_user_headers(options_.headers))
        ec = error::bad_header;
    if (ec)
        return {};
    return poll_exchange::request(*poll_url_, options_.fallback.since_param, newest_id_, options_.headers);
}

SSE_DECL poll_exchange source_core::make_poll_exchange() const
{
    return poll_exchange(options_.head_limits, options_.chunked_limits, options_.fallback.max_body);
}

SSE_DECL void source_core::poll_failed(error_code)
{
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.poll_failures;
}

SSE_DECL std::size_t source_core::on_poll_answer(int status, std::string_view body, clock::time_point now,
                                                 error_code& ec)
{
    ec = {};
    poll_batch batch;
    std::string why;
    if (status != 200 || !options_.fallback.decode(body, batch, why)) {
        ec = error::bad_poll_response;
        poll_failed(ec);
        return 0;
    }
    std::size_t fresh = 0;
    for (event const& e : batch.events) {
        if (stopped_)
            return fresh;
        if (!e.data)
            continue;   // nothing to dispatch, as for a stream
        counters_.events_received.fetch_add(1, std::memory_order_relaxed);
        std::string_view const id = e.id ? std::string_view(*e.id) : std::string_view();
        {
            std::lock_guard<std::mutex> lock(stats_mutex_);
            ++stats_.events_polled;
            if (!id.empty() && !first_delivery(id)) {
                ++stats_.duplicates_dropped;
                continue;
            }
        }
        if (e.id)
            note_last_id(id);
        ++fresh;
        dispatch(event_view{e.type.empty() ? std::string_view("message") : std::string_view(e.type), *e.data,
                            newest_id_},
                 now);
    }
    if (batch.last_event_id && !stopped_)
        note_last_id(*batch.last_event_id);
    return fresh;
}

SSE_DECL bool source_core::first_delivery(std::string_view id)
{
    if (recent_ids_.count(id) != 0)
        return false;
    // Enough to cover a replay after any switch; old ids leave first. The set
    // views the deque's strings, which stay put when the deque grows or shrinks
    // at its ends: one copy per id, none per look-up.
    constexpr std::size_t remembered = 4096;
    recent_order_.emplace_back(id);
    recent_ids_.insert(recent_order_.back());
    if (recent_order_.size() > remembered) {
        recent_ids_.erase(recent_order_.front());
        recent_order_.pop_front();
    }
    return true;
}

SSE_DECL void source_core::note_last_id(std::string_view id)
{
    newest_id_.assign(id);
    if (stats_last_event_id_ != id) {
        stats_last_event_id_.assign(id);
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.last_event_id = stats_last_event_id_;
    }
}

SSE_DECL void source_core::close(bool report)
{
    if (stopped_)
        return;
    stopped_ = true;
    for (auto& [type, entry] : types_)
        entry.has_pending = false;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        if (state_ == source_state::open) {
            connected_before_ += clock::now() - stats_.open_since;
            stats_.open_since = {};
        }
    }
    if (report) {
        set_state(source_state::closed, {});
    } else {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        stats_.state = state_ = source_state::closed;
    }
}

SSE_DECL bool source_core::restart(clock::time_point now)
{
    if (stopped_ || !started_)
        return false;
    {
        std::lock_guard<std::mutex> lock(stats_mutex_);
        if (state_ == source_state::open) {
            connected_before_ += now - stats_.open_since;
            stats_.open_since = {};
        }
    }
    head_parser_.reset();
    trial_open_ = false;
    retry_after_.reset();
    retry_after_exact_ = false;
    return true;
}

SSE_DECL event_source_stats source_core::stats(clock::time_point now) const
{
    std::lock_guard<std::mutex> lock(stats_mutex_);
    event_source_stats s = stats_;
    s.bytes_received = counters_.bytes_received.load(std::memory_order_relaxed);
    s.events_received = counters_.events_received.load(std::memory_order_relaxed);
    s.events_delivered = counters_.events_delivered.load(std::memory_order_relaxed);
    s.events_filtered = counters_.events_filtered.load(std::memory_order_relaxed);
    s.events_coalesced = counters_.events_coalesced.load(std::memory_order_relaxed);
    s.comments_received = counters_.comments_received.load(std::memory_order_relaxed);
    s.last_byte_at = clock::time_point(clock::duration(last_byte_at_.load(std::memory_order_relaxed)));
    s.time_connected = connected_before_;
    if (s.state == source_state::open)
        s.time_connected += now - s.open_since;
    return s;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
