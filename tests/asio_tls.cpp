// sse::stream over TLS: asio::ssl::stream<tcp::socket> as the Socket, with a
// self-signed certificate made by `openssl` for this run, and curl as the peer.
#include <sse/asio/stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/ssl.hpp>
#include <asio/streambuf.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <unistd.h>

namespace {

using tcp = asio::ip::tcp;
using tls_socket = asio::ssl::stream<tcp::socket>;

std::string run(std::string const& command)
{
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
            out.append(buf, n);
        pclose(p);
    }
    return out;
}

sse::event numbered(int n)
{
    sse::event e;
    e.id = std::to_string(n);
    e.data = "event " + std::to_string(n);
    return e;
}

} // namespace

TEST_CASE("stream: serves events over TLS to curl (loopback)")
{
    char dir_template[] = "/tmp/sse-tls-XXXXXX";
    char const* dir = mkdtemp(dir_template);
    REQUIRE(dir != nullptr);
    std::string const cert = std::string(dir) + "/cert.pem";
    std::string const key = std::string(dir) + "/key.pem";
    REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " + key +
                         " -out " + cert + " 2>/dev/null")
                            .c_str()) == 0);

    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_server);
    ctx.use_certificate_chain_file(cert);
    ctx.use_private_key_file(key, asio::ssl::context::pem);
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto const port = acceptor.local_endpoint().port();

    sse::stream_options options;
    options.heartbeat_interval = std::chrono::milliseconds(0);
    sse::event final_event;
    final_event.comment = "bye";
    final_event.retry = std::chrono::milliseconds(1234);

    std::string request_line;
    sse::error_code handshake_error, close_reason;
    bool closed = false;
    acceptor.async_accept([&](sse::error_code ec, tcp::socket socket) {
        REQUIRE_FALSE(ec);
        auto conn = std::make_shared<tls_socket>(std::move(socket), ctx);
        conn->async_handshake(asio::ssl::stream_base::server, [&, conn](sse::error_code hec) {
            handshake_error = hec;
            if (hec)
                return;
            auto head = std::make_shared<asio::streambuf>();
            asio::async_read_until(*conn, *head, "\r\n\r\n", [&, conn, head](sse::error_code rec, std::size_t n) {
                if (rec)
                    return;
                auto const bytes = head->data();
                request_line.assign(static_cast<char const*>(bytes.data()), n);
                request_line.resize(request_line.find("\r\n"));
                auto s = std::make_shared<sse::stream<tls_socket>>(std::move(*conn), options);
                s->on_close([&](sse::error_code why) {
                    close_reason = why;
                    closed = true;
                });
                s->start();
                for (int i = 1; i <= 3; ++i)
                    s->send(numbered(i));
                s->async_close(final_event, [](sse::error_code) {});
            });
        });
    });
    std::thread server([&] { io.run(); });

    // -k: the certificate is self-signed; the test checks the stream, not the PKI.
    std::string const body =
        run("curl -sk --noproxy '*' --max-time 10 https://127.0.0.1:" + std::to_string(port) + "/events");
    server.join();

    CHECK_FALSE(handshake_error);
    CHECK(request_line == "GET /events HTTP/1.1");
    std::string expected = "retry: 3000\n\n";
    for (int i = 1; i <= 3; ++i)
        expected += sse::to_string(numbered(i));
    expected += sse::to_string(final_event);
    CHECK(body == expected);
    CHECK(closed);
    CHECK_FALSE(close_reason);

    std::remove(cert.c_str());
    std::remove(key.c_str());
    ::rmdir(dir);
}
