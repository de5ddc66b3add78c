// The event source's policy without sockets: what follows the end of a stream
// (WHATWG HTML 9.2 for 204, fatal answers and reconnects; the documented
// options for back-off, the polling fallback and its trials). The clock is the
// `now` passed in; the random source is the seeded jitter.
#include <sse/client/source_core.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace std::chrono_literals;
using sse::detail::head_outcome;
using sse::detail::source_decision;
using sse::detail::source_item;
using time_point = sse::detail::source_core::clock::time_point;

time_point const t0{std::chrono::hours(1)};

sse::url origin() { return sse::parse_url("http://127.0.0.1:8080/events"); }

sse::event_source_options seeded()
{
    sse::event_source_options o;
    o.jitter_seed = 7;
    o.backoff.initial_retry = 1000ms;
    o.backoff.jitter = 0.5;
    return o;
}

// A fallback whose decoder reads "id:data" lines, one event each.
sse::event_source_options with_fallback(unsigned after_failures = 3)
{
    auto o = seeded();
    o.fallback.url = "/poll";
    o.fallback.after_failures = after_failures;
    o.fallback.stream_retry = 30s;
    o.fallback.decode = [](std::string_view body, sse::poll_batch& out, std::string&) {
        while (!body.empty()) {
            auto const nl = body.find('\n');
            std::string_view line = body.substr(0, nl);
            body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
            auto const colon = line.find(':');
            sse::event e;
            e.id = std::string(line.substr(0, colon));
            e.data = std::string(line.substr(colon + 1));
            out.events.push_back(std::move(e));
        }
        return true;
    };
    return o;
}

// Feeds a whole head; returns what it asks for, and why in `ec`.
head_outcome answer(sse::detail::source_core& core, std::string_view head, sse::error_code& ec)
{
    return core.on_head(head, ec, std::chrono::system_clock::time_point{});
}

head_outcome answer(sse::detail::source_core& core, std::string_view head)
{
    sse::error_code ec;
    return answer(core, head, ec);
}

constexpr std::string_view ok_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n";

// Every item of `body`, as "event:<data>", "duplicate", "opened", "comment", "retry", "ended", "failed".
std::vector<std::string> items(sse::detail::source_core& core, std::string_view body)
{
    std::vector<std::string> out;
    sse::error_code ec;
    for (;;) {
        switch (core.next(body, ec)) {
        case source_item::need_more:
            return out;
        case source_item::event:
            out.push_back("event:" + std::string(core.event().data));
            break;
        case source_item::duplicate:
            out.push_back("duplicate");
            break;
        case source_item::opened:
            out.push_back("opened");
            break;
        case source_item::comment:
            out.push_back("comment");
            break;
        case source_item::retry:
            out.push_back("retry");
            break;
        case source_item::ended:
            out.push_back("ended");
            return out;
        case source_item::failed:
            out.push_back("failed");
            return out;
        }
    }
}

sse::error_code const refused = std::make_error_code(std::errc::connection_refused);

} // namespace

TEST_CASE("source_policy: 204 ends the source, closed, whatever the options")
{
    for (bool fallback : {false, true}) {
        CAPTURE(fallback);
        sse::detail::source_core core(origin(), fallback ? with_fallback(1) : seeded());
        REQUIRE(!core.begin_attempt().error);
        sse::error_code ec;
        CHECK(answer(core, "HTTP/1.1 204 No Content\r\n\r\n", ec) == head_outcome::stop);
        CHECK(ec == sse::error::no_content);
        auto const d = core.ended(ec, true, t0);
        CHECK(d.action == source_decision::end);
        CHECK(d.state == sse::source_state::closed);
        CHECK(d.why == sse::error::no_content);
        CHECK(core.stopped());
        CHECK(!core.restart());
    }
}

TEST_CASE("source_policy: a fatal answer fails the source without a reconnect")
{
    struct fatal_case
    {
        std::string_view head;
        sse::error const why;
    };
    for (auto const& c : {fatal_case{"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", sse::error::bad_content_type},
                          fatal_case{"HTTP/1.1 404 Not Found\r\n\r\n", sse::error::bad_status},
                          fatal_case{"HTTP/1.1 500 Oops\r\n\r\n", sse::error::bad_status},
                          fatal_case{"HTTP/1.1 302 Found\r\n\r\n", sse::error::bad_redirect}}) {
        CAPTURE(c.head);
        sse::detail::source_core core(origin(), seeded());
        REQUIRE(!core.begin_attempt().error);
        sse::error_code ec;
        CHECK(answer(core, c.head, ec) == head_outcome::stop);
        CHECK(ec == c.why);
        auto const d = core.ended(ec, true, t0);
        CHECK(d.action == source_decision::end);
        CHECK(d.state == sse::source_state::failed);
        CHECK(d.why == c.why);
        CHECK(core.stopped());
    }
}

TEST_CASE("source_policy: an event over the limit fails the source; a transport's final error too")
{
    auto o = seeded();
    o.limits.max_line = 16;
    sse::detail::source_core core(origin(), o);
    REQUIRE(!core.begin_attempt().error);
    REQUIRE(answer(core, ok_head) == head_outcome::open);
    CHECK(core.opened(t0));
    std::string_view body = "data: far more than sixteen bytes\n\n";
    sse::error_code ec;
    CHECK(core.next(body, ec) == source_item::failed);
    CHECK(ec == sse::error::line_too_long);
    CHECK(core.ended(ec, false, t0 + 1s).state == sse::source_state::failed);

    // A certificate error is final (the driver says so): no reconnect, not even with a fallback.
    sse::detail::source_core tls(origin(), with_fallback(1));
    REQUIRE(!tls.begin_attempt().error);
    auto const d = tls.ended(refused, true, t0);
    CHECK(d.action == source_decision::end);
    CHECK(d.state == sse::source_state::failed);
}

TEST_CASE("source_policy: an error, a 429 or an opted-in 5xx reconnects after the back-off, from the seeded jitter")
{
    // Attempt 0 draws from [R, R × 1.5], attempt 1 from [2R, 3R] (sse::backoff), R = 1 s.
    sse::detail::source_core a(origin(), seeded());
    sse::detail::source_core b(origin(), seeded());
    std::vector<std::chrono::milliseconds> delays;
    for (int n = 0; n < 2; ++n) {
        REQUIRE(!a.begin_attempt().error);
        REQUIRE(!b.begin_attempt().error);
        auto const da = a.ended(refused, false, t0 + std::chrono::seconds(n));
        auto const db = b.ended(refused, false, t0 + std::chrono::seconds(n));
        REQUIRE(da.action == source_decision::reconnect);
        CHECK(da.state == sse::source_state::waiting);
        CHECK(da.why == refused);
        CHECK(da.delay == db.delay);   // the same seed, the same delays
        delays.push_back(da.delay);
    }
    CHECK(delays[0] >= 1000ms);
    CHECK(delays[0] <= 1500ms);
    CHECK(delays[1] >= 2000ms);
    CHECK(delays[1] <= 3000ms);

    SUBCASE("429 waits exactly its Retry-After")
    {
        REQUIRE(!a.begin_attempt().error);
        sse::error_code ec;
        CHECK(answer(a, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n\r\n", ec) == head_outcome::retry);
        auto const d = a.ended(ec, false, t0 + 5s);
        CHECK(d.action == source_decision::reconnect);
        CHECK(d.delay == 7000ms);
    }
    SUBCASE("a 503 with retry_5xx waits at least its Retry-After")
    {
        auto o = seeded();
        o.retry_5xx = true;
        sse::detail::source_core c(origin(), o);
        REQUIRE(!c.begin_attempt().error);
        sse::error_code ec;
        CHECK(answer(c, "HTTP/1.1 503 Busy\r\nRetry-After: 20\r\n\r\n", ec) == head_outcome::retry);
        auto const d = c.ended(ec, false, t0);
        CHECK(d.action == source_decision::reconnect);
        CHECK(d.delay == 20000ms);
    }
    SUBCASE("the server's retry: sets the floor")
    {
        REQUIRE(!a.begin_attempt().error);
        REQUIRE(answer(a, ok_head) == head_outcome::open);
        CHECK(a.opened(t0 + 10s));
        CHECK(items(a, "retry: 5000\n\n") == std::vector<std::string>{"retry"});
        CHECK(a.retry() == 5000ms);
        // Healthy for healthy_after (10 s): the streak starts again from attempt 0.
        auto const d = a.ended(sse::make_error_code(sse::error::stream_ended), false, t0 + 25s);
        CHECK(d.delay >= 5000ms);
        CHECK(d.delay <= 7500ms);
    }
}

TEST_CASE("source_policy: with reconnect off, an end closes and an error fails")
{
    auto o = seeded();
    o.reconnect = false;
    sse::detail::source_core ended(origin(), o);
    REQUIRE(!ended.begin_attempt().error);
    auto const d = ended.ended(sse::make_error_code(sse::error::stream_ended), false, t0);
    CHECK(d.action == source_decision::end);
    CHECK(d.state == sse::source_state::closed);
    CHECK(d.why == sse::error::stream_ended);

    sse::detail::source_core broken(origin(), o);
    REQUIRE(!broken.begin_attempt().error);
    auto const e = broken.ended(refused, false, t0);
    CHECK(e.action == source_decision::end);
    CHECK(e.state == sse::source_state::failed);
    CHECK(e.why == refused);
}

TEST_CASE("source_policy: an exhausted back-off fails with reconnect_limit, or polls with a fallback")
{
    auto o = seeded();
    o.backoff.max_attempts = 2;
    sse::detail::source_core core(origin(), o);
    for (int n = 0; n < 2; ++n) {
        REQUIRE(!core.begin_attempt().error);
        CHECK(core.ended(refused, false, t0).action == source_decision::reconnect);
    }
    REQUIRE(!core.begin_attempt().error);
    auto const d = core.ended(refused, false, t0);
    CHECK(d.action == source_decision::end);
    CHECK(d.state == sse::source_state::failed);
    CHECK(d.why == sse::error::reconnect_limit);

    auto f = with_fallback(10);
    f.backoff.max_attempts = 1;
    sse::detail::source_core fallback(origin(), f);
    REQUIRE(!fallback.begin_attempt().error);
    CHECK(fallback.ended(refused, false, t0).action == source_decision::reconnect);
    REQUIRE(!fallback.begin_attempt().error);
    auto const p = fallback.ended(refused, false, t0);
    CHECK(p.action == source_decision::poll);
    CHECK(p.state == sse::source_state::polling);
    CHECK(fallback.polling());
}

TEST_CASE("source_policy: the fallback polls after N failures in a row, of any status or the network")
{
    sse::detail::source_core core(origin(), with_fallback(3));
    REQUIRE(core.has_fallback());
    CHECK(core.poll_url().to_string() == "http://127.0.0.1:8080/poll");
    REQUIRE(!core.begin_attempt().error);
    CHECK(core.ended(refused, false, t0).action == source_decision::reconnect);
    REQUIRE(!core.begin_attempt().error);
    sse::error_code ec;
    REQUIRE(answer(core, "HTTP/1.1 404 Not Found\r\n\r\n", ec) == head_outcome::stop);
    CHECK(core.ended(ec, true, t0 + 2s).action == source_decision::reconnect);   // a status is polled instead
    CHECK(!core.polling());
    REQUIRE(!core.begin_attempt().error);
    auto const d = core.ended(refused, false, t0 + 5s);
    CHECK(d.action == source_decision::poll);
    CHECK(d.state == sse::source_state::polling);
    CHECK(d.why == refused);
    CHECK(d.delay == 30s);   // the first trial of the stream
    CHECK(core.polling());

    SUBCASE("an open stream ends the streak")
    {
        sse::detail::source_core c(origin(), with_fallback(2));
        REQUIRE(!c.begin_attempt().error);
        CHECK(c.ended(refused, false, t0).action == source_decision::reconnect);
        REQUIRE(!c.begin_attempt().error);
        REQUIRE(answer(c, ok_head) == head_outcome::open);
        CHECK(c.opened(t0 + 1s));
        CHECK(c.ended(refused, false, t0 + 2s).action == source_decision::reconnect);
        REQUIRE(!c.begin_attempt().error);
        CHECK(c.ended(refused, false, t0 + 3s).action == source_decision::poll);
    }
}

TEST_CASE("source_policy: while polling, a stream attempt is a trial")
{
    sse::detail::source_core core(origin(), with_fallback(1));
    REQUIRE(!core.begin_attempt().error);
    REQUIRE(core.ended(refused, false, t0).action == source_decision::poll);

    // Polls continue after the newest id, and deliver only what is new.
    sse::error_code ec;
    CHECK(core.begin_poll(ec).find("GET /poll HTTP/1.1") == 0);
    REQUIRE(core.poll_answer(200, "1:a\n2:b"));
    CHECK(core.next_polled() == source_item::event);
    CHECK(core.event().data == "a");
    CHECK(core.next_polled() == source_item::event);
    CHECK(core.event().last_event_id == "2");
    CHECK(core.next_polled() == source_item::need_more);
    CHECK(core.begin_poll(ec).find("GET /poll?since=2 HTTP/1.1") == 0);
    CHECK(!core.poll_answer(500, ""));

    // A trial does not announce `connecting`; its failure keeps polling, and retries later.
    auto const trial = core.begin_attempt();
    CHECK(!trial.error);
    CHECK(!trial.connecting);
    CHECK(core.request().find("Last-Event-ID: 2\r\n") != std::string::npos);
    auto const again = core.ended(refused, false, t0 + 30s);
    CHECK(again.action == source_decision::trial);
    CHECK(again.delay == 30s);
    CHECK(core.polling());

    SUBCASE("a trial that opens streams again")
    {
        REQUIRE(!core.begin_attempt().connecting);
        REQUIRE(answer(core, ok_head) == head_outcome::open);
        CHECK(core.opened(t0 + 60s));
        CHECK(!core.polling());
        // Event 1 came by polling already: a duplicate, dropped.
        CHECK(items(core, "id: 1\ndata: a\n\nid: 3\ndata: c\n\n") == std::vector<std::string>{"duplicate", "event:c"});
        CHECK(core.last_event_id() == "3");
        // A failure now counts again from the start of a streak.
        CHECK(core.ended(refused, false, t0 + 61s).action == source_decision::poll);
    }
    SUBCASE("a trial that fails for good ends the source")
    {
        REQUIRE(!core.begin_attempt().error);
        auto const d = core.ended(make_error_code(sse::error::no_content), true, t0 + 60s);
        CHECK(d.action == source_decision::end);
        CHECK(d.state == sse::source_state::closed);
    }
}

TEST_CASE("source_policy: a held-back stream is polled, and streams again only once a trial delivers bytes")
{
    auto o = with_fallback(3);
    o.fallback.probe_after = 5s;
    sse::detail::source_core core(origin(), o);
    REQUIRE(!core.begin_attempt().error);
    REQUIRE(answer(core, ok_head) == head_outcome::open);
    CHECK(core.opened(t0));

    // A probe found events the open stream did not deliver.
    REQUIRE(core.poll_answer(200, "7:x"));
    CHECK(core.next_polled() == source_item::event);
    CHECK(core.next_polled() == source_item::need_more);
    auto const d = core.stream_held_back();
    CHECK(d.action == source_decision::poll);
    CHECK(d.why == sse::error::held_back);
    CHECK(d.delay == 30s);
    CHECK(core.polling());
    CHECK(core.stream_held_back().action == source_decision::trial);   // once only

    // A trial's head alone is not enough: a buffering proxy answers it at once.
    REQUIRE(!core.begin_attempt().connecting);
    REQUIRE(answer(core, ok_head) == head_outcome::open);
    CHECK(!core.opened(t0 + 30s));
    CHECK(core.polling());
    CHECK(items(core, "") == std::vector<std::string>{});
    CHECK(core.polling());
    // Its first bytes are: the state is `open`, then the events come.
    CHECK(items(core, "id: 8\ndata: y\n\n") == std::vector<std::string>{"opened", "event:y"});
    CHECK(!core.polling());
}

TEST_CASE("source_policy: close and restart")
{
    sse::detail::source_core core(origin(), seeded());
    CHECK(!core.restart());   // before the first attempt
    REQUIRE(!core.begin_attempt().error);
    CHECK(core.restart());
    core.close();
    CHECK(core.stopped());
    CHECK(!core.restart());
}

TEST_CASE("source_policy: 429 with Retry-After as an HTTP-date counts from the answer's Date")
{
    // RFC 9110 10.2.3: against the server's own Date, one second later; the wall clock is not read.
    sse::detail::source_core core(origin(), seeded());
    REQUIRE(!core.begin_attempt().error);
    sse::error_code ec;
    CHECK(answer(core,
                 "HTTP/1.1 429 Too Many Requests\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
                 "Retry-After: Sun, 06 Nov 1994 08:49:38 GMT\r\n\r\n",
                 ec) == head_outcome::retry);
    auto const d = core.ended(ec, false, t0);
    CHECK(d.action == source_decision::reconnect);
    CHECK(d.delay == 1000ms);
    CHECK(core.status() == 429);

    SUBCASE("with retry_429 off it fails")
    {
        auto o = seeded();
        o.retry_429 = false;
        sse::detail::source_core off(origin(), o);
        REQUIRE(!off.begin_attempt().error);
        CHECK(answer(off, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\n\r\n", ec) == head_outcome::stop);
        CHECK(off.ended(ec, true, t0).state == sse::source_state::failed);
    }
}

TEST_CASE("source_policy: what the fallback does not cover")
{
    SUBCASE("without a decoder there is no fallback: 404 fails as the spec says")
    {
        auto o = with_fallback(1);
        o.fallback.decode = nullptr;
        sse::detail::source_core core(origin(), o);
        CHECK(!core.has_fallback());
        REQUIRE(!core.begin_attempt().error);
        sse::error_code ec;
        REQUIRE(answer(core, "HTTP/1.1 404 Not Found\r\n\r\n", ec) == head_outcome::stop);
        CHECK(core.ended(ec, true, t0).state == sse::source_state::failed);
    }
    SUBCASE("a one-shot source (reconnect off) does not poll")
    {
        auto o = with_fallback(1);
        o.reconnect = false;
        sse::detail::source_core core(origin(), o);
        REQUIRE(!core.begin_attempt().error);
        sse::error_code ec;
        REQUIRE(answer(core, "HTTP/1.1 503 Busy\r\n\r\n", ec) == head_outcome::stop);
        auto const d = core.ended(ec, true, t0);
        CHECK(d.action == source_decision::end);
        CHECK(d.state == sse::source_state::failed);
    }
    SUBCASE("a fallback URL that cannot be used fails the first attempt")
    {
        auto o = with_fallback(1);
        o.fallback.url = "ftp://elsewhere/poll";
        sse::detail::source_core core(origin(), o);
        auto const start = core.begin_attempt();
        CHECK(start.error == sse::error::bad_url);
        CHECK(core.ended(start.error, true, t0).state == sse::source_state::failed);
    }
}
