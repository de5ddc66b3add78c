// SSE_SEPARATE_ASIO without SSE_SEPARATE_ASIO_TLS: <sse/asio/src.hpp> compiles no
// TLS source, even after <sse/asio/ssl.hpp> (an include order that once asked for
// it). Were it compiled there, the explicit instantiation below would be a
// duplicate, which does not compile.
#include <sse/asio/ssl.hpp>
#include <sse/asio/src.hpp>

template class sse::event_source<sse::tls_socket>;
