// sse/http/chunked_decoder.hpp - bounded, zero-copy decoder of the chunked transfer coding.
#ifndef SSE_HTTP_CHUNKED_DECODER_HPP
#define SSE_HTTP_CHUNKED_DECODER_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace http {

/** Bounds on the framing of a chunked body. Data is never buffered, so only
    framing needs bounds.
*/
struct chunked_limits
{
    /// Largest chunk size accepted. A larger one, or one that overflows 64 bits,
    /// fails with `error::chunk_too_large` while its digits are still arriving.
    /// An SSE server flushes event by event; raise it for other uses.
    std::uint64_t max_chunk = 16 * 1024 * 1024;

    /// Octets of a chunk-size line with its extensions, CRLF excluded. Over it: `error::bad_chunk`.
    std::size_t max_line = 4096;

    /// Octets of the trailer section, its CRLFs and the final one included. Over it: `error::bad_chunk`.
    std::size_t max_trailers = 16 * 1024;
};

/** Decodes a chunked body (RFC 9112 7.1) from bytes arriving in pieces of any size.

    Body data is handed out as views into the caller's input, never copied.
    Chunk extensions and trailer fields are checked against their grammar and
    then ignored. Every line must end with CRLF: a bare LF is refused here,
    unlike in heads, because two parsers disagreeing on where a chunk ends is
    how bodies get smuggled.

    @code
    std::string_view input = bytes;
    while (!decoder.done()) {
        std::string_view data = decoder.next(input, ec);
        if (ec || data.empty()) break;   // failed, or input used up
        consume(data);
    }
    // input now holds what follows the body, if anything
    @endcode

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe.
*/
class chunked_decoder
{
public:
    explicit chunked_decoder(chunked_limits limits = {}) noexcept : limits_(limits) {}

    /** Consumes framing from the front of `input` and returns the next body data.

        The result is a view into `input`, which is advanced past it. It is empty
        when `input` is used up, when the body has ended (`done()`, and the bytes
        after the body stay in `input`) or on failure. After a failure `input` is
        left at the offending octet, and the decoder keeps failing with the same
        error until `reset()`.
    */
    SSE_DECL std::string_view next(std::string_view& input, error_code& ec);

    /** Calls `on_data(std::string_view)` for each piece of body data in `bytes`.

        Returns the number of octets consumed: all of them, or fewer once the
        body has ended or on failure.
    */
    template<class OnData>
    std::size_t feed(std::string_view bytes, OnData&& on_data, error_code& ec)
    {
        std::string_view input = bytes;
        for (;;) {
            std::string_view const data = next(input, ec);
            if (data.empty())
                break;
            on_data(data);
        }
        return bytes.size() - input.size();
    }

    /// True once the last chunk and the trailer section have been consumed.
    bool done() const noexcept { return state_ == state::done; }

    /// Forgets everything fed so far; the limits are kept.
    void reset() noexcept
    {
        state_ = state::size;
        remaining_ = 0;
        count_ = 0;
        digits_ = 0;
        failure_ = {};
    }

    chunked_limits const& limits() const noexcept { return limits_; }

private:
    enum class state : unsigned char {
        size,               // hex digits of the chunk size
        size_ws,            // BWS after the size, before ';'
        ext_name_start,     // after ';'
        ext_name,
        ext_name_ws,        // BWS after a name, before '=' or ';'
        ext_value_start,    // after '='
        ext_token,
        ext_quoted,
        ext_quoted_escape,
        ext_quoted_end,     // just after the closing quote
        ext_value_ws,       // BWS after a value, before ';'
        size_lf,            // CR of the chunk-size line seen
        data,
        data_cr,
        data_lf,
        trailer_start,
        trailer_name,
        trailer_value,
        trailer_lf,
        end_lf,
        done,
        failed,
    };

    SSE_DECL bool step(char c, error_code& ec);

    chunked_limits limits_;
    std::uint64_t remaining_ = 0;   // chunk size while reading it, then data left in the chunk
    std::size_t count_ = 0;         // octets of the current size line, or of the trailer section
    std::size_t digits_ = 0;
    error_code failure_;
    state state_ = state::size;
};

} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/chunked_decoder.hpp>
#endif
#endif
