// The least Asio code a client needs, without the library: resolve, connect, write a
// request, read, with a timer armed. What Asio alone costs a translation unit, the
// bound under event_source.cpp.
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace {

class client : public std::enable_shared_from_this<client> {
public:
    explicit client(asio::io_context& io) : resolver_(io), socket_(io), timer_(io) {}

    void start()
    {
        auto self = shared_from_this();
        resolver_.async_resolve("127.0.0.1", "8080", [self](std::error_code ec, asio::ip::tcp::resolver::results_type found) {
            if (!ec)
                self->connect(found);
        });
        timer_.expires_after(std::chrono::seconds(15));
        timer_.async_wait([self](std::error_code) {});
    }

private:
    void connect(asio::ip::tcp::resolver::results_type const& found)
    {
        auto self = shared_from_this();
        asio::async_connect(socket_, found, [self](std::error_code ec, asio::ip::tcp::endpoint) {
            if (!ec)
                self->request();
        });
    }

    void request()
    {
        auto self = shared_from_this();
        asio::async_write(socket_, asio::buffer(request_), [self](std::error_code ec, std::size_t) {
            if (!ec)
                self->read();
        });
    }

    void read()
    {
        auto self = shared_from_this();
        socket_.async_read_some(asio::buffer(buffer_), [self](std::error_code ec, std::size_t) {
            if (!ec)
                self->read();
        });
    }

    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;
    asio::steady_timer timer_;
    std::string request_ = "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    char buffer_[4096];
};

} // namespace

void listen(asio::io_context& io) { std::make_shared<client>(io)->start(); }
