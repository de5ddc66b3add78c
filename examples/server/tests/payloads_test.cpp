// Unit tests of publish bodies: the seeds' payload shapes, normalised; the audience fields;
// POST /api/sse/demo and /api/sse/actions bodies. Expectations come from the seeds (issue 13).
#include "demo_request.hpp"

#include "events.hpp"
#include "publish_request.hpp"

#include <sse/hub.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using json = nlohmann::json;

app::publish_rules rules()
{
    app::publish_rules r;
    r.reserved_id_prefix = "epoch-";
    return r;
}

/// Parses `body` as POST /api/sse/publish; fails the test with the server's message if refused.
app::publish_request accepted(json const& body, app::publish_rules const& r = rules())
{
    app::field_error error;
    auto parsed = app::parse_publish(body.dump(), r, error);
    INFO("refused: " << error.field << ": " << error.message);
    REQUIRE(parsed);
    return std::move(*parsed);
}

/// The field a refused body is blamed on ("" if it was accepted).
std::string refused_field(json const& body, app::publish_rules const& r = rules())
{
    app::field_error error;
    if (app::parse_publish(body.dump(), r, error))
        return "";
    CHECK(!error.message.empty());
    return error.field;
}

json publish(char const* event, json data) { return {{"event", event}, {"data", std::move(data)}}; }

/// The data the stream would carry for a publish of `data` as `event`.
json delivered(char const* event, json data)
{
    auto const r = accepted(publish(event, std::move(data)));
    REQUIRE(r.event.data);
    return json::parse(*r.event.data);
}

/// A subscriber of a real hub, to ask a predicate audience about.
std::shared_ptr<sse::subscriber> subscriber(sse::hub& h, std::vector<std::string> topics, std::string user = {})
{
    sse::subscriber_options o;
    o.topics = std::move(topics);
    o.user = std::move(user);
    return h.subscribe(std::move(o));
}

} // namespace

TEST_CASE("payloads: each seed's notification is accepted and normalised, other fields kept")
{
    SUBCASE("001: notifyUser without notificationType gets info")
    {
        CHECK(delivered("notification", {{"title", "Welcome!"}, {"message", "Thanks for joining!"}}) ==
              json{{"notificationType", "info"}, {"title", "Welcome!"}, {"message", "Thanks for joining!"}});
    }
    SUBCASE("004: body is the message, an unknown type is info, id and timestamp stay")
    {
        json const sent = {{"id", "notification-123"},
                           {"type", "REPORT_APPROVED"},
                           {"title", "Report Approved"},
                           {"body", "Your report has been approved"},
                           {"timestamp", 1716200000000LL}};
        json expected = sent;
        expected["notificationType"] = "info";
        expected["message"] = "Your report has been approved";
        CHECK(delivered("notification", sent) == expected);
    }
    SUBCASE("000: type names the kind; autoDismiss and actions pass")
    {
        json const sent = {{"type", "warning"},
                           {"title", "Disk"},
                           {"message", "almost full"},
                           {"autoDismiss", false},
                           {"actions",
                            {{{"label", "Open"}, {"url", "/disk"}},
                             {{"label", "Docs"}, {"url", "https://example.org/disk"}},
                             {{"label", "Snooze"}, {"event", "snooze"}, {"data", {{"minutes", 5}}}}}}};
        json expected = sent;
        expected["notificationType"] = "warning";
        CHECK(delivered("notification", sent) == expected);
    }
    SUBCASE("003: the full shape is delivered as sent")
    {
        json const sent = {{"type", "notification"},
                           {"notificationType", "success"},
                           {"title", "Order Completed"},
                           {"message", "Your order #12345 has been shipped"},
                           {"duration", 5000}};
        CHECK(delivered("notification", sent) == sent);
    }
    SUBCASE("an empty title is allowed; message wins over body")
    {
        json const sent = {{"notificationType", "error"}, {"title", ""}, {"message", "m"}, {"body", "b"}};
        CHECK(delivered("notification", sent) == sent);
    }
}

TEST_CASE("payloads: system, update and progress in the seeds' shapes")
{
    SUBCASE("001: systemNotification(message, level)")
    {
        for (char const* level : {"info", "warning", "error", "critical"}) {
            CAPTURE(level);
            json const sent = {{"message", "Maintenance scheduled for 2 AM"}, {"level", level}};
            CHECK(delivered("system", sent) == sent);
        }
    }
    SUBCASE("001: announceSystemUpdate's severity becomes the level")
    {
        json const sent = {{"title", "Update"}, {"message", "v2 is out"}, {"severity", "critical"}};
        json expected = sent;
        expected["level"] = "critical";
        CHECK(delivered("system", sent) == expected);
    }
    SUBCASE("a system message without level is info")
    {
        CHECK(delivered("system", {{"message", "m"}}) == json{{"message", "m"}, {"level", "info"}});
    }
    SUBCASE("003: entity, action and payload")
    {
        json const sent = {{"type", "update"},
                           {"entity", "order"},
                           {"action", "created"},
                           {"payload", {{"orderId", 12345}, {"status", "shipped"}}}};
        CHECK(delivered("update", sent) == sent);
    }
    SUBCASE("001: realtimeUpdate(type, data)")
    {
        json const sent = {{"type", "content"}, {"data", {{"id", 7}, {"title", "New post"}}}};
        CHECK(delivered("update", sent) == sent);
    }
    SUBCASE("an entity without action")
    {
        json const sent = {{"entity", "order"}, {"payload", {{"id", 1}}}};
        CHECK(delivered("update", sent) == sent);
    }
    SUBCASE("001: progressUpdate(operationId, progress, message)")
    {
        json const sent = {{"operationId", "upload_789"}, {"progress", 75}, {"message", "Processing..."}};
        CHECK(delivered("progress", sent) == sent);
    }
    SUBCASE("other event names carry any data, as sent")
    {
        auto const r = accepted(publish("announcement", {{"message", "New feature released!"}}));
        CHECK(*r.event.data == R"({"message":"New feature released!"})");
        CHECK(*accepted(publish("custom", "plain text")).event.data == "plain text");
    }
}

TEST_CASE("payloads: an id is a string or a non-negative integer (003 sends 1642678901234)")
{
    auto body = publish("notification", {{"notificationType", "info"}, {"message", "m"}});
    body["id"] = 1642678901234LL;
    CHECK(accepted(body).event.id == "1642678901234");
    body["id"] = 0;
    CHECK(accepted(body).event.id == "0");
    body["id"] = "order-7";
    CHECK(accepted(body).event.id == "order-7");
    for (json bad : {json(-1), json(1.5), json("a\nb"), json(""), json("epoch-3"), json(true)}) {
        CAPTURE(bad.dump());
        body["id"] = bad;
        CHECK(refused_field(body) == "id");
    }
}

TEST_CASE("payloads: bad payloads are refused naming the field")
{
    json const note = {{"notificationType", "info"}, {"message", "m"}};
    auto with = [&](char const* key, json value) {
        json d = note;
        d[key] = std::move(value);
        return publish("notification", d);
    };
    auto action = [&](json a) { return with("actions", json::array({std::move(a)})); };
    struct bad_case
    {
        json body;
        std::string field;
    };
    std::vector<bad_case> const cases = {
        {publish("notification", "text"), "data"},
        {with("notificationType", "fatal"), "data.notificationType"},
        {publish("notification", {{"title", "no text"}}), "data.message"},
        {publish("notification", {{"body", 5}}), "data.body"},
        {publish("notification", {{"body", std::string(2001, 'b')}}), "data.body"},
        {with("message", 5), "data.message"},
        {with("title", 3), "data.title"},
        {with("title", std::string(201, 't')), "data.title"},
        {with("duration", -1), "data.duration"},
        {with("autoDismiss", "yes"), "data.autoDismiss"},
        {with("actions", "open"), "data.actions"},
        {with("actions", json::array({{{"label", "a"}, {"url", "/"}},
                                      {{"label", "a"}, {"url", "/"}},
                                      {{"label", "a"}, {"url", "/"}},
                                      {{"label", "a"}, {"url", "/"}},
                                      {{"label", "a"}, {"url", "/"}},
                                      {{"label", "a"}, {"url", "/"}}})),
         "data.actions"},
        {action("open"), "data.actions[0]"},
        {action({{"url", "/x"}}), "data.actions[0].label"},
        {action({{"label", ""}, {"url", "/x"}}), "data.actions[0].label"},
        {action({{"label", std::string(101, 'l')}, {"url", "/x"}}), "data.actions[0].label"},
        {action({{"label", "Open"}}), "data.actions[0].url"},
        {action({{"label", "Open"}, {"url", "/x"}, {"event", "e"}}), "data.actions[0].event"},
        {action({{"label", "Open"}, {"url", "javascript:alert(1)"}}), "data.actions[0].url"},
        {action({{"label", "Open"}, {"url", "//elsewhere.example/x"}}), "data.actions[0].url"},
        {action({{"label", "Open"}, {"url", "orders/7"}}), "data.actions[0].url"},
        {action({{"label", "Open"}, {"url", 7}}), "data.actions[0].url"},
        {action({{"label", "Open"}, {"event", "a\nb"}}), "data.actions[0].event"},
        {action({{"label", "Open"}, {"event", std::string(65, 'e')}}), "data.actions[0].event"},
        {publish("system", {{"message", "m"}, {"level", "loud"}}), "data.level"},
        {publish("system", {{"message", "m"}, {"severity", "loud"}}), "data.severity"},
        {publish("system", {{"level", "info"}}), "data.message"},
        {publish("update", json::object()), "data.entity"},
        {publish("update", {{"action", "created"}}), "data.entity"},
        {publish("update", {{"entity", "order"}, {"action", "moved"}}), "data.action"},
        {publish("update", {{"entity", ""}}), "data.entity"},
        {publish("update", {{"type", 5}}), "data.type"},
        {publish("update", {{"type", ""}}), "data.type"},
        {publish("progress", {{"operationId", "op"}, {"progress", 101}}), "data.progress"},
    };
    for (auto const& bad : cases) {
        CAPTURE(bad.body.dump());
        CHECK(refused_field(bad.body) == bad.field);
    }
    // A check alone leaves the payload as it was.
    json const untouched = {{"message", "m"}};
    CHECK(!app::validate_payload("system", untouched));
    CHECK(untouched == json{{"message", "m"}});
}

TEST_CASE("payloads: clientIds and metadata choose the audience")
{
    auto body = publish("e", "x");
    sse::hub h;

    SUBCASE("one metadata pair is a topics audience of its hidden topic")
    {
        body["metadata"] = {{"page", "dashboard"}};
        auto const to = accepted(body).to;
        CHECK(to.kind() == sse::audience_kind::topics);
        CHECK(to.topic_names() == std::vector<std::string>{app::meta_topic("page", "dashboard")});
        CHECK(app::is_hidden_topic(app::meta_topic("page", "dashboard")));
        CHECK(!app::is_hidden_topic("dashboard"));
    }
    SUBCASE("several pairs: only the streams that hold them all")
    {
        body["metadata"] = {{"page", "dashboard"}, {"sessionId", "s1"}};
        auto const to = accepted(body).to;
        REQUIRE(to.kind() == sse::audience_kind::matching);
        auto const both = subscriber(h, {app::meta_topic("page", "dashboard"), app::meta_topic("sessionId", "s1")});
        auto const one = subscriber(h, {app::meta_topic("page", "dashboard"), app::meta_topic("sessionId", "s2")});
        auto const none = subscriber(h, {"dashboard"});
        CHECK(to.matcher()(*both));
        CHECK(!to.matcher()(*one));
        CHECK(!to.matcher()(*none));
    }
    SUBCASE("client ids, as strings or numbers, in a union with channels and users")
    {
        auto const a = subscriber(h, {});
        auto const b = subscriber(h, {});
        auto const c = subscriber(h, {"news"});
        auto const d = subscriber(h, {}, "alice");
        auto const e = subscriber(h, {});
        body["clientIds"] = {std::to_string(a->id()), b->id()};
        body["channels"] = {"news"};
        body["userIds"] = {"alice"};
        auto const to = accepted(body).to;
        REQUIRE(to.kind() == sse::audience_kind::matching);
        CHECK(to.matcher()(*a));
        CHECK(to.matcher()(*b));
        CHECK(to.matcher()(*c));
        CHECK(to.matcher()(*d));
        CHECK(!to.matcher()(*e));
    }
    SUBCASE("bad clientIds and metadata are refused naming the field")
    {
        struct bad_case
        {
            char const* field;
            json value;
            std::string blamed;
        };
        json nine = json::object();
        for (int i = 0; i < 9; ++i)
            nine["k" + std::to_string(i)] = "v";
        std::vector<bad_case> const cases = {
            {"clientIds", "3", "clientIds"},
            {"clientIds", json::array(), "clientIds"},
            {"clientIds", {"x"}, "clientIds"},
            {"clientIds", {"3x"}, "clientIds"},
            {"clientIds", {-1}, "clientIds"},
            {"clientIds", {1.5}, "clientIds"},
            {"metadata", json::array({"page"}), "metadata"},
            {"metadata", json::object(), "metadata"},
            {"metadata", nine, "metadata"},
            {"metadata", {{"bad key", "v"}}, "metadata"},
            {"metadata", {{"page", 3}}, "metadata.page"},
            {"metadata", {{"page", "a\nb"}}, "metadata.page"},
            {"metadata", {{"page", std::string(257, 'v')}}, "metadata.page"},
        };
        for (auto const& bad : cases) {
            CAPTURE(bad.value.dump());
            json b = body;
            b[bad.field] = bad.value;
            CHECK(refused_field(b) == bad.blamed);
        }
        auto broadcast = rules();
        broadcast.broadcast = true;
        body["clientIds"] = {"1"};
        CHECK(refused_field(body, broadcast) == "clientIds");
    }
}

TEST_CASE("payloads: with --redis, clientIds and several metadata pairs are refused, one pair is not")
{
    auto redis = rules();
    redis.shareable = true;
    auto body = publish("e", "x");

    body["clientIds"] = {"1"};
    app::field_error error;
    CHECK(!app::parse_publish(body.dump(), redis, error));
    CHECK(error.field == "clientIds");
    CHECK(error.message.find("userIds, channels or a single metadata pair") != std::string::npos);

    body.erase("clientIds");
    body["metadata"] = {{"page", "a"}, {"tab", "b"}};
    CHECK(refused_field(body, redis) == "metadata");

    // One pair with users and channels: one topics audience, which Redis can carry.
    body["metadata"] = {{"page", "a"}};
    body["userIds"] = {"alice", "bob"};
    body["channels"] = {"news"};
    auto const to = accepted(body, redis).to;
    CHECK(to.kind() == sse::audience_kind::topics);
    CHECK(to.topic_names() == std::vector<std::string>{"news", app::meta_topic("page", "a"), app::user_topic("alice"),
                                                       app::user_topic("bob")});
}

TEST_CASE("payloads: POST /api/sse/demo maps each type as 001's utilities do")
{
    struct mapping
    {
        json body;
        std::string event;
        json data;
        sse::audience_kind to;
    };
    std::vector<mapping> const cases = {
        {{{"type", "broadcast"}, {"message", "hi"}},
         "notification",
         {{"notificationType", "info"}, {"title", "Broadcast"}, {"message", "hi"}},
         sse::audience_kind::all},
        {{{"type", "broadcast"}, {"userId", "u1"}, {"data", {{"k", 1}}}},
         "notification",
         {{"notificationType", "info"}, {"title", "Broadcast"}, {"message", "Test message"}, {"data", {{"k", 1}}}},
         sse::audience_kind::all},
        {{{"type", "user"}, {"userId", "u1"}},
         "notification",
         {{"notificationType", "info"}, {"title", "Personal"}, {"message", "Test message"}},
         sse::audience_kind::user},
        {{{"type", "system"}, {"message", "down at 2"}, {"data", {{"level", "critical"}}}},
         "system",
         {{"message", "down at 2"}, {"level", "critical"}},
         sse::audience_kind::all},
        {{{"type", "system"}}, "system", {{"message", "Test message"}, {"level", "info"}}, sse::audience_kind::all},
        {{{"type", "update"}, {"data", {{"type", "post"}, {"id", 3}}}},
         "update",
         {{"type", "post"}, {"data", {{"type", "post"}, {"id", 3}}}},
         sse::audience_kind::all},
        {{{"type", "update"}, {"userId", "u1"}}, "update", {{"type", "demo"}}, sse::audience_kind::user},
        {{{"type", "progress"}, {"message", "half"}},
         "progress",
         {{"operationId", "demo"}, {"progress", 50}, {"message", "half"}},
         sse::audience_kind::all},
        {{{"type", "progress"}, {"userId", "u1"}, {"data", {{"operationId", "up-1"}, {"progress", 75}}}},
         "progress",
         {{"operationId", "up-1"}, {"progress", 75}, {"message", "Test message"}},
         sse::audience_kind::user},
        {{{"type", "success"}, {"data", {{"file", "a.jpg"}}}},
         "success",
         {{"message", "Test message"}, {"data", {{"file", "a.jpg"}}}},
         sse::audience_kind::all},
        {{{"type", "error"}, {"userId", "u1"}, {"message", "failed"}},
         "error",
         {{"message", "failed"}},
         sse::audience_kind::user},
    };
    for (auto const& c : cases) {
        CAPTURE(c.body.dump());
        app::field_error error;
        auto const r = app::parse_demo(c.body.dump(), rules(), error);
        INFO(error.field << ": " << error.message);
        REQUIRE(r);
        CHECK(r->event.type == c.event);
        CHECK(json::parse(*r->event.data) == c.data);
        CHECK(r->to.kind() == c.to);
        if (c.to == sse::audience_kind::user)
            CHECK(r->to.user_id() == "u1");
    }
    app::field_error error;
    auto const progress = app::parse_demo(R"({"type":"progress","data":{"operationId":"up-1"}})", rules(), error);
    REQUIRE(progress);
    CHECK(progress->key == "progress:up-1");

    struct bad_case
    {
        json body;
        std::string field;
    };
    std::vector<bad_case> const bad = {
        {"[]", "body"},
        {json::object(), "type"},
        {{{"type", "shout"}}, "type"},
        {{{"type", 3}}, "type"},
        {{{"type", "user"}}, "userId"},
        {{{"type", "user"}, {"userId", ""}}, "userId"},
        {{{"type", "broadcast"}, {"message", 5}}, "message"},
        {{{"type", "broadcast"}, {"channels", {"a"}}}, "channels"},
        {{{"type", "system"}, {"data", {{"level", "loud"}}}}, "data.level"},
        {{{"type", "progress"}, {"data", {{"progress", 150}}}}, "data.progress"},
        {{{"type", "update"}, {"data", {{"type", 5}}}}, "data.type"},
    };
    for (auto const& b : bad) {
        CAPTURE(b.body.dump());
        app::field_error e;
        CHECK(!app::parse_demo(b.body.dump(), rules(), e));
        CHECK(e.field == b.field);
    }
    app::field_error not_json;
    CHECK(!app::parse_demo("{", rules(), not_json));
    CHECK(not_json.field == "body");
}

TEST_CASE("payloads: POST /api/sse/actions sends the choice back to its user")
{
    app::field_error error;
    auto const r = app::parse_action(
        R"({"event":"order.open","notificationId":"n-7","label":"Open","data":{"order":7}})", "alice", rules(), error);
    REQUIRE(r);
    CHECK(r->event.type == "order.open");
    CHECK(json::parse(*r->event.data) ==
          json{{"notificationId", "n-7"}, {"label", "Open"}, {"userId", "alice"}, {"data", {{"order", 7}}}});
    CHECK(r->to.kind() == sse::audience_kind::user);
    CHECK(r->to.user_id() == "alice");

    auto const bare = app::parse_action(R"({"event":"snooze"})", "bob", rules(), error);
    REQUIRE(bare);
    CHECK(json::parse(*bare->event.data) ==
          json{{"notificationId", nullptr}, {"label", nullptr}, {"userId", "bob"}, {"data", nullptr}});

    struct bad_case
    {
        std::string body;
        std::string user;
        std::string field;
    };
    std::vector<bad_case> const bad = {
        {R"({"event":"snooze"})", "", "userId"},
        {R"({})", "bob", "event"},
        {R"({"event":""})", "bob", "event"},
        {R"({"event":"a\nb"})", "bob", "event"},
        {R"({"event":"notification"})", "bob", "event"},
        {R"({"event":"snooze","label":5})", "bob", "label"},
        {R"({"event":"snooze","notificationId":{}})", "bob", "notificationId"},
        {R"({"event":"snooze","userId":"eve"})", "bob", "userId"},
        {R"(["snooze"])", "bob", "body"},
    };
    for (auto const& b : bad) {
        CAPTURE(b.body);
        app::field_error e;
        CHECK(!app::parse_action(b.body, b.user, rules(), e));
        CHECK(e.field == b.field);
    }
    // Without a user, the message says how to name one.
    app::field_error e;
    app::parse_action(R"({"event":"snooze"})", "", rules(), e);
    CHECK(e.message.find("?userId=") != std::string::npos);
}
