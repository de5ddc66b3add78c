// The stream's bytes as the flags choose them (seed 003's heartbeat, greeting and error
// event verbatim), persistent API connections, preflight fields and the dashboard stream.
#include "server.hpp"

#include "config.hpp"
#include "jwt.hpp"
#include "loopback.hpp"
#include "support/certificate.hpp"
#include "support/http_connection.hpp"
#include "support/sse_client.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

using namespace loopback;
using namespace std::chrono_literals;

/// Opens a raw stream and reads until `pattern` matches its body (the bytes after the head).
bool stream_until(support::sse_client& c, unsigned short port, std::string const& target, std::regex const& pattern)
{
    support::sse_client::options o;
    o.target = target;
    return c.connect(port, o) && c.read_until([&] { return std::regex_search(c.body(), pattern); });
}

// One connection for several requests, its answers parsed as loopback's replies.
class connection : public support::http_connection
{
public:
    using http_connection::http_connection;

    /// The next answer; status 0 if none came within 3 s.
    reply next()
    {
        auto raw = response();
        return raw ? parse_reply(std::move(*raw)) : reply{};
    }

    /// True if the server closes the connection within 3 s without sending more.
    bool closed() { return closed_silently(); }
};

std::string request(std::string const& method, std::string const& target, std::string const& fields = "",
                    std::string const& body = "")
{
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + fields;
    if (!body.empty())
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

app::config auth_config()
{
    app::config c = test_config();
    c.jwt_secret = secret;
    c.publish_key = "the-publish-key";
    return c;
}

} // namespace

TEST_CASE("stream format: by default a heartbeat is event heartbeat with the server time in ms, and no id")
{
    app::config c = test_config();
    c.heartbeat = 100ms;
    fixture f(c);
    support::sse_client s;
    std::regex const heartbeat("\n\nevent: heartbeat\ndata: ([0-9]+)\n\n");
    REQUIRE(stream_until(s, f.port(), "/api/sse", heartbeat));
    std::smatch m;
    std::regex_search(s.body(), m, heartbeat);
    CHECK(std::llabs(std::stoll(m[1].str()) - now_ms()) < 5000);
}

TEST_CASE("stream format: --heartbeat-event ping --heartbeat-data json (seeds 001 and 004, with the time kept)")
{
    app::config c = test_config();
    c.heartbeat = 100ms;
    c.heartbeat_event = "ping";
    c.heartbeat_data = app::heartbeat_data::json;
    fixture f(c);
    support::sse_client s;
    std::regex const ping("\n\nevent: ping\ndata: \\{\"serverTime\":([0-9]+)\\}\n\n");
    REQUIRE(stream_until(s, f.port(), "/api/sse", ping));
    std::smatch m;
    std::regex_search(s.body(), m, ping);
    CHECK(std::llabs(std::stoll(m[1].str()) - now_ms()) < 5000);
    CHECK(s.body().find("event: heartbeat") == std::string::npos);
}

TEST_CASE("stream format: seed 003's heartbeat, data {} and no id, and its greeting right after connected")
{
    app::config c = test_config();
    c.heartbeat = 100ms;
    c.heartbeat_data = app::heartbeat_data::empty_object;
    c.greeting = "Connected to notification stream";
    fixture f(c);
    support::sse_client s;
    REQUIRE(stream_until(s, f.port(), "/api/notifications/stream", std::regex("\n\nevent: heartbeat\ndata: \\{\\}\n\n")));
    auto const events = s.events();
    REQUIRE(events.size() >= 3);
    CHECK(events[0].type == "connected");
    CHECK(events[1].type == "notification");
    CHECK(events[1].data ==
          R"({"type":"notification","notificationType":"info","message":"Connected to notification stream"})");
    // No id: line of its own, so the client's last event id stays the connected event's.
    CHECK(s.body().find("\n\nevent: notification\ndata: {\"type\":\"notification\",\"notificationType\":\"info\","
                        "\"message\":\"Connected to notification stream\"}\n\n") != std::string::npos);
    CHECK(events[1].id == events[0].id);
}

TEST_CASE("stream format: without --greeting the stream starts with connected only")
{
    fixture f;
    support::sse_client s;
    support::sse_client::options o;
    o.target = "/api/sse";
    REQUIRE(s.connect(f.port(), o));
    REQUIRE(s.read_until([&] { return s.event_count() >= 1; }));
    REQUIRE(post(f.port(), "/api/sse/publish", {{"event", "custom"}, {"data", "x"}}).status == 202);
    REQUIRE(s.read_until([&] { return s.event_count() >= 2; }));
    auto const events = s.events();
    CHECK(events[0].type == "connected");
    CHECK(events[1].type == "custom");
}

TEST_CASE("stream format: --stream-auth-errors event answers a refused stream with seed 003's error event, then closes")
{
    app::config c = auth_config();
    c.stream_auth_errors = app::stream_auth_errors::event;
    fixture f(c);
    SUBCASE("no token: Unauthorized, 401")
    {
        auto const r = get(f.port(), "/api/notifications/stream");
        CHECK(r.status == 200);
        CHECK(r.header("Content-Type") == "text/event-stream");
        CHECK(r.header("Connection") == "close");
        CHECK(r.body == "event: error\ndata: {\"error\":\"Unauthorized\",\"code\":401}\n\n");
    }
    SUBCASE("a channel the token does not allow: Forbidden, 403")
    {
        auto const t = app::sign_jwt({{"sub", "alice"}, {"exp", now_ms() / 1000 + 60}, {"channels", {"news"}}}, secret);
        auto const r = get(f.port(), "/api/sse?channels=secret&token=" + t);
        CHECK(r.status == 200);
        CHECK(r.body == "event: error\ndata: {\"error\":\"Forbidden\",\"code\":403}\n\n");
    }
    SUBCASE("the connection closes after the event")
    {
        connection k(f.port());
        k.send(request("GET", "/api/sse"));
        CHECK(k.next().status == 200);
        CHECK(k.closed());
    }
    SUBCASE("polls and the API keep their JSON statuses")
    {
        CHECK(get(f.port(), "/api/sse/poll").status == 401);
        CHECK(get(f.port(), "/api/sse/stats").status == 401);
        auto const t = app::sign_jwt({{"sub", "alice"}, {"exp", now_ms() / 1000 + 60}}, secret);
        auto const bad = get(f.port(), "/api/sse?channels=b%0A&token=" + t);
        CHECK(bad.status == 400);
        CHECK(bad.header("Content-Type") == "application/json");
    }
}

TEST_CASE("stream format: by default a refused stream gets the JSON 401")
{
    fixture f(auth_config());
    auto const r = get(f.port(), "/api/sse");
    CHECK(r.status == 401);
    CHECK(r.header("Content-Type") == "application/json");
}

TEST_CASE("stream format: streams carry Connection: keep-alive")
{
    fixture f;
    auto const r = http(f.port(), "GET", "/api/sse", {}, std::nullopt, true);
    CHECK(r.status == 200);
    CHECK(r.header("Connection") == "keep-alive");
}

TEST_CASE("keep-alive: API requests share one connection")
{
    app::config c = test_config();
    fixture f(c);
    SUBCASE("two requests, one after the other")
    {
        connection k(f.port());
        k.send(request("GET", "/health"));
        auto const first = k.next();
        CHECK(first.status == 200);
        CHECK(first.header("Connection") == "keep-alive");
        k.send(request("GET", "/api/sse/stats"));
        auto const second = k.next();
        CHECK(second.status == 200);
        CHECK(second.body_json().contains("totalClients"));
    }
    SUBCASE("a publish and a pipelined request after its body")
    {
        connection k(f.port());
        k.send(request("POST", "/api/sse/publish", "Content-Type: application/json\r\n",
                       R"({"event":"custom","data":"x"})") +
               request("GET", "/health"));
        CHECK(k.next().status == 202);
        CHECK(k.next().status == 200);
    }
    SUBCASE("a stream after an API request on the same connection")
    {
        connection k(f.port());
        k.send(request("GET", "/health"));
        CHECK(k.next().status == 200);
        k.send(request("GET", "/api/sse"));
        CHECK(fixture::eventually([&] { return f.server().clients().size() == 1; }));
    }
    SUBCASE("Connection: close is honoured")
    {
        connection k(f.port());
        k.send(request("GET", "/health", "Connection: close\r\n"));
        CHECK(k.next().header("Connection") == "close");
        CHECK(k.closed());
    }
    SUBCASE("HTTP/1.0 closes unless it asks for keep-alive")
    {
        connection k(f.port());
        k.send("GET /health HTTP/1.0\r\n\r\n");
        CHECK(k.next().header("Connection") == "close");
        CHECK(k.closed());
        connection kept(f.port());
        kept.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(kept.next().header("Connection") == "keep-alive");
        kept.send("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        CHECK(kept.next().status == 200);
    }
    SUBCASE("an error answer closes")
    {
        connection k(f.port());
        k.send(request("POST", "/api/sse/publish", "Content-Type: application/json\r\n", "{not json"));
        auto const r = k.next();
        CHECK(r.status == 400);
        CHECK(r.header("Connection") == "close");
        CHECK(k.closed());
    }
    SUBCASE("a body nobody read closes")
    {
        app::config keyed = test_config();
        keyed.publish_key = "the-publish-key";
        keyed.anonymous = false;
        keyed.jwt_secret = secret;
        fixture g(keyed);
        connection k(g.port());
        k.send(request("POST", "/api/sse/publish", "Content-Type: application/json\r\n", R"({"event":"x","data":"y"})"));
        auto const r = k.next();
        CHECK(r.status == 401);
        CHECK(r.header("Connection") == "close");
        CHECK(k.closed());
    }
}

TEST_CASE("keep-alive: --keep-alive-requests bounds a connection, and the head timeout its idle time")
{
    app::config c = test_config();
    c.keep_alive_requests = 2;
    c.head_timeout = 300ms;
    fixture f(c);
    SUBCASE("the last allowed request is answered with Connection: close")
    {
        connection k(f.port());
        k.send(request("GET", "/health"));
        CHECK(k.next().header("Connection") == "keep-alive");
        k.send(request("GET", "/health"));
        CHECK(k.next().header("Connection") == "close");
        CHECK(k.closed());
    }
    SUBCASE("an idle connection is closed without an answer")
    {
        connection k(f.port());
        k.send(request("GET", "/health"));
        CHECK(k.next().status == 200);
        CHECK(k.closed());
    }
}

namespace {

/// What `curl -v` prints for two URLs fetched in one run.
std::string curl_twice(std::string const& options, std::string const& first, std::string const& second)
{
    std::string const command = "curl -sv --noproxy '*' --max-time 10 " + options + " " + first + " " + second +
                                " -o /dev/null -o /dev/null 2>&1";
    std::string out;
    if (FILE* p = ::popen(command.c_str(), "r")) {
        char chunk[4096];
        while (std::size_t n = std::fread(chunk, 1, sizeof chunk, p))
            out.append(chunk, n);
        ::pclose(p);
    }
    return out;
}

bool reused(std::string const& curl_output)
{
    return curl_output.find("Re-using existing connection") != std::string::npos ||
           curl_output.find("Reusing existing connection") != std::string::npos;
}

} // namespace

TEST_CASE("keep-alive: curl reuses the connection, over http and https")
{
    SUBCASE("http")
    {
        fixture f;
        std::string const base = "http://127.0.0.1:" + std::to_string(f.port());
        auto const out = curl_twice("", base + "/health", base + "/api/sse/stats");
        CAPTURE(out);
        CHECK(reused(out));
        CHECK(out.find("HTTP/1.1 200") != std::string::npos);
    }
    SUBCASE("https")
    {
        support::certificate files;
        app::config c = test_config();
        c.tls_cert = files.cert;
        c.tls_key = files.key;
        fixture f(c);
        std::string const base = "https://127.0.0.1:" + std::to_string(f.port());
        auto const out = curl_twice("--cacert " + files.cert, base + "/health", base + "/api/sse/stats");
        CAPTURE(out);
        CHECK(reused(out));
        CHECK(out.find("< HTTP/1.1 200") != std::string::npos);
    }
}

TEST_CASE("CORS: a preflight allows Cache-Control and Last-Event-ID")
{
    app::config c = test_config();
    c.cors_origins = {"https://app.example"};
    fixture f(c);
    auto const r = http(f.port(), "OPTIONS", "/api/notifications/stream",
                        {{"Origin", "https://app.example"},
                         {"Access-Control-Request-Method", "GET"},
                         {"Access-Control-Request-Headers", "cache-control,last-event-id"}});
    CHECK(r.status == 204);
    auto const allowed = r.header("Access-Control-Allow-Headers").value_or("");
    CHECK(allowed.find("Cache-Control") != std::string::npos);
    CHECK(allowed.find("Last-Event-ID") != std::string::npos);
}

TEST_CASE("dashboard: /api/dashboard/sse follows channel dashboard and gets dashboardUpdate every interval")
{
    app::config c = test_config();
    c.dashboard_interval = 100ms;
    fixture f(c);
    SUBCASE("nothing is published while nobody follows the channel")
    {
        reader plain(f.port(), "/api/sse");
        REQUIRE(plain.wait_for("connected"));
        std::this_thread::sleep_for(400ms);   // several intervals: waiting for something that must not happen
        CHECK(f.server().hub().stats().published == 0);
        CHECK(plain.events("dashboardUpdate").empty());
    }
    SUBCASE("the stream gets the numbers; ?channels= is ignored")
    {
        reader other(f.port(), "/api/sse?userId=bob");
        REQUIRE(other.wait_for("connected"));
        reader dash(f.port(), "/api/dashboard/sse?channels=news&userId=alice");
        REQUIRE(dash.wait_for("connected"));
        CHECK(dash.events("connected")[0].data_json()["channels"] == json::array({"dashboard"}));
        REQUIRE(dash.wait_for("dashboardUpdate", 2));
        auto const d = dash.events("dashboardUpdate").back().data_json();
        CHECK(d["connections"] == 2);
        CHECK(d["uniqueUsers"] == 2);
        CHECK(d["eventsPerSecond"].is_number());
        CHECK(d["totalEventsSent"].get<long long>() >= 1);
        CHECK(std::llabs(d["timestamp"].get<long long>() - now_ms()) < 5000);
        CHECK(other.events("dashboardUpdate").empty());
    }
    SUBCASE("a publisher may send dashboardUpdate to channel dashboard itself")
    {
        app::config quiet = test_config();
        quiet.dashboard_interval = 0ms;
        fixture g(quiet);
        reader dash(g.port(), "/api/dashboard/sse");
        REQUIRE(dash.wait_for("connected"));
        auto const r = post(g.port(), "/api/sse/publish",
                            {{"event", "dashboardUpdate"}, {"data", {{"connections", 7}}}, {"channels", {"dashboard"}}});
        CHECK(r.status == 202);
        REQUIRE(dash.wait_for("dashboardUpdate"));
        CHECK(dash.events("dashboardUpdate")[0].data_json()["connections"] == 7);
    }
}

TEST_CASE("config: the stream format flags, from flags, environment and file")
{
    auto parse = [](std::vector<char const*> args, app::config& out) {
        args.insert(args.begin(), "sse-server");
        std::ostringstream help, err;
        auto status = app::parse_command_line(static_cast<int>(args.size()), args.data(), out, help, err);
        return std::make_pair(status, err.str() + help.str());
    };
    SUBCASE("defaults")
    {
        app::config c;
        CHECK(!parse({}, c).first);
        CHECK(c.heartbeat_event == "heartbeat");
        CHECK(c.heartbeat_data == app::heartbeat_data::time);
        CHECK(c.greeting.empty());
        CHECK(c.stream_auth_errors == app::stream_auth_errors::status);
        CHECK(c.dashboard_interval == 5000ms);
        CHECK(c.keep_alive_requests == 100);
    }
    SUBCASE("flags")
    {
        app::config c;
        auto const [status, text] =
            parse({"--heartbeat-event", "ping", "--heartbeat-data", "empty-object", "--greeting", "Hi there",
                   "--stream-auth-errors", "event", "--dashboard-interval", "0", "--keep-alive-requests", "1"},
                  c);
        CAPTURE(text);
        CHECK(!status);
        CHECK(c.heartbeat_event == "ping");
        CHECK(c.heartbeat_data == app::heartbeat_data::empty_object);
        CHECK(c.greeting == "Hi there");
        CHECK(c.stream_auth_errors == app::stream_auth_errors::event);
        CHECK(c.dashboard_interval == 0ms);
        CHECK(c.keep_alive_requests == 1);
    }
    SUBCASE("environment and file")
    {
        auto const file =
            std::filesystem::temp_directory_path() / ("sse-server-format-" + std::to_string(::getpid()) + ".json");
        std::ofstream(file) << R"({"heartbeat-data": "json", "greeting": "from the file"})";
        ::setenv("SSE_SERVER_HEARTBEAT_EVENT", "ping", 1);
        app::config c;
        auto const [status, text] = parse({"--config", file.c_str()}, c);
        ::unsetenv("SSE_SERVER_HEARTBEAT_EVENT");
        std::filesystem::remove(file);
        CAPTURE(text);
        CHECK(!status);
        CHECK(c.heartbeat_event == "ping");
        CHECK(c.heartbeat_data == app::heartbeat_data::json);
        CHECK(c.greeting == "from the file");
    }
    SUBCASE("bad values are refused, naming the flag")
    {
        app::config c;
        auto const bad_form = parse({"--heartbeat-data", "xml"}, c);
        CHECK(bad_form.first == 2);
        CHECK(bad_form.second.find("--heartbeat-data") != std::string::npos);
        auto const bad_mode = parse({"--stream-auth-errors", "silent"}, c);
        CHECK(bad_mode.first == 2);
        app::config d;
        auto const bad_name = parse({"--heartbeat-event", "a\nb"}, d);
        CHECK(bad_name.first == 2);
        CHECK(bad_name.second.find("--heartbeat-event") != std::string::npos);
    }
}
