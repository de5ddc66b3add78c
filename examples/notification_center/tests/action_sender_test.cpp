// Picking an action: the terminal's keys choose it, a url action resolves against the
// stream's server, an event action is POSTed to /api/sse/actions (docs/server.md) on a
// loopback peer that records the request.
#include "action_sender.hpp"
#include "notification_store.hpp"
#include "terminal_ui.hpp"

#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <istream>
#include <optional>
#include <string>
#include <thread>

namespace {

// One HTTP exchange on 127.0.0.1: records the request, answers `reply`.
struct loopback_peer
{
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor{io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::string head, body;
    std::thread thread;

    explicit loopback_peer(std::string reply)
    {
        thread = std::thread([this, reply] {
            std::error_code ec;
            asio::ip::tcp::socket s(io);
            acceptor.accept(s, ec);
            if (ec)
                return;
            asio::streambuf in;
            std::size_t const n = asio::read_until(s, in, "\r\n\r\n", ec);
            if (ec)
                return;
            head.assign(asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<long>(n));
            in.consume(n);
            std::size_t length = 0;
            auto const at = head.find("Content-Length: ");
            if (at != std::string::npos)
                length = std::stoul(head.substr(at + 16));
            if (in.size() < length)
                asio::read(s, in, asio::transfer_exactly(length - in.size()), ec);
            body.assign(asio::buffers_begin(in.data()), asio::buffers_end(in.data()));
            asio::write(s, asio::buffer(reply), ec);
            s.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        });
    }
    ~loopback_peer()
    {
        std::error_code ignored;
        acceptor.close(ignored);
        if (thread.joinable())
            thread.join();
    }
    std::string base() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }
};

nc::notification with_actions()
{
    std::string why;
    auto n = nc::parse_notification(
        R"({"notificationType":"info","title":"Order 7","message":"shipped",
            "actions":[{"label":"Track","url":"/orders/7"},
                       {"label":"Undo","event":"order.undo","data":{"order":7}}]})",
        why);
    REQUIRE_MESSAGE(n, why);
    return *n;
}

nc::key character(char const* text) { return {nc::key::character, text}; }

} // namespace

TEST_CASE("actions: the number keys pick an action of the selected notification")
{
    nc::notification_store store({});
    std::error_code ec;
    auto n = with_actions();
    n.id = "41";
    store.accept(n, "41", ec);
    REQUIRE(!ec);
    nc::terminal_ui ui;
    auto const picked = ui.handle(character("2"), store);
    CHECK(picked.kind == nc::ui_action::pick_action);
    CHECK(picked.id == "41");
    CHECK(picked.action == 1);
    CHECK(ui.handle(character("3"), store).kind == nc::ui_action::none);   // there is no third
    // The help line lists them.
    std::string const screen = ui.render(store, {}, 120, 10);
    CHECK(screen.find("1 Track") != std::string::npos);
    CHECK(screen.find("2 Undo") != std::string::npos);
}

TEST_CASE("actions: a url action opens on the stream's server or as given")
{
    std::string const stream = "http://127.0.0.1:8080/api/sse?userId=alice";
    CHECK(nc::action_link(stream, "/orders/7") == "http://127.0.0.1:8080/orders/7");
    CHECK(nc::action_link(stream, "https://example.com/x") == "https://example.com/x");
    CHECK(nc::action_link(stream, "javascript:alert(1)").empty());
    CHECK(nc::action_link(stream, "//elsewhere/x").empty());
    CHECK(nc::actions_url(stream, "alice") == "http://127.0.0.1:8080/api/sse/actions?userId=alice");
    CHECK(nc::actions_url("https://h.example/sse", "") == "https://h.example/api/sse/actions");
    CHECK(nc::actions_url("not a url", "a").empty());
}

TEST_CASE("actions: an event action is POSTed to /api/sse/actions")
{
    loopback_peer peer("HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 10\r\n"
                       "Connection: close\r\n\r\n{\"id\":\"9\"}");
    auto n = with_actions();
    n.id = "41";
    nc::action_request request;
    request.url = nc::actions_url(peer.base() + "/api/sse", "al ice");
    request.token = "t0k";
    request.body = nc::action_body(n, n.actions[1]);
    asio::io_context io;
    std::optional<nc::action_result> result;
    nc::post_action(io.get_executor(), request, [&](nc::action_result r) { result = std::move(r); });
    io.run_for(std::chrono::seconds(10));
    REQUIRE(result);
    CHECK(!result->ec);
    CHECK(result->status == 202);
    CHECK(result->body == "{\"id\":\"9\"}");

    CHECK(peer.head.rfind("POST /api/sse/actions?userId=al%20ice HTTP/1.1\r\n", 0) == 0);
    CHECK(peer.head.find("\r\nAuthorization: Bearer t0k\r\n") != std::string::npos);
    CHECK(peer.head.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    auto const sent = nlohmann::json::parse(peer.body);
    CHECK(sent == nlohmann::json{{"event", "order.undo"}, {"notificationId", "41"}, {"label", "Undo"},
                                 {"data", {{"order", 7}}}});
}

TEST_CASE("actions: a peer that is not there is reported, not hung on")
{
    asio::io_context probe;
    asio::ip::tcp::acceptor a(probe, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto const port = a.local_endpoint().port();
    a.close();
    nc::action_request request;
    request.url = "http://127.0.0.1:" + std::to_string(port) + "/api/sse/actions";
    request.body = "{}";
    asio::io_context io;
    std::optional<nc::action_result> result;
    nc::post_action(io.get_executor(), request, [&](nc::action_result r) { result = std::move(r); });
    io.run_for(std::chrono::seconds(10));
    REQUIRE(result);
    CHECK(result->ec);
    CHECK(result->status == 0);
}
