// sse/sse.hpp - the whole standard-library-only core in one include.
//
// The transport (<sse/asio/...>) and the optional integrations are included
// separately, so that this header never pulls in Asio.
#ifndef SSE_SSE_HPP
#define SSE_SSE_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>

#endif
