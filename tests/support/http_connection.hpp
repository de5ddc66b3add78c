// tests/support/http_connection.hpp - one blocking HTTP/1.1 connection for keep-alive tests.
//
// Plain POSIX sockets, so that it shares nothing with the code under test: the
// test writes requests as raw bytes (several at once to pipeline them) and reads
// the answers one by one, each framed by its Content-Length.
#ifndef SSE_TESTS_SUPPORT_HTTP_CONNECTION_HPP
#define SSE_TESTS_SUPPORT_HTTP_CONNECTION_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace support {

class http_connection
{
public:
    /// Connects to 127.0.0.1:port; throws std::runtime_error if nothing listens there.
    explicit http_connection(unsigned short port)
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) != 0) {
            if (fd_ >= 0)
                ::close(fd_);
            throw std::runtime_error("cannot connect to the server under test");
        }
    }
    http_connection(http_connection const&) = delete;
    http_connection& operator=(http_connection const&) = delete;
    ~http_connection() { ::close(fd_); }

    /// Sends the bytes as they are; throws std::runtime_error if the peer refuses them.
    void send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            ssize_t const n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0)
                throw std::runtime_error("the server closed the connection before the request was sent");
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    /// The next whole response, head and body, or nothing if none came within `limit`.
    /// Without a Content-Length the body counts as empty: what follows stays unread.
    std::optional<std::string> response(std::chrono::milliseconds limit = std::chrono::seconds(3))
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            auto const end = buffer_.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t length = 0;
                auto const at = buffer_.find("\r\nContent-Length: ");
                if (at != std::string::npos && at < end)
                    length = std::stoul(buffer_.substr(at + 18));
                if (buffer_.size() >= end + 4 + length) {
                    std::string out = buffer_.substr(0, end + 4 + length);
                    buffer_.erase(0, end + 4 + length);
                    return out;
                }
            }
            if (eof_ || !fill(deadline))
                return std::nullopt;
        }
    }

    /// True if the peer closes the connection within `limit` without sending anything more.
    bool closed_silently(std::chrono::milliseconds limit = std::chrono::seconds(3))
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        while (!eof_ && fill(deadline)) {
        }
        return eof_ && buffer_.empty();
    }

private:
    // Reads what has come; false if nothing came before the deadline.
    bool fill(std::chrono::steady_clock::time_point deadline)
    {
        auto const left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            return false;
        char chunk[8192];
        ssize_t const n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0)
            eof_ = true;
        else
            buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
};

} // namespace support

#endif
