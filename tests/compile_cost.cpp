// Includes each public header once. scripts/test times its compilation, so a
// change that makes the library slower to include shows up in CI's log.
#include <sse/sse.hpp>
#include <sse/blocking_subscription.hpp>
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/stream.hpp>
#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>
