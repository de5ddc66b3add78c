// sse/src.hpp - the bodies of every SSE_DECL function, for separate compilation.
//
// Define SSE_SEPARATE_COMPILATION in every translation unit (for example with
// target_compile_definitions), and include this header in exactly one source
// file. The library's non-template code is then compiled once instead of in
// every file that includes it.
#ifndef SSE_SRC_HPP
#define SSE_SRC_HPP

#if !defined(SSE_SEPARATE_COMPILATION)
#error "<sse/src.hpp> is for SSE_SEPARATE_COMPILATION builds; header-only builds need no source file"
#endif

#define SSE_SOURCE

#include <sse/impl/backoff.hpp>
#include <sse/impl/cors.hpp>
#include <sse/impl/error.hpp>
#include <sse/impl/event.hpp>
#include <sse/impl/parser.hpp>
#include <sse/impl/replay_buffer.hpp>
#include <sse/impl/hub.hpp>
#include <sse/impl/blocking_subscription.hpp>
#include <sse/impl/url.hpp>
#include <sse/impl/source_core.hpp>
#include <sse/impl/body_collector.hpp>
#include <sse/impl/poll_exchange.hpp>
#include <sse/http/impl/fields.hpp>
#include <sse/http/impl/request_head.hpp>
#include <sse/http/impl/request_parser.hpp>
#include <sse/http/impl/response_head.hpp>
#include <sse/http/impl/response_parser.hpp>
#include <sse/http/impl/chunked_decoder.hpp>

#endif
