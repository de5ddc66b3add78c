// The least Asio code a server's stream needs, without the library: a connection
// that posts to a strand, writes, waits for the peer to become readable and arms a
// timer. What Asio alone costs a translation unit, the bound under stream.cpp.
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace {

class connection : public std::enable_shared_from_this<connection> {
public:
    explicit connection(asio::ip::tcp::socket socket)
        : socket_(std::move(socket)), timer_(socket_.get_executor()), strand_(socket_.get_executor())
    {
    }

    void start(std::string text)
    {
        auto self = shared_from_this();
        asio::post(strand_, [self, text = std::move(text)]() mutable { self->write(std::move(text)); });
        socket_.async_wait(asio::socket_base::wait_read, [self](std::error_code) { self->socket_.close(); });
        timer_.expires_after(std::chrono::seconds(15));
        timer_.async_wait([self](std::error_code) {});
    }

private:
    void write(std::string text)
    {
        pending_ = std::move(text);
        auto self = shared_from_this();
        socket_.async_write_some(asio::buffer(pending_), [self](std::error_code, std::size_t) {});
    }

    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    asio::strand<asio::any_io_executor> strand_;
    std::string pending_;
};

} // namespace

void serve(asio::ip::tcp::socket socket) { std::make_shared<connection>(std::move(socket))->start("data: x\n\n"); }
