// tests/support/mock_socket.hpp - an in-memory AsyncWriteStream and AsyncReadStream.
//
// Records written bytes and write calls; can cut writes short, stall writes
// until released, and fail the n-th operation (reads and writes counted
// together), so tests can loop n over every failure point. Completions are
// posted, never run inline, as with a real socket.
#ifndef SSE_TESTS_SUPPORT_MOCK_SOCKET_HPP
#define SSE_TESTS_SUPPORT_MOCK_SOCKET_HPP

#include "net.hpp"

#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace support {

class mock_socket
{
    struct pending_base
    {
        virtual ~pending_base() = default;
        virtual void complete(test::net_error_code ec, std::size_t n) = 0;
    };

    template<class Handler, class Executor>
    struct pending final : pending_base
    {
        pending(Handler&& h, Executor ex) : handler(std::move(h)), fallback(std::move(ex)) {}
        void complete(test::net_error_code ec, std::size_t n) override
        {
            auto ex = asio::get_associated_executor(handler, fallback);
            asio::post(ex, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
        }
        Handler handler;
        Executor fallback;
    };

public:
    using executor_type = asio::io_context::executor_type;
    using lowest_layer_type = mock_socket;

    /// What the test sees and steers; shared so it outlives the socket.
    struct state
    {
        std::string written;                    // every byte accepted so far
        std::vector<std::size_t> write_sizes;   // bytes accepted per write call
        std::size_t write_calls = 0;
        std::size_t max_write = std::numeric_limits<std::size_t>::max();   // cut writes short
        bool stalled = false;                   // accept no bytes until release()
        std::size_t operations = 0;             // reads and writes started
        std::size_t fail_at = std::numeric_limits<std::size_t>::max();     // 0-based operation to fail
        test::net_error_code fail_with = asio::error::network_down;
        std::string to_read;                    // bytes the peer sends
        bool peer_closed = false;
        bool shutdown_send = false;
        bool closed = false;
        std::unique_ptr<pending_base> read;
        std::unique_ptr<pending_base> write;
        std::vector<asio::const_buffer> write_buffers;
    };

    explicit mock_socket(executor_type ex) : ex_(std::move(ex)), state_(std::make_shared<state>()) {}
    mock_socket(executor_type ex, std::shared_ptr<state> s) : ex_(std::move(ex)), state_(std::move(s)) {}

    executor_type get_executor() const noexcept { return ex_; }
    mock_socket& lowest_layer() noexcept { return *this; }
    std::shared_ptr<state> const& shared_state() const noexcept { return state_; }

    template<class ConstBufferSequence, class WriteToken>
    auto async_write_some(ConstBufferSequence const& buffers, WriteToken&& token)
    {
        return asio::async_initiate<WriteToken, void(test::net_error_code, std::size_t)>(
            [this](auto handler, ConstBufferSequence const& b) {
                auto p = make_pending(std::move(handler));
                auto& s = *state_;
                ++s.write_calls;
                if (s.closed)
                    return p->complete(asio::error::bad_descriptor, 0);
                if (s.operations++ == s.fail_at)
                    return p->complete(s.fail_with, 0);
                s.write_buffers.assign(asio::buffer_sequence_begin(b), asio::buffer_sequence_end(b));
                s.write = std::move(p);
                if (!s.stalled)
                    flush_write(*state_);
            },
            token, buffers);
    }

    template<class MutableBufferSequence, class ReadToken>
    auto async_read_some(MutableBufferSequence const& buffers, ReadToken&& token)
    {
        return asio::async_initiate<ReadToken, void(test::net_error_code, std::size_t)>(
            [this](auto handler, MutableBufferSequence const& b) {
                auto p = make_pending(std::move(handler));
                auto& s = *state_;
                if (s.closed)
                    return p->complete(asio::error::bad_descriptor, 0);
                if (s.operations++ == s.fail_at)
                    return p->complete(s.fail_with, 0);
                if (!s.to_read.empty()) {
                    std::size_t const n = asio::buffer_copy(b, asio::buffer(s.to_read));
                    s.to_read.erase(0, n);
                    return p->complete({}, n);
                }
                if (s.peer_closed)
                    return p->complete(asio::error::eof, 0);
                s.read = std::move(p);
            },
            token, buffers);
    }

    void shutdown(asio::socket_base::shutdown_type what, test::net_error_code& ec)
    {
        ec = {};
        if (what != asio::socket_base::shutdown_receive)
            state_->shutdown_send = true;
    }

    void close(test::net_error_code& ec)
    {
        ec = {};
        close_state(*state_);
    }

    // The test's side of the connection.

    /// Accept the stalled write (and later ones) again.
    static void release(state& s)
    {
        s.stalled = false;
        if (s.write)
            flush_write(s);
    }

    /// Accept the pending write, if any, and stay stalled for the next one.
    static void accept_one(state& s)
    {
        if (s.write)
            flush_write(s);
    }

    /// The peer goes away: a pending read ends with eof.
    static void close_peer(state& s)
    {
        s.peer_closed = true;
        if (auto r = std::move(s.read))
            r->complete(asio::error::eof, 0);
    }

private:
    template<class Handler>
    std::unique_ptr<pending_base> make_pending(Handler&& h)
    {
        return std::make_unique<pending<std::decay_t<Handler>, executor_type>>(std::move(h), ex_);
    }

    static void flush_write(state& s)
    {
        std::size_t total = 0;
        for (auto const& b : s.write_buffers) {
            std::size_t const take = std::min(b.size(), s.max_write - total);
            s.written.append(static_cast<char const*>(b.data()), take);
            total += take;
            if (total == s.max_write)
                break;
        }
        s.write_sizes.push_back(total);
        s.write_buffers.clear();
        auto w = std::move(s.write);
        w->complete({}, total);
    }

    static void close_state(state& s)
    {
        s.closed = true;
        s.write_buffers.clear();
        if (auto w = std::move(s.write))
            w->complete(asio::error::operation_aborted, 0);
        if (auto r = std::move(s.read))
            r->complete(asio::error::operation_aborted, 0);
    }

    executor_type ex_;
    std::shared_ptr<state> state_;
};

} // namespace support

#endif
