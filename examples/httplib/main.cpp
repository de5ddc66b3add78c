// sse-httplib - a hub served from a cpp-httplib server, one thread per stream.
//
// cpp-httplib gives each connection a thread of its own, from its pool. The
// /events route hands the response a chunked content provider that blocks in
// sse::blocking_subscription::wait() until the hub has something for it: a
// waiting stream costs its thread and no CPU. What shows here: topics, replay
// from Last-Event-ID, heartbeats, noticing a client that went away, a cap on
// streams that keeps workers free for the other routes, graceful shutdown.
//
//   sse-httplib [--port N] [--heartbeat-ms N] [--retry-ms N] [--max-streams N]
//               listens on 127.0.0.1:8080 by default (--port 0: any free port)
//
//   curl -N "http://127.0.0.1:8080/events?topics=news"          a stream of the topic "news"
//   curl -d hello "http://127.0.0.1:8080/publish?topic=news"    publishes the body to it
//   curl -N -H "Last-Event-ID: <id>" "http://127.0.0.1:8080/events?topics=news"
//                                                               resumes after <id>, nothing lost
//   curl http://127.0.0.1:8080/stats                            streams, subscribers and their ids
//   curl -X POST "http://127.0.0.1:8080/kick?id=<subscriber>"  ends one stream; its client reconnects
//
// Ctrl-C (or SIGTERM) shuts down gracefully: every stream gets its queued events
// and a final message with a randomised retry, then the server stops and its
// threads are joined.
#include <sse/blocking_subscription.hpp>
#include <sse/fmt.hpp>
#include <sse/hub.hpp>

#include <httplib.h>

#include <fmt/format.h>
#include <fmt/ranges.h>   // fmt::join

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

struct settings
{
    int port = 8080;
    std::chrono::milliseconds heartbeat = std::chrono::seconds(15);
    std::chrono::milliseconds retry = std::chrono::seconds(3);
    std::size_t max_streams = 64;
};

bool parse_args(int argc, char** argv, settings& s)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string_view const flag = argv[i];
        long const value = std::strtol(argv[i + 1], nullptr, 10);
        if (value < 0)
            return false;
        if (flag == "--port")
            s.port = static_cast<int>(value);
        else if (flag == "--heartbeat-ms")
            s.heartbeat = std::chrono::milliseconds(value);
        else if (flag == "--retry-ms")
            s.retry = std::chrono::milliseconds(value);
        else if (flag == "--max-streams" && value > 0)
            s.max_streams = static_cast<std::size_t>(value);
        else
            return false;
    }
    return argc % 2 == 1;
}

// Splits "a,b,c" into its non-empty pieces.
std::vector<std::string> split_commas(std::string_view list)
{
    std::vector<std::string> out;
    while (!list.empty()) {
        auto const comma = list.find(',');
        auto const piece = list.substr(0, comma);
        if (!piece.empty())
            out.emplace_back(piece);
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

// The streams being served. Each holds a worker thread of the server's pool for
// as long as it lasts, so their number is capped: the pool has room for the cap
// plus the short requests (publish, stats), which would otherwise queue behind
// streams that never end.
class stream_count
{
public:
    bool try_enter(std::size_t max)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (count_ >= max)
            return false;
        ++count_;
        return true;
    }

    void leave()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            --count_;
        }
        none_.notify_all();
    }

    std::size_t size()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return count_;
    }

    // Waits until every stream has ended, or `deadline`.
    bool wait_none(std::chrono::steady_clock::time_point deadline)
    {
        std::unique_lock<std::mutex> lock(mutex_);
        return none_.wait_until(lock, deadline, [this] { return count_ == 0; });
    }

private:
    std::mutex mutex_;
    std::condition_variable none_;
    std::size_t count_ = 0;
};

// The ids of the subscribers the hub holds, for /stats and /kick.
class subscriber_ids
{
public:
    void add(std::uint64_t id)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ids_.insert(id);
    }
    void remove(std::uint64_t id)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ids_.erase(id);
    }
    std::string json()
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return fmt::format("[{}]", fmt::join(ids_, ","));
    }

private:
    std::mutex mutex_;
    std::set<std::uint64_t> ids_;
};

// One stream: what its content provider holds. The last copy of the provider
// goes when cpp-httplib is done with the response; then the subscription leaves
// the hub, and the stream its count.
struct stream_state
{
    explicit stream_state(stream_count& c) : count(c) {}
    stream_state(stream_state const&) = delete;
    stream_state& operator=(stream_state const&) = delete;

    std::shared_ptr<sse::blocking_subscription> sub;
    stream_count& count;

    ~stream_state()
    {
        sub.reset();
        count.leave();
    }
};

// ---- the hand-over: what a cpp-httplib server needs to serve a hub -------------------

void serve_events(sse::hub& hub, settings const& cfg, stream_count& count, httplib::Request const& req,
    httplib::Response& res)
{
    if (!count.try_enter(cfg.max_streams)) {
        res.status = 503;
        res.set_header("Retry-After", "5");
        res.set_content("the server has no room for more streams\n", "text/plain");
        return;
    }
    auto state = std::make_shared<stream_state>(count);

    sse::subscriber_options who;
    who.topics = split_commas(req.has_param("topics") ? req.get_param_value("topics") : "news");
    // Last-Event-ID (a reconnect) wins over ?lastEventId (a page resuming from its storage).
    if (req.has_header("Last-Event-ID"))
        who.last_event_id = req.get_header_value("Last-Event-ID");
    else if (req.has_param("lastEventId"))
        who.last_event_id = req.get_param_value("lastEventId");

    sse::blocking_options how;
    how.heartbeat_interval = cfg.heartbeat;
    how.retry = cfg.retry;
    sse::error_code ec;
    state->sub = sse::subscribe_blocking(hub, std::move(who), how, ec);
    if (!state->sub) {
        // The hub is shutting down. EventSource gives up for good on an error
        // status, but comes back after a stream that ends: this one only says when.
        res.set_header("Cache-Control", "no-cache");
        res.set_content(": server shutting down\nretry: 5000\n\n", "text/event-stream");
        return;
    }
    auto const& sub = state->sub->subscription();
    fmt::print(stderr, "stream {}: topics {} from {}:{}\n", sub.id(), fmt::join(sub.topics(), ","), req.remote_addr,
        req.remote_port);

    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");   // nginx: pass each event on at once
    // Called again and again on this connection's worker thread until it returns
    // false (the connection is dropped) or calls sink.done() (the response ends).
    res.set_chunked_content_provider("text/event-stream", [state](std::size_t, httplib::DataSink& sink) {
        std::string out;
        auto const status = state->sub->wait(out);   // blocks until there is something to write
        // A client that went away shows only when the server writes: is_writable()
        // sees its FIN, or the write fails. The heartbeat bounds how long that takes.
        if (!sink.is_writable() || (!out.empty() && !sink.write(out.data(), out.size()))) {
            fmt::print(stderr, "stream {} ended: the client went away\n", state->sub->subscription().id());
            return false;
        }
        if (status == sse::wait_status::ended) {   // the hub ended it: out held its last bytes
            fmt::print(stderr, "stream {} ended: {}\n", state->sub->subscription().id(),
                *state->sub->subscription().ended());
            sink.done();   // the last chunk: the response is complete
        }
        return status != sse::wait_status::cancelled;
    });
}

void publish(sse::hub& hub, httplib::Request const& req, httplib::Response& res)
{
    sse::event e;
    e.data = req.body;
    if (req.has_param("event"))
        e.type = req.get_param_value("event");
    auto const topic = req.has_param("topic") ? req.get_param_value("topic") : "news";
    sse::error_code ec;
    auto const r = hub.publish(std::move(e), sse::audience::topic(topic), {}, ec);
    if (ec) {
        res.status = ec == sse::error::hub_shut_down ? 503 : 400;
        res.set_content(fmt::format("{}\n", sse::describe(ec)), "text/plain");
        return;
    }
    res.set_content(fmt::format(R"({{"id":"{}","deliveries":{}}})", r.id, r.deliveries) + "\n", "application/json");
}

} // namespace

int main(int argc, char** argv)
{
    settings cfg;
    if (!parse_args(argc, argv, cfg)) {
        std::fprintf(stderr, "usage: %s [--port N] [--heartbeat-ms N] [--retry-ms N] [--max-streams N]\n", argv[0]);
        return 2;
    }

    // Signals go to one thread, which shuts down in the open (no work in a signal
    // handler): blocked here, before any thread starts, so every thread inherits it.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    subscriber_ids ids;
    sse::hub_options options;
    options.on_subscribe = [&ids](sse::subscriber const& s) { ids.add(s.id()); };
    options.on_unsubscribe = [&ids](sse::subscriber const& s, sse::close_reason) { ids.remove(s.id()); };
    sse::hub hub(options);
    stream_count streams;

    httplib::Server server;
    // One worker per stream, up to the cap, and a few for everything else.
    std::size_t const workers = cfg.max_streams + 4;
    server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };

    server.Get("/events", [&](httplib::Request const& req, httplib::Response& res) {
        serve_events(hub, cfg, streams, req, res);
    });
    server.Post("/publish", [&](httplib::Request const& req, httplib::Response& res) { publish(hub, req, res); });
    server.Get("/stats", [&](httplib::Request const&, httplib::Response& res) {
        res.set_content(fmt::format(R"({{"streams":{},"subscribers":{},"ids":{},"published":{}}})",
                            streams.size(), hub.stats().subscribers, ids.json(), hub.stats().published) +
                            "\n",
            "application/json");
    });
    server.Post("/kick", [&](httplib::Request const& req, httplib::Response& res) {
        auto const id = std::strtoull(req.get_param_value("id").c_str(), nullptr, 10);
        res.status = hub.kick(id) ? 204 : 404;
    });

    int const port = cfg.port == 0 ? server.bind_to_any_port("127.0.0.1") : cfg.port;
    if (port <= 0 || (cfg.port != 0 && !server.bind_to_port("127.0.0.1", port))) {
        std::fprintf(stderr, "cannot listen on 127.0.0.1:%d\n", cfg.port);
        return 1;
    }

    std::atomic<bool> listen_ended{false};
    std::thread stopper([&] {
        int signal = 0;
        sigwait(&stop_signals, &signal);
        fmt::print(stderr, "shutting down\n");
        // Every stream writes what is queued and a final retry, then ends; the
        // server then stops accepting and joins its workers. A stream whose client
        // reads nothing is cut by the server's write timeout (5 s by default).
        hub.shutdown();
        if (!streams.wait_none(std::chrono::steady_clock::now() + std::chrono::seconds(10)))
            fmt::print(stderr, "{} streams still open\n", streams.size());
        // stop() does nothing before listen_after_bind() has begun: a signal that
        // comes that early waits for it (a moment, once).
        while (!server.is_running() && !listen_ended)
            std::this_thread::yield();
        server.stop();
    });

    fmt::print("listening on http://127.0.0.1:{}/events\n", port);
    std::fflush(stdout);
    bool const listened = server.listen_after_bind();   // returns once stop() was called and every worker joined
    listen_ended = true;
    if (!listened)
        pthread_kill(stopper.native_handle(), SIGTERM);   // ends the stopper's wait
    stopper.join();
    fmt::print(stderr, "stopped\n");
    return listened ? 0 : 1;
}
