// tests/support/test_server.hpp - a loopback SSE server for integration tests.
//
// sse::listener on 127.0.0.1 port 0, an sse::hub, and sse::attach for each
// `GET /events`, with the io_context run on two threads. Query parameters map
// to subscriber_options:
//   topics=a,b  user=u  rate=<per second>  burst=n  coalesce=1  filter=<key prefix>
//   policy=disconnect|drop_oldest|coalesce  max_bytes=n  retry_hint=<ms>  name=<label>
// and the Last-Event-ID header to subscriber_options::last_event_id. Tests publish
// through hub() directly, from their own threads.
#ifndef SSE_TESTS_SUPPORT_TEST_SERVER_HPP
#define SSE_TESTS_SUPPORT_TEST_SERVER_HPP

#include <sse/asio/attach.hpp>
#include <sse/asio/listener.hpp>
#include <sse/asio/response.hpp>
#include <sse/asio/stream.hpp>
#include <sse/hub.hpp>

#include "net.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace support {

using namespace std::chrono_literals;

/// Waits, without sleeping, until `done()` holds; false if `limit` passed first.
template<class Predicate>
bool wait_until(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(5))
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return done();
        std::this_thread::yield();
    }
    return true;
}

struct server_config
{
    server_config()
    {
        hub.epoch = "itest";
        stream.retry = std::chrono::milliseconds(1000);
        stream.heartbeat_interval = 0ms;
        stream.write_timeout = 2s;
        attach.shutdown_deadline = 1s;
    }

    sse::hub_options hub;
    sse::stream_options stream;
    sse::attach_options attach;   // on_close, if set, is called after the server's own
    sse::listener_options listener;
    int send_buffer = 0;          // SO_SNDBUF of accepted connections; 0: the kernel's default
    int threads = 2;
};

/// How one attached stream ended.
struct closed_stream
{
    std::string name;
    std::uint64_t subscriber = 0;
    sse::error_code reason;
};

class test_server
{
public:
    using socket = asio::ip::tcp::socket;

    explicit test_server(server_config config = {})
        : config_(std::move(config)),
          hub_(config_.hub),
          stream_options_(std::make_shared<sse::stream_options const>(config_.stream))
    {
        listener_ = std::make_shared<sse::listener>(
            io_.get_executor(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0),
            [this](sse::http::request_head head, socket s, std::string_view) {
                on_request(std::move(head), std::move(s));
            },
            config_.listener);
        listener_->start();
        for (int i = 0; i < config_.threads; ++i)
            threads_.emplace_back([this] {
                io_.run();
                returned_.fetch_add(1);
            });
    }

    test_server(test_server const&) = delete;
    test_server& operator=(test_server const&) = delete;

    ~test_server() { stop(); }

    unsigned short port() const { return listener_->local_endpoint().port(); }
    sse::hub& hub() noexcept { return hub_; }
    sse::listener& listener() noexcept { return *listener_; }

    /** Stops the listener and shuts the hub down, then lets the io_context run
        out of work. Returns how long its threads took to return; if they have
        not returned after `limit`, stops the io_context and sets hung().
    */
    std::chrono::milliseconds stop(std::chrono::milliseconds limit = 10s)
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        if (threads_.empty())
            return stopped_in_;
        auto const start = std::chrono::steady_clock::now();
        listener_->stop();
        hub_.shutdown();
        guard_.reset();
        if (!wait_until([&] { return returned_.load() == threads_.size(); }, limit)) {
            hung_ = true;
            io_.stop();
        }
        for (auto& t : threads_)
            t.join();
        threads_.clear();
        stopped_in_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        return stopped_in_;
    }

    bool hung() const noexcept { return hung_; }

    /// The streams that have ended, in order.
    std::vector<closed_stream> closed() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return closed_;
    }

    /// The reasons of the ended streams called `name`.
    std::vector<sse::error_code> closed_reasons(std::string const& name) const
    {
        std::vector<sse::error_code> out;
        for (auto const& c : closed())
            if (c.name == name)
                out.push_back(c.reason);
        return out;
    }

    /// The subscriber id of the last stream attached as `name`; 0 if none.
    std::uint64_t subscriber_id(std::string const& name) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto const it = names_.find(name);
        return it == names_.end() ? 0 : it->second;
    }

    std::size_t subscribers() const { return hub_.stats().subscribers; }

private:
    static std::vector<std::string> split(std::string_view s)
    {
        std::vector<std::string> out;
        while (!s.empty()) {
            auto const comma = s.find(',');
            auto const part = s.substr(0, comma);
            if (!part.empty())
                out.emplace_back(part);
            if (comma == std::string_view::npos)
                break;
            s.remove_prefix(comma + 1);
        }
        return out;
    }

    static std::uint64_t number(std::string_view s)
    {
        return std::strtoull(std::string(s).c_str(), nullptr, 10);
    }

    sse::subscriber_options options_for(sse::http::request_head const& head) const
    {
        sse::subscriber_options o;
        if (auto v = head.param("topics"))
            o.topics = split(*v);
        if (auto v = head.param("user"))
            o.user = std::string(*v);
        if (auto v = head.param("rate"))
            o.max_per_second = std::strtod(std::string(*v).c_str(), nullptr);
        if (auto v = head.param("burst"))
            o.burst = number(*v);
        if (auto v = head.param("coalesce"))
            o.coalesce = *v == "1";
        if (auto v = head.param("filter"))
            o.filter = [prefix = std::string(*v)](sse::published_event const& e) {
                return e.key.compare(0, prefix.size(), prefix) == 0;
            };
        if (auto v = head.fields().find("Last-Event-ID"))
            o.last_event_id = std::string(*v);
        auto policy = head.param("policy");
        auto max_bytes = head.param("max_bytes");
        auto retry_hint = head.param("retry_hint");
        if (policy || max_bytes || retry_hint) {
            sse::queue_limits l = config_.hub.queue;
            if (policy == std::string_view("disconnect"))
                l.policy = sse::slow_consumer_policy::disconnect;
            else if (policy == std::string_view("drop_oldest"))
                l.policy = sse::slow_consumer_policy::drop_oldest;
            else if (policy == std::string_view("coalesce"))
                l.policy = sse::slow_consumer_policy::coalesce;
            if (max_bytes)
                l.max_bytes = number(*max_bytes);
            if (retry_hint)
                l.retry_hint = std::chrono::milliseconds(number(*retry_hint));
            o.limits = l;
        }
        return o;
    }

    void on_request(sse::http::request_head head, socket s)
    {
        if (head.method() != "GET" || head.path() != "/events") {
            sse::response r;
            r.status = 404;
            r.body = "no such stream\n";
            return sse::respond_and_close(std::move(s), r);
        }
        if (config_.send_buffer > 0) {
            test::net_error_code ignored;
            s.set_option(asio::socket_base::send_buffer_size(config_.send_buffer), ignored);
        }
        std::string name(head.param("name").value_or("client"));
        auto stream = std::make_shared<sse::stream<socket>>(std::move(s), stream_options_);
        auto id = std::make_shared<std::atomic<std::uint64_t>>(0);
        sse::attach_options how = config_.attach;
        how.on_close = [this, name, id, user = config_.attach.on_close](sse::error_code why) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                closed_.push_back({name, id->load(), why});
            }
            if (user)
                user(why);
        };
        sse::error_code ec;
        auto sub = sse::attach(hub_, stream, options_for(head), how, ec);
        if (!sub) {
            sse::response r;
            r.status = 503;
            r.body = ec.message() + "\n";
            return sse::respond_and_close(std::move(stream->socket()), r);
        }
        id->store(sub->id());
        {
            std::lock_guard<std::mutex> lock(mutex_);
            names_[name] = sub->id();
        }
        stream->start(head);
    }

    server_config config_;
    sse::hub hub_;   // outlives the io_context, so every stream attached to it
    std::shared_ptr<sse::stream_options const> stream_options_;
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
    std::shared_ptr<sse::listener> listener_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> returned_{0};
    std::mutex stop_mutex_;
    std::chrono::milliseconds stopped_in_{0};
    bool hung_ = false;
    mutable std::mutex mutex_;
    std::map<std::string, std::uint64_t> names_;
    std::vector<closed_stream> closed_;
};

} // namespace support

#endif
