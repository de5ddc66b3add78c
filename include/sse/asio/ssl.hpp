// sse/asio/ssl.hpp - TLS for the event source: https URLs over asio::ssl::stream.
#ifndef SSE_ASIO_SSL_HPP
#define SSE_ASIO_SSL_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/source_options.hpp>
#include <sse/url.hpp>
#include <sse/asio/detail/client_transport.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <utility>

SSE_NAMESPACE_BEGIN

/** An event source that speaks https (and http) URLs:
    `sse::event_source<sse::tls_socket>`. Needs OpenSSL at link time
    (`OpenSSL::SSL`, `OpenSSL::Crypto`).
*/
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;

/// True if `ec` says the peer's certificate failed verification (chain or host name).
inline bool is_certificate_error(error_code ec) noexcept
{
    return ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

namespace detail {

// TLS over any stream: the handshake adds SNI and checks the certificate chain
// (system store, or event_source_options::ca_file) and the host name, unless
// verify_peer is off. An http URL (or a redirect to one) uses the stream under TLS.
template<class Next>
struct client_transport<asio::ssl::stream<Next>>
{
    using socket_type = asio::ssl::stream<Next>;
    using context_type = asio::ssl::context;

    static constexpr bool tls = true;

    static std::shared_ptr<context_type> make_context(event_source_options const& options)
    {
        auto ctx = std::make_shared<context_type>(context_type::tls_client);
        ctx->set_options(context_type::default_workarounds | context_type::no_sslv2 | context_type::no_sslv3 |
                         context_type::no_tlsv1 | context_type::no_tlsv1_1);
        if (options.ca_file.empty())
            ctx->set_default_verify_paths();
        else
            ctx->load_verify_file(options.ca_file);
        return ctx;
    }

    template<class Executor>
    static socket_type make_socket(Executor const& ex, context_type* ctx)
    {
        return socket_type(ex, *ctx);
    }

    static Next& tcp_layer(socket_type& s) noexcept { return s.next_layer(); }

    // A server that closes TCP without close_notify ends an event stream all the
    // same: the body of an SSE response is delimited by the connection.
    static bool is_truncation(error_code ec) noexcept { return ec == asio::ssl::error::stream_truncated; }

    // A certificate that fails verification fails again on the next attempt:
    // reconnecting would only hammer the server.
    static bool is_final(error_code ec) noexcept { return is_certificate_error(ec); }

    template<class Handler>
    static void async_handshake(socket_type& s, url const& target, bool verify, Handler&& handler)
    {
        if (!target.is_ipv6() && !is_ipv4(target.host))
            SSL_set_tlsext_host_name(s.native_handle(), target.host.c_str());
        if (verify) {
            s.set_verify_mode(asio::ssl::verify_peer);
            s.set_verify_callback(asio::ssl::host_name_verification(target.host));
        } else {
            s.set_verify_mode(asio::ssl::verify_none);
        }
        s.async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(handler));
    }

    static bool is_ipv4(std::string const& host) noexcept
    {
        for (char c : host)
            if ((c < '0' || c > '9') && c != '.')
                return false;
        return !host.empty();
    }
};

} // namespace detail
SSE_NAMESPACE_END

#endif
