// sse/asio/ssl.hpp - TLS over asio::ssl::stream: https for the event source and for the listener.
#ifndef SSE_ASIO_SSL_HPP
#define SSE_ASIO_SSL_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/source_options.hpp>
#include <sse/url.hpp>
#include <sse/asio/detail/accept_traits.hpp>
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
#include <system_error>
#include <utility>

SSE_NAMESPACE_BEGIN

/** An event source that speaks https (and http) URLs:
    `sse::event_source<sse::tls_socket>`. Needs OpenSSL at link time
    (`OpenSSL::SSL`, `OpenSSL::Crypto`).
*/
using tls_socket = asio::ssl::stream<asio::ip::tcp::socket>;

/** A listener that serves https: `std::make_shared<sse::tls_listener>(ex, context, endpoint, handler)`.
    Its handler receives `sse::tls_socket`s whose handshake is done; `sse::stream`,
    `sse::attach`, `sse::respond_and_close` and `sse::async_read_body` take them as they are.
*/
using tls_listener = basic_listener<tls_socket>;

/** A server context from PEM files: the certificate chain (the server's
    certificate first) and its private key. TLS 1.2 and later only. Throws
    `std::system_error` naming the file that failed.

    @code
    asio::ssl::context tls = sse::tls_server_context("cert.pem", "key.pem");
    auto l = std::make_shared<sse::tls_listener>(io.get_executor(), tls, endpoint, handler);
    @endcode
*/
inline asio::ssl::context tls_server_context(std::string const& certificate_chain_file,
                                             std::string const& private_key_file)
{
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                    asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    error_code ec;
    ctx.use_certificate_chain_file(certificate_chain_file, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::tls_server_context: certificate chain " + certificate_chain_file));
    ctx.use_private_key_file(private_key_file, asio::ssl::context::pem, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::tls_server_context: private key " + private_key_file));
    return ctx;
}

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

// The server side: a TLS stream over the accepted socket, and its handshake.
template<>
struct accept_traits<tls_socket>
{
    using context_type = asio::ssl::context;
    static constexpr bool handshake = true;

    static tls_socket make(asio::ip::tcp::socket socket, context_type* ctx)
    {
        return tls_socket(std::move(socket), *ctx);
    }

    template<class Handler>
    static void async_handshake(tls_socket& s, Handler&& handler)
    {
        s.async_handshake(asio::ssl::stream_base::server, std::forward<Handler>(handler));
    }
};

} // namespace detail
SSE_NAMESPACE_END

#if defined(SSE_SEPARATE_ASIO)
// Compiled once, in the translation unit that includes <sse/asio/src.hpp>.
#include <sse/asio/event_source.hpp>
SSE_NAMESPACE_BEGIN
extern template class event_source<tls_socket>;
SSE_NAMESPACE_END
#endif

#endif
