// sse/asio/ssl.hpp - TLS over asio::ssl::stream: https for the event source and for the listener.
#ifndef SSE_ASIO_SSL_HPP
#define SSE_ASIO_SSL_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/source_options.hpp>
#include <sse/url.hpp>
#include <sse/asio/detail/accept_traits.hpp>
#include <sse/asio/detail/client_transport.hpp>

#include <sse/asio/net.hpp>
#if defined(SSE_USE_BOOST_ASIO)
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#else
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#endif

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

SSE_NAMESPACE_BEGIN

/** An event source that speaks https (and http) URLs:
    `sse::event_source<sse::tls_socket>`. Needs OpenSSL at link time
    (`OpenSSL::SSL`, `OpenSSL::Crypto`).
*/
using tls_socket = net::ssl::stream<net::ip::tcp::socket>;

/** A listener that serves https: `std::make_shared<sse::tls_listener>(ex, context, endpoint, handler)`.
    Its handler receives `sse::tls_socket`s whose handshake is done; `sse::stream`,
    `sse::attach`, `sse::respond_and_close` and `sse::async_read_body` take them as they are.
*/
using tls_listener = basic_listener<tls_socket>;

namespace detail {

// Which file tls_server_context could not use, for the throwing form's message.
enum class tls_server_step
{
    context,
    chain,
    key,
};

// A new OpenSSL context for `method`, with the options both sides use: TLS 1.2
// and later, no compression. asio::ssl::context's own constructor throws when
// OpenSSL fails; this reports through `ec` (out of memory, in practice).
inline SSL_CTX* new_tls_context(SSL_METHOD const* method, error_code& ec)
{
    ::ERR_clear_error();
    SSL_CTX* handle = ::SSL_CTX_new(method);
    if (!handle) {
        auto const code = static_cast<int>(::ERR_get_error());
        ec = code != 0 ? error_code(detail::net_error_code(code, net::error::get_ssl_category()))
                       : std::make_error_code(std::errc::not_enough_memory);
        return nullptr;
    }
    ::SSL_CTX_set_options(handle, SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
                                      SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
    return handle;
}

inline std::optional<net::ssl::context> load_tls_server_context(std::string const& certificate_chain_file,
    std::string const& private_key_file, error_code& ec, tls_server_step& failed)
{
    ec = {};
    failed = tls_server_step::context;
    SSL_CTX* handle = new_tls_context(::TLS_server_method(), ec);
    if (!handle)
        return std::nullopt;
    std::optional<net::ssl::context> ctx(std::in_place, handle);   // owns the handle from here
    net_error_code nec;
    ctx->set_options(net::ssl::context::single_dh_use, nec);
    failed = tls_server_step::chain;
    if (!nec)
        ctx->use_certificate_chain_file(certificate_chain_file, nec);
    if ((ec = nec))
        return std::nullopt;
    failed = tls_server_step::key;
    ctx->use_private_key_file(private_key_file, net::ssl::context::pem, nec);
    if ((ec = nec))
        return std::nullopt;
    return ctx;
}

} // namespace detail

/** A server context from PEM files: the certificate chain (the server's
    certificate first) and its private key. TLS 1.2 and later only. Throws
    `std::system_error` naming the file that failed.

    @code
    asio::ssl::context tls = sse::tls_server_context("cert.pem", "key.pem");
    auto l = std::make_shared<sse::tls_listener>(io.get_executor(), tls, endpoint, handler);
    @endcode
*/
inline net::ssl::context tls_server_context(std::string const& certificate_chain_file,
                                             std::string const& private_key_file)
{
    error_code ec;
    detail::tls_server_step failed{};
    auto ctx = detail::load_tls_server_context(certificate_chain_file, private_key_file, ec, failed);
    if (ec) {
        std::string what = "sse::tls_server_context";
        if (failed == detail::tls_server_step::chain)
            what += ": certificate chain " + certificate_chain_file;
        else if (failed == detail::tls_server_step::key)
            what += ": private key " + private_key_file;
        SSE_THROW(std::system_error(ec, what));
    }
    return std::move(*ctx);
}

/** As above, but reports a failure through `ec` (OpenSSL's error, or the
    system's for a file it cannot open) and returns no context.

    @code
    sse::error_code ec;
    std::optional<asio::ssl::context> tls = sse::tls_server_context("cert.pem", "key.pem", ec);
    if (!tls)
        std::cerr << "cert.pem, key.pem: " << ec.message() << '\n';
    @endcode
*/
inline std::optional<net::ssl::context> tls_server_context(std::string const& certificate_chain_file,
                                                            std::string const& private_key_file, error_code& ec)
{
    detail::tls_server_step failed{};
    return detail::load_tls_server_context(certificate_chain_file, private_key_file, ec, failed);
}

/// True if `ec` says the peer's certificate failed verification (chain or host name).
inline bool is_certificate_error(error_code ec) noexcept
{
    // The category a handler's code has: Boost's converts to a std category of its own.
    static std::error_category const& ssl_category =
        error_code(detail::net_error_code(0, net::error::get_ssl_category())).category();
    return ec.category() == ssl_category &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

namespace detail {

// TLS over any stream: the handshake adds SNI and checks the certificate chain
// (system store, or event_source_options::ca_file) and the host name, unless
// verify_peer is off. An http URL (or a redirect to one) uses the stream under TLS.
template<class Next>
struct client_transport<net::ssl::stream<Next>>
{
    using socket_type = net::ssl::stream<Next>;
    using context_type = net::ssl::context;

    static constexpr bool tls = true;

    static std::shared_ptr<context_type> make_context(event_source_options const& options, error_code& ec)
    {
        SSL_CTX* handle = new_tls_context(::TLS_client_method(), ec);
        if (!handle)
            return nullptr;
        auto ctx = std::make_shared<context_type>(handle);   // owns the handle from here
        detail::net_error_code nec;
        if (options.ca_file.empty())
            ctx->set_default_verify_paths(nec);
        else
            ctx->load_verify_file(options.ca_file, nec);
        if ((ec = nec))
            return nullptr;
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
    static bool is_truncation(error_code ec) noexcept { return ec == sse::net_error(net::ssl::error::stream_truncated); }

    // A certificate that fails verification fails again on the next attempt:
    // reconnecting would only hammer the server.
    static bool is_final(error_code ec) noexcept { return is_certificate_error(ec); }

    template<class Handler>
    static void async_handshake(socket_type& s, url const& target, bool verify, Handler&& handler)
    {
        if (!target.is_ipv6() && !is_ipv4(target.host))
            SSL_set_tlsext_host_name(s.native_handle(), target.host.c_str());
        if (verify) {
            s.set_verify_mode(net::ssl::verify_peer);
            s.set_verify_callback(net::ssl::host_name_verification(target.host));
        } else {
            s.set_verify_mode(net::ssl::verify_none);
        }
        s.async_handshake(net::ssl::stream_base::client, std::forward<Handler>(handler));
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
    using tcp_socket = net::ip::tcp::socket;
    using context_type = net::ssl::context;
    static constexpr bool handshake = true;

    static tls_socket make(net::ip::tcp::socket socket, context_type* ctx)
    {
        return tls_socket(std::move(socket), *ctx);
    }

    template<class Handler>
    static void async_handshake(tls_socket& s, Handler&& handler)
    {
        s.async_handshake(net::ssl::stream_base::server, std::forward<Handler>(handler));
    }
};

} // namespace detail
SSE_NAMESPACE_END

#if defined(SSE_SEPARATE_ASIO_TLS)
// Compiled once, in the translation unit that includes <sse/asio/src.hpp>.
#include <sse/asio/event_source.hpp>
SSE_NAMESPACE_BEGIN
extern template class event_source<tls_socket>;
SSE_NAMESPACE_END
#endif

#endif
