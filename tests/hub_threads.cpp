#include <sse/hub.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int publishers = 3;
constexpr int events_per_publisher = 8000;
constexpr int consumers = 3;

// Publisher p publishes "p:n" for n = 0, 1, ...; every fifth goes to a topic the
// consumers do not follow.
bool followed(int n) { return n % 5 != 0; }

struct flag_sink : sse::delivery_sink
{
    std::atomic<int> wakes{0};
    std::atomic<int> closes{0};
    void wake() noexcept override { wakes.fetch_add(1, std::memory_order_relaxed); }
    void closed(sse::close_reason) noexcept override { closes.fetch_add(1, std::memory_order_relaxed); }
};

// What one consumer saw, across all its subscriptions.
struct consumer_log
{
    std::string last_id = "e-0";   // the first subscription replays from the start
    std::uint64_t last_seq = 0;
    int next[publishers] = {};   // the next n expected from each publisher
    int received = 0;
    int errors = 0;

    void expect_next(int p)
    {
        do
            ++next[p];
        while (!followed(next[p]));
    }

    void take(std::string const& wire)
    {
        // "id: e-<seq>\ndata: <p>:<n>\n\n"
        auto const id_end = wire.find('\n');
        auto const dash = wire.find('-');
        auto const colon = wire.find(':', id_end);
        auto const colon2 = wire.find(':', colon + 1);
        std::uint64_t seq = 0;
        int p = 0;
        int n = 0;
        std::from_chars(wire.data() + dash + 1, wire.data() + id_end, seq);
        std::from_chars(wire.data() + colon + 2, wire.data() + colon2, p);
        std::from_chars(wire.data() + colon2 + 1, wire.data() + wire.size() - 2, n);
        if (seq <= last_seq || p < 0 || p >= publishers || n != next[p] || !followed(n))
            ++errors;
        last_seq = seq;
        last_id = wire.substr(4, id_end - 4);
        if (p >= 0 && p < publishers)
            expect_next(p);
        ++received;
    }
};

} // namespace

TEST_CASE("hub: threads publish while subscribers come, go and resume without loss or duplicate")
{
    sse::hub_options options;
    options.epoch = "e";
    options.replay.max_events = publishers * events_per_publisher;
    options.replay.max_bytes = std::size_t(64) << 20;
    options.replay.max_age = {};
    options.queue.max_bytes = std::size_t(64) << 20;
    options.queue.max_age = {};
    sse::hub hub(options);
    auto const followed_topic = sse::audience::topic("t");
    auto const other_topic = sse::audience::topic("x");

    std::atomic<int> publishers_done{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < publishers; ++p) {
        threads.emplace_back([&, p] {
            for (int n = 0; n < events_per_publisher; ++n) {
                sse::event e;
                e.data = std::to_string(p) + ":" + std::to_string(n);
                hub.publish(std::move(e), followed(n) ? followed_topic : other_topic);
                if (n % 64 == 0)
                    std::this_thread::yield();
            }
            publishers_done.fetch_add(1);
        });
    }

    std::vector<consumer_log> logs(consumers);
    for (int c = 0; c < consumers; ++c) {
        threads.emplace_back([&, c] {
            consumer_log& log = logs[static_cast<std::size_t>(c)];
            for (int p = 0; p < publishers; ++p)
                log.next[p] = 1;   // 0 is not followed
            std::mt19937 random(static_cast<unsigned>(c));
            std::vector<sse::event_buffer> out;
            bool last_round = false;
            while (!last_round) {
                last_round = publishers_done.load() == publishers;
                sse::subscriber_options o;
                o.topics = {"t"};
                o.last_event_id = log.last_id;
                auto sink = std::make_shared<flag_sink>();
                auto s = hub.subscribe(o, sink);
                int pulls = static_cast<int>(random() % 20);
                for (int i = 0; last_round ? s->queue_size() != 0 : i < pulls; ++i) {
                    out.clear();
                    s->pull(out, 4096, sse::subscriber::clock::now());
                    for (auto const& b : out)
                        log.take(*b);
                    std::this_thread::yield();
                }
                hub.unsubscribe(*s);
            }
        });
    }

    // Churn: short-lived subscribers, kicks and stats, while the rest runs.
    threads.emplace_back([&] {
        std::vector<std::shared_ptr<sse::subscriber>> held;
        std::vector<std::shared_ptr<flag_sink>> sinks;
        int round = 0;
        std::size_t stats_seen = 0;
        while (publishers_done.load() != publishers) {
            sse::subscriber_options o;
            o.topics = {"t", "x"};
            o.user = "u" + std::to_string(round % 3);
            o.coalesce = round % 2 == 0;
            sinks.push_back(std::make_shared<flag_sink>());
            held.push_back(hub.subscribe(o, sinks.back()));
            if (held.size() > 8) {
                if (round % 3 == 0)
                    hub.kick(held.front()->id());
                else
                    hub.unsubscribe(*held.front());
                held.erase(held.begin());
            }
            std::vector<sse::event_buffer> out;
            held.back()->pull(out, 1 << 20, sse::subscriber::clock::now());
            stats_seen = std::max(stats_seen, hub.stats().subscribers);
            ++round;
            std::this_thread::yield();
        }
        for (auto const& s : held)
            hub.unsubscribe(*s);
        CHECK(stats_seen > 0);
    });

    for (auto& t : threads)
        t.join();

    int const per_publisher = events_per_publisher - (events_per_publisher + 4) / 5;
    for (auto const& log : logs) {
        CHECK(log.errors == 0);
        CHECK(log.received == publishers * per_publisher);
    }
    auto const st = hub.stats();
    CHECK(st.published == static_cast<std::uint64_t>(publishers * events_per_publisher));
    CHECK(st.subscribers == 0);
    CHECK(st.resets == 0);
    MESSAGE("subscriptions: " << st.subscribes << ", events replayed: " << st.replayed);
}
