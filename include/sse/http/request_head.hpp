// sse/http/request_head.hpp - a parsed request line and its header fields, plus percent-decoding.
#ifndef SSE_HTTP_REQUEST_HEAD_HPP
#define SSE_HTTP_REQUEST_HEAD_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/http/fields.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace http {

/** Decodes the `%XX` escapes of a URI component (RFC 3986 2.1).

    A `+` stays a `+`. Fails with `error::bad_target` on a `%` not followed by two
    hexadecimal digits and on `%00`: a NUL smuggled into a name is never wanted.
    Throws `std::system_error` on failure; the other overload reports through `ec`
    and then returns an empty string.
*/
SSE_DECL std::string percent_decode(std::string_view in);
SSE_DECL std::string percent_decode(std::string_view in, error_code& ec);

/** As `percent_decode`, and a `+` decodes to a space.

    This is the rule of `application/x-www-form-urlencoded`, which browsers use
    for query strings: `a+b%2Bc` decodes to `a b+c`.
*/
SSE_DECL std::string form_decode(std::string_view in);
SSE_DECL std::string form_decode(std::string_view in, error_code& ec);

/** The decoded parameters of a query string, in order, repeated names kept.

    `?a=1&b&a=2&&c=` gives ("a", "1"), ("b", ""), ("a", "2"), ("c", ""): a name
    without `=` has an empty value and empty pieces are skipped. Names compare
    exactly (case matters). Views stay valid while the object lives unmoved.
*/
class query_params
{
public:
    using value_type = field;
    using const_iterator = detail::pair_list::const_iterator;
    using iterator = const_iterator;

    /// The value of the first parameter called `name`, if any.
    SSE_DECL std::optional<std::string_view> find(std::string_view name) const noexcept;

    /// Calls `f(std::string_view value)` for each parameter called `name`, in order.
    template<class Function>
    void for_each(std::string_view name, Function&& f) const
    {
        for (field const p : list_)
            if (p.name == name)
                f(p.value);
    }

    std::size_t size() const noexcept { return list_.size(); }
    bool empty() const noexcept { return list_.size() == 0; }
    const_iterator begin() const noexcept { return list_.begin(); }
    const_iterator end() const noexcept { return list_.end(); }

private:
    friend class request_head;
    detail::pair_list list_;
};

/** A request line and header fields, validated and ready to route.

    Produced by `request_parser`. All views point into the object and stay valid
    while it lives unmoved.

    @par Thread safety
    Distinct objects: safe. Shared objects: const member functions are safe.
*/
class request_head
{
public:
    /// The method as sent, e.g. "GET"; methods are case-sensitive.
    std::string_view method() const noexcept { return method_; }

    /// The request target exactly as sent: origin-form, absolute-form or "*".
    std::string_view target() const noexcept { return target_; }

    /** The percent-decoded path, without the query.

        For an absolute-form target the scheme and authority are removed and an
        empty path reads "/". For the asterisk-form (`OPTIONS *`) it is "*". A
        decoded `%2F` is a plain `/` here; use `target()` to tell them apart.
    */
    std::string_view path() const noexcept { return path_; }

    /// The raw query, after '?' and still encoded; empty if there is none.
    std::string_view query() const noexcept
    {
        return query_pos_ == std::string::npos ? std::string_view() : std::string_view(target_).substr(query_pos_);
    }

    /// The query parameters, decoded with `form_decode`.
    query_params const& params() const noexcept { return params_; }

    /// The first query parameter called `name`, decoded; see `query_params`.
    std::optional<std::string_view> param(std::string_view name) const noexcept { return params_.find(name); }

    /// 10 for HTTP/1.0, 11 for HTTP/1.1 (and for HTTP/1.2 to 1.9, RFC 9112 2.3).
    int version() const noexcept { return version_; }

    /// The header fields in arrival order.
    http::fields const& fields() const noexcept { return fields_; }

    /** True if the connection may carry another request after this one.

        HTTP/1.1 keeps the connection unless `Connection` has `close`; HTTP/1.0
        closes it unless `Connection` has `keep-alive` (RFC 9112 9.3).
    */
    bool keep_alive() const noexcept { return keep_alive_; }

    /// `none`, `length` or `chunked`; a request is never `until_close`.
    framing body_framing() const noexcept { return framing_; }

    /// The body size when `body_framing()` is `length`, else 0.
    std::uint64_t content_length() const noexcept { return content_length_; }

private:
    friend class request_parser;

    SSE_DECL void finish_target(std::size_t max_params, error_code& ec);
    SSE_DECL void finish_fields(error_code& ec);

    std::string method_;
    std::string target_;
    std::string path_;
    std::size_t query_pos_ = std::string::npos;
    query_params params_;
    int version_ = 11;
    http::fields fields_;
    framing framing_ = framing::none;
    std::uint64_t content_length_ = 0;
    bool keep_alive_ = true;
};

namespace detail {

// Appends the decoding of `in` to `out`; false on a bad escape or %00.
SSE_DECL bool percent_decode_append(std::string_view in, std::string& out, bool plus_is_space);

} // namespace detail
} // namespace http
SSE_NAMESPACE_END

#if !defined(SSE_SEPARATE_COMPILATION) || defined(SSE_SOURCE)
#include <sse/http/impl/request_head.hpp>
#endif
#endif
