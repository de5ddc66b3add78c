// sse::stream and sse::tls_listener over TLS: asio::ssl::stream<tcp::socket> as
// the Socket, with a self-signed certificate made by `openssl` for this run, and
// curl (and raw sockets) as the peers.
#include <sse/asio/listener.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/asio/stream.hpp>

#include "support/certificate.hpp"

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/connect.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <asio/ssl.hpp>
#include <asio/streambuf.hpp>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>


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
    support::certificate files;
    std::string const& cert = files.cert;
    std::string const& key = files.key;

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
}

TEST_CASE("tls_listener: serves a stream over https to curl, which verifies the certificate")
{
    support::certificate files;
    asio::io_context io;
    asio::ssl::context tls = sse::tls_server_context(files.cert, files.key);

    std::string seen_path;
    auto l = std::make_shared<sse::tls_listener>(
        io.get_executor(), tls, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
        [&](sse::http::request_head head, sse::tls_socket socket, std::string_view) {
            seen_path = std::string(head.path());
            sse::stream_options options;
            options.heartbeat_interval = std::chrono::milliseconds(0);
            auto s = std::make_shared<sse::stream<sse::tls_socket>>(std::move(socket), options);
            s->start(head);
            for (int i = 1; i <= 3; ++i)
                s->send(numbered(i));
            s->async_close(std::nullopt, [](sse::error_code) {});
        });
    l->start();
    auto const port = l->local_endpoint().port();
    // Two threads: heads are read on strands of their own, the handler on the listener's.
    std::thread t1([&] { io.run_for(std::chrono::seconds(20)); });
    std::thread t2([&] { io.run_for(std::chrono::seconds(20)); });

    std::string const body = run("curl -s --noproxy '*' --max-time 10 --cacert " + files.cert +
                                 " https://127.0.0.1:" + std::to_string(port) + "/events");
    std::string const plain = run("curl -s --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                                  std::to_string(port) + "/events");
    l->stop();
    io.stop();
    t1.join();
    t2.join();

    CHECK(seen_path == "/events");
    std::string expected = "retry: 3000\n\n";
    for (int i = 1; i <= 3; ++i)
        expected += sse::to_string(numbered(i));
    CHECK(body == expected);
    // Plain http to the TLS port: no handshake, nothing answered, counted.
    CHECK(plain == "000");
    CHECK(l->failed_handshakes() == 1);
    CHECK(l->accepted() == 2);
}

TEST_CASE("tls_listener: the head deadline covers the handshake and the head; errors are answered over TLS")
{
    support::certificate files;
    asio::io_context io;
    asio::ssl::context tls = sse::tls_server_context(files.cert, files.key);
    sse::listener_options options;
    options.head_timeout = std::chrono::milliseconds(300);
    int handed_over = 0;
    auto l = std::make_shared<sse::tls_listener>(
        io.get_executor(), tls, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
        [&](sse::http::request_head, sse::tls_socket, std::string_view) { ++handed_over; }, options);
    l->start();
    auto const endpoint = l->local_endpoint();
    std::thread server([&] { io.run_for(std::chrono::seconds(20)); });

    asio::io_context client_io;
    asio::ssl::context client_tls(asio::ssl::context::tls_client);
    client_tls.load_verify_file(files.cert);

    auto read_all = [](auto& stream) {
        std::string out;
        char buf[512];
        sse::error_code ec;
        for (;;) {
            std::size_t n = stream.read_some(asio::buffer(buf), ec);
            out.append(buf, n);
            if (ec)
                return out;
        }
    };

    SUBCASE("a client that connects and says nothing is cut off without an answer")
    {
        tcp::socket raw(client_io);
        raw.connect(endpoint);
        auto const start = std::chrono::steady_clock::now();
        CHECK(read_all(raw).empty());
        CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(250));
        CHECK(l->failed_handshakes() == 1);
    }
    SUBCASE("a client that completes the handshake but not its head gets 408 over TLS")
    {
        sse::tls_socket client(client_io, client_tls);
        client.lowest_layer().connect(endpoint);
        client.set_verify_mode(asio::ssl::verify_peer);
        client.handshake(asio::ssl::stream_base::client);
        asio::write(client, asio::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n")));
        std::string const answer = read_all(client);
        CHECK(answer.rfind("HTTP/1.1 408 ", 0) == 0);
        CHECK(l->failed_handshakes() == 0);
    }
    SUBCASE("a malformed head gets 400 over TLS")
    {
        sse::tls_socket client(client_io, client_tls);
        client.lowest_layer().connect(endpoint);
        client.handshake(asio::ssl::stream_base::client);
        asio::write(client, asio::buffer(std::string("GET /events HTTP/1.1\r\nBad Header\r\n\r\n")));
        CHECK(read_all(client).rfind("HTTP/1.1 400 ", 0) == 0);
    }
    l->stop();
    io.stop();
    server.join();
    CHECK(handed_over == 0);
}

TEST_CASE("stream: a TLS client that closes its socket without close_notify ends it with peer_closed")
{
    // A browser tab that goes away just drops TCP; the stream must report that
    // as a closed peer (error::peer_closed), not as a TLS error.
    support::certificate files;
    asio::io_context io;
    asio::ssl::context tls = sse::tls_server_context(files.cert, files.key);
    std::promise<sse::error_code> ended;
    auto l = std::make_shared<sse::tls_listener>(
        io.get_executor(), tls, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
        [&](sse::http::request_head head, sse::tls_socket socket, std::string_view) {
            sse::stream_options options;
            options.heartbeat_interval = std::chrono::milliseconds(0);
            auto s = std::make_shared<sse::stream<sse::tls_socket>>(std::move(socket), options);
            s->on_close([&](sse::error_code why) { ended.set_value(why); });
            s->start(head);
        });
    l->start();
    auto const endpoint = l->local_endpoint();
    std::thread server([&] { io.run_for(std::chrono::seconds(20)); });

    asio::io_context client_io;
    asio::ssl::context client_tls(asio::ssl::context::tls_client);
    client_tls.load_verify_file(files.cert);
    sse::tls_socket client(client_io, client_tls);
    client.lowest_layer().connect(endpoint);
    client.set_verify_mode(asio::ssl::verify_peer);
    client.handshake(asio::ssl::stream_base::client);
    asio::write(client, asio::buffer(std::string("GET /events HTTP/1.1\r\nHost: x\r\n\r\n")));
    asio::streambuf received;
    asio::read_until(client, received, "retry: 3000\n\n");
    client.lowest_layer().close();   // no TLS shutdown: the peer just vanishes

    auto result = ended.get_future();
    REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    sse::error_code const why = result.get();
    CAPTURE(why.message());
    CHECK(why == sse::error::peer_closed);
    l->stop();
    io.stop();
    server.join();
}

TEST_CASE("tls_server_context: a missing file is named in the error")
{
    support::certificate files;
    try {
        (void)sse::tls_server_context(files.dir + "/missing.pem", files.key);
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(std::string(e.what()).find("missing.pem") != std::string::npos);
    }
    try {
        (void)sse::tls_server_context(files.cert, files.dir + "/nokey.pem");
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(std::string(e.what()).find("nokey.pem") != std::string::npos);
    }
}

TEST_CASE("tls_server_context: the error_code form reports what the throwing one throws")
{
    support::certificate files;
    sse::error_code ec;
    auto const good = sse::tls_server_context(files.cert, files.key, ec);
    CHECK_FALSE(ec);
    CHECK(good.has_value());

    auto const missing = sse::tls_server_context(files.dir + "/missing.pem", files.key, ec);
    CHECK(ec);
    CHECK_FALSE(missing.has_value());
    try {
        (void)sse::tls_server_context(files.dir + "/missing.pem", files.key);
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(e.code() == ec);
    }

    ec = {};
    CHECK_FALSE(sse::tls_server_context(files.cert, files.dir + "/nokey.pem", ec).has_value());
    CHECK(ec);
}
