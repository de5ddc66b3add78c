// The server over loopback: connections' metadata, publishing to client ids and metadata,
// /stats, POST /api/sse/demo and POST /api/sse/actions (issue 13, seeds 001, 002, 003, 004).
#include "server.hpp"

#include "jwt.hpp"
#include "loopback.hpp"

#include <doctest/doctest.h>

#include <set>

namespace {

using namespace loopback;
using namespace std::chrono_literals;

/// The server with JWTs required and a publish key.
app::config auth_config()
{
    app::config c = test_config();
    c.jwt_secret = secret;
    c.publish_key = "the-publish-key";
    return c;
}

std::string token(std::string const& sub)
{
    return app::sign_jwt({{"sub", sub}, {"exp", now_s() + 3600}}, secret);
}

/// The client id the stream's connected event announced.
std::string client_id(reader& r)
{
    REQUIRE(r.wait_for("connected"));
    return r.events("connected").front().data_json()["clientId"];
}

/** Publishes a marker to everyone and waits until each reader has it: whatever a
    reader got before it was published before it, so what it lacks never comes.
*/
void settle(unsigned short port, std::vector<reader*> const& readers)
{
    static int round = 0;
    std::string const name = "marker" + std::to_string(++round);
    REQUIRE(post(port, "/api/sse/publish", {{"event", name}, {"data", "x"}}).status == 202);
    for (auto* r : readers)
        REQUIRE_MESSAGE(r->wait_for(name), "a stream did not get the marker event " << name);
}

/// The data of each event of `type` a reader got, in order.
std::vector<json> got(reader const& r, std::string const& type)
{
    std::vector<json> out;
    for (auto const& e : r.events(type))
        out.push_back(e.data_json());
    return out;
}

json client_entry(unsigned short port, std::string const& id)
{
    json const body = get(port, "/clients").body_json();   // named: a loop over a temporary's member dangles
    for (auto const& c : body["clients"])
        if (c["id"] == id)
            return c;
    return nullptr;
}

} // namespace

TEST_CASE("targeting: the query parameters the server does not use are the connection's metadata")
{
    fixture f;
    reader with(f.port(), "/api/sse?userId=alice&sessionId=s-1&page=dashboard&channels=news&tab=a%20b");
    reader without(f.port(), "/api/sse?userId=bob");
    auto const with_id = client_id(with);
    auto const without_id = client_id(without);

    CHECK(with.events("connected").front().data_json()["sessionId"] == "s-1");
    CHECK(without.events("connected").front().data_json()["sessionId"] == nullptr);

    auto const a = client_entry(f.port(), with_id);
    CHECK(a["sessionId"] == "s-1");
    CHECK(a["metadata"] == json{{"sessionId", "s-1"}, {"page", "dashboard"}, {"tab", "a b"}});
    CHECK(a["channels"] == json::array({"news"}));   // the hidden topics of metadata are not channels
    auto const b = client_entry(f.port(), without_id);
    CHECK(b["sessionId"] == nullptr);
    CHECK(b["metadata"] == json::object());

    // Nor do they show in the statistics.
    CHECK(get(f.port(), "/api/sse/stats").body_json()["clientsByChannel"] == json{{"news", 1}});

    SUBCASE("bad metadata is refused with 400 naming the parameter")
    {
        std::string many = "/api/sse?userId=c";
        for (int i = 0; i < 17; ++i)
            many += "&k" + std::to_string(i) + "=v";
        struct bad_case
        {
            std::string target;
            std::string field;
        };
        std::vector<bad_case> const cases = {
            {"/api/sse?bad%20key=1", "bad key"},
            {"/api/sse?" + std::string(65, 'k') + "=1", std::string(64, 'k')},
            {"/api/sse?page=" + std::string(257, 'v'), "page"},
            {"/api/sse?page=a%0Ab", "page"},
            {"/api/sse?page=a&page=b", "page"},
            {many, "k16"},
        };
        for (auto const& c : cases) {
            CAPTURE(c.target);
            auto const answer = get(f.port(), c.target);
            CHECK(answer.status == 400);
            CHECK(answer.body_json()["field"] == c.field);
        }
    }
}

TEST_CASE("targeting: clientIds and metadata reach exactly the streams they name")
{
    fixture f;
    reader a(f.port(), "/api/sse?page=dashboard&sessionId=s1");
    reader b(f.port(), "/api/sse?page=dashboard&sessionId=s2");
    reader c(f.port(), "/api/sse?page=settings&sessionId=s1");
    reader d(f.port(), "/api/sse?userId=dora");
    auto const a_id = client_id(a);
    client_id(b);
    auto const c_id = client_id(c);
    client_id(d);
    std::vector<reader*> const all = {&a, &b, &c, &d};

    auto const send = [&](char const* name, json target) {
        json body = {{"event", name}, {"data", name}};
        body.update(target);
        auto const answer = post(f.port(), "/api/sse/publish", body);
        CAPTURE(answer.body);
        REQUIRE(answer.status == 202);
        return answer.body_json()["recipients"];
    };
    CHECK(send("one_pair", {{"metadata", {{"page", "dashboard"}}}}) == 2);
    CHECK(send("two_pairs", {{"metadata", {{"page", "dashboard"}, {"sessionId", "s2"}}}}) == 1);
    CHECK(send("session", {{"metadata", {{"sessionId", "s1"}}}}) == 2);
    CHECK(send("by_id", {{"clientIds", {a_id, std::stoull(c_id)}}}) == 2);
    CHECK(send("union", {{"clientIds", {c_id}}, {"userIds", {"dora"}}, {"metadata", {{"sessionId", "s2"}}}}) == 3);
    CHECK(send("unknown_id", {{"clientIds", {"999999"}}}) == 0);
    settle(f.port(), all);

    auto const names = [](reader const& r) {
        std::set<std::string> out;
        for (auto const& e : r.events())
            if (e.type.rfind("marker", 0) != 0 && e.type != "connected")
                out.insert(e.type);
        return out;
    };
    CHECK(names(a) == std::set<std::string>{"one_pair", "session", "by_id"});
    CHECK(names(b) == std::set<std::string>{"one_pair", "two_pairs", "union"});
    CHECK(names(c) == std::set<std::string>{"session", "by_id", "union"});
    CHECK(names(d) == std::set<std::string>{"union"});
}

TEST_CASE("targeting: /stats is /api/sse/stats; totalConnections counts open streams, uniqueUsers users")
{
    fixture f;
    reader a1(f.port(), "/api/sse?userId=alice");
    reader a2(f.port(), "/api/sse?userId=alice");
    auto b = std::make_unique<reader>(f.port(), "/api/sse?userId=bob");
    reader anonymous(f.port(), "/api/sse");
    for (auto* r : {&a1, &a2, b.get(), &anonymous})
        REQUIRE(r->wait_for("connected"));

    for (char const* path : {"/api/sse/stats", "/stats"}) {
        CAPTURE(path);
        auto const answer = get(f.port(), path);
        REQUIRE(answer.status == 200);
        auto const stats = answer.body_json();
        CHECK(stats["totalConnections"] == 4);
        CHECK(stats["totalClients"] == 4);
        CHECK(stats["connectionsSinceStart"] == 4);
        CHECK(stats["uniqueUsers"] == 2);
        CHECK(stats["clientsByUser"] == json{{"alice", 2}, {"bob", 1}});
    }

    b.reset();
    REQUIRE(fixture::eventually([&] { return f.server().clients().size() == 3; }));
    auto const stats = get(f.port(), "/stats").body_json();
    CHECK(stats["totalConnections"] == 3);
    CHECK(stats["connectionsSinceStart"] == 4);
    CHECK(stats["uniqueUsers"] == 1);

    SUBCASE("it needs the publisher's credential, as /api/sse/stats does")
    {
        fixture secured(auth_config());
        CHECK(get(secured.port(), "/stats").status == 401);
        CHECK(get(secured.port(), "/stats", {{"X-API-Key", "the-publish-key"}}).status == 200);
    }
}

TEST_CASE("targeting: the seeds' payloads arrive normalised, with a numeric id as digits")
{
    fixture f;
    reader r(f.port(), "/api/sse?userId=u1");
    REQUIRE(r.wait_for("connected"));
    // 004's shape, with 003's numeric id.
    json const sent = {{"id", "notification-123"},
                       {"type", "REPORT_APPROVED"},
                       {"title", "Report Approved"},
                       {"body", "Your report has been approved"},
                       {"timestamp", 1716200000000LL}};
    auto const answer = post(f.port(), "/api/sse/publish",
                             {{"event", "notification"}, {"data", sent}, {"userIds", {"u1"}}, {"id", 1642678901234LL}});
    REQUIRE(answer.status == 202);
    CHECK(answer.body_json()["id"] == "1642678901234");
    REQUIRE(r.wait_for("notification"));
    auto const e = r.events("notification").front();
    CHECK(e.id == "1642678901234");
    json expected = sent;
    expected["notificationType"] = "info";
    expected["message"] = "Your report has been approved";
    CHECK(e.data_json() == expected);
}

TEST_CASE("targeting: POST /api/sse/demo publishes what each of 001's types stands for")
{
    fixture f;
    reader u1(f.port(), "/api/sse?userId=u1");
    reader u2(f.port(), "/api/sse?userId=u2");
    REQUIRE(u1.wait_for("connected"));
    REQUIRE(u2.wait_for("connected"));

    auto const demo = [&](json body) {
        auto const answer = post(f.port(), "/api/sse/demo", body);
        CAPTURE(answer.body);
        CHECK(answer.status == 202);
        CHECK(answer.body_json()["id"].is_string());
        return answer.body_json()["recipients"];
    };
    CHECK(demo({{"type", "broadcast"}, {"message", "to all"}}) == 2);
    CHECK(demo({{"type", "user"}, {"userId", "u1"}, {"message", "to u1"}, {"data", {{"k", 1}}}}) == 1);
    CHECK(demo({{"type", "system"}, {"data", {{"level", "critical"}}}}) == 2);
    CHECK(demo({{"type", "update"}, {"userId", "u2"}, {"data", {{"type", "post"}}}}) == 1);
    CHECK(demo({{"type", "progress"}, {"data", {{"operationId", "up"}, {"progress", 75}}}}) == 2);
    CHECK(demo({{"type", "success"}, {"userId", "u1"}}) == 1);
    CHECK(demo({{"type", "error"}, {"message", "failed"}}) == 2);
    settle(f.port(), {&u1, &u2});

    CHECK(got(u1, "notification") ==
          std::vector<json>{{{"notificationType", "info"}, {"title", "Broadcast"}, {"message", "to all"}},
                            {{"notificationType", "info"}, {"title", "Personal"}, {"message", "to u1"}, {"data", {{"k", 1}}}}});
    CHECK(got(u2, "notification") ==
          std::vector<json>{{{"notificationType", "info"}, {"title", "Broadcast"}, {"message", "to all"}}});
    for (auto* r : {&u1, &u2}) {
        CHECK(got(*r, "system") == std::vector<json>{{{"message", "Test message"}, {"level", "critical"}}});
        CHECK(got(*r, "progress") ==
              std::vector<json>{{{"operationId", "up"}, {"progress", 75}, {"message", "Test message"}}});
        CHECK(got(*r, "error") == std::vector<json>{{{"message", "failed"}}});
    }
    CHECK(got(u1, "update").empty());
    CHECK(got(u2, "update") == std::vector<json>{{{"type", "post"}, {"data", {{"type", "post"}}}}});
    CHECK(got(u1, "success") == std::vector<json>{{{"message", "Test message"}}});
    CHECK(got(u2, "success").empty());

    auto const unknown = post(f.port(), "/api/sse/demo", {{"type", "broadcast"}, {"channel", "x"}});
    CHECK(unknown.status == 400);
    CHECK(unknown.body_json()["field"] == "channel");
    auto const no_user = post(f.port(), "/api/sse/demo", {{"type", "user"}});
    CHECK(no_user.status == 400);
    CHECK(no_user.body_json()["field"] == "userId");
    CHECK(http(f.port(), "GET", "/api/sse/demo").status == 405);

    SUBCASE("it needs the publisher's credential")
    {
        fixture secured(auth_config());
        json const body = {{"type", "broadcast"}};
        CHECK(post(secured.port(), "/api/sse/demo", body).status == 401);
        CHECK(post(secured.port(), "/api/sse/demo", body, {{"Authorization", "Bearer " + token("alice")}}).status ==
              403);
        CHECK(post(secured.port(), "/api/sse/demo", body, {{"X-API-Key", "the-publish-key"}}).status == 202);
    }
}

TEST_CASE("targeting: POST /api/sse/actions sends a picked action back to the user's own streams")
{
    json const picked = {{"event", "order.open"}, {"notificationId", "n-7"}, {"label", "Open"}, {"data", {{"order", 7}}}};
    json const expected = {{"notificationId", "n-7"}, {"label", "Open"}, {"userId", "alice"}, {"data", {{"order", 7}}}};

    SUBCASE("anonymous: the user is ?userId=")
    {
        fixture f;
        reader alice(f.port(), "/api/sse?userId=alice");
        reader bob(f.port(), "/api/sse?userId=bob");
        REQUIRE(alice.wait_for("connected"));
        REQUIRE(bob.wait_for("connected"));
        auto const answer = post(f.port(), "/api/sse/actions?userId=alice", picked);
        REQUIRE(answer.status == 202);
        auto const id = answer.body_json()["id"];
        settle(f.port(), {&alice, &bob});
        REQUIRE(alice.events("order.open").size() == 1);
        CHECK(alice.events("order.open").front().data_json() == expected);
        CHECK(alice.events("order.open").front().id == id);
        CHECK(bob.events("order.open").empty());

        auto const nobody = post(f.port(), "/api/sse/actions", picked);
        CHECK(nobody.status == 400);
        CHECK(nobody.body_json()["error"].get<std::string>().find("?userId=") != std::string::npos);
        auto const typed = post(f.port(), "/api/sse/actions?userId=alice", {{"event", "notification"}});
        CHECK(typed.status == 400);
        CHECK(typed.body_json()["field"] == "event");
    }
    SUBCASE("with tokens: the token's subject, never another user")
    {
        fixture f(auth_config());
        sse::event_source_options o;
        o.headers.emplace_back("Authorization", "Bearer " + token("alice"));
        reader alice(f.port(), "/api/sse", o);
        REQUIRE(alice.wait_for("connected"));
        auto const bearer = headers{{"Authorization", "Bearer " + token("alice")}};
        REQUIRE(post(f.port(), "/api/sse/actions", picked, bearer).status == 202);
        REQUIRE(alice.wait_for("order.open"));
        CHECK(alice.events("order.open").front().data_json() == expected);

        CHECK(post(f.port(), "/api/sse/actions", picked).status == 401);
        auto const other = post(f.port(), "/api/sse/actions?userId=bob", picked, bearer);
        CHECK(other.status == 403);
        CHECK(other.body_json()["field"] == "userId");
    }
}
