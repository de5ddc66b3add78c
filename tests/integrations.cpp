// The "any other server" example of docs/integrations.md: a hub served through
// the sans-I/O pull interface by a server that has its own event loop and its own
// sockets. Here the loop is a task queue and the socket a string, so that the
// example runs as it is; a real server puts its own in their place.
#include <sse/delivery.hpp>
#include <sse/hub.hpp>
#include <sse/parser.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// The other server's event loop: post() from any thread, run on one.
class foreign_loop
{
public:
    void post(std::function<void()> task)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(task));
    }

    // Runs what is queued; returns false when there was nothing.
    bool run_once()
    {
        std::deque<std::function<void()>> batch;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            batch.swap(tasks_);
        }
        for (auto& task : batch)
            task();
        return !batch.empty();
    }

private:
    std::mutex mutex_;
    std::deque<std::function<void()>> tasks_;
};

// One SSE response of that server. It is the subscription's delivery_sink: the
// hub calls wake() from the publishing thread, and the connection pulls on its
// own loop, where it writes.
class sse_connection : public sse::delivery_sink, public std::enable_shared_from_this<sse_connection>
{
public:
    explicit sse_connection(foreign_loop& loop) : loop_(loop) {}

    // What the server does when a request for the stream arrives.
    bool open(sse::hub& hub, sse::subscriber_options who)   // who.last_event_id: replay first
    {
        sse::error_code ec;
        subscriber_ = hub.subscribe(std::move(who), shared_from_this(), ec);   // held weakly
        if (!subscriber_)
            return false;
        write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
        post_flush();            // replayed events are queued without a wake
        return true;
    }

    // Called on the publishing thread, with no lock held: must not block.
    void wake() noexcept override { post_flush(); }
    void closed(sse::close_reason) noexcept override { post_flush(); }

    std::string const& socket() const { return socket_; }
    bool ended() const { return ended_; }

private:
    void post_flush()
    {
        loop_.post([weak = weak_from_this()] {
            if (auto self = weak.lock())
                self->flush();
        });
    }

    void flush()                 // on the server's loop
    {
        if (ended_)
            return;
        std::vector<sse::event_buffer> out;
        sse::pull_result r = subscriber_->pull(out, 64 * 1024, std::chrono::steady_clock::now());
        for (auto const& bytes : out)
            write(*bytes);       // the wire form, ready to send: shared by every subscriber
        if (r.closed)
            return end();        // the hub ended it and everything was pulled
        if (!r.drained)
            post_flush();        // more is ready: pull again once this is written
        // r.next_due: a throttled subscriber; pull again then, without waiting for a wake
    }

    // The server's own (non-blocking) write, and its close.
    void write(std::string_view bytes) { socket_ += bytes; }
    void end() { ended_ = true; }

    foreign_loop& loop_;
    std::shared_ptr<sse::subscriber> subscriber_;
    std::string socket_;
    bool ended_ = false;
};

// The events a client would see in what was written after the response head.
std::vector<sse::event> received(std::string const& socket)
{
    std::vector<sse::event> events;
    sse::parser p;
    p.feed(std::string_view(socket).substr(socket.find("\r\n\r\n") + 4), [&](sse::event_view const& ev) {
        sse::event e;
        e.id = std::string(ev.last_event_id);
        e.type = std::string(ev.type);
        e.data = std::string(ev.data);
        events.push_back(std::move(e));
    });
    return events;
}

} // namespace

TEST_CASE("integrations: a hub served through the pull interface by a server with its own loop")
{
    sse::hub hub;
    foreign_loop loop;

    auto first = std::make_shared<sse_connection>(loop);
    sse::subscriber_options who;
    who.topics = {"news"};
    REQUIRE(first->open(hub, who));

    // Published from another thread, as a real publisher would.
    std::vector<std::string> ids;
    std::thread publisher([&] {
        for (int i = 1; i <= 50; ++i) {
            sse::event e;
            e.data = "item " + std::to_string(i);
            ids.push_back(hub.publish(e, sse::audience::topic("news")).id);
        }
    });
    while (received(first->socket()).size() < 50)
        loop.run_once();
    publisher.join();

    auto const events = received(first->socket());
    REQUIRE(events.size() == 50);
    for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].data == "item " + std::to_string(i + 1));
        CHECK(events[i].id == ids[i]);
    }

    SUBCASE("a second connection resumes after the 20th event with Last-Event-ID")
    {
        auto second = std::make_shared<sse_connection>(loop);
        who.last_event_id = ids[19];
        REQUIRE(second->open(hub, who));
        while (loop.run_once()) {
        }
        auto const replayed = received(second->socket());
        REQUIRE(replayed.size() == 30);
        CHECK(replayed.front().data == "item 21");
        CHECK(replayed.back().id == ids.back());
    }

    SUBCASE("hub shutdown ends the stream after what was queued")
    {
        sse::event last;
        last.data = "last";
        hub.publish(last, sse::audience::topic("news"));
        hub.shutdown();
        while (loop.run_once()) {
        }
        CHECK(first->ended());
        CHECK(received(first->socket()).back().data == "last");
    }
}
