// server.cpp - life cycle, routing, publishing, administration.
#include "server.hpp"

#include "demo_request.hpp"
#include "publish_request.hpp"
#include "static_files.hpp"

#include <sse/asio/body.hpp>
#include <sse/http/fields.hpp>
#include <sse/http/request_parser.hpp>

#include <fmt/format.h>

#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/write.hpp>

#include <charconv>
#include <cstdio>
#include <functional>
#include <type_traits>
#include <stdexcept>

namespace app {
namespace {

using clock = std::chrono::steady_clock;
using system_clock = std::chrono::system_clock;

// The endpoints, by path. Methods besides these get 405; OPTIONS is answered for all.
enum class resource { stream, dashboard, publish, broadcast, demo, action, poll, stats, clients, client, health, metrics, file };

struct route
{
    resource which;
    std::string_view method;
};

std::optional<route> find_route(std::string_view path)
{
    if (path == "/api/sse" || path == "/api/notifications/stream" || path == "/events")
        return route{resource::stream, "GET"};
    if (path == "/api/dashboard/sse")
        return route{resource::dashboard, "GET"};
    if (path == "/api/sse/publish")
        return route{resource::publish, "POST"};
    if (path == "/broadcast")
        return route{resource::broadcast, "POST"};
    if (path == "/api/sse/poll")
        return route{resource::poll, "GET"};
    if (path == "/api/sse/demo")
        return route{resource::demo, "POST"};
    if (path == "/api/sse/actions")
        return route{resource::action, "POST"};
    if (path == "/api/sse/stats" || path == "/stats")
        return route{resource::stats, "GET"};
    if (path == "/clients")
        return route{resource::clients, "GET"};
    if (path.substr(0, 9) == "/clients/")
        return route{resource::client, "DELETE"};
    if (path == "/health")
        return route{resource::health, "GET"};
    if (path == "/metrics")
        return route{resource::metrics, "GET"};
    if (find_static_file(path))
        return route{resource::file, "GET"};
    return std::nullopt;
}

sse::hub_options hub_options_for(config const& c, backplane_runner const& backplane)
{
    sse::hub_options o;
    o.replay.max_events = c.replay_events;
    o.replay.max_bytes = c.replay_bytes;
    o.replay.max_age = c.replay_age;
    o.backplane = backplane.get();
    // With Redis, an id of another epoch is one this node cannot vouch for: Redis
    // restarted, possibly older, so a client may have missed events. Only a reset is safe.
    bool const replay_epoch = c.replay_after_restart && !o.backplane;
    o.foreign_ids = replay_epoch ? sse::foreign_id_policy::replay_epoch : sse::foreign_id_policy::reset;
    return o;
}

constexpr std::size_t max_idempotency_key = 200;

// The heartbeat's data as --heartbeat-data says; `time` is the library's own event heartbeat.
std::function<sse::event_buffer()> heartbeat_maker(config const& c)
{
    if (c.heartbeat_data == heartbeat_data::time)
        return {};
    if (c.heartbeat_data == heartbeat_data::empty_object) {
        sse::event e;
        e.type = c.heartbeat_event;
        e.data = "{}";
        return [b = sse::make_event_buffer(e)] { return b; };
    }
    return [type = c.heartbeat_event] {
        sse::event e;
        e.type = type;
        e.data = nlohmann::json{{"serverTime", unix_ms(system_clock::now())}}.dump();
        return sse::make_event_buffer(e);
    };
}

// RFC 9112 9.6: after these the connection's state is in doubt (an unread or
// refused body, a broken head), and 5xx answers come from a server in trouble.
bool closes_after(int status)
{
    return status == 400 || status == 408 || status == 411 || status == 413 || status == 414 || status == 431 ||
           status >= 500;
}

sse::listener_options listener_options_for(config const& c, std::vector<asio::any_io_executor> connections)
{
    sse::listener_options o;
    o.head_timeout = c.head_timeout;
    o.retry_after = c.retry_after;
    o.connection_executors = std::move(connections);
    return o;
}

// The TCP connection under the socket, TLS or not: for the peer's address.
sse::io_context_socket& tcp_layer(sse::io_context_socket& s) { return s; }
asio::ip::tcp::socket& tcp_layer(sse::tls_socket& s) { return s.next_layer(); }

} // namespace

// ---- life cycle -------------------------------------------------------------------------

server::server(config c, logger::sink_type log_sink)
    : config_(std::move(c)),
      log_(config_.log, std::move(log_sink)),
      backplane_(config_, log_),
      hub_(hub_options_for(config_, backplane_)),
      publisher_(hub_),
      auth_(config_),
      clients_(connection_limits{config_.max_connections, config_.max_connections_per_ip,
                                 config_.max_connections_per_user}),
      publish_rate_(config_.publish_rate, config_.publish_burst),
      cors_(cors_policy_for(config_.cors_origins, config_.cors_credentials)),
      started_(clock::now()),
      guard_(asio::make_work_guard(io_))
{
    sse::stream_options so;
    so.retry = config_.retry;
    so.heartbeat_interval = config_.heartbeat;
    so.heartbeat = sse::heartbeat_kind::event;
    // No id on heartbeats: an id would move the client's Last-Event-ID past events it may not have.
    so.heartbeat_event = config_.heartbeat_event;
    so.make_heartbeat = heartbeat_maker(config_);
    // Seeds 002 and 003 list it; HTTP/1.0 clients and proxies keep the stream open with it.
    so.extra_headers.emplace_back("Connection", "keep-alive");
    so.write_timeout = config_.write_timeout;
    so.cors = cors_;
    // Every io_context here is run by one thread, and the listener spreads the
    // connections over them: no stream needs a strand (about 180 bytes less per
    // connection, and no hop through it for every write).
    so.threading = sse::stream_threading::one_thread;
    stream_options_ = std::make_shared<sse::stream_options const>(std::move(so));
    attach_options_ = make_attach_options();

    std::vector<asio::any_io_executor> connection_executors;
    if (unsigned const n = config_.effective_threads(); n > 1) {
        connection_executors.push_back(io_.get_executor());
        for (unsigned i = 1; i < n; ++i) {
            shards_.push_back(std::make_unique<asio::io_context>(1));
            shard_guards_.push_back(asio::make_work_guard(*shards_.back()));
            connection_executors.push_back(shards_.back()->get_executor());
        }
    }

    tcp::endpoint const at(asio::ip::make_address(config_.host), config_.port);
    if (!config_.tls_cert.empty()) {
        try {
            tls_.emplace(sse::tls_server_context(config_.tls_cert, config_.tls_key));
        } catch (std::system_error const& e) {
            // Not a listening problem: say which file, not "cannot listen".
            throw std::runtime_error(std::string("cannot load the TLS certificate or key: ") + e.what());
        }
        tls_listener_ = std::make_shared<sse::tls_listener>(
            io_.get_executor(), *tls_, at,
            [this](sse::http::request_head head, sse::tls_socket socket, std::string_view rest) {
                on_request(std::move(head), std::move(socket), rest);
            },
            listener_options_for(config_, connection_executors));
    } else {
        listener_ = std::make_shared<sse::io_context_listener>(
            io_.get_executor(), at,
            [this](sse::http::request_head head, sse::io_context_socket socket, std::string_view rest) {
                on_request(std::move(head), std::move(socket), rest);
            },
            listener_options_for(config_, connection_executors));
    }
    dashboard_ = std::make_shared<dashboard_ticker>(io_.get_executor(), publisher_, config_.dashboard_interval,
                                                    [this] { return snapshot(); });
}

server::~server()
{
    shutdown();
    wait();
    // Before any member goes: a publish completing on the backplane's thread refers to them.
    backplane_.stop();
}

std::string server::url() const
{
    auto const e = endpoint();
    std::string host = e.address().is_unspecified() ? "localhost" : e.address().to_string();
    if (e.address().is_v6() && !e.address().is_unspecified())
        host = "[" + host + "]";
    return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(e.port()) + "/";
}

void server::start()
{
    std::lock_guard<std::mutex> lock(run_mutex_);
    if (!threads_.empty() || stopping_)
        return;
    if (listener_)
        listener_->start();
    else
        tls_listener_->start();
    dashboard_->start();
    unsigned const n = config_.effective_threads();
    for (unsigned i = 0; i < n; ++i)
        threads_.emplace_back([this, i] {
            (i == 0 ? io_ : *shards_[i - 1]).run();
            std::lock_guard<std::mutex> done(run_mutex_);
            ++finished_;
            run_changed_.notify_all();
        });
    nlohmann::json fields = {{"url", url()}, {"anonymous", auth_.anonymous()}, {"threads", n},
                             {"auth", config_.jwt_secret.empty() ? "none" : "jwt"}};
    if (auto b = backplane_.snapshot())
        fields["redis"] = {{"namespace", b->ns}, {"durable", b->durable}};
    log_.info("started", std::move(fields));
}

void server::shutdown()
{
    std::lock_guard<std::mutex> lock(run_mutex_);
    if (stopping_)
        return;
    stopping_ = true;
    stop_deadline_ = clock::now() + config_.shutdown_deadline + std::chrono::seconds(2);
    log_.info("shutting_down", {{"clients", clients_.size()}});
    closing_ = true;
    dashboard_->stop();
    if (listener_)
        listener_->stop();
    else
        tls_listener_->stop();
    hub_.shutdown();   // every stream writes its queue, then a spread-out retry:, then closes
    guard_.reset();
    for (auto& g : shard_guards_)
        g.reset();
    run_changed_.notify_all();
}

bool server::wait()
{
    std::unique_lock<std::mutex> lock(run_mutex_);
    bool clean = true;
    while (finished_ < threads_.size()) {
        if (!stopping_) {
            run_changed_.wait(lock);
        } else if (run_changed_.wait_until(lock, stop_deadline_) == std::cv_status::timeout &&
                   finished_ < threads_.size()) {
            log_.warn("shutdown_deadline_passed", {{"clients", clients_.size()}});
            io_.stop();
            for (auto& shard : shards_)
                shard->stop();
            clean = false;
            break;
        }
    }
    auto threads = std::move(threads_);
    threads_.clear();
    lock.unlock();
    for (auto& t : threads)
        t.join();
    run_leftovers();
    return clean;
}

void server::run_leftovers()
{
    // A thread stops once its io_context has no work left, while another may still
    // hand it some: a head read on a shard goes to the listener on io_, a stream made
    // there starts on its shard. Such handlers hold objects of the other io_context,
    // which must not be destroyed after it; run them while every io_context lives.
    // Bounded: after an abandoned shutdown, streams may keep handing work around.
    for (int pass = 0; pass < 100; ++pass) {
        std::size_t ran = 0;
        io_.restart();
        ran += io_.poll();
        for (auto& shard : shards_) {
            shard->restart();
            ran += shard->poll();
        }
        if (ran == 0)
            break;
    }
}

service_snapshot server::snapshot() const
{
    service_snapshot s;
    s.hub = hub_.stats();
    s.clients = clients_.size();
    for (auto const& [user, n] : s.hub.by_user)
        s.unique_users += !user.empty() && n > 0;
    s.connections_total = clients_.opened_total();
    s.average_connection = clients_.average_age(clock::now());
    s.disconnects = clients_.closed_by_reason();
    {
        std::lock_guard<std::mutex> lock(refused_mutex_);
        s.refused = refused_;
    }
    s.polls = polls_.load();
    s.polled_events = polled_events_.load();
    s.poll_resets = poll_resets_.load();
    s.events_per_second = publisher_.events_per_second();
    s.last_event = publisher_.last_event_time();
    s.uptime = clock::now() - started_;
    s.backplane = backplane_.snapshot();
    return s;
}

// ---- routing -----------------------------------------------------------------------------

template<class Socket>
void server::on_request(sse::http::request_head head, Socket socket, std::string_view rest, std::size_t served)
{
    sse::error_code ec;
    auto const peer = tcp_layer(socket).remote_endpoint(ec);
    if (ec)
        return;   // gone already
    auto req = std::make_shared<request>();
    req->head = std::move(head);
    req->peer = peer_address(peer.address(), peer.port());
    req->remote_ip = req->peer.ip();
    req->remote = req->peer.to_string();
    req->connection.served = served;
    auto const framing = req->head.body_framing();
    req->connection.body_unread = framing == sse::http::framing::chunked ||
                                  (framing == sse::http::framing::length && req->head.content_length() > 0);
    if (!req->connection.body_unread)
        req->connection.pipelined = std::string(rest);

    auto const found = find_route(req->head.path());
    if (!found)
        return reply(std::move(socket), *req, error_response(404, "no such resource; see docs/server.md"));
    if (req->head.method() == "OPTIONS") {
        if (req->header("Access-Control-Request-Method")) {
            // The preflight's own fields are the whole CORS answer: it must not
            // get those of a plain answer on top (a browser joins repeated fields,
            // and "a, a" is no origin).
            sse::response r;
            if (cors_.add_preflight_headers(req->origin(), std::string(found->method) + ", OPTIONS", r.headers)) {
                r.status = 204;
                r.content_type.clear();
            } else {
                auto refusal = error_response(403, "origin not allowed: add it to --cors-origins");
                refusal.headers.insert(refusal.headers.end(), r.headers.begin(), r.headers.end());
                r = std::move(refusal);
            }
            return send(std::move(socket), *req, std::move(r));
        }
        sse::response r;
        r.status = 204;
        r.content_type.clear();
        r.headers.emplace_back("Allow", std::string(found->method) + ", OPTIONS");
        return reply(std::move(socket), *req, r);
    }
    if (req->head.method() != found->method) {
        auto r = error_response(405, "use " + std::string(found->method) + " for " + std::string(req->head.path()));
        r.headers.emplace_back("Allow", std::string(found->method) + ", OPTIONS");
        return reply(std::move(socket), *req, r);
    }
    switch (found->which) {
    case resource::stream: return serve_stream(std::move(req), std::move(socket));
    case resource::dashboard:
        req->only_channel = dashboard_channel;
        return serve_stream(std::move(req), std::move(socket));
    case resource::publish: return serve_publish(std::move(req), std::move(socket), rest, publish_kind::publish);
    case resource::broadcast: return serve_publish(std::move(req), std::move(socket), rest, publish_kind::broadcast);
    case resource::demo: return serve_publish(std::move(req), std::move(socket), rest, publish_kind::demo);
    case resource::action: return serve_publish(std::move(req), std::move(socket), rest, publish_kind::action);
    case resource::poll: return serve_poll(std::move(req), std::move(socket));
    case resource::stats: return serve_stats(std::move(req), std::move(socket));
    case resource::clients: return serve_clients(std::move(req), std::move(socket));
    case resource::client: return serve_kick(std::move(req), std::move(socket));
    case resource::health: return serve_health(std::move(req), std::move(socket));
    case resource::metrics: return serve_metrics(std::move(req), std::move(socket));
    case resource::file: return serve_file(std::move(req), std::move(socket));
    }
}

template<class Socket>
void server::reply(Socket socket, request const& req, sse::response r)
{
    cors_.add_headers(req.origin(), r.headers);
    send(std::move(socket), req, std::move(r));
}

template<class Socket>
void server::send(Socket socket, request const& req, sse::response r)
{
    // The path only: a query may carry a token.
    log_.debug("request", {{"method", req.head.method()}, {"path", req.head.path()}, {"status", r.status},
                           {"ip", req.remote_ip}});
    if (!keeps_connection(req, r.status))
        return sse::respond_and_close(std::move(socket), r);
    auto next = [this, served = req.connection.served](sse::http::request_head head, Socket s, std::string_view rest) {
        on_request(std::move(head), std::move(s), rest, served + 1);
    };
    // The idle time before the next head is the listener's head timeout; the
    // answer itself gets the write timeout of streams.
    sse::respond_and_keep(
        std::move(socket), r,
        [this, next = std::move(next), rest = req.connection.pipelined](sse::error_code ec, Socket s) mutable {
            if (ec)
                return;
            if constexpr (std::is_same_v<Socket, sse::io_context_socket>)
                listener_->serve(std::move(s), rest, std::move(next));
            else
                tls_listener_->serve(std::move(s), rest, std::move(next));
        },
        config_.write_timeout);
}

bool server::keeps_connection(request const& req, int status) const
{
    auto const& c = req.connection;
    bool const more_allowed = config_.keep_alive_requests == 0 || c.served < config_.keep_alive_requests;
    return req.head.keep_alive() && more_allowed && !c.body_unread && !c.must_close && !closes_after(status) &&
           !closing_.load();
}

template<class Socket>
void server::refuse(Socket socket, request const& req, char const* reason, sse::response r)
{
    {
        std::lock_guard<std::mutex> lock(refused_mutex_);
        ++refused_[reason];
    }
    log_.info("refused", {{"reason", reason}, {"status", r.status}, {"path", req.head.path()}, {"ip", req.remote_ip}});
    reply(std::move(socket), req, std::move(r));
}

// ---- publishing --------------------------------------------------------------------------

template<class Socket>
void server::serve_publish(request_ptr req, Socket socket, std::string_view rest, publish_kind kind)
{
    sse::response refusal;
    // An action goes back to the streams of the user who picked it: a subscriber's right.
    auto who = kind == publish_kind::action ? auth_.subscriber(*req, system_clock::now(), refusal)
                                            : auth_.publisher(*req, system_clock::now(), refusal);
    if (!who)
        return refuse(std::move(socket), *req, refusal.status == 403 ? "forbidden" : "unauthorized",
                      std::move(refusal));
    if (auto wait = publish_rate_.take(who->rate_key(req->remote_ip), clock::now()))
        return refuse(std::move(socket), *req, "rate_limited",
                      retry_later(429, "too many publish requests; slow down", *wait));
    // async_read_body refuses a declared length over the limit before reading, and
    // answers Expect: 100-continue, which curl waits for before a large body.
    auto sock = std::make_shared<Socket>(std::move(socket));
    sse::body_limits limits;
    limits.max_body = config_.max_body;
    limits.timeout = config_.body_timeout;
    // The read leaves what followed the body in `pipelined`: the next request.
    req->connection.pipelined.assign(rest.data(), rest.size());
    sse::async_read_body(*sock, req->head, req->connection.pipelined, limits,
                         [this, req, sock, who = std::move(*who), kind](sse::error_code ec, std::string body) {
                             if (!ec)
                                 req->connection.body_unread = false;
                             if (ec == sse::error::body_too_large)
                                 return refuse(std::move(*sock), *req, "body_too_large",
                                               error_response(413, "the body must be at most " +
                                                                       std::to_string(config_.max_body) + " bytes",
                                                              "body"));
                             if (ec)
                                 return refuse(std::move(*sock), *req, "bad_body",
                                               error_response(sse::http::status_for(ec), ec.message(), "body"));
                             finish_publish(req, std::move(*sock), who, body, kind);
                         });
}

template<class Socket>
void server::finish_publish(request_ptr req, Socket socket, identity const& who, std::string const& body,
                            publish_kind kind)
{
    publish_rules rules;
    rules.max_data = config_.max_event_bytes;
    rules.reserved_id_prefix = hub_.epoch() + "-";
    rules.broadcast = kind == publish_kind::broadcast;
    rules.shareable = backplane_.get() != nullptr;
    field_error bad;
    std::optional<publish_request> parsed;
    if (kind == publish_kind::demo) {
        parsed = parse_demo(body, rules, bad);
    } else if (kind == publish_kind::action) {
        // As for a stream: a token's subject, or in anonymous mode ?userId=.
        std::string user = who.user;
        if (auto param = req->head.param("userId")) {
            if (who.via == identity::source::token && *param != who.user)
                return refuse(std::move(socket), *req, "forbidden",
                              error_response(403, "userId must be the token's subject or absent", "userId"));
            if (!valid_name(*param, 128))
                return reply(std::move(socket), *req,
                             error_response(400, "userId must be 1 to 128 bytes without commas or control characters",
                                            "userId"));
            user = std::string(*param);
        }
        parsed = parse_action(body, user, rules, bad);
    } else {
        parsed = parse_publish(body, rules, bad);
    }
    if (!parsed)
        return reply(std::move(socket), *req, error_response(400, bad.field + ": " + bad.message, bad.field));
    sse::publish_options options;
    options.key = std::move(parsed->key);
    if (auto key = req->header("Idempotency-Key")) {
        if (key->empty() || key->size() > max_idempotency_key || has_control(*key))
            return reply(std::move(socket), *req,
                         error_response(400, "Idempotency-Key must be 1 to 200 bytes without control characters",
                                        "Idempotency-Key"));
        options.idempotency_key = std::string(*key);
    }
    std::string const type = parsed->event.type;
    auto sock = std::make_shared<Socket>(std::move(socket));
    publisher_.publish_async(
        std::move(parsed->event), std::move(parsed->to), std::move(options),
        [this, req, sock, type, by = who.rate_key(req->remote_ip)](sse::error_code ec, sse::publish_result const& r) {
            // Inline, or on the backplane's thread once Redis has answered: the
            // connection is answered on its own executor either way.
            auto const ex = sock->get_executor();
            asio::post(ex, [this, req, sock, type, by, ec, r] {
                answer_publish(*req, std::move(*sock), by, type, ec, r);
            });
        });
}

template<class Socket>
void server::answer_publish(request const& req, Socket socket, std::string const& by, std::string const& type,
                            sse::error_code ec, sse::publish_result const& r)
{
    // Redis's answers come back within a second or two, or the publish fails: a short Retry-After.
    constexpr std::chrono::seconds redis_retry_after{1};
    if (ec) {
        log_.warn("publish_failed", {{"event", type}, {"by", by}, {"error", ec.message()}});
        if (ec == sse::error::backplane_unavailable)
            return reply(std::move(socket), req,
                         retry_later(503, "Redis is unavailable: nothing was published; retry after Retry-After "
                                          "seconds",
                                     redis_retry_after));
        if (ec == sse::error::backplane_epoch_changed)
            return reply(std::move(socket), req,
                         retry_later(503, "Redis restarted and its event log began a new epoch: nothing was "
                                          "published; retry after Retry-After seconds",
                                     redis_retry_after));
        if (backplane_.get() && ec != sse::error::hub_shut_down)
            return reply(std::move(socket), req,
                         retry_later(503, "Redis did not confirm the publish (" + ec.message() + "): it may or may "
                                          "not have been published; retry with the same Idempotency-Key to publish "
                                          "it once",
                                     redis_retry_after));
        return reply(std::move(socket), req, retry_later(503, ec.message(), config_.retry_after));
    }
    // With Redis every node delivers the event when Redis hands it back, after this
    // answer: how many streams take it is not known here.
    nlohmann::json recipients = nullptr;
    if (!backplane_.get())
        recipients = r.deliveries;
    log_.debug("published", {{"id", r.id}, {"event", type}, {"recipients", recipients}, {"by", by}});
    reply(std::move(socket), req, json_response(202, {{"id", r.id}, {"recipients", recipients}}));
}

// ---- administration, health, the page ------------------------------------------------------

template<class Socket>
void server::serve_stats(request_ptr req, Socket socket)
{
    sse::response refusal;
    if (!auth_.publisher(*req, system_clock::now(), refusal))
        return refuse(std::move(socket), *req, "unauthorized", std::move(refusal));
    reply(std::move(socket), *req, json_response(200, stats_json(snapshot())));
}

template<class Socket>
void server::serve_clients(request_ptr req, Socket socket)
{
    sse::response refusal;
    if (!auth_.publisher(*req, system_clock::now(), refusal))
        return refuse(std::move(socket), *req, "unauthorized", std::move(refusal));
    auto list = nlohmann::json::array();
    auto const now = clock::now();
    auto const wall_now = system_clock::now();
    for (auto const& c : clients_.list()) {
        // Channels and metadata are the subscriber's topics (see topics_for()), in their sorted order.
        sse::subscriber const& s = *c.subscription;
        std::vector<std::string> channels;
        std::map<std::string, std::string> metadata;
        for (auto const& topic : s.topics()) {
            if (auto pair = meta_pair_of(topic))
                metadata.emplace(pair->first, pair->second);
            else if (!is_hidden_topic(topic))
                channels.push_back(topic);
        }
        auto const since = wall_now - std::chrono::duration_cast<system_clock::duration>(now - s.connected_since());
        list.push_back({{"id", std::to_string(s.id())},
                        {"userId", string_or_null(s.user())},
                        {"channels", channels},
                        {"sessionId", session_id(metadata)},
                        {"metadata", metadata},
                        {"connectedSince", unix_ms(since)},
                        {"queueDepth", c.queue_depth},
                        {"remoteAddress", c.remote.to_string()}});
    }
    reply(std::move(socket), *req, json_response(200, {{"clients", list}}));
}

template<class Socket>
void server::serve_kick(request_ptr req, Socket socket)
{
    sse::response refusal;
    if (!auth_.publisher(*req, system_clock::now(), refusal))
        return refuse(std::move(socket), *req, "unauthorized", std::move(refusal));
    std::string_view const text = req->head.path().substr(9);
    std::uint64_t id = 0;
    auto const [end, err] = std::from_chars(text.data(), text.data() + text.size(), id);
    bool const known = err == std::errc() && end == text.data() + text.size() && clients_.contains(id);
    if (!known || !hub_.kick(id, sse::close_reason::kicked))
        return reply(std::move(socket), *req, error_response(404, "no open stream with id \"" + std::string(text) + "\""));
    log_.info("kicked", {{"client", std::to_string(id)}, {"ip", req->remote_ip}});
    sse::response r;
    r.status = 204;
    r.content_type.clear();
    reply(std::move(socket), *req, r);
}

template<class Socket>
void server::serve_health(request_ptr req, Socket socket)
{
    auto const up = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started_);
    nlohmann::json body = {{"status", "ok"}, {"uptime", up.count()}, {"clients", clients_.size()}};
    int status = 200;
    if (auto b = backplane_.snapshot()) {
        body["backplane"] = backplane_json(*b);
        // Streams stay open and are served from memory, but nothing can be published:
        // a load balancer should send new clients elsewhere.
        if (b->unhealthy) {
            status = 503;
            body["status"] = "unavailable";
            body["error"] = "Redis has been unreachable for " + std::to_string(b->unreachable_for->count()) +
                            " ms (" + (b->last_error.empty() ? std::string("no answer") : b->last_error) +
                            "): nothing can be published through this server";
        }
    }
    reply(std::move(socket), *req, json_response(status, body));
}

template<class Socket>
void server::serve_metrics(request_ptr req, Socket socket)
{
    sse::response r;
    r.content_type = prometheus_content_type;
    r.body = prometheus_text(snapshot());
    r.headers.emplace_back("Cache-Control", "no-store");
    reply(std::move(socket), *req, std::move(r));
}

template<class Socket>
void server::serve_file(request_ptr req, Socket socket)
{
    auto const file = find_static_file(req->head.path());
    sse::response r;
    r.content_type = std::string(file->content_type);
    r.body = std::string(file->body);
    // Names carry no version, so browsers revalidate each time: a new build shows at once.
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    reply(std::move(socket), *req, std::move(r));
}

// Used by streams.cpp.
template void server::reply(sse::io_context_socket, request const&, sse::response);
template void server::reply(sse::tls_socket, request const&, sse::response);
template void server::refuse(sse::io_context_socket, request const&, char const*, sse::response);
template void server::refuse(sse::tls_socket, request const&, char const*, sse::response);

// ---- the program -------------------------------------------------------------------------

int run(config const& c)
{
    std::optional<server> s;
    try {
        s.emplace(c);
    } catch (std::system_error const& e) {
        fmt::print(stderr, "sse-server: cannot listen on {}:{}: {}\n", c.host, c.port, e.code().message());
        return 1;
    } catch (std::exception const& e) {   // e.g. a certificate that does not load
        fmt::print(stderr, "sse-server: {}\n", e.what());
        return 1;
    }
    asio::signal_set signals(s->get_executor(), SIGINT, SIGTERM);
    signals.async_wait([&](sse::error_code ec, int signal) {
        if (ec)
            return;
        s->log().info("signal", {{"signal", signal == SIGINT ? "SIGINT" : "SIGTERM"}});
        // A second signal gets the default action: the process ends at once.
        sse::error_code ignored;
        signals.clear(ignored);
        s->shutdown();
    });
    s->start();
    fmt::print("sse-server: demo page at {0}  (stream: {0}api/sse)\n", s->url());
    std::fflush(stdout);
    s->wait();
    s->log().info("stopped");
    return 0;
}

} // namespace app
