// loopback.hpp - the server in-process on 127.0.0.1 port 0, a blocking HTTP client, and an
// event_source that records what it receives. For server_test.cpp.
#ifndef SSE_SERVER_TESTS_LOOPBACK_HPP
#define SSE_SERVER_TESTS_LOOPBACK_HPP

#include "server.hpp"

#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/http/fields.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace loopback {

using namespace std::chrono_literals;
using json = nlohmann::json;
using headers = std::vector<std::pair<std::string, std::string>>;

/// The JWT secret of the tests' configurations that require tokens.
inline std::string const secret = "0123456789abcdef0123456789abcdef-test";

/// The wall clock as the server's JSON carries it, for "about now" checks.
inline long long now_ms()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// The wall clock in seconds, as JWT claims (`exp`) carry it.
inline long long now_s() { return now_ms() / 1000; }

/// The demo configuration on port 0, with short timers and a quiet log.
inline app::config test_config()
{
    app::config c;
    c.port = 0;
    c.threads = 2;
    c.heartbeat = 0ms;
    c.retry = 1000ms;
    c.shutdown_deadline = 1s;
    c.write_timeout = 2s;
    c.log = app::log_level::debug;
    return c;
}

/// A running server whose log lines are kept for inspection.
class fixture
{
public:
    explicit fixture(app::config c = test_config())
        : log_(std::make_shared<log_lines>()),
          server_(std::move(c), [log = log_](std::string_view line) { log->add(line); })
    {
        server_.start();
    }

    app::server& server() noexcept { return server_; }
    unsigned short port() const { return server_.endpoint().port(); }

    /// The log entries whose "event" is `event`.
    std::vector<json> log(std::string const& event) const { return log_->matching(event); }

    /// Waits until `done()` holds; false after `limit`.
    template<class Predicate>
    static bool eventually(Predicate done, std::chrono::milliseconds limit = 5s)
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline)
                return done();
            std::this_thread::sleep_for(1ms);   // polling another thread's state: nothing to wait on
        }
        return true;
    }

private:
    struct log_lines
    {
        void add(std::string_view line)
        {
            std::lock_guard<std::mutex> lock(mutex);
            lines.push_back(json::parse(line));
        }
        std::vector<json> matching(std::string const& event) const
        {
            std::lock_guard<std::mutex> lock(mutex);
            std::vector<json> out;
            for (auto const& l : lines)
                if (l.value("event", "") == event)
                    out.push_back(l);
            return out;
        }
        mutable std::mutex mutex;
        std::vector<json> lines;
    };

    std::shared_ptr<log_lines> log_;
    app::server server_;
};

/// A complete HTTP response.
struct reply
{
    int status = 0;
    int interim = 0;   ///< the status of a 1xx response before it, if any
    headers fields;
    std::string body;

    /// The value of the first field `name` (any case).
    std::optional<std::string> header(std::string_view name) const
    {
        for (auto const& [n, v] : fields)
            if (sse::http::iequals(n, name))
                return v;
        return std::nullopt;
    }

    json body_json() const { return json::parse(body); }
};

/** True if `raw` holds a whole final response framed by Content-Length (or one
    without a body: 204, 304), after any 1xx.
*/
inline bool complete_response(std::string_view raw)
{
    for (;;) {
        auto const end = raw.find("\r\n\r\n");
        if (end == std::string_view::npos || raw.substr(0, 9) != "HTTP/1.1 " || raw.size() < 12)
            return false;
        std::string_view const head = raw.substr(0, end + 2);
        if (raw[9] == '1') {
            raw.remove_prefix(end + 4);
            continue;
        }
        if (raw.substr(9, 3) == "204" || raw.substr(9, 3) == "304")
            return true;
        std::size_t const at = head.find("\r\nContent-Length: ");
        if (at == std::string_view::npos)
            return false;   // a stream, or framed by the close
        std::size_t const length = std::stoul(std::string(head.substr(at + 18, head.find("\r\n", at + 2) - at - 18)));
        return raw.size() >= end + 4 + length;
    }
}

/** A response as read (head and body), parsed; status 0 if it has no whole head.
    A 1xx response before it is skipped and noted in `interim`.
*/
inline reply parse_reply(std::string raw)
{
    reply out;
    auto end = raw.find("\r\n\r\n");
    if (raw.compare(0, 10, "HTTP/1.1 1") == 0 && end != std::string::npos) {
        out.interim = std::stoi(raw.substr(9, 3));
        raw.erase(0, end + 4);
        end = raw.find("\r\n\r\n");
    }
    if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos)
        return out;
    out.status = std::stoi(raw.substr(9, 3));
    std::size_t line = raw.find("\r\n") + 2;
    while (line < end) {
        auto const next = raw.find("\r\n", line);
        auto const colon = raw.find(':', line);
        out.fields.emplace_back(raw.substr(line, colon - line), raw.substr(colon + 2, next - colon - 2));
        line = next + 2;
    }
    out.body = raw.substr(end + 4);
    return out;
}

/** Sends `bytes` over a new connection as they are, and reads the response
    until its end or until the server closes the connection (or, with
    `head_only`, until the end of the head). A 1xx response before it is skipped and noted in `interim`. With
    `after_interim`, those bytes are sent once a first head has arrived, as a
    client that sent `Expect: 100-continue` does.
*/
inline reply exchange(unsigned short port, std::string const& bytes, bool head_only = false,
                      std::optional<std::string> const& after_interim = std::nullopt)
{
    reply out;
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) != 0) {
        if (fd >= 0)
            ::close(fd);
        return out;
    }
    for (std::string_view rest = bytes; !rest.empty();) {
        ssize_t const n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0)
            break;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string raw;
    auto const deadline = std::chrono::steady_clock::now() + 5s;
    bool waiting_for_interim = after_interim.has_value();
    while (std::chrono::steady_clock::now() < deadline) {
        if (waiting_for_interim && raw.find("\r\n\r\n") != std::string::npos) {
            // The interim answer came: now the body, as a client that waits for it sends it.
            waiting_for_interim = false;
            for (std::string_view rest = *after_interim; !rest.empty();) {
                ssize_t const n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
                if (n <= 0)
                    break;
                rest.remove_prefix(static_cast<std::size_t>(n));
            }
        }
        if (head_only && raw.find("\r\n\r\n") != std::string::npos)
            break;
        // API connections stay open after the answer (keep-alive): stop at its end.
        if (!waiting_for_interim && complete_response(raw))
            break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0)
            continue;
        char buffer[16 * 1024];
        ssize_t const n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0)
            break;
        raw.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return parse_reply(std::move(raw));
}

/** Sends one request over a new connection, as exchange() does. Adds Host and
    Content-Length (unless a Transfer-Encoding is given).
*/
inline reply http(unsigned short port, std::string const& method, std::string const& target,
                  headers const& fields = {}, std::optional<std::string> const& body = std::nullopt,
                  bool head_only = false)
{
    std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool chunked = false;
    for (auto const& [n, v] : fields) {
        request += n + ": " + v + "\r\n";
        chunked = chunked || sse::http::iequals(n, "Transfer-Encoding");
    }
    if (body && !chunked)
        request += "Content-Length: " + std::to_string(body->size()) + "\r\n";
    request += "\r\n";
    if (body)
        request += *body;
    return exchange(port, request, head_only);
}

inline reply get(unsigned short port, std::string const& target, headers const& fields = {})
{
    return http(port, "GET", target, fields);
}

inline reply post(unsigned short port, std::string const& target, json const& body, headers const& fields = {})
{
    return http(port, "POST", target, fields, body.dump());
}

/// One event as the client saw it.
struct received
{
    std::string type;
    std::string data;
    std::string id;
    std::chrono::system_clock::time_point at;

    json data_json() const { return json::parse(data); }
};

/** An sse::event_source on its own thread that records every event and state
    change. Does not reconnect unless asked to. Its TLS socket speaks http too.
*/
class reader
{
public:
    reader(unsigned short port, std::string const& target, sse::event_source_options options = {},
           bool reconnect = false)
        : reader("http://127.0.0.1:" + std::to_string(port) + target, std::move(options), reconnect)
    {
    }

    reader(std::string const& url, sse::event_source_options options, bool reconnect)
    {
        options.reconnect = reconnect;
        source_.emplace(io_.get_executor(), url, options);
        source_->on_event([this](sse::event_view const& e) {
            std::lock_guard<std::mutex> lock(mutex_);
            events_.push_back({std::string(e.type), std::string(e.data), std::string(e.last_event_id),
                               std::chrono::system_clock::now()});
            changed_.notify_all();
        });
        source_->on_state([this](sse::source_state s, sse::error_code) {
            std::lock_guard<std::mutex> lock(mutex_);
            states_.push_back(s);
            changed_.notify_all();
        });
        source_->start();
        thread_ = std::thread([this] { io_.run(); });
    }

    reader(reader const&) = delete;
    reader& operator=(reader const&) = delete;
    ~reader() { close(); }

    /// Closes the source and stops its thread.
    void close()
    {
        if (!thread_.joinable())
            return;
        source_->close();
        thread_.join();
    }

    std::vector<received> events() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return events_;
    }

    /// The events of `type`, in order.
    std::vector<received> events(std::string const& type) const
    {
        std::vector<received> out;
        for (auto& e : events())
            if (e.type == type)
                out.push_back(e);
        return out;
    }

    /// Waits until `count` events of `type` have arrived.
    bool wait_for(std::string const& type, std::size_t count = 1, std::chrono::milliseconds limit = 5s)
    {
        return wait([&] {
            std::size_t n = 0;
            for (auto const& e : events_)
                n += e.type == type;
            return n >= count;
        }, limit);
    }

    /// Waits until the source ended: the stream closed and no reconnect follows.
    bool wait_ended(std::chrono::milliseconds limit = 5s)
    {
        return wait([&] {
            return !states_.empty() &&
                   (states_.back() == sse::source_state::closed || states_.back() == sse::source_state::failed);
        }, limit);
    }

    /// Waits until the stream has been opened `count` times.
    bool wait_opened(std::size_t count = 1, std::chrono::milliseconds limit = 5s)
    {
        return wait([&] {
            std::size_t n = 0;
            for (auto s : states_)
                n += s == sse::source_state::open;
            return n >= count;
        }, limit);
    }

    sse::event_source_stats stats() const { return source_->stats(); }

private:
    template<class Predicate>
    bool wait(Predicate done, std::chrono::milliseconds limit)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, limit, done);
    }

    asio::io_context io_;
    std::optional<sse::event_source<sse::tls_socket>> source_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<received> events_;
    std::vector<sse::source_state> states_;
};

} // namespace loopback

#endif
