// Tests of sse::event_source over loopback: against a scripted raw HTTP server
// (support/script_server.hpp, plain POSIX sockets sharing no code with the
// client), this project's hub server, and its TLS stream.
#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/backoff.hpp>

#include "support/certificate.hpp"
#include "support/run_until.hpp"
#include "support/script_server.hpp"
#include "support/source_harness.hpp"
#include "support/test_server.hpp"

#include <sse/asio/stream.hpp>

#include "support/net.hpp"

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using support::script_server;
using plain_source = sse::event_source<asio::ip::tcp::socket>;
using support::source_harness;

namespace {

using support::received;

sse::event_source_options one_shot()
{
    sse::event_source_options o;
    o.reconnect = false;
    return o;
}

// Fast reconnects for tests that reconnect: the server's retry decides, not 3 s.
sse::event_source_options quick()
{
    sse::event_source_options o;
    o.backoff.initial_retry = 20ms;
    o.backoff.min_retry = 1ms;
    return o;
}

std::string const two_events = "id: 1\ndata: one\n\nevent: update\ndata: two\ndata: lines\n\n";

std::vector<received> const two_received = {{"message", "one", "1"}, {"update", "two\nlines", "1"}};

std::string chunked(std::string_view body, std::size_t piece)
{
    std::string out;
    char size[32];
    for (std::size_t at = 0; at < body.size(); at += piece) {
        auto const part = body.substr(at, piece);
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        out.append(size).append(part).append("\r\n");
    }
    return out + "0\r\n\r\n";
}

} // namespace

TEST_CASE("event_source: sends the EventSource request and delivers typed events")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + two_events);
    });
    auto options = one_shot();
    options.headers.emplace_back("X-Trace", "abc");
    source_harness h(server.url("/events?x=1"), options);
    std::vector<std::string> updates;
    h.source.on("update", [&](sse::event_view const& ev) { updates.emplace_back(ev.data); });
    REQUIRE(h.run());

    CHECK(h.events == two_received);
    CHECK(updates == std::vector<std::string>{"two\nlines"});
    CHECK(h.states.back().first == sse::source_state::closed);
    CHECK(h.final_reason() == sse::error::stream_ended);

    auto const requests = server.requests();
    REQUIRE(requests.size() == 1);
    auto const& r = requests[0];
    CHECK(r.method == "GET");
    CHECK(r.target == "/events?x=1");
    CHECK(r.header("Accept") == "text/event-stream");
    CHECK(r.header("Cache-Control") == "no-cache");
    CHECK(r.header("Host") == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(r.header("X-Trace") == "abc");
    CHECK_FALSE(r.header("Last-Event-ID"));   // no id yet: the header is not sent empty

    auto const stats = h.source.stats();
    CHECK(stats.events_received == 2);
    CHECK(stats.events_delivered == 2);
    CHECK(stats.opens == 1);
    CHECK(stats.last_status == 200);
    CHECK(stats.last_event_id == "1");
    CHECK(stats.bytes_received == support::sse_head().size() + two_events.size());
}

TEST_CASE("event_source: reconnects with Last-Event-ID, and the hook runs before each attempt")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 10\nid: 41\ndata: a\n\nid: 42\ndata: b\n\n");
        else
            c.send(support::sse_head() + "id: 43\ndata: c\n\n");
    });
    auto options = quick();
    options.last_event_id = "40";
    source_harness h(server.url("/ev"), options);
    int tokens = 0;
    h.source.on_before_attempt([&](std::vector<sse::header_field>& headers) {
        headers.clear();
        headers.emplace_back("Authorization", "Bearer t" + std::to_string(++tokens));
    });
    h.source.on("message", [&](sse::event_view const& ev) {
        if (ev.data == "c")
            h.source.close();
    });
    REQUIRE(h.run());

    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].header("Last-Event-ID") == "40");   // the resume point given by the user
    CHECK(requests[1].header("Last-Event-ID") == "42");   // the server saw where the client was
    CHECK(requests[0].header("Authorization") == "Bearer t1");
    CHECK(requests[1].header("Authorization") == "Bearer t2");
    CHECK(h.events == std::vector<received>{{"message", "a", "41"}, {"message", "b", "42"}, {"message", "c", "43"}});
    CHECK(h.states.back() == std::make_pair(sse::source_state::closed, sse::error_code()));
    CHECK(h.count(sse::source_state::waiting) == 1);
    auto const stats = h.source.stats();
    CHECK(stats.attempts == 2);
    CHECK(stats.reconnects == 1);
    CHECK(stats.retry == 10ms);
    CHECK(stats.last_error == sse::error::stream_ended);
}

TEST_CASE("event_source: the server's retry: sets the reconnect delay (seeded jitter)")
{
    // Wiring only: the delays themselves are tested without sockets in
    // source_policy.cpp. With a fixed seed the source draws the same delay as a
    // local sse::backoff, reports it, and waits at least that long.
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 40\n\n");
        else
            c.send(support::status_response(204, "No Content"));
    });
    auto options = quick();
    options.jitter_seed = 12;
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);

    sse::backoff policy(options.backoff);
    policy.server_retry(40ms);
    auto const now = std::chrono::steady_clock::now();
    policy.opened(now);
    std::mt19937 rng(12);
    auto const expected = *policy.next_delay(now, rng);
    CHECK(h.source.stats().reconnect_delay == expected);
    CHECK(requests[1].at - requests[0].at >= expected - 5ms);
}

TEST_CASE("event_source: never reconnects sooner than the server's retry:")
{
    // WHATWG HTML 9.2.3: after the stream ends, wait a delay equal to the
    // reconnection time, then optionally more. Unseeded: any draw must comply.
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 200\ndata: x\n\n");
        else
            c.send(support::status_response(204, "No Content"));
    });
    source_harness h(server.url("/"), sse::event_source_options{});
    REQUIRE(h.run());
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    auto const gap = std::chrono::duration_cast<std::chrono::milliseconds>(requests[1].at - requests[0].at).count();
    CHECK(gap >= 200);
    CHECK(gap < 1000);
}

TEST_CASE("event_source: a stream that opens and closes at once meets growing delays")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() < 5)
            c.send(support::sse_head() + "retry: 10\n\n");
        else
            c.send(support::status_response(204, "No Content"));
    });
    auto options = quick();
    options.jitter_seed = 7;
    source_harness h(server.url("/"), options);
    std::vector<std::chrono::milliseconds> delays;
    h.source.on_state([&](sse::source_state s, sse::error_code why) {
        h.states.emplace_back(s, why);
        if (s == sse::source_state::waiting)
            delays.push_back(h.source.stats().reconnect_delay);
    });
    REQUIRE(h.run());
    REQUIRE(delays.size() == 5);

    // The same policy and seed, attempt after attempt: never reset, since no
    // stream stayed open for healthy_after.
    sse::backoff policy(options.backoff);
    policy.server_retry(10ms);
    std::mt19937 rng(7);
    auto const now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < delays.size(); ++i) {
        policy.opened(now);
        CHECK(delays[i] == *policy.next_delay(now, rng));
    }
    CHECK(policy.attempts() == 5);
    CHECK(h.final_reason() == sse::error::no_content);
}

TEST_CASE("event_source: 204 stops for good")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(204, "No Content"));
    });
    source_harness h(server.url("/"), quick());
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::closed, sse::make_error_code(sse::error::no_content)));
    CHECK(server.request_count() == 1);
    CHECK(h.source.stats().last_status == 204);
}

TEST_CASE("event_source: a 500 fails without reconnecting unless retry_5xx")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() < 2)
            c.send(support::status_response(500, "Internal Server Error", "", "oops"));
        else
            c.send(support::sse_head() + "data: back\n\n");
    });

    SUBCASE("by default, as the spec says")
    {
        source_harness h(server.url("/"), quick());
        REQUIRE(h.run());
        CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::bad_status)));
        CHECK(h.events.empty());
        CHECK(h.source.stats().last_status == 500);
        CHECK(server.request_count() == 1);
    }
    SUBCASE("retry_5xx reconnects")
    {
        auto options = quick();
        options.retry_5xx = true;
        options.reconnect = true;
        source_harness h(server.url("/"), options);
        h.source.on_event([&](sse::event_view const&) { h.source.close(); });
        REQUIRE(h.run());
        CHECK(server.request_count() == 3);
        CHECK(h.events == std::vector<received>{{"message", "back", ""}});
        CHECK(h.count(sse::source_state::waiting) == 2);
        CHECK(h.states[1].second == sse::error::bad_status);
    }
}

TEST_CASE("event_source: 401 with retry_401 calls the hook again for a new token")
{
    script_server server([](script_server::connection& c, support::recorded_request const& r) {
        if (r.header("Authorization") != std::optional<std::string>("Bearer fresh"))
            c.send(support::status_response(401, "Unauthorized"));
        else
            c.send(support::sse_head() + "data: welcome\n\n");
    });
    auto options = quick();
    options.retry_401 = true;
    source_harness h(server.url("/"), options);
    int attempts = 0;
    h.source.on_before_attempt([&](std::vector<sse::header_field>& headers) {
        headers = {{"Authorization", ++attempts == 1 ? "Bearer stale" : "Bearer fresh"}};
    });
    h.source.on_event([&](sse::event_view const&) { h.source.close(); });
    REQUIRE(h.run());
    CHECK(attempts == 2);
    CHECK(h.events.size() == 1);

    // Without the opt-in, 401 is final.
    source_harness strict(server.url("/"), quick());
    strict.source.on_before_attempt([](std::vector<sse::header_field>& headers) {
        headers = {{"Authorization", "Bearer stale"}};
    });
    REQUIRE(strict.run());
    CHECK(strict.final_reason() == sse::error::bad_status);
    CHECK(strict.states.back().first == sse::source_state::failed);
}

TEST_CASE("event_source: a wrong content type fails without dispatching")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::status_response(200, "OK", "Content-Type: text/plain\r\n", "data: not events\n\n"));
    });
    source_harness h(server.url("/"), quick());
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::bad_content_type)));
    CHECK(h.events.empty());
    CHECK(server.request_count() == 1);
}

TEST_CASE("event_source: redirects are followed; reconnects go to the original URL")
{
    script_server other([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "id: 9\ndata: from elsewhere\n\n");
    });
    script_server server([&](script_server::connection& c, support::recorded_request const& r) {
        if (r.target == "/start")
            c.send(support::status_response(307, "Temporary Redirect", "Location: /moved\r\n"));
        else if (r.target == "/moved" && c.index() == 1)
            c.send(support::status_response(302, "Found", "Location: /final?x=1\r\n"));
        else if (r.target == "/final?x=1")
            c.send(support::sse_head() + "retry: 10\nid: 7\ndata: arrived\n\n");
        else if (r.target == "/moved")   // the second round: to another origin
            c.send(support::status_response(301, "Moved", "Location: " + other.url("/there") + "\r\n"));
        else if (r.target == "/loop")
            c.send(support::status_response(302, "Found", "Location: /loop\r\n"));
        else if (r.target == "/nowhere")
            c.send(support::status_response(302, "Found"));
    });

    SUBCASE("follows, and comes back to the start on reconnect")
    {
        auto options = quick();
        options.headers = {{"Authorization", "Bearer secret"}, {"X-Keep", "1"}};
        source_harness h(server.url("/start"), options);
        h.source.on_event([&](sse::event_view const& ev) {
            if (ev.data == "from elsewhere")
                h.source.close();
        });
        REQUIRE(h.run());
        CHECK(h.events == std::vector<received>{{"message", "arrived", "7"}, {"message", "from elsewhere", "9"}});
        auto const requests = server.requests();
        REQUIRE(requests.size() == 5);
        CHECK(requests[0].target == "/start");
        CHECK(requests[1].target == "/moved");
        CHECK(requests[2].target == "/final?x=1");
        CHECK(requests[3].target == "/start");   // the reconnect starts over
        CHECK(requests[3].header("Last-Event-ID") == "7");
        CHECK(requests[4].target == "/moved");
        // Credentials stay with the origin they were given for.
        auto const there = other.requests();
        REQUIRE(there.size() == 1);
        CHECK(there[0].target == "/there");
        CHECK_FALSE(there[0].header("Authorization"));
        CHECK(there[0].header("X-Keep") == "1");
        CHECK(there[0].header("Host") == "127.0.0.1:" + std::to_string(other.port()));
        CHECK(h.source.stats().redirects == 4);
    }
    SUBCASE("a redirect loop stops at max_redirects")
    {
        auto options = quick();
        options.max_redirects = 3;
        source_harness h(server.url("/loop"), options);
        REQUIRE(h.run());
        CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::too_many_redirects)));
        CHECK(server.request_count() == 4);
    }
    SUBCASE("a redirect without Location fails")
    {
        source_harness h(server.url("/nowhere"), quick());
        REQUIRE(h.run());
        CHECK(h.final_reason() == sse::error::bad_redirect);
    }
}

TEST_CASE("event_source: POST with a body; 303 turns it into a GET, 307 keeps it")
{
    script_server server([](script_server::connection& c, support::recorded_request const& r) {
        if (r.target == "/see-other")
            c.send(support::status_response(303, "See Other", "Location: /answer\r\n"));
        else if (r.target == "/temporary")
            c.send(support::status_response(307, "Temporary Redirect", "Location: /answer\r\n"));
        else
            c.send(support::sse_chunked_head() + chunked("data: " + r.method + " " + r.body + "\n\n", 5));
    });
    auto options = one_shot();
    options.body = R"({"prompt":"hi"})";

    source_harness direct(server.url("/answer"), options);
    REQUIRE(direct.run());
    CHECK(direct.events == std::vector<received>{{"message", R"(POST {"prompt":"hi"})", ""}});
    auto const first = server.requests().at(0);
    CHECK(first.method == "POST");
    CHECK(first.header("Content-Type") == "application/json");
    CHECK(first.header("Content-Length") == "15");
    CHECK(direct.final_reason() == sse::error::stream_ended);

    source_harness see_other(server.url("/see-other"), options);
    REQUIRE(see_other.run());
    CHECK(see_other.events == std::vector<received>{{"message", "GET ", ""}});

    source_harness temporary(server.url("/temporary"), options);
    REQUIRE(temporary.run());
    CHECK(temporary.events == std::vector<received>{{"message", R"(POST {"prompt":"hi"})", ""}});
}

TEST_CASE("event_source: a chunked body split at every boundary")
{
    std::string const body = "\xEF\xBB\xBFid: 1\r\ndata: caf\xC3\xA9\r\n\r\n: beat\n\nevent: e\ndata: x\rdata: y\n\n";
    std::vector<received> const expected = {{"message", "caf\xC3\xA9", "1"}, {"e", "x\ny", "1"}};
    std::string const response = support::sse_chunked_head() + chunked(body, 7);
    std::size_t const head_size = support::sse_chunked_head().size();

    // Connection k sends the response in two writes split at byte head_size + k,
    // with a pause so that the client reads them separately.
    script_server server([&](script_server::connection& c, support::recorded_request const& r) {
        std::size_t const split = head_size + std::stoul(r.target.substr(1));
        c.send(std::string_view(response).substr(0, split));
        c.pause(2ms);
        c.send(std::string_view(response).substr(split));
        c.wait_for_close(2s);   // the client ends the stream at the terminating chunk
    });
    for (std::size_t k = 0; k <= response.size() - head_size; ++k) {
        CAPTURE(k);
        source_harness h(server.url("/" + std::to_string(k)), one_shot());
        REQUIRE(h.run());
        CHECK(h.events == expected);
        CHECK(h.final_reason() == sse::error::stream_ended);
        CHECK(h.source.stats().comments_received == 1);
    }
}

TEST_CASE("event_source: head and body one byte at a time")
{
    std::string const response = "HTTP/1.1 100 Continue\r\n\r\n" + support::sse_chunked_head() + chunked(two_events, 3);
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send_in_pieces(response, 1);
        c.wait_for_close(2s);
    });
    source_harness h(server.url("/"), one_shot());
    REQUIRE(h.run());
    CHECK(h.events == two_received);
    CHECK(h.final_reason() == sse::error::stream_ended);
}

TEST_CASE("event_source: a Content-Length body ends the stream at its length")
{
    std::string const body = "data: a\n\ndata: b\n\n";
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body);
        c.wait_for_close(2s);
    });
    source_harness h(server.url("/"), one_shot());
    REQUIRE(h.run());
    CHECK(h.events.size() == 2);
    CHECK(h.final_reason() == sse::error::stream_ended);
}

TEST_CASE("event_source: a server that goes silent is detected as stalled")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0) {
            c.send(support::sse_head() + "retry: 10\nid: 5\ndata: then silence\n\n");
            c.wait_for_close(5s);   // holds the connection open, sending nothing
        }
        else {
            c.send(support::status_response(204, "No Content"));
        }
    });
    auto options = quick();
    options.stall_timeout = 300ms;
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    REQUIRE(h.count(sse::source_state::waiting) == 1);
    auto const waiting = std::find_if(h.states.begin(), h.states.end(),
        [](auto const& s) { return s.first == sse::source_state::waiting; });
    CHECK(waiting->second == sse::error::stalled);
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[1].header("Last-Event-ID") == "5");
    CHECK(requests[1].at - requests[0].at >= 300ms);
    CHECK(requests[1].at - requests[0].at < 3s);
}

TEST_CASE("event_source: heartbeats keep a quiet stream alive")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
        for (int i = 0; i < 8; ++i) {
            c.pause(60ms);
            c.send(":\n");
        }
        c.send("data: still here\n\n");
    });
    auto options = one_shot();
    options.stall_timeout = 200ms;   // shorter than the stream, longer than a heartbeat gap
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    CHECK(h.count(sse::source_state::waiting) == 0);
    CHECK(h.events == std::vector<received>{{"message", "still here", ""}});
    CHECK(h.final_reason() == sse::error::stream_ended);
    auto const stats = h.source.stats();
    CHECK(stats.comments_received == 8);
    CHECK(stats.time_connected >= 400ms);   // eight pauses of 60 ms
    CHECK(stats.time_connected < 5s);
}

TEST_CASE("event_source: no response head within connect_timeout")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) { c.wait_for_close(5s); });
    auto options = one_shot();
    options.connect_timeout = 200ms;
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::connect_timeout)));
}

TEST_CASE("event_source: a 10 MiB event under and over the size limit")
{
    std::string big(10 * 1024 * 1024, 'x');
    for (std::size_t i = 0; i < big.size(); i += 4099)
        big[i] = static_cast<char>('a' + i % 26);
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: small\n\nid: big\ndata: " + big + "\n\ndata: after\n\n");
    });

    SUBCASE("under: delivered whole")
    {
        auto options = one_shot();
        options.limits.max_event = options.limits.max_line = 16 * 1024 * 1024;
        source_harness h(server.url("/"), options);
        REQUIRE(h.run(30s));
        REQUIRE(h.events.size() == 3);
        CHECK(h.events[1].data.size() == big.size());
        CHECK(h.events[1].data == big);
        CHECK(h.events[1].id == "big");
        CHECK(h.final_reason() == sse::error::stream_ended);
    }
    SUBCASE("over: a clear error, no reconnect, the events before it delivered")
    {
        source_harness h(server.url("/"), quick());   // reconnect on, default 1 MiB limit
        REQUIRE(h.run(30s));
        CHECK(h.events == std::vector<received>{{"message", "small", ""}});
        CHECK(h.states.back().first == sse::source_state::failed);
        sse::error_code const why = h.final_reason();
        CHECK((why == sse::error::line_too_long || why == sse::error::event_too_long));
        CHECK(server.request_count() == 1);
    }
}

TEST_CASE("event_source: event_too_long for an event of many small lines")
{
    std::string many;
    for (int i = 0; i < 2000; ++i)
        many += "data: " + std::string(1000, 'y') + "\n";
    script_server server([&](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "data: first\n\n" + many + "\n");
    });
    source_harness h(server.url("/"), quick());
    REQUIRE(h.run(30s));
    CHECK(h.events.size() == 1);
    CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::event_too_long)));
}

TEST_CASE("event_source: close() during a pending reconnect stops it for good")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head() + "retry: 200\n\n");
    });
    auto options = quick();
    options.backoff.min_retry = 200ms;
    source_harness h(server.url("/"), options);
    h.source.on_state([&](sse::source_state s, sse::error_code why) {
        h.states.emplace_back(s, why);
        if (s == sse::source_state::waiting)
            h.source.close();
    });
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::closed, sse::error_code()));
    // Past the longest delay it could have drawn: still one request.
    h.io.restart();
    h.io.run_for(400ms);
    CHECK(server.request_count() == 1);
    CHECK(h.io.stopped());   // nothing left pending
}

TEST_CASE("event_source: connection refused is retried until max_attempts")
{
    // A port that was free a moment ago: nothing listens there.
    asio::io_context probe;
    asio::ip::tcp::acceptor a(probe, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    auto const port = a.local_endpoint().port();
    a.close();

    auto options = quick();
    options.backoff.max_attempts = 3;
    source_harness h("http://127.0.0.1:" + std::to_string(port) + "/", options);
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::reconnect_limit)));
    CHECK(h.count(sse::source_state::waiting) == 3);
    CHECK(h.source.stats().attempts == 4);
    CHECK(h.source.stats().last_error == sse::net_error(asio::error::connection_refused));
}

TEST_CASE("event_source: filters and coalescing throttle per type")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        std::string burst;
        for (int i = 1; i <= 10; ++i)
            burst += "event: tick\nid: " + std::to_string(i) + "\ndata: " + std::to_string(i) + "\n\n";
        burst += "event: level\ndata: debug\n\nevent: level\ndata: error\n\n";
        c.send(support::sse_head() + burst);
        c.pause(600ms);
        c.send("event: tick\nid: 11\ndata: 11\n\n");
    });
    source_harness h(server.url("/"), one_shot());
    std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> ticks;
    std::vector<std::string> levels;
    h.source.on("tick", [&](sse::event_view const& ev) {
        ticks.emplace_back(std::string(ev.data) + "@" + std::string(ev.last_event_id), std::chrono::steady_clock::now());
    });
    h.source.on("level", [&](sse::event_view const& ev) { levels.emplace_back(ev.data); });
    h.source.filter("level", [](sse::event_view const& ev) { return ev.data != "debug"; });
    h.source.throttle("tick", 200ms);
    REQUIRE(h.run());

    CHECK(levels == std::vector<std::string>{"error"});
    // The first tick at once, the latest of the burst at the interval's end,
    // then the late one on its own.
    REQUIRE(ticks.size() == 3);
    CHECK(ticks[0].first == "1@1");
    CHECK(ticks[1].first == "10@10");
    CHECK(ticks[2].first == "11@11");
    CHECK(ticks[1].second - ticks[0].second >= 190ms);
    auto const stats = h.source.stats();
    CHECK(stats.events_received == 13);
    CHECK(stats.events_filtered == 1);
    CHECK(stats.events_coalesced == 8);
    CHECK(stats.events_delivered == 4);
}

TEST_CASE("event_source: IPv6 literal URL")
{
    support::script_server_options so;
    so.ipv6 = true;
    std::unique_ptr<script_server> server;
    try {
        server = std::make_unique<script_server>(
            [](script_server::connection& c, support::recorded_request const&) { c.send(support::sse_head() + two_events); },
            so);
    }
    catch (std::system_error const& e) {
        MESSAGE("skipped: no IPv6 loopback on this machine: " << e.what());
        return;
    }
    source_harness h(server->url("/v6"), one_shot());
    REQUIRE(h.run());
    CHECK(h.events == two_received);
    CHECK(server->requests().at(0).header("Host") == "[::1]:" + std::to_string(server->port()));
}

TEST_CASE("event_source: bad URLs and headers are refused up front")
{
    asio::io_context io;
    CHECK_THROWS_AS(plain_source(io.get_executor(), "ftp://example/"), std::system_error);
    CHECK_THROWS_AS(plain_source(io.get_executor(), "https://127.0.0.1/"), std::system_error);
    try {
        plain_source s(io.get_executor(), "https://127.0.0.1/");
    }
    catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::https_not_supported);
    }

    auto options = quick();
    options.headers = {{"X-Bad", "a\r\nInjected: yes"}};
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
    });
    source_harness h(server.url("/"), options);
    REQUIRE(h.run());
    CHECK(h.states.back() == std::make_pair(sse::source_state::failed, sse::make_error_code(sse::error::bad_header)));

    // A field the source writes itself would be sent twice.
    options.headers = {{"accept", "text/plain"}};
    source_harness twice(server.url("/"), options);
    REQUIRE(twice.run());
    CHECK(twice.final_reason() == sse::error::bad_header);
    CHECK(server.request_count() == 0);
}

TEST_CASE("event_source: the error_code constructor reports what the throwing one throws")
{
    struct bad
    {
        std::string url;
        sse::error_code expected;
    };
    for (auto const& b : {bad{"ftp://example/", sse::error::bad_url},
                          bad{"http://user:pw@127.0.0.1/", sse::error::bad_url},
                          bad{"https://127.0.0.1/", sse::error::https_not_supported}}) {
        std::string const& url = b.url;
        sse::error_code const expected = b.expected;
        CAPTURE(url);
        asio::io_context io;
        sse::error_code ec = sse::error::stalled;   // overwritten
        plain_source source(io.get_executor(), url, quick(), ec);
        CHECK(ec == expected);
        CHECK(ec == sse::condition::fatal);
        // Still safe to use: start() ends it at once, failed with the same error, and nothing is left pending.
        std::vector<std::pair<sse::source_state, sse::error_code>> states;
        source.on_state([&](sse::source_state s, sse::error_code why) { states.emplace_back(s, why); });
        source.start();
        io.run_for(5s);
        CHECK(io.stopped());
        REQUIRE_FALSE(states.empty());
        CHECK(states.back() == std::make_pair(sse::source_state::failed, expected));
        CHECK(source.stats().bytes_received == 0);
    }

    // The TLS options: a CA file that cannot be read.
    asio::io_context io;
    auto options = quick();
    options.ca_file = "/nonexistent/ca.pem";
    sse::error_code ec;
    sse::event_source<sse::tls_socket> tls(io.get_executor(), "https://127.0.0.1:1/", options, ec);
    CHECK(ec);
    sse::error_code thrown;
    try {
        sse::event_source<sse::tls_socket> again(io.get_executor(), "https://127.0.0.1:1/", options);
    } catch (std::system_error const& e) {
        thrown = e.code();
    }
    CHECK(thrown == ec);
    std::vector<sse::source_state> states;
    tls.on_state([&](sse::source_state s, sse::error_code why) {
        states.push_back(s);
        if (s == sse::source_state::failed)
            CHECK(why == ec);
    });
    tls.start();
    io.run_for(5s);
    CHECK(io.stopped());
    REQUIRE_FALSE(states.empty());
    CHECK(states.back() == sse::source_state::failed);

    // A good URL: no error.
    ec = sse::error::stalled;
    plain_source good(io.get_executor(), "http://127.0.0.1:1/events", quick(), ec);
    CHECK_FALSE(ec);
}

TEST_CASE("event_source: resumes from this project's hub without loss or duplicates")
{
    support::server_config config;
    config.stream.retry = 10ms;
    support::test_server server(config);
    for (int i = 1; i <= 3; ++i) {
        sse::event e;
        e.data = "before " + std::to_string(i);
        server.hub().publish(e);
    }

    source_harness h("http://127.0.0.1:" + std::to_string(server.port()) + "/events?name=es", quick());
    std::atomic<int> seen{0};
    h.source.on_event([&](sse::event_view const& ev) {
        ++seen;
        if (ev.data == "after 2")
            h.source.close();
    });
    h.source.start();
    // A live event once the subscriber exists, then a kick, then events
    // published while the client is away: the reconnect replays them.
    REQUIRE(support::run_until(h.io, [&] { return server.hub().stats().subscribers == 1; }));
    sse::event live;
    live.data = "live";
    server.hub().publish(live);
    REQUIRE(support::run_until(h.io, [&] { return seen.load() == 1; }));
    server.hub().kick(server.subscriber_id("es"));
    REQUIRE(support::run_until(h.io, [&] { return h.count(sse::source_state::waiting) == 1; }));
    for (int i = 1; i <= 2; ++i) {
        sse::event e;
        e.data = "after " + std::to_string(i);
        server.hub().publish(e);
    }
    REQUIRE(support::run_until(h.io, [&] { return h.ended(); }));
    REQUIRE(h.events.size() == 3);
    CHECK(h.events[0].data == "live");
    CHECK(h.events[1].data == "after 1");
    CHECK(h.events[2].data == "after 2");
    CHECK(h.source.stats().reconnects == 1);
}

namespace doc {

std::string current_token() { return "t0k3n"; }

// docs/event_source.md, verbatim.
// Prints price updates from `url` until the server says 204.
void follow_prices(std::string const& url, std::string& last_id)
{
    asio::io_context io;

    sse::event_source_options options;
    options.last_event_id = last_id;                        // resume from a stored position
    options.stall_timeout = std::chrono::seconds(45);       // the server sends a heartbeat every 15 s
    options.headers.emplace_back("X-Client", "prices-demo");

    sse::event_source<sse::tls_socket> source(io.get_executor(), url, options);   // http or https
    source.on_before_attempt([](std::vector<sse::header_field>& headers) {
        sse::set_header(headers, "Authorization", "Bearer " + current_token());   // fresh on every attempt
    });
    source.on("price", [&](sse::event_view const& ev) {
        std::printf("%.*s\n", int(ev.data.size()), ev.data.data());
        last_id = std::string(ev.last_event_id);
    });
    source.on_state([](sse::source_state state, sse::error_code why) {
        std::fprintf(stderr, "%s %s\n", sse::to_string(state), why ? why.message().c_str() : "");
    });
    source.start();
    io.run();   // returns when the source has ended for good: closed or failed
}

} // namespace doc

TEST_CASE("event_source: the documentation's example")
{
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        if (c.index() == 0)
            c.send(support::sse_head() + "retry: 5\nevent: price\nid: p1\ndata: 101.5\n\nevent: price\nid: p2\ndata: 101.7\n\n");
        else
            c.send(support::status_response(204, "No Content"));
    });
    std::string last_id = "p0";
    doc::follow_prices(server.url("/prices"), last_id);
    CHECK(last_id == "p2");
    auto const requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].header("Last-Event-ID") == "p0");
    CHECK(requests[1].header("Last-Event-ID") == "p2");
    CHECK(requests[1].header("Authorization") == "Bearer t0k3n");
    CHECK(requests[1].header("X-Client") == "prices-demo");
}

TEST_CASE("event_source: set_header replaces every field of that name, or appends")
{
    std::vector<sse::header_field> headers = {{"authorization", "old"}, {"X-A", "1"}, {"Authorization", "dup"}};
    sse::set_header(headers, "Authorization", "new");
    CHECK(headers == std::vector<sse::header_field>{{"authorization", "new"}, {"X-A", "1"}});
    sse::set_header(headers, "X-B", "2");
    CHECK(headers.back() == sse::header_field{"X-B", "2"});
}

namespace {

using tls_files = support::certificate;

// A TLS server built on this project's sse::stream: answers every connection
// with `count` events, then closes (with close_notify or without).
struct tls_server
{
    asio::io_context io;
    asio::ssl::context ctx{asio::ssl::context::tls_server};
    asio::ip::tcp::acceptor acceptor{io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::vector<std::string> last_event_ids;
    std::mutex mutex;
    std::thread thread;
    int served = 0;

    explicit tls_server(tls_files const& files)
    {
        ctx.use_certificate_chain_file(files.cert);
        ctx.use_private_key_file(files.key, asio::ssl::context::pem);
        accept();
        thread = std::thread([this] { io.run(); });
    }
    ~tls_server()
    {
        asio::post(io, [this] { acceptor.close(); });
        io.stop();
        thread.join();
    }
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    void accept()
    {
        acceptor.async_accept([this](sse::error_code ec, asio::ip::tcp::socket socket) {
            if (ec)
                return;
            auto conn = std::make_shared<sse::tls_socket>(std::move(socket), ctx);
            conn->async_handshake(asio::ssl::stream_base::server, [this, conn](sse::error_code hec) {
                if (hec)
                    return;
                auto head = std::make_shared<asio::streambuf>();
                asio::async_read_until(*conn, *head, "\r\n\r\n", [this, conn, head](sse::error_code rec, std::size_t n) {
                    if (rec)
                        return;
                    std::string h(static_cast<char const*>(head->data().data()), n);
                    auto const at = h.find("Last-Event-ID: ");
                    int const index = served++;
                    {
                        std::lock_guard<std::mutex> lock(mutex);
                        last_event_ids.push_back(at == std::string::npos ? "" : h.substr(at + 15, h.find("\r\n", at) - at - 15));
                    }
                    sse::stream_options options;
                    options.heartbeat_interval = 0ms;
                    options.retry = 10ms;
                    auto s = std::make_shared<sse::stream<sse::tls_socket>>(std::move(*conn), options);
                    s->start();
                    for (int i = 1; i <= 2; ++i) {
                        sse::event e;
                        e.id = std::to_string(index) + "." + std::to_string(i);
                        e.data = "secure " + std::to_string(i);
                        s->send(e);
                    }
                    s->async_close(std::nullopt, [s](sse::error_code) {});
                });
            });
            accept();
        });
    }
};

} // namespace

TEST_CASE("event_source: https with certificate verification against this project's TLS stream")
{
    tls_files files;
    tls_server server(files);
    std::string const url = "https://127.0.0.1:" + std::to_string(server.port()) + "/events";

    SUBCASE("trusted through ca_file: events, then a reconnect with Last-Event-ID")
    {
        auto options = quick();
        options.ca_file = files.cert;
        source_harness<sse::tls_socket> h(url, options);
        h.source.on_event([&](sse::event_view const& ev) {
            if (ev.last_event_id == "1.2")
                h.source.close();
        });
        REQUIRE(h.run());
        REQUIRE(h.events.size() == 4);
        CHECK(h.events[0] == received{"message", "secure 1", "0.1"});
        CHECK(h.events[3] == received{"message", "secure 2", "1.2"});
        std::lock_guard<std::mutex> lock(server.mutex);
        CHECK(server.last_event_ids == std::vector<std::string>{"", "0.2"});
    }
    SUBCASE("not trusted: fails for good with a certificate error")
    {
        source_harness<sse::tls_socket> h(url, quick());   // the system store does not know this certificate
        REQUIRE(h.run());
        CHECK(h.states.back().first == sse::source_state::failed);
        CHECK(h.final_reason().category() == asio::error::get_ssl_category());
        CHECK(h.events.empty());
        CHECK(h.source.stats().attempts == 1);
    }
    SUBCASE("verification off")
    {
        auto options = one_shot();
        options.verify_peer = false;
        source_harness<sse::tls_socket> h(url, options);
        REQUIRE(h.run());
        CHECK(h.events.size() == 2);
    }
    SUBCASE("a TLS source also reads plain http")
    {
        script_server plain([](script_server::connection& c, support::recorded_request const&) {
            c.send(support::sse_head() + two_events);
        });
        source_harness<sse::tls_socket> h(plain.url("/"), one_shot());
        REQUIRE(h.run());
        CHECK(h.events == two_received);
    }
}

TEST_CASE("event_source: destroying a source closes it without calling its handlers")
{
    script_server server(support::stream_of("data: hi\n\n"));
    asio::io_context io;
    std::vector<sse::source_state> states;
    {
        plain_source source(io.get_executor(), server.url("/"), quick());
        source.on_state([&](sse::source_state s, sse::error_code) { states.push_back(s); });
        source.start();
        REQUIRE(support::run_until(io, [&] { return !states.empty() && states.back() == sse::source_state::open; }));
    }
    // The connection is dropped and nothing is left pending: run() returns.
    io.restart();
    io.run_for(2s);
    CHECK(io.stopped());
    CHECK(states == std::vector<sse::source_state>{sse::source_state::connecting, sse::source_state::open});
    REQUIRE(server.wait_for_requests(1, 1s));
    CHECK(support::wait_until([&] { return server.connections_open() == 0; }, 2s));   // the server saw the close
}

namespace {

// A TCP socket whose cancelled reads complete late. Asio allows that: an
// operation completes when it completes, and its stream must live until then.
// A TLS stream does it for real, since its read has steps of its own still to
// run after the TCP read under it was cancelled. Each socket has a serial
// number; a completion delivered after its socket was destroyed is counted.
struct late_cancel_socket : asio::ip::tcp::socket
{
    using asio::ip::tcp::socket::basic_stream_socket;

    late_cancel_socket(late_cancel_socket&& other) noexcept : asio::ip::tcp::socket(std::move(other)) {}

    ~late_cancel_socket()
    {
        std::lock_guard<std::mutex> lock(mutex);
        live.erase(serial);
    }

    template<class Buffers, class Handler>
    void async_read_some(Buffers const& buffers, Handler&& handler)
    {
        asio::ip::tcp::socket::async_read_some(buffers,
            [id = serial, ex = get_executor(), handler = std::forward<Handler>(handler)](
                test::net_error_code ec, std::size_t n) mutable {
                if (ec != asio::error::operation_aborted)
                    return deliver(id, handler, ec, n);
                ++late;
                auto timer = std::make_shared<asio::steady_timer>(ex, 200ms);
                timer->async_wait([id, timer, handler = std::move(handler), ec, n](test::net_error_code) mutable {
                    deliver(id, handler, ec, n);
                });
            });
    }

    template<class Handler>
    static void deliver(std::uint64_t id, Handler& handler, test::net_error_code ec, std::size_t n)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (live.count(id) == 0)
                ++orphaned;
        }
        handler(ec, n);
    }

    static std::uint64_t enroll()
    {
        std::lock_guard<std::mutex> lock(mutex);
        live.insert(++issued);
        return issued;
    }

    std::uint64_t serial = enroll();

    static inline std::mutex mutex;
    static inline std::set<std::uint64_t> live;
    static inline std::uint64_t issued = 0;
    static inline std::atomic<int> late{0};       // cancelled reads held back
    static inline std::atomic<int> orphaned{0};   // completions that outlived their socket
};

// Reads and discards until the peer goes away.
struct held_connection : std::enable_shared_from_this<held_connection>
{
    explicit held_connection(std::shared_ptr<sse::tls_socket> c) : conn(std::move(c)) {}

    void read()
    {
        conn->async_read_some(asio::buffer(rest), [self = shared_from_this()](sse::error_code ec, std::size_t) {
            if (!ec)
                self->read();
        });
    }

    std::shared_ptr<sse::tls_socket> conn;
    std::array<char, 256> rest{};
};

sse::event_source_options immediate_reconnects(std::size_t attempts)
{
    sse::event_source_options o;
    o.backoff.initial_retry = 0ms;
    o.backoff.min_retry = 0ms;
    o.backoff.max_attempts = attempts;
    return o;
}

} // namespace

TEST_CASE("event_source: a replaced connection's socket lives until its cancelled operations complete")
{
    // Each stream opens and goes silent; the stall detection drops it while a
    // read is pending, and the next attempt starts at once (zero back-off),
    // long before the cancelled read completes.
    script_server server([](script_server::connection& c, support::recorded_request const&) {
        c.send(support::sse_head());
        c.wait_for_close(5s);
    });
    auto options = immediate_reconnects(3);
    options.stall_timeout = 30ms;
    source_harness<late_cancel_socket> h(server.url("/"), options);
    REQUIRE(h.run());
    CHECK(h.final_reason() == sse::error::reconnect_limit);
    CHECK(h.count(sse::source_state::open) == 4);
    h.io.restart();
    h.io.run_for(5s);   // the held-back completions
    CHECK(h.io.stopped());
    CHECK(late_cancel_socket::late.load() >= 3);
    CHECK(late_cancel_socket::orphaned.load() == 0);
}

TEST_CASE("event_source: many immediate TLS reconnects on two threads")
{
    // A TLS server that opens each stream and then says nothing until the client leaves.
    tls_files files;
    asio::io_context server_io;
    asio::ssl::context server_tls{asio::ssl::context::tls_server};
    server_tls.use_certificate_chain_file(files.cert);
    server_tls.use_private_key_file(files.key, asio::ssl::context::pem);
    asio::ip::tcp::acceptor acceptor{server_io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
    std::function<void()> accept = [&] {
        acceptor.async_accept([&](sse::error_code ec, asio::ip::tcp::socket socket) {
            if (ec)
                return;
            accept();
            auto conn = std::make_shared<sse::tls_socket>(std::move(socket), server_tls);
            auto buffer = std::make_shared<asio::streambuf>();
            conn->async_handshake(asio::ssl::stream_base::server, [conn, buffer](sse::error_code hec) {
                if (hec)
                    return;
                asio::async_read_until(*conn, *buffer, "\r\n\r\n", [conn, buffer](sse::error_code rec, std::size_t) {
                    if (rec)
                        return;
                    auto head = std::make_shared<std::string>(support::sse_head());
                    asio::async_write(*conn, asio::buffer(*head), [conn, head](sse::error_code, std::size_t) {
                        std::make_shared<held_connection>(conn)->read();
                    });
                });
            });
        });
    };
    accept();
    std::thread server_thread([&] { server_io.run(); });

    constexpr std::size_t attempts = 60;
    auto options = immediate_reconnects(attempts);
    options.ca_file = files.cert;
    options.stall_timeout = 1ms;
    std::string const url = "https://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/";
    {
        source_harness<sse::tls_socket> h(url, options);
        h.source.start();
        std::thread a([&] { h.io.run_for(60s); });
        std::thread b([&] { h.io.run_for(60s); });
        a.join();
        b.join();
        CHECK(h.io.stopped());   // nothing left pending once the source ended
        REQUIRE(h.ended());
        CHECK(h.final_reason() == sse::error::reconnect_limit);
        CHECK(h.source.stats().attempts == attempts + 1);
        CHECK(h.count(sse::source_state::open) == attempts + 1);
    }
    asio::post(server_io, [&] { acceptor.close(); });
    server_io.stop();
    server_thread.join();
}
