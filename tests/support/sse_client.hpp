// tests/support/sse_client.hpp - a small blocking event-stream client for loopback tests.
//
// Plain POSIX sockets, so that it shares nothing with the code under test but
// the parsers: connects to 127.0.0.1:port, sends a GET (with Last-Event-ID if
// asked), parses the response head with http::response_parser and the body with
// sse::parser, and records every item (event, retry, comment) in arrival order.
// A client that is not read simulates a slow consumer; a tiny SO_RCVBUF, set
// before connecting, makes it stall quickly.
#ifndef SSE_TESTS_SUPPORT_SSE_CLIENT_HPP
#define SSE_TESTS_SUPPORT_SSE_CLIENT_HPP

#include <sse/http/response_parser.hpp>
#include <sse/parser.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace support {

/// One thing the client read, in order.
struct sse_item
{
    enum kind_type { event, retry, comment } kind = event;
    std::string type;   // event: its type ("message" by default)
    std::string data;   // event: its data; comment: its text
    std::string id;     // event: the last event id as of this event
    std::chrono::milliseconds retry_ms{};   // retry: the value
    std::chrono::steady_clock::time_point at;   // when it was read
};

/// The numeric sequence of an id "<epoch>-<seq>", 0 if it has none.
inline std::uint64_t id_seq(std::string_view id)
{
    auto const dash = id.rfind('-');
    if (dash == std::string_view::npos)
        return 0;
    std::uint64_t n = 0;
    for (char c : id.substr(dash + 1)) {
        if (c < '0' || c > '9')
            return 0;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return n;
}

class sse_client
{
public:
    struct options
    {
        std::string target = "/events";
        std::optional<std::string> last_event_id;
        int receive_buffer = 0;   // SO_RCVBUF before connecting; 0: the kernel's default
        bool send_request = true; // false: connect only, as a client that never sends its head
    };

    sse_client() = default;
    sse_client(sse_client const&) = delete;
    sse_client& operator=(sse_client const&) = delete;
    ~sse_client() { close(); }

    /// Connects and sends the request. False if either fails. One connection per object.
    bool connect(unsigned short port) { return connect(port, options{}); }

    bool connect(unsigned short port, options const& o)
    {
        if (fd_ >= 0 || head_done_ || eof_)
            return false;
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0)
            return false;
        if (o.receive_buffer > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &o.receive_buffer, sizeof o.receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) != 0)
            return fail();
        if (!o.send_request)
            return true;
        std::string request = "GET " + o.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
        if (o.last_event_id)
            request += "Last-Event-ID: " + *o.last_event_id + "\r\n";
        request += "\r\n";
        std::string_view rest = request;
        while (!rest.empty()) {
            ssize_t const n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
            if (n <= 0)
                return fail();
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Closes the connection (abruptly if bytes are unread).
    void close()
    {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }

    int fd() const noexcept { return fd_; }
    bool open() const noexcept { return fd_ >= 0 && !eof_; }

    /// Reads once what the socket has (waiting up to `wait`) and parses it.
    /// Returns false once the connection has ended (then eof() is true).
    bool pump(std::chrono::milliseconds wait)
    {
        if (fd_ < 0 || eof_)
            return false;
        pollfd p{fd_, POLLIN, 0};
        int const r = ::poll(&p, 1, static_cast<int>(wait.count()));
        if (r <= 0)
            return true;
        return read_available();
    }

    /// Reads until `done()` holds or the connection ends or `limit` passes; returns `done()`.
    template<class Predicate>
    bool read_until(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(5))
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline || !pump(std::chrono::milliseconds(20)))
                return done();
        }
        return true;
    }

    /// Reads until the server closes the connection, within `limit`; returns eof().
    bool read_to_end(std::chrono::milliseconds limit = std::chrono::seconds(5))
    {
        return read_until([this] { return eof_; }, limit);
    }

    // What was read.
    bool head_done() const noexcept { return head_done_; }
    int status() const noexcept { return status_; }
    bool is_event_stream() const noexcept { return event_stream_; }
    bool eof() const noexcept { return eof_; }
    bool failed() const noexcept { return failed_; }
    std::string const& body() const noexcept { return body_; }
    std::vector<sse_item> const& items() const noexcept { return items_; }
    std::size_t event_count() const noexcept { return events_; }
    std::size_t comment_count() const noexcept { return comments_; }
    std::string const& last_event_id() const noexcept { return parser_.last_event_id(); }

    std::vector<sse_item> events() const
    {
        std::vector<sse_item> out;
        for (auto const& i : items_)
            if (i.kind == sse_item::event)
                out.push_back(i);
        return out;
    }

    /// Reads what is available without waiting; false once the connection has ended.
    bool read_available()
    {
        char buffer[16 * 1024];
        for (;;) {
            ssize_t const n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                eof_ = true;
                parser_.finish();
                return false;
            }
            if (n < 0)
                return true;
            consume(std::string_view(buffer, static_cast<std::size_t>(n)));
            if (static_cast<std::size_t>(n) < sizeof buffer)
                return true;
        }
    }

private:
    bool fail()
    {
        close();
        failed_ = true;
        return false;
    }

    void consume(std::string_view bytes)
    {
        if (!head_done_) {
            sse::error_code ec;
            std::size_t const used = head_.feed(bytes, ec);
            if (ec) {
                failed_ = true;
                return;
            }
            if (!head_.done())
                return;
            head_done_ = true;
            status_ = head_.get().status();
            event_stream_ = head_.get().is_event_stream();
            bytes.remove_prefix(used);
        }
        body_.append(bytes.data(), bytes.size());
        auto const now = std::chrono::steady_clock::now();
        sse::error_code ec;
        for (;;) {
            auto const what = parser_.next(bytes, ec);
            if (ec) {
                failed_ = true;
                return;
            }
            if (what == sse::parse_item::need_more)
                return;
            sse_item item;
            item.at = now;
            if (what == sse::parse_item::event) {
                auto const e = parser_.event();
                item.kind = sse_item::event;
                item.type.assign(e.type);
                item.data.assign(e.data);
                item.id.assign(e.last_event_id);
                ++events_;
            }
            else if (what == sse::parse_item::retry) {
                item.kind = sse_item::retry;
                item.retry_ms = *parser_.retry();
            }
            else {
                item.kind = sse_item::comment;
                item.data.assign(parser_.comment());
                ++comments_;
            }
            items_.push_back(std::move(item));
        }
    }

    int fd_ = -1;
    sse::http::response_parser head_;
    sse::parser parser_;
    std::string body_;
    std::vector<sse_item> items_;
    std::size_t events_ = 0;
    std::size_t comments_ = 0;
    int status_ = 0;
    bool head_done_ = false;
    bool event_stream_ = false;
    bool eof_ = false;
    bool failed_ = false;
};

/// Reads several clients from one thread until `done()` holds or `limit` passes.
template<class Predicate>
bool read_all(std::vector<sse_client*> const& clients, Predicate done,
              std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    std::vector<pollfd> fds;
    std::vector<sse_client*> open;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return done();
        fds.clear();
        open.clear();
        for (auto* c : clients)
            if (c->open()) {
                fds.push_back({c->fd(), POLLIN, 0});
                open.push_back(c);
            }
        if (fds.empty())
            return done();
        if (::poll(fds.data(), fds.size(), 20) <= 0)
            continue;
        for (std::size_t i = 0; i < fds.size(); ++i)
            if (fds[i].revents != 0)
                open[i]->read_available();
    }
    return true;
}

} // namespace support

#endif
