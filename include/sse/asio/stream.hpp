// sse/asio/stream.hpp - an event stream response over any Asio write stream.
#ifndef SSE_ASIO_STREAM_HPP
#define SSE_ASIO_STREAM_HPP

#include <sse/config.hpp>
#include <sse/cors.hpp>
#include <sse/error.hpp>
#include <sse/delivery.hpp>
#include <sse/event.hpp>
#include <sse/http/request_head.hpp>
#include <sse/asio/detail/stream_support.hpp>
#include <sse/asio/detail/stream_service.hpp>

#include <sse/asio/net.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/// What an idle stream writes to keep proxies and clients from timing out.
enum class heartbeat_kind
{
    comment,   ///< a `:` comment line, ignored by every client (3 bytes)
    event,     ///< a named event (`stream_options::heartbeat_event`) whose data is the server time in ms
};

/// How a stream keeps its own handlers from running at the same time.
enum class stream_threading
{
    /** On a strand of its own over the socket's executor (or the socket's
        executor itself when that is an `asio::strand<...>`): any number of
        threads may run the io_context.
    */
    strand,

    /** On the socket's executor as it is. Correct only when one thread runs the
        io_context (an implicit strand). Saves the strand, about 200 bytes per
        connection, and a hop through it for every write and every wake.
    */
    one_thread,
};

/** Settings of a stream. One object may be shared by every stream of a server
    (see the constructor taking a `shared_ptr`), so a stream holds no copy.
*/
struct stream_options
{
    /// The `retry:` line written right after the head. Empty: none.
    std::optional<std::chrono::milliseconds> retry = std::chrono::milliseconds(3000);

    /** A heartbeat is written when nothing else was written for this long (or up
        to a 64th longer: streams that went quiet together share one timer expiry).
        Zero: never.
    */
    std::chrono::milliseconds heartbeat_interval = std::chrono::seconds(15);

    /// What a heartbeat looks like, unless `make_heartbeat` is set.
    heartbeat_kind heartbeat = heartbeat_kind::comment;

    /// The event type of `heartbeat_kind::event`.
    std::string heartbeat_event = "heartbeat";

    /// When set, builds each heartbeat instead; called on the stream's strand.
    std::function<event_buffer()> make_heartbeat;

    /** A peer that accepts no byte of a pending write for this long is closed
        with `error::write_timeout`. Zero: never.
    */
    std::chrono::milliseconds write_timeout = std::chrono::seconds(30);

    /// Bytes gathered into one write (a larger single event still goes out whole).
    std::size_t max_write_bytes = 64 * 1024;

    /// Buffers gathered into one write.
    std::size_t max_write_buffers = 64;

    /** Bytes the stream's own queue (`send`, `async_send`) may hold. The overflow
        policy is to close with `error::send_queue_full`: a client that falls this
        far behind is better served by reconnecting with `Last-Event-ID`.
    */
    std::size_t max_queue_bytes = 1024 * 1024;

    /// Cross-origin headers of the head, for pages served from another origin
    /// (see sse::cors_policy; `cors_options` is the same type).
    cors_options cors;

    /// See stream_threading. Say `one_thread` only when one thread runs the io_context.
    stream_threading threading = stream_threading::strand;

    /// Further response header fields (name, value). A field whose name is not an
    /// HTTP token or whose value holds CR, LF or NUL is left out: it could forge headers.
    std::vector<std::pair<std::string, std::string>> extra_headers;
};

/** The type-erased pull hook of a stream.

    Called on the stream's strand, only when the stream is idle (no write in
    flight, its own queue empty). Appends up to about `max_bytes` of buffers to
    `out` and says what it did in a `pull_result` (<sse/delivery.hpp>, the
    contract shared with `sse::hub`): `count` buffers appended; `next_due`, when
    to pull again without a `notify()` (a throttled event); `closed`, the source
    is finished, so the stream writes what it got, then closes with
    `error::source_closed`; `drained`, the source had nothing more and will call
    `notify()` when it has, so the stream does not pull again until then. Must
    not block.
*/
using pull_source = std::function<pull_result(std::vector<event_buffer>& out, std::size_t max_bytes)>;

namespace detail {

// What a stream calls on the side that feeds it: sse::attach's sink, or the
// functions given to set_source() and on_close(). One pointer in the stream,
// and no closure allocated per attached stream.
class stream_hooks
{
public:
    // See pull_source. Called only while the stream has a source.
    virtual pull_result pull(std::vector<event_buffer>& out, std::size_t max_bytes) = 0;
    // Once, when the stream has ended.
    virtual void stream_closed(error_code why) = 0;
    // True for function_hooks, which set_source() and on_close() fill in rather than replace.
    virtual bool from_functions() const noexcept { return false; }
    // An idle stream lends its writes to the threads that feed it (see
    // stream::lend_writes): true if the source took them. On the stream's strand.
    virtual bool lend_writes() noexcept { return false; }
    // Takes lent writes back, waiting for a write under way. On the stream's strand.
    virtual void take_writes_back() noexcept {}

protected:
    ~stream_hooks() = default;
};

// set_source() and on_close().
class function_hooks final : public stream_hooks
{
public:
    pull_result pull(std::vector<event_buffer>& out, std::size_t max_bytes) override { return source(out, max_bytes); }
    void stream_closed(error_code why) override
    {
        if (on_close)
            on_close(why);
    }
    bool from_functions() const noexcept override { return true; }

    pull_source source;
    std::function<void(error_code)> on_close;
    // attach()'s sink, replaced by mistake: kept until the stream is destroyed.
    std::shared_ptr<stream_hooks> replaced;
};

template<class Socket>
class stream_sink;

} // namespace detail

/** One Server-Sent Events response: the head, then events, until either side ends it.

    Writes `HTTP/1.1 200 OK` with `Content-Type: text/event-stream`,
    `Cache-Control: no-cache`, `X-Accel-Buffering: no` and configured CORS
    headers, then the body raw (neither chunked nor length-delimited: the
    connection ends the body, for HTTP/1.0 and 1.1 clients alike). No
    `Connection` or `Keep-Alive` header is sent: HTTP/2 proxies reject them.

    Events are queued as shared buffers (no copy per subscriber); one write is in
    flight at a time and gathers queued buffers. The stream notices a vanished
    peer by keeping a tiny read pending, without writing.

    @code
    auto s = std::make_shared<sse::stream<asio::ip::tcp::socket>>(std::move(socket));
    s->on_close([](sse::error_code ec) { log(ec.message()); });
    s->start(request_head);
    s->send(sse::make_event_buffer(e));
    @endcode

    @tparam Socket An AsyncWriteStream and AsyncReadStream whose `lowest_layer()`
    (or itself) has `shutdown(shutdown_type, error_code&)` and `close(error_code&)`:
    `asio::ip::tcp::socket`, `asio::ssl::stream<tcp::socket>`, a test double.

    @par Ownership
    Always owned by a `std::shared_ptr` (create it with `std::make_shared`).
    Once started, pending operations keep it alive until the connection ends, so
    the caller may drop its pointer; keep a `weak_ptr` to send later.

    @par Thread safety
    All work runs serialised on `get_executor()`: with
    `stream_threading::strand` (the default), a strand (the socket's executor
    if it already is an `asio::strand`, else one made over it); with
    `stream_threading::one_thread`, the socket's executor, which one thread
    runs. `start`, `send`, `async_send`, `notify`, `async_close` and `close`
    may be called from any thread at any time; they hand their work over.
    `on_close` and `set_source` must be called before `start`. The handlers
    you give (`on_close`, the pull source, `make_heartbeat`) run serialised
    there too.

    @par Writes
    On a plain socket (`asio::basic_stream_socket`), the stream writes at once,
    without blocking (it makes the socket non-blocking), whenever nothing is in
    flight: an event to an idle connection costs one `sendmsg`. What the kernel
    does not take is written asynchronously. Wakes (`notify`) on an
    `asio::io_context` are gathered: one handler runs the wakes of every stream
    woken meanwhile. An idle plain stream attached to a hub (sse::attach) lends
    its writes to its subscription until its next step: a publishing thread with
    time to spare then writes events to it at once (see hub_options::inline_wakes).
*/
template<class Socket>
class stream : public std::enable_shared_from_this<stream<Socket>>, private detail::stream_client
{
public:
    using socket_type = Socket;
    /// Type-erased, because the stream's threading is chosen at run time.
    using executor_type = net::any_io_executor;
    using clock_type = std::chrono::steady_clock;

    /// Takes the connection; copies `options` into a shared object of its own.
    explicit stream(Socket socket, stream_options options = {});

    /// Takes the connection and shares `options` (which must not be null).
    stream(Socket socket, std::shared_ptr<stream_options const> options);

    stream(stream const&) = delete;
    stream& operator=(stream const&) = delete;
    ~stream();

    /// Where every operation of this stream runs, one at a time (see Thread safety).
    executor_type get_executor() const;

    /// The connection. Only touch it on get_executor(), and not while the stream runs.
    Socket& socket() noexcept { return socket_; }

    stream_options const& options() const noexcept { return *options_; }

    /** Sets the function called once, on the strand, when the stream ends.

        Its argument says why: empty after a graceful `async_close`;
        `error::peer_closed` (also for a TLS peer that drops TCP without
        close_notify), `error::write_timeout`, `error::send_queue_full`,
        `error::source_closed`, `error::stream_closed` (after `close()`), or the
        socket's own error. Call before `start`.
    */
    void on_close(std::function<void(error_code)> handler);

    /** Attaches a pull source (for example a hub subscription). Call before `start`.

        The stream calls `source(out, max_bytes)` on its strand whenever it is idle
        (no write in flight, own queue empty): after `start`, after each write
        unless the source said it was drained, after `notify()`, and at
        `pull_result::next_due`. See `pull_source`.
    */
    void set_source(pull_source source);

    /** Queues the response head and the initial `retry:`, and starts writing.

        `origin` is the request's `Origin` header (for CORS), empty if absent.
        Buffers sent before `start` follow the head. A second call does nothing.
    */
    void start(std::string_view origin = {});

    /// As above, taking `Origin` from a parsed request head.
    void start(http::request_head const& request);

    /** Queues a serialised event. Thread-safe; never blocks.

        Dropped if the stream is closing or closed. If the queue then holds more
        than `max_queue_bytes`, the stream closes with `error::send_queue_full`.
    */
    void send(event_buffer buffer);

    /// Serialises `e` and queues it. Throws `std::system_error` if `e` cannot be sent safely.
    void send(event const& e);

    /// Serialises `e` and queues it; reports an event that cannot be sent through `ec`.
    void send(event const& e, error_code& ec);

    /** Wakes the stream to pull from its source. Thread-safe, lock-free, cheap to
        repeat: wakes that arrive while one is pending are merged.
    */
    void notify() noexcept;

    /** Sends one event and waits until it has been written.

        Serialises `e` once, queues it behind what is already queued (before
        `start`: behind the head), and completes when all of its bytes have been
        handed to the socket, or when the stream ends first (then with the
        reason the stream ended, or `error::stream_closed`). An event that
        cannot be sent safely completes at once with its validation error.

        Completion signature: `void(error_code)`. Any completion token works
        (a callback, `use_future`, `deferred`, `use_awaitable`); the handler
        runs on its associated executor (else the stream's strand), never
        inside this call, and the operation's memory comes from its associated
        allocator.

        Cancellation: terminal only (through the handler's cancellation slot,
        as `bind_cancellation_slot` or an awaitable operator `||` installs
        it). The wait stops and the operation completes with
        `asio::error::operation_aborted`; the event stays queued, in order,
        and may still be written: cancelling cannot unsend. Partial and total
        cancellation are ignored. `close()` ends every pending operation.

        The stream is kept alive by the operation.
    */
    template<class CompletionToken>
    auto async_send(event const& e, CompletionToken&& token);

    /** Ends the stream gracefully.

        Writes what is queued and then `final_event` (for example one carrying a
        randomised `retry:` so reconnects spread out), shuts down the sending
        side and closes the connection. Pull sources are not asked again. The
        write timeout still applies, so it never hangs on a stalled peer.

        Completes when the connection is closed: with an empty code if every
        byte was written, else with the reason the stream ended.
        Completion signature: `void(error_code)`; tokens, executor and
        allocator as for `async_send`.

        Cancellation: terminal only. The wait stops and the operation completes
        with `asio::error::operation_aborted`; the stream still closes
        gracefully after the queued bytes. To end at once, call `close()`.

        The stream is kept alive by the operation.
    */
    template<class CompletionToken>
    auto async_close(std::optional<event> final_event, CompletionToken&& token);

    /// Closes the connection at once, dropping what is queued. Thread-safe.
    void close();

private:
    using time_point = clock_type::time_point;
    using socket_executor = typename Socket::executor_type;
    // A socket whose executor is a strand lends it: no strand of the stream's own.
    static constexpr bool lends_strand = detail::is_strand<socket_executor>::value;
    // Plain sockets are written to at once and watched with a readiness wait;
    // a layered stream (TLS) has intermediate steps that must not be bypassed.
    static constexpr bool plain_socket = detail::reads_in_one_step<Socket>::value;
    using own_strand = net::strand<socket_executor>;
    // Everything the stream hands to an executor is one kind of handler: a member
    // function and its arguments. One set of Asio's templates is instantiated for
    // it, not one per call site (compile time is every user's cost).
    using step = void (stream::*)(event_buffer, error_code, std::size_t);
    struct task
    {
        std::shared_ptr<stream> self;
        step fn;
        event_buffer buffer;
        error_code ec;
        std::size_t n;
        void operator()() { self->run_step(fn, std::move(buffer), ec, n); }
    };

    task make_task(step fn, event_buffer buffer = {}, error_code ec = {}, std::size_t n = 0);
    void post_serial(task t);
    void dispatch_serial(task t);
    void then(step fn, error_code ec, std::size_t n);
    bool hand_over(step fn) noexcept;
    void run_step(step fn, event_buffer buffer, error_code ec, std::size_t n);
    void lend_writes() noexcept;
    template<class Pull>
    bool write_lent(Pull&& pull) noexcept;
    void woken() noexcept override;
    void deadline_reached() noexcept override;
    std::shared_ptr<detail::stream_client> keep_alive() noexcept override;
    // Steps (see task).
    void start_step(event_buffer head, error_code, std::size_t);
    void send_step(event_buffer buffer, error_code, std::size_t);
    void close_step(event_buffer, error_code, std::size_t);
    void cancel_step(event_buffer, error_code, std::size_t id);
    void end_by_step(event_buffer, error_code, std::size_t milliseconds);
    void wake_step(event_buffer, error_code, std::size_t);
    void write_step(event_buffer, error_code ec, std::size_t bytes);
    void peer_step(event_buffer, error_code ec, std::size_t);
    void timer_step(event_buffer, error_code, std::size_t);
    bool written(error_code ec, std::size_t bytes);
    detail::function_hooks& function_hooks();
    void set_hooks(std::shared_ptr<detail::stream_hooks> hooks);
    void end_within(std::chrono::milliseconds limit);
    friend class detail::stream_sink<Socket>;

    template<class CompletionToken>
    auto async_queue(event_buffer bytes, error_code invalid, bool closes, CompletionToken&& token);
    void do_start(event_buffer head);
    void enqueue(event_buffer buffer);
    void add_waiter(detail::waiter_ptr w, event_buffer buffer);
    void cancel_waiter(std::uint32_t id);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);
    void pull();
    void start_read();
    void on_read(error_code ec);
    void schedule(time_point t);
    void schedule_idle();
    void finish_gracefully();
    void finish(error_code reason);
    void complete_waiters(bool all);
    void count_queued(std::size_t n) noexcept;
    event_buffer heartbeat_buffer() const;

    // First, next to the reference counts that std::make_shared puts in front and
    // to the socket's descriptor: what a write at once reads and writes (see
    // write_lent()), so that it touches two cache lines of the stream, not five.
    // A publish to 20,000 idle streams finds every one of them cold.
    std::shared_ptr<stream_options const> options_;
    time_point last_activity_{};        // last write progress: heartbeat and write timeout count from it
    // True while the stream is idle and its hooks hold its writes: the state a
    // write changes (queue_, offset_, queued_bytes_, last_activity_) and the
    // socket's sending side belong to whoever holds the hooks' lock, so that the
    // thread that publishes writes at once (see lend_writes()).
    std::atomic<bool> writes_lent_{false};
    // Read by lend_writes() too; here, they fill the padding before the socket.
    bool started_ = false;
    bool writing_ = false;
    bool closing_ = false;
    bool closed_ = false;
    // none: no source (none given, or it closed); drained: it gave all it had and
    // wakes the stream when it has more (pull_result::drained), so no pull until then.
    enum class source_state : unsigned char
    {
        none,
        pulls,
        drained,
    };
    source_state source_ = source_state::none;
    Socket socket_;
    // Null with stream_threading::one_thread or a lent strand.
    std::unique_ptr<own_strand> strand_;
    // The execution context's wake batches and timer.
    detail::stream_service* service_;
    // The source and the close handler. Owned: an attached stream keeps its sink
    // alive until it is destroyed (the hub reaches the sink through the stream's
    // ownership); the functions of set_source() and on_close() go when it ends.
    std::shared_ptr<detail::stream_hooks> hooks_;
    // Queued buffers; the write in flight covers [0, writing_count_).
    std::vector<event_buffer> queue_;
    // Operations under way (async_send, async_close); null without any.
    std::unique_ptr<detail::waiter_book> book_;
    std::size_t queued_bytes_ = 0;
    std::size_t offset_ = 0;            // bytes of queue_[0] already written
    time_point end_by_{};               // the stream closes then, whatever it is doing; zero: no such limit
    time_point next_due_{};             // the source's throttled events are due then; zero: none
    error_code reason_;
    std::atomic<bool> wake_pending_{false};
    char read_buffer_[1] = {};   // layered streams' peer watch
    // Waiter ids. 32 bits fill the object's tail padding; a wrong match needs 2^32
    // operations started while one cancellation request is on its way.
    std::atomic<std::uint32_t> waiter_ids_{0};
};

SSE_NAMESPACE_END

#include <sse/asio/impl/stream.hpp>

#if defined(SSE_SEPARATE_ASIO)
SSE_NAMESPACE_BEGIN
// Compiled once, in the translation unit that includes <sse/asio/src.hpp>.
extern template class stream<net::ip::tcp::socket>;
SSE_NAMESPACE_END
#endif
#endif
