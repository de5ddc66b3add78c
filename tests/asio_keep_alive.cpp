// Persistent connections: respond_and_keep, basic_listener::serve and the bytes after a body,
// over loopback, checked against RFC 9112 9.3 (persistence) and 9.6 (closing).
#include <sse/asio/listener.hpp>

#include <doctest/doctest.h>

#include <sse/asio/body.hpp>
#include <sse/asio/response.hpp>

#include "support/http_connection.hpp"

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;

// A listener whose handler answers "<method> <path> <body>" and keeps the
// connection when the request allows it, as a server using the API would.
class keep_server
{
public:
    explicit keep_server(sse::listener_options o = {})
    {
        listener_ = std::make_shared<sse::listener>(
            io_.get_executor(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
            [this](sse::http::request_head head, asio::ip::tcp::socket socket, std::string_view rest) {
                on_request(std::move(head), std::move(socket), rest);
            },
            o);
        listener_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    ~keep_server()
    {
        listener_->stop();
        guard_.reset();
        thread_.join();
    }

    unsigned short port() const { return listener_->local_endpoint().port(); }
    sse::listener& listener() { return *listener_; }
    int handled() const { return handled_.load(); }

private:
    void on_request(sse::http::request_head head, asio::ip::tcp::socket socket, std::string_view rest)
    {
        ++handled_;
        if (head.body_framing() == sse::http::framing::none)
            return answer(head, std::move(socket), "", rest);
        auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(socket));
        auto buffer = std::make_shared<std::string>(rest);   // then what follows the body
        sse::async_read_body(*sock, head, *buffer, {},
                             [this, sock, head, buffer](sse::error_code ec, std::string body) {
                                 if (ec)
                                     return sse::respond_and_close(std::move(*sock), sse::response{400, "text/plain", "bad body\n", {}});
                                 answer(head, std::move(*sock), body, *buffer);
                             });
    }

    void answer(sse::http::request_head const& head, asio::ip::tcp::socket socket, std::string const& body,
                std::string_view after)
    {
        sse::response r;
        r.body = std::string(head.method()) + " " + std::string(head.path()) + " " + body;
        if (!head.keep_alive())
            return sse::respond_and_close(std::move(socket), r);
        sse::respond_and_keep(std::move(socket), r,
                              [l = listener_, rest = std::string(after)](sse::error_code ec, asio::ip::tcp::socket s) {
                                  if (!ec)
                                      l->serve(std::move(s), rest);
                              });
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::shared_ptr<sse::listener> listener_;
    std::atomic<int> handled_{0};
    std::thread thread_;
};

bool has(std::optional<std::string> const& r, std::string_view text)
{
    return r && r->find(text) != std::string::npos;
}

std::string get(std::string const& path, std::string const& extra = "")
{
    return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

} // namespace

TEST_CASE("keep-alive: an HTTP/1.1 connection carries one request after another")
{
    keep_server s;
    support::http_connection c(s.port());
    c.send(get("/one"));
    auto const first = c.response();
    REQUIRE(first);
    CHECK(has(first, "HTTP/1.1 200 OK\r\n"));
    CHECK(has(first, "Connection: keep-alive\r\n"));
    CHECK(has(first, "\r\n\r\nGET /one "));
    c.send(get("/two"));
    auto const second = c.response();
    CHECK(has(second, "\r\n\r\nGET /two "));
    CHECK(s.handled() == 2);
}

TEST_CASE("keep-alive: pipelined requests are answered in order, the bytes after a body included")
{
    keep_server s;
    support::http_connection c(s.port());
    c.send(get("/a") + get("/b") +
           "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
           "POST /d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + get("/e"));
    CHECK(has(c.response(), "\r\n\r\nGET /a "));
    CHECK(has(c.response(), "\r\n\r\nGET /b "));
    CHECK(has(c.response(), "\r\n\r\nPOST /c hello"));
    CHECK(has(c.response(), "\r\n\r\nPOST /d abc"));
    CHECK(has(c.response(), "\r\n\r\nGET /e "));
}

TEST_CASE("keep-alive: Connection: close, and HTTP/1.0 without keep-alive, close after the answer")
{
    keep_server s;
    SUBCASE("HTTP/1.1 with Connection: close")
    {
        support::http_connection c(s.port());
        c.send(get("/x", "Connection: close\r\n"));
        auto const r = c.response();
        CHECK(has(r, "Connection: close\r\n"));
        CHECK(c.closed_silently());
    }
    SUBCASE("HTTP/1.0")
    {
        support::http_connection c(s.port());
        c.send("GET /x HTTP/1.0\r\n\r\n");
        CHECK(has(c.response(), "Connection: close\r\n"));
        CHECK(c.closed_silently());
    }
    SUBCASE("HTTP/1.0 with Connection: keep-alive is kept, and told so")
    {
        support::http_connection c(s.port());
        c.send("GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(has(c.response(), "Connection: keep-alive\r\n"));
        c.send("GET /y HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(has(c.response(), "\r\n\r\nGET /y "));
    }
}

TEST_CASE("keep-alive: an idle connection is closed after the head timeout, without an answer")
{
    sse::listener_options o;
    o.head_timeout = 200ms;
    keep_server s(o);
    SUBCASE("nothing sent: closed silently")
    {
        support::http_connection c(s.port());
        c.send(get("/x"));
        REQUIRE(c.response());
        auto const start = std::chrono::steady_clock::now();
        CHECK(c.closed_silently());
        CHECK(std::chrono::steady_clock::now() - start >= 150ms);
    }
    SUBCASE("half a head: 408")
    {
        support::http_connection c(s.port());
        c.send(get("/x"));
        REQUIRE(c.response());
        c.send("GET /y HTTP/1.1\r\nHo");
        CHECK(has(c.response(), "HTTP/1.1 408 "));
    }
    SUBCASE("a bad head on a kept connection gets 400 and a close")
    {
        support::http_connection c(s.port());
        c.send(get("/x"));
        REQUIRE(c.response());
        c.send("NOT HTTP\r\n\r\n");
        CHECK(has(c.response(), "HTTP/1.1 400 "));
        CHECK(c.closed_silently());
    }
}

TEST_CASE("keep-alive: kept connections count as pending, and stop() closes them")
{
    sse::listener_options o;
    o.max_pending = 1;
    keep_server s(o);
    support::http_connection c(s.port());
    c.send(get("/x"));
    REQUIRE(c.response());
    // The kept connection now waits for its next head.
    auto const deadline = std::chrono::steady_clock::now() + 3s;
    while (s.listener().pending() != 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);   // another thread's counter: nothing to wait on
    REQUIRE(s.listener().pending() == 1);
    SUBCASE("a new connection over max_pending gets 503")
    {
        support::http_connection other(s.port());
        other.send(get("/y"));
        CHECK(has(other.response(), "HTTP/1.1 503 "));
    }
    SUBCASE("stop() closes the kept connection")
    {
        s.listener().stop();
        CHECK(c.closed_silently());
    }
}

TEST_CASE("keep-alive: respond_and_keep hands back a connection whose client reads nothing after the deadline, closed")
{
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    support::http_connection c(acceptor.local_endpoint().port());
    asio::ip::tcp::socket peer = acceptor.accept();
    // Small buffers so that a large body cannot all fit in the kernel while the client reads nothing.
    peer.set_option(asio::socket_base::send_buffer_size(4096));
    sse::response r;
    r.body.assign(8 * 1024 * 1024, 'x');
    std::optional<sse::error_code> got;
    bool open = true;
    sse::respond_and_keep(std::move(peer), r,
                          [&](sse::error_code ec, asio::ip::tcp::socket s) {
                              got = ec;
                              open = s.is_open();
                          },
                          100ms);
    io.run_for(5s);
    REQUIRE(got);
    CHECK(*got == sse::error::write_timeout);
    CHECK_FALSE(open);
}
