// The one source file that compiles the event sources and the stream (SSE_SEPARATE_ASIO). TLS is
// included because the target defines SSE_SEPARATE_ASIO_TLS, not by include order.
#include <sse/asio/src.hpp>
