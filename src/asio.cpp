// sse::compiled: event_source<asio::ip::tcp::socket>, and <sse::tls_socket> when the
// library was built with OpenSSL (SSE_SEPARATE_ASIO_TLS), compiled once.
#include <sse/asio/src.hpp>
