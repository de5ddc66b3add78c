// sse-embedding - Server-Sent Events inside a server you already have.
//
// The "existing server" below is a plain Asio HTTP server of the kind many
// programs carry: it accepts, reads a request head, and routes. Its /events
// route hands the socket and the parsed head to the library, which serves an
// SSE stream fed by an sse::hub. Nothing else in the server changes.
//
//   sse-embedding [port]          listens on 127.0.0.1:8080 by default
//
//   curl -N http://127.0.0.1:8080/events?topics=news       a stream of the topic "news"
//   curl "http://127.0.0.1:8080/publish?topic=news&text=hi" publishes to it
//   curl -N -H "Last-Event-ID: <id>" http://127.0.0.1:8080/events?topics=news
//                                                          resumes after <id>, nothing lost
//
// A clock event goes to the topic "clock" every second. Ctrl-C shuts down
// gracefully: every stream gets a final message with a randomised retry.
#include <sse/asio/attach.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/fmt.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/hub.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/streambuf.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>

namespace {

using tcp = asio::ip::tcp;

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

// ---- the application's own server, much simplified ---------------------------------

class existing_server
{
public:
    existing_server(asio::io_context& io, unsigned short port, sse::hub& hub)
        : io_(io), acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)), hub_(hub)
    {
        accept();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    void stop()
    {
        sse::error_code ignored;
        acceptor_.close(ignored);
    }

private:
    void accept()
    {
        acceptor_.async_accept([this](sse::error_code ec, tcp::socket socket) {
            if (ec)
                return;   // closed by stop()
            read_request(std::make_shared<tcp::socket>(std::move(socket)));
            accept();
        });
    }

    void read_request(std::shared_ptr<tcp::socket> socket)
    {
        auto buffer = std::make_shared<asio::streambuf>(16 * 1024);
        asio::async_read_until(*socket, *buffer, "\r\n\r\n",
            [this, socket, buffer](sse::error_code ec, std::size_t) {
                if (ec)
                    return;
                sse::http::request_parser parser;
                auto const bytes = buffer->data();
                parser.feed(std::string_view(static_cast<char const*>(bytes.data()), bytes.size()), ec);
                if (ec || !parser.done()) {
                    int const status = ec ? sse::http::status_for(ec) : 400;
                    return sse::respond_and_close(std::move(*socket), {status, "text/plain", "bad request\n", {}});
                }
                route(parser.release(), std::move(*socket));
            });
    }

    void route(sse::http::request_head head, tcp::socket socket)
    {
        if (head.method() == "GET" && head.path() == "/events")
            return serve_events(head, std::move(socket));
        if (head.method() == "GET" && head.path() == "/publish") {
            sse::event e;
            e.data = std::string(head.param("text").value_or(""));
            auto const topic = head.param("topic").value_or("news");
            auto const result = hub_.publish(e, sse::audience::topic(std::string(topic)));
            return sse::respond_and_close(std::move(socket),
                {200, "text/plain", fmt::format("published {} to {}\n", result.id, result.deliveries), {}});
        }
        sse::respond_and_close(std::move(socket), {404, "text/plain", "try /events or /publish\n", {}});
    }

    // ---- the hand-over: this is all the SSE code the application needs ----------------
    void serve_events(sse::http::request_head const& head, tcp::socket socket)
    {
        auto stream = std::make_shared<sse::stream<tcp::socket>>(std::move(socket), stream_options_);

        sse::subscriber_options who;
        who.topics = split_commas(head.param("topics").value_or("news,clock"));
        if (auto id = head.fields().find("Last-Event-ID"))
            who.last_event_id = std::string(*id);

        sse::attach_options how;
        how.on_close = [](sse::error_code why) {
            if (why)
                fmt::print(stderr, "stream closed: {}\n", sse::describe(why));   // message (sse:name)
            else
                fmt::print(stderr, "stream closed gracefully\n");
        };
        sse::error_code ec;
        if (!sse::attach(hub_, stream, std::move(who), how, ec)) {
            stream->close();
            return;
        }
        stream->start(head);
    }

    asio::io_context& io_;
    tcp::acceptor acceptor_;
    sse::hub& hub_;
    std::shared_ptr<sse::stream_options const> stream_options_ = std::make_shared<sse::stream_options>();
};

} // namespace

int main(int argc, char** argv)
{
    unsigned short const port = argc > 1 ? static_cast<unsigned short>(std::atoi(argv[1])) : 8080;
    asio::io_context io;
    sse::hub hub;
    existing_server server(io, port, hub);
    fmt::print("listening on http://127.0.0.1:{}/events\n", server.port());
    std::fflush(stdout);

    asio::steady_timer clock(io);
    std::function<void()> tick = [&] {
        clock.expires_after(std::chrono::seconds(1));
        clock.async_wait([&](sse::error_code ec) {
            if (ec)
                return;
            sse::event e;
            e.type = "clock";
            e.data = std::to_string(std::time(nullptr));
            hub.publish(e, sse::audience::topic("clock"));
            tick();
        });
    };
    tick();

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](sse::error_code, int) {
        fmt::print(stderr, "shutting down\n");
        server.stop();
        clock.cancel();
        hub.shutdown();   // every attached stream writes its final message and closes
    });
    io.run();             // returns once every stream has closed
    return 0;
}
