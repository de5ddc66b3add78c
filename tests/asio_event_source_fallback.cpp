// The event source's polling fallback (event_source_options::fallback) against a
// scripted service whose stream endpoint fails, or is held back by something on
// the way, while its polling endpoint works.
#include <sse/asio/event_source.hpp>
#include <sse/json.hpp>

#include "support/run_until.hpp"
#include "support/script_server.hpp"

#include "support/net.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

// What the scripted service has published: event n has id "e<n>" and data "payload <n>".
class journal
{
public:
    void publish(int n = 1)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        count_ += n;
    }

    int size() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return count_;
    }

    // The answer of /poll?since=e<from>, in the example server's JSON.
    std::string poll_after(int from) const
    {
        int const last = size();
        auto events = nlohmann::json::array();
        for (int n = from + 1; n <= last; ++n)
            events.push_back({{"id", "e" + std::to_string(n)}, {"event", "tick"}, {"data", "payload " + std::to_string(n)}});
        return nlohmann::json{{"events", events}, {"lastEventId", "e" + std::to_string(last)}, {"reset", false}}.dump();
    }

    static std::string stream_range(int from, int to)
    {
        std::string out;
        for (int n = from + 1; n <= to; ++n)
            out += "id: e" + std::to_string(n) + "\nevent: tick\ndata: payload " + std::to_string(n) + "\n\n";
        return out;
    }

private:
    mutable std::mutex mutex_;
    int count_ = 0;
};

// "e12" -> 12; anything else -> 0.
int number_of(std::string_view id)
{
    if (id.size() < 2 || id[0] != 'e')
        return 0;
    return std::stoi(std::string(id.substr(1)));
}

std::string since_of(std::string const& target)
{
    auto const at = target.find("since=");
    if (at == std::string::npos)
        return {};
    auto const end = target.find('&', at);
    return target.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
}

// The service: /poll always works; /events answers `down_status` while down,
// holds everything back while `held_back` (a buffering proxy), and streams otherwise.
struct service
{
    journal published;
    std::atomic<int> down_status{0};
    std::atomic<bool> held_back{false};
    std::atomic<int> polls{0};
    support::script_server server{[this](support::script_server::connection& c, support::recorded_request const& r) {
        if (r.target.rfind("/poll", 0) == 0) {
            ++polls;
            c.send(support::status_response(200, "OK", "Content-Type: application/json\r\n",
                                            published.poll_after(number_of(since_of(r.target)))));
            return;
        }
        if (int const status = down_status.load()) {
            c.send(support::status_response(status, status == 404 ? "Not Found" : "Service Unavailable", "",
                                            "no stream here\n"));
            return;
        }
        c.send(support::sse_head());
        if (held_back) {
            c.wait_for_close(20s);   // the proxy answered the head and holds the rest
            return;
        }
        if (!c.send(": stream open\n\n"))   // as servers do (a retry:, a connected event)
            return;
        int sent = number_of(r.header("Last-Event-ID").value_or(""));
        for (;;) {
            int const now = published.size();
            if (now > sent) {
                if (!c.send(journal::stream_range(sent, now)))
                    return;
                sent = now;
            }
            if (c.wait_for_close(10ms) || c.stopping())
                return;
        }
    }};
};

struct client
{
    asio::io_context io;
    std::vector<std::string> ids;
    std::vector<std::pair<sse::source_state, sse::error_code>> states;
    sse::event_source<asio::ip::tcp::socket> source;

    client(std::string const& url, sse::event_source_options options)
        : source(io.get_executor(), url, std::move(options))
    {
        source.on("tick", [this](sse::event_view const& e) {
            ids.emplace_back(e.last_event_id);
            CHECK(e.data == "payload " + std::to_string(number_of(e.last_event_id)));
        });
        source.on_state([this](sse::source_state s, sse::error_code why) { states.emplace_back(s, why); });
        source.start();
    }

    bool run_until(std::function<bool()> done, std::chrono::milliseconds limit = 10s)
    {
        return support::run_until(io, [&] { return done(); }, limit);
    }

    bool in(sse::source_state s) const { return !states.empty() && states.back().first == s; }

    // e1 .. e<n>, each once, in order.
    static std::vector<std::string> expected(int n)
    {
        std::vector<std::string> out;
        for (int i = 1; i <= n; ++i)
            out.push_back("e" + std::to_string(i));
        return out;
    }
};

sse::event_source_options with_fallback()
{
    sse::event_source_options o;
    o.backoff.initial_retry = 20ms;
    o.backoff.min_retry = 1ms;
    o.jitter_seed = 7;
    o.fallback.url = "/poll";
    o.fallback.decode = sse::json_poll_decoder();
    o.fallback.after_failures = 2;
    o.fallback.interval = 40ms;
    o.fallback.stream_retry = 250ms;
    return o;
}

} // namespace

TEST_CASE("event_source fallback: polls while the stream answers 404 or 503, streams again when it returns")
{
    for (int status : {404, 503}) {
        CAPTURE(status);
        service s;
        s.down_status = status;
        s.published.publish(3);
        client c(s.server.url("/events"), with_fallback());

        // Two failed attempts, then polling: the three events arrive by poll.
        REQUIRE(c.run_until([&] { return c.in(sse::source_state::polling) && c.ids.size() == 3; }));
        auto const polling = std::find_if(c.states.begin(), c.states.end(),
                                          [](auto const& st) { return st.first == sse::source_state::polling; });
        REQUIRE(polling != c.states.end());
        CHECK(polling->second == sse::error::bad_status);
        CHECK(c.source.stats().attempts == 2);

        // Published while polling: polled.
        s.published.publish(2);
        REQUIRE(c.run_until([&] { return c.ids.size() == 5; }));
        CHECK(c.in(sse::source_state::polling));

        // The stream comes back: the next trial takes over, and later events stream.
        s.down_status = 0;
        s.published.publish(1);
        REQUIRE(c.run_until([&] { return c.in(sse::source_state::open) && c.ids.size() == 6; }));
        int const polls_when_streaming = s.polls.load();
        s.published.publish(2);
        REQUIRE(c.run_until([&] { return c.ids.size() == 8; }));
        CHECK(c.in(sse::source_state::open));

        CHECK(c.ids == client::expected(8));   // none lost, none twice, in order
        auto const st = c.source.stats();
        CHECK(st.fallbacks == 1);
        CHECK(st.events_polled >= 5);
        CHECK(st.last_event_id == "e8");
        // The trial that took over resumed from the newest id polled (e5 or e6,
        // as polls go on during it): the stream did not resend what was polled.
        int resumed_from = -1;
        for (auto const& r : s.server.requests())
            if (r.target == "/events")
                resumed_from = number_of(r.header("Last-Event-ID").value_or(""));
        CHECK(resumed_from >= 5);
        // No poll after the stream took over (one may have been in flight).
        CHECK(s.polls.load() <= polls_when_streaming + 1);
        c.source.close();
        s.server.stop();
    }
}

TEST_CASE("event_source fallback: a stream held back on its way is noticed by a probe and replaced by polling")
{
    service s;
    s.held_back = true;
    auto options = with_fallback();
    options.fallback.probe_after = 150ms;
    client c(s.server.url("/events"), options);
    REQUIRE(c.run_until([&] { return c.in(sse::source_state::open); }));

    // Quiet with nothing to find: probes keep the stream.
    REQUIRE(c.run_until([&] { return s.polls.load() >= 2; }));
    CHECK(c.in(sse::source_state::open));
    CHECK(c.ids.empty());

    // Events the stream does not deliver but a probe finds: polling, with held_back.
    s.published.publish(2);
    REQUIRE(c.run_until([&] { return c.in(sse::source_state::polling) && c.ids.size() == 2; }));
    CHECK(c.states.back().second == sse::error::held_back);

    // The proxy stops buffering: a trial streams again once its first bytes arrive.
    s.held_back = false;
    s.published.publish(1);
    REQUIRE(c.run_until([&] { return c.in(sse::source_state::open) && c.ids.size() == 3; }));
    s.published.publish(1);
    REQUIRE(c.run_until([&] { return c.ids.size() == 4; }));
    CHECK(c.ids == client::expected(4));
    c.source.close();
}

TEST_CASE("event_source fallback: what it does not cover")
{
    service s;
    SUBCASE("without a decoder there is no fallback: 404 fails as the spec says")
    {
        s.down_status = 404;
        auto options = with_fallback();
        options.fallback.decode = nullptr;
        client c(s.server.url("/events"), options);
        REQUIRE(c.run_until([&] { return c.in(sse::source_state::failed); }));
        CHECK(c.states.back().second == sse::error::bad_status);
        CHECK(s.polls.load() == 0);
    }
    SUBCASE("a one-shot source (reconnect off) does not poll")
    {
        s.down_status = 503;
        auto options = with_fallback();
        options.reconnect = false;
        client c(s.server.url("/events"), options);
        REQUIRE(c.run_until([&] { return c.in(sse::source_state::failed); }));
        CHECK(s.polls.load() == 0);
    }
    SUBCASE("a fallback URL that cannot be used fails the first attempt")
    {
        auto options = with_fallback();
        options.fallback.url = "ftp://elsewhere/poll";
        client c(s.server.url("/events"), options);
        REQUIRE(c.run_until([&] { return c.in(sse::source_state::failed); }));
        CHECK(c.states.back().second == sse::error::bad_url);
    }
    SUBCASE("an answer the decoder refuses is a failed poll; polling goes on")
    {
        s.down_status = 503;
        auto options = with_fallback();
        int calls = 0;
        options.fallback.decode = [&](std::string_view body, sse::poll_batch& out, std::string& why) {
            if (++calls <= 2) {
                why = "not yet";
                return false;
            }
            return sse::json_poll_decoder()(body, out, why);
        };
        s.published.publish(1);
        client c(s.server.url("/events"), options);
        REQUIRE(c.run_until([&] { return c.ids.size() == 1; }));
        CHECK(c.source.stats().poll_failures == 2);
        CHECK(c.in(sse::source_state::polling));
    }
}

TEST_CASE("event_source fallback: reconnect() while polling tries the stream at once")
{
    service s;
    s.down_status = 503;
    s.published.publish(2);
    auto options = with_fallback();
    options.fallback.stream_retry = 30s;   // a trial that waited for this would be seen
    client c(s.server.url("/events"), options);
    REQUIRE(c.run_until([&] { return c.in(sse::source_state::polling) && c.ids.size() == 2; }));
    auto const stream_requests = [&] {
        std::size_t n = 0;
        for (auto const& r : s.server.requests())
            n += r.target == "/events";
        return n;
    };
    std::size_t const before = stream_requests();

    s.down_status = 0;
    c.source.reconnect();
    REQUIRE(c.run_until([&] { return c.in(sse::source_state::open); }, 5s));
    CHECK(stream_requests() == before + 1);
    // It resumed from the newest id polled.
    auto const requests = s.server.requests();
    std::string last_id;
    for (auto const& r : requests)
        if (r.target == "/events")
            last_id = r.header("Last-Event-ID").value_or("");
    CHECK(last_id == "e2");
    s.published.publish(1);
    REQUIRE(c.run_until([&] { return c.ids.size() == 3; }));
    CHECK(c.ids == client::expected(3));
    c.source.close();
    s.server.stop();
}
