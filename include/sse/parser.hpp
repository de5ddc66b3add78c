// sse/parser.hpp - the WHATWG event stream parser: bytes in, events out, no I/O.
#ifndef SSE_PARSER_HPP
#define SSE_PARSER_HPP

#include <sse/config.hpp>
#include <sse/detail/utf8.hpp>
#include <sse/error.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN

/** Bounds that stop a broken or hostile peer from exhausting memory.

    Both count bytes of decoded UTF-8 (an ill-formed byte counts as the three bytes of
    its U+FFFD).
*/
struct parser_limits
{
    /// Longest line, without its line end. Longer: error::line_too_long.
    std::size_t max_line = 64 * 1024;
    /// Longest data of one event, as dispatched (lines joined by LF). Longer: error::event_too_long.
    std::size_t max_event = 1024 * 1024;
};

/** A dispatched event.

    The views stay valid until the handler returns (push interface) or until the next
    call to a non-const member of the parser (pull interface).
*/
struct event_view
{
    std::string_view type;            ///< the `event` field, or "message"
    std::string_view data;            ///< the `data` lines joined by LF
    std::string_view last_event_id;   ///< the last event ID string as of this event
};

/// What parser::next() produced.
enum class parse_item
{
    need_more,   ///< the input is used up (or an error was reported)
    event,       ///< an event was dispatched: see parser::event()
    retry,       ///< a valid `retry` field was read: see parser::retry()
    comment,     ///< a comment line was read: see parser::comment()
};

/** Interprets a `text/event-stream` as the WHATWG HTML standard specifies (9.2.6).

    Decodes UTF-8 (ill-formed bytes become U+FFFD, one leading BOM is stripped), splits
    lines at CRLF, LF or CR, and dispatches an event at each blank line. Input may be
    split at any byte, including inside a UTF-8 sequence, a BOM or a CRLF; the result is
    the same as for the whole stream. It does no I/O and knows nothing of reconnects.

    The parser enforces parser_limits: a line or an event larger than allowed stops it
    with an error, before any buffer grows past the limit. Everything completed before
    the error has been delivered. It stays failed until reset().

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class parser
{
public:
    /// Constructs a parser at the start of a stream.
    explicit parser(parser_limits limits = {}) noexcept : limits_(limits) {}

    /** Consumes bytes from the front of `input` until one item completes.

        @returns The item, with `input` advanced past the bytes that completed it; or
        parse_item::need_more once `input` is used up, with any incomplete line kept for
        the next call. On error, `ec` is set and parse_item::need_more is returned; the
        parser is then failed() and every later call reports the same error.

        Between a call that returned an item and the next call, do not modify the bytes
        still in `input`: the parser remembers where the next CR and LF in them are.
        Passing other bytes, at another address, is fine.
    */
    SSE_DECL parse_item next(std::string_view& input, error_code& ec);

    /// The event after next() returned parse_item::event.
    event_view event() const noexcept
    {
        return {type_.empty() ? std::string_view("message") : std::string_view(type_),
            std::string_view(data_.data(), data_.size() - 1), last_event_id_};
    }

    /** The comment after next() returned parse_item::comment.

        The text after the colon, without one leading space. The spec ignores comments;
        they are handed out for keep-alive tracking and debugging. The view may refer to
        the input passed to next() and is valid until the next call to a non-const member.
    */
    std::string_view comment() const noexcept { return comment_; }

    /// The last valid `retry` value read, if any. Kept across reset().
    std::optional<std::chrono::milliseconds> retry() const noexcept { return retry_; }

    /// The last event ID string: the `id` buffer as of the last dispatch.
    std::string const& last_event_id() const noexcept { return last_event_id_; }

    /** Sets the last event ID string and the `id` buffer to `id`.

        Use it to resume with a stored id: events without an `id` field then carry it.
    */
    void last_event_id(std::string_view id)
    {
        last_event_id_.assign(id.data(), id.size());
        id_changed_ = false;
    }

    /** Consumes all of `bytes` and calls `handler` for each item.

        `handler` is either a callable `void(event_view const&)`, or an object with
        `on_event(event_view const&)` and, optionally, `on_retry(std::chrono::milliseconds)`
        and `on_comment(std::string_view)`. On error, `ec` is set and the rest of `bytes`
        is not parsed.
    */
    template<class Handler>
    void feed(std::string_view bytes, Handler&& handler, error_code& ec);

    /// As above; throws std::system_error on error.
    template<class Handler>
    void feed(std::string_view bytes, Handler&& handler);

    /** Ends the stream.

        An incomplete line and an event without its blank line are discarded, as the
        spec requires. The next bytes start a new stream (a BOM is stripped again). A
        failed parser stays failed.
    */
    void finish() noexcept { drop_partial(); }

    /** Prepares for a new connection of the same source.

        Drops partial state and the error, and expects a BOM again. Keeps
        last_event_id() (which also seeds the `id` buffer) and retry().
    */
    void reset() noexcept
    {
        drop_partial();
        failed_ = {};
    }

    /// True after a limit error, until reset().
    bool failed() const noexcept { return static_cast<bool>(failed_); }

    /// Bytes of heap memory held by the parser's buffers (for accounting and tests).
    std::size_t buffer_capacity() const noexcept
    {
        return line_.capacity() + data_.capacity() + type_.capacity() + id_buffer_.capacity() +
               last_event_id_.capacity();
    }

private:
    enum class bom_state : unsigned char { none_seen, ef, ef_bb, done };

    SSE_DECL parse_item process_line(std::string_view line, error_code& ec);
    SSE_DECL parse_item dispatch();
    SSE_DECL void fail(error e, error_code& ec);
    SSE_DECL void drop_partial() noexcept;

    parser_limits limits_;
    std::string line_;            // the current line, decoded, while it spans inputs
    std::string data_;            // WHATWG: the data buffer
    std::string type_;            // WHATWG: the event type buffer
    std::string id_buffer_;       // WHATWG: the last event ID buffer, if id_changed_
    std::string last_event_id_;   // WHATWG: the event source's last event ID string
    std::string_view comment_;
    std::optional<std::chrono::milliseconds> retry_;
    error_code failed_;
    detail::utf8_decoder decoder_;

    // Where the next CR and LF are in the current input, so that an input without CR
    // is searched for CR once, not once per line (which would be quadratic).
    char const* scan_end_ = nullptr;    // end of the input they refer to; nullptr: none
    char const* scan_from_ = nullptr;   // they are valid from here on
    char const* next_cr_ = nullptr;     // next CR at or after the line start, or scan_end_
    char const* next_lf_ = nullptr;     // likewise for LF

    bom_state bom_ = bom_state::none_seen;
    bool partial_ = false;        // line_ and decoder_ hold the start of an unfinished line
    bool skip_lf_ = false;        // the last input ended in a CR: a leading LF ends no line
    bool dispatched_ = false;     // data_ and type_ still back the last event_view
    bool id_changed_ = false;     // an id field was read since the last dispatch; if
                                  // not, the id buffer equals last_event_id_
};

SSE_NAMESPACE_END

#include <sse/impl/parser.hpp>
#endif
