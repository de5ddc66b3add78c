// sse/asio/src.hpp - with SSE_SEPARATE_ASIO: the event source and the stream compiled once.
//
// An event_source instantiation costs a translation unit several seconds of
// compilation (Asio's resolver, connect, TLS and timer operations), a stream
// over a TCP socket more than a second on top of Asio's headers. Define
// SSE_SEPARATE_ASIO for the whole program (target_compile_definitions) and
// include this header in exactly one source file: every other file then uses
// sse::event_source<asio::ip::tcp::socket> and sse::stream<asio::ip::tcp::socket>
// without compiling them (the stream's member templates, such as async_send,
// are still compiled where they are used).
//
// sse::event_source<sse::tls_socket> joins them only when SSE_SEPARATE_ASIO_TLS is
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
#include <sse/asio/stream.hpp>
#if defined(SSE_SEPARATE_ASIO_TLS)
#include <sse/asio/ssl.hpp>
#endif

SSE_NAMESPACE_BEGIN

template class event_source<net::ip::tcp::socket>;
template class stream<net::ip::tcp::socket>;

#if defined(SSE_SEPARATE_ASIO_TLS)
template class event_source<tls_socket>;
#endif

SSE_NAMESPACE_END

#endif
