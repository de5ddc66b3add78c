#include <sse/sse.hpp>
#if defined(TEST_PACKAGE_ASIO)
#include <sse/asio/stream.hpp>
#include <asio/io_context.hpp>
#endif
#if defined(TEST_PACKAGE_TLS)
#include <sse/asio/ssl.hpp>
#endif
#if defined(TEST_PACKAGE_REDIS)
#include <sse/redis/options.hpp>
#include <hiredis/hiredis.h>
#endif

#include <cstdio>
#include <string>

int main()
{
    sse::event e;
    e.id = "1";
    e.data = "hello";
    sse::parser p;
    std::string got;
    p.feed(sse::to_string(e), [&](sse::event_view const& ev) { got.assign(ev.data); });
    bool ok = got == "hello";
#if defined(TEST_PACKAGE_ASIO)
    asio::io_context io;
    ok = ok && io.poll() == 0;
#endif
#if defined(TEST_PACKAGE_TLS)
    asio::ssl::context tls(asio::ssl::context::tls_client);
    ok = ok && tls.native_handle() != nullptr;
#endif
#if defined(TEST_PACKAGE_REDIS)
    sse::redis::backplane_options o;
    std::error_code ec;
    sse::redis::parse_url("redis://127.0.0.1:6390/news", o, ec);
    redisReader* reader = redisReaderCreate();
    ok = ok && !ec && o.ns == "news" && reader != nullptr;
    redisReaderFree(reader);
#endif
    std::printf("ssepp %s: %s\n", SSE_VERSION_STRING, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
