// sse/asio/src.hpp - with SSE_SEPARATE_ASIO: the event source compiled once.
//
// An event_source instantiation costs a translation unit several seconds of
// compilation (Asio's resolver, connect, TLS and timer operations). Define
// SSE_SEPARATE_ASIO for the whole program (target_compile_definitions) and
// include this header in exactly one source file: every other file then uses
// sse::event_source<asio::ip::tcp::socket> without compiling it.
//
// sse::event_source<sse::tls_socket> joins it only when SSE_SEPARATE_ASIO_TLS is
// defined as well, for the whole program, which then links OpenSSL. Without that
// macro it is compiled where it is used, whatever this file's source includes
// first. Other Socket types are compiled where they are used, as usual.
//
// Linking the CMake target sse::compiled does all this (and SSE_SEPARATE_COMPILATION)
// without a source file of your own.
#ifndef SSE_ASIO_SRC_HPP
#define SSE_ASIO_SRC_HPP

#if !defined(SSE_SEPARATE_ASIO)
#error "<sse/asio/src.hpp> is for SSE_SEPARATE_ASIO builds; header-only builds need no source file"
#endif

#include <sse/config.hpp>
#include <sse/asio/event_source.hpp>
#if defined(SSE_SEPARATE_ASIO_TLS)
#include <sse/asio/ssl.hpp>
#endif

SSE_NAMESPACE_BEGIN

template class event_source<asio::ip::tcp::socket>;

#if defined(SSE_SEPARATE_ASIO_TLS)
template class event_source<tls_socket>;
#endif

SSE_NAMESPACE_END

#endif
