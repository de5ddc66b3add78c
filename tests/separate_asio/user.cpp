// A program built with SSE_SEPARATE_ASIO and SSE_SEPARATE_ASIO_TLS: this file uses
// both event sources without compiling them, so it links only if src.cpp provides them.
#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <cstdio>
#include <string>

namespace {

// Runs a one-shot source against a port that refuses connections: one attempt, then `failed`.
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
    // Bound, never listening: connections are refused, and nothing else can take the port meanwhile.
    asio::io_context io;
    asio::ip::tcp::acceptor held(io);
    held.open(asio::ip::tcp::v4());
    held.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    unsigned short const port = held.local_endpoint().port();

    if (!fails_once<asio::ip::tcp::socket>(port) || !fails_once<sse::tls_socket>(port)) {
        std::fprintf(stderr, "separately compiled event sources misbehave\n");
        return 1;
    }
    return 0;
}
