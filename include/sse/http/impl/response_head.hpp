// sse/http/impl/response_head.hpp - bodies of the response-head checks.
#ifndef SSE_HTTP_IMPL_RESPONSE_HEAD_HPP
#define SSE_HTTP_IMPL_RESPONSE_HEAD_HPP

#include <sse/http/response_head.hpp>

SSE_NAMESPACE_BEGIN
namespace http {

SSE_DECL bool response_head::is_event_stream() const noexcept
{
    bool seen = false;
    bool all = true;
    fields_.for_each("Content-Type", [&](std::string_view value) {
        // RFC 9110 8.3.1: media-type = type "/" subtype parameters; only the
        // type and subtype decide, and they ignore case.
        std::string_view const media = detail::trim_ows(value.substr(0, value.find(';')));
        seen = true;
        all = all && iequals(media, "text/event-stream");
    });
    return seen && all;
}

SSE_DECL void response_head::finish_fields(error_code& ec)
{
    // RFC 9112 6.3, in its order: no body for 1xx, 204 and 304; then
    // Transfer-Encoding; then Content-Length; then the rest until close.
    bool both = false;
    if (status_ < 200 || status_ == 204 || status_ == 304) {
        framing_ = framing::none;
    } else {
        detail::transfer_coding const te = detail::classify_transfer_coding(fields_);
        if (te != detail::transfer_coding::absent) {
            // RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
            framing_ = te == detail::transfer_coding::chunked && version_ == 11 ? framing::chunked
                                                                                 : framing::until_close;
            both = fields_.count("Content-Length") != 0;
        } else {
            std::optional<std::uint64_t> length;
            // RFC 9112 6.3: a client discards a response with an invalid Content-Length.
            if (!detail::read_content_length(fields_, length)) {
                ec = error::bad_content_length;
                return;
            }
            if (length) {
                framing_ = framing::length;
                content_length_ = *length;
            } else {
                framing_ = framing::until_close;
            }
        }
    }

    bool const close = fields_.has_token("Connection", "close");
    bool const persistent = version_ == 11 ? !close : (!close && fields_.has_token("Connection", "keep-alive"));
    keep_alive_ = persistent && !both && framing_ != framing::until_close;
}

} // namespace http
SSE_NAMESPACE_END

#endif
