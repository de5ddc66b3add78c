// sse/asio/impl/listener.hpp - bodies of sse::listener.
#ifndef SSE_ASIO_IMPL_LISTENER_HPP
#define SSE_ASIO_IMPL_LISTENER_HPP

#include <sse/asio/listener.hpp>

#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>

#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN

// One accepted connection until its head is complete. Runs on the listener's
// strand and sits in the listener's list, so that stop() can reach it.
class listener::head_reader : public std::enable_shared_from_this<head_reader>
{
public:
    head_reader(std::shared_ptr<listener> owner, socket_type socket)
        : owner_(std::move(owner)),
          socket_(std::move(socket)),
          timer_(owner_->io_),
          parser_(owner_->options_.limits)
    {
    }

    ~head_reader() { unlink(); }

    void run()
    {
        link();
        auto self = shared_from_this();
        timer_.expires_after(owner_->options_.head_timeout);
        timer_.async_wait(asio::bind_executor(owner_->strand_, [self](error_code ec) {
            if (!ec && !self->done_) {
                // The pending read ends with operation_aborted and answers 408.
                self->timed_out_ = true;
                error_code ignored;
                self->socket_.cancel(ignored);
            }
        }));
        read();
    }

    void abort()
    {
        error_code ignored;
        timer_.cancel();
        socket_.close(ignored);
    }

private:
    void read()
    {
        socket_.async_read_some(asio::buffer(buffer_),
                                asio::bind_executor(owner_->strand_, [self = shared_from_this()](
                                                                         error_code ec, std::size_t n) {
                                    self->on_read(ec, n);
                                }));
    }

    void on_read(error_code ec, std::size_t n)
    {
        if (done_)
            return;
        if (timed_out_)
            return respond(408, make_error_code(error::head_timeout).message());
        if (ec) {
            // Gone before the head was complete, or stopped: nobody to answer.
            finish();
            error_code ignored;
            socket_.close(ignored);
            return;
        }
        error_code pec;
        std::size_t const used = parser_.feed(std::string_view(buffer_, n), pec);
        if (pec)
            return respond(http::status_for(pec), pec.message());
        if (!parser_.done())
            return read();
        finish();
        // The handler may throw; the connection is then closed with the socket.
        owner_->handler_(parser_.release(), std::move(socket_), std::string_view(buffer_ + used, n - used));
    }

    void respond(int status, std::string const& why)
    {
        finish();
        response r;
        r.status = status;
        r.body = std::to_string(status) + ' ' + std::string(reason_phrase(status)) + ": " + why + '\n';
        respond_and_close(std::move(socket_), r, owner_->options_.response_deadline);
    }

    void finish()
    {
        done_ = true;
        timer_.cancel();
        unlink();
    }

    void link()
    {
        next_ = owner_->readers_;
        if (next_)
            next_->prev_ = this;
        owner_->readers_ = this;
        linked_ = true;
        owner_->pending_.fetch_add(1, std::memory_order_relaxed);
    }

    void unlink() noexcept
    {
        if (!linked_)
            return;
        linked_ = false;
        if (prev_)
            prev_->next_ = next_;
        else
            owner_->readers_ = next_;
        if (next_)
            next_->prev_ = prev_;
        prev_ = next_ = nullptr;
        owner_->pending_.fetch_sub(1, std::memory_order_relaxed);
    }

    friend class listener;

    std::shared_ptr<listener> owner_;
    socket_type socket_;
    asio::steady_timer timer_;
    http::request_parser parser_;
    head_reader* prev_ = nullptr;
    head_reader* next_ = nullptr;
    bool linked_ = false;
    bool done_ = false;
    bool timed_out_ = false;
    char buffer_[1024];
};

inline listener::listener(asio::any_io_executor ex, asio::ip::tcp::endpoint const& endpoint,
                          handler_type handler, listener_options options)
    : io_(ex), strand_(asio::make_strand(ex)), acceptor_(ex), retry_timer_(ex),
      handler_(std::move(handler)), options_(std::move(options))
{
    error_code ec;
    open(endpoint, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::listener"));
}

inline listener::listener(asio::any_io_executor ex, asio::ip::tcp::endpoint const& endpoint,
                          handler_type handler, listener_options options, error_code& ec)
    : io_(ex), strand_(asio::make_strand(ex)), acceptor_(ex), retry_timer_(ex),
      handler_(std::move(handler)), options_(std::move(options))
{
    open(endpoint, ec);
}

inline void listener::open(asio::ip::tcp::endpoint const& endpoint, error_code& ec)
{
    ec = {};
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec && options_.reuse_address)
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(endpoint, ec);
    if (!ec)
        acceptor_.listen(options_.backlog, ec);
    if (!ec)
        endpoint_ = acceptor_.local_endpoint(ec);
    if (ec) {
        error_code ignored;
        acceptor_.close(ignored);
        stopped_ = true;
    }
}

inline void listener::start()
{
    asio::dispatch(strand_, [self = shared_from_this()] {
        if (!self->stopped_)
            self->accept();
    });
}

inline void listener::stop()
{
    asio::dispatch(strand_, [self = shared_from_this()] { self->do_stop(); });
}

inline void listener::accept()
{
    acceptor_.async_accept(io_, asio::bind_executor(strand_, [self = shared_from_this()](
                                                                  error_code ec, socket_type socket) {
                               self->on_accept(ec, std::move(socket));
                           }));
}

inline void listener::on_accept(error_code ec, socket_type socket)
{
    if (stopped_)
        return;
    if (ec) {
        if (ec == asio::error::operation_aborted)
            return;
        // Out of descriptors or a similar pressure: try again shortly instead of
        // spinning on an error that repeats at once.
        retry_timer_.expires_after(std::chrono::milliseconds(50));
        retry_timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code tec) {
            if (!tec && !self->stopped_)
                self->accept();
        }));
        return;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    if (options_.max_pending != 0 && pending() >= options_.max_pending) {
        response r;
        r.status = 503;
        r.body = "503 Service Unavailable: too many connections are sending their request; retry later\n";
        r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
        respond_and_close(std::move(socket), r, options_.response_deadline);
    }
    else {
        std::make_shared<head_reader>(shared_from_this(), std::move(socket))->run();
    }
    accept();
}

inline void listener::do_stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    for (head_reader* r = readers_; r != nullptr; r = r->next_)
        r->abort();
}

SSE_NAMESPACE_END

#endif
