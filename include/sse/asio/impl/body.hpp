// sse/asio/impl/body.hpp - the operation behind sse::async_read_body.
#ifndef SSE_ASIO_IMPL_BODY_HPP
#define SSE_ASIO_IMPL_BODY_HPP

#include <sse/asio/body.hpp>
#include <sse/detail/body_collector.hpp>
#include <sse/http/fields.hpp>
#include <sse/asio/detail/stream_support.hpp>

#include <sse/asio/net.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace detail {

// One async_compose step function: start (on the caller's thread), then the
// interim answer and the reads on a strand, then the completion on the handler's
// executor. The strand serialises the steps with the deadline's timer, which
// cancels the socket's pending operation from outside the chain of steps.
template<class Socket>
class read_body_op
{
    using strand_type = typename strand_for<typename Socket::executor_type>::type;

    // Shared with the timer's handler, which may run after the operation ended:
    // `done` then tells it to leave the socket, perhaps gone by then, alone.
    struct deadline
    {
        deadline(strand_type const& strand, Socket& s) : timer(strand), socket(&s) {}
        net::steady_timer timer;
        Socket* socket;
        bool done = false;
        bool fired = false;
    };

    enum class step { start, arm, continue_sent, reading, completing };

public:
    read_body_op(Socket& socket, http::request_head const& head, std::string& buffer, body_limits limits)
        : socket_(&socket), buffer_(&buffer), strand_(strand_for<typename Socket::executor_type>::make(socket.get_executor())),
          timeout_(limits.timeout), framing_(head.body_framing()), declared_length_(head.content_length()),
          body_({}, limits.max_body, error::body_too_large)
    {
        if (limits.send_continue && head.version() >= 11) {
            auto const expect = head.fields().find("Expect");
            expects_continue_ = expect && http::iequals(*expect, "100-continue");
        }
    }

    template<class Self>
    void operator()(Self& self, error_code ec = {}, std::size_t n = 0)
    {
        switch (step_) {
        case step::start: return start(self);
        case step::arm: return arm(self);
        case step::continue_sent:
            if (stopped(self, ec))
                return;
            return read(self);
        case step::reading: return on_read(self, ec, n);
        case step::completing:
            // Nothing of the io_context may outlive the upcall: after it, the
            // caller may destroy the context while this object still exists
            // (use_future completes on another thread).
            strand_.reset();
            return self.complete(result_, std::move(body_.body()));
        }
    }

private:
    // On the initiating thread. A body that is already whole (or refused) is
    // reported through a post: never from inside the initiating function.
    template<class Self>
    void start(Self& self)
    {
        error_code ec;
        bool const whole = body_.start(framing_, declared_length_, ec) || ec ||
                           body_.feed(*buffer_, ec) || ec;
        if (whole) {
            if (!ec)
                buffer_->erase(0, body_.used());
            step_ = step::completing;
            set_result(ec);
            return net::post(std::move(self));
        }
        bool const arriving = !buffer_->empty();
        buffer_->clear();
        expects_continue_ = expects_continue_ && !arriving;
        step_ = step::arm;
        net::dispatch(net::bind_executor(*strand_, std::move(self)));
    }

    template<class Self>
    void arm(Self& self)
    {
        if (timeout_.count() > 0) {
            deadline_ = std::make_shared<deadline>(*strand_, *socket_);
            deadline_->timer.expires_after(timeout_);
            deadline_->timer.async_wait(net::bind_executor(*strand_, [d = deadline_](error_code ec) {
                if (ec || d->done)
                    return;
                d->fired = true;
                sse::detail::net_error_code ignored;
                lowest_layer_of(*d->socket).cancel(ignored);
            }));
        }
        if (!expects_continue_)
            return read(self);
        static constexpr char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
        step_ = step::continue_sent;
        net::async_write(*socket_, net::buffer(interim, sizeof interim - 1),
                          net::bind_executor(*strand_, std::move(self)));
    }

    template<class Self>
    void read(Self& self)
    {
        // The caller's buffer is the read buffer: it has a stable address, which
        // this object, moved along from step to step, has not.
        step_ = step::reading;
        buffer_->resize(read_size);
        socket_->async_read_some(net::buffer(buffer_->data(), read_size), net::bind_executor(*strand_, std::move(self)));
    }

    template<class Self>
    void on_read(Self& self, error_code ec, std::size_t n)
    {
        if (stopped(self, ec))
            return;
        buffer_->resize(n);
        error_code parse_ec;
        if (body_.feed(*buffer_, parse_ec) && !parse_ec) {
            buffer_->erase(0, body_.used());
            return finish(self, {});
        }
        if (parse_ec || ec)
            return finish(self, parse_ec ? parse_ec : ec);
        read(self);
    }

    // The deadline or a cancellation ends the operation whatever the socket says.
    template<class Self>
    bool stopped(Self& self, error_code ec)
    {
        if (deadline_ && deadline_->fired)
            finish(self, error::body_timeout);
#if SSE_NET_HAS_CANCELLATION
        else if (self.get_cancellation_state().cancelled() != net::cancellation_type::none)
            finish(self, sse::net_error(net::error::operation_aborted));
#endif
        else if (ec && step_ == step::continue_sent)
            finish(self, ec);
        else
            return false;
        return true;
    }

    template<class Self>
    void finish(Self& self, error_code ec)
    {
        if (deadline_) {
            deadline_->done = true;
            deadline_->timer.cancel();
            deadline_.reset();
        }
        set_result(ec);
        step_ = step::completing;
        net::dispatch(std::move(self));   // onto the handler's executor
    }

    void set_result(error_code ec)
    {
        result_ = ec;
        if (ec) {
            body_.body().clear();
            buffer_->clear();
        }
    }

    static constexpr std::size_t read_size = 8192;

    Socket* socket_;
    std::string* buffer_;
    std::optional<strand_type> strand_;
    std::chrono::milliseconds timeout_;
    http::framing framing_;
    std::uint64_t declared_length_;
    body_collector body_;
    std::shared_ptr<deadline> deadline_;
    error_code result_;
    step step_ = step::start;
    bool expects_continue_ = false;
};

} // namespace detail

template<class Socket, class CompletionToken>
auto async_read_body(Socket& socket, http::request_head const& head, std::string& buffer, body_limits limits,
                     CompletionToken&& token)
{
    return net::async_compose<CompletionToken, void(error_code, std::string)>(
        detail::read_body_op<Socket>(socket, head, buffer, limits), token, socket);
}

SSE_NAMESPACE_END

#endif
