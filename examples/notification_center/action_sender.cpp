// action_sender.cpp - the URLs and body of a picked action, and one POST over http or https.
#include "action_sender.hpp"

#include <sse/asio/ssl.hpp>
#include <sse/url.hpp>

#include <nlohmann/json.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <utility>

namespace nc {

namespace {

std::string origin_of(std::string_view stream_url)
{
    sse::error_code ec;
    sse::url const u = sse::parse_url(stream_url, ec);
    if (ec)
        return {};
    return u.scheme + "://" + u.authority();
}

using transport = sse::detail::client_transport<sse::tls_socket>;

// One exchange; it lives as long as its pending operations.
struct exchange : std::enable_shared_from_this<exchange>
{
    exchange(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> context, sse::url where)
        : resolver(ex), tls_context(std::move(context)), socket(ex, *tls_context), timer(ex), target(std::move(where))
    {
    }

    asio::ip::tcp::resolver resolver;
    std::shared_ptr<asio::ssl::context> tls_context;
    sse::tls_socket socket;
    asio::steady_timer timer;
    sse::url target;
    bool verify_peer = true;
    std::string request;
    std::string response;
    std::array<char, 4096> buffer{};
    std::function<void(action_result)> done;
    bool finished = false;

    template<class F>
    void with_stream(F&& f)
    {
        if (target.is_https())
            f(socket);
        else
            f(transport::tcp_layer(socket));
    }

    void start()
    {
        timer.expires_after(std::chrono::seconds(10));
        timer.async_wait([self = shared_from_this()](std::error_code ec) {
            if (!ec)
                self->finish({std::make_error_code(std::errc::timed_out), 0, {}});
        });
        resolver.async_resolve(target.host, std::to_string(target.port),
            [self = shared_from_this()](std::error_code ec, asio::ip::tcp::resolver::results_type results) {
                if (ec)
                    return self->finish({ec, 0, {}});
                asio::async_connect(transport::tcp_layer(self->socket), results,
                    [self](std::error_code cec, asio::ip::tcp::endpoint const&) {
                        if (cec)
                            return self->finish({cec, 0, {}});
                        if (!self->target.is_https())
                            return self->send();
                        transport::async_handshake(self->socket, self->target, self->verify_peer,
                            [self](std::error_code hec) {
                                if (hec)
                                    return self->finish({hec, 0, {}});
                                self->send();
                            });
                    });
            });
    }

    void send()
    {
        with_stream([this](auto& s) {
            asio::async_write(s, asio::buffer(request), [self = shared_from_this()](std::error_code ec, std::size_t) {
                if (ec)
                    return self->finish({ec, 0, {}});
                self->read();
            });
        });
    }

    // Connection: close: the answer ends with the connection.
    void read()
    {
        with_stream([this](auto& s) {
            s.async_read_some(asio::buffer(buffer), [self = shared_from_this()](std::error_code ec, std::size_t n) {
                self->response.append(self->buffer.data(), n);
                if (self->response.size() > 64 * 1024)
                    return self->finish({std::make_error_code(std::errc::message_size), 0, {}});
                if (!ec)
                    return self->read();
                bool const ended = ec == asio::error::eof || transport::is_truncation(ec);
                if (!ended)
                    return self->finish({ec, 0, {}});
                self->finish(self->parse());
            });
        });
    }

    action_result parse() const
    {
        action_result r;
        // "HTTP/1.1 202 Accepted\r\n...\r\n\r\nbody"
        auto const space = response.find(' ');
        auto const head_end = response.find("\r\n\r\n");
        if (response.compare(0, 5, "HTTP/") != 0 || space == std::string::npos || head_end == std::string::npos ||
            space + 4 > response.size()) {
            r.ec = std::make_error_code(std::errc::bad_message);
            return r;
        }
        for (std::size_t i = space + 1; i < space + 4; ++i) {
            char const c = response[i];
            if (c < '0' || c > '9') {
                r.ec = std::make_error_code(std::errc::bad_message);
                return r;
            }
            r.status = r.status * 10 + (c - '0');
        }
        r.body = response.substr(head_end + 4);
        return r;
    }

    void finish(action_result result)
    {
        if (finished)
            return;
        finished = true;
        std::error_code ignored;
        timer.cancel();
        resolver.cancel();
        transport::tcp_layer(socket).close(ignored);
        done(std::move(result));
    }
};

} // namespace

std::string query_escape(std::string_view s, std::string_view also_keep)
{
    static char const hex[] = "0123456789ABCDEF";
    std::string out;
    for (char ch : s) {
        auto const c = static_cast<unsigned char>(ch);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~' || also_keep.find(ch) != std::string_view::npos) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string actions_url(std::string_view stream_url, std::string_view user)
{
    std::string const origin = origin_of(stream_url);
    if (origin.empty())
        return {};
    std::string out = origin + "/api/sse/actions";
    if (!user.empty())
        out += "?userId=" + query_escape(user);
    return out;
}

std::string action_link(std::string_view stream_url, std::string_view url)
{
    if (url.substr(0, 7) == "http://" || url.substr(0, 8) == "https://")
        return std::string(url);
    if (url.substr(0, 1) == "/" && url.substr(0, 2) != "//") {
        std::string const origin = origin_of(stream_url);
        return origin.empty() ? std::string() : origin + std::string(url);
    }
    return {};
}

std::string action_body(notification const& n, notification_action const& a)
{
    nlohmann::json j = {{"event", a.event}, {"label", a.label}};
    // A local id ("local-...") means the event had none: the server gets no id then.
    if (n.id.compare(0, 6, "local-") != 0)
        j["notificationId"] = n.id;
    if (!a.data.empty()) {
        auto data = nlohmann::json::parse(a.data, nullptr, false);
        if (!data.is_discarded())
            j["data"] = std::move(data);
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void post_action(asio::any_io_executor ex, action_request request, std::function<void(action_result)> done)
{
    sse::error_code ec;
    sse::url target = sse::parse_url(request.url, ec);
    std::shared_ptr<asio::ssl::context> context;
    if (!ec) {
        sse::event_source_options tls;
        tls.ca_file = request.ca_file;
        context = transport::make_context(tls, ec);
    }
    if (ec) {
        asio::post(ex, [done = std::move(done), ec] { done({ec, 0, {}}); });
        return;
    }
    auto op = std::make_shared<exchange>(ex, std::move(context), std::move(target));
    op->verify_peer = request.verify_peer;
    op->done = std::move(done);
    std::string& out = op->request;
    out = "POST " + op->target.target + " HTTP/1.1\r\nHost: " + op->target.authority() +
          "\r\nContent-Type: application/json\r\nAccept: application/json\r\nConnection: close\r\n";
    if (!request.token.empty())
        out += "Authorization: Bearer " + request.token + "\r\n";
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n\r\n" + request.body;
    op->start();
}

} // namespace nc
