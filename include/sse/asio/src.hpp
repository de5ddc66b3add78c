// sse/asio/src.hpp - with SSE_SEPARATE_ASIO: the event source compiled once.
//
// An event_source instantiation costs a translation unit several seconds of
// compilation (Asio's resolver, connect, TLS and timer operations). Define
// SSE_SEPARATE_ASIO for the whole program (target_compile_definitions) and
// include this header in exactly one source file: every other file then uses
// sse::event_source<asio::ip::tcp::socket> (and, when that file includes
// <sse/asio/ssl.hpp> before this one, sse::event_source<sse::tls_socket>)
// without compiling it. Other Socket types are compiled where they are used, as
// usual.
#ifndef SSE_ASIO_SRC_HPP
#define SSE_ASIO_SRC_HPP

#include <sse/config.hpp>
#include <sse/asio/event_source.hpp>

SSE_NAMESPACE_BEGIN

template class event_source<asio::ip::tcp::socket>;

#if defined(SSE_ASIO_SSL_HPP)
template class event_source<tls_socket>;
#endif

SSE_NAMESPACE_END

#endif
