// Self-test of tests/support/script_server.hpp, the scripted server that the
// event_source tests talk to, driven by a plain-socket client.
#include "support/script_server.hpp"
#include <doctest/doctest.h>

#include <sse/http/chunked_decoder.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using support::script_server;

namespace {

/// What a client read before the connection ended.
struct received
{
    std::string bytes;
    bool eof = false;     // the server closed (FIN)
    bool reset = false;   // the server reset the connection
};

/// A blocking loopback client on plain sockets.
class raw_client
{
public:
    explicit raw_client(unsigned short port, bool ipv6 = false)
    {
        fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int const one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_storage addr{};
        socklen_t size = 0;
        if (ipv6) {
            auto& a = reinterpret_cast<sockaddr_in6&>(addr);
            a.sin6_family = AF_INET6;
            a.sin6_addr = in6addr_loopback;
            a.sin6_port = htons(port);
            size = sizeof a;
        }
        else {
            auto& a = reinterpret_cast<sockaddr_in&>(addr);
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons(port);
            size = sizeof a;
        }
        connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr const*>(&addr), size) == 0;
    }

    raw_client(raw_client const&) = delete;
    raw_client& operator=(raw_client const&) = delete;
    ~raw_client() { close(); }

    bool connected() const noexcept { return connected_; }

    bool send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            ssize_t const n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads until the server ends the connection or `limit` passes.
    received read_to_end(std::chrono::milliseconds limit = 5s)
    {
        received r;
        auto const deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0)
                continue;
            char buffer[4096];
            ssize_t const n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n > 0) {
                r.bytes.append(buffer, static_cast<std::size_t>(n));
                continue;
            }
            r.eof = n == 0;
            r.reset = n < 0 && errno == ECONNRESET;
            break;
        }
        return r;
    }

    void close()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

std::string get(std::string_view target)
{
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
}

bool can_bind_ipv6_loopback()
{
    int const fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool const ok = ::bind(fd, reinterpret_cast<sockaddr const*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

} // namespace

TEST_CASE("script_server: response helpers")
{
    CHECK(support::sse_head() == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
    CHECK(support::sse_head("X-A: 1\r\n")
          == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-A: 1\r\n\r\n");
    CHECK(support::sse_chunked_head()
          == "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
             "Transfer-Encoding: chunked\r\n\r\n");
    CHECK(support::status_response(503, "Service Unavailable", "Retry-After: 1\r\n", "busy")
          == "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 4\r\n\r\nbusy");
    CHECK(support::status_response(204, "No Content") == "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_CASE("script_server: records the request line, headers and a Content-Length body")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(200, "OK", "", "ok"));
    });
    CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/");
    CHECK(server.url("/events?a=1") == "http://127.0.0.1:" + std::to_string(server.port()) + "/events?a=1");

    auto const before = std::chrono::steady_clock::now();
    raw_client client(server.port());
    REQUIRE(client.connected());
    std::string const request = "POST /submit?x=1 HTTP/1.1\r\nHost: h\r\nX-Thing:  spaced value \r\n"
                                "content-length: 11\r\n\r\nhello world";
    // Cut inside "\r\n\r\n" and inside the body; the pauses let the server read each piece on its own.
    std::size_t from = 0;
    for (std::size_t const cut : {std::size_t{7}, request.find("\r\n\r\n") + 2, request.size() - 4, request.size()}) {
        CHECK(client.send(std::string_view(request).substr(from, cut - from)));
        from = cut;
        std::this_thread::sleep_for(5ms);
    }
    auto const got = client.read_to_end();
    CHECK(got.eof);
    CHECK(got.bytes == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

    REQUIRE(server.request_count() == 1);
    auto const r = server.requests().at(0);
    CHECK(r.method == "POST");
    CHECK(r.target == "/submit?x=1");
    CHECK(r.version == "HTTP/1.1");
    REQUIRE(r.headers.size() == 3);
    CHECK(r.headers[0] == std::make_pair(std::string("Host"), std::string("h")));
    CHECK(r.header("x-thing") == "spaced value");
    CHECK(r.header("CONTENT-LENGTH") == "11");
    CHECK_FALSE(r.header("Last-Event-ID"));
    CHECK(r.body == "hello world");
    CHECK(r.connection_index == 0);
    CHECK(r.at >= before);
    CHECK(r.at <= std::chrono::steady_clock::now());
    CHECK(server.connections_open() == 0);   // counted down before the client could see the close
    CHECK(server.connections_accepted() == 1);
    CHECK(server.first_handler_error().empty());
}

TEST_CASE("script_server: connections run concurrently")
{
    std::promise<bool> first_saw_close;
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0) {
            c.send(support::sse_head());
            first_saw_close.set_value(c.wait_for_close(10s));
        }
        else
            c.send(support::status_response(204, "No Content"));
    });

    raw_client silent(server.port());
    REQUIRE(silent.connected());
    CHECK(silent.send(get("/a")));
    REQUIRE(server.wait_for_requests(1, 5s));

    raw_client second(server.port());
    REQUIRE(second.connected());
    CHECK(second.send(get("/b")));
    auto const got = second.read_to_end(2s);
    CHECK(got.eof);
    CHECK(got.bytes == "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(server.connections_open() == 1);

    silent.close();
    auto saw = first_saw_close.get_future();
    REQUIRE(saw.wait_for(5s) == std::future_status::ready);
    CHECK(saw.get());

    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].target == "/a");
    CHECK(requests[0].connection_index == 0);
    CHECK(requests[1].target == "/b");
    CHECK(requests[1].connection_index == 1);
    CHECK(server.first_handler_error().empty());
}

TEST_CASE("script_server: send_in_pieces delivers every byte")
{
    std::string body;
    for (int i = 0; i < 20; ++i)
        body += "id: " + std::to_string(i) + "\ndata: piece " + std::to_string(i) + "\n\n";
    for (auto const gap : {0ms, 1ms}) {
        CAPTURE(gap.count());
        std::atomic<bool> sent{false};
        script_server server([&](script_server::connection& c, support::recorded_request const&) {
            sent = c.send(support::sse_head()) && c.send_in_pieces(body, gap.count() == 0 ? 1 : 7, gap);
        });
        raw_client client(server.port());
        REQUIRE(client.connected());
        CHECK(client.send(get("/events")));
        auto const got = client.read_to_end();
        CHECK(got.eof);
        CHECK(got.bytes == support::sse_head() + body);
        server.stop();
        CHECK(sent);
        CHECK(server.first_handler_error().empty());
    }
}

TEST_CASE("script_server: the chunked helpers frame a body that http::chunked_decoder reads")
{
    std::string const big(300, 'x');
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_chunked_head());
        c.send_chunked("data: a\n\n");
        c.send_chunked("");   // would be the last chunk: sends nothing
        c.send_chunked("data: " + big + "\n\n");
        c.end_chunked();
    });
    raw_client client(server.port());
    REQUIRE(client.connected());
    CHECK(client.send(get("/events")));
    auto const got = client.read_to_end();
    CHECK(got.eof);

    auto const head_end = got.bytes.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    CHECK(got.bytes.substr(0, head_end + 4) == support::sse_chunked_head());
    std::string_view const framed = std::string_view(got.bytes).substr(head_end + 4);
    CHECK(framed.substr(0, 11) == "9\r\ndata: a\n");
    CHECK(framed.substr(framed.size() - 5) == "0\r\n\r\n");

    sse::http::chunked_decoder decoder;
    std::string decoded;
    sse::error_code ec;
    auto const used = decoder.feed(framed, [&](std::string_view d) { decoded.append(d); }, ec);
    CHECK_FALSE(ec);
    CHECK(decoder.done());
    CHECK(used == framed.size());
    CHECK(decoded == "data: a\n\ndata: " + big + "\n\n");
}

TEST_CASE("script_server: stop() wakes handlers blocked in pause, wait_for_close, send and reading")
{
    std::atomic<bool> paused_returned{false};
    std::atomic<int> wait_result{-1};
    std::atomic<int> send_result{-1};
    script_server server([&](script_server::connection& c, support::recorded_request const& r) {
        if (r.target == "/pause") {
            c.pause(60s);
            paused_returned = true;
        }
        else if (r.target == "/wait")
            wait_result = c.wait_for_close(60s);
        else {
            // The client never reads, so the buffers fill and a send blocks.
            std::string const block(64 * 1024, 'x');
            while (c.send(block)) {}
            send_result = 0;
        }
    });

    raw_client pause_client(server.port()), wait_client(server.port()), send_client(server.port());
    raw_client mute_client(server.port());   // connects and never sends a request
    REQUIRE(pause_client.connected());
    REQUIRE(wait_client.connected());
    REQUIRE(send_client.connected());
    REQUIRE(mute_client.connected());
    CHECK(pause_client.send(get("/pause")));
    CHECK(wait_client.send(get("/wait")));
    CHECK(send_client.send(get("/send")));
    REQUIRE(server.wait_for_requests(3, 5s));

    auto const start = std::chrono::steady_clock::now();
    server.stop();
    auto const took = std::chrono::steady_clock::now() - start;
    CHECK(took < 2s);
    CHECK(paused_returned);
    CHECK(wait_result == 0);
    CHECK(send_result == 0);
    CHECK(server.connections_open() == 0);
    CHECK(server.first_handler_error().empty());

    // After stop() nothing waits: a missing request is reported at once.
    auto const again = std::chrono::steady_clock::now();
    CHECK_FALSE(server.wait_for_requests(4, 10s));
    CHECK(std::chrono::steady_clock::now() - again < 2s);
    server.stop();   // idempotent
}

TEST_CASE("script_server: a handler's exception is caught and reported")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
        throw std::runtime_error("boom");
    });
    raw_client client(server.port());
    REQUIRE(client.connected());
    CHECK(client.send(get("/events")));
    auto const got = client.read_to_end();
    CHECK(got.eof);
    CHECK(got.bytes == support::sse_head());
    CHECK(server.first_handler_error() == "boom");
}

TEST_CASE("script_server: abort() resets the connection")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) { c.abort(); });
    raw_client client(server.port());
    REQUIRE(client.connected());
    CHECK(client.send(get("/events")));
    auto const got = client.read_to_end();
    CHECK(got.reset);
    CHECK(got.bytes.empty());
    CHECK(server.connections_open() == 0);
}

TEST_CASE("script_server: ipv6 mode listens on ::1")
{
    if (!can_bind_ipv6_loopback()) {
        MESSAGE("::1 cannot be bound on this machine: the ipv6 mode of script_server was NOT tested");
        return;
    }
    support::script_server_options o;
    o.ipv6 = true;
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(200, "OK", "", "six"));
    }, o);
    CHECK(server.url("/events") == "http://[::1]:" + std::to_string(server.port()) + "/events");

    raw_client client(server.port(), true);
    REQUIRE(client.connected());
    CHECK(client.send(get("/events")));
    auto const got = client.read_to_end();
    CHECK(got.eof);
    CHECK(got.bytes == "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nsix");
    REQUIRE(server.request_count() == 1);
    CHECK(server.requests()[0].target == "/events");
}
