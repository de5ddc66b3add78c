// bench/load/fanout_server.cpp - sse-fanout: the server half of the loopback load pair.
//
// `GET <prefix>sub` is an event stream of every broadcast; `POST <prefix>pub` broadcasts its body
// (one line) as `data: <body>` to every subscriber and answers 202 at once, keeping the connection
// for further requests when the client allows it. Built from the library's pieces: sse::listener
// accepts and reads each request head, sse::hub fans out, sse::attach serves a subscription over an
// sse::stream. Everything else gets 404 (405 for a known path with the wrong method).
//
// Threads: `--threads N` run the streams' io_context (1 is best on 2 cores); one more, the intake,
// runs the listener and the publishers' connections and calls hub::publish, so that requests are
// read and published in the order they arrive however busy the stream thread is.
//
//   sse-fanout [--host 127.0.0.1] [--port 0] [--prefix /] [--threads 1] [--heartbeat 15]
//              [--inline-wakes automatic|always|never]
//   curl -N http://127.0.0.1:PORT/sub    and    curl -d hello http://127.0.0.1:PORT/pub
//
// With `--redis redis://HOST:PORT/NS` (built when the sse::redis target exists), the hub follows a
// Redis backplane: several sse-fanout processes on one Redis and one namespace deliver every
// publish, made on any of them, to all their subscribers, in one order. A POST is then answered
// 202 once Redis has taken the event (503 if it could not).
//
// Prints `listening on HOST:PORT` as its first line (with --redis, once the backplane has synced
// with Redis), then runs until SIGINT or SIGTERM: it stops accepting, ends every stream with a
// randomised `retry:` and prints the hub's counters on stderr. See bench/load/README.md.

#include <sse/asio/attach.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/hub.hpp>
#if SSE_FANOUT_REDIS
#include <sse/redis/backplane.hpp>
#endif

#include <asio/bind_executor.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace fanout {

using tcp = asio::ip::tcp;
using error_code = std::error_code;
// Subscribers' sockets name the io_context's executor type, not asio::any_io_executor:
// a copy is a pointer, not a type-erased object (about 50 bytes less per idle connection
// in the socket and in its pending operation, and no type-erased calls).
using stream_socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using sse_stream = sse::stream<stream_socket>;

struct options
{
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::string prefix = "/";
    unsigned threads = 1;
    double heartbeat = 15;
    std::size_t max_body = 64 * 1024;
    std::string redis;   // redis://HOST:PORT/NS; empty: no backplane
    double redis_wait = 10;
    sse::inline_wake_policy inline_wakes = sse::inline_wake_policy::automatic;
};

[[noreturn]] void usage_error(std::string const& why)
{
    bool const help = why.empty();
    if (!help)
        std::fprintf(stderr, "sse-fanout: %s\n", why.c_str());
    std::fprintf(help ? stdout : stderr,
        "usage: sse-fanout [--host ADDR] [--port P] [--prefix /P/] [--threads N] [--heartbeat S]\n"
        "  --host ADDR      address to listen on (default 127.0.0.1)\n"
        "  --port P         port; 0 picks a free one (default 0)\n"
        "  --prefix /P/     serve <prefix>sub and <prefix>pub (default /)\n"
        "  --threads N      threads running the streams (default 1); one more reads requests\n"
        "  --heartbeat S    seconds of silence before a heartbeat comment; 0: none (default 15)\n"
        "  --inline-wakes W automatic, always or never: may the intake thread write events to idle\n"
        "                   streams at once (sse::hub_options::inline_wakes; default automatic)\n"
        "  --max-body B     largest POST body in bytes; larger ones get 413 (default 65536)\n"
        "  --redis URL      follow a Redis backplane, redis://[:PASSWORD@]HOST[:PORT][/NAMESPACE]%s\n"
        "  --redis-wait S   seconds to wait for Redis at start before giving up (default 10)\n",
#if SSE_FANOUT_REDIS
        "");
#else
        " (not in this build: it needs libhiredis-dev)");
#endif
    std::exit(help ? 0 : 2);
}

template<class Number>
Number parse_number(std::string_view flag, std::string_view value)
{
    Number n{};
    auto const [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size())
        usage_error(std::string(flag) + ": not a number: " + std::string(value));
    return n;
}

options parse_options(int argc, char** argv)
{
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view const arg = argv[i];
        if (arg == "--help" || arg == "-h")
            usage_error({});
        if (i + 1 >= argc)
            usage_error(std::string(arg) + " needs a value");
        std::string_view const value = argv[++i];
        if (arg == "--host") o.host = value;
        else if (arg == "--port") o.port = parse_number<unsigned short>(arg, value);
        else if (arg == "--prefix") o.prefix = value;
        else if (arg == "--threads") o.threads = parse_number<unsigned>(arg, value);
        else if (arg == "--heartbeat") o.heartbeat = std::strtod(std::string(value).c_str(), nullptr);
        else if (arg == "--max-body") o.max_body = parse_number<std::size_t>(arg, value);
        else if (arg == "--redis") o.redis = value;
        else if (arg == "--redis-wait") o.redis_wait = std::strtod(std::string(value).c_str(), nullptr);
        else if (arg == "--inline-wakes") {
            if (value == "automatic") o.inline_wakes = sse::inline_wake_policy::automatic;
            else if (value == "always") o.inline_wakes = sse::inline_wake_policy::always;
            else if (value == "never") o.inline_wakes = sse::inline_wake_policy::never;
            else usage_error("--inline-wakes must be automatic, always or never");
        }
        else usage_error("unknown option " + std::string(arg));
    }
    if (o.prefix.empty() || o.prefix.front() != '/')
        usage_error("--prefix must start with '/'");
    if (o.prefix.back() != '/')
        o.prefix += '/';
    if (o.threads == 0 || o.threads > 64)
        usage_error("--threads must be 1 to 64");
    if (!(o.heartbeat >= 0))
        usage_error("--heartbeat must be 0 or more");
    if (!(o.redis_wait > 0))
        usage_error("--redis-wait must be more than 0");
#if SSE_FANOUT_REDIS
    if (!o.redis.empty()) {
        sse::redis::backplane_options ro;
        std::error_code ec;
        sse::redis::parse_url(o.redis, ro, ec);
        if (ec)
            usage_error("--redis " + o.redis + ": " + ec.message());
    }
#else
    if (!o.redis.empty())
        usage_error("--redis: this sse-fanout was built without Redis support; install libhiredis-dev and "
                    "configure bench/load again");
#endif
    return o;
}

// A server holds as many connections as it has descriptors: take all the hard limit allows.
void raise_descriptor_limit()
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

class publisher_connection;

class server
{
public:
    server(asio::io_context& io, options const& o) : io_(io), opt_(o), sub_path_(o.prefix + "sub"),
        pub_path_(o.prefix + "pub"), signals_(io, SIGINT, SIGTERM), backstop_(io),
        intake_work_(intake_io_.get_executor()), publish_strand_(asio::make_strand(intake_io_.get_executor()))
    {
        sse::hub_options ho;
        // The generator reads everything, so a subscriber only falls behind when the server
        // does: allow a long backlog before the slow-consumer policy (disconnect) applies.
        ho.queue.max_bytes = 4 * 1024 * 1024;
        ho.queue.max_age = std::chrono::seconds(60);
        ho.queue.policy = sse::slow_consumer_policy::disconnect;
        ho.replay.max_events = 256;
        ho.inline_wakes = o.inline_wakes;
#if SSE_FANOUT_REDIS
        if (!o.redis.empty()) {
            sse::redis::backplane_options ro;
            error_code ignored;   // parse_options() has checked the URL
            sse::redis::parse_url(o.redis, ro, ignored);
            // On the intake thread, which also makes the publishes: the reader hands each entry
            // to the hub there, as hub::publish did without a backplane.
            backplane_ = sse::redis::backplane::create(intake_io_.get_executor(), std::move(ro));
            ho.backplane = backplane_;
        }
#endif
        hub_ = std::make_unique<sse::hub>(std::move(ho));

        // One options object for every stream: a stream holds only a pointer to it.
        sse::stream_options so;
        so.heartbeat_interval = std::chrono::milliseconds(static_cast<long long>(o.heartbeat * 1000));
        // One thread runs the streams: no strand per stream is needed.
        if (o.threads == 1)
            so.threading = sse::stream_threading::one_thread;
        stream_options_ = std::make_shared<sse::stream_options const>(std::move(so));

        attach_.shutdown_retry_min = std::chrono::seconds(1);
        attach_.shutdown_retry_max = std::chrono::seconds(10);
        attach_.shutdown_deadline = std::chrono::seconds(2);
        attach_.on_close = [this](error_code) { streams_open.fetch_sub(1, std::memory_order_relaxed); };
        attach_shared_ = std::make_shared<sse::attach_options const>(attach_);
    }

    // The hub first: it holds the backplane, whose I/O objects belong to intake_io_, so both
    // must go before intake_io_ does.
    ~server()
    {
        hub_.reset();
#if SSE_FANOUT_REDIS
        backplane_.reset();
#endif
    }

    sse::hub& hub() noexcept { return *hub_; }

    /// True when publishes go through a backplane (hub::publish_async completes later).
    bool has_backplane() const noexcept
    {
#if SSE_FANOUT_REDIS
        return backplane_ != nullptr;
#else
        return false;
#endif
    }

    /** Waits, on the calling thread, until the backplane has synced with Redis, for at most
        --redis-wait seconds. Returns an empty string when it has (or there is no backplane),
        else why not. The intake thread must be running.
    */
    std::string wait_for_backplane()
    {
#if SSE_FANOUT_REDIS
        if (!backplane_)
            return {};
        auto const deadline = std::chrono::steady_clock::now() +
            std::chrono::milliseconds(static_cast<long long>(opt_.redis_wait * 1000));
        for (;;) {
            auto const st = backplane_->stats();
            if (st.state == sse::backplane_state::connected)
                return {};
            if (std::chrono::steady_clock::now() >= deadline) {
                char waited[32];
                std::snprintf(waited, sizeof waited, "%g", opt_.redis_wait);
                return "no connection to Redis at " + opt_.redis + " after " + waited + " s" +
                    (st.last_error.empty() ? std::string() : ": " + st.last_error) +
                    " (is redis-server running there? see --redis-wait)";
            }
            // Polled: the backplane reports its state through stats() and the hub, not to a waiter.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
#else
        return {};
#endif
    }
    asio::io_context& io() noexcept { return io_; }
    options const& opt() const noexcept { return opt_; }
    std::string const& pub_path() const noexcept { return pub_path_; }

    /// Opens the listener; returns the bound endpoint.
    tcp::endpoint start()
    {
        auto const address = asio::ip::make_address(opt_.host);
        listener_ = std::make_shared<sse::listener>(intake_io_.get_executor(), tcp::endpoint(address, opt_.port),
            [this](sse::http::request_head head, tcp::socket socket, std::string_view rest) {
                route(std::move(head), std::move(socket), rest);
            });
        listener_->start();
        signals_.async_wait([this](error_code ec, int) {
            if (!ec)
                stop();
        });
        return listener_->local_endpoint();
    }

    /// Every request head, from the listener or from a publisher's kept connection.
    void route(sse::http::request_head head, tcp::socket socket, std::string_view rest);

    /// Stops accepting, closes the publishers' connections and ends every stream.
    void stop();

    void add(publisher_connection* c, std::weak_ptr<publisher_connection> w)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        publishers_.emplace(c, std::move(w));
    }

    void remove(publisher_connection* c)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        publishers_.erase(c);
    }

    bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }

    /** The listener and the publisher connections run on an io_context and a thread of
        their own, so that a request is read as soon as it arrives even while the stream
        threads are busy writing the previous event: publishes keep the rate and the order in
        which they were sent (the first request of a connection included). One strand
        serialises the publishes. A subscriber's connection moves to the streams' io_context.
    */
    asio::io_context& intake_io() noexcept { return intake_io_; }
    asio::strand<asio::any_io_executor> const& publish_strand() const noexcept { return publish_strand_; }

    /// Runs the intake io_context until stop() and its last connection have ended.
    void run_intake()
    {
        intake_io_.run();
        intake_done_.set_value();
    }

    /** Lets the intake io_context finish its work for up to `grace` (the backplane's stop,
        which closes its Redis connections and so breaks their references to it), then
        stops it whatever is left.
    */
    void finish_intake(std::chrono::milliseconds grace)
    {
        if (intake_finished_.wait_for(grace) != std::future_status::ready)
            intake_io_.stop();
    }


    std::atomic<std::uint64_t> published{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::uint64_t> streams_opened{0};
    std::atomic<std::uint64_t> streams_open{0};

private:
    void subscribe(sse::http::request_head const& head, stream_socket socket);
    void watch_shutdown();

    asio::io_context& io_;
    options opt_;
    std::string sub_path_;
    std::string pub_path_;
    std::unique_ptr<sse::hub> hub_;
    std::shared_ptr<sse::stream_options const> stream_options_;
    sse::attach_options attach_;
    std::shared_ptr<sse::attach_options const> attach_shared_;   // one copy for every stream
    asio::signal_set signals_;
    asio::steady_timer backstop_;
    // Before intake_io_: connections that its destructor destroys unregister themselves.
    std::mutex mutex_;
    std::unordered_map<publisher_connection*, std::weak_ptr<publisher_connection>> publishers_;
    asio::io_context intake_io_{1};
    asio::executor_work_guard<asio::io_context::executor_type> intake_work_;
    asio::strand<asio::any_io_executor> publish_strand_;
    std::shared_ptr<sse::listener> listener_;   // after intake_io_, whose reactor it uses
#if SSE_FANOUT_REDIS
    std::shared_ptr<sse::redis::backplane> backplane_;
#endif
    std::chrono::steady_clock::time_point stop_deadline_{};
    std::atomic<bool> stopping_{false};
    std::promise<void> intake_done_;
    std::future<void> intake_finished_ = intake_done_.get_future();
};

// The same connection, served by `io`'s reactor, as a socket of type To.
template<class To = tcp::socket, class From>
To move_to(asio::io_context& io, From socket)
{
    if constexpr (std::is_same_v<To, From>)
        if (&asio::query(socket.get_executor(), asio::execution::context) == &io)
            return socket;
    error_code ec;
    auto const protocol = socket.local_endpoint(ec).protocol();
    auto const fd = socket.release(ec);
    To moved(io);
    if (!ec)
        moved.assign(protocol, fd, ec);
    return moved;
}

void refuse(tcp::socket socket, int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {})
{
    sse::response r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    sse::respond_and_close(std::move(socket), r);
}

// One publisher's connection, from its first POST head until it closes: reads each body (exactly
// Content-Length bytes), publishes it, answers 202, and reads the next head on the same
// connection when the request allows keep-alive. A few exist at a time, so a fixed read buffer
// here is cheap; subscribers never get one.
class publisher_connection : public std::enable_shared_from_this<publisher_connection>
{
public:
    publisher_connection(server& srv, tcp::socket socket)
        : srv_(srv),
          socket_(move_to(srv.intake_io(), std::move(socket))),
          strand_(srv.publish_strand()),
          timer_(srv.intake_io())
    {
    }

    ~publisher_connection() { srv_.remove(this); }

    void start(sse::http::request_head head, std::string_view rest)
    {
        srv_.add(this, weak_from_this());
        error_code ignored;
        socket_.non_blocking(true, ignored);
        pending_.assign(rest);
        asio::dispatch(strand_, [self = shared_from_this(), head = std::move(head)]() mutable {
            self->begin(std::move(head));
        });
    }

    /// Closes the connection; any thread.
    void close()
    {
        asio::dispatch(strand_, [self = shared_from_this()] {
            error_code ignored;
            self->timer_.cancel();
            self->socket_.close(ignored);
        });
    }

private:
    // A kept connection waits this long for the next head, and a body for its next bytes.
    static constexpr std::chrono::seconds idle_timeout{60};

    void begin(sse::http::request_head head)
    {
        if (head.method() != "POST" || head.path() != srv_.pub_path()) {
            // Another request on a kept connection: route it like a new one (a late GET of
            // the stream works too); it takes the connection.
            timer_.cancel();
            error_code ignored;
            socket_.non_blocking(false, ignored);
            return srv_.route(std::move(head), std::move(socket_), pending_);
        }
        keep_alive_ = head.keep_alive() && !srv_.stopping();
        if (head.body_framing() != sse::http::framing::length)
            return fail(411, "411 Length Required: send the body with a Content-Length\n");
        if (head.content_length() > srv_.opt().max_body)
            return fail(413, "413 Content Too Large: the body is limited to " +
                std::to_string(srv_.opt().max_body) + " bytes\n");
        body_left_ = static_cast<std::size_t>(head.content_length());
        body_.clear();
        take_body();
    }

    void take_body()
    {
        std::size_t const n = std::min(body_left_, pending_.size());
        body_.append(pending_, 0, n);
        pending_.erase(0, n);
        body_left_ -= n;
        if (body_left_ == 0)
            return publish();
        read([](publisher_connection& self) { self.take_body(); });
    }

    void publish()
    {
        std::string_view data = body_;
        if (!data.empty() && data.back() == '\n')
            data.remove_suffix(1);
        if (!data.empty() && data.back() == '\r')
            data.remove_suffix(1);
        sse::event e;
        e.data.emplace(data);
#if SSE_FANOUT_REDIS
        if (srv_.has_backplane()) {
            // Answered once the log has taken the event (or refused it); delivery, here too,
            // comes through the backplane's reader.
            srv_.hub().publish_async(std::move(e), sse::audience::all(), {},
                [self = shared_from_this()](error_code ec, sse::publish_result const&) {
                    asio::dispatch(self->strand_, [self, ec] { self->answer(ec); });
                });
            return;
        }
#endif
        error_code ec;
        srv_.hub().publish(std::move(e), sse::audience::all(), {}, ec);
        answer(ec);
    }

    void answer(error_code ec)
    {
        if (ec) {
            srv_.refused.fetch_add(1, std::memory_order_relaxed);
            return fail(503, "503 Service Unavailable: " + ec.message() + "\n", {{"Retry-After", "1"}});
        }
        srv_.published.fetch_add(1, std::memory_order_relaxed);
        // Written here rather than by sse::respond_and_close: the body has been read whole, so
        // no lingering close is needed, and the answer is the same static bytes every time.
        static constexpr std::string_view keep = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
        static constexpr std::string_view last =
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        auto const answer = keep_alive_ ? keep : last;
        asio::async_write(socket_, asio::buffer(answer.data(), answer.size()),
            asio::bind_executor(strand_, [self = shared_from_this()](error_code wec, std::size_t) {
                if (wec || !self->keep_alive_)
                    return self->abandon();
                self->next_head();
            }));
    }

    void next_head()
    {
        error_code ec;
        std::size_t const used = parser_.feed(pending_, ec);
        pending_.erase(0, used);
        if (ec)
            return fail(sse::http::status_for(ec), std::to_string(sse::http::status_for(ec)) + " " +
                std::string(sse::reason_phrase(sse::http::status_for(ec))) + ": " + ec.message() + "\n");
        if (parser_.done())
            return begin(parser_.release());
        read([](publisher_connection& self) { self.next_head(); });
    }

    // Reads more bytes into pending_, under the idle deadline, then calls `then`.
    void read(void (*then)(publisher_connection&))
    {
        timer_.expires_after(idle_timeout);
        timer_.async_wait(asio::bind_executor(strand_, [self = shared_from_this()](error_code ec) {
            if (!ec)
                self->abandon();
        }));
        // Waits for readiness, then reads, rather than async_read_some: that one reads at once
        // when bytes are already there, which let a connection whose answer had just been
        // written publish ahead of others whose requests arrived earlier. Readiness comes in
        // arrival order (the reactor's epoll list), so publishes do too.
        socket_.async_wait(tcp::socket::wait_read,
            asio::bind_executor(strand_, [self = shared_from_this(), then](error_code ec) {
                if (!ec) {
                    std::size_t const n = self->socket_.read_some(asio::buffer(self->buffer_), ec);
                    if (ec == asio::error::would_block || ec == asio::error::try_again)
                        return self->read(then);
                    if (!ec)
                        self->pending_.append(self->buffer_, n);
                }
                self->timer_.cancel();
                if (ec)
                    return self->abandon();
                then(*self);
            }));
    }

    void fail(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {})
    {
        timer_.cancel();
        srv_.refused.fetch_add(1, std::memory_order_relaxed);
        refuse(std::move(socket_), status, std::move(body), std::move(headers));
    }

    void abandon()
    {
        error_code ignored;
        timer_.cancel();
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

    server& srv_;
    tcp::socket socket_;
    asio::strand<asio::any_io_executor> strand_;
    asio::steady_timer timer_;
    sse::http::request_parser parser_;
    std::string pending_;   // bytes read past what has been used: body, or the next head
    std::string body_;
    std::size_t body_left_ = 0;
    bool keep_alive_ = false;
    char buffer_[4096];
};

void server::route(sse::http::request_head head, tcp::socket socket, std::string_view rest)
{
    auto const path = head.path();
    if (path == pub_path_) {
        if (head.method() != "POST")
            return refuse(std::move(socket), 405, "405 Method Not Allowed: POST the event\n", {{"Allow", "POST"}});
        auto c = std::make_shared<publisher_connection>(*this, std::move(socket));
        return c->start(std::move(head), rest);
    }
    if (path == sub_path_) {
        if (head.method() != "GET")
            return refuse(std::move(socket), 405, "405 Method Not Allowed: GET the stream\n", {{"Allow", "GET"}});
        return subscribe(head, move_to<stream_socket>(io_, std::move(socket)));
    }
    refuse(std::move(socket), 404, "404 Not Found: GET " + sub_path_ + " or POST " + pub_path_ + "\n");
}

void server::subscribe(sse::http::request_head const& head, stream_socket socket)
{
    auto s = std::make_shared<sse_stream>(std::move(socket), stream_options_);
    sse::subscriber_options so;
    // Not needed by the generator, but harmless: a reconnecting client catches up.
    if (auto const last = head.fields().find("Last-Event-ID"))
        so.last_event_id.emplace(*last);
    error_code ec;
    streams_open.fetch_add(1, std::memory_order_relaxed);
    auto sub = sse::attach(*hub_, s, std::move(so), attach_shared_, ec);
    if (!sub) {
        streams_open.fetch_sub(1, std::memory_order_relaxed);
        refuse(move_to(intake_io_, std::move(s->socket())), 503, "503 Service Unavailable: " + ec.message() + "\n");
        return;
    }
    streams_opened.fetch_add(1, std::memory_order_relaxed);
    s->start(head);
}

void server::stop()
{
    if (stopping_.exchange(true))
        return;
    std::fprintf(stderr, "sse-fanout: stopping\n");
    // Called without a signal too (Redis not reachable at start): the wait must not keep io_ running.
    error_code ignored;
    signals_.cancel(ignored);
    listener_->stop();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [ptr, weak] : publishers_)
            if (auto c = weak.lock())
                c->close();
    }
    auto const st = hub_->stats();
    std::fprintf(stderr,
        "sse-fanout: %llu streams opened, %llu open; %llu published, %llu refused; %llu deliveries, "
        "%llu slow-consumer disconnects; %llu events written at once by the publishing thread\n",
        static_cast<unsigned long long>(streams_opened.load()), static_cast<unsigned long long>(streams_open.load()),
        static_cast<unsigned long long>(published.load()), static_cast<unsigned long long>(refused.load()),
        static_cast<unsigned long long>(st.deliveries),
        static_cast<unsigned long long>(st.disconnected(sse::close_reason::slow_consumer)),
        static_cast<unsigned long long>(st.inline_fanouts));
#if SSE_FANOUT_REDIS
    if (backplane_) {
        auto const b = backplane_->stats();
        std::fprintf(stderr,
            "sse-fanout: backplane %s epoch %s at %llu (lag %llu): %llu published, %llu refused, %llu entries "
            "read, %llu reconnects%s%s\n",
            b.server.c_str(), b.epoch.c_str(), static_cast<unsigned long long>(b.position),
            static_cast<unsigned long long>(b.lag), static_cast<unsigned long long>(b.published),
            static_cast<unsigned long long>(b.publish_failures), static_cast<unsigned long long>(b.entries_read),
            static_cast<unsigned long long>(b.reconnects), b.last_error.empty() ? "" : "; last error: ",
            b.last_error.c_str());
    }
#endif
    // Every attached stream writes its final `retry:` and closes, within attach_.shutdown_deadline.
    hub_->shutdown();
#if SSE_FANOUT_REDIS
    if (backplane_)
        backplane_->stop();
#endif
    intake_work_.reset();
    stop_deadline_ = std::chrono::steady_clock::now() + attach_.shutdown_deadline + std::chrono::seconds(1);
    watch_shutdown();
}

// Polls until the last stream and publisher have gone, then lets io_context::run return; past
// the deadline it stops the io_context whatever is left.
void server::watch_shutdown()
{
    bool idle;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        idle = publishers_.empty();
    }
    if (idle && streams_open.load(std::memory_order_relaxed) == 0)
        return;
    if (std::chrono::steady_clock::now() >= stop_deadline_) {
        std::fprintf(stderr, "sse-fanout: connections left at the deadline; stopping anyway\n");
        io_.stop();
        return;
    }
    backstop_.expires_after(std::chrono::milliseconds(50));
    backstop_.async_wait([this](error_code ec) {
        if (!ec)
            watch_shutdown();
    });
}

} // namespace fanout

int main(int argc, char** argv)
{
    auto const opt = fanout::parse_options(argc, argv);
    fanout::raise_descriptor_limit();
    int status = 0;
    try {
        asio::io_context io(static_cast<int>(opt.threads));
        fanout::server srv(io, opt);
        auto const endpoint = srv.start();

        std::vector<std::thread> threads;
        threads.emplace_back([&srv] { srv.run_intake(); });
        // With a backplane, "listening" means ready to publish: scripts wait for this line.
        if (auto const why = srv.wait_for_backplane(); !why.empty()) {
            std::fprintf(stderr, "sse-fanout: %s\n", why.c_str());
            status = 1;
            asio::post(io, [&srv] { srv.stop(); });
        } else {
            std::printf("listening on %s:%u\n", endpoint.address().to_string().c_str(), endpoint.port());
            std::fflush(stdout);
        }
        for (unsigned i = 1; i < opt.threads; ++i)
            threads.emplace_back([&io] { io.run(); });
        io.run();
        srv.finish_intake(std::chrono::seconds(2));
        for (auto& t : threads)
            t.join();
    } catch (std::exception const& e) {
        std::fprintf(stderr, "sse-fanout: %s\n", e.what());
        return 1;
    }
    return status;
}
