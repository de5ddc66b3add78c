// sse/redis/impl/backplane.hpp - bodies of sse::redis::backplane.
#ifndef SSE_REDIS_IMPL_BACKPLANE_HPP
#define SSE_REDIS_IMPL_BACKPLANE_HPP

#include <sse/redis/backplane.hpp>
#include <sse/redis/detail/connection.hpp>
#include <sse/redis/detail/log_codec.hpp>

#include <sse/asio/net.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <utility>

SSE_NAMESPACE_BEGIN
namespace redis {

// Everything runs on one strand: the connection cycle, the reader loop, publishes
// and reads. `generation` numbers connection cycles, so that a callback of a
// connection already given up does nothing.
struct backplane::state : std::enable_shared_from_this<backplane::state>
{
    using conn = detail::connection;
    using clock = std::chrono::steady_clock;

    state(net::any_io_executor ex, backplane_options const& o)
        : strand(net::make_strand(ex)), options(o), timer(strand), retry(o.reconnect), rng(std::random_device{}())
    {
        meta_key = "{" + o.ns + "}:meta";
        log_key = "{" + o.ns + "}:log";
        idem_prefix = "{" + o.ns + "}:idem:";
    }

    net::strand<net::any_io_executor> strand;
    backplane_options options;
    std::string meta_key, log_key, idem_prefix;

    // On the strand.
    std::shared_ptr<backplane_receiver> receiver;
    std::size_t tail = 0;
    std::shared_ptr<conn> cmd, reader;
    std::string publish_sha, sync_sha, run_id;
    std::string epoch;
    std::uint64_t cursor = 0;
    std::uint64_t generation = 0;
    bool stopped = false;
    bool ever_connected = false;
    net::steady_timer timer;
    backoff retry;
    std::mt19937 rng;

    // Read from any thread.
    std::atomic<bool> connected{false};
    mutable std::mutex stats_mutex;
    backplane_stats counters;

    template<class F>
    void update(F&& f)
    {
        std::lock_guard<std::mutex> lock(stats_mutex);
        f(counters);
    }

    // The connection cycle ---------------------------------------------------

    void begin()
    {
        ++generation;
        if (options.sentinels.empty()) {
            open(options.server, generation);
            return;
        }
        ask_sentinel(0, generation);
    }

    // Asks the sentinels in turn for the master's address.
    void ask_sentinel(std::size_t i, std::uint64_t g)
    {
        if (i == options.sentinels.size()) {
            fail(error::no_master, g);
            return;
        }
        auto s = conn::create(strand, 64 * 1024);
        std::weak_ptr<state> weak = weak_from_this();
        auto const& at = options.sentinels[i];
        s->async_connect(at.host, at.port, options.connect_timeout, [weak, s, i, g](error_code ec) {
            auto self = weak.lock();
            if (!self || self->stale(g))
                return s->close();
            if (ec)
                return self->ask_sentinel(i + 1, g);
            self->ask_master(s, i, g);
        });
    }

    void ask_master(std::shared_ptr<conn> const& s, std::size_t i, std::uint64_t g)
    {
        std::weak_ptr<state> weak = weak_from_this();
        s->async_command({"SENTINEL", "get-master-addr-by-name", options.master_name}, options.command_timeout,
            [weak, s, i, g](error_code ec, detail::reply r) {
                s->close();
                auto self = weak.lock();
                if (!self || self->stale(g))
                    return;
                std::uint64_t port = 0;
                if (ec || r.type != detail::reply::kind::array || r.elements.size() != 2 ||
                    !detail::parse_u64(r.elements[1].str, port) || port == 0 || port > 65535)
                    return self->ask_sentinel(i + 1, g);
                self->open(endpoint{r.elements[0].str, static_cast<std::uint16_t>(port)}, g);
            });
    }

    // The completion of one step of a connection cycle: does nothing once the
    // backplane is gone or the cycle given up, fails the cycle on an error, and
    // otherwise goes on with `next(state&, results...)`. Handlers hold the state
    // weakly: a backplane dropped while its io_context is stopped leaves no cycle
    // between its state and its connections' pending handlers.
    template<class Next>
    auto step(std::uint64_t g, Next next)
    {
        return [weak = weak_from_this(), g, next = std::move(next)](error_code ec, auto&&... result) mutable {
            auto self = weak.lock();
            if (!self || self->stale(g))
                return;
            if (ec)
                return self->fail(ec, g);
            next(*self, std::forward<decltype(result)>(result)...);
        };
    }

    void open(endpoint const& at, std::uint64_t g)
    {
        update([&](backplane_stats& s) { s.server = at.host + ":" + std::to_string(at.port); });
        cmd = conn::create(strand, options.max_reply_bytes);
        reader = conn::create(strand, options.max_reply_bytes);
        cmd->async_connect(at.host, at.port, options.connect_timeout, step(g, [at, g](state& self) {
            self.reader->async_connect(
                at.host, at.port, self.options.connect_timeout, self.step(g, [g](state& s) { s.authenticate(g); }));
        }));
    }

    void authenticate(std::uint64_t g)
    {
        if (options.password.empty())
            return identify(g);
        std::vector<std::string> auth{"AUTH"};
        if (!options.username.empty())
            auth.push_back(options.username);
        auth.push_back(options.password);
        // Both connections authenticate; commands are answered in order, so the
        // reader's first read fails after a refused AUTH anyway.
        reader->async_command(auth, options.command_timeout, step(g, [](state&, detail::reply const&) {}));
        cmd->async_command(std::move(auth), options.command_timeout,
            step(g, [g](state& self, detail::reply const&) { self.identify(g); }));
    }

    // The server's run_id names the epoch when not durable; its version must have Streams.
    void identify(std::uint64_t g)
    {
        cmd->async_command({"INFO", "server"}, options.command_timeout, step(g, [g](state& self, detail::reply r) {
            std::string_view const info = r.str;
            auto field = [&](std::string_view name) -> std::string_view {
                auto at = info.find(name);
                if (at == std::string_view::npos)
                    return {};
                at += name.size();
                auto const end = info.find_first_of("\r\n", at);
                return info.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
            };
            self.run_id = std::string(field("run_id:"));
            std::uint64_t major = 0;
            auto const version = field("redis_version:");
            if (!detail::parse_u64(version.substr(0, version.find('.')), major) || self.run_id.empty())
                return self.fail(error::protocol_error, g);
            if (major < 5)
                return self.fail(error::no_streams, g);
            self.load_scripts(g);
        }));
    }

    void load_scripts(std::uint64_t g)
    {
        cmd->async_command({"SCRIPT", "LOAD", std::string(detail::publish_script)}, options.command_timeout,
            step(g, [](state& self, detail::reply r) { self.publish_sha = std::move(r.str); }));
        cmd->async_command({"SCRIPT", "LOAD", std::string(detail::sync_script)}, options.command_timeout,
            step(g, [g](state& self, detail::reply r) {
                self.sync_sha = std::move(r.str);
                self.synchronise(g);
            }));
    }

    std::string fresh_epoch()
    {
        static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
        std::uniform_int_distribution<int> pick(0, 35);
        std::string e(12, '0');
        for (auto& c : e)
            c = digits[pick(rng)];
        return e;
    }

    void synchronise(std::uint64_t g)
    {
        cmd->async_command({"EVALSHA", sync_sha, "2", meta_key, log_key, run_id, fresh_epoch(),
                               options.durable ? "1" : "0", std::to_string(tail)},
            options.command_timeout, step(g, [g](state& self, detail::reply r) { self.synced(std::move(r), g); }));
    }

    void synced(detail::reply r, std::uint64_t g)
    {
        std::uint64_t head = 0;
        if (r.type != detail::reply::kind::array || r.elements.size() != 4 ||
            r.elements[0].type != detail::reply::kind::string || !detail::parse_u64(r.elements[1].str, head) ||
            r.elements[2].type != detail::reply::kind::array)
            return fail(error::protocol_error, g);
        std::string const log_epoch = r.elements[0].str;
        std::vector<log_entry> entries;
        entries.reserve(r.elements[2].elements.size());
        std::string entry_epoch;
        // XREVRANGE gives the newest first.
        for (auto it = r.elements[2].elements.rbegin(); it != r.elements[2].elements.rend(); ++it) {
            log_entry e;
            if (detail::decode_entry(*it, e, entry_epoch) && entry_epoch == log_epoch)
                entries.push_back(std::move(e));
        }
        bool const new_epoch = !epoch.empty() && epoch != log_epoch;
        bool const reconnect = ever_connected;
        epoch = log_epoch;
        cursor = head;
        ever_connected = true;
        connected = true;
        retry.opened(clock::now());
        update([&](backplane_stats& s) {
            s.state = backplane_state::connected;
            s.epoch = log_epoch;
            s.position = head;
            s.lag = 0;
            s.unreachable_since.reset();
            if (reconnect)
                ++s.reconnects;
            if (new_epoch)
                ++s.epoch_changes;
        });
        if (receiver) {
            receiver->synced(log_epoch, head, std::move(entries));
            receiver->state(backplane_state::connected);
        }
        read_next(g);
    }

    // The reader -------------------------------------------------------------

    // One round: the meta hash (has the log moved to another epoch, and where is
    // its head?), then XREAD BLOCK from the cursor, pipelined on the reader's own
    // connection. A log deleted and started again reuses low positions, which
    // XREAD from our cursor would never return: the epoch check catches it within
    // one `block`.
    void read_next(std::uint64_t g)
    {
        auto head = std::make_shared<std::uint64_t>(0);
        reader->async_command({"HMGET", meta_key, "epoch", "seq"}, options.command_timeout,
            step(g, [g, head](state& self, detail::reply const& r) {
                if (r.type != detail::reply::kind::array || r.elements.size() != 2 ||
                    r.elements[0].type != detail::reply::kind::string || r.elements[0].str != self.epoch)
                    return self.resync(g);
                detail::parse_u64(r.elements[1].str, *head);
            }));
        reader->async_command({"XREAD", "COUNT", "1000", "BLOCK", std::to_string(options.block.count()), "STREAMS",
                                  log_key, std::to_string(cursor) + "-0"},
            options.block + options.command_timeout,
            step(g, [g, head](state& self, detail::reply r) { self.entries(std::move(r), *head, g); }));
    }

    void entries(detail::reply r, std::uint64_t head, std::uint64_t g)
    {
        std::vector<log_entry> batch;
        if (r.type == detail::reply::kind::array) {
            // [[key, [entry, ...]]]
            if (r.elements.size() != 1 || r.elements[0].elements.size() != 2)
                return fail(error::protocol_error, g);
            auto& found = r.elements[0].elements[1].elements;
            batch.reserve(found.size());
            std::string entry_epoch;
            for (auto const& item : found) {
                log_entry e;
                if (!detail::decode_entry(item, e, entry_epoch)) {
                    // Not written by a backplane (someone's own XADD): skipped, never delivered.
                    std::uint64_t seq = 0;
                    if (item.elements.size() == 2 && detail::parse_stream_id(item.elements[0].str, seq))
                        cursor = std::max(cursor, seq);
                    continue;
                }
                if (entry_epoch != epoch)
                    return resync(g);
                cursor = e.seq;
                batch.push_back(std::move(e));
            }
        } else if (r.type != detail::reply::kind::nil) {
            return fail(error::protocol_error, g);
        }
        update([&](backplane_stats& s) {
            s.position = cursor;
            s.lag = head > cursor ? head - cursor : 0;
            s.entries_read += batch.size();
        });
        if (!batch.empty() && receiver)
            receiver->entries(std::move(batch));
        read_next(g);
    }

    // Failure and reconnection ------------------------------------------------

    bool stale(std::uint64_t g) const noexcept { return stopped || g != generation; }

    void close_connections()
    {
        if (cmd)
            cmd->close();
        if (reader)
            reader->close();
    }

    // The log moved to another epoch: synchronise again at once.
    void resync(std::uint64_t g)
    {
        if (stale(g))
            return;
        close_connections();
        begin();
    }

    void fail(error_code ec, std::uint64_t g)
    {
        if (stale(g))
            return;
        ++generation;   // every callback of this cycle is now stale
        close_connections();
        bool const was_connected = connected.exchange(false);
        update([&](backplane_stats& s) {
            s.state = ever_connected ? backplane_state::disconnected : backplane_state::connecting;
            s.last_error = ec.message();
            if (!s.unreachable_since)
                s.unreachable_since = clock::now();
        });
        if (was_connected && receiver)
            receiver->state(backplane_state::disconnected, ec);
        auto const delay = retry.next_delay(clock::now(), rng).value_or(options.reconnect.cap);
        timer.expires_after(delay);
        std::weak_ptr<state> weak = weak_from_this();
        std::uint64_t const next = generation;
        timer.async_wait([weak, next](error_code const& wait_ec) {
            auto self = weak.lock();
            if (!self || wait_ec || self->stale(next))
                return;
            self->begin();
        });
    }

    // Publishing and history ---------------------------------------------------

    void publish(log_publish p, publish_handler done)
    {
        auto refuse = [&](error_code ec) {
            update([](backplane_stats& s) { ++s.publish_failures; });
            if (done)
                done(ec, {}, 0);
        };
        if (stopped || !connected)
            return refuse(sse::error::backplane_unavailable);
        // The hub has not yet taken the epoch this backplane synchronised to: the
        // log is fine, the publisher retries. Only Redis's own refusal means resync.
        if (p.epoch != epoch)
            return refuse(sse::error::backplane_epoch_changed);
        std::vector<std::string> args{"EVALSHA", publish_sha, "3", meta_key, log_key,
            idem_prefix + p.idempotency_key, p.epoch, std::to_string(options.max_len),
            std::to_string(options.idempotency_ttl.count()), p.idempotency_key.empty() ? "0" : "1"};
        if (!detail::encode_fields(p, p.epoch, args))
            return refuse(sse::error::audience_not_shareable);
        run_publish(std::move(args), std::move(done), generation, false);
    }

    void run_publish(std::vector<std::string> args, publish_handler done, std::uint64_t g, bool retried)
    {
        std::weak_ptr<state> weak = weak_from_this();
        auto again = retried ? std::vector<std::string>{} : args;
        cmd->async_command(std::move(args), options.command_timeout,
            [weak, done = std::move(done), again = std::move(again), g, retried](
                error_code ec, detail::reply r) mutable {
                auto self = weak.lock();
                if (!self) {
                    if (done)
                        done(sse::error::backplane_unavailable, {}, 0);
                    return;
                }
                auto refuse = [&](error_code why) {
                    self->update([](backplane_stats& s) { ++s.publish_failures; });
                    if (done)
                        done(why, {}, 0);
                };
                if (ec == error::noscript && !retried && !self->stale(g)) {
                    // The script cache was flushed: send the script itself once.
                    again[0] = "EVAL";
                    again[1] = std::string(detail::publish_script);
                    return self->run_publish(std::move(again), std::move(done), g, true);
                }
                if (ec == error::server_error && r.str.rfind("SSEEPOCH", 0) == 0) {
                    refuse(sse::error::backplane_epoch_changed);
                    return self->resync(g);
                }
                if (ec == error::connection_lost || ec == error::timeout || (ec && ec.category() != category())) {
                    // Not known to be appended or not: the publisher's idempotency key makes a retry safe.
                    refuse(sse::error::backplane_unavailable);
                    return self->fail(ec, g);
                }
                std::uint64_t seq = 0;
                if (!ec && (r.type != detail::reply::kind::array || r.elements.size() != 3 ||
                               !detail::parse_u64(r.elements[1].str, seq)))
                    ec = error::protocol_error;
                if (ec)
                    return refuse(ec);
                bool const duplicate = r.elements[2].integer != 0;
                self->update([&](backplane_stats& s) {
                    ++s.published;
                    if (duplicate)
                        ++s.duplicates;
                });
                if (done)
                    done({}, r.elements[0].str, seq);
            });
    }

    void read(std::string const& want_epoch, std::uint64_t after, std::uint64_t up_to, read_handler done)
    {
        if (stopped || !connected)
            return done(sse::error::backplane_unavailable, {});
        if (want_epoch != epoch || up_to <= after)
            return done({}, {});
        update([](backplane_stats& s) { ++s.history_reads; });
        std::weak_ptr<state> weak = weak_from_this();
        std::uint64_t const g = generation;
        cmd->async_command({"XRANGE", log_key, std::to_string(after + 1) + "-0", std::to_string(up_to) + "-0"},
            options.command_timeout, [weak, want_epoch, done = std::move(done), g](error_code ec, detail::reply r) {
                auto self = weak.lock();
                if (!self)
                    return done(sse::error::backplane_unavailable, {});
                if (ec) {
                    done(sse::error::backplane_unavailable, {});
                    return self->fail(ec, g);
                }
                std::vector<log_entry> found;
                found.reserve(r.elements.size());
                std::string entry_epoch;
                for (auto const& item : r.elements) {
                    log_entry e;
                    if (detail::decode_entry(item, e, entry_epoch) && entry_epoch == want_epoch)
                        found.push_back(std::move(e));
                }
                done({}, std::move(found));
            });
    }
};

inline std::shared_ptr<backplane> backplane::create(net::any_io_executor ex, backplane_options options)
{
    return std::make_shared<backplane>(std::move(ex), std::move(options));
}

inline backplane::backplane(net::any_io_executor ex, backplane_options options)
    : options_(std::move(options)), state_(std::make_shared<state>(std::move(ex), options_))
{
}

inline backplane::~backplane()
{
    stop();
}

inline void backplane::start(std::shared_ptr<backplane_receiver> receiver, std::size_t tail)
{
    net::post(state_->strand, [s = state_, receiver = std::move(receiver), tail]() mutable {
        if (s->stopped || s->receiver)
            return;
        s->receiver = std::move(receiver);
        s->tail = tail;
        s->begin();
    });
}

inline void backplane::publish(log_publish p, publish_handler done)
{
    // Refused at once when Redis is known to be unreachable: nothing is buffered.
    if (!state_->connected) {
        state_->update([](backplane_stats& s) { ++s.publish_failures; });
        if (done)
            done(sse::error::backplane_unavailable, {}, 0);
        return;
    }
    net::post(state_->strand,
        [s = state_, p = std::move(p), done = std::move(done)]() mutable { s->publish(std::move(p), std::move(done)); });
}

inline void backplane::read(std::string const& epoch, std::uint64_t after, std::uint64_t up_to, read_handler done)
{
    net::post(state_->strand, [s = state_, epoch, after, up_to, done = std::move(done)]() mutable {
        s->read(epoch, after, up_to, std::move(done));
    });
}

inline void backplane::stop() noexcept
{
    net::post(state_->strand, [s = state_] {
        if (s->stopped)
            return;
        s->stopped = true;
        s->connected = false;
        s->timer.cancel();
        s->close_connections();
        s->receiver.reset();
    });
}

inline backplane_stats backplane::stats() const
{
    std::lock_guard<std::mutex> lock(state_->stats_mutex);
    return state_->counters;
}

} // namespace redis
SSE_NAMESPACE_END

#endif
