// sse/sse.hpp - the protocol and fan-out core in one include.
//
// The transport (<sse/asio/...>) and the optional integrations are included
// separately, so that this header never pulls in Asio.
#ifndef SSE_SSE_HPP
#define SSE_SSE_HPP

#include <sse/backoff.hpp>
#include <sse/config.hpp>
#include <sse/cors.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/parser.hpp>
#include <sse/replay_buffer.hpp>
#include <sse/hub.hpp>
#include <sse/url.hpp>

#endif
