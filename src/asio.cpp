// sse::compiled: event_source<asio::ip::tcp::socket>, and <sse::tls_socket> when the
// library was built with OpenSSL (SSE_SEPARATE_ASIO_TLS), and stream<asio::ip::tcp::socket>,
// compiled once.
#include <sse/asio/src.hpp>
