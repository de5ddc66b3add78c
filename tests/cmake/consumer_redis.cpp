// A program outside the project that uses the installed sse::redis (hiredis linked through it).
#include <sse/redis/detail/connection.hpp>
#include <sse/redis/options.hpp>

#include <asio/io_context.hpp>

#include <cstdio>

int main()
{
    sse::redis::backplane_options o;
    std::error_code ec;
    sse::redis::parse_url("redis://:pw@127.0.0.1:6390/news", o, ec);
    if (ec || o.ns != "news" || o.server.port != 6390) {
        std::fprintf(stderr, "parse_url failed: %s\n", ec.message().c_str());
        return 1;
    }
    asio::io_context io;
    // Creating a connection creates a hiredis reader: the link is exercised; no socket is opened.
    auto c = sse::redis::detail::connection::create(io.get_executor(), 1024);
    if (c->is_open())
        return 1;
    std::printf("ssepp redis consumer ok\n");
    return 0;
}
