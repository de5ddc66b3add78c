// A program that links sse::compiled. The target defines SSE_SEPARATE_COMPILATION
// and SSE_SEPARATE_ASIO (and SSE_SEPARATE_ASIO_TLS when built with OpenSSL): this
// file then declares the library's non-template bodies, its event sources and
// sse::stream<asio::ip::tcp::socket> without compiling them, so it links only if
// the library provides them.
#include <sse/asio/event_source.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/sse.hpp>
#if defined(SSE_SEPARATE_ASIO_TLS)
#include <sse/asio/ssl.hpp>
#endif

#include "../support/refused_source.hpp"   // the project's tests' helpers, shared with tests/separate_asio
#include "../support/stream_round_trip.hpp"

#include <cstdio>
#include <string>

#if !defined(SSE_SEPARATE_COMPILATION) || !defined(SSE_SEPARATE_ASIO)
#error "linking sse::compiled did not define SSE_SEPARATE_COMPILATION and SSE_SEPARATE_ASIO"
#endif
#if defined(SSE_EXPECT_TLS) && !defined(SSE_SEPARATE_ASIO_TLS)
#error "sse::compiled was built with OpenSSL but does not provide event_source<tls_socket>"
#endif

int main()
{
    sse::event e;
    e.id = "7";
    e.data = "compiled";
    sse::parser p;
    std::string got;
    p.feed(sse::to_string(e), [&](sse::event_view const& ev) { got.assign(ev.data); });

    sse::http::request_parser request;
    sse::error_code ec;
    request.feed("GET /events?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", ec);

    support::refusing_port const refusing;
    unsigned short const port = refusing.number();

    bool ok = got == "compiled" && p.last_event_id() == "7" && !ec && request.done() &&
              request.get().param("x") == "1" && support::fails_once<asio::ip::tcp::socket>(port) &&
              support::stream_round_trip("compiled stream");
#if defined(SSE_SEPARATE_ASIO_TLS)
    ok = ok && support::fails_once<sse::tls_socket>(port);
    char const* tls = " with TLS";
#else
    char const* tls = "";
#endif
    if (!ok) {
        std::fprintf(stderr, "sse::compiled consumer misbehaves\n");
        return 1;
    }
    std::printf("ssepp %s compiled consumer ok%s\n", SSE_VERSION_STRING, tls);
    return 0;
}
