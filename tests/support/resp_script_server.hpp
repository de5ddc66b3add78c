// tests/support/resp_script_server.hpp - a fake Redis that answers what the test scripts.
//
// Plain POSIX sockets and one thread, for replies a real Redis 7 never sends (an
// unknown XADD, MOVED, NOSCRIPT) or that no Redis sends (garbage). It listens on
// 127.0.0.1 port 0 and serves one connection at a time with the test's handler:
//
//     support::resp_script_server fake([](auto& c) {
//         auto const cmds = c.read_commands(1);          // parsed with hiredis's reader
//         c.send("-MOVED 3999 127.0.0.1:6381\r\n");
//         c.wait_for_close();
//     });
//
// Every wait is bounded and also ends when the server stops (a pipe the destructor
// makes readable), so a test that fails never hangs on it.
#ifndef SSE_TESTS_SUPPORT_RESP_SCRIPT_SERVER_HPP
#define SSE_TESTS_SUPPORT_RESP_SCRIPT_SERVER_HPP

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace support {

class resp_script_server
{
public:
    class connection;
    using handler_type = std::function<void(connection&)>;

    explicit resp_script_server(handler_type handler) : handler_(std::move(handler))
    {
        if (::pipe2(wake_, O_CLOEXEC) != 0)
            throw std::runtime_error("resp_script_server: pipe2");
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof a;
        if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), size) != 0
            || ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &size) != 0)
            throw std::runtime_error("resp_script_server: cannot listen on loopback");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }

    resp_script_server(resp_script_server const&) = delete;
    resp_script_server& operator=(resp_script_server const&) = delete;

    ~resp_script_server()
    {
        char const byte = 0;
        while (::write(wake_[1], &byte, 1) < 0 && errno == EINTR) {}
        thread_.join();
        for (int fd : {listen_fd_, wake_[0], wake_[1]})
            if (fd >= 0)
                ::close(fd);
    }

    std::uint16_t port() const noexcept { return port_; }
    std::size_t connections() const noexcept { return accepted_.load(); }

    class connection
    {
    public:
        /// Reads until `n` whole commands have arrived (or `limit` passes: fewer are returned).
        std::vector<std::vector<std::string>> read_commands(std::size_t n,
                                                            std::chrono::milliseconds limit = std::chrono::seconds(5))
        {
            std::vector<std::vector<std::string>> out;
            auto const deadline = std::chrono::steady_clock::now() + limit;
            while (out.size() < n) {
                void* got = nullptr;
                if (::redisReaderGetReply(reader_.get(), &got) != REDIS_OK)
                    return out;
                if (got != nullptr) {
                    auto* r = static_cast<redisReply*>(got);
                    std::vector<std::string> args;
                    for (std::size_t i = 0; i < r->elements; ++i)
                        args.emplace_back(r->element[i]->str, r->element[i]->len);
                    ::freeReplyObject(r);
                    out.push_back(std::move(args));
                    continue;
                }
                char buffer[4096];
                if (!wait(POLLIN, deadline))
                    return out;
                ssize_t const got_bytes = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
                if (got_bytes == 0 || (got_bytes < 0 && errno != EAGAIN && errno != EINTR))
                    return out;
                if (got_bytes > 0)
                    ::redisReaderFeed(reader_.get(), buffer, static_cast<std::size_t>(got_bytes));
            }
            return out;
        }

        /// Sends all of `bytes`; false if the peer is gone or the server stops.
        bool send(std::string_view bytes)
        {
            auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!bytes.empty()) {
                if (!wait(POLLOUT, deadline))
                    return false;
                ssize_t const n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                    continue;
                if (n <= 0)
                    return false;
                bytes.remove_prefix(static_cast<std::size_t>(n));
            }
            return true;
        }

        /// Reads and discards until the peer closes: true; false if `limit` passes or the server stops.
        bool wait_for_close(std::chrono::milliseconds limit = std::chrono::seconds(5))
        {
            auto const deadline = std::chrono::steady_clock::now() + limit;
            while (wait(POLLIN, deadline)) {
                char buffer[4096];
                ssize_t const n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
                if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                    return true;
            }
            return false;
        }

    private:
        friend class resp_script_server;
        struct reader_deleter
        {
            void operator()(redisReader* r) const { ::redisReaderFree(r); }
        };

        connection(resp_script_server& s, int fd) : server_(s), fd_(fd), reader_(::redisReaderCreate()) {}

        bool wait(short events, std::chrono::steady_clock::time_point deadline)
        {
            for (;;) {
                pollfd p[2] = {{server_.wake_[0], POLLIN, 0}, {fd_, events, 0}};
                auto const left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
                int const n = ::poll(p, 2, static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX)));
                if (n < 0 && errno == EINTR)
                    continue;
                return n > 0 && p[0].revents == 0;
            }
        }

        resp_script_server& server_;
        int fd_;
        std::unique_ptr<redisReader, reader_deleter> reader_;
    };

private:
    void run()
    {
        for (;;) {
            pollfd p[2] = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
            int const n = ::poll(p, 2, -1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 || p[0].revents != 0)
                return;
            int const fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0)
                continue;
            ++accepted_;
            {
                connection c(*this, fd);
                handler_(c);
            }
            ::close(fd);
        }
    }

    handler_type handler_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::atomic<std::size_t> accepted_{0};
    std::thread thread_;
};

} // namespace support

#endif
