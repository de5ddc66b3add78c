// The one source file that compiles the event source (SSE_SEPARATE_ASIO), TLS included.
#include <sse/asio/ssl.hpp>
#include <sse/asio/src.hpp>
