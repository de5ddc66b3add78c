// A program that links sse::compiled. The target defines SSE_SEPARATE_COMPILATION
// and SSE_SEPARATE_ASIO (and SSE_SEPARATE_ASIO_TLS when built with OpenSSL): this
// file then declares the library's non-template bodies and its event sources
// without compiling them, so it links only if the library provides them.
#include <sse/asio/event_source.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/sse.hpp>
#if defined(SSE_SEPARATE_ASIO_TLS)
#include <sse/asio/ssl.hpp>
#endif

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdio>
#include <string>

#if !defined(SSE_SEPARATE_COMPILATION) || !defined(SSE_SEPARATE_ASIO)
#error "linking sse::compiled did not define SSE_SEPARATE_COMPILATION and SSE_SEPARATE_ASIO"
#endif
#if defined(SSE_EXPECT_TLS) && !defined(SSE_SEPARATE_ASIO_TLS)
#error "sse::compiled was built with OpenSSL but does not provide event_source<tls_socket>"
#endif

namespace {

// A one-shot source against a port that is bound but not listening: the
// connection is refused, so there is one attempt, then `failed`.
template<class Socket>
bool fails_once(unsigned short port)
{
    asio::io_context io;
    sse::event_source_options options;
    options.reconnect = false;
    sse::event_source<Socket> source(io.get_executor(), "http://127.0.0.1:" + std::to_string(port) + "/x", options);
    sse::source_state last = sse::source_state::connecting;
    source.on_state([&](sse::source_state s, sse::error_code) { last = s; });
    source.start();
    io.run();
    return last == sse::source_state::failed && source.stats().attempts == 1;
}

} // namespace

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

    // Bound, never listening: nothing else can take the port while it is held.
    asio::io_context io;
    asio::ip::tcp::acceptor held(io);
    held.open(asio::ip::tcp::v4());
    held.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    unsigned short const port = held.local_endpoint().port();

    bool ok = got == "compiled" && p.last_event_id() == "7" && !ec && request.done() &&
              request.get().param("x") == "1" && fails_once<asio::ip::tcp::socket>(port);
#if defined(SSE_SEPARATE_ASIO_TLS)
    ok = ok && fails_once<sse::tls_socket>(port);
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
