// A program built with SSE_SEPARATE_ASIO and SSE_SEPARATE_ASIO_TLS: this file uses
// both event sources and sse::stream<asio::ip::tcp::socket> without compiling them,
// so it links only if src.cpp provides them.
#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>

#include "../support/refused_source.hpp"
#include "../support/stream_round_trip.hpp"

#include <cstdio>

int main()
{
    support::refusing_port const port;
    if (!support::fails_once<asio::ip::tcp::socket>(port.number()) ||
        !support::fails_once<sse::tls_socket>(port.number())) {
        std::fprintf(stderr, "separately compiled event sources misbehave\n");
        return 1;
    }
    if (!support::stream_round_trip("separately compiled")) {
        std::fprintf(stderr, "the separately compiled stream misbehaves\n");
        return 1;
    }
    return 0;
}
