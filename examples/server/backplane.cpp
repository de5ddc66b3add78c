// backplane.cpp - the --redis flags checked and turned into sse::redis::backplane_options, and the
// backplane run on its own thread. Without SSE_SERVER_HAS_REDIS (no hiredis at build time) --redis
// is refused at start-up with a message that says so.
#include "backplane.hpp"

#include "log.hpp"

#if SSE_SERVER_HAS_REDIS
#include <sse/redis/backplane.hpp>
#include <sse/redis/error.hpp>
#include <sse/redis/options.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

#include <stdexcept>
#include <string_view>

namespace app {
namespace {

constexpr char const* url_form = "redis://[[user]:password@]host:port/namespace";

// The flags that only mean something with --redis.
std::optional<std::string> redis_flags_without_url(config const& c)
{
    char const* flag = !c.redis_sentinel.empty() ? "--redis-sentinel"
                       : !c.redis_master.empty() ? "--redis-master"
                       : c.redis_durable         ? "--redis-durable"
                       : c.redis_max_len         ? "--redis-max-len"
                                                 : nullptr;
    if (flag == nullptr)
        return std::nullopt;
    return std::string(flag) + " needs --redis " + url_form + ": the URL names the namespace to share";
}

#if SSE_SERVER_HAS_REDIS

// `url` with the password replaced, for error messages and logs.
std::string redacted(std::string_view url)
{
    auto const scheme = url.find("://");
    if (scheme == std::string_view::npos)
        return std::string(url);
    auto const authority = scheme + 3;
    auto const path = url.find('/', authority);
    auto const at = url.substr(0, path).rfind('@');
    if (at == std::string_view::npos || at < authority)
        return std::string(url);
    auto const colon = url.substr(0, at).find(':', authority);
    if (colon == std::string_view::npos)
        return std::string(url);
    return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

// With sentinels the URL's host is ignored, so it may be left out (redis:///ns,
// redis://:password@/ns): a placeholder keeps parse_url, which needs a host, content.
std::string with_host_for_sentinels(std::string url)
{
    auto const scheme = url.find("://");
    if (scheme == std::string::npos)
        return url;
    auto const authority = scheme + 3;
    auto path = url.find('/', authority);
    if (path == std::string::npos)
        path = url.size();
    auto const at = url.substr(0, path).rfind('@');
    auto const host = at == std::string::npos || at < authority ? authority : at + 1;
    if (host == path || url[host] == ':')
        url.insert(host, "sentinel-master");
    return url;
}

// The options of `c`, or why there are none (naming the flag).
std::optional<sse::redis::backplane_options> options_for(config const& c, std::string& problem)
{
    sse::redis::backplane_options o;
    std::string const url = c.redis_sentinel.empty() ? c.redis : with_host_for_sentinels(c.redis);
    sse::error_code ec;
    sse::redis::parse_url(url, o, ec);
    if (ec == sse::redis::error::bad_namespace) {
        problem = "--redis \"" + redacted(c.redis) + "\": the namespace (the URL's path) must be 1 to 64 characters "
                  "of A-Z, a-z, 0-9, '_', '.' and '-', e.g. redis://127.0.0.1:6379/notifications";
        return std::nullopt;
    }
    if (ec) {
        problem = "--redis \"" + redacted(c.redis) + "\" is not a Redis URL (" + ec.message() + "): expected " +
                  url_form;
        return std::nullopt;
    }
    if (o.password.empty())
        o.password = c.redis_password;

    if (!c.redis_sentinel.empty()) {
        std::string list;
        for (auto const& s : c.redis_sentinel)
            list += (list.empty() ? "" : ",") + s;
        o.sentinels = sse::redis::parse_endpoints(list, 26379, ec);
        if (ec || o.sentinels.empty()) {
            problem = "--redis-sentinel \"" + list + "\" is not a list of sentinels (" +
                      (ec ? ec.message() : std::string("it is empty")) + "): expected host:port,host:port,...";
            return std::nullopt;
        }
        if (c.redis_master.empty()) {
            problem = "--redis-sentinel needs --redis-master: the name the sentinels monitor the master under";
            return std::nullopt;
        }
        o.master_name = c.redis_master;
    } else if (!c.redis_master.empty()) {
        problem = "--redis-master needs --redis-sentinel: the sentinels to ask for the master's address";
        return std::nullopt;
    }
    o.durable = c.redis_durable;
    if (c.redis_max_len)
        o.max_len = *c.redis_max_len;
    return o;
}

char const* to_string(sse::backplane_state s) noexcept
{
    switch (s) {
    case sse::backplane_state::connecting: return "connecting";
    case sse::backplane_state::connected: return "connected";
    case sse::backplane_state::disconnected: return "disconnected";
    }
    return "disconnected";
}

#endif

} // namespace

#if SSE_SERVER_HAS_REDIS

bool backplane_supported() noexcept { return true; }

std::optional<std::string> backplane_problem(config const& c)
{
    if (c.redis.empty())
        return redis_flags_without_url(c);
    std::string problem;
    if (!options_for(c, problem))
        return problem;
    return std::nullopt;
}

struct backplane_runner::impl
{
    impl(config const& c, logger const& l, sse::redis::backplane_options o)
        : log(l),
          unhealthy_after(c.redis_unhealthy_after),
          guard(io.get_executor()),
          watch(io),
          created(std::chrono::steady_clock::now())
    {
        backplane = sse::redis::backplane::create(io.get_executor(), std::move(o));
        thread = std::thread([this] { run(); });
        asio::post(io, [this] { tick(); });
    }

    void run()
    {
        for (;;) {
            try {
                io.run();
                break;
            } catch (std::exception const& e) {
                log.error("backplane_thread_error", {{"error", e.what()}});
            }
        }
        std::lock_guard<std::mutex> lock(mutex);
        finished = true;
        ended.notify_all();
    }

    backplane_snapshot snapshot(std::chrono::steady_clock::time_point now) const
    {
        auto const s = backplane->stats();
        auto const& o = backplane->options();
        backplane_snapshot out;
        out.state = to_string(s.state);
        out.ns = o.ns;
        out.server = s.server;
        out.durable = o.durable;
        out.epoch = s.epoch;
        out.position = s.position;
        out.lag = s.lag;
        out.reconnects = s.reconnects;
        out.epoch_changes = s.epoch_changes;
        out.published = s.published;
        out.publish_failures = s.publish_failures;
        out.duplicates = s.duplicates;
        out.history_reads = s.history_reads;
        out.entries_read = s.entries_read;
        out.last_error = s.last_error;
        if (s.state != sse::backplane_state::connected) {
            auto const since = s.unreachable_since.value_or(created);
            auto const gone = now > since ? now - since : std::chrono::steady_clock::duration::zero();
            out.unreachable_for = std::chrono::duration_cast<std::chrono::milliseconds>(gone);
            out.unhealthy = *out.unreachable_for >= unhealthy_after;
        }
        return out;
    }

    // Polls the backplane's state and logs what changed: the library has no log of its own.
    void tick()
    {
        if (stopping)
            return;
        auto const s = snapshot(std::chrono::steady_clock::now());
        bool const connected = s.state == "connected";
        if (s.state != last.state || (!connected && s.last_error != last.last_error)) {
            if (connected)
                log.info("backplane_connected",
                         {{"server", s.server}, {"namespace", s.ns}, {"epoch", s.epoch}, {"position", s.position}});
            else if (s.state != "connecting" || !s.last_error.empty())
                log.warn("backplane_unavailable", {{"state", s.state}, {"server", s.server}, {"namespace", s.ns},
                                                   {"error", s.last_error.empty() ? "connection lost" : s.last_error}});
        }
        if (connected) {
            if (!last_epoch.empty() && s.epoch != last_epoch)
                log.warn("backplane_epoch_changed",
                         {{"from", last_epoch}, {"to", s.epoch},
                          {"note", "Redis restarted or failed over: streams were sent a reset"}});
            last_epoch = s.epoch;
        }
        if (s.unhealthy != last.unhealthy) {
            if (s.unhealthy)
                log.error("backplane_unhealthy",
                          {{"unreachable_ms", s.unreachable_for ? s.unreachable_for->count() : 0},
                           {"error", s.last_error}});
            else
                log.info("backplane_healthy", {{"state", s.state}});
        }
        last.state = s.state;
        last.last_error = s.last_error;
        last.unhealthy = s.unhealthy;
        watch.expires_after(std::chrono::milliseconds(200));
        watch.async_wait([this](sse::error_code ec) {
            if (!ec)
                tick();
        });
    }

    logger const& log;
    std::chrono::milliseconds unhealthy_after;
    asio::io_context io{1};
    asio::executor_work_guard<asio::io_context::executor_type> guard;
    asio::steady_timer watch;
    std::chrono::steady_clock::time_point created;
    std::shared_ptr<sse::redis::backplane> backplane;
    std::thread thread;
    std::atomic<bool> stopping{false};
    // What tick() saw last; on the thread only.
    backplane_snapshot last;
    std::string last_epoch;

    std::mutex mutex;
    std::condition_variable ended;
    bool finished = false;
};

backplane_runner::backplane_runner(config const& c, logger const& log)
{
    if (auto why = redis_flags_without_url(c); c.redis.empty() && why)
        throw std::runtime_error(*why);
    if (c.redis.empty())
        return;
    std::string problem;
    auto o = options_for(c, problem);
    if (!o)
        throw std::runtime_error(problem);
    impl_ = std::make_unique<impl>(c, log, std::move(*o));
}

std::shared_ptr<sse::backplane> backplane_runner::get() const
{
    return impl_ ? impl_->backplane : nullptr;
}

std::optional<backplane_snapshot> backplane_runner::snapshot(std::chrono::steady_clock::time_point now) const
{
    if (!impl_)
        return std::nullopt;
    return impl_->snapshot(now);
}

void backplane_runner::stop() noexcept
{
    if (!impl_ || impl_->stopping.exchange(true))
        return;
    impl_->backplane->stop();
    asio::post(impl_->io, [i = impl_.get()] { i->watch.cancel(); });
    impl_->guard.reset();
    {
        // Once stopped, the backplane's pending operations complete and the thread runs
        // out of work; a backplane that kept it busy is not waited for beyond the deadline.
        std::unique_lock<std::mutex> lock(impl_->mutex);
        if (!impl_->ended.wait_for(lock, std::chrono::seconds(5), [this] { return impl_->finished; })) {
            impl_->log.warn("backplane_stop_deadline_passed");
            impl_->io.stop();
        }
    }
    impl_->thread.join();
}

#else

bool backplane_supported() noexcept { return false; }

std::optional<std::string> backplane_problem(config const& c)
{
    if (c.redis.empty())
        return redis_flags_without_url(c);
    return std::string("--redis: this sse-server was built without the Redis backplane (hiredis was not found "
                       "when it was built): install libhiredis-dev (Debian) and rebuild, or leave --redis out");
}

struct backplane_runner::impl
{
};

backplane_runner::backplane_runner(config const& c, logger const&)
{
    if (auto why = backplane_problem(c))
        throw std::runtime_error(*why);
}

std::shared_ptr<sse::backplane> backplane_runner::get() const { return nullptr; }

std::optional<backplane_snapshot> backplane_runner::snapshot(std::chrono::steady_clock::time_point) const
{
    return std::nullopt;
}

void backplane_runner::stop() noexcept {}

#endif

backplane_runner::~backplane_runner() { stop(); }

} // namespace app
