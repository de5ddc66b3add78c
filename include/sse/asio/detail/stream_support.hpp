// sse/asio/detail/stream_support.hpp - small pieces the transport templates share.
#ifndef SSE_ASIO_DETAIL_STREAM_SUPPORT_HPP
#define SSE_ASIO_DETAIL_STREAM_SUPPORT_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/event.hpp>
#include <sse/http/detail/chars.hpp>
#include <sse/http/fields.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <iterator>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN
namespace detail {

/** std::allocator under another name. Asio treats std::allocator as "use my
    thread-local recycling allocator", which hands an operation whatever larger
    block the thread has cached; an operation that stays pending for a
    connection's whole life should cost its own size, so it asks for this one.
*/
template<class T>
struct exact_allocator
{
    using value_type = T;
    exact_allocator() noexcept = default;
    template<class U>
    exact_allocator(exact_allocator<U> const&) noexcept
    {
    }
    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept { std::allocator<T>().deallocate(p, n); }
    template<class U>
    bool operator==(exact_allocator<U> const&) const noexcept
    {
        return true;
    }
    template<class U>
    bool operator!=(exact_allocator<U> const&) const noexcept
    {
        return false;
    }
};

// A stream serialises its work on a strand. A socket whose executor is already a
// strand lends it; otherwise the stream makes one over the socket's executor.
template<class Executor>
struct strand_for
{
    using type = net::strand<Executor>;
    static type make(Executor const& ex) { return net::make_strand(ex); }
};

template<class Executor>
struct strand_for<net::strand<Executor>>
{
    using type = net::strand<Executor>;
    static type make(type const& ex) { return ex; }
};

template<class Executor>
struct is_strand : std::false_type
{
};

template<class Executor>
struct is_strand<net::strand<Executor>> : std::true_type
{
};

template<class T, class = void>
struct has_lowest_layer : std::false_type
{
};

template<class T>
struct has_lowest_layer<T, std::void_t<decltype(std::declval<T&>().lowest_layer())>> : std::true_type
{
};

// The object that owns the descriptor: shutdown and close go there. A TLS stream
// closes its TCP socket without a close_notify, which an event stream does not need.
/** True for sockets whose reads complete in one step, with no intermediate
    handlers (asio::basic_stream_socket). A layered stream such as
    asio::ssl::stream runs its intermediate steps on the completion handler's
    executor and shares state with its writes, so its reads must stay on the strand.
*/
template<class Socket>
struct reads_in_one_step : std::false_type
{
};

template<class Protocol, class Executor>
struct reads_in_one_step<net::basic_stream_socket<Protocol, Executor>> : std::true_type
{
};

template<class Socket>
decltype(auto) lowest_layer_of(Socket& s) noexcept
{
    if constexpr (has_lowest_layer<Socket>::value)
        return s.lowest_layer();
    else
        return (s);
}

/** True for asio::ssl::error::stream_truncated: a TLS peer closed TCP without
    sending close_notify. A client that just goes away does that, and an event
    stream's body ends with its connection anyway. Recognised by its category's
    name ("asio.ssl.stream", also Boost.Asio's) so that a plain stream never
    includes <asio/ssl/error.hpp> and OpenSSL's headers with it. The category's
    other two codes are not truncations; the value of this one depends on the
    OpenSSL version.
*/
inline bool is_tls_truncation(error_code const& ec) noexcept
{
    constexpr int unspecified_system_error = 2;
    constexpr int unexpected_result = 3;
    return ec && std::strcmp(ec.category().name(), "asio.ssl.stream") == 0 &&
           ec.value() != unspecified_system_error && ec.value() != unexpected_result;
}

/** Appends `name: value` CRLF to a response head, unless the name is not an HTTP
    token or the value holds CR, LF or NUL: written, such a field would end early
    and forge other fields or the body. Stream heads and plain answers alike.
*/
inline void append_safe_field(std::string& head, std::string_view name, std::string_view value)
{
    if (http::is_token(name) && http::detail::is_safe_header_value(value))
        head.append(name).append(": ").append(value).append("\r\n");
}

// The errors that mean "the other side went away", reported as error::peer_closed.
inline bool is_disconnect(error_code const& ec) noexcept
{
    return ec == sse::net_error(net::error::eof) || ec == sse::net_error(net::error::connection_reset) ||
           ec == sse::net_error(net::error::connection_aborted) || ec == sse::net_error(net::error::broken_pipe) ||
           ec == sse::net_error(net::error::not_connected) || ec == sse::net_error(net::error::shut_down) || is_tls_truncation(ec);
}

// A buffer sequence over queued event buffers [0, count), the first one starting
// at `offset`. It names the vector, not its storage, so buffers queued while a
// write is in flight may reallocate the vector without invalidating the write.
class gather_view
{
public:
    using value_type = net::const_buffer;

    class const_iterator
    {
    public:
        using iterator_category = std::bidirectional_iterator_tag;
        using value_type = net::const_buffer;
        using difference_type = std::ptrdiff_t;
        using pointer = net::const_buffer const*;
        using reference = net::const_buffer;

        const_iterator() = default;

        net::const_buffer operator*() const noexcept
        {
            std::string const& s = *(*queue_)[i_];
            std::size_t const skip = i_ == 0 ? offset_ : 0;
            return net::const_buffer(s.data() + skip, s.size() - skip);
        }
        const_iterator& operator++() noexcept { return ++i_, *this; }
        const_iterator operator++(int) noexcept { auto t = *this; ++i_; return t; }
        const_iterator& operator--() noexcept { return --i_, *this; }
        const_iterator operator--(int) noexcept { auto t = *this; --i_; return t; }
        friend bool operator==(const_iterator a, const_iterator b) noexcept { return a.i_ == b.i_; }
        friend bool operator!=(const_iterator a, const_iterator b) noexcept { return a.i_ != b.i_; }

    private:
        friend class gather_view;
        const_iterator(std::vector<event_buffer> const* q, std::size_t i, std::size_t off) noexcept
            : queue_(q), i_(i), offset_(off)
        {
        }
        std::vector<event_buffer> const* queue_ = nullptr;
        std::size_t i_ = 0;
        std::size_t offset_ = 0;
    };

    gather_view(std::vector<event_buffer> const& q, std::size_t count, std::size_t offset) noexcept
        : queue_(&q), count_(count), offset_(offset)
    {
    }
    const_iterator begin() const noexcept { return {queue_, 0, offset_}; }
    const_iterator end() const noexcept { return {queue_, count_, offset_}; }

private:
    std::vector<event_buffer> const* queue_;
    std::size_t count_;
    std::size_t offset_;
};

// When a stream quiet since `last` owes a heartbeat: `interval` later, rounded up
// to the next multiple of interval / 64 on the clock's own scale. Streams that
// went quiet in the same second (they connected together, or took the same
// events) then share a few deadlines, and the shared timer expires a few times for
// them, not once per stream: each expiry costs system calls, and 10,000 streams
// connected within half a second had cost 3,000 in one second. A heartbeat comes
// at most 1.6 % late.
inline std::chrono::steady_clock::time_point heartbeat_due(
    std::chrono::steady_clock::time_point last, std::chrono::milliseconds interval) noexcept
{
    using duration = std::chrono::steady_clock::duration;
    duration const grain = std::max(std::chrono::duration_cast<duration>(interval) / 64, duration(1));
    auto const due = last + interval;
    duration rest = due.time_since_epoch() % grain;
    if (rest < duration::zero())
        rest += grain;
    return rest == duration::zero() ? due : due + (grain - rest);
}

// steady_clock's time to within the kernel's tick (1 to 10 ms), for what counts
// in seconds: the heartbeat and the write timeout. On Linux, steady_clock reads
// CLOCK_MONOTONIC, and CLOCK_MONOTONIC_COARSE is the same clock as of the last
// tick: read without the time-stamp counter, which costs 20 to 40 ns in a virtual
// machine, where a fan-out reads it once per connection. Elsewhere, now().
inline std::chrono::steady_clock::time_point coarse_now() noexcept
{
#if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
    timespec ts{};
    if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
#endif
    return std::chrono::steady_clock::now();
}

// Writes one buffer to a non-blocking plain socket, as much as the kernel takes
// now. Where there is send(2), it is called directly: for one buffer it spares
// the kernel sendmsg's message header and vector copies, which Asio's
// write_some always makes; at low rates, one event to one idle connection is
// the whole job. Elsewhere, write_some.
template<class Socket>
std::size_t send_now(Socket& socket, char const* data, std::size_t size, net_error_code& ec)
{
#if defined(ASIO_HAS_IOCP) || defined(BOOST_ASIO_HAS_IOCP) || defined(ASIO_WINDOWS_RUNTIME) || defined(_WIN32)
    return socket.write_some(net::buffer(data, size), ec);
#else
#if defined(MSG_NOSIGNAL)
    constexpr int flags = MSG_NOSIGNAL;   // a vanished peer is an error, not a signal
#else
    constexpr int flags = 0;              // Asio sets SO_NOSIGPIPE where there is no MSG_NOSIGNAL
#endif
    for (;;) {
        auto const n = ::send(socket.native_handle(), data, size, flags);
        if (n >= 0) {
            ec = {};
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            ec = net_error_code(errno, net::error::get_system_category());
            return 0;
        }
    }
#endif
}

// A suspended asynchronous operation, type-erased so the stream can keep it in a
// list until the bytes it waits for have been written or the stream ends.
class waiter
{
public:
    waiter(bool close, std::uint32_t id) noexcept : close_(close), id_(id) {}
    waiter(waiter const&) = delete;
    waiter& operator=(waiter const&) = delete;

    // Frees this waiter, then resumes the operation on its own executor, never
    // inline, so that a handler never runs inside the stream's strand by surprise.
    virtual void complete(error_code ec) = 0;

    // Frees this waiter without resuming the operation.
    virtual void destroy() noexcept = 0;

    // The number of buffers that must have been written for a send to complete.
    std::uint64_t seq() const noexcept { return seq_; }
    void set_seq(std::uint64_t seq) noexcept { seq_ = seq; }
    bool is_close() const noexcept { return close_; }

    // Names the waiter to a cancellation request, which reaches the strand after
    // the waiter may have completed: a pointer could by then name a new one.
    std::uint32_t id() const noexcept { return id_; }

protected:
    ~waiter() = default;

private:
    std::uint64_t seq_ = 0;
    bool close_;
    std::uint32_t id_;
};

struct waiter_deleter
{
    void operator()(waiter* w) const noexcept { w->destroy(); }
};

using waiter_ptr = std::unique_ptr<waiter, waiter_deleter>;

// A stream's async_send and async_close operations, in queue order, with the
// counts that say when each is done. A stream has one only while operations are
// under way: an idle connection pays a pointer, not the bookkeeping.
struct waiter_book
{
    std::vector<waiter_ptr> waiters;
    // Buffers queued and buffers written completely since the book was opened: a
    // send is done once `written` reaches its waiter's sequence number.
    std::uint64_t queued = 0;
    std::uint64_t written = 0;
};

// A waiter lives in memory from the operation's associated allocator, and gives
// it back before the operation resumes (Asio's rule for composed operations).
template<class Op>
class op_waiter final : public waiter
{
    using allocator_type = typename std::allocator_traits<
        net::associated_allocator_t<Op>>::template rebind_alloc<op_waiter>;
    using traits = std::allocator_traits<allocator_type>;

public:
    static waiter_ptr make(Op&& op, bool close, std::uint32_t id)
    {
        allocator_type alloc(net::get_associated_allocator(op));
        op_waiter* p = traits::allocate(alloc, 1);
#if SSE_HAS_EXCEPTIONS
        try {
#endif
            traits::construct(alloc, p, std::move(op), close, id, alloc);
#if SSE_HAS_EXCEPTIONS
        } catch (...) {
            traits::deallocate(alloc, p, 1);
            throw;
        }
#endif
        return waiter_ptr(p);
    }

    op_waiter(Op&& op, bool close, std::uint32_t id, allocator_type const& alloc)
        : waiter(close, id), op_(std::move(op)), alloc_(alloc)
    {
    }

    void complete(error_code ec) override
    {
        Op op(std::move(op_));
        destroy();
        auto ex = net::get_associated_executor(op);
        auto alloc = net::get_associated_allocator(op);
        net::post(ex, sse::detail::with_allocator(alloc, [op = std::move(op), ec]() mutable { op(ec); }));
    }

    void destroy() noexcept override
    {
        allocator_type alloc(std::move(alloc_));
        traits::destroy(alloc, this);
        traits::deallocate(alloc, this, 1);
    }

private:
    Op op_;
    allocator_type alloc_;
};

} // namespace detail
SSE_NAMESPACE_END

#endif
