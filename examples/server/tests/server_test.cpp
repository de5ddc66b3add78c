// Tests of the example server over real loopback connections: every endpoint, every refusal.
#include "server.hpp"

#include "config.hpp"
#include "events.hpp"
#include "jwt.hpp"
#include "loopback.hpp"
#include "support/certificate.hpp"
#include "support/sse_client.hpp"

#include <sse/json.hpp>

#include <doctest/doctest.h>

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace {

using namespace loopback;
using namespace std::chrono_literals;

/// A signed token for `sub`, valid for an hour unless `claims` says otherwise.
std::string token(std::string const& sub, json claims = json::object())
{
    json payload = {{"sub", sub}, {"exp", now_s() + 3600}};
    payload.update(claims);
    return app::sign_jwt(payload, secret);
}

/// The server with JWTs required.
app::config auth_config()
{
    app::config c = test_config();
    c.jwt_secret = secret;
    c.publish_key = "the-publish-key";
    c.jwt_leeway = 0s;
    return c;
}

json notification_body(std::string const& title)
{
    return {{"event", "notification"},
            {"data", {{"notificationType", "success"}, {"title", title}, {"message", "done"}, {"duration", 3000}}}};
}

/// Opens a raw stream and reads its head and first event.
bool open_raw(support::sse_client& c, unsigned short port, std::string const& target)
{
    support::sse_client::options o;
    o.target = target;
    return c.connect(port, o) && c.read_until([&] { return c.event_count() >= 1 || c.eof(); }) && c.status() == 200;
}

} // namespace

TEST_CASE("server: the stream starts with a connected event that names the client")
{
    fixture f;
    reader r(f.port(), "/api/sse?userId=alice&channels=news,sport");
    REQUIRE(r.wait_for("connected"));
    auto const first = r.events().front();
    CHECK(first.type == "connected");
    auto const data = first.data_json();
    CHECK(data["userId"] == "alice");
    CHECK(data["channels"] == json::array({"news", "sport"}));
    CHECK(std::llabs(data["serverTime"].get<long long>() - now_ms()) < 5000);
    // The connected event carries the newest id, so that a reconnect right away loses nothing.
    CHECK(first.id == f.server().hub().newest_id());

    auto const clients = get(f.port(), "/clients").body_json()["clients"];
    REQUIRE(clients.size() == 1);
    CHECK(clients[0]["id"] == data["clientId"]);

    SUBCASE("the aliases serve the same stream")
    {
        for (char const* path : {"/api/notifications/stream", "/events"}) {
            CAPTURE(path);
            reader other(f.port(), path);
            CHECK(other.wait_for("connected"));
        }
    }
}

TEST_CASE("server: a published notification arrives typed, with the id the publisher was given")
{
    fixture f;
    reader r(f.port(), "/api/sse?channels=news");
    REQUIRE(r.wait_for("connected"));
    auto body = notification_body("Saved");
    body["channels"] = {"news"};
    auto const answer = post(f.port(), "/api/sse/publish", body);
    REQUIRE(answer.status == 202);
    CHECK(answer.body_json()["recipients"] == 1);
    REQUIRE(r.wait_for("notification"));
    auto const got = r.events("notification").front();
    CHECK(got.id == answer.body_json()["id"]);
    CHECK(got.data_json() == body["data"]);

    SUBCASE("a publisher's own id and retry are passed on")
    {
        body["id"] = "order-7";
        body["retry"] = 2500;
        REQUIRE(post(f.port(), "/api/sse/publish", body).status == 202);
        REQUIRE(r.wait_for("notification", 2));
        CHECK(r.events("notification").back().id == "order-7");
        CHECK(r.stats().retry == 2500ms);
    }
    SUBCASE("data that is not a string is sent as JSON")
    {
        REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "custom"}, {"data", {1, 2}}}).status == 202);
        REQUIRE(r.wait_for("custom"));
        CHECK(r.events("custom").front().data == "[1,2]");
    }
}

TEST_CASE("server: channels and userIds choose the recipients")
{
    fixture f;
    reader a(f.port(), "/api/sse?channels=a&userId=u1");
    reader b(f.port(), "/api/sse?channels=b&userId=u2");
    reader c(f.port(), "/api/sse?userId=u3");
    for (auto* r : {&a, &b, &c})
        REQUIRE(r->wait_for("connected"));

    auto publish = [&](std::string const& name, json targets, std::string const& path = "/api/sse/publish") {
        json body = {{"event", "t"}, {"data", name}};
        body.update(targets);
        auto const answer = post(f.port(), path, body);
        REQUIRE(answer.status == 202);
        return answer.body_json()["recipients"].get<int>();
    };
    CHECK(publish("to-a", {{"channels", {"a"}}}) == 1);
    CHECK(publish("to-u2", {{"userIds", {"u2"}}}) == 1);
    CHECK(publish("to-a-or-u3", {{"channels", {"a"}}, {"userIds", {"u3"}}}) == 2);
    CHECK(publish("to-u1-u2", {{"userIds", {"u1", "u2"}}}) == 2);
    CHECK(publish("to-all", json::object()) == 3);
    CHECK(publish("broadcast", json::object(), "/broadcast") == 3);

    // Each stream is in order: once the broadcast is there, the rest has arrived.
    auto names = [](reader& r) {
        r.wait_for("t", 1);
        std::vector<std::string> out;
        for (auto const& e : r.events("t"))
            out.push_back(e.data);
        return out;
    };
    for (auto* r : {&a, &b, &c})
        REQUIRE(r->wait_for("t", r == &a ? 5 : r == &b ? 4 : 3));
    CHECK(names(a) == std::vector<std::string>{"to-a", "to-a-or-u3", "to-u1-u2", "to-all", "broadcast"});
    CHECK(names(b) == std::vector<std::string>{"to-u2", "to-u1-u2", "to-all", "broadcast"});
    CHECK(names(c) == std::vector<std::string>{"to-a-or-u3", "to-all", "broadcast"});
}

TEST_CASE("server: a reconnecting client gets what it missed, once")
{
    fixture f;
    auto publish = [&](std::string const& text) {
        auto const answer = post(f.port(), "/api/sse/publish", {{"event", "t"}, {"data", text}, {"channels", {"x"}}});
        REQUIRE(answer.status == 202);
        return answer.body_json()["id"].get<std::string>();
    };
    auto texts = [](reader& r) {
        std::vector<std::string> out;
        for (auto const& e : r.events("t"))
            out.push_back(e.data);
        return out;
    };
    std::string const first = publish("one");
    publish("two");
    std::string const second = f.server().hub().newest_id();
    publish("three");

    SUBCASE("Last-Event-ID")
    {
        sse::event_source_options o;
        o.last_event_id = first;
        reader r(f.port(), "/api/sse?channels=x", o);
        REQUIRE(r.wait_for("t", 2));
        CHECK(texts(r) == std::vector<std::string>{"two", "three"});
        CHECK(r.events().front().type == "connected");
        CHECK(r.events().front().id == first);   // no id of its own on a resumed stream
    }
    SUBCASE("?lastEventId on a first connection")
    {
        reader r(f.port(), "/api/sse?channels=x&lastEventId=" + first);
        REQUIRE(r.wait_for("t", 2));
        CHECK(texts(r) == std::vector<std::string>{"two", "three"});
    }
    SUBCASE("the header wins over the query")
    {
        sse::event_source_options o;
        o.last_event_id = second;
        reader r(f.port(), "/api/sse?channels=x&lastEventId=" + first, o);
        REQUIRE(r.wait_for("t", 1));
        CHECK(texts(r) == std::vector<std::string>{"three"});
    }
    SUBCASE("the connected event's id covers a client that saw no event")
    {
        std::string start;
        {
            reader r(f.port(), "/api/sse?channels=x");
            REQUIRE(r.wait_for("connected"));
            start = r.events().front().id;
        }
        publish("four");
        sse::event_source_options o;
        o.last_event_id = start;
        reader again(f.port(), "/api/sse?channels=x", o);
        REQUIRE(again.wait_for("t", 1));
        CHECK(texts(again) == std::vector<std::string>{"four"});
    }
    SUBCASE("an id from an earlier run gets everything this run published")
    {
        sse::event_source_options o;
        o.last_event_id = "otherepoch-5";
        reader r(f.port(), "/api/sse?channels=x", o);
        REQUIRE(r.wait_for("t", 3));
        CHECK(texts(r) == std::vector<std::string>{"one", "two", "three"});
        CHECK(r.events("reset").empty());
    }
    SUBCASE("with --no-replay-after-restart, an id from another run gets a reset event")
    {
        app::config c = test_config();
        c.replay_after_restart = false;
        fixture strict(c);
        sse::event_source_options o;
        o.last_event_id = "otherepoch-5";
        reader r(strict.port(), "/api/sse?channels=x", o);
        REQUIRE(r.wait_for("reset"));
        auto const reset = r.events("reset").front();
        CHECK(reset.data_json()["reason"] == "foreign");
        CHECK(reset.id == strict.server().hub().newest_id());
        CHECK(r.events("t").empty());
    }
}

TEST_CASE("server: the event source reconnects after a kick and misses nothing")
{
    app::config c = test_config();
    c.retry = 50ms;
    fixture f(c);
    reader r(f.port(), "/api/sse?channels=x", {}, true);
    REQUIRE(r.wait_for("connected"));
    auto const id = r.events().front().data_json()["clientId"].get<std::string>();
    REQUIRE(http(f.port(), "DELETE", "/clients/" + id).status == 204);
    REQUIRE(r.wait_for("system"));
    CHECK(r.events("system").front().data_json()["reason"] == "kicked");
    // Published while the client may be away or back: it arrives either way, exactly once.
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "t"}, {"data", "while away"}, {"channels", {"x"}}}).status ==
            202);
    REQUIRE(r.wait_for("t"));
    REQUIRE(r.wait_opened(2));
    CHECK(r.wait_for("connected", 2));
    CHECK(r.events("t").size() == 1);
}

TEST_CASE("server: heartbeat events carry the server time")
{
    app::config c = test_config();
    c.heartbeat = 100ms;
    fixture f(c);
    reader r(f.port(), "/api/sse");
    REQUIRE(r.wait_for("heartbeat", 2));
    for (auto const& h : r.events("heartbeat")) {
        long long const sent = std::stoll(h.data);
        long long const seen = std::chrono::duration_cast<std::chrono::milliseconds>(h.at.time_since_epoch()).count();
        CHECK(std::llabs(seen - sent) < 1000);
    }
}

TEST_CASE("server: polling returns the events after an id")
{
    fixture f;
    auto const start = get(f.port(), "/api/sse/poll").body_json();
    CHECK(start["events"].empty());
    CHECK(start["reset"] == false);
    std::string const since = start["lastEventId"];
    CHECK(since == f.server().hub().newest_id());

    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "1"}, {"channels", {"x"}}}).status == 202);
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "b"}, {"data", "2"}, {"channels", {"y"}}}).status == 202);
    REQUIRE(post(f.port(), "/api/sse/publish", notification_body("n")).status == 202);

    auto const got = get(f.port(), "/api/sse/poll?channels=x&since=" + since).body_json();
    REQUIRE(got["events"].size() == 2);   // "b" went to channel y only
    CHECK(got["events"][0]["event"] == "a");
    CHECK(got["events"][0]["data"] == "1");
    CHECK(got["events"][1]["event"] == "notification");
    CHECK(json::parse(got["events"][1]["data"].get<std::string>())["title"] == "n");
    CHECK(got["lastEventId"] == got["events"][1]["id"]);
    CHECK(got["reset"] == false);

    auto const nothing_new = get(f.port(), "/api/sse/poll?channels=x&since=" + got["lastEventId"].get<std::string>());
    CHECK(nothing_new.body_json()["events"].empty());

    SUBCASE("an unknown id resets")
    {
        auto const reset = get(f.port(), "/api/sse/poll?since=nonsense").body_json();
        CHECK(reset["reset"] == true);
        CHECK(reset["reason"] == "unknown");
        CHECK(reset["events"].empty());
        CHECK(reset["lastEventId"] == f.server().hub().newest_id());
    }
    SUBCASE("an id from an earlier run gets this run's events")
    {
        auto const earlier = get(f.port(), "/api/sse/poll?channels=x&since=elsewhere-3").body_json();
        CHECK(earlier["reset"] == false);
        CHECK(earlier["events"] == got["events"]);
    }
    SUBCASE("an evicted id resets")
    {
        app::config c = test_config();
        c.replay_events = 1;
        fixture small(c);
        auto const old = get(small.port(), "/api/sse/poll").body_json()["lastEventId"].get<std::string>();
        for (int i = 0; i < 3; ++i)
            REQUIRE(post(small.port(), "/api/sse/publish", {{"event", "a"}, {"data", "x"}}).status == 202);
        auto const reset = get(small.port(), "/api/sse/poll?since=" + old).body_json();
        CHECK(reset["reset"] == true);
        CHECK(reset["reason"] == "too_old");
    }
}

TEST_CASE("server: a poll subscribes nobody; the poll counters count polls")
{
    fixture f;
    auto const since = get(f.port(), "/api/sse/poll").body_json()["lastEventId"].get<std::string>();
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "1"}}).status == 202);
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "b"}, {"data", "2"}}).status == 202);
    auto const before = f.server().hub().stats();

    for (int i = 0; i < 3; ++i)
        REQUIRE(get(f.port(), "/api/sse/poll?since=" + since).body_json()["events"].size() == 2);
    REQUIRE(get(f.port(), "/api/sse/poll?since=nonsense").body_json()["reset"] == true);

    // subscribes, replayed and resets count event streams: four polls leave them alone.
    auto const after = f.server().hub().stats();
    CHECK(after.subscribes == before.subscribes);
    CHECK(after.replayed == before.replayed);
    CHECK(after.resets == before.resets);
    CHECK(after.disconnected(sse::close_reason::unsubscribed) == before.disconnected(sse::close_reason::unsubscribed));

    auto const stats = get(f.port(), "/api/sse/stats").body_json();
    CHECK(stats["totalEventsReplayed"] == before.replayed);
    CHECK(stats["replayResets"] == before.resets);
    CHECK(stats["totalPolls"] == 5);   // the first poll, which only asked for the newest id, too
    CHECK(stats["totalEventsPolled"] == 6);
    CHECK(stats["pollResets"] == 1);
    auto const metrics = get(f.port(), "/metrics").body;
    CHECK(metrics.find("\nsse_polls_total 5\n") != std::string::npos);
    CHECK(metrics.find("\nsse_events_polled_total 6\n") != std::string::npos);
    CHECK(metrics.find("\nsse_poll_resets_total 1\n") != std::string::npos);
    CHECK(metrics.find("\nsse_replay_resets_total 0\n") != std::string::npos);
}

TEST_CASE("server: polling returns data as an EventSource would dispatch it")
{
    fixture f;
    auto const since = get(f.port(), "/api/sse/poll").body_json()["lastEventId"].get<std::string>();
    // WHATWG HTML 9.2.6: data lines are joined by LF, whatever line break the
    // publisher used; an event with no type is a "message".
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "one\r\ntwo\rthree"}}).status == 202);
    auto const got = get(f.port(), "/api/sse/poll?since=" + since).body_json();
    REQUIRE(got["events"].size() == 1);
    CHECK(got["events"][0]["data"] == "one\ntwo\nthree");
    CHECK(got["events"][0]["event"] == "a");
}

TEST_CASE("server: an invalid publish gets 400 naming the field")
{
    app::config c = test_config();
    c.max_event_bytes = 100;
    fixture f(c);
    std::string const epoch = f.server().hub().epoch();
    auto const note = [](json data) { return json{{"event", "notification"}, {"data", data}}; };
    json const ok = {{"notificationType", "info"}, {"title", "t"}, {"message", "m"}};
    auto with = [&](char const* key, json value) {
        json d = ok;
        d[key] = value;
        return note(d);
    };
    auto without = [&](char const* key) {
        json d = ok;
        d.erase(key);
        return note(d);
    };
    struct bad_case
    {
        std::string body;
        std::string field;
    };
    std::vector<bad_case> const cases = {
        {"{not json", "body"},
        {"[1]", "body"},
        {json{{"data", "x"}}.dump(), "event"},
        {json{{"event", 5}, {"data", "x"}}.dump(), "event"},
        {json{{"event", "a\nb"}, {"data", "x"}}.dump(), "event"},
        {json{{"event", std::string(65, 'e')}, {"data", "x"}}.dump(), "event"},
        {json{{"event", "a"}}.dump(), "data"},
        {json{{"event", "a"}, {"data", nullptr}}.dump(), "data"},
        {json{{"event", "a"}, {"data", std::string(101, 'd')}}.dump(), "data"},
        {json{{"event", "a"}, {"data", "x"}, {"id", -7}}.dump(), "id"},
        {json{{"event", "a"}, {"data", "x"}, {"id", 1.5}}.dump(), "id"},
        {json{{"event", "a"}, {"data", "x"}, {"id", "a\rb"}}.dump(), "id"},
        {json{{"event", "a"}, {"data", "x"}, {"id", epoch + "-99"}}.dump(), "id"},
        {json{{"event", "a"}, {"data", "x"}, {"channels", "news"}}.dump(), "channels"},
        {json{{"event", "a"}, {"data", "x"}, {"channels", {1}}}.dump(), "channels"},
        {json{{"event", "a"}, {"data", "x"}, {"channels", {"a,b"}}}.dump(), "channels"},
        {json{{"event", "a"}, {"data", "x"}, {"channels", {""}}}.dump(), "channels"},
        {json{{"event", "a"}, {"data", "x"}, {"userIds", "u"}}.dump(), "userIds"},
        {json{{"event", "a"}, {"data", "x"}, {"retry", -1}}.dump(), "retry"},
        {json{{"event", "a"}, {"data", "x"}, {"retry", "5"}}.dump(), "retry"},
        {json{{"event", "a"}, {"data", "x"}, {"channel", {"a"}}}.dump(), "channel"},
        {note("text").dump(), "data"},
        {with("notificationType", "fatal").dump(), "data.notificationType"},
        {without("message").dump(), "data.message"},
        {with("title", 3).dump(), "data.title"},
        {with("title", std::string(201, 't')).dump(), "data.title"},
        {with("message", std::string(2001, 'm')).dump(), "data.message"},
        {with("duration", -5).dump(), "data.duration"},
        {with("duration", 1.5).dump(), "data.duration"},
        {json{{"event", "update"}, {"data", {{"entity", "order"}, {"action", "moved"}}}}.dump(), "data.action"},
        {json{{"event", "update"}, {"data", {{"action", "created"}}}}.dump(), "data.entity"},
        {json{{"event", "progress"}, {"data", {{"operationId", "op"}, {"progress", 101}}}}.dump(), "data.progress"},
        {json{{"event", "progress"}, {"data", {{"progress", 5}}}}.dump(), "data.operationId"},
        {json{{"event", "system"}, {"data", {{"message", "m"}, {"level", "loud"}}}}.dump(), "data.level"},
    };
    for (auto const& bad : cases) {
        CAPTURE(bad.body);
        auto const answer = http(f.port(), "POST", "/api/sse/publish", {}, bad.body);
        CHECK(answer.status == 400);
        auto const body = answer.body_json();
        CHECK(body["field"] == bad.field);
        CHECK(!body["error"].get<std::string>().empty());
    }
    auto const broadcast = post(f.port(), "/broadcast", {{"event", "a"}, {"data", "x"}, {"userIds", {"u"}}});
    CHECK(broadcast.status == 400);
    CHECK(broadcast.body_json()["field"] == "userIds");

    for (auto const& good : {note(ok), with("duration", 0),
                             json{{"event", "update"}, {"data", {{"entity", "o"}, {"action", "deleted"}}}},
                             json{{"event", "progress"}, {"data", {{"operationId", "op"}, {"progress", 42.5}}}},
                             json{{"event", "system"}, {"data", {{"message", "m"}}}}}) {
        CAPTURE(good.dump());
        CHECK(post(f.port(), "/api/sse/publish", good).status == 202);
    }
}

TEST_CASE("server: an Idempotency-Key is checked, and ignored standing alone")
{
    fixture f;
    json const body = {{"event", "e"}, {"data", "x"}};
    auto const ok = post(f.port(), "/api/sse/publish", body, {{"Idempotency-Key", "order-7"}});
    CHECK(ok.status == 202);
    CHECK(ok.body_json()["recipients"] == 0);   // counted at once without Redis
    auto const again = post(f.port(), "/api/sse/publish", body, {{"Idempotency-Key", "order-7"}});
    CHECK(again.status == 202);
    for (std::string const& key : {std::string(201, 'k'), std::string("a\tb")}) {
        auto const bad = post(f.port(), "/api/sse/publish", body, {{"Idempotency-Key", key}});
        CHECK(bad.status == 400);
        CHECK(bad.body_json()["field"] == "Idempotency-Key");
    }
}

TEST_CASE("server: a notification may leave out its title")
{
    fixture f;
    reader r(f.port(), "/api/sse");
    REQUIRE(r.wait_for("connected"));
    // The notification format makes `title` optional and `message` required.
    json const body = json::parse(
        R"({"event":"notification","data":{"type":"notification","notificationType":"info","message":"x"}})");
    auto const answer = post(f.port(), "/api/sse/publish", body);
    CHECK(answer.status == 202);
    CAPTURE(answer.body);
    REQUIRE(r.wait_for("notification"));
    auto const got = r.events("notification").front().data_json();
    CHECK(got["message"] == "x");
    CHECK(!got.contains("title"));

    // The server's own notifications leave an empty title out too.
    f.server().events().publish(app::make_event(app::notification{app::notification_type::info, "", "no title", 0ms}),
                                sse::audience::all());
    REQUIRE(r.wait_for("notification", 2));
    CHECK(!r.events("notification").back().data_json().contains("title"));
}

TEST_CASE("server: tokens decide who may stream and publish")
{
    fixture f(auth_config());
    auto const port = f.port();
    auto stream_status = [&](std::string const& target, headers h = {}) {
        return http(port, "GET", target, h, std::nullopt, true).status;
    };

    SUBCASE("a stream needs a valid token")
    {
        auto const missing = get(port, "/api/sse");
        CHECK(missing.status == 401);
        CHECK(missing.header("WWW-Authenticate") == "Bearer");
        CHECK(missing.body_json()["error"].get<std::string>().find("token") != std::string::npos);

        auto const garbage = get(port, "/api/sse?token=abc");
        CHECK(garbage.status == 401);
        CHECK(garbage.header("WWW-Authenticate") == "Bearer error=\"invalid_token\"");

        auto const forged = app::sign_jwt({{"sub", "eve"}, {"exp", now_s() + 60}}, "another secret of 32 bytes or more!!");
        CHECK(stream_status("/api/sse?token=" + forged) == 401);
        CHECK(stream_status("/api/sse?token=" + token("alice", {{"exp", now_s() - 10}})) == 401);
        CHECK(stream_status("/api/sse", {{"Authorization", "Basic abc"}}) == 401);
    }
    SUBCASE("a valid token may not exceed its rights")
    {
        auto const t = token("alice", {{"channels", {"news"}}});
        auto const channel = get(port, "/api/sse?channels=secret&token=" + t);
        CHECK(channel.status == 403);
        CHECK(channel.body_json()["field"] == "channels");
        auto const user = get(port, "/api/sse?userId=bob&token=" + t);
        CHECK(user.status == 403);
        CHECK(user.body_json()["field"] == "userId");
    }
    SUBCASE("a valid token opens a stream, from the query or the header")
    {
        reader by_query(port, "/api/sse?token=" + token("alice", {{"channels", {"news", "sport"}}}));
        REQUIRE(by_query.wait_for("connected"));
        auto const hello = by_query.events().front().data_json();
        CHECK(hello["userId"] == "alice");
        CHECK(hello["channels"] == json::array({"news", "sport"}));

        sse::event_source_options o;
        o.headers.emplace_back("Authorization", "Bearer " + token("bob", {{"channels", {"*"}}}));
        reader by_header(port, "/api/sse?channels=anything&userId=bob", o);
        REQUIRE(by_header.wait_for("connected"));
        CHECK(by_header.events().front().data_json()["userId"] == "bob");
    }
    SUBCASE("publishing needs a token with publish, or the publish key")
    {
        json const body = {{"event", "a"}, {"data", "x"}};
        CHECK(post(port, "/api/sse/publish", body).status == 401);
        auto const reader_only = post(port, "/api/sse/publish", body, {{"Authorization", "Bearer " + token("alice")}});
        CHECK(reader_only.status == 403);
        CHECK(post(port, "/api/sse/publish", body,
                   {{"Authorization", "Bearer " + token("svc", {{"publish", true}})}})
                  .status == 202);
        CHECK(post(port, "/api/sse/publish", body, {{"X-API-Key", "the-publish-key"}}).status == 202);
        CHECK(post(port, "/api/sse/publish", body, {{"Authorization", "Bearer the-publish-key"}}).status == 202);
        CHECK(post(port, "/api/sse/publish", body, {{"X-API-Key", "the-publish-kez"}}).status == 401);
        CHECK(post(port, "/broadcast", body).status == 401);
    }
    SUBCASE("administration needs a publisher credential too")
    {
        for (char const* path : {"/api/sse/stats", "/clients"}) {
            CAPTURE(path);
            CHECK(get(port, path).status == 401);
            CHECK(get(port, path, {{"X-API-Key", "the-publish-key"}}).status == 200);
        }
        CHECK(http(port, "DELETE", "/clients/1").status == 401);
        CHECK(get(port, "/health").status == 200);
        CHECK(get(port, "/metrics").status == 200);
    }
    SUBCASE("polling takes the same tokens as streams")
    {
        CHECK(get(port, "/api/sse/poll").status == 401);
        CHECK(get(port, "/api/sse/poll?channels=secret&token=" + token("alice", {{"channels", {"news"}}})).status ==
              403);
        CHECK(get(port, "/api/sse/poll?token=" + token("alice")).status == 200);
    }
}

TEST_CASE("server: a stream ends when its token expires, after an event that says so")
{
    fixture f(auth_config());
    // exp has whole seconds: this token runs out one to two seconds from now.
    reader r(f.port(), "/api/sse?token=" + token("alice", {{"exp", now_s() + 2}}));
    REQUIRE(r.wait_for("connected"));
    REQUIRE(r.wait_for("system", 1, 4s));
    auto const why = r.events("system").front().data_json();
    CHECK(why["reason"] == "token_expired");
    CHECK(why["level"] == "warning");
    CHECK(r.wait_ended());
    CHECK(fixture::eventually([&] { return !f.log("stream_closed").empty(); }));
    CHECK(f.log("stream_closed").front()["reason"] == "token_expired");
}

TEST_CASE("server: CORS")
{
    app::config c = test_config();
    c.cors_origins = {"https://good.example"};
    fixture f(c);
    headers const good = {{"Origin", "https://good.example"}};
    headers const evil = {{"Origin", "https://evil.example"}};

    SUBCASE("preflight")
    {
        auto const ok = http(f.port(), "OPTIONS", "/api/sse/publish",
                             {{"Origin", "https://good.example"}, {"Access-Control-Request-Method", "POST"},
                              {"Access-Control-Request-Headers", "content-type, x-api-key"}});
        CHECK(ok.status == 204);
        CHECK(ok.header("Access-Control-Allow-Origin") == "https://good.example");
        CHECK(ok.header("Access-Control-Allow-Credentials") == "true");
        CHECK(ok.header("Access-Control-Allow-Methods") == "POST, OPTIONS");
        CHECK(ok.header("Access-Control-Allow-Headers") == "Content-Type, Authorization, X-API-Key, Last-Event-ID, Cache-Control, Idempotency-Key");
        CHECK(ok.header("Vary") == "Origin");

        auto const refused = http(f.port(), "OPTIONS", "/api/sse/publish",
                                  {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
        CHECK(refused.status == 403);
        CHECK(!refused.header("Access-Control-Allow-Origin"));
    }
    SUBCASE("answers")
    {
        auto const ok = post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "x"}}, good);
        CHECK(ok.status == 202);
        CHECK(ok.header("Access-Control-Allow-Origin") == "https://good.example");
        CHECK(ok.header("Access-Control-Allow-Credentials") == "true");
        auto const other = post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "x"}}, evil);
        CHECK(other.status == 202);   // CORS decides what a page may read, not what the server does
        CHECK(!other.header("Access-Control-Allow-Origin"));
        CHECK(other.header("Vary") == "Origin");
    }
    SUBCASE("streams")
    {
        auto const ok = http(f.port(), "GET", "/api/sse", good, std::nullopt, true);
        CHECK(ok.status == 200);
        CHECK(ok.header("Content-Type") == "text/event-stream");
        CHECK(ok.header("Access-Control-Allow-Origin") == "https://good.example");
        CHECK(ok.header("Access-Control-Allow-Credentials") == "true");
        auto const other = http(f.port(), "GET", "/api/sse", evil, std::nullopt, true);
        CHECK(other.status == 200);
        CHECK(!other.header("Access-Control-Allow-Origin"));
    }
}

namespace {

std::size_t count_fields(reply const& r, std::string_view name)
{
    std::size_t n = 0;
    for (auto const& [k, v] : r.fields)
        n += sse::http::iequals(k, name);
    return n;
}

// Each CORS field at most once, and Vary: Origin exactly once: a browser joins
// repeated fields with ", " (Fetch), and "o, o" matches no origin.
void check_cors_once(reply const& r, std::string_view origin)
{
    for (char const* name : {"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                             "Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
                             "Access-Control-Allow-Headers", "Access-Control-Max-Age"}) {
        CAPTURE(name);
        CHECK(count_fields(r, name) <= 1);
    }
    CHECK(count_fields(r, "Vary") == 1);
    CHECK(r.header("Vary") == "Origin");
    if (!origin.empty())
        CHECK(r.header("Access-Control-Allow-Origin") == std::string(origin));
}

} // namespace

TEST_CASE("server: every CORS field appears once, on preflights, answers and streams")
{
    app::config c = test_config();
    c.cors_origins = {"http://localhost:8000", "https://app.example"};
    fixture f(c);
    std::string const origin = "https://app.example";

    for (char const* path : {"/api/sse/publish", "/api/sse", "/api/sse/poll", "/broadcast"}) {
        CAPTURE(path);
        auto const pre = http(f.port(), "OPTIONS", path,
                              {{"Origin", origin}, {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "authorization,content-type"}});
        CHECK(pre.status == 204);
        check_cors_once(pre, origin);
        CHECK(count_fields(pre, "Access-Control-Allow-Credentials") == 1);
        CHECK(count_fields(pre, "Access-Control-Allow-Methods") == 1);
        CHECK(count_fields(pre, "Access-Control-Allow-Headers") == 1);
        CHECK(count_fields(pre, "Access-Control-Max-Age") == 1);

        auto const refused = http(f.port(), "OPTIONS", path,
                                  {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
        CHECK(refused.status == 403);
        check_cors_once(refused, {});
        CHECK(count_fields(refused, "Access-Control-Allow-Origin") == 0);

        // OPTIONS without Access-Control-Request-Method is no preflight: a plain answer.
        auto const plain = http(f.port(), "OPTIONS", path, {{"Origin", origin}});
        CHECK(plain.status == 204);
        check_cors_once(plain, origin);
    }

    auto const published = post(f.port(), "/api/sse/publish", {{"event", "a"}, {"data", "x"}}, {{"Origin", origin}});
    CHECK(published.status == 202);
    check_cors_once(published, origin);
    CHECK(count_fields(published, "Access-Control-Allow-Credentials") == 1);
    CHECK(published.header("Access-Control-Expose-Headers") == "Retry-After");

    auto const refused = post(f.port(), "/api/sse/publish", {{"event", ""}}, {{"Origin", origin}});
    CHECK(refused.status == 400);
    check_cors_once(refused, origin);

    auto const without = get(f.port(), "/api/sse/stats");   // no Origin: the answer still depends on it
    check_cors_once(without, {});
    CHECK(count_fields(without, "Access-Control-Allow-Origin") == 0);

    auto const stream = http(f.port(), "GET", "/api/sse", {{"Origin", origin}}, std::nullopt, true);
    CHECK(stream.status == 200);
    check_cors_once(stream, origin);
    CHECK(count_fields(stream, "Access-Control-Allow-Credentials") == 1);
}

TEST_CASE("server: connection limits answer 429 or 503 with Retry-After")
{
    app::config c = test_config();
    c.retry_after = 7s;
    SUBCASE("per address")
    {
        c.max_connections_per_ip = 2;
        fixture f(c);
        support::sse_client one, two;
        REQUIRE(open_raw(one, f.port(), "/api/sse"));
        REQUIRE(open_raw(two, f.port(), "/api/sse"));
        auto const third = get(f.port(), "/api/sse");
        CHECK(third.status == 429);
        CHECK(third.header("Retry-After") == "7");
        CHECK(third.body_json()["error"] == "too many streams from this address");
        one.close();
        REQUIRE(fixture::eventually([&] { return f.server().clients().size() == 1; }));
        support::sse_client again;
        CHECK(open_raw(again, f.port(), "/api/sse"));
    }
    SUBCASE("per user")
    {
        c.max_connections_per_user = 1;
        fixture f(c);
        support::sse_client one;
        REQUIRE(open_raw(one, f.port(), "/api/sse?userId=u"));
        auto const second = get(f.port(), "/api/sse?userId=u");
        CHECK(second.status == 429);
        CHECK(second.header("Retry-After") == "7");
        support::sse_client other_user;
        CHECK(open_raw(other_user, f.port(), "/api/sse?userId=v"));
    }
    SUBCASE("in total")
    {
        c.max_connections = 2;
        fixture f(c);
        support::sse_client one, two;
        REQUIRE(open_raw(one, f.port(), "/api/sse?userId=a"));
        REQUIRE(open_raw(two, f.port(), "/api/sse?userId=b"));
        auto const third = get(f.port(), "/api/sse?userId=c");
        CHECK(third.status == 503);
        CHECK(third.header("Retry-After") == "7");
        auto const metrics = get(f.port(), "/metrics").body;
        CHECK(metrics.find("sse_requests_refused_total{reason=\"too_many_connections\"} 1\n") != std::string::npos);
    }
}

TEST_CASE("server: a body over the limit gets 413")
{
    app::config c = test_config();
    c.max_body = 1024;
    fixture f(c);
    std::string const big(2000, 'x');
    auto const declared = http(f.port(), "POST", "/api/sse/publish", {}, big);
    CHECK(declared.status == 413);
    CHECK(declared.body_json()["field"] == "body");

    std::ostringstream chunked;
    chunked << std::hex << big.size() << "\r\n" << big << "\r\n0\r\n\r\n";
    auto const streamed = http(f.port(), "POST", "/api/sse/publish", {{"Transfer-Encoding", "chunked"}}, chunked.str());
    CHECK(streamed.status == 413);

    auto const small = json{{"event", "a"}, {"data", "x"}}.dump();
    std::ostringstream fine;
    fine << std::hex << small.size() << "\r\n" << small << "\r\n0\r\n\r\n";
    CHECK(http(f.port(), "POST", "/api/sse/publish", {{"Transfer-Encoding", "chunked"}}, fine.str()).status == 202);
    // A client that waits for 100 Continue before it sends its body, as curl does.
    auto const expecting = exchange(f.port(),
                                    "POST /api/sse/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                                    "Content-Length: " + std::to_string(small.size()) + "\r\n\r\n",
                                    false, small);
    CHECK(expecting.interim == 100);
    CHECK(expecting.status == 202);
    // Refused at once by its declared length: no 100, straight to 413.
    auto const refused = http(f.port(), "POST", "/api/sse/publish", {{"Expect", "100-continue"}}, big, true);
    CHECK(refused.interim == 0);
    CHECK(refused.status == 413);
}

TEST_CASE("server: https with --tls-cert and --tls-key")
{
    support::certificate files;
    std::string const& cert = files.cert;
    std::string const& key = files.key;
    app::config c = test_config();
    c.tls_cert = cert;
    c.tls_key = key;
    {
        fixture f(c);
        std::string const base = "https://127.0.0.1:" + std::to_string(f.port());
        CHECK(f.server().url() == base + "/");

        sse::event_source_options options;
        options.ca_file = cert;   // verified: chain and IP address
        reader r(base + "/api/sse?userId=alice", options, false);
        REQUIRE(r.wait_for("connected"));

        // Publish over https with curl, which checks the certificate and waits for 100 Continue.
        std::string const body = json{{"event", "notification"}, {"userIds", {"alice"}},
                                      {"data", {{"notificationType", "info"}, {"title", "over TLS"},
                                                {"message", "hello"}}}}.dump();
        std::string const command = "curl -s --noproxy '*' --max-time 10 --expect100-timeout 30 --cacert " + cert +
                                    " -H 'Expect: 100-continue' -H 'Content-Type: application/json' -d '" + body +
                                    "' -o /dev/null -w '%{http_code}' " + base + "/api/sse/publish";
        std::string status;
        if (FILE* p = popen(command.c_str(), "r")) {
            char buf[64];
            status.assign(buf, std::fread(buf, 1, sizeof buf, p));
            pclose(p);
        }
        CHECK(status == "202");
        REQUIRE(r.wait_for("notification"));
        CHECK(r.events("notification").front().data_json()["title"] == "over TLS");

        // A TLS client that drops TCP without close_notify (a closed tab) is a closed
        // peer, not an error.
        {
            asio::io_context io;
            asio::ssl::context tls(asio::ssl::context::tls_client);
            tls.load_verify_file(cert);
            sse::tls_socket vanishing(io, tls);
            vanishing.lowest_layer().connect(
                asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port()));
            vanishing.handshake(asio::ssl::stream_base::client);
            asio::write(vanishing, asio::buffer(std::string("GET /api/sse HTTP/1.1\r\nHost: x\r\n\r\n")));
            asio::streambuf received;
            asio::read_until(vanishing, received, "event: connected");
            vanishing.lowest_layer().close();
        }
        std::map<std::string, std::uint64_t> disconnects;
        CHECK(fixture::eventually([&] {
            disconnects = f.server().snapshot().disconnects;
            return !disconnects.empty();
        }));
        CHECK(json(disconnects) == json{{"peer_closed", 1}});   // not "error"

        // Plain http to the https port gets no answer.
        CHECK(get(f.port(), "/health").status == 0);
    }
    app::config half = test_config();
    half.tls_cert = cert;
    CHECK(half.problem().has_value());
}

TEST_CASE("server: an event source falls back to /api/sse/poll while its stream is refused, and streams again")
{
    app::config c = test_config();
    c.max_connections_per_user = 1;
    // The client retries a 429 after its Retry-After (retry_429 is on by default), and each
    // such refusal counts towards the fallback: 1 s keeps the two refusals short.
    c.retry_after = 1s;
    fixture f(c);
    auto const notify = [&](std::string const& title) {
        app::notify_user(f.server().events(), "alice", {app::notification_type::info, title, "m", 0ms});
    };

    // Alice's one allowed stream is taken: her second client gets 429.
    auto first = std::make_unique<reader>(f.port(), "/api/sse?userId=alice");
    REQUIRE(first->wait_for("connected"));

    sse::event_source_options options;
    options.backoff.initial_retry = 20ms;
    options.backoff.min_retry = 1ms;
    options.fallback.url = "/api/sse/poll?userId=alice";
    options.fallback.decode = sse::json_poll_decoder();
    options.fallback.after_failures = 2;
    options.fallback.interval = 50ms;
    options.fallback.stream_retry = 300ms;
    reader second(f.port(), "/api/sse?userId=alice", options, true);
    // Polling, and placed: a first poll without an id learns where "now" is, as a
    // first stream does from its connected event. Events before that are not its to get.
    REQUIRE(fixture::eventually([&] {
        auto const st = second.stats();
        return st.state == sse::source_state::polling && !st.last_event_id.empty();
    }));
    CHECK(second.stats().last_status == 429);

    notify("by poll 1");
    notify("by poll 2");
    REQUIRE(second.wait_for("notification", 2));

    // The stream is free again: a trial takes over, resuming after what was polled.
    first->close();
    first.reset();
    REQUIRE(fixture::eventually([&] { return second.stats().state == sse::source_state::open; }, 5s));
    notify("by stream");
    REQUIRE(second.wait_for("notification", 3));

    std::vector<std::string> titles, ids;
    for (auto const& e : second.events("notification")) {
        titles.push_back(e.data_json()["title"]);
        ids.push_back(e.id);
    }
    CHECK(titles == std::vector<std::string>{"by poll 1", "by poll 2", "by stream"});
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 3);
    auto const st = second.stats();
    CHECK(st.fallbacks == 1);
    CHECK(st.events_polled >= 2);
    second.close();
}

TEST_CASE("server: slow and oversized requests get 408 and 431")
{
    app::config c = test_config();
    c.head_timeout = 200ms;
    c.body_timeout = 200ms;
    fixture f(c);
    auto const slow_head = exchange(f.port(), "GET /health HTTP/1.1\r\nHost: x\r\n");
    CHECK(slow_head.status == 408);
    auto const slow_body = exchange(f.port(), "POST /api/sse/publish HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{");
    CHECK(slow_body.status == 408);
    CHECK(slow_body.body_json()["field"] == "body");
    auto const huge = get(f.port(), "/health", {{"X-Padding", std::string(20000, 'p')}});
    CHECK(huge.status == 431);
}

TEST_CASE("server: the publish rate is limited per credential")
{
    app::config c = auth_config();
    c.publish_rate = 0.5;
    c.publish_burst = 2;
    fixture f(c);
    json const body = {{"event", "a"}, {"data", "x"}};
    headers const alice = {{"Authorization", "Bearer " + token("alice", {{"publish", true}})}};
    headers const bob = {{"Authorization", "Bearer " + token("bob", {{"publish", true}})}};
    CHECK(post(f.port(), "/api/sse/publish", body, alice).status == 202);
    CHECK(post(f.port(), "/api/sse/publish", body, alice).status == 202);
    auto const third = post(f.port(), "/api/sse/publish", body, alice);
    CHECK(third.status == 429);
    auto const wait = std::stoi(third.header("Retry-After").value_or("0"));
    CHECK(wait >= 1);
    CHECK(wait <= 2);
    CHECK(post(f.port(), "/api/sse/publish", body, bob).status == 202);
}

TEST_CASE("server: stats, clients, kicking and health")
{
    fixture f;
    reader a(f.port(), "/api/sse?userId=alice&channels=news");
    reader b(f.port(), "/api/sse?userId=bob&channels=news,sport");
    REQUIRE(a.wait_for("connected"));
    REQUIRE(b.wait_for("connected"));
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "t"}, {"data", "x"}, {"channels", {"news"}}}).status == 202);
    REQUIRE(a.wait_for("t"));
    REQUIRE(b.wait_for("t"));

    auto const stats = get(f.port(), "/api/sse/stats").body_json();
    CHECK(stats["totalClients"] == 2);
    CHECK(stats["clientsByUser"] == json{{"alice", 1}, {"bob", 1}});
    CHECK(stats["clientsByChannel"] == json{{"news", 2}, {"sport", 1}});
    CHECK(stats["totalEventsPublished"] == 1);
    CHECK(stats["totalEventsSent"] == 2);
    CHECK(std::llabs(stats["lastEventTime"].get<long long>() - now_ms()) < 5000);
    CHECK(stats["eventsPerSecond"].get<double>() == doctest::Approx(0.1));
    CHECK(stats["averageConnectionDuration"].get<long long>() >= 0);
    CHECK(stats["drops"] == json{{"coalesced", 0}, {"queue_age", 0}, {"queue_bytes", 0}});
    CHECK(stats["disconnects"].empty());

    auto const clients = get(f.port(), "/clients").body_json()["clients"];
    REQUIRE(clients.size() == 2);
    std::string alice_id;
    for (auto const& c : clients) {
        CHECK(c["remoteAddress"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
        CHECK(c["queueDepth"] == 0);
        CHECK(std::llabs(c["connectedSince"].get<long long>() - now_ms()) < 5000);
        if (c["userId"] == "alice") {
            alice_id = c["id"];
            CHECK(c["channels"] == json::array({"news"}));
        }
    }
    REQUIRE(!alice_id.empty());

    auto const kicked = http(f.port(), "DELETE", "/clients/" + alice_id);
    CHECK(kicked.status == 204);
    REQUIRE(a.wait_for("system"));
    CHECK(a.events("system").front().data_json()["reason"] == "kicked");
    CHECK(a.wait_ended());
    REQUIRE(fixture::eventually([&] { return f.server().clients().size() == 1; }));
    CHECK(get(f.port(), "/api/sse/stats").body_json()["disconnects"] == json{{"kicked", 1}});

    auto const again = http(f.port(), "DELETE", "/clients/" + alice_id);
    CHECK(again.status == 404);
    CHECK(again.body_json()["error"].is_string());
    CHECK(http(f.port(), "DELETE", "/clients/nonsense").status == 404);

    auto const health = get(f.port(), "/health").body_json();
    CHECK(health["status"] == "ok");
    CHECK(health["clients"] == 1);
    CHECK(health["uptime"].get<long long>() >= 0);
    CHECK(!health.contains("backplane"));   // standing alone: no Redis to report
}

TEST_CASE("server: metrics in the Prometheus text format")
{
    fixture f;
    reader r(f.port(), "/api/sse");
    REQUIRE(r.wait_for("connected"));
    REQUIRE(post(f.port(), "/broadcast", {{"event", "t"}, {"data", "x"}}).status == 202);
    REQUIRE(r.wait_for("t"));
    auto const answer = get(f.port(), "/metrics");
    CHECK(answer.status == 200);
    CHECK(answer.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    std::string const& text = answer.body;
    for (char const* line : {
             "# HELP sse_clients Open event streams.\n# TYPE sse_clients gauge\nsse_clients 1\n",
             "# TYPE sse_connections_total counter\nsse_connections_total 1\n",
             "# TYPE sse_events_published_total counter\nsse_events_published_total 1\n",
             "sse_events_delivered_total 1\n",
             // One event, the first: nothing measured yet, so its stream is written at once.
             "# TYPE sse_events_written_inline_total counter\nsse_events_written_inline_total 1\n",
             "sse_events_dropped_total{reason=\"queue_bytes\"} 0\n",
             "sse_events_dropped_total{reason=\"coalesced\"} 0\n",
             "# TYPE sse_uptime_seconds gauge\nsse_uptime_seconds ",
         }) {
        CAPTURE(line);
        CHECK(text.find(line) != std::string::npos);
    }
    // Every family: HELP, then TYPE, then its samples; counters end in _total.
    std::regex const sample(R"(^([a-z_]+)(\{reason="[a-z_]+"\})? -?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$)");
    std::istringstream lines(text);
    std::string line;
    std::string family;
    std::string type;
    std::set<std::string> seen;
    while (std::getline(lines, line)) {
        CAPTURE(line);
        if (line.rfind("# HELP ", 0) == 0) {
            family = line.substr(7, line.find(' ', 7) - 7);
            CHECK(seen.insert(family).second);
            type.clear();
        } else if (line.rfind("# TYPE ", 0) == 0) {
            CHECK(line.substr(7, family.size() + 1) == family + " ");
            type = line.substr(8 + family.size());
            CHECK((type == "counter" || type == "gauge"));
            if (type == "counter")
                CHECK(family.substr(family.size() - 6) == "_total");
        } else {
            std::smatch m;
            REQUIRE(std::regex_match(line, m, sample));
            CHECK(m[1] == family);
            CHECK(!type.empty());
        }
    }
}

TEST_CASE("server: the demo page is served from the binary")
{
    fixture f;
    auto read = [](char const* name) {
        std::ifstream in(std::string(SSE_SERVER_STATIC_DIR) + "/" + name, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    struct file
    {
        char const* path;
        char const* name;
        char const* type;
    };
    for (auto const& f2 : {file{"/", "index.html", "text/html; charset=utf-8"},
                           file{"/index.html", "index.html", "text/html; charset=utf-8"},
                           file{"/app.js", "app.js", "text/javascript; charset=utf-8"},
                           file{"/style.css", "style.css", "text/css; charset=utf-8"}}) {
        CAPTURE(f2.path);
        auto const answer = get(f.port(), f2.path);
        CHECK(answer.status == 200);
        CHECK(answer.header("Content-Type") == f2.type);
        CHECK(answer.header("Cache-Control") == "no-cache");
        CHECK(answer.body == read(f2.name));
    }
    auto const missing = get(f.port(), "/nothing-here");
    CHECK(missing.status == 404);
    CHECK(missing.body_json()["error"].is_string());
    auto const wrong = http(f.port(), "POST", "/health", {}, std::string("{}"));
    CHECK(wrong.status == 405);
    CHECK(wrong.header("Allow") == "GET, OPTIONS");
}

TEST_CASE("server: typed event helpers")
{
    fixture f;
    reader alice(f.port(), "/api/sse?userId=alice&channels=orders");
    reader bob(f.port(), "/api/sse?userId=bob");
    REQUIRE(alice.wait_for("connected"));
    REQUIRE(bob.wait_for("connected"));
    auto& events = f.server().events();

    app::notification n;
    n.type = app::notification_type::warning;
    n.title = "Disk";
    n.message = "almost full";
    n.duration = 8s;
    CHECK(app::notify_user(events, "alice", n).deliveries == 1);
    app::report_progress(events, sse::audience::user("alice"), "import", 140);
    CHECK(app::job_completed(events, "alice", "import", "all rows in").deliveries == 1);
    CHECK(app::data_changed(events, "orders", "order", app::update_action::created, {{"id", 7}}).deliveries == 1);
    CHECK(app::system_notice(events, "maintenance at noon", app::system_level::info).deliveries == 2);

    REQUIRE(alice.wait_for("system"));
    REQUIRE(bob.wait_for("system"));
    std::vector<std::string> types;
    for (auto const& e : alice.events())
        types.push_back(e.type);
    CHECK(types == std::vector<std::string>{"connected", "notification", "progress", "progress", "notification",
                                            "update", "system"});
    CHECK(alice.events("notification")[0].data_json() ==
          json{{"notificationType", "warning"}, {"title", "Disk"}, {"message", "almost full"}, {"duration", 8000}});
    CHECK(alice.events("progress")[0].data_json()["progress"] == 100.0);   // clamped
    CHECK(alice.events("progress")[1].data_json() ==
          json{{"operationId", "import"}, {"progress", 100.0}, {"message", "all rows in"}});
    CHECK(alice.events("notification")[1].data_json()["notificationType"] == "success");
    CHECK(alice.events("update")[0].data_json() ==
          json{{"entity", "order"}, {"action", "created"}, {"payload", {{"id", 7}}}});
    CHECK(bob.events("system")[0].data_json() == json{{"message", "maintenance at noon"}, {"level", "info"}});
    // What the helpers send passes the checks of the publish API.
    for (auto const& e : alice.events())
        if (e.type != "connected")
            CHECK(!app::validate_payload(e.type, e.data_json()));
}

TEST_CASE("server: the examples of docs/server.md")
{
    fixture f;
    app::server& server = f.server();
    reader alice(f.port(), "/api/sse?userId=alice&channels=orders");
    REQUIRE(alice.wait_for("connected"));

    // "Typed events"
    app::notify_user(server.events(), "alice", {app::notification_type::success, "Saved", "Your profile was saved", 5s});
    app::report_progress(server.events(), sse::audience::user("alice"), "import-7", 42.5, "row 425 of 1000");
    app::job_completed(server.events(), "alice", "import-7", "1000 rows imported");   // progress 100, then a notification
    app::data_changed(server.events(), "orders", "order", app::update_action::created, {{"id", 1042}});
    app::system_notice(server.events(), "Maintenance at 18:00", app::system_level::warning);

    REQUIRE(alice.wait_for("system"));
    CHECK(alice.events().size() == 7);
    CHECK(alice.events("notification")[0].data_json()["duration"] == 5000);

    // "Authentication": the shell recipe makes a token the server accepts.
    if (std::system("command -v openssl >/dev/null") != 0) {
        MESSAGE("openssl is not installed: the token recipe is not checked");
        return;
    }
    std::string const recipe =
        "export SSE_SERVER_JWT_SECRET='" + secret + "'\n"
        "b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }\n"
        "header=$(printf '{\"alg\":\"HS256\",\"typ\":\"JWT\"}' | b64)\n"
        "payload=$(printf '{\"sub\":\"alice\",\"channels\":[\"orders\"],\"exp\":%d}' $(( $(date +%s) + 3600 )) | b64)\n"
        "signature=$(printf '%s.%s' \"$header\" \"$payload\" | openssl dgst -sha256 -hmac \"$SSE_SERVER_JWT_SECRET\" -binary | b64)\n"
        "printf '%s' \"$header.$payload.$signature\"\n";
    FILE* shell = ::popen(("bash <<'EOF'\n" + recipe + "EOF\n").c_str(), "r");
    REQUIRE(shell != nullptr);
    std::string made;
    char buffer[512];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, shell))
        made.append(buffer, n);
    CHECK(::pclose(shell) == 0);
    std::error_code ec;
    auto const claims = app::verify_jwt(made, secret, std::chrono::system_clock::now(), ec);
    REQUIRE(claims);
    CHECK(claims->subject == "alice");
    CHECK(claims->channels == std::vector<std::string>{"orders"});
}

TEST_CASE("server: a graceful shutdown ends every stream with a retry, within the deadline")
{
    fixture f;
    support::sse_client one, two;
    REQUIRE(open_raw(one, f.port(), "/api/sse?userId=a"));
    REQUIRE(open_raw(two, f.port(), "/api/sse?userId=b"));
    auto const start = std::chrono::steady_clock::now();
    f.server().shutdown();
    CHECK(support::read_all({&one, &two}, [&] { return one.eof() && two.eof(); }));
    CHECK(f.server().wait());
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    for (auto* c : {&one, &two}) {
        bool said_why = false;
        std::optional<std::chrono::milliseconds> last_retry;
        for (auto const& item : c->items()) {
            said_why = said_why || (item.kind == support::sse_item::comment && item.data == "server shutting down");
            if (item.kind == support::sse_item::retry)
                last_retry = item.retry_ms;
        }
        CHECK(said_why);
        REQUIRE(last_retry);
        CHECK(*last_retry >= 1s);
        CHECK(*last_retry <= 10s);
    }
    auto const closed = f.log("stream_closed");
    REQUIRE(closed.size() == 2);
    CHECK(closed[0]["reason"] == "shutdown");
    CHECK(get(f.port(), "/health").status == 0);   // nobody listens any more
}

TEST_CASE("server: a client that stops reading is dropped as a slow consumer after the grace, and counted")
{
    app::config c = test_config();
    c.write_timeout = 1h;   // only the grace can close it within the test
    c.slow_consumer_grace = 100ms;
    c.publish_rate = c.publish_burst = 1e6;
    fixture f(c);

    // A client that sends its request and then reads nothing; a small receive
    // window lets the server's writes stall early.
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    int const small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(f.port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) == 0);
    std::string const request = "GET /api/sse HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
    REQUIRE(fixture::eventually([&] { return f.server().snapshot().clients == 1; }));

    // Publish until the hub drops it: its queue passed its budget (2 MiB).
    std::string const payload(60 * 1024, 'x');
    int recipients = 1;
    for (int i = 0; i < 2000 && recipients != 0; ++i) {
        auto const answer = post(f.port(), "/broadcast", {{"event", "bulk"}, {"data", payload}});
        REQUIRE(answer.status == 202);
        recipients = answer.body_json()["recipients"].get<int>();
    }
    REQUIRE(recipients == 0);

    // Its connection is closed and counted within the grace, not the write timeout.
    CHECK(fixture::eventually([&] { return f.server().snapshot().disconnects.count("slow_consumer") == 1; }));
    CHECK(f.server().snapshot().clients == 0);
    CHECK(get(f.port(), "/api/sse/stats").body_json()["disconnects"] == json{{"slow_consumer", 1}});
    CHECK(get(f.port(), "/metrics").body.find("sse_disconnects_total{reason=\"slow_consumer\"} 1\n") !=
          std::string::npos);
    ::close(fd);
}

TEST_CASE("server: one log line per stream opened and closed")
{
    fixture f;
    {
        reader r(f.port(), "/api/sse?userId=carol&channels=news");
        REQUIRE(r.wait_for("connected"));
    }
    REQUIRE(fixture::eventually([&] { return f.log("stream_closed").size() == 1; }));
    auto const opened = f.log("stream_opened");
    REQUIRE(opened.size() == 1);
    CHECK(opened[0]["user"] == "carol");
    CHECK(opened[0]["ip"] == "127.0.0.1");
    CHECK(opened[0]["channels"] == json::array({"news"}));
    CHECK(opened[0]["level"] == "info");
    auto const closed = f.log("stream_closed").front();
    CHECK(closed["client"] == opened[0]["client"]);
    CHECK(closed["user"] == "carol");
    CHECK(closed["reason"] == "peer_closed");
    CHECK(closed["duration_ms"].get<long long>() >= 0);
}

TEST_CASE("config: flags, environment variables and a JSON file")
{
    auto parse = [](std::vector<char const*> args, app::config& out) {
        args.insert(args.begin(), "sse-server");
        std::ostringstream help, err;
        auto status = app::parse_command_line(static_cast<int>(args.size()), args.data(), out, help, err);
        return std::make_pair(status, err.str() + help.str());
    };
    auto const file = std::filesystem::temp_directory_path() / ("sse-server-test-" + std::to_string(::getpid()) + ".json");
    auto write = [&](std::string const& text) { std::ofstream(file) << text; };

    SUBCASE("defaults: the local demo")
    {
        app::config c;
        CHECK(!parse({}, c).first);
        CHECK(c.host == "127.0.0.1");
        CHECK(c.port == 8080);
        CHECK(c.effective_anonymous());
        CHECK(c.heartbeat == 15s);
        CHECK(c.slow_consumer_grace == 1s);
        app::config quick;
        CHECK(!parse({"--slow-consumer-grace-ms", "250"}, quick).first);
        CHECK(quick.slow_consumer_grace == 250ms);
    }
    SUBCASE("a flag beats the environment, which beats the file")
    {
        write(R"({"port": 9001, "heartbeat-ms": 500, "cors-origins": ["https://a.example", "https://b.example"],
                  "retry-ms": 700, "anonymous": false, "jwt-secret": "0123456789abcdef0123456789abcdef"})");
        ::setenv("SSE_SERVER_HEARTBEAT_MS", "600", 1);
        ::setenv("SSE_SERVER_RETRY_MS", "800", 1);
        app::config c;
        auto const [status, text] = parse({"--config", file.c_str(), "--retry-ms", "900"}, c);
        ::unsetenv("SSE_SERVER_HEARTBEAT_MS");
        ::unsetenv("SSE_SERVER_RETRY_MS");
        CAPTURE(text);
        CHECK(!status);
        CHECK(c.port == 9001);
        CHECK(c.heartbeat == 600ms);
        CHECK(c.retry == 900ms);
        CHECK(c.cors_origins == std::vector<std::string>{"https://a.example", "https://b.example"});
        CHECK(!c.effective_anonymous());
    }
    SUBCASE("SSE_SERVER_CONFIG names the file")
    {
        write(R"({"port": 9002, "log-level": "warn"})");
        ::setenv("SSE_SERVER_CONFIG", file.c_str(), 1);
        app::config c;
        auto const [status, text] = parse({}, c);
        CAPTURE(text);
        CHECK(!status);
        CHECK(c.port == 9002);
        CHECK(c.log == app::log_level::warn);
        std::filesystem::remove(file);
        app::config missing;
        CHECK(parse({}, missing).first == 2);
        ::unsetenv("SSE_SERVER_CONFIG");
    }
    SUBCASE("mistakes stop the program with status 2")
    {
        app::config c;
        write(R"({"prot": 9000})");
        CHECK(parse({"--config", file.c_str()}, c).first == 2);
        write("{port: 9000");
        CHECK(parse({"--config", file.c_str()}, c).first == 2);
        CHECK(parse({"--log-level", "loud"}, c).first == 2);
        CHECK(parse({"--host", "0.0.0.0"}, c).first == 2);   // no secret and not loopback
        CHECK(parse({"--jwt-secret", "short"}, c).first == 2);
        CHECK(parse({"--slow-consumer-grace-ms", "-1"}, c).first == 2);
        app::config open;
        CHECK(!parse({"--host", "0.0.0.0", "--anonymous"}, open).first);
        CHECK(open.effective_anonymous());
    }
    SUBCASE("the --redis flags: from flags, the environment and the file; checked before listening")
    {
        app::config none;
        CHECK(!parse({}, none).first);
        CHECK(none.redis.empty());   // standing alone, as before
        CHECK(!none.redis_max_len);
        CHECK(none.redis_unhealthy_after == 10s);

        app::config c;
        CHECK(parse({"--redis-durable"}, c).first == 2);                       // needs --redis
        CHECK(parse({"--redis-sentinel", "127.0.0.1:26379"}, c).first == 2);
        CHECK(parse({"--redis-max-len", "0"}, c).first == 2);
        CHECK(parse({"--redis-unhealthy-after-ms", "-1"}, c).first == 2);
        if (!app::backplane_supported()) {
            auto const [status, text] = parse({"--redis", "redis://127.0.0.1:6379/ns"}, c);
            CHECK(status == 2);
            CHECK(text.find("without the Redis backplane") != std::string::npos);
            return;
        }
        write(R"({"redis": "redis://127.0.0.1:6380/from-file", "redis-max-len": 500, "redis-durable": true})");
        ::setenv("SSE_SERVER_REDIS_UNHEALTHY_AFTER_MS", "2500", 1);
        ::setenv("SSE_REDIS_PASSWORD", "from-env", 1);
        app::config r;
        auto const [status, text] = parse({"--config", file.c_str(), "--redis-sentinel", "10.0.0.5:26379,10.0.0.6",
                                           "--redis-master", "mymaster"}, r);
        ::unsetenv("SSE_SERVER_REDIS_UNHEALTHY_AFTER_MS");
        ::unsetenv("SSE_REDIS_PASSWORD");
        CAPTURE(text);
        CHECK(!status);
        CHECK(r.redis == "redis://127.0.0.1:6380/from-file");
        CHECK(r.redis_max_len == std::size_t(500));
        CHECK(r.redis_durable);
        CHECK(r.redis_unhealthy_after == 2500ms);
        CHECK(r.redis_password == "from-env");
        CHECK(r.redis_sentinel == std::vector<std::string>{"10.0.0.5:26379", "10.0.0.6"});
        CHECK(r.redis_master == "mymaster");

        app::config bad;
        auto const [bad_status, bad_text] = parse({"--redis", "redis://:secret@127.0.0.1:6379/a b"}, bad);
        CHECK(bad_status == 2);
        CHECK(bad_text.find("--redis") != std::string::npos);
        CHECK(bad_text.find("namespace") != std::string::npos);
        CHECK(bad_text.find("secret") == std::string::npos);
    }
    SUBCASE("--help lists every option with its variable")
    {
        app::config c;
        auto const [status, text] = parse({"--help"}, c);
        CHECK(status == 0);
        CHECK(text.find("SSE_SERVER_MAX_CONNECTIONS_PER_IP") != std::string::npos);
        CHECK(text.find("--publish-key") != std::string::npos);
        CHECK(text.find("SSE_SERVER_REDIS_SENTINEL") != std::string::npos);
    }
    std::filesystem::remove(file);
}
