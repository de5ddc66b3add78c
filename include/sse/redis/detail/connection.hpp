// sse/redis/detail/connection.hpp - one pipelined connection to a Redis server,
// over Asio, with hiredis as the RESP codec.
#ifndef SSE_REDIS_DETAIL_CONNECTION_HPP
#define SSE_REDIS_DETAIL_CONNECTION_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/redis/detail/resp.hpp>
#include <sse/redis/error.hpp>

#include <sse/asio/net.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace redis {
namespace detail {

/** One TCP connection to one Redis server.

    Commands are written in the order they are sent and may be pipelined: each
    handler gets its own reply, in order. Every handler runs on the connection's
    strand, never inline from the call that queued it. Safe to call from any thread.

    Handlers must not throw.

    @par Lifetime
    A connection stays alive while it has work: connecting, commands awaiting
    replies, a write in flight. Once its owner drops it and that work is done, it
    closes its socket and goes. An idle connection does not keep itself alive.
*/
class connection : public std::enable_shared_from_this<connection>
{
    struct private_tag
    {
    };

public:
    using connect_handler = std::function<void(error_code)>;
    /// `ec`: transport errors (connection_lost, timeout, protocol_error), or the
    /// classified Redis error of an error reply (auth_failed, noscript, no_streams,
    /// moved, wrong_type, server_error), the reply then holding the message.
    /// A protocol_error's reply holds what was wrong, as an error reply.
    using reply_handler = std::function<void(error_code, reply)>;

    /// `max_reply_bytes`: the largest reply accepted (its size in memory, or its
    /// unparsed bytes while it arrives); a larger one is error::protocol_error.
    static std::shared_ptr<connection> create(net::any_io_executor ex, std::size_t max_reply_bytes)
    {
        return std::make_shared<connection>(private_tag{}, std::move(ex), max_reply_bytes);
    }

    /// Use create().
    connection(private_tag, net::any_io_executor ex, std::size_t max_reply_bytes)
        : strand_(net::make_strand(ex))
        , resolver_(strand_)
        , socket_(strand_)
        , connect_timer_(strand_)
        , command_timer_(strand_)
        , reader_(max_reply_bytes)
        , read_buffer_(std::make_shared<std::array<char, 16 * 1024>>())
    {
    }

    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    /** Resolves `host` and connects within `timeout` (resolution included).

        `done` gets: success; error::timeout; the resolver's or socket's error
        (e.g. connection refused); error::connection_lost if close() came first;
        asio::error::already_started on a second call. Commands sent before the
        connection is made are written once it is.
    */
    void async_connect(std::string host, std::uint16_t port, std::chrono::milliseconds timeout, connect_handler done)
    {
        net::post(strand_, [self = shared_from_this(), host = std::move(host), port, timeout,
                             done = std::move(done)]() mutable {
            self->start_connect(std::move(host), port, timeout, std::move(done));
        });
    }

    /** Sends one command (formatted with redisFormatCommandArgv: any bytes in any
        argument); `done` gets its reply, or error::timeout after `timeout` (the
        connection is then closed: later replies could no longer be matched).
        A zero or negative timeout waits for ever. Fails with connection_lost if the
        connection is closed or async_connect() was not called; with
        std::errc::invalid_argument if `args` is empty or too large to format.
    */
    void async_command(std::vector<std::string> args, std::chrono::milliseconds timeout, reply_handler done)
    {
        // Formatted here, off the strand: the caller's thread does the copying.
        std::string bytes;
        bool const formatted = format_command(args, bytes);
        bool const stream = !args.empty() && is_stream_command(args.front());
        net::post(strand_, [self = shared_from_this(), bytes = std::move(bytes), formatted, stream, timeout,
                             done = std::move(done)]() mutable {
            self->queue(std::move(bytes), formatted, stream, timeout, std::move(done));
        });
    }

    /// Closes the socket; pending handlers complete with error::connection_lost. Idempotent.
    void close() noexcept
    {
        net::post(strand_, [self = shared_from_this()] { self->shut(reason::closed); });
    }

    /// True from a successful connect until the connection closes (for any reason).
    bool is_open() const noexcept { return open_.load(std::memory_order_acquire); }

private:
    using clock = std::chrono::steady_clock;
    using strand_type = net::strand<net::any_io_executor>;

    enum class phase
    {
        idle,
        connecting,
        open,
        closed,
    };

    enum class reason
    {
        closed,      // close(), or the connection's own error: everyone gets connection_lost
        timed_out,   // commands past their deadline get timeout, the others connection_lost
        protocol,    // the oldest command gets protocol_error, the others connection_lost
    };

    /** Owned by the read in flight, which always runs while the connection is open.
        While commands await replies, `strong` keeps the connection alive through it,
        so that its owner may drop it meanwhile; idle, only `weak` is left. Were the
        connection to hold itself instead, destroying the io_context would leak it.
    */
    struct read_anchor
    {
        std::weak_ptr<connection> weak;
        std::shared_ptr<connection> strong;
    };

    struct pending
    {
        reply_handler done;
        clock::time_point deadline;
        bool stream_command;
    };

    static clock::time_point deadline_after(std::chrono::milliseconds timeout)
    {
        auto const now = clock::now();
        if (timeout.count() <= 0 || timeout > clock::time_point::max() - now)
            return clock::time_point::max();
        return now + timeout;
    }

    void start_connect(std::string host, std::uint16_t port, std::chrono::milliseconds timeout,
                       connect_handler done)
    {
        if (phase_ != phase::idle) {
            done(phase_ == phase::closed ? make_error_code(error::connection_lost)
                                         : sse::net_error(net::error::already_started));
            return;
        }
        phase_ = phase::connecting;
        connect_done_ = std::move(done);
        auto const self = shared_from_this();
        connect_timer_.expires_at(deadline_after(timeout));
        connect_timer_.async_wait([self](error_code ec) {
            if (!ec && self->phase_ == phase::connecting)
                self->finish_connect(make_error_code(error::timeout));
        });
        resolver_.async_resolve(host, std::to_string(port),
                                [self](error_code ec, net::ip::tcp::resolver::results_type results) {
                                    if (self->phase_ != phase::connecting)
                                        return;
                                    if (ec)
                                        return self->finish_connect(ec);
                                    net::async_connect(self->socket_, results,
                                                        [self](error_code ec2, net::ip::tcp::endpoint const&) {
                                                            if (self->phase_ == phase::connecting)
                                                                self->finish_connect(ec2);
                                                        });
                                });
    }

    void finish_connect(error_code ec)
    {
        if (ec) {
            connect_failure_ = ec;
            shut(reason::closed);
            return;
        }
        connect_timer_.cancel();
        phase_ = phase::open;
        open_.store(true, std::memory_order_release);
        sse::detail::net_error_code ignored;
        // Pipelined commands leave as soon as they are written.
        socket_.set_option(net::ip::tcp::no_delay(true), ignored);
        auto done = std::move(connect_done_);
        connect_done_ = nullptr;
        start_read();
        flush();
        done(ec);
    }

    void queue(std::string bytes, bool formatted, bool stream, std::chrono::milliseconds timeout, reply_handler done)
    {
        if (!formatted) {
            done(std::make_error_code(std::errc::invalid_argument), reply{});
            return;
        }
        if (phase_ == phase::idle || phase_ == phase::closed) {
            done(make_error_code(error::connection_lost), reply{});
            return;
        }
        auto const deadline = deadline_after(timeout);
        pending_.push_back(pending{std::move(done), deadline, stream});
        if (auto anchor = anchor_.lock())
            anchor->strong = shared_from_this();
        outbox_ += bytes;
        arm_timer(deadline);
        flush();
    }

    void flush()
    {
        if (write_in_flight_ || outbox_.empty() || phase_ != phase::open)
            return;
        writing_.swap(outbox_);
        outbox_.clear();
        write_in_flight_ = true;
        net::async_write(socket_, net::buffer(writing_), [self = shared_from_this()](error_code ec, std::size_t) {
            self->write_in_flight_ = false;
            self->writing_.clear();
            if (self->phase_ != phase::open)
                return;
            if (ec)
                return self->shut(reason::closed);
            self->flush();
        });
    }

    void start_read()
    {
        auto anchor = anchor_.lock();
        if (!anchor) {
            anchor = std::make_shared<read_anchor>();
            anchor->weak = shared_from_this();
            anchor_ = anchor;
        }
        anchor->strong = pending_.empty() ? nullptr : shared_from_this();
        // The buffer is shared so that it outlives a read cancelled by destruction.
        auto buffer = read_buffer_;
        socket_.async_read_some(net::buffer(*buffer),
                                net::bind_executor(strand_, [anchor, buffer](error_code ec, std::size_t n) {
                                    if (auto self = anchor->weak.lock())
                                        self->on_read(ec, buffer->data(), n);
                                }));
    }

    void on_read(error_code ec, char const* data, std::size_t n)
    {
        if (phase_ != phase::open)
            return;
        if (ec)
            return shut(reason::closed);
        if (std::string message; !reader_.feed(data, n, message))
            return shut(reason::protocol, "invalid reply from Redis: " + message);
        for (;;) {
            reply r;
            std::string message;
            auto const got = reader_.next(r, message);
            if (got == resp_reader::result::need_more)
                break;
            if (got == resp_reader::result::error)
                return shut(reason::protocol, "invalid reply from Redis: " + message);
            if (pending_.empty())
                return shut(reason::protocol, "a reply arrived for no command");
            pending p = std::move(pending_.front());
            pending_.pop_front();
            error_code rec;
            if (r.type == reply::kind::error)
                rec = classify_error(r.str, p.stream_command);
            p.done(rec, std::move(r));
            if (phase_ != phase::open)
                return;
        }
        if (pending_.empty()) {
            armed_ = clock::time_point::max();
            command_timer_.cancel();
        }
        start_read();   // holds the connection only if commands are still pending
    }

    void arm_timer(clock::time_point deadline)
    {
        if (deadline >= armed_)
            return;
        armed_ = deadline;
        command_timer_.expires_at(deadline);
        std::weak_ptr<connection> weak = shared_from_this();
        command_timer_.async_wait([weak](error_code ec) {
            auto self = weak.lock();
            if (!self || ec == sse::net_error(net::error::operation_aborted) || self->phase_ == phase::closed)
                return;
            self->on_timer();
        });
    }

    void on_timer()
    {
        auto const now = clock::now();
        auto earliest = clock::time_point::max();
        for (auto const& p : pending_)
            earliest = std::min(earliest, p.deadline);
        if (earliest <= now)
            return shut(reason::timed_out);
        // Woken early (a stale wait): wait again for the earliest deadline left.
        armed_ = clock::time_point::max();
        if (earliest != clock::time_point::max())
            arm_timer(earliest);
    }

    void shut(reason why, std::string message = {})
    {
        if (phase_ == phase::closed)
            return;
        phase_ = phase::closed;
        open_.store(false, std::memory_order_release);
        sse::detail::net_error_code ignored;
        socket_.close(ignored);
        resolver_.cancel();
        connect_timer_.cancel();
        command_timer_.cancel();
        armed_ = clock::time_point::max();
        outbox_.clear();
        if (auto anchor = anchor_.lock())
            anchor->strong.reset();   // the caller of shut() holds a reference until it returns
        auto waiting = std::move(pending_);
        pending_.clear();
        if (auto done = std::move(connect_done_)) {
            connect_done_ = nullptr;
            done(connect_failure_ ? connect_failure_ : make_error_code(error::connection_lost));
        }
        auto const now = clock::now();
        bool first = true;
        for (auto& p : waiting) {
            error_code ec = make_error_code(error::connection_lost);
            reply r;
            if (why == reason::timed_out && p.deadline <= now)
                ec = make_error_code(error::timeout);
            else if (why == reason::protocol && first) {
                ec = make_error_code(error::protocol_error);
                r.type = reply::kind::error;
                r.str = message;
            }
            first = false;
            p.done(ec, std::move(r));
        }
    }

    strand_type strand_;
    net::ip::tcp::resolver resolver_;
    net::ip::tcp::socket socket_;
    net::steady_timer connect_timer_;
    net::steady_timer command_timer_;
    resp_reader reader_;
    std::shared_ptr<std::array<char, 16 * 1024>> read_buffer_;

    phase phase_ = phase::idle;
    std::atomic<bool> open_{false};
    connect_handler connect_done_;
    error_code connect_failure_;
    std::deque<pending> pending_;
    clock::time_point armed_ = clock::time_point::max();   // the command timer's deadline, max if idle
    std::string outbox_;    // formatted commands not yet handed to a write
    std::string writing_;   // the bytes of the write in flight
    bool write_in_flight_ = false;
    std::weak_ptr<read_anchor> anchor_;   // owned by the read in flight
};

} // namespace detail
} // namespace redis
SSE_NAMESPACE_END

#endif
