// sse-beast - Server-Sent Events from a Boost.Beast HTTP server.
//
// An ordinary Beast server (tcp_stream, flat_buffer, http::async_read, keep-alive)
// whose GET /events route takes the socket out of Beast and hands it, with what
// Beast parsed of the request, to an sse::stream fed by an sse::hub. Its other
// routes stay Beast's. Built on Boost.Asio through the target sse::boost_asio.
//
//   sse-beast [--port N]          listens on 127.0.0.1; port 0 (the default) picks a free one
//
//   open http://127.0.0.1:PORT/                              a page that shows the stream
//   curl -N "http://127.0.0.1:PORT/events?topics=news"       a stream of the topic "news"
//   curl -d hello "http://127.0.0.1:PORT/publish?topic=news" publishes; answers the id
//   curl -N -H "Last-Event-ID: <id>" "http://127.0.0.1:PORT/events?topics=news"
//                                                            resumes after <id>, nothing lost
//   curl http://127.0.0.1:PORT/stats                         how many streams are subscribed
//   curl -X POST http://127.0.0.1:PORT/disconnect            ends every stream; clients resume
//
// SIGINT or SIGTERM shuts down gracefully: every stream gets a final message with
// a randomised retry, idle keep-alive connections are closed, and the program
// exits 0 once the last stream has closed. One thread runs the io_context.
#include <sse/asio/attach.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/http/request_head.hpp>
#include <sse/hub.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// Beast's string_view is Boost's in 1.74 (std's only with BOOST_BEAST_USE_STD_STRING_VIEW).
std::string_view std_view(beast::string_view s)
{
    return {s.data(), s.size()};
}

// ---- the query string, which Boost 1.74 has no parser for ---------------------------

using query_params = std::vector<std::pair<std::string, std::string>>;

// The parameters of `target`'s query, decoded as browsers encode them (a `+` is a
// space); nothing on a bad `%` escape.
std::optional<query_params> parse_query(std::string_view target)
{
    query_params out;
    auto const mark = target.find('?');
    if (mark == std::string_view::npos)
        return out;
    std::string_view rest = target.substr(mark + 1);
    while (!rest.empty()) {
        auto const amp = rest.find('&');
        auto const piece = rest.substr(0, amp);
        if (!piece.empty()) {
            auto const eq = piece.find('=');
            auto const raw_value = eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
            sse::error_code name_ec, value_ec;
            auto name = sse::http::form_decode(piece.substr(0, eq), name_ec);
            auto value = sse::http::form_decode(raw_value, value_ec);
            if (name_ec || value_ec)
                return std::nullopt;
            out.emplace_back(std::move(name), std::move(value));
        }
        if (amp == std::string_view::npos)
            break;
        rest.remove_prefix(amp + 1);
    }
    return out;
}

// The first value of `name`, if any.
std::optional<std::string> param(query_params const& q, std::string_view name)
{
    for (auto const& [n, v] : q)
        if (n == name)
            return v;
    return std::nullopt;
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

// ---- what the routes share ----------------------------------------------------------

struct shared_state
{
    // Subscriber ids, for POST /disconnect. The hub reports subscriptions from the
    // thread that makes or ends them, so the set has a lock of its own; both are
    // declared before the hub, which reports the last ones as it is destroyed.
    std::mutex ids_mutex;
    std::set<std::uint64_t> ids;

    sse::hub hub{make_hub_options()};
    // One of each for every stream: an idle connection holds no copy of them.
    std::shared_ptr<sse::stream_options const> stream_options = std::make_shared<sse::stream_options>();
    std::shared_ptr<sse::attach_options const> attach_options = make_attach_options();
    bool stopping = false;

    static std::shared_ptr<sse::attach_options const> make_attach_options()
    {
        auto o = std::make_shared<sse::attach_options>();
        // One function for every stream, told which one ended and why (an sse::error_code,
        // which is std::error_code on Boost.Asio too).
        o->on_end = [](sse::subscriber const& s, sse::error_code why) {
            std::fprintf(stderr, "stream %llu ended: %s\n", static_cast<unsigned long long>(s.id()),
                why ? why.message().c_str() : "gracefully");
        };
        return o;
    }

    sse::hub_options make_hub_options()
    {
        sse::hub_options o;
        o.on_subscribe = [this](sse::subscriber const& s) {
            std::lock_guard<std::mutex> lock(ids_mutex);
            ids.insert(s.id());
        };
        o.on_unsubscribe = [this](sse::subscriber const& s, sse::close_reason) {
            std::lock_guard<std::mutex> lock(ids_mutex);
            ids.erase(s.id());
        };
        return o;
    }
};

// ---- the hand-over: all the SSE code a Beast server needs ---------------------------

// [hand-over]
// GET /events. The connection leaves Beast here: Beast has parsed the request and
// holds the socket; the stream takes the socket and answers with an event stream
// until either side ends it.
void serve_events(request const& req, query_params const& query, beast::tcp_stream& connection,
    beast::flat_buffer& buffer, shared_state& app)
{
    // Beast reads ahead: what it buffered past this request is the start of a
    // pipelined one, which can never be answered, since an event stream ends only
    // with its connection. It is dropped, as the stream drops whatever comes later.
    buffer.consume(buffer.size());
    auto stream = std::make_shared<sse::stream<tcp::socket>>(connection.release_socket(), app.stream_options);

    sse::subscriber_options who;
    who.topics = split_commas(param(query, "topics").value_or("news"));
    // Last-Event-ID (EventSource's reconnect) wins over ?lastEventId (a page or a
    // polyfill resuming from what it stored). Either way the hub replays what came after.
    if (auto const id = req.find("Last-Event-ID"); id != req.end())
        who.last_event_id = std::string(std_view(id->value()));
    else
        who.last_event_id = param(query, "lastEventId");

    sse::error_code ec;
    if (!sse::attach(app.hub, stream, std::move(who), app.attach_options, ec)) {   // after hub.shutdown()
        sse::response busy{503, "text/plain", "shutting down\n", {{"Retry-After", "5"}}};
        return sse::respond_and_close(std::move(stream->socket()), busy);
    }
    auto const origin = req.find(http::field::origin);
    stream->start(origin == req.end() ? std::string_view() : std_view(origin->value()));
}
// [hand-over]

// ---- Beast's side: sessions and the other routes ------------------------------------

char const page_html[] = R"(<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>sse-beast</title>
<h1>Events from a Beast server</h1>
<p>Stream: <span id="state">connecting</span>
<form id="publish"><input id="data" value="hello" aria-label="data"> <button>publish to news</button></form>
<ol id="events"></ol>
<script>
const topics = new URLSearchParams(location.search).get('topics') || 'news';
const source = new EventSource('/events?topics=' + encodeURIComponent(topics));
const state = document.getElementById('state');
const list = document.getElementById('events');
window.opens = 0;
function show(e) {
  const item = document.createElement('li');
  item.dataset.id = e.lastEventId;
  item.dataset.type = e.type;
  item.textContent = e.data;
  list.append(item);
}
source.onopen = () => { window.opens++; state.textContent = 'open'; };
source.onerror = () => {
  state.textContent = source.readyState === EventSource.CONNECTING ? 'reconnecting' : 'closed';
};
source.onmessage = show;
source.addEventListener('reset', show);
document.getElementById('publish').onsubmit = (e) => {
  e.preventDefault();
  fetch('/publish?topic=news', { method: 'POST', body: document.getElementById('data').value });
};
</script>
</html>
)";

response text_response(request const& req, http::status status, char const* content_type, std::string body)
{
    response res{status, req.version()};
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

// POST /publish?topic=T[&event=TYPE]: the body is the event's data.
response publish(request const& req, query_params const& query, shared_state& app)
{
    sse::event e;
    e.type = param(query, "event").value_or("");
    e.data = req.body();
    sse::error_code ec;
    auto const topic = param(query, "topic").value_or("news");
    auto const result = app.hub.publish(std::move(e), sse::audience::topic(topic), {}, ec);
    if (ec == sse::error::hub_shut_down)
        return text_response(req, http::status::service_unavailable, "text/plain", "shutting down\n");
    if (ec)
        return text_response(req, http::status::bad_request, "text/plain", ec.message() + "\n");
    // Assigned ids are `<epoch>-<seq>`, of [0-9a-z-]: nothing to escape in JSON.
    return text_response(req, http::status::ok, "application/json",
        "{\"id\":\"" + result.id + "\",\"deliveries\":" + std::to_string(result.deliveries) + "}\n");
}

// POST /disconnect: ends every stream, as a restarting node behind a load balancer
// would; browsers reconnect by themselves with Last-Event-ID.
response disconnect(request const& req, shared_state& app)
{
    std::set<std::uint64_t> ids;
    {
        std::lock_guard<std::mutex> lock(app.ids_mutex);
        ids = app.ids;
    }
    std::size_t ended = 0;
    for (auto const id : ids)
        ended += app.hub.kick(id) ? 1 : 0;
    return text_response(req, http::status::ok, "application/json", "{\"ended\":" + std::to_string(ended) + "}\n");
}

response stats(request const& req, shared_state& app)
{
    return text_response(req, http::status::ok, "application/json",
        "{\"subscribers\":" + std::to_string(app.hub.stats().subscribers) + "}\n");
}

class session : public std::enable_shared_from_this<session>
{
public:
    session(tcp::socket socket, shared_state& app) : connection_(std::move(socket)), app_(app) {}

    void start() { read(); }

    // On shutdown: a connection waiting for its next request ends now; one
    // being answered ends after the answer.
    void stop()
    {
        if (reading_)
            connection_.cancel();
    }

private:
    void read()
    {
        request_ = {};
        reading_ = true;
        connection_.expires_after(std::chrono::seconds(30));
        http::async_read(
            connection_, buffer_, request_, beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t)
    {
        reading_ = false;
        if (ec)
            return close();   // the client left, the timeout, stop(), or a request Beast refused
        auto const target = std_view(request_.target());
        auto const path = target.substr(0, target.find('?'));
        auto const query = parse_query(target);
        if (!query)
            return write(text_response(request_, http::status::bad_request, "text/plain", "bad query string\n"));
        auto const method = request_.method();

        if (path == "/events" && method == http::verb::get)
            return serve_events(request_, *query, connection_, buffer_, app_);   // this session ends here
        if (path == "/" && method == http::verb::get)
            return write(text_response(request_, http::status::ok, "text/html; charset=utf-8", page_html));
        if (path == "/publish" && method == http::verb::post)
            return write(publish(request_, *query, app_));
        if (path == "/disconnect" && method == http::verb::post)
            return write(disconnect(request_, app_));
        if (path == "/stats" && method == http::verb::get)
            return write(stats(request_, app_));
        write(text_response(request_, http::status::not_found, "text/plain", "try /, /events, /publish or /stats\n"));
    }

    void write(response res)
    {
        response_ = std::move(res);
        connection_.expires_after(std::chrono::seconds(30));
        http::async_write(connection_, response_, beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t)
    {
        if (ec || !response_.keep_alive() || app_.stopping)
            return close();
        read();
    }

    void close()
    {
        beast::error_code ignored;
        connection_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }

    beast::tcp_stream connection_;
    shared_state& app_;
    beast::flat_buffer buffer_;
    request request_;
    response response_;
    bool reading_ = false;
};

class server
{
public:
    server(net::io_context& io, unsigned short port, shared_state& app)
        : io_(io), acceptor_(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), port)), app_(app)
    {
        accept();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    // Graceful shutdown: no new connections, idle ones closed, every stream ends
    // with a final message; io_context::run() returns once all of them are gone.
    void stop()
    {
        app_.stopping = true;
        beast::error_code ignored;
        acceptor_.close(ignored);
        for (auto const& weak : sessions_)
            if (auto s = weak.lock())
                s->stop();
        app_.hub.shutdown();
    }

private:
    void accept()
    {
        acceptor_.async_accept(io_, [this](beast::error_code ec, tcp::socket socket) {
            if (ec)
                return;   // closed by stop()
            auto s = std::make_shared<session>(std::move(socket), app_);
            forget_ended_sessions();
            sessions_.push_back(s);
            s->start();
            accept();
        });
    }

    void forget_ended_sessions()
    {
        sessions_.erase(std::remove_if(sessions_.begin(), sessions_.end(),
                            [](std::weak_ptr<session> const& s) { return s.expired(); }),
            sessions_.end());
    }

    net::io_context& io_;
    tcp::acceptor acceptor_;
    shared_state& app_;
    std::vector<std::weak_ptr<session>> sessions_;
};

} // namespace

int main(int argc, char** argv)
{
    unsigned short port = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = static_cast<unsigned short>(std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: %s [--port N]\n", argv[0]);
            return 2;
        }
    }

    net::io_context io;
    shared_state app;
    server srv(io, port, app);
    std::printf("listening on http://127.0.0.1:%u/\n", static_cast<unsigned>(srv.port()));
    std::fflush(stdout);

    net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
        std::fprintf(stderr, "shutting down\n");
        srv.stop();
    });
    io.run();   // returns once every connection and stream has closed
    return 0;
}
