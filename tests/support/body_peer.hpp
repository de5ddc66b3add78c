// A request body's two ends over loopback TCP, for the async_read_body tests.
#ifndef SSE_TESTS_SUPPORT_BODY_PEER_HPP
#define SSE_TESTS_SUPPORT_BODY_PEER_HPP

#include <sse/http/request_parser.hpp>

#include "net.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

namespace support {

/// Parses a complete request head, as the listener would have.
inline sse::http::request_head head_of(std::string const& text)
{
    sse::http::request_parser p;
    p.feed(text);
    REQUIRE(p.done());
    return p.release();
}

/// A connected pair on 127.0.0.1: `server` reads the body, `client` writes it.
struct socket_pair
{
    asio::io_context io;
    asio::ip::tcp::socket server{io}, client{io};

    socket_pair()
    {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = acceptor.accept();
        client.set_option(asio::ip::tcp::no_delay(true));   // each send() leaves at once
    }

    void send(std::string_view bytes) { asio::write(client, asio::buffer(bytes)); }
};

} // namespace support

#endif
