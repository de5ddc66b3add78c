// sse/impl/parser.hpp - bodies of sse::parser.
#ifndef SSE_IMPL_PARSER_HPP
#define SSE_IMPL_PARSER_HPP

#include <sse/parser.hpp>
#include <sse/detail/bounded_string.hpp>
#include <sse/detail/utf8.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <limits>
#include <system_error>
#include <type_traits>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

template<class Handler, class = void>
struct has_on_event : std::false_type
{
};
template<class Handler>
struct has_on_event<Handler,
    std::void_t<decltype(std::declval<Handler&>().on_event(std::declval<event_view const&>()))>>
    : std::true_type
{
};

template<class Handler, class = void>
struct has_on_retry : std::false_type
{
};
template<class Handler>
struct has_on_retry<Handler,
    std::void_t<decltype(std::declval<Handler&>().on_retry(std::chrono::milliseconds()))>>
    : std::true_type
{
};

template<class Handler, class = void>
struct has_on_comment : std::false_type
{
};
template<class Handler>
struct has_on_comment<Handler,
    std::void_t<decltype(std::declval<Handler&>().on_comment(std::string_view()))>>
    : std::true_type
{
};

} // namespace detail

template<class Handler>
void parser::feed(std::string_view bytes, Handler&& handler, error_code& ec)
{
    using handler_type = std::remove_reference_t<Handler>;
    constexpr bool is_callable = std::is_invocable_v<handler_type&, event_view const&>;
    static_assert(is_callable || detail::has_on_event<handler_type>::value,
        "the handler must be callable as void(sse::event_view const&) or have "
        "on_event(sse::event_view const&)");
    for (;;) {
        switch (next(bytes, ec)) {
        case parse_item::need_more:
            return;
        case parse_item::event:
            if constexpr (is_callable)
                handler(event());
            else
                handler.on_event(event());
            break;
        case parse_item::retry:
            if constexpr (!is_callable && detail::has_on_retry<handler_type>::value)
                handler.on_retry(*retry_);
            break;
        case parse_item::comment:
            if constexpr (!is_callable && detail::has_on_comment<handler_type>::value)
                handler.on_comment(comment_);
            break;
        }
    }
}

template<class Handler>
void parser::feed(std::string_view bytes, Handler&& handler)
{
    error_code ec;
    feed(bytes, std::forward<Handler>(handler), ec);
    if (ec)
        SSE_THROW(std::system_error(ec));
}

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)

SSE_DECL parse_item parser::next(std::string_view& input, error_code& ec)
{
    if (ec)
        ec.clear();
    if (SSE_UNLIKELY(static_cast<bool>(failed_))) {
        ec = failed_;
        return parse_item::need_more;
    }
    if (dispatched_) {
        // WHATWG HTML 9.2.6 (dispatch the event): the data and event type buffers are
        // emptied after dispatch; deferred to here so the event_view stays valid.
        data_.clear();
        type_.clear();
        dispatched_ = false;
    }

    char const* p = input.data();
    char const* const end = p + input.size();
    auto const line_too_long = [&](char const* line_start) {
        fail(error::line_too_long, ec);
        input = {line_start, static_cast<std::size_t>(end - line_start)};
        return parse_item::need_more;
    };

    if (SSE_UNLIKELY(bom_ != bom_state::done)) {
        // WHATWG HTML 9.2.6: streams are decoded with "UTF-8 decode", which strips one
        // leading BOM (EF BB BF). It may arrive split, so its bytes are held until they
        // either complete it or turn out to be the start of something else.
        static constexpr unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
        auto seen = static_cast<std::size_t>(bom_);
        while (p != end && seen < 3 && static_cast<unsigned char>(*p) == bom[seen]) {
            ++p;
            ++seen;
        }
        if (seen == 3) {
            bom_ = bom_state::done;
        } else if (p == end) {
            bom_ = static_cast<bom_state>(seen);
            input = {end, 0};
            scan_end_ = nullptr;
            return parse_item::need_more;
        } else {
            bom_ = bom_state::done;
            if (seen != 0) {
                // EF or EF BB: the start of a UTF-8 sequence that the decoder now completes
                // or replaces, on the first line.
                line_.clear();
                partial_ = true;
                decoder_.decode(reinterpret_cast<char const*>(bom),
                    reinterpret_cast<char const*>(bom) + seen, line_, limits_.max_line);
            }
        }
    }

    if (skip_lf_ && p != end) {
        // WHATWG HTML 9.2.6: CRLF is one line end, also when the CR ended the last input.
        skip_lf_ = false;
        if (*p == '\n')
            ++p;
    }

    if (scan_end_ != end || std::less<char const*>()(p, scan_from_)) {
        scan_end_ = end;
        scan_from_ = p;
        next_cr_ = nullptr;
        next_lf_ = nullptr;
    }

    while (p != end) {
        // WHATWG HTML 9.2.6: a line ends at CRLF, at LF, or at CR. Neither byte occurs
        // inside a UTF-8 sequence, so lines are found in the undecoded bytes.
        char const* eol;
        if (end - p < 16) {
            // A few bytes (the tail of an input, or input trickling in): one plain loop
            // costs less than two calls to memchr.
            eol = p;
            while (eol != end && *eol != '\r' && *eol != '\n')
                ++eol;
        } else {
            if (next_cr_ == nullptr || next_cr_ < p) {
                auto const* cr = static_cast<char const*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
                next_cr_ = cr ? cr : end;
            }
            if (next_lf_ == nullptr || next_lf_ < p) {
                auto const* lf = static_cast<char const*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
                next_lf_ = lf ? lf : end;
            }
            eol = next_cr_ < next_lf_ ? next_cr_ : next_lf_;
        }

        if (eol == end) {
            // An unfinished line: decode what there is and keep it for the next input.
            if (!partial_) {
                line_.clear();
                partial_ = true;
            }
            if (!decoder_.decode(p, end, line_, limits_.max_line)) {
                return line_too_long(p);
            }
            p = end;
            break;
        }

        std::string_view line;
        if (partial_) {
            // A CR or LF ends a sequence the decoder still holds: WHATWG Encoding turns
            // it into U+FFFD, as flush() does.
            partial_ = false;
            if (!decoder_.decode(p, eol, line_, limits_.max_line) ||
                !decoder_.flush(line_, limits_.max_line)) {
                return line_too_long(p);
            }
            line = line_;
        } else {
            auto const n = static_cast<std::size_t>(eol - p);
            // Decoding never shrinks a line (each ill-formed subpart of 1-3 bytes becomes
            // 3 bytes), so a line already too long undecoded is too long decoded.
            if (n > limits_.max_line) {
                return line_too_long(p);
            }
            if (SSE_LIKELY(detail::utf8_valid_prefix(p, n) == n)) {
                line = {p, n};
            } else {
                line_.clear();
                if (!decoder_.decode(p, eol, line_, limits_.max_line) ||
                    !decoder_.flush(line_, limits_.max_line)) {
                    return line_too_long(p);
                }
                line = line_;
            }
        }

        char const* const line_start = p;
        p = eol + 1;
        if (*eol == '\r') {
            if (p == end)
                skip_lf_ = true;
            else if (*p == '\n')
                ++p;
        }

        parse_item const item = process_line(line, ec);
        if (SSE_UNLIKELY(static_cast<bool>(ec))) {
            input = {line_start, static_cast<std::size_t>(end - line_start)};
            return parse_item::need_more;
        }
        if (item != parse_item::need_more) {
            input = {p, static_cast<std::size_t>(end - p)};
            return item;
        }
    }
    input = {end, 0};
    scan_end_ = nullptr;
    return parse_item::need_more;
}

SSE_DECL parse_item parser::process_line(std::string_view line, error_code& ec)
{
    // WHATWG HTML 9.2.6: a blank line dispatches the event.
    if (line.empty())
        return dispatch();

    auto const* colon = static_cast<char const*>(std::memchr(line.data(), ':', line.size()));
    std::string_view name = line;
    std::string_view value = line.substr(line.size());
    if (colon != nullptr) {
        name = line.substr(0, static_cast<std::size_t>(colon - line.data()));
        value = line.substr(name.size() + 1);
        // WHATWG HTML 9.2.6: if value starts with a U+0020 SPACE character, remove it
        // (one space only, and no other whitespace).
        if (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
        if (name.empty()) {
            // WHATWG HTML 9.2.6: a line starting with ':' is ignored; we hand its text
            // out as a comment.
            comment_ = value;
            return parse_item::comment;
        }
    }
    // WHATWG HTML 9.2.6: a line without ':' is a field named by the whole line with an
    // empty value. Field names are compared literally, without case folding.

    switch (name.size()) {
    case 2:
        if (name == "id") {
            // WHATWG HTML 9.2.6: an id containing U+0000 NULL is ignored.
            if (value.find('\0') == std::string_view::npos) {
                detail::assign_bounded(id_buffer_, value.data(), value.size(), limits_.max_line);
                id_changed_ = true;
            }
        }
        break;
    case 4:
        if (name == "data") {
            // WHATWG HTML 9.2.6: append the value, then LF. The limit counts the data as
            // dispatched, so the LF (removed at dispatch if it is the last) is allowed
            // one byte beyond it.
            std::size_t const limit = limits_.max_event;
            if (value.size() > limit || data_.size() > limit - value.size()) {
                fail(error::event_too_long, ec);
                return parse_item::need_more;
            }
            detail::reserve_bounded(data_, data_.size() + value.size() + 1, limit + 1);
            data_.append(value.data(), value.size());
            data_.push_back('\n');
        }
        break;
    case 5:
        if (name == "event") {
            detail::assign_bounded(type_, value.data(), value.size(), limits_.max_line);
        } else if (name == "retry") {
            // WHATWG HTML 9.2.6: only a value of ASCII digits sets the reconnection time;
            // anything else, the empty value included, is ignored. A number too large
            // for milliseconds saturates at milliseconds::max(): the server asked for
            // the longest delay it could, and keeping an older, shorter one would go
            // against that.
            if (value.empty())
                break;
            using rep = std::chrono::milliseconds::rep;
            constexpr rep max = std::numeric_limits<rep>::max();
            rep ms = 0;
            for (char c : value) {
                if (c < '0' || c > '9')
                    return parse_item::need_more;
                rep const digit = c - '0';
                ms = ms > (max - digit) / 10 ? max : ms * 10 + digit;
            }
            retry_ = std::chrono::milliseconds(ms);
            return parse_item::retry;
        }
        break;
    default:
        break;
    }
    return parse_item::need_more;
}

SSE_DECL parse_item parser::dispatch()
{
    // WHATWG HTML 9.2.6 (dispatch the event): the last event ID string takes the id
    // buffer's value first, even when no event follows; the buffer itself is kept.
    if (id_changed_) {
        // id_buffer_ is stale while id_changed_ is false, so a swap commits it without
        // copying or allocating.
        last_event_id_.swap(id_buffer_);
        id_changed_ = false;
    }
    // An empty data buffer dispatches nothing and clears the event type buffer.
    if (data_.empty()) {
        type_.clear();
        return parse_item::need_more;
    }
    // The trailing LF is removed and "message" stands in for an empty type in event();
    // both buffers are emptied on the next call, once the view is no longer in use.
    dispatched_ = true;
    return parse_item::event;
}

SSE_DECL void parser::fail(error e, error_code& ec)
{
    failed_ = make_error_code(e);
    ec = failed_;
}

SSE_DECL void parser::drop_partial() noexcept
{
    // WHATWG HTML 9.2.6: at the end of the stream pending data is discarded; an
    // unfinished event is not dispatched.
    line_.clear();
    data_.clear();
    type_.clear();
    comment_ = {};
    decoder_.reset();
    partial_ = false;
    skip_lf_ = false;
    dispatched_ = false;
    scan_end_ = nullptr;
    bom_ = bom_state::none_seen;
    // The id buffer of an unfinished event is dropped too. A new stream starts with the
    // id buffer equal to the last event ID string rather than empty (the spec's literal
    // reading), so that a blank line on a new connection does not erase the id a
    // reconnecting client resumes from.
    id_changed_ = false;
}

#endif

SSE_NAMESPACE_END

#endif
