// sse/client/impl/source_core.hpp - bodies of the event source's decisions.
#ifndef SSE_CLIENT_IMPL_SOURCE_CORE_HPP
#define SSE_CLIENT_IMPL_SOURCE_CORE_HPP

#include <sse/client/source_core.hpp>
#include <sse/client/impl/retry_after.hpp>
#include <sse/http/detail/chars.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

namespace source {

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
      rng_(options_.jitter_seed ? *options_.jitter_seed : std::random_device{}()),
      fallback_(origin_, options_.fallback)
{
    parser_.last_event_id(options_.last_event_id);
    newest_id_ = options_.last_event_id;
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

SSE_DECL source_decision source_core::finish(source_state s, error_code why)
{
    stopped_ = true;
    source_decision d;
    d.action = source_decision::end;
    d.state = s;
    d.why = why;
    return d;
}

SSE_DECL attempt_start source_core::begin_attempt()
{
    target_ = origin_;
    cross_origin_ = false;
    redirects_in_chain_ = 0;
    send_body_ = true;
    method_ = !options_.method.empty() ? options_.method : (options_.body ? "POST" : "GET");
    retry_after_.reset();
    retry_after_exact_ = false;
    started_ = true;
    if (has_fallback()) {
        // Continue after the newest event from either path.
        parser_.last_event_id(newest_id_);
        stream_id_ = newest_id_;
        trial_open_ = false;
    }
    attempt_start r;
    // While polling, an attempt is a trial: the state stays `polling` until it streams.
    r.connecting = !polling_;
    if (unusable_)
        r.error = unusable_;
    else if (fallback_.bad_url())
        r.error = error::bad_url;
    else if (!http::is_token(method_))
        r.error = error::bad_method;
    else if (!source::valid_user_headers(options_.headers) ||
             !http::detail::is_safe_header_value(parser_.last_event_id()))
        r.error = error::bad_header;
    return r;
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
    status_ = status;
    switch (status) {
    case 200:
        if (!head.is_event_stream()) {
            ec = error::bad_content_type;
            return head_outcome::stop;
        }
        framing_ = head.body_framing();
        body_left_ = head.content_length();
        chunked_.reset();
        chunk_ = {};
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
    return head_outcome::redirect;
}

SSE_DECL bool source_core::opened(clock::time_point now)
{
    backoff_.opened(now);
    if (polling_) {
        // A trial. After failures, a stream that opens is back. After a held-back
        // stream it must also deliver bytes: a buffering proxy answers the head
        // at once and holds the rest.
        if (polled_for_held_back_) {
            trial_open_ = true;
            return false;
        }
        polling_ = false;
    }
    failures_in_row_ = 0;
    return true;
}

SSE_DECL source_item source_core::next(std::string_view& input, error_code& ec)
{
    ec = {};
    if (polling_ && trial_open_ && !input.empty()) {
        polling_ = false;
        trial_open_ = false;
        failures_in_row_ = 0;
        return source_item::opened;
    }
    switch (framing_) {
    case http::framing::chunked:
        for (;;) {
            if (!chunk_.empty()) {
                source_item const r = parse(chunk_, ec);
                if (r != source_item::need_more)
                    return r;
            }
            if (chunked_.done())
                return source_item::ended;
            if (input.empty())
                return source_item::need_more;
            chunk_ = chunked_.next(input, ec);
            if (ec)
                return source_item::failed;
        }
    case http::framing::length: {
        // Bytes past Content-Length are not ours: a broken server. Ignore them.
        std::string_view data = input.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(body_left_, input.size())));
        std::size_t const before = data.size();
        source_item const r = parse(data, ec);
        body_left_ -= before - data.size();
        input.remove_prefix(before - data.size());
        if (r != source_item::need_more)
            return r;
        if (body_left_ == 0) {
            input = {};
            return source_item::ended;
        }
        return source_item::need_more;
    }
    case http::framing::none:
        return source_item::ended;
    case http::framing::until_close:
        break;
    }
    return parse(input, ec);
}

SSE_DECL source_item source_core::parse(std::string_view& data, error_code& ec)
{
    for (;;) {
        switch (parser_.next(data, ec)) {
        case parse_item::need_more:
            return ec ? source_item::failed : source_item::need_more;
        case parse_item::event: {
            event_ = parser_.event();
            if (has_fallback()) {
                // An event whose id differs from the one before carried an id
                // line: if that id came already by polling, this is a repeat.
                bool const own_id = event_.last_event_id != stream_id_;
                stream_id_.assign(event_.last_event_id);
                if (own_id && !event_.last_event_id.empty() && !fallback_.first_delivery(event_.last_event_id))
                    return source_item::duplicate;
                if (own_id)
                    newest_id_.assign(event_.last_event_id);
            } else {
                newest_id_.assign(event_.last_event_id);
            }
            return source_item::event;
        }
        case parse_item::retry:
            backoff_.server_retry(*parser_.retry());
            return source_item::retry;
        case parse_item::comment:
            return source_item::comment;
        }
    }
}

SSE_DECL source_decision source_core::ended(error_code why, bool final, clock::time_point now)
{
    if (stopped_)
        return finish(source_state::closed, {});
    head_parser_.reset();
    if (why == error::no_content)
        return finish(source_state::closed, why);
    // With a fallback, a stream the server refuses (any status, another content
    // type) or cannot deliver is polled instead; a bad certificate or URL is not.
    bool const poll_instead = has_fallback() && options_.reconnect &&
                              (why == error::bad_status || why == error::bad_content_type || (!final && !is_final(why)));
    if (polling_) {
        trial_open_ = false;
        if (!poll_instead)
            return finish(source_state::failed, why);
        // A trial failed: polling goes on, and the stream is tried again later.
        source_decision d;
        d.action = source_decision::trial;
        d.delay = options_.fallback.stream_retry;
        d.state = source_state::polling;
        d.why = why;
        return d;
    }
    if (poll_instead && ++failures_in_row_ >= options_.fallback.after_failures)
        return enter_polling(why);
    if (!poll_instead && (final || is_final(why)))
        return finish(source_state::failed, why);
    if (!options_.reconnect)
        return finish(why == error::stream_ended ? source_state::closed : source_state::failed, why);
    auto delay = backoff_.next_delay(now, rng_);
    if (!delay) {
        if (has_fallback())
            return enter_polling(why);
        return finish(source_state::failed, error::reconnect_limit);
    }
    if (retry_after_ && retry_after_exact_)
        delay = std::max(*retry_after_, options_.backoff.min_retry);
    else if (retry_after_ && *retry_after_ > *delay)
        delay = retry_after_;
    retry_after_.reset();
    retry_after_exact_ = false;
    source_decision d;
    d.action = source_decision::reconnect;
    d.delay = *delay;
    d.state = source_state::waiting;
    d.why = why;
    return d;
}

SSE_DECL source_decision source_core::enter_polling(error_code why)
{
    polling_ = true;
    polled_for_held_back_ = why == error::held_back;
    trial_open_ = false;
    failures_in_row_ = 0;
    source_decision d;
    d.action = source_decision::poll;
    d.delay = options_.fallback.stream_retry;
    d.state = source_state::polling;
    d.why = why;
    return d;
}

SSE_DECL source_decision source_core::stream_held_back()
{
    if (stopped_ || polling_) {
        source_decision d;
        d.action = source_decision::trial;
        d.state = source_state::polling;
        return d;
    }
    head_parser_.reset();
    return enter_polling(error::held_back);
}

SSE_DECL std::string source_core::begin_poll(error_code& ec)
{
    ec = {};
    if (!source::valid_user_headers(options_.headers)) {
        ec = error::bad_header;
        return {};
    }
    return fallback_.request(newest_id_, options_.headers);
}

SSE_DECL poll_exchange source_core::make_poll_exchange() const
{
    return poll_exchange(options_.head_limits, options_.chunked_limits, options_.fallback.max_body);
}

SSE_DECL source_item source_core::next_polled()
{
    auto const p = fallback_.next_polled();
    if (p.kind == fallback_policy::polled::none) {
        if (fallback_.batch_last_id())
            newest_id_.assign(*fallback_.batch_last_id());
        return source_item::need_more;
    }
    if (p.kind == fallback_policy::polled::duplicate)
        return source_item::duplicate;
    if (p.e->id)
        newest_id_.assign(*p.e->id);
    event_ = event_view{p.e->type.empty() ? std::string_view("message") : std::string_view(p.e->type), *p.e->data,
                        newest_id_};
    return source_item::event;
}

SSE_DECL bool source_core::restart()
{
    if (stopped_ || !started_)
        return false;
    head_parser_.reset();
    trial_open_ = false;
    retry_after_.reset();
    retry_after_exact_ = false;
    return true;
}

} // namespace detail
SSE_NAMESPACE_END

#endif
