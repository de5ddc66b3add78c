// sse/asio/impl/listener.hpp - bodies of sse::basic_listener.
#ifndef SSE_ASIO_IMPL_LISTENER_HPP
#define SSE_ASIO_IMPL_LISTENER_HPP

#include <sse/asio/listener.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>
#include <string>
#include <string_view>

SSE_NAMESPACE_BEGIN

// One accepted connection until its head is complete. It does its I/O on a
// strand of its own, over the socket's executor, so that heads and TLS
// handshakes proceed in parallel, and
// sits in the listener's list (under its mutex) so that stop() can reach it.
template<class Socket>
class basic_listener<Socket>::head_reader : public std::enable_shared_from_this<head_reader>
{
public:
    head_reader(std::shared_ptr<basic_listener> owner, tcp_socket socket)
        : owner_(std::move(owner)),
          strand_(net::make_strand(socket.get_executor())),
          socket_(traits::make(std::move(socket), owner_->context_)),
          timer_(strand_.get_inner_executor()),
          parser_(owner_->options_.limits)
    {
    }

    // A connection that has already carried a request (basic_listener::serve):
    // no handshake, and the bytes that followed the previous request come first.
    struct kept_t
    {
    };
    head_reader(std::shared_ptr<basic_listener> owner, Socket socket, kept_t, std::string already_read,
                handler_type handler)
        : owner_(std::move(owner)),
          strand_(net::make_strand(detail::lowest_layer_of(socket).get_executor())),
          socket_(std::move(socket)),
          timer_(strand_.get_inner_executor()),
          parser_(owner_->options_.limits),
          handler_(std::move(handler)),
          carry_(std::move(already_read)),
          kept_(true)
    {
    }

    ~head_reader() { unlink(); }

    void run()
    {
        link();
        net::post(strand_, [self = this->shared_from_this()] { self->begin(); });
    }

    // From stop(), on this reader's strand.
    void abort()
    {
        if (done_)
            return;
        aborted_ = true;
        timer_.cancel();
        sse::detail::net_error_code ignored;
        detail::lowest_layer_of(socket_).close(ignored);
    }

private:
    void begin()
    {
        if (aborted_)
            return finish_silently();
        timer_.expires_after(owner_->options_.head_timeout);
        timer_.async_wait(net::bind_executor(strand_, [self = this->shared_from_this()](error_code ec) {
            if (!ec && !self->done_) {
                // The pending handshake or read ends with operation_aborted.
                self->timed_out_ = true;
                sse::detail::net_error_code ignored;
                detail::lowest_layer_of(self->socket_).cancel(ignored);
            }
        }));
        if (kept_) {
            if (carry_.empty())
                return read();
            return consume(carry_.data(), carry_.size());
        }
        if constexpr (traits::handshake) {
            traits::async_handshake(socket_, net::bind_executor(strand_, [self = this->shared_from_this()](
                                                                              error_code ec) {
                                        if (ec || self->aborted_ || self->timed_out_) {
                                            if (!self->aborted_)
                                                self->owner_->failed_handshakes_.fetch_add(
                                                    1, std::memory_order_relaxed);
                                            return self->finish_silently();
                                        }
                                        self->read();
                                    }));
        }
        else {
            read();
        }
    }

    void read()
    {
        socket_.async_read_some(net::buffer(buffer_),
                                net::bind_executor(strand_, [self = this->shared_from_this()](error_code ec,
                                                                                               std::size_t n) {
                                    self->on_read(ec, n);
                                }));
    }

    void on_read(error_code ec, std::size_t n)
    {
        if (done_)
            return;
        // RFC 9112 9.5: a persistent connection that stays idle is closed without
        // an answer; a 408 would be taken for the answer to the client's next request.
        bool const idle = kept_ && !got_bytes_ && n == 0;
        if (timed_out_ && !aborted_ && !idle)
            return respond(408, make_error_code(error::head_timeout).message());
        if (ec || aborted_)
            return finish_silently();   // gone before the head was complete, or stopped: nobody to answer
        consume(buffer_, n);
    }

    // Feeds `n` bytes at `data` (in buffer_ or carry_, both alive as long as this reader).
    void consume(char const* data, std::size_t n)
    {
        got_bytes_ = got_bytes_ || n > 0;
        error_code pec;
        std::size_t const used = parser_.feed(std::string_view(data, n), pec);
        if (pec)
            return respond(http::status_for(pec), pec.message());
        if (!parser_.done())
            return read();
        finish();
        // The handler runs on the listener's strand, one call at a time. After
        // stop() nobody takes connections any more: close this one.
        net::dispatch(owner_->strand_, [self = this->shared_from_this(), data, used, n] {
            basic_listener& owner = *self->owner_;
            if (owner.stopped_) {
                sse::detail::net_error_code ignored;
                detail::lowest_layer_of(self->socket_).close(ignored);
                return;
            }
            // The handler may throw; the connection is then closed with the socket.
            handler_type const& handler = self->handler_ ? self->handler_ : owner.handler_;
            handler(self->parser_.release(), std::move(self->socket_), std::string_view(data + used, n - used));
        });
    }

    void respond(int status, std::string const& why)
    {
        finish();
        response r;
        r.status = status;
        r.body = std::to_string(status) + ' ' + std::string(reason_phrase(status)) + ": " + why + '\n';
        respond_and_close(std::move(socket_), r, owner_->options_.response_deadline);
    }

    void finish_silently()
    {
        finish();
        sse::detail::net_error_code ignored;
        detail::lowest_layer_of(socket_).close(ignored);
    }

    void finish()
    {
        done_ = true;
        timer_.cancel();
        unlink();
    }

    void link()
    {
        std::lock_guard<std::mutex> lock(owner_->readers_mutex_);
        next_ = owner_->readers_;
        if (next_)
            next_->prev_ = this;
        owner_->readers_ = this;
        linked_ = true;
        owner_->pending_.fetch_add(1, std::memory_order_relaxed);
    }

    void unlink() noexcept
    {
        std::lock_guard<std::mutex> lock(owner_->readers_mutex_);
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

    friend class basic_listener;

    std::shared_ptr<basic_listener> owner_;
    net::strand<net::any_io_executor> strand_;
    Socket socket_;
    net::steady_timer timer_;
    http::request_parser parser_;
    head_reader* prev_ = nullptr;   // under owner_->readers_mutex_
    head_reader* next_ = nullptr;
    bool linked_ = false;
    bool done_ = false;   // on strand_
    bool aborted_ = false;
    bool timed_out_ = false;
    char buffer_[1024];
    handler_type handler_;   // empty: the listener's
    std::string carry_;      // bytes read with the previous request, after it
    bool kept_ = false;      // from serve(): a persistent connection
    bool got_bytes_ = false;
};

template<class Socket>
basic_listener<Socket>::basic_listener(net::any_io_executor ex, context_type* context,
                                       net::ip::tcp::endpoint const& endpoint, handler_type handler,
                                       listener_options options)
    : io_(ex), strand_(net::make_strand(ex)), context_(context), acceptor_(ex), retry_timer_(ex),
      handler_(std::move(handler)), options_(std::move(options))
{
    error_code ec;
    open(endpoint, ec);
    if (ec)
        SSE_THROW(std::system_error(ec, "sse::listener"));
}

template<class Socket>
basic_listener<Socket>::basic_listener(net::any_io_executor ex, context_type* context,
                                       net::ip::tcp::endpoint const& endpoint, handler_type handler,
                                       listener_options options, error_code& ec)
    : io_(ex), strand_(net::make_strand(ex)), context_(context), acceptor_(ex), retry_timer_(ex),
      handler_(std::move(handler)), options_(std::move(options))
{
    open(endpoint, ec);
}

template<class Socket>
void basic_listener<Socket>::open(net::ip::tcp::endpoint const& endpoint, error_code& ec)
{
    ec = {};
    // Sockets on a typed executor (sse::io_context_socket) need executors of that type.
    auto const converts = [](net::any_io_executor const& ex) {
        return detail::as_socket_executor<typename tcp_socket::executor_type>(ex) != nullptr;
    };
    auto const& executors = options_.connection_executors;
    if (executors.empty() ? !converts(io_) : !std::all_of(executors.begin(), executors.end(), converts))
        ec = make_error_code(std::errc::invalid_argument);
    if (!ec) {
        detail::net_error_code nec;
        acceptor_.open(endpoint.protocol(), nec);
        if (!nec && options_.reuse_address)
            acceptor_.set_option(net::socket_base::reuse_address(true), nec);
        if (!nec)
            acceptor_.bind(endpoint, nec);
        if (!nec)
            acceptor_.listen(options_.backlog, nec);
        if (!nec)
            endpoint_ = acceptor_.local_endpoint(nec);
        ec = nec;
    }
    if (ec) {
        sse::detail::net_error_code ignored;
        acceptor_.close(ignored);
        stopped_ = true;
    }
}

template<class Socket>
void basic_listener<Socket>::start()
{
    net::dispatch(strand_, [self = this->shared_from_this()] {
        if (!self->stopped_)
            self->accept();
    });
}

template<class Socket>
void basic_listener<Socket>::stop()
{
    net::dispatch(strand_, [self = this->shared_from_this()] { self->do_stop(); });
}

template<class Socket>
void basic_listener<Socket>::accept()
{
    // The constructor checked that every connection executor converts.
    auto const* ex = detail::as_socket_executor<typename tcp_socket::executor_type>(next_connection_executor());
    acceptor_.async_accept(*ex, net::bind_executor(strand_, [self = this->shared_from_this()](error_code ec,
                                                                                               tcp_socket socket) {
                               self->on_accept(ec, std::move(socket));
                           }));
}

template<class Socket>
net::any_io_executor const& basic_listener<Socket>::next_connection_executor()
{
    auto const& executors = options_.connection_executors;
    if (executors.empty())
        return io_;
    if (next_executor_ >= executors.size())
        next_executor_ = 0;
    return executors[next_executor_++];
}

template<class Socket>
void basic_listener<Socket>::on_accept(error_code ec, tcp_socket socket)
{
    if (stopped_)
        return;
    if (ec) {
        if (ec == sse::net_error(net::error::operation_aborted))
            return;
        // Out of descriptors or a similar pressure: try again shortly instead of
        // spinning on an error that repeats at once.
        retry_timer_.expires_after(std::chrono::milliseconds(50));
        retry_timer_.async_wait(net::bind_executor(strand_, [self = this->shared_from_this()](error_code tec) {
            if (!tec && !self->stopped_)
                self->accept();
        }));
        return;
    }
    accepted_.fetch_add(1, std::memory_order_relaxed);
    if (options_.max_pending != 0 && pending() >= options_.max_pending) {
        if constexpr (traits::handshake) {
            // Before the handshake there is no way to answer in HTTP: just close.
            sse::detail::net_error_code ignored;
            socket.close(ignored);
        }
        else {
            response r;
            r.status = 503;
            r.body = "503 Service Unavailable: too many connections are sending their request; retry later\n";
            r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
            respond_and_close(std::move(socket), r, options_.response_deadline);
        }
    }
    else {
        std::make_shared<head_reader>(this->shared_from_this(), std::move(socket))->run();
    }
    accept();
}

template<class Socket>
void basic_listener<Socket>::serve(socket_type socket, std::string_view already_read)
{
    serve(std::move(socket), already_read, handler_type());
}

template<class Socket>
void basic_listener<Socket>::serve(socket_type socket, std::string_view already_read, handler_type handler)
{
    // The bytes are copied now: the caller's view need not outlive this call.
    net::dispatch(strand_, [self = this->shared_from_this(), socket = std::move(socket),
                             rest = std::string(already_read), handler = std::move(handler)]() mutable {
        // A kept connection waits for its next head like a new one does, so it
        // counts against max_pending; over it, or once stopped, it is closed
        // without an answer (RFC 9112 9.5: a server may close an idle connection).
        if (self->stopped_ || (self->options_.max_pending != 0 && self->pending() >= self->options_.max_pending)) {
            sse::detail::net_error_code ignored;
            detail::lowest_layer_of(socket).close(ignored);
            return;
        }
        std::make_shared<head_reader>(self, std::move(socket), typename head_reader::kept_t{}, std::move(rest),
                                      std::move(handler))
            ->run();
    });
}

template<class Socket>
void basic_listener<Socket>::do_stop()
{
    if (stopped_)
        return;
    stopped_ = true;
    sse::detail::net_error_code ignored;
    acceptor_.close(ignored);
    retry_timer_.cancel();
    // A reader whose last owner is going away cannot be locked; its destructor
    // unlinks it once this loop lets go of the mutex.
    std::lock_guard<std::mutex> lock(readers_mutex_);
    for (head_reader* r = readers_; r != nullptr; r = r->next_)
        if (auto reader = r->weak_from_this().lock())
            net::post(reader->strand_, [reader] { reader->abort(); });
}

SSE_NAMESPACE_END

#endif
