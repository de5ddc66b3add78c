// sse/config.hpp - version, namespace and the macros every header relies on.
#ifndef SSE_CONFIG_HPP
#define SSE_CONFIG_HPP

#include <cassert>
#include <cstdlib>

#define SSE_VERSION_MAJOR 0
#define SSE_VERSION_MINOR 1
#define SSE_VERSION_PATCH 0
#define SSE_VERSION_STRING "0.1.0"

// The inline namespace lets a later ABI-breaking release coexist in one program.
#define SSE_NAMESPACE_BEGIN namespace sse { inline namespace v1 {
#define SSE_NAMESPACE_END } }

// Non-template bodies live in impl/*.hpp. Header-only use makes them inline; with
// SSE_SEPARATE_COMPILATION they are compiled once, in the translation unit that
// includes <sse/src.hpp>.
#if defined(SSE_SEPARATE_COMPILATION)
#define SSE_DECL
#else
#define SSE_DECL inline
#endif

// SSE_SEPARATE_ASIO_TLS adds event_source<tls_socket> to what <sse/asio/src.hpp>
// compiles once. It is asked for explicitly because it needs OpenSSL at link time.
#if defined(SSE_SEPARATE_ASIO_TLS) && !defined(SSE_SEPARATE_ASIO)
#error "SSE_SEPARATE_ASIO_TLS needs SSE_SEPARATE_ASIO: define both for the whole program, or link sse::compiled"
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define SSE_HAS_EXCEPTIONS 1
#define SSE_THROW(ex) throw ex
#else
#define SSE_HAS_EXCEPTIONS 0
#define SSE_THROW(ex) (static_cast<void>(ex), std::abort())
#endif

// Broken preconditions are bugs in the calling code, not runtime errors.
#ifndef SSE_ASSERT
#define SSE_ASSERT(expr) assert(expr)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SSE_LIKELY(x) __builtin_expect(!!(x), 1)
#define SSE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SSE_LIKELY(x) (x)
#define SSE_UNLIKELY(x) (x)
#endif

#endif
