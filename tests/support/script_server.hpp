// tests/support/script_server.hpp - a scripted raw HTTP/1.1 server for testing an SSE client.
//
// Plain POSIX sockets and threads, and no sse header, so that it shares no code
// with the client under test. It listens on 127.0.0.1 (or ::1) port 0. Each
// accepted connection gets its own thread, which reads one request head (and a
// Content-Length body), records it, and then runs the test's handler, which
// writes whatever bytes the test wants, at whatever pace:
//
//     support::script_server server([](auto& c, auto const& request) {
//         c.send(support::sse_head());
//         c.send_in_pieces("data: a\n\n", 1, 5ms);
//         c.wait_for_close(5s);
//     });
//     client.open(server.url("/events"));
//     CHECK(server.wait_for_requests(1, 5s));
//
// Every blocking wait (accept, reading the request, send, pause,
// wait_for_close) polls a pipe that stop() makes readable, so stopping wakes
// them all at once and never races with a socket being closed and its number
// reused. Handlers run concurrently, one per connection, and must not call
// stop(). One request is read per connection: the connection closes when the
// handler returns, so a client that reuses connections finds it closed.
#ifndef SSE_TESTS_SUPPORT_SCRIPT_SERVER_HPP
#define SSE_TESTS_SUPPORT_SCRIPT_SERVER_HPP

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace support {

/// One request as the server read it.
struct recorded_request
{
    std::string method;
    std::string target;
    std::string version;
    std::vector<std::pair<std::string, std::string>> headers;   // in order, values trimmed
    std::string body;                                           // Content-Length octets, if any
    std::chrono::steady_clock::time_point at;                   // when it had been read whole
    std::size_t connection_index = 0;

    /// The value of the first header called `name`, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const
    {
        for (auto const& h : headers)
            if (equal_nocase(h.first, name))
                return h.second;
        return std::nullopt;
    }

    static bool equal_nocase(std::string_view a, std::string_view b)
    {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                                  [&](char x, char y) { return lower(x) == lower(y); });
    }
};

struct script_server_options
{
    bool ipv6 = false;                   // listen on ::1 instead of 127.0.0.1
    std::size_t max_head = 64 * 1024;    // a longer request head closes the connection unanswered
};

/// The head of a 200 event stream whose body runs until the connection closes.
/// `extra_headers` are whole lines, each ending in CRLF.
inline std::string sse_head(std::string_view extra_headers = "")
{
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
    head.append(extra_headers.data(), extra_headers.size());
    return head + "\r\n";
}

/// The head of a 200 event stream with a chunked body: follow it with send_chunked() and end_chunked().
inline std::string sse_chunked_head(std::string_view extra_headers = "")
{
    return sse_head(std::string("Transfer-Encoding: chunked\r\n").append(extra_headers));
}

/// A whole response with Content-Length, which RFC 9110 8.6 forbids on 1xx and 204 and which
/// a 304 would have to copy from a 200, so those get none.
inline std::string status_response(int status, std::string_view reason, std::string_view extra_headers = "",
                                   std::string_view body = "")
{
    std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
    r.append(reason.data(), reason.size()).append("\r\n").append(extra_headers.data(), extra_headers.size());
    if (status >= 200 && status != 204 && status != 304)
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r += "\r\n";
    return r.append(body.data(), body.size());
}

class script_server
{
public:
    class connection;
    using handler_type = std::function<void(connection&, recorded_request const&)>;
    using options = script_server_options;

    /// Listens and starts accepting. Throws std::system_error if it cannot listen.
    explicit script_server(handler_type handler, options o = {})
        : handler_(std::move(handler)), options_(o)
    {
        if (::pipe2(wake_, O_CLOEXEC) != 0)
            throw std::system_error(errno, std::generic_category(), "script_server: pipe2");
        listen_fd_ = ::socket(o.ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_storage addr{};
        socklen_t size = 0;
        if (o.ipv6) {
            auto& a = reinterpret_cast<sockaddr_in6&>(addr);
            a.sin6_family = AF_INET6;
            a.sin6_addr = in6addr_loopback;
            size = sizeof a;
        }
        else {
            auto& a = reinterpret_cast<sockaddr_in&>(addr);
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            size = sizeof a;
        }
        auto* const sa = reinterpret_cast<sockaddr*>(&addr);
        if (listen_fd_ < 0 || ::bind(listen_fd_, sa, size) != 0 || ::listen(listen_fd_, 64) != 0
            || ::getsockname(listen_fd_, sa, &size) != 0) {
            int const e = errno;
            close_fds();
            throw std::system_error(e, std::generic_category(), "script_server: listen");
        }
        port_ = ntohs(o.ipv6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                             : reinterpret_cast<sockaddr_in&>(addr).sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }

    script_server(script_server const&) = delete;
    script_server& operator=(script_server const&) = delete;

    ~script_server()
    {
        stop();
        close_fds();
    }

    unsigned short port() const noexcept { return port_; }

    /// `http://127.0.0.1:PORT/path`, or `http://[::1]:PORT/path`.
    std::string url(std::string path = "/") const
    {
        if (path.empty() || path.front() != '/')
            path.insert(0, 1, '/');
        return std::string(options_.ipv6 ? "http://[::1]:" : "http://127.0.0.1:") + std::to_string(port_) + path;
    }

    /** Stops accepting, wakes every handler blocked in this server's calls (they
        then fail or return early), and joins every thread. Idempotent; not to be
        called from a handler.
    */
    void stop()
    {
        std::lock_guard<std::mutex> once(stop_mutex_);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_)
                return;
            stopping_ = true;
        }
        requests_changed_.notify_all();
        char const byte = 0;
        // The pipe is never read: once written it stays readable for every poll.
        while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {}
        acceptor_.join();
        std::vector<std::unique_ptr<worker>> workers;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            workers.swap(workers_);
        }
        for (auto& w : workers)
            if (w->thread.joinable())
                w->thread.join();
        ::close(listen_fd_);   // frees the port now rather than at destruction
        listen_fd_ = -1;
    }

    std::vector<recorded_request> requests() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_;
    }

    std::size_t request_count() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return requests_.size();
    }

    /// Waits until `n` requests have been recorded; false if `limit` passes or the server stops first.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds limit) const
    {
        std::unique_lock<std::mutex> lock(mutex_);
        requests_changed_.wait_for(lock, limit, [&] { return requests_.size() >= n || stopping_; });
        return requests_.size() >= n;
    }

    /// Connections accepted and not yet closed by this side. A connection is no
    /// longer counted by the time its peer can see the close.
    std::size_t connections_open() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return open_;
    }

    /// Connections accepted so far, including those closed before sending a whole request.
    std::size_t connections_accepted() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return accepted_;
    }

    /// What the first handler to throw threw (`what()`), or empty if none has.
    std::string first_handler_error() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return handler_error_;
    }

private:
    enum class wait_result { ready, timeout, stopping };

    struct worker
    {
        std::thread thread;
        bool done = false;   // guarded by mutex_; set when the thread is about to return
    };

    /// Waits for `events` on `fd` (or only for time to pass if `fd` is -1), for
    /// `deadline` if it has one, or for stop(). Errors and hang-ups count as ready,
    /// so the following recv or send reports them.
    wait_result await(int fd, short events, std::optional<std::chrono::steady_clock::time_point> deadline) const
    {
        for (;;) {
            pollfd p[2] = {{wake_[0], POLLIN, 0}, {fd, events, 0}};
            int timeout = -1;
            if (deadline) {
                auto const left = std::chrono::ceil<std::chrono::milliseconds>(
                    *deadline - std::chrono::steady_clock::now());
                timeout = static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX));
            }
            int const n = ::poll(p, fd >= 0 ? 2 : 1, timeout);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 || p[0].revents != 0)
                return wait_result::stopping;
            if (n == 0)
                return wait_result::timeout;
            return wait_result::ready;
        }
    }

    void accept_loop()
    {
        while (await(listen_fd_, POLLIN, std::nullopt) == wait_result::ready) {
            int const fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                    await(-1, 0, std::chrono::steady_clock::now() + std::chrono::milliseconds(10));
                continue;   // also EAGAIN, ECONNABORTED: the peer went before we took it
            }
            int const one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);   // pieces leave as sent
            reap();
            std::lock_guard<std::mutex> lock(mutex_);
            std::size_t const index = accepted_++;
            ++open_;
            workers_.push_back(std::make_unique<worker>());
            worker& w = *workers_.back();
            try {
                w.thread = std::thread([this, &w, fd, index] { serve(w, fd, index); });
            }
            catch (std::exception const& e) {
                --open_;
                ::close(fd);
                if (handler_error_.empty())
                    handler_error_ = std::string("script_server: no thread: ") + e.what();
            }
        }
    }

    /// Joins the threads of finished connections, so a reconnecting client does not pile them up.
    void reap()
    {
        std::vector<std::unique_ptr<worker>> finished;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto const split = std::stable_partition(workers_.begin(), workers_.end(),
                                                     [](auto const& w) { return !w->done; });
            std::move(split, workers_.end(), std::back_inserter(finished));
            workers_.erase(split, workers_.end());
        }
        for (auto& w : finished)
            w->thread.join();
    }

    inline void serve(worker& w, int fd, std::size_t index);

    static std::string_view trim(std::string_view s)
    {
        while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
            s.remove_prefix(1);
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    }

    /// Fills `r` from a request head without its final CRLFCRLF. Lenient: this
    /// server records what the client sent; the tests judge it.
    static void parse_head(std::string_view head, recorded_request& r)
    {
        auto next_line = [&head] {
            auto const end = head.find("\r\n");
            auto const line = head.substr(0, end);
            head.remove_prefix(end == std::string_view::npos ? head.size() : end + 2);
            return line;
        };
        std::string_view line = next_line();
        auto word = [&line] {
            auto const space = line.find(' ');
            auto const w = line.substr(0, space);
            line.remove_prefix(space == std::string_view::npos ? line.size() : space + 1);
            return std::string(w);
        };
        r.method = word();
        r.target = word();
        r.version = std::string(line);
        while (!head.empty()) {
            line = next_line();
            auto const colon = line.find(':');
            if (colon != std::string_view::npos)
                r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
        }
    }

    void close_fds()
    {
        for (int* fd : {&listen_fd_, &wake_[0], &wake_[1]})
            if (*fd >= 0) {
                ::close(*fd);
                *fd = -1;
            }
    }

    handler_type handler_;
    options options_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};   // stop() writes to [1]; every wait polls [0]
    unsigned short port_ = 0;
    std::thread acceptor_;
    std::mutex stop_mutex_;

    mutable std::mutex mutex_;   // guards everything below
    mutable std::condition_variable requests_changed_;
    bool stopping_ = false;
    std::vector<std::unique_ptr<worker>> workers_;
    std::vector<recorded_request> requests_;
    std::size_t accepted_ = 0;
    std::size_t open_ = 0;
    std::string handler_error_;
};

/** One accepted connection, handed to the handler on the connection's own thread.
    Use it from that thread only. It closes when the handler returns.
*/
class script_server::connection
{
public:
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;
    ~connection() { close(); }

    /// 0 for the first connection the server accepted, 1 for the next, and so on.
    std::size_t index() const noexcept { return index_; }

    /// True once the server is stopping: every call here then fails or returns at once.
    bool stopping() const { return server_.await(-1, 0, std::chrono::steady_clock::now()) == wait_result::stopping; }

    /// Sends all of `bytes`. False if the peer is gone, this side closed, or the server stops.
    bool send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            if (fd_ < 0 || server_.await(fd_, POLLOUT, std::nullopt) != wait_result::ready)
                return false;
            ssize_t const n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue;
            if (n <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /** Sends `bytes` as separate writes of `piece` octets (the last may be shorter),
        pausing `gap` between them. With no gap the peer may still read several
        pieces at once; a gap of a few milliseconds makes separate reads likely.
    */
    bool send_in_pieces(std::string_view bytes, std::size_t piece,
                        std::chrono::milliseconds gap = std::chrono::milliseconds(0))
    {
        piece = std::max<std::size_t>(piece, 1);
        while (!bytes.empty()) {
            if (!send(bytes.substr(0, piece)))
                return false;
            bytes.remove_prefix(std::min(piece, bytes.size()));
            if (!bytes.empty() && gap.count() > 0)
                pause(gap);
        }
        return true;
    }

    /// Sends `body_piece` as one chunk. An empty piece sends nothing, as it would be the last chunk.
    bool send_chunked(std::string_view body_piece)
    {
        if (body_piece.empty())
            return true;
        char size[32];
        std::snprintf(size, sizeof size, "%zx\r\n", body_piece.size());
        return send(std::string(size).append(body_piece.data(), body_piece.size()).append("\r\n"));
    }

    /// Sends the last chunk and an empty trailer section.
    bool end_chunked() { return send("0\r\n\r\n"); }

    /// Waits `d`, or less if the server stops.
    void pause(std::chrono::milliseconds d) { server_.await(-1, 0, std::chrono::steady_clock::now() + d); }

    /** Reads and discards until the peer closes (or resets) the connection: true.
        False if `limit` passes, the server stops, or this side already closed.
    */
    bool wait_for_close(std::chrono::milliseconds limit)
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        while (fd_ >= 0 && server_.await(fd_, POLLIN, deadline) == wait_result::ready) {
            char buffer[4096];
            ssize_t const n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return true;
        }
        return false;
    }

    /// Closes gracefully: the peer reads the end of the stream. Idempotent.
    void close()
    {
        if (fd_ < 0)
            return;
        // Unread input would make close() send a reset instead of a FIN.
        char buffer[4096];
        while (::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {}
        release();
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        fd_ = -1;
    }

    /// Closes abortively: the peer gets a TCP reset (ECONNRESET) rather than an end of stream.
    void abort()
    {
        if (fd_ < 0)
            return;
        linger const l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        release();
        ::close(fd_);
        fd_ = -1;
    }

private:
    friend class script_server;

    connection(script_server& server, int fd, std::size_t index) : server_(server), fd_(fd), index_(index) {}

    // Uncounted before the peer can see the close, so a test that saw it may rely on the count.
    void release()
    {
        std::lock_guard<std::mutex> lock(server_.mutex_);
        --server_.open_;
    }

    /// Reads one request head and its Content-Length body into `r`; false if the
    /// peer closes first, the head is too long, or the server stops.
    bool read_request(recorded_request& r)
    {
        std::string buffer;
        std::size_t end = std::string::npos;
        for (std::size_t searched = 0; (end = buffer.find("\r\n\r\n", searched)) == std::string::npos;) {
            searched = buffer.size() < 3 ? 0 : buffer.size() - 3;   // the terminator may straddle reads
            if (buffer.size() > server_.options_.max_head || !receive(buffer))
                return false;
        }
        parse_head(std::string_view(buffer).substr(0, end), r);
        std::size_t length = 0;
        if (auto const v = r.header("Content-Length"))
            for (char c : *v) {
                if (c < '0' || c > '9') {
                    length = 0;   // not a length: read no body
                    break;
                }
                length = length * 10 + static_cast<std::size_t>(c - '0');
            }
        r.body = buffer.substr(end + 4);
        while (r.body.size() < length)
            if (!receive(r.body))
                return false;
        r.body.resize(length);   // a pipelined request after it is dropped
        r.at = std::chrono::steady_clock::now();
        r.connection_index = index_;
        return true;
    }

    bool receive(std::string& to)
    {
        for (;;) {
            if (server_.await(fd_, POLLIN, std::nullopt) != wait_result::ready)
                return false;
            char buffer[4096];
            ssize_t const n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
            if (n > 0) {
                to.append(buffer, static_cast<std::size_t>(n));
                return true;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return false;
        }
    }

    script_server& server_;
    int fd_;
    std::size_t index_;
};

inline void script_server::serve(worker& w, int fd, std::size_t index)
{
    {
        connection c(*this, fd, index);
        recorded_request r;
        if (c.read_request(r)) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                requests_.push_back(r);
            }
            requests_changed_.notify_all();
            std::string error;
            try {
                handler_(c, r);
            }
            catch (std::exception const& e) {
                error = e.what();
                if (error.empty())
                    error = "(an exception with an empty what())";
            }
            catch (...) {
                error = "(an exception not derived from std::exception)";
            }
            if (!error.empty()) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (handler_error_.empty())
                    handler_error_ = error;
            }
        }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    w.done = true;
}

/// A handler that answers with a 200 event stream carrying `body`, then waits
/// for the client to close (at most 5 s).
inline script_server::handler_type stream_of(std::string body)
{
    return [body = std::move(body)](script_server::connection& c, recorded_request const&) {
        c.send(sse_head() + body);
        c.wait_for_close(std::chrono::seconds(5));
    };
}

/// A server whose streams send their head, then hold `body` back until
/// release(): for tests that need an operation pending while nothing arrives.
class held_stream
{
public:
    explicit held_stream(std::string body)
        : server([released = released_, body = std::move(body)](script_server::connection& c, recorded_request const&) {
              c.send(sse_head());
              released.wait_for(std::chrono::seconds(5));
              c.send(body);
              c.wait_for_close(std::chrono::seconds(5));
          })
    {
    }

    ~held_stream() { release(); }   // the server's threads must not wait out their 5 s

    void release()
    {
        if (!released_once_.exchange(true))
            go_.set_value();
    }

private:
    std::promise<void> go_;
    std::shared_future<void> released_ = go_.get_future().share();
    std::atomic<bool> released_once_{false};

public:
    script_server server;
};

} // namespace support

#endif
