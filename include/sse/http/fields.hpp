// sse/http/fields.hpp - header fields in arrival order, with case-insensitive lookup.
#ifndef SSE_HTTP_FIELDS_HPP
#define SSE_HTTP_FIELDS_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/detail/chars.hpp>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace http {

/// One name and its value: a header field, or a decoded query parameter.
struct field
{
    std::string_view name;
    std::string_view value;
};

/// How the end of a message body is found (RFC 9112 6.3).
enum class framing
{
    none,          ///< no body: a request without one, or a 1xx, 204 or 304 response
    chunked,       ///< Transfer-Encoding ends with chunked: use chunked_decoder
    length,        ///< Content-Length gives the size: see content_length()
    until_close,   ///< a response body that ends when the server closes the connection
};

/// True if `a` and `b` are equal, ignoring the case of ASCII letters.
SSE_DECL bool iequals(std::string_view a, std::string_view b) noexcept;

/// True if `s` is a non-empty token (RFC 9110 5.6.2), as method and field names must be.
SSE_DECL bool is_token(std::string_view s) noexcept;

/** True if the comma-separated `list` has an element equal to `token`.

    Elements are trimmed of spaces and tabs and compared ignoring case, so
    `list_contains("Upgrade, Close", "close")` is `true` (RFC 9110 5.6.1).
*/
SSE_DECL bool list_contains(std::string_view list, std::string_view token) noexcept;

namespace detail {

// Names and values packed into one string, so a head with n fields makes a
// couple of allocations rather than 2n.
class pair_list
{
public:
    class const_iterator
    {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = field;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = field;

        const_iterator() = default;

        field operator*() const noexcept { return (*list_)[index_]; }

        const_iterator& operator++() noexcept
        {
            ++index_;
            return *this;
        }

        const_iterator operator++(int) noexcept
        {
            auto const old = *this;
            ++index_;
            return old;
        }

        friend bool operator==(const_iterator a, const_iterator b) noexcept
        {
            return a.index_ == b.index_ && a.list_ == b.list_;
        }

        friend bool operator!=(const_iterator a, const_iterator b) noexcept { return !(a == b); }

    private:
        friend class pair_list;
        const_iterator(pair_list const* list, std::size_t index) noexcept : list_(list), index_(index) {}

        pair_list const* list_ = nullptr;
        std::size_t index_ = 0;
    };

    SSE_DECL void push_back(std::string_view name, std::string_view value);

    field operator[](std::size_t i) const noexcept
    {
        entry const& e = entries_[i];
        char const* const p = data_.data() + e.offset;
        return {std::string_view(p, e.name_size), std::string_view(p + e.name_size, e.value_size)};
    }

    std::size_t size() const noexcept { return entries_.size(); }
    const_iterator begin() const noexcept { return {this, 0}; }
    const_iterator end() const noexcept { return {this, entries_.size()}; }

    void clear() noexcept
    {
        data_.clear();
        entries_.clear();
    }

private:
    struct entry
    {
        std::size_t offset;   // of the name; the value follows it
        std::size_t name_size;
        std::size_t value_size;
    };

    std::string data_;
    std::vector<entry> entries_;
};

} // namespace detail

/** Header fields in the order they arrived, looked up by name ignoring case.

    Repeated names are kept as separate entries, in order; nothing is merged.
    Views returned by `find`, by iteration or passed to `for_each` stay valid
    until the next `insert` or `clear`, or until the object is moved or destroyed.

    @par Thread safety
    Distinct objects: safe. Shared objects: const member functions are safe.
*/
class fields
{
public:
    using value_type = field;
    using const_iterator = detail::pair_list::const_iterator;
    using iterator = const_iterator;

    /// Appends a field. Nothing is validated: parsers validate before inserting.
    void insert(std::string_view name, std::string_view value) { list_.push_back(name, value); }

    /// The value of the first field called `name` (ignoring case), if any.
    SSE_DECL std::optional<std::string_view> find(std::string_view name) const noexcept;

    /// The number of fields called `name`, ignoring case.
    SSE_DECL std::size_t count(std::string_view name) const noexcept;

    /// Calls `f(std::string_view value)` for each field called `name` (ignoring case), in order.
    template<class Function>
    void for_each(std::string_view name, Function&& f) const
    {
        for (field const fl : list_)
            if (iequals(fl.name, name))
                f(fl.value);
    }

    /** True if a field called `name` has `token` in its comma-separated list.

        For example `has_token("Connection", "close")`. Elements of every field with
        that name are searched; see `list_contains`.
    */
    SSE_DECL bool has_token(std::string_view name, std::string_view token) const noexcept;

    /// The number of fields, repeated names counted each time.
    std::size_t size() const noexcept { return list_.size(); }
    bool empty() const noexcept { return list_.size() == 0; }

    /// Iteration in arrival order; dereferencing yields a `field` by value.
    const_iterator begin() const noexcept { return list_.begin(); }
    const_iterator end() const noexcept { return list_.end(); }

    void clear() noexcept { list_.clear(); }

private:
    detail::pair_list list_;
};

namespace detail {

// The field lines after a start line, up to and including the empty line
// (RFC 9112 5). Shared by the request and response parsers, which count the
// head's bytes themselves.
class field_parser
{
public:
    /** Consumes from `p` towards `end`, appending complete fields to `out`.

        Returns `true` once the empty line ending the section has been consumed;
        `p` then points just after it. On failure `ec` is set and `p` points at the
        offending octet.
    */
    SSE_DECL bool parse(char const*& p, char const* end, fields& out, std::size_t max_fields,
                        error_code& ec);

    void reset() noexcept
    {
        state_ = state::line_start;
        name_.clear();
        value_.clear();
    }

private:
    enum class state : unsigned char { line_start, name, before_value, value, value_lf, end_lf };

    SSE_DECL void commit(fields& out);

    state state_ = state::line_start;
    std::string name_;
    std::string value_;
};

// What the Transfer-Encoding fields say about framing (RFC 9112 6.1).
enum class transfer_coding
{
    absent,    // no Transfer-Encoding field
    chunked,   // chunked is the final coding and appears once
    other,     // anything else, malformed lists included
};

SSE_DECL transfer_coding classify_transfer_coding(fields const& f) noexcept;

// Reads every Content-Length field (RFC 9110 8.6). Returns false if one is
// malformed, overflows, or disagrees with another; `out` stays empty when
// there is none.
SSE_DECL bool read_content_length(fields const& f, std::optional<std::uint64_t>& out) noexcept;

} // namespace detail
} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/fields.hpp>
#endif
#endif
