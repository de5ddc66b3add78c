// server.hpp - the notification service: routes, streams, publishing, administration (server.cpp, streams.cpp).
#ifndef SSE_SERVER_SERVER_HPP
#define SSE_SERVER_SERVER_HPP

#include "auth.hpp"
#include "backplane.hpp"
#include "clients.hpp"
#include "config.hpp"
#include "dashboard.hpp"
#include "http.hpp"
#include "limits.hpp"
#include "log.hpp"
#include "metrics.hpp"
#include "publisher.hpp"

#include <sse/asio/attach.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/asio/stream.hpp>
#include <sse/hub.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace app {

/** The whole service on one sse::hub: the endpoints of docs/server.md over
    sse::io_context_listener (sse::tls_listener with a certificate), run on `config::threads` threads.

    @code
    app::server s(config);          // binds; throws std::system_error if it cannot
    s.start();
    app::notify_user(s.events(), "alice", {app::notification_type::info, "Hello", "Welcome back"});
    s.shutdown();                   // from anywhere, e.g. a signal handler
    s.wait();
    @endcode

    @par Thread safety
    start, shutdown, wait and the accessors may be called from any thread.
*/
class server
{
public:
    using tcp = asio::ip::tcp;

    /// Binds the listening socket; nothing is served until start(). `log_sink` empty: stderr.
    explicit server(config c, logger::sink_type log_sink = {});

    /// Shuts down and waits, as shutdown() and wait() do.
    ~server();

    server(server const&) = delete;
    server& operator=(server const&) = delete;

    /// The bound address: the port chosen when configured with port 0.
    tcp::endpoint endpoint() const { return listener_ ? listener_->local_endpoint() : tls_listener_->local_endpoint(); }

    /// The URL of the demo page: https with `--tls-cert`.
    std::string url() const;

    /// Starts accepting, with the configured number of threads.
    void start();

    /** Begins a graceful shutdown and returns at once: stops accepting, then
        ends every stream with a final `retry:` spread over 1 to 10 s so that
        clients come back gradually. Idempotent.
    */
    void shutdown();

    /** Blocks until the threads have finished. After shutdown(), streams get
        `shutdown_deadline` to close; whatever is still running 2 s after that
        is abandoned. Returns false in that case.
    */
    bool wait();

    /// Publishes application events (see events.hpp for the typed helpers).
    app::publisher& events() noexcept { return publisher_; }

    sse::hub& hub() noexcept { return hub_; }
    client_registry const& clients() const noexcept { return clients_; }
    logger const& log() const noexcept { return log_; }
    asio::io_context::executor_type get_executor() noexcept { return io_.get_executor(); }

    /// The numbers of /api/sse/stats and /metrics.
    service_snapshot snapshot() const;

    /// With --redis: the backplane's state (see /health); nothing otherwise.
    std::optional<backplane_snapshot> backplane() const { return backplane_.snapshot(); }

private:
    using request_ptr = std::shared_ptr<request const>;

    // Every handler takes the connection as it came: sse::io_context_socket (a TCP socket on
    // io_context's executor type: smaller than asio::ip::tcp::socket, and so is every operation
    // pending on it), or sse::tls_socket with --tls-cert.
    // `served`: the requests this connection has carried, this one included.
    template<class Socket>
    void on_request(sse::http::request_head head, Socket socket, std::string_view rest, std::size_t served = 1);
    /// Answers with `r` plus the CORS fields of a plain answer; see send().
    template<class Socket>
    void reply(Socket socket, request const& req, sse::response r);
    /** Answers with `r` as it is (a preflight carries its own CORS fields). Then
        reads the connection's next request, or closes it (see keeps_connection()).
    */
    template<class Socket>
    void send(Socket socket, request const& req, sse::response r);
    /// True if the connection carries another request after `req` is answered with `status`.
    bool keeps_connection(request const& req, int status) const;
    template<class Socket>
    void refuse(Socket socket, request const& req, char const* reason, sse::response r);

    /// After the threads have stopped: runs what one io_context handed another too late.
    void run_leftovers();

    template<class Socket>
    void serve_stream(request_ptr req, Socket socket);
    /// How every stream is attached (streams.cpp): one copy for all of them.
    std::shared_ptr<sse::attach_options const> make_attach_options();
    /// A stream has ended: the registry and the log learn why.
    void stream_ended(sse::subscriber const& s, sse::error_code why);
    /// The answer to a stream refused for its credentials (`refusal`: 401 or 403), as --stream-auth-errors says.
    template<class Socket>
    void refuse_stream(Socket socket, request const& req, char const* reason, sse::response refusal);
    // The endpoints that publish: their bodies differ, their answers do not.
    enum class publish_kind
    {
        publish,     ///< POST /api/sse/publish
        broadcast,   ///< POST /broadcast
        demo,        ///< POST /api/sse/demo (demo_request.hpp)
        action,      ///< POST /api/sse/actions: authorised as a subscriber, to its own user
    };
    template<class Socket>
    void serve_publish(request_ptr req, Socket socket, std::string_view rest, publish_kind kind);
    template<class Socket>
    void finish_publish(request_ptr req, Socket socket, identity const& who, std::string const& body,
                        publish_kind kind);
    template<class Socket>
    void answer_publish(request const& req, Socket socket, std::string const& by, std::string const& type,
                        sse::error_code ec, sse::publish_result const& r);
    template<class Socket>
    void serve_poll(request_ptr req, Socket socket);
    template<class Socket>
    void serve_stats(request_ptr req, Socket socket);
    template<class Socket>
    void serve_clients(request_ptr req, Socket socket);
    template<class Socket>
    void serve_kick(request_ptr req, Socket socket);
    template<class Socket>
    void serve_health(request_ptr req, Socket socket);
    template<class Socket>
    void serve_metrics(request_ptr req, Socket socket);
    template<class Socket>
    void serve_file(request_ptr req, Socket socket);

    // What a stream or poll request subscribes to, once its identity is known.
    struct subscription
    {
        std::string user;
        std::vector<std::string> channels;
        std::map<std::string, std::string> metadata;   ///< the query parameters the server does not use
    };
    std::optional<subscription> subscription_for(request const& req, identity const& who,
                                                 sse::response& refusal) const;
    /// The hub topics of a subscription: its channels, one per metadata pair, plus its user's topic with --redis.
    std::vector<std::string> topics_for(subscription const& what) const;

    // Who a stream or poll request is and what it may subscribe to; if it may
    // not, the request is answered (401, 403 or 400) and the socket is taken.
    struct grant
    {
        identity who;
        subscription what;
    };
    template<class Socket>
    std::optional<grant> authorize_subscriber(request const& req, Socket& socket, bool stream = false);

    config config_;
    logger log_;
    backplane_runner backplane_;   // before hub_: its thread's io_context outlives the hub that holds the backplane
    sse::hub hub_;   // before io_: outlives every stream attached to it
    app::publisher publisher_;
    authenticator auth_;
    client_registry clients_;
    rate_limiter publish_rate_;
    sse::cors_policy cors_;
    std::shared_ptr<sse::stream_options const> stream_options_;
    std::shared_ptr<sse::attach_options const> attach_options_;
    std::chrono::steady_clock::time_point started_;

    mutable std::mutex refused_mutex_;
    std::map<std::string, std::uint64_t> refused_;

    // GET /api/sse/poll answers, the events they returned, and those that were a reset.
    std::atomic<std::uint64_t> polls_{0};
    std::atomic<std::uint64_t> polled_events_{0};
    std::atomic<std::uint64_t> poll_resets_{0};

    // Thread 0 runs io_: the listener, the dashboard, and a share of the connections.
    // Each further thread runs a shard of its own, which only connections use, so
    // that no stream needs a strand (see the constructor).
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::unique_ptr<asio::io_context>> shards_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> shard_guards_;
    std::optional<asio::ssl::context> tls_;   // with --tls-cert: every connection speaks https
    std::shared_ptr<sse::io_context_listener> listener_;
    std::shared_ptr<sse::tls_listener> tls_listener_;
    std::shared_ptr<dashboard_ticker> dashboard_;
    std::atomic<bool> closing_{false};   // shutdown() began: answers end their connections

    std::mutex run_mutex_;
    std::condition_variable run_changed_;
    std::vector<std::thread> threads_;
    std::size_t finished_ = 0;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point stop_deadline_;
};

/** Serves `c` until SIGINT or SIGTERM, then shuts down gracefully (a second
    signal ends the process at once). Prints the page's URL on stdout. Returns
    the exit status.
*/
int run(config const& c);

} // namespace app

#endif
