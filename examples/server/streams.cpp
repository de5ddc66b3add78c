// streams.cpp - the subscriber side: event streams and polling.
#include "server.hpp"

#include "events.hpp"
#include "poll.hpp"
#include "publish_request.hpp"

#include <sse/asio/attach.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

namespace app {
namespace {

using clock = std::chrono::steady_clock;
using system_clock = std::chrono::system_clock;

constexpr std::size_t max_user_id = 128;
constexpr std::size_t max_channel = 64;
constexpr std::size_t max_channels = 32;

// Why a stream ended, in the words of the log, /api/sse/stats and /metrics.
std::string close_reason_name(std::optional<sse::close_reason> ended, sse::error_code const& why)
{
    if (ended && *ended != sse::close_reason::unsubscribed)
        return to_string(*ended);
    if (why == sse::error::peer_closed)
        return "peer_closed";
    if (why == sse::error::write_timeout)
        return "write_timeout";
    if (why == sse::error::send_queue_full)
        return "send_queue_full";
    if (!why || why == sse::error::stream_closed || why == sse::error::source_closed)
        return "closed";
    return "error";
}

// The last event of a stream the server ends for a reason the client should know.
std::optional<sse::event> farewell(sse::close_reason why)
{
    nlohmann::json data;
    switch (why) {
    case sse::close_reason::token_expired:
        data = to_json(system_message{"your token expired: reconnect with a fresh one", system_level::warning});
        break;
    case sse::close_reason::kicked:
        data = to_json(system_message{"an administrator closed this connection", system_level::warning});
        break;
    default:
        return std::nullopt;
    }
    data["reason"] = to_string(why);
    sse::event e;
    e.type = "system";
    e.data = data.dump();
    return e;
}

// The query parameters the server reads itself; every other one is metadata
// (001: "Any other parameters become metadata").
bool is_server_parameter(std::string_view name)
{
    for (char const* used : {"token", "access_token", "userId", "channels", "lastEventId", "since"})
        if (name == used)
            return true;
    return false;
}

// The connection's metadata; on a bad parameter, nothing and a 400 naming it.
std::optional<std::map<std::string, std::string>> metadata_of(request const& req, sse::response& refusal)
{
    std::map<std::string, std::string> out;
    for (auto const& p : req.head.params()) {
        if (is_server_parameter(p.name))
            continue;
        std::string const name(p.name);
        std::string why;
        if (!valid_metadata_key(p.name))
            why = "metadata parameter names are 1 to 64 bytes of A-Z, a-z, 0-9, _, . or -";
        else if (!valid_metadata_value(p.value))
            why = "metadata values are at most 256 bytes without control characters";
        else if (out.count(name) != 0)
            why = "give each metadata parameter once";
        else if (out.size() == max_metadata_pairs)
            why = "at most 16 metadata parameters (the query parameters besides token, userId, channels and "
                  "lastEventId)";
        if (!why.empty()) {
            refusal = error_response(400, name.substr(0, 64) + ": " + why, name.substr(0, 64));
            return std::nullopt;
        }
        out.emplace(name, std::string(p.value));
    }
    return out;
}

} // namespace

std::optional<server::subscription> server::subscription_for(request const& req, identity const& who,
                                                             sse::response& refusal) const
{
    subscription out;
    out.user = who.user;
    if (auto param = req.head.param("userId")) {
        if (who.via == identity::source::token && *param != who.user) {
            refusal = error_response(403, "userId must be the token's subject or absent", "userId");
            return std::nullopt;
        }
        if (!valid_name(*param, max_user_id)) {
            refusal = error_response(400, "userId must be 1 to 128 bytes without commas or control characters",
                                     "userId");
            return std::nullopt;
        }
        out.user = std::string(*param);
    }
    if (!req.only_channel.empty()) {
        out.channels = {req.only_channel};
    } else if (auto param = req.head.param("channels")) {
        out.channels = split_list(*param);
    } else if (who.claims) {
        // By default a token holder follows every channel the token names.
        for (auto const& c : who.claims->channels)
            if (c != "*")
                out.channels.push_back(c);
    }
    if (out.channels.size() > max_channels) {
        refusal = error_response(400, "at most 32 channels", "channels");
        return std::nullopt;
    }
    for (auto const& c : out.channels) {
        if (!valid_name(c, max_channel)) {
            refusal = error_response(400, "channel names are 1 to 64 bytes without control characters", "channels");
            return std::nullopt;
        }
        if (!who.may_subscribe(c)) {
            refusal = error_response(403, "the token does not allow the channel \"" + c + "\"", "channels");
            return std::nullopt;
        }
    }
    auto metadata = metadata_of(req, refusal);
    if (!metadata)
        return std::nullopt;
    out.metadata = std::move(*metadata);
    return out;
}

std::vector<std::string> server::topics_for(subscription const& what) const
{
    auto topics = what.channels;
    // Only streams with metadata pay for it: one hidden topic per pair (see meta_topic).
    for (auto const& [key, value] : what.metadata)
        topics.push_back(meta_topic(key, value));
    // Through Redis, events for channels and users travel as topics (see user_topic).
    if (backplane_.get() && !what.user.empty())
        topics.push_back(user_topic(what.user));
    return topics;
}

template<class Socket>
void server::refuse_stream(Socket socket, request const& req, char const* reason, sse::response refusal)
{
    if (config_.stream_auth_errors == stream_auth_errors::status)
        return refuse(std::move(socket), req, reason, std::move(refusal));
    // Seed 003: an EventSource cannot read a 401's body, so the refusal is an
    // event. No retry: and no id: the page decides whether to come back.
    bool const forbidden = refusal.status == 403;
    sse::response r;
    r.content_type = "text/event-stream";
    // Written by hand: the seed's field order, which a JSON object would sort.
    r.body = std::string("event: error\ndata: {\"error\":\"") + (forbidden ? "Forbidden" : "Unauthorized") +
             "\",\"code\":" + (forbidden ? "403" : "401") + "}\n\n";
    r.headers.emplace_back("Cache-Control", "no-cache");
    req.connection.must_close = true;
    refuse(std::move(socket), req, reason, std::move(r));
}

template<class Socket>
std::optional<server::grant> server::authorize_subscriber(request const& req, Socket& socket, bool stream)
{
    sse::response refusal;
    auto who = auth_.subscriber(req, system_clock::now(), refusal);
    if (!who) {
        if (stream)
            refuse_stream(std::move(socket), req, "unauthorized", std::move(refusal));
        else
            refuse(std::move(socket), req, "unauthorized", std::move(refusal));
        return std::nullopt;
    }
    auto what = subscription_for(req, *who, refusal);
    if (!what) {
        if (stream && refusal.status == 403)
            refuse_stream(std::move(socket), req, "forbidden", std::move(refusal));
        else
            refuse(std::move(socket), req, refusal.status == 403 ? "forbidden" : "bad_request", std::move(refusal));
        return std::nullopt;
    }
    return grant{std::move(*who), std::move(*what)};
}

std::shared_ptr<sse::attach_options const> server::make_attach_options()
{
    sse::attach_options how;
    how.shutdown_deadline = config_.shutdown_deadline;
    how.slow_consumer_grace = config_.slow_consumer_grace;
    how.final_event = farewell;
    how.on_end = [this](sse::subscriber const& s, sse::error_code why) { stream_ended(s, why); };
    return std::make_shared<sse::attach_options const>(std::move(how));
}

void server::stream_ended(sse::subscriber const& s, sse::error_code why)
{
    auto const reason = close_reason_name(s.ended(), why);
    if (auto r = clients_.closed(s, reason)) {
        auto const lasted = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - s.connected_since());
        log_.info("stream_closed", {{"client", std::to_string(s.id())}, {"user", string_or_null(s.user())},
                                    {"ip", r->remote.ip()}, {"reason", reason},
                                    {"duration_ms", lasted.count()}});
    }
}

template<class Socket>
void server::serve_stream(request_ptr req, Socket socket)
{
    auto granted = authorize_subscriber(*req, socket, true);
    if (!granted)
        return;
    identity const& who = granted->who;
    subscription& what = granted->what;

    switch (clients_.admit(req->remote_ip, what.user)) {
    case admission::ok:
        break;
    case admission::too_many_total:
        return refuse(std::move(socket), *req, "too_many_connections",
                      retry_later(503, "the server has no room for more streams", config_.retry_after));
    case admission::too_many_for_ip:
        return refuse(std::move(socket), *req, "too_many_connections_for_ip",
                      retry_later(429, "too many streams from this address", config_.retry_after));
    case admission::too_many_for_user:
        return refuse(std::move(socket), *req, "too_many_connections_for_user",
                      retry_later(429, "too many streams for this user", config_.retry_after));
    }

    // Last-Event-ID (a reconnect) wins over ?lastEventId (a page resuming from its storage).
    std::optional<std::string> resume;
    if (auto h = req->header("Last-Event-ID"))
        resume = std::string(*h);
    else if (auto p = req->head.param("lastEventId"))
        resume = std::string(*p);
    if (resume && resume->empty())
        resume.reset();
    // A first connection starts from the newest id: subscribing "after" it
    // replays anything published meanwhile, and the connected event hands the
    // id to the client, so that even a reconnect before any event loses nothing.
    std::optional<std::string> start_id;
    if (!resume)
        start_id = hub_.newest_id();

    // A token that expires needs a timer, which must stop when the stream ends:
    // only such streams have state, and attach options, of their own. The others
    // share the server's (an idle connection's size is what a server multiplies).
    struct expiry_state
    {
        std::unique_ptr<asio::steady_timer> timer;   // on the stream's strand
        bool closed = false;                         // likewise
    };
    std::shared_ptr<expiry_state> expiry;
    std::shared_ptr<sse::attach_options const> how = attach_options_;
    if (who.claims && who.claims->expires) {
        expiry = std::make_shared<expiry_state>();
        sse::attach_options own = *attach_options_;
        own.on_close = [expiry](sse::error_code) {
            expiry->closed = true;
            if (expiry->timer)
                expiry->timer->cancel();
        };
        how = std::make_shared<sse::attach_options const>(std::move(own));
    }

    auto stream = std::make_shared<sse::stream<Socket>>(std::move(socket), stream_options_);
    sse::subscriber_options options;
    options.topics = topics_for(what);
    options.user = what.user;
    options.last_event_id = resume ? resume : start_id;

    sse::error_code ec;
    auto sub = sse::attach(hub_, stream, std::move(options), std::move(how), ec);
    if (!sub) {
        clients_.release(req->remote_ip, what.user);
        return refuse(std::move(stream->socket()), *req, "shutting_down",
                      retry_later(503, "the server is shutting down", config_.retry_after));
    }

    clients_.opened(client_record{sub, req->peer});

    // Logged before start(): once started, the stream may end, and log its end, on another thread.
    log_.info("stream_opened", {{"client", std::to_string(sub->id())}, {"user", string_or_null(what.user)},
                                {"ip", req->remote_ip}, {"remote", req->remote}, {"channels", what.channels},
                                {"resume", resume ? nlohmann::json(*resume) : nlohmann::json(nullptr)},
                                {"auth", who.via == identity::source::token ? "token" : "anonymous"}});

    // Queued before start(): it follows the head, ahead of any replayed event.
    sse::event hello;
    hello.type = "connected";
    if (start_id)
        hello.id = *start_id;
    hello.data = nlohmann::json{{"clientId", std::to_string(sub->id())},
                                {"userId", string_or_null(what.user)},
                                {"channels", what.channels},
                                {"sessionId", session_id(what.metadata)},
                                {"serverTime", unix_ms(system_clock::now())}}
                     .dump();
    stream->send(hello);
    if (!config_.greeting.empty()) {
        // Seed 003's greeting, its fields in the seed's order, without an id: it is
        // no event a client could resume after.
        sse::event greeting;
        greeting.type = "notification";
        greeting.data = nlohmann::ordered_json{{"type", "notification"}, {"notificationType", "info"},
                                               {"message", config_.greeting}}
                            .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
        stream->send(greeting);
    }
    stream->start(req->head);

    if (expiry) {
        // The token is honoured as long as verify_jwt would accept it, leeway included.
        auto const left = *who.claims->expires + config_.jwt_leeway - system_clock::now();
        asio::post(stream->get_executor(), [this, expiry, left, id = sub->id(), ex = stream->get_executor()] {
            if (expiry->closed)
                return;
            expiry->timer = std::make_unique<asio::steady_timer>(
                ex, std::chrono::duration_cast<clock::duration>(left));
            expiry->timer->async_wait([this, id](sse::error_code cancelled) {
                if (!cancelled)
                    hub_.kick(id, sse::close_reason::token_expired);
            });
        });
    }
}

template<class Socket>
void server::serve_poll(request_ptr req, Socket socket)
{
    auto granted = authorize_subscriber(*req, socket);
    if (!granted)
        return;
    subscription& what = granted->what;
    sse::subscriber_options options;
    options.topics = topics_for(what);
    options.user = std::move(what.user);
    sse::error_code ec;
    auto body = poll_events(hub_, std::move(options), std::string(req->head.param("since").value_or("")), ec);
    if (ec)
        return reply(std::move(socket), *req, retry_later(503, ec.message(), config_.retry_after));
    ++polls_;
    polled_events_ += body["events"].size();
    if (body["reset"] == true)
        ++poll_resets_;
    reply(std::move(socket), *req, json_response(200, body));
}

// Called from server.cpp's routing.
template void server::serve_stream(request_ptr, sse::io_context_socket);
template void server::serve_stream(request_ptr, sse::tls_socket);
template void server::serve_poll(request_ptr, sse::io_context_socket);
template void server::serve_poll(request_ptr, sse::tls_socket);

} // namespace app
