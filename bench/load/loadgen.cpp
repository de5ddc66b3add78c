// bench/load/loadgen.cpp - sse-loadgen: holds N SSE subscribers on loopback, publishes M events
// at rate R over HTTP POST, and reports deliveries/s, latency, losses and the server's cost.
//
//   sse-loadgen --port 8080 --subscribers 10000 --events 100 --rate 20 --server-pid 1234
//
// Subscribers send `GET <sub-path>` and read the stream with the library's own protocol core:
// sse::http::response_parser for the head, sse::http::chunked_decoder when the body is chunked,
// sse::parser for the events. Each event's data is `<seq> <send_ns>[ <padding>]`, stamped from
// steady_clock just before the POST is written, so publisher and subscribers share one clock.
// Exit status: 0 when every subscriber connected and got every event once, in an order the server
// owes (see on_event), and all in the same order; 1 when anything was missing, doubled, out of
// order or failed; 2 on bad usage.
// See bench/load/README.md.

#include <sse/http/chunked_decoder.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/parser.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace loadgen {

using clock_type = std::chrono::steady_clock;
using std::chrono::duration_cast;
using tcp = asio::ip::tcp;
using error_code = std::error_code;

std::int64_t now_ns() noexcept
{
    return duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

template<class Number>
void append_number(std::string& out, Number n)
{
    char buf[24];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

double seconds_between(std::int64_t from_ns, std::int64_t to_ns) noexcept
{
    return static_cast<double>(to_ns - from_ns) / 1e9;
}

// ---------------------------------------------------------------------------------------------
// Options

struct options
{
    std::string host = "127.0.0.1";
    unsigned short port = 0;
    std::string prefix = "/";
    std::string sub_path;   // empty: <prefix>sub
    std::string pub_path;   // empty: <prefix>pub
    std::size_t subscribers = 100;
    std::size_t events = 20;
    double rate = 20;                  // events per second; 0: as fast as the pool allows
    std::size_t payload = 0;           // bytes of padding per event
    std::size_t connect_concurrency = 256;
    double connect_rate = 0;           // new subscribers per second; 0: unbounded
    double connect_timeout = 10;       // seconds per handshake
    std::size_t pub_connections = 4;
    double settle = 1;                 // seconds between the last handshake and the idle reading
    double drain = 5;                  // seconds to wait for deliveries after the last publish
    double timeout = 120;              // seconds for the whole run
    double start_at = 0;               // Unix time of the first publish; 0: once settled
    double hold_until = 0;             // Unix time before which the subscribers are not closed
    int threads = 1;
    std::vector<unsigned short> sub_ports;   // empty: subscribe on --port
    std::vector<long> server_pids;           // read and summed
    long redis_pid = 0;                      // read and reported on its own
    bool json = false;
    bool per_event = false;                  // report each event's latencies too
};

char const usage_text[] =
    "usage: sse-loadgen --port P [options]\n"
    "\n"
    "target\n"
    "  --host ADDR              server address (default 127.0.0.1)\n"
    "  --port P                 server port (required): publishes go there\n"
    "  --sub-ports P1,P2,...    spread the subscribers over these ports, round-robin (default: --port)\n"
    "  --prefix /P/             path prefix (default /): subscribe at <prefix>sub, publish at <prefix>pub\n"
    "  --sub-path PATH          subscriber path, overrides the prefix (nchan: /sub/<channel>)\n"
    "  --pub-path PATH          publisher path, overrides the prefix (nchan: /pub/<channel>)\n"
    "load\n"
    "  --subscribers N          subscriber connections held at once (default 100)\n"
    "  --events M               events to publish (default 20)\n"
    "  --rate R                 events per second, 0 for as fast as possible (default 20)\n"
    "  --payload B              bytes of padding in each event (default 0)\n"
    "  --connect-concurrency C  handshakes in flight at once (default 256)\n"
    "  --connect-rate R         new subscribers per second, 0 for unbounded (default 0)\n"
    "  --pub-connections K      keep-alive publisher connections (default 4)\n"
    "  --threads T              I/O threads, 1 or 2 (default 1)\n"
    "timing (seconds)\n"
    "  --connect-timeout S      per handshake (default 10)\n"
    "  --settle S               idle time before the idle RSS reading (default 1)\n"
    "  --drain S                wait for late deliveries after the last publish (default 5)\n"
    "  --timeout S              bound on the whole run (default 120)\n"
    "  --start-at T             publish the first event at Unix time T (fractions allowed), not\n"
    "                           before settling, so that generators' events interleave\n"
    "  --hold-until T           after the drain (where the figures end), keep the subscribers\n"
    "                           connected until Unix time T, so that closing them falls in no\n"
    "                           other generator's run\n"
    "report\n"
    "  --server-pid PID[,PID]   read the server's RSS and CPU time from /proc/PID; repeatable,\n"
    "                           several processes (nodes) are summed and listed\n"
    "  --redis-pid PID          also read this process's CPU time (Redis), reported on its own\n"
    "  --json                   print one JSON object instead of a table\n"
    "  --per-event              also report each event's latency (p50, p99, max): one slow event\n"
    "                           among many moves the run's p99, not its p50\n"
    "  --help                   print this text\n";

[[noreturn]] void usage_error(std::string const& message)
{
    std::fprintf(stderr, "sse-loadgen: %s\n(see sse-loadgen --help)\n", message.c_str());
    std::exit(2);
}

template<class T>
T parse_number(std::string_view flag, std::string_view text)
{
    T value{};
    char const* const end = text.data() + text.size();
    std::from_chars_result r{};
    if constexpr (std::is_floating_point_v<T>) {
        // from_chars for double needs GCC 11; strtod is enough here.
        std::string s(text);
        char* stop = nullptr;
        value = std::strtod(s.c_str(), &stop);
        r.ptr = text.data() + (stop - s.c_str());
        r.ec = (stop == s.c_str()) ? std::errc::invalid_argument : std::errc{};
    } else {
        r = std::from_chars(text.data(), end, value);
    }
    bool negative = false;
    if constexpr (std::is_signed_v<T>)
        negative = value < 0;
    if (r.ec != std::errc{} || r.ptr != end || negative)
        usage_error(std::string(flag) + ": not a valid number: '" + std::string(text) + "'");
    return value;
}

/// The items of a comma-separated list; an empty item is a usage error.
std::vector<std::string_view> split_list(std::string_view flag, std::string_view text)
{
    std::vector<std::string_view> items;
    std::string_view const whole = text;
    for (;;) {
        auto const comma = text.find(',');
        auto const item = text.substr(0, comma);
        if (item.empty())
            usage_error(std::string(flag) + ": empty item in '" + std::string(whole) + "'");
        items.push_back(item);
        if (comma == std::string_view::npos)
            return items;
        text.remove_prefix(comma + 1);
    }
}

options parse_options(int argc, char** argv)
{
    options o;
    bool have_port = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage_text, stdout);
            std::exit(0);
        }
        if (arg == "--json") {
            o.json = true;
            continue;
        }
        if (arg == "--per-event") {
            o.per_event = true;
            continue;
        }
        std::string_view value;
        if (auto eq = arg.find('='); arg.substr(0, 2) == "--" && eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            usage_error(std::string(arg) + " needs a value");
        }
        if (arg == "--host") o.host = value;
        else if (arg == "--port") {
            auto p = parse_number<unsigned>(arg, value);
            if (p == 0 || p > 65535) usage_error("--port: out of range");
            o.port = static_cast<unsigned short>(p);
            have_port = true;
        }
        else if (arg == "--prefix") o.prefix = value;
        else if (arg == "--sub-path") o.sub_path = value;
        else if (arg == "--pub-path") o.pub_path = value;
        else if (arg == "--subscribers") o.subscribers = parse_number<std::size_t>(arg, value);
        else if (arg == "--events") o.events = parse_number<std::size_t>(arg, value);
        else if (arg == "--rate") o.rate = parse_number<double>(arg, value);
        else if (arg == "--payload") o.payload = parse_number<std::size_t>(arg, value);
        else if (arg == "--connect-concurrency") o.connect_concurrency = parse_number<std::size_t>(arg, value);
        else if (arg == "--connect-rate") o.connect_rate = parse_number<double>(arg, value);
        else if (arg == "--connect-timeout") o.connect_timeout = parse_number<double>(arg, value);
        else if (arg == "--pub-connections") o.pub_connections = parse_number<std::size_t>(arg, value);
        else if (arg == "--threads") o.threads = parse_number<int>(arg, value);
        else if (arg == "--settle") o.settle = parse_number<double>(arg, value);
        else if (arg == "--drain") o.drain = parse_number<double>(arg, value);
        else if (arg == "--timeout") o.timeout = parse_number<double>(arg, value);
        else if (arg == "--start-at") {
            o.start_at = parse_number<double>(arg, value);
            if (!(o.start_at > 0)) usage_error("--start-at: a Unix time in seconds, more than 0");
        }
        else if (arg == "--hold-until") {
            o.hold_until = parse_number<double>(arg, value);
            if (!(o.hold_until > 0)) usage_error("--hold-until: a Unix time in seconds, more than 0");
        }
        else if (arg == "--server-pid") {
            for (auto item : split_list(arg, value)) {
                auto const pid = parse_number<long>(arg, item);
                if (pid == 0) usage_error("--server-pid: 0 is not a process");
                o.server_pids.push_back(pid);
            }
        }
        else if (arg == "--sub-ports") {
            for (auto item : split_list(arg, value)) {
                auto const p = parse_number<unsigned>(arg, item);
                if (p == 0 || p > 65535) usage_error("--sub-ports: " + std::string(item) + " is out of range");
                o.sub_ports.push_back(static_cast<unsigned short>(p));
            }
            if (o.sub_ports.size() > 64) usage_error("--sub-ports: at most 64 ports");
        }
        else if (arg == "--redis-pid") {
            o.redis_pid = parse_number<long>(arg, value);
            if (o.redis_pid == 0) usage_error("--redis-pid: 0 is not a process");
        }
        else usage_error("unknown option " + std::string(arg));
    }
    if (!have_port) usage_error("--port is required");
    if (o.sub_ports.empty()) o.sub_ports.push_back(o.port);
    if (o.prefix.empty() || o.prefix.front() != '/') usage_error("--prefix must start with '/'");
    if (o.prefix.back() != '/') o.prefix += '/';
    if (o.sub_path.empty()) o.sub_path = o.prefix + "sub";
    if (o.pub_path.empty()) o.pub_path = o.prefix + "pub";
    if (o.sub_path.front() != '/' || o.pub_path.front() != '/') usage_error("paths must start with '/'");
    if (o.threads < 1 || o.threads > 2) usage_error("--threads must be 1 or 2");
    if (o.subscribers == 0) usage_error("--subscribers must be at least 1");
    if (o.events == 0) usage_error("--events must be at least 1");
    if (o.events > 0xffffffffu) usage_error("--events must fit in 32 bits");
    if (o.connect_concurrency == 0) usage_error("--connect-concurrency must be at least 1");
    if (o.pub_connections == 0 || o.pub_connections > 64) usage_error("--pub-connections must be 1 to 64");
    if (o.payload > 1024 * 1024) usage_error("--payload must be at most 1 MiB");
    // The per-subscriber bitset of received sequence numbers: keep it under 512 MiB.
    if (static_cast<double>(o.subscribers) * static_cast<double>(o.events) > 4.0e9)
        usage_error("--subscribers times --events must be at most 4e9");
    return o;
}

// ---------------------------------------------------------------------------------------------
// Latency histogram: 64 sub-buckets per power of two, so a reported percentile is the upper
// bound of its bucket, at most 1.6 % above the true value. Fixed size, no allocation per sample.

class histogram
{
public:
    void record(std::uint64_t v) noexcept
    {
        ++counts_[index(v)];
        ++count_;
        sum_ += v;
        max_ = std::max(max_, v);
    }

    void merge(histogram const& other) noexcept
    {
        for (std::size_t i = 0; i < counts_.size(); ++i)
            counts_[i] += other.counts_[i];
        count_ += other.count_;
        sum_ += other.sum_;
        max_ = std::max(max_, other.max_);
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / count_ : 0; }

    std::uint64_t percentile(double p) const noexcept
    {
        if (count_ == 0)
            return 0;
        auto target = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(count_) + 0.999999);
        target = std::clamp<std::uint64_t>(target, 1, count_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            seen += counts_[i];
            if (seen >= target)
                return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static std::size_t index(std::uint64_t v) noexcept
    {
        if (v < 128)
            return static_cast<std::size_t>(v);
        int const msb = 63 - __builtin_clzll(v);
        int const shift = msb - 6;   // v >> shift is in [64, 127]
        return 128 + static_cast<std::size_t>(shift - 1) * 64 + static_cast<std::size_t>((v >> shift) - 64);
    }

    static std::uint64_t upper(std::size_t i) noexcept
    {
        if (i < 128)
            return i;
        std::size_t const shift = (i - 128) / 64 + 1;
        std::uint64_t const m = (i - 128) % 64 + 64;
        return ((m + 1) << shift) - 1;
    }

    std::array<std::uint64_t, 128 + 57 * 64> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t max_ = 0;
};

// ---------------------------------------------------------------------------------------------
// /proc readings of the server

std::optional<std::uint64_t> read_rss_kib(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.compare(0, 6, "VmRSS:") == 0)
            return std::strtoull(line.c_str() + 6, nullptr, 10);
    return std::nullopt;
}

/// utime + stime in seconds. The command name in field 2 may hold spaces and parentheses,
/// so fields are counted from the last ')'.
std::optional<double> read_cpu_seconds(long pid)
{
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto const close = text.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int n = 3; fields >> field; ++n) {   // the first field after ')' is field 3 (state)
        if (n == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
        if (n == 15) {
            stime = std::strtoull(field.c_str(), nullptr, 10);
            return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
        }
    }
    return std::nullopt;
}

double self_cpu_seconds()
{
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// Shared, read-only run settings

struct setup
{
    options opt;
    tcp::endpoint endpoint;                   // where events are published
    std::vector<tcp::endpoint> sub_endpoints;  // one per --sub-ports entry
    std::vector<std::string> sub_requests;     // the whole GET for each, sent by its subscribers
    std::string pub_prefix;    // the POST head up to the Content-Length value
    std::string padding;       // " xxx...", empty without --payload
    std::uint32_t events = 0;
    std::size_t seen_words = 0;   // 64-bit words of each subscriber's bitset
    // Per event, written by the publisher just before it sends the event: how many events from
    // sequence 0 on had all been answered by then. Those must reach every subscriber before this
    // one does; publishes still in flight together may reach them in either order (see on_event).
    std::unique_ptr<std::atomic<std::uint32_t>[]> answered_before;
};

// ---------------------------------------------------------------------------------------------
// Subscribers

class worker;

/// Why a handshake failed, for the report.
enum class connect_failure { refused, timeout, bad_response, closed, count_ };

char const* const connect_failure_names[] = {"connect_error", "timeout", "bad_response", "closed_early"};

struct subscriber
{
    enum class state : unsigned char { idle, connecting, open, closed };

    explicit subscriber(asio::io_context& ctx) : socket(ctx) {}

    tcp::socket socket;
    std::unique_ptr<sse::http::response_parser> head;   // only during the handshake
    sse::http::chunked_decoder chunks;
    sse::parser events;
    std::vector<std::uint64_t> seen;   // bit per sequence number received
    std::uint64_t order_hash = 0;      // of the sequence numbers in the order received
    std::int64_t started_ns = 0;
    std::uint32_t next = 0;            // highest sequence number received, plus one
    std::uint32_t contiguous = 0;      // sequence numbers 0 to contiguous - 1 are all received
    std::uint32_t slot = 0;            // handshake slot while connecting
    std::uint16_t node = 0;            // which of --sub-ports it subscribes on
    state st = state::idle;
    bool chunked = false;
};

/// Counters a worker owns. The atomic ones are read by the controller while the run goes on.
struct worker_stats
{
    std::atomic<std::uint64_t> received{0};        // first receipt of (subscriber, seq)
    std::atomic<std::int64_t> last_delivery_ns{0};
    std::atomic<std::size_t> connected{0};
    std::atomic<std::size_t> failed{0};
    std::atomic<bool> done_opening{false};

    histogram latency;   // ns, first receipts only
    std::vector<histogram> event_latency;   // the same, by sequence number, with --per-event
    histogram handshake; // ns, connect + request + response head
    std::uint64_t duplicates = 0;
    std::uint64_t out_of_order = 0;  // received before an event that was answered before it was sent
    std::uint64_t reordered = 0;     // received after a higher sequence number (allowed if concurrent)
    std::uint64_t unexpected = 0;    // events whose data is not `<seq> <ns>` with seq < M
    std::uint64_t disconnects = 0;   // streams the server ended after the handshake
    std::uint64_t stream_errors = 0; // chunked framing or event parser errors
    std::array<std::size_t, static_cast<std::size_t>(connect_failure::count_)> failures{};
    std::string first_error;
    // By --sub-ports entry: subscribers connected, first receipts.
    std::vector<std::size_t> node_connected;
    std::vector<std::uint64_t> node_received;
};

/// One thread's share of the subscribers, on its own io_context.
class worker
{
public:
    /// Subscribers `first` to `first + share - 1` of the run; subscriber i goes to port i % ports.
    worker(setup const& s, std::size_t first, std::size_t share, std::size_t concurrency, double connect_rate)
        : setup_(s), sweep_(ctx_), open_timer_(ctx_), concurrency_(std::max<std::size_t>(1, concurrency)),
          connect_rate_(connect_rate), buffer_(64 * 1024)
    {
        std::size_t const nodes = s.sub_endpoints.size();
        for (std::size_t i = 0; i < share; ++i) {
            subs_.emplace_back(ctx_);
            subs_.back().node = static_cast<std::uint16_t>((first + i) % nodes);
        }
        stats_.node_connected.assign(nodes, 0);
        stats_.node_received.assign(nodes, 0);
        if (s.opt.per_event)
            stats_.event_latency.resize(s.events);
        slots_.resize(concurrency_, nullptr);
        for (std::size_t i = concurrency_; i-- > 0;)
            free_slots_.push_back(static_cast<std::uint32_t>(i));
    }

    asio::io_context& context() noexcept { return ctx_; }
    worker_stats& stats() noexcept { return stats_; }
    std::size_t share() const noexcept { return subs_.size(); }

    /// The order hash of each subscriber that received every event, once the run is over.
    void complete_orders(std::vector<std::uint64_t>& out) const
    {
        for (auto const& s : subs_)
            if (s.contiguous == setup_.events)
                out.push_back(s.order_hash);
    }

    /// Starts opening the subscribers. Runs on this worker's thread.
    void start_opening()
    {
        open_start_ns_ = now_ns();
        sweep();
        open_more();
    }

    /// Closes every socket. Call with the io_context stopped or from its thread.
    void close_all()
    {
        error_code ignored;
        for (auto& s : subs_) {
            s.st = subscriber::state::closed;
            s.socket.close(ignored);
        }
        sweep_.cancel();
        open_timer_.cancel();
    }

private:
    void open_more()
    {
        while (opened_ < subs_.size() && !free_slots_.empty()) {
            if (connect_rate_ > 0) {
                double const elapsed = seconds_between(open_start_ns_, now_ns());
                auto const allowed = static_cast<std::size_t>(elapsed * connect_rate_) + 1;
                if (opened_ >= allowed) {
                    if (!open_timer_armed_) {
                        open_timer_armed_ = true;
                        auto const at_ns = open_start_ns_ + static_cast<std::int64_t>(opened_ / connect_rate_ * 1e9);
                        open_timer_.expires_at(clock_type::time_point(std::chrono::nanoseconds(at_ns)));
                        open_timer_.async_wait([this](error_code ec) {
                            open_timer_armed_ = false;
                            if (!ec)
                                open_more();
                        });
                    }
                    return;
                }
            }
            start(subs_[opened_++]);
        }
        check_done_opening();
    }

    void check_done_opening()
    {
        if (opened_ == subs_.size() && free_slots_.size() == concurrency_)
            stats_.done_opening.store(true, std::memory_order_release);
    }

    void start(subscriber& s)
    {
        s.st = subscriber::state::connecting;
        s.started_ns = now_ns();
        s.slot = free_slots_.back();
        free_slots_.pop_back();
        slots_[s.slot] = &s;
        s.head = std::make_unique<sse::http::response_parser>();
        s.socket.async_connect(setup_.sub_endpoints[s.node], [this, &s](error_code ec) {
            if (s.st != subscriber::state::connecting)
                return;
            if (ec)
                return fail(s, connect_failure::refused, "connect: " + ec.message());
            s.socket.set_option(tcp::no_delay(true), ec);
            s.socket.non_blocking(true, ec);
            asio::async_write(s.socket, asio::buffer(setup_.sub_requests[s.node]), [this, &s](error_code wec, std::size_t) {
                if (s.st != subscriber::state::connecting)
                    return;
                if (wec)
                    return fail(s, connect_failure::refused, "sending the request: " + wec.message());
                wait_readable(s);
            });
        });
    }

    /// Ends a handshake, successful or not, and frees its slot for the next one.
    void end_handshake(subscriber& s)
    {
        slots_[s.slot] = nullptr;
        free_slots_.push_back(s.slot);
        s.head.reset();
        open_more();
    }

    void fail(subscriber& s, connect_failure why, std::string const& what)
    {
        ++stats_.failures[static_cast<std::size_t>(why)];
        if (stats_.first_error.empty())
            stats_.first_error = what;
        stats_.failed.fetch_add(1, std::memory_order_relaxed);
        s.st = subscriber::state::closed;
        error_code ignored;
        s.socket.close(ignored);
        end_handshake(s);
    }

    void established(subscriber& s)
    {
        stats_.handshake.record(static_cast<std::uint64_t>(now_ns() - s.started_ns));
        s.st = subscriber::state::open;
        s.seen.assign(setup_.seen_words, 0);
        stats_.connected.fetch_add(1, std::memory_order_relaxed);
        ++stats_.node_connected[s.node];
        end_handshake(s);
    }

    /// Readiness, then a non-blocking read into the worker's one buffer: an idle
    /// subscriber owns no read buffer, the parsers keep what spans reads.
    void wait_readable(subscriber& s)
    {
        s.socket.async_wait(tcp::socket::wait_read, [this, &s](error_code ec) {
            if (s.st == subscriber::state::closed || s.st == subscriber::state::idle)
                return;
            if (ec)
                return lost(s, ec.message());
            for (;;) {
                std::size_t const n = s.socket.read_some(asio::buffer(buffer_), ec);
                if (ec == asio::error::would_block || ec == asio::error::try_again)
                    break;
                if (ec)
                    return lost(s, ec == asio::error::eof ? "the server closed the stream" : ec.message());
                if (!consume(s, std::string_view(buffer_.data(), n)))
                    return;
                if (n < buffer_.size())
                    break;
            }
            wait_readable(s);
        });
    }

    void lost(subscriber& s, std::string const& what)
    {
        if (s.st == subscriber::state::connecting)
            return fail(s, connect_failure::closed, "handshake: " + what);
        ++stats_.disconnects;
        if (stats_.first_error.empty())
            stats_.first_error = "stream: " + what;
        s.st = subscriber::state::closed;
        error_code ignored;
        s.socket.close(ignored);
    }

    /// Returns false when the subscriber was closed.
    bool consume(subscriber& s, std::string_view bytes)
    {
        error_code ec;
        if (s.st == subscriber::state::connecting) {
            bytes.remove_prefix(s.head->feed(bytes, ec));
            if (ec) {
                fail(s, connect_failure::bad_response, "response head: " + ec.message());
                return false;
            }
            if (!s.head->done())
                return true;
            auto const& h = s.head->get();
            if (h.status() != 200) {
                fail(s, connect_failure::bad_response, "status " + std::to_string(h.status()));
                return false;
            }
            if (!h.is_event_stream()) {
                fail(s, connect_failure::bad_response, "Content-Type is not text/event-stream");
                return false;
            }
            auto const framing = h.body_framing();
            if (framing != sse::http::framing::chunked && framing != sse::http::framing::until_close) {
                fail(s, connect_failure::bad_response, "the response body is not an open-ended stream");
                return false;
            }
            s.chunked = framing == sse::http::framing::chunked;
            established(s);
        }
        if (bytes.empty())
            return true;
        if (!s.chunked)
            return feed_events(s, bytes);
        std::string_view input = bytes;
        while (!s.chunks.done()) {
            std::string_view const data = s.chunks.next(input, ec);
            if (ec) {
                ++stats_.stream_errors;
                lost(s, "chunked framing: " + ec.message());
                return false;
            }
            if (data.empty())
                break;
            if (!feed_events(s, data))
                return false;
        }
        if (s.chunks.done()) {
            lost(s, "the server ended the chunked stream");
            return false;
        }
        return true;
    }

    bool feed_events(subscriber& s, std::string_view bytes)
    {
        std::int64_t const received_ns = now_ns();
        error_code ec;
        s.events.feed(bytes, [&](sse::event_view const& e) { on_event(s, e.data, received_ns); }, ec);
        if (ec) {
            ++stats_.stream_errors;
            lost(s, "event stream: " + ec.message());
            return false;
        }
        return true;
    }

    void on_event(subscriber& s, std::string_view data, std::int64_t received_ns)
    {
        std::uint32_t seq = 0;
        std::int64_t sent_ns = 0;
        char const* const end = data.data() + data.size();
        auto r = std::from_chars(data.data(), end, seq);
        if (r.ec != std::errc{} || r.ptr == end || *r.ptr != ' ' || seq >= setup_.events) {
            ++stats_.unexpected;
            return;
        }
        r = std::from_chars(r.ptr + 1, end, sent_ns);
        if (r.ec != std::errc{} || (r.ptr != end && *r.ptr != ' ')) {
            ++stats_.unexpected;
            return;
        }
        std::uint64_t& word = s.seen[seq >> 6];
        std::uint64_t const bit = std::uint64_t{1} << (seq & 63);
        if (word & bit) {
            ++stats_.duplicates;
            return;
        }
        word |= bit;
        // The order a server owes: a publish answered before another was sent comes first. Two
        // publishes in flight at once, on two connections, have no order between them (HTTP gives
        // none), so a server may take them in either. With one publisher connection every event
        // was sent after the previous one was answered, and the order is the sequence numbers'.
        if (s.contiguous < setup_.answered_before[seq].load(std::memory_order_relaxed))
            ++stats_.out_of_order;
        else if (seq < s.next)
            ++stats_.reordered;
        s.next = std::max(s.next, seq + 1);
        while (s.contiguous < setup_.events && (s.seen[s.contiguous >> 6] >> (s.contiguous & 63) & 1) != 0)
            ++s.contiguous;
        // Whatever order the server chose, it is one order: the same for every subscriber.
        s.order_hash = (s.order_hash ^ (seq + 1)) * 0x100000001b3u;
        auto const latency = static_cast<std::uint64_t>(std::max<std::int64_t>(0, received_ns - sent_ns));
        stats_.latency.record(latency);
        if (!stats_.event_latency.empty())
            stats_.event_latency[seq].record(latency);
        stats_.received.fetch_add(1, std::memory_order_relaxed);
        ++stats_.node_received[s.node];
        stats_.last_delivery_ns.store(received_ns, std::memory_order_relaxed);
    }

    /// Fails handshakes older than --connect-timeout, four times a second.
    void sweep()
    {
        auto const limit_ns = static_cast<std::int64_t>(setup_.opt.connect_timeout * 1e9);
        auto const now = now_ns();
        for (auto* s : slots_)
            if (s && now - s->started_ns > limit_ns)
                fail(*s, connect_failure::timeout, "handshake timed out");
        if (stats_.done_opening.load(std::memory_order_relaxed))
            return;
        sweep_.expires_after(std::chrono::milliseconds(250));
        sweep_.async_wait([this](error_code ec) {
            if (!ec)
                sweep();
        });
    }

    setup const& setup_;
    asio::io_context ctx_{1};
    asio::steady_timer sweep_;
    asio::steady_timer open_timer_;
    std::deque<subscriber> subs_;       // a deque: handlers hold references
    std::vector<subscriber*> slots_;    // handshakes in flight
    std::vector<std::uint32_t> free_slots_;
    std::size_t concurrency_;
    double connect_rate_;
    std::size_t opened_ = 0;
    std::int64_t open_start_ns_ = 0;
    bool open_timer_armed_ = false;
    std::vector<char> buffer_;
    worker_stats stats_;
};

// ---------------------------------------------------------------------------------------------
// Publisher: M events at rate R over a small pool of keep-alive connections

class publisher
{
public:
    struct result
    {
        std::size_t published = 0;   // answered 2xx
        std::size_t failed = 0;      // not sent, error, or answered otherwise
        std::size_t repeated = 0;    // sent again after a 408 (see answered())
        std::int64_t first_ns = 0;
        std::int64_t last_ns = 0;    // last answer
        std::string first_error;
    };

    publisher(asio::io_context& ctx, setup const& s, std::function<void()> on_done)
        : ctx_(ctx), setup_(s), timer_(ctx), on_done_(std::move(on_done))
    {
        for (std::size_t i = 0; i < s.opt.pub_connections; ++i)
            conns_.emplace_back(ctx);
    }

    void start()
    {
        start_ns_ = now_ns();
        result_.first_ns = start_ns_;
        for (auto& c : conns_)
            connect(c);
    }

    result const& get() const noexcept { return result_; }
    bool done() const noexcept { return finished_; }

    void stop()
    {
        error_code ignored;
        timer_.cancel();
        for (auto& c : conns_) {
            c.st = conn::state::closed;
            c.socket.close(ignored);
        }
    }

private:
    struct conn
    {
        enum class state : unsigned char { closed, connecting, idle, busy, dead };
        explicit conn(asio::io_context& ctx) : socket(ctx) {}

        tcp::socket socket;
        sse::http::response_parser head;
        sse::http::chunked_decoder chunks;
        std::uint64_t body_left = 0;
        sse::http::framing framing = sse::http::framing::none;
        std::string body;   // `<seq> <send_ns>`; the padding follows from setup
        std::string out;    // head and body but the padding
        std::array<char, 4096> in{};
        std::uint32_t seq = 0;   // the event in flight while busy
        bool repeat = false;     // send `seq` again once connected (after a 408)
        int failures_in_a_row = 0;
        state st = state::closed;
    };

    void note_error(std::string const& what)
    {
        if (result_.first_error.empty())
            result_.first_error = what;
    }

    void connect(conn& c)
    {
        c.st = conn::state::connecting;
        c.socket = tcp::socket(ctx_);
        c.socket.async_connect(setup_.endpoint, [this, &c](error_code ec) {
            if (c.st != conn::state::connecting)
                return;
            if (ec) {
                note_error("publisher connect: " + ec.message());
                return broken(c, false);
            }
            c.socket.set_option(tcp::no_delay(true), ec);
            c.st = conn::state::idle;
            if (c.repeat) {
                c.repeat = false;
                send(c, c.seq);
            }
            pump();
        });
    }

    /// The connection failed; `in_flight` says whether it carried an event.
    void broken(conn& c, bool in_flight)
    {
        error_code ignored;
        c.socket.close(ignored);
        if (c.repeat) {   // the connection for the repeat failed: the event was not published
            c.repeat = false;
            in_flight = true;
        }
        if (in_flight) {
            ++result_.failed;
            ++answered_;
            settle(c.seq);
        }
        if (++c.failures_in_a_row > 3) {
            c.st = conn::state::dead;
            if (std::all_of(conns_.begin(), conns_.end(), [](conn const& x) { return x.st == conn::state::dead; })) {
                note_error("every publisher connection failed");
                result_.failed += setup_.events - next_;
                answered_ += setup_.events - next_;
                next_ = setup_.events;
            }
        } else {
            c.st = conn::state::closed;
            connect(c);
        }
        pump();
    }

    std::int64_t due_ns(std::uint32_t seq) const noexcept
    {
        if (setup_.opt.rate <= 0)
            return start_ns_;
        return start_ns_ + static_cast<std::int64_t>(static_cast<double>(seq) / setup_.opt.rate * 1e9);
    }

    void pump()
    {
        if (answered_ == setup_.events) {
            if (!finished_) {
                finished_ = true;
                result_.last_ns = now_ns();
                on_done_();
            }
            return;
        }
        auto const now = now_ns();
        for (auto& c : conns_) {
            if (next_ == setup_.events)
                return;
            if (due_ns(next_) > now)
                break;
            if (c.st == conn::state::idle)
                send(c, next_++);
        }
        if (next_ < setup_.events && !timer_armed_ && due_ns(next_) > now) {
            timer_armed_ = true;
            timer_.expires_at(clock_type::time_point(std::chrono::nanoseconds(due_ns(next_))));
            timer_.async_wait([this](error_code ec) {
                timer_armed_ = false;
                if (!ec)
                    pump();
            });
        }
    }

    /// Event `seq` is answered (or given up): it may complete the answered prefix.
    void settle(std::uint32_t seq)
    {
        settled_[seq] = true;
        while (settled_prefix_ < setup_.events && settled_[settled_prefix_])
            ++settled_prefix_;
    }

    void send(conn& c, std::uint32_t seq)
    {
        c.st = conn::state::busy;
        c.seq = seq;
        setup_.answered_before[seq].store(settled_prefix_, std::memory_order_relaxed);
        c.body.clear();
        append_number(c.body, seq);
        c.body += ' ';
        append_number(c.body, now_ns());
        c.out.assign(setup_.pub_prefix);
        append_number(c.out, c.body.size() + setup_.padding.size());
        c.out.append("\r\n\r\n");
        c.out.append(c.body);
        std::array<asio::const_buffer, 2> buffers{asio::buffer(c.out), asio::buffer(setup_.padding)};
        asio::async_write(c.socket, buffers, [this, &c](error_code ec, std::size_t) {
            if (c.st != conn::state::busy)
                return;
            if (ec) {
                note_error("publishing: " + ec.message());
                return broken(c, true);
            }
            c.head.reset();
            c.chunks.reset();
            read_answer(c);
        });
    }

    void read_answer(conn& c)
    {
        c.socket.async_read_some(asio::buffer(c.in), [this, &c](error_code ec, std::size_t n) {
            if (c.st != conn::state::busy)
                return;
            bool const eof = ec == asio::error::eof;
            if (ec && !(eof && c.head.done() && c.framing == sse::http::framing::until_close)) {
                note_error("reading the publish answer: " + ec.message());
                return broken(c, true);
            }
            std::string_view bytes(c.in.data(), n);
            if (!c.head.done()) {
                bytes.remove_prefix(c.head.feed(bytes, ec));
                if (ec) {
                    note_error("publish answer: " + ec.message());
                    return broken(c, true);
                }
                if (!c.head.done())
                    return read_answer(c);
                c.framing = c.head.get().body_framing();
                c.body_left = c.head.get().content_length();
            }
            bool complete = false;
            switch (c.framing) {
            case sse::http::framing::none:
                complete = true;
                break;
            case sse::http::framing::length: {
                auto const take = std::min<std::uint64_t>(c.body_left, bytes.size());
                c.body_left -= take;
                complete = c.body_left == 0;
                break;
            }
            case sse::http::framing::chunked:
                c.chunks.feed(bytes, [](std::string_view) {}, ec);
                if (ec) {
                    note_error("publish answer body: " + ec.message());
                    return broken(c, true);
                }
                complete = c.chunks.done();
                break;
            case sse::http::framing::until_close:
                complete = eof;
                break;
            }
            if (!complete)
                return read_answer(c);
            answered(c);
        });
    }

    void answered(conn& c)
    {
        auto const& h = c.head.get();
        // 408: the server closes a connection on which no complete request came in time, and
        // says so; a request written meanwhile was not taken, and RFC 9110 (15.5.9) lets the
        // client repeat it on a new connection. Extra connections sit idle at low rates (the
        // first one is free again before the next event is due) until a slow publish needs one,
        // by which time a server that limits a head's wait (sse::listener: 10 s) has closed them.
        if (h.status() == 408 && ++c.failures_in_a_row <= 3) {
            ++result_.repeated;
            error_code ignored;
            c.socket.close(ignored);
            c.repeat = true;
            connect(c);
            return pump();   // other connections may take events due meanwhile
        }
        ++answered_;
        settle(c.seq);
        if (h.status() >= 200 && h.status() < 300) {
            ++result_.published;
        } else {
            ++result_.failed;
            note_error("publish answered with status " + std::to_string(h.status()));
        }
        c.failures_in_a_row = 0;
        if (h.keep_alive() && c.framing != sse::http::framing::until_close) {
            c.st = conn::state::idle;
        } else {
            error_code ignored;
            c.socket.close(ignored);
            connect(c);
        }
        pump();
    }

    asio::io_context& ctx_;
    setup const& setup_;
    asio::steady_timer timer_;
    std::function<void()> on_done_;
    std::deque<conn> conns_;
    std::int64_t start_ns_ = 0;
    std::uint32_t next_ = 0;       // next sequence number to send
    std::uint32_t answered_ = 0;   // events sent and answered, or given up
    std::vector<bool> settled_ = std::vector<bool>(setup_.events);   // by sequence number: answered
    std::uint32_t settled_prefix_ = 0;   // events 0 to this - 1 are all answered
    bool timer_armed_ = false;
    bool finished_ = false;
    result result_;
};

// ---------------------------------------------------------------------------------------------
// The run: phases driven by a 10 ms tick on worker 0

/// The server's figures, summed over its processes (nodes): a sum is empty when any of them
/// could not be read. The CPU times are kept per process too, for the listing.
struct server_readings
{
    std::optional<std::uint64_t> rss_before_kib, rss_idle_kib, rss_end_kib;
    std::optional<double> cpu_before, cpu_after;
    std::vector<std::optional<double>> cpu_before_each, cpu_after_each;
    std::optional<double> redis_cpu_before, redis_cpu_after;
};

std::optional<std::uint64_t> read_rss_kib(std::vector<long> const& pids)
{
    std::uint64_t total = 0;
    for (long const pid : pids) {
        auto const v = read_rss_kib(pid);
        if (!v)
            return std::nullopt;
        total += *v;
    }
    return total;
}

std::vector<std::optional<double>> read_cpu_seconds(std::vector<long> const& pids)
{
    std::vector<std::optional<double>> each;
    for (long const pid : pids)
        each.push_back(read_cpu_seconds(pid));
    return each;
}

std::optional<double> sum_all(std::vector<std::optional<double>> const& each)
{
    double total = 0;
    for (auto const& v : each) {
        if (!v)
            return std::nullopt;
        total += *v;
    }
    return total;
}

struct report
{
    options const* opt = nullptr;
    std::size_t connected = 0;
    std::size_t connect_failures = 0;
    std::array<std::size_t, static_cast<std::size_t>(connect_failure::count_)> failure_kinds{};
    double connect_seconds = 0;
    histogram handshake;
    histogram latency;
    std::vector<histogram> event_latency;   // with --per-event
    publisher::result pub;
    std::optional<double> after_start_at;   // with --start-at: seconds from it to the first publish
    std::optional<double> held;             // with --hold-until: seconds from the drain to closing
    std::uint64_t expected = 0;
    std::uint64_t received = 0;
    std::uint64_t duplicates = 0, out_of_order = 0, unexpected = 0, disconnects = 0, stream_errors = 0;
    std::uint64_t reordered = 0;          // after a higher sequence number: allowed if both were in flight
    std::size_t complete = 0;             // subscribers that received every event
    std::size_t other_orders = 0;         // of those, how many in an order other than the first's
    std::int64_t last_delivery_ns = 0;
    server_readings server;
    double generator_cpu = 0;
    long generator_max_rss_kib = 0;
    double elapsed = 0;
    bool timed_out = false;
    bool interrupted = false;
    std::string first_error;
    std::vector<std::string> problems;
    std::vector<std::size_t> node_connected;    // by --sub-ports entry
    std::vector<std::uint64_t> node_received;
};

/// Subscribers on the `k`-th of the --sub-ports: the run assigns subscriber i to port i % ports.
std::size_t node_share(options const& o, std::size_t k)
{
    std::size_t const nodes = o.sub_ports.size();
    return o.subscribers / nodes + (k < o.subscribers % nodes);
}

std::string join_pids(std::vector<long> const& pids)
{
    std::string out;
    for (long const pid : pids)
        out += (out.empty() ? "" : ",") + std::to_string(pid);
    return out;
}

class controller
{
public:
    controller(setup const& s, std::vector<std::unique_ptr<worker>>& workers)
        : setup_(s), workers_(workers), tick_(workers[0]->context()), signals_(workers[0]->context(), SIGINT, SIGTERM),
          pub_(workers[0]->context(), s, [this] { on_published(); })
    {
    }

    void start()
    {
        start_ns_ = now_ns();
        deadline_ns_ = start_ns_ + static_cast<std::int64_t>(setup_.opt.timeout * 1e9);
        signals_.async_wait([this](error_code ec, int) {
            if (!ec) {
                interrupted_ = true;
                finish();
            }
        });
        if (!setup_.opt.server_pids.empty())
            server_.rss_before_kib = read_rss_kib(setup_.opt.server_pids);
        for (auto& w : workers_)
            asio::post(w->context(), [w = w.get()] { w->start_opening(); });
        tick();
    }

    bool timed_out() const noexcept { return timed_out_; }
    bool interrupted() const noexcept { return interrupted_; }
    double connect_seconds() const noexcept { return seconds_between(start_ns_, connected_ns_ ? connected_ns_ : end_ns_); }
    double elapsed() const noexcept { return seconds_between(start_ns_, end_ns_); }
    server_readings const& server() const noexcept { return server_; }
    publisher::result const& published() const noexcept { return pub_.get(); }
    double generator_cpu() const noexcept { return gen_cpu_after_ - gen_cpu_before_; }
    /// How long after --start-at publishing began; none without --start-at.
    std::optional<double> after_start_at() const noexcept { return after_start_at_; }
    /// With --hold-until: how long the subscribers were kept after the drain.
    std::optional<double> held() const noexcept { return held_; }

private:
    enum class phase { connecting, settling, publishing, draining, holding, finished };

    template<class F>
    std::uint64_t sum(F f) const
    {
        std::uint64_t total = 0;
        for (auto& w : workers_)
            total += f(w->stats());
        return total;
    }

    void tick()
    {
        if (phase_ == phase::finished)
            return;
        auto const now = now_ns();
        if (now >= deadline_ns_) {
            timed_out_ = true;
            return finish();
        }
        std::int64_t next_tick_ns = 10'000'000;
        switch (phase_) {
        case phase::connecting:
            if (std::all_of(workers_.begin(), workers_.end(),
                    [](auto& w) { return w->stats().done_opening.load(std::memory_order_acquire); })) {
                connected_ns_ = now;
                connected_ = sum([](worker_stats& s) { return s.connected.load(); });
                phase_ = phase::settling;
                settle_end_ns_ = now + static_cast<std::int64_t>(setup_.opt.settle * 1e9);
            }
            break;
        case phase::settling:
            if (now >= settle_end_ns_) {
                // With --start-at, the last wait is timed to the moment (the timer's own
                // precision, tens of microseconds), so that two generators interleave.
                std::int64_t const wait = until_unix_ns(setup_.opt.start_at);
                if (wait > 0) {
                    next_tick_ns = std::min(next_tick_ns, wait);
                    break;
                }
                if (setup_.opt.start_at > 0)
                    after_start_at_ = static_cast<double>(-wait) * 1e-9;
                read_cpu_before();
                if (!setup_.opt.server_pids.empty())
                    server_.rss_idle_kib = read_rss_kib(setup_.opt.server_pids);
                gen_cpu_before_ = self_cpu_seconds();
                phase_ = phase::publishing;
                pub_.start();
            }
            break;
        case phase::publishing:
            break;   // on_published() moves on
        case phase::draining:
            if (now >= drain_end_ns_ || sum([](worker_stats& s) { return s.received.load(); }) >=
                                            std::uint64_t{connected_} * setup_.events) {
                // The run's figures end here; --hold-until only delays the closing.
                take_end_readings();
                if (until_unix_ns(setup_.opt.hold_until) <= 0)
                    return finish();
                phase_ = phase::holding;
            }
            break;
        case phase::holding:
            if (std::int64_t const wait = until_unix_ns(setup_.opt.hold_until); wait > 0)
                next_tick_ns = std::min(next_tick_ns, wait);
            else
                return finish();
            break;
        case phase::finished:
            return;
        }
        tick_.expires_after(std::chrono::nanoseconds(next_tick_ns));
        tick_.async_wait([this](error_code ec) {
            if (!ec)
                tick();
        });
    }

    // Until Unix time `at` (--start-at, --hold-until), on the system clock, which processes
    // share (unlike the steady clock); 0 for a time not given (0).
    static std::int64_t until_unix_ns(double at)
    {
        if (at <= 0)
            return 0;
        auto const since_epoch = std::chrono::system_clock::now().time_since_epoch();
        return static_cast<std::int64_t>(at * 1e9) - duration_cast<std::chrono::nanoseconds>(since_epoch).count();
    }

    void read_cpu_before()
    {
        server_.cpu_before_each = read_cpu_seconds(setup_.opt.server_pids);
        server_.cpu_before = sum_all(server_.cpu_before_each);
        if (setup_.opt.redis_pid)
            server_.redis_cpu_before = read_cpu_seconds(setup_.opt.redis_pid);
    }

    void on_published()
    {
        if (phase_ != phase::publishing)
            return;
        phase_ = phase::draining;
        drain_end_ns_ = now_ns() + static_cast<std::int64_t>(setup_.opt.drain * 1e9);
    }

    // The end of the run's figures: its length, and the server's and the generator's CPU time
    // and memory. Once: at the end of the drain, or at finish() for a run cut short.
    void take_end_readings()
    {
        if (end_ns_ != 0)
            return;
        end_ns_ = now_ns();
        if (!connected_ns_)
            connected_ = sum([](worker_stats& s) { return s.connected.load(); });
        if (server_.cpu_before_each.empty())
            read_cpu_before();
        server_.cpu_after_each = read_cpu_seconds(setup_.opt.server_pids);
        server_.cpu_after = sum_all(server_.cpu_after_each);
        if (setup_.opt.redis_pid)
            server_.redis_cpu_after = read_cpu_seconds(setup_.opt.redis_pid);
        if (!setup_.opt.server_pids.empty())
            server_.rss_end_kib = read_rss_kib(setup_.opt.server_pids);
        if (gen_cpu_before_ == 0)
            gen_cpu_before_ = self_cpu_seconds();
        gen_cpu_after_ = self_cpu_seconds();
    }

    void finish()
    {
        if (phase_ == phase::finished)
            return;
        bool const holding = phase_ == phase::holding;
        phase_ = phase::finished;
        take_end_readings();
        if (setup_.opt.hold_until > 0)
            held_ = holding ? seconds_between(end_ns_, now_ns()) : 0.0;
        tick_.cancel();
        error_code ignored;
        signals_.cancel(ignored);
        pub_.stop();
        for (auto& w : workers_)
            w->context().stop();
    }

    setup const& setup_;
    std::vector<std::unique_ptr<worker>>& workers_;
    asio::steady_timer tick_;
    asio::signal_set signals_;
    publisher pub_;
    phase phase_ = phase::connecting;
    std::int64_t start_ns_ = 0, deadline_ns_ = 0, connected_ns_ = 0, settle_end_ns_ = 0, drain_end_ns_ = 0,
                 end_ns_ = 0;
    std::size_t connected_ = 0;
    server_readings server_;
    double gen_cpu_before_ = 0, gen_cpu_after_ = 0;
    bool timed_out_ = false;
    bool interrupted_ = false;
    std::optional<double> after_start_at_;
    std::optional<double> held_;
};

// ---------------------------------------------------------------------------------------------
// Output

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

void print_table(report const& r)
{
    auto const& o = *r.opt;
    if (o.sub_ports.size() == 1 && o.sub_ports[0] == o.port) {
        std::printf("sse-loadgen  %s:%u  GET %s  POST %s\n", o.host.c_str(), o.port, o.sub_path.c_str(), o.pub_path.c_str());
    } else {
        std::string ports;
        for (auto const p : o.sub_ports)
            ports += (ports.empty() ? "" : ",") + std::to_string(p);
        std::printf("sse-loadgen  %s:%u  GET %s on ports %s  POST %s on port %u\n", o.host.c_str(), o.port,
            o.sub_path.c_str(), ports.c_str(), o.pub_path.c_str(), o.port);
    }
    std::printf("subscribers  %zu of %zu connected in %.2f s, %zu failed, %" PRIu64 " dropped by the server\n",
        r.connected, o.subscribers, r.connect_seconds, r.connect_failures, r.disconnects);
    if (r.connect_failures)
        for (std::size_t i = 0; i < r.failure_kinds.size(); ++i)
            if (r.failure_kinds[i])
                std::printf("             %zu %s\n", r.failure_kinds[i], connect_failure_names[i]);
    std::printf("handshake    p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", ms(r.handshake.percentile(50)),
        ms(r.handshake.percentile(99)), ms(r.handshake.max()));
    double const pub_seconds = seconds_between(r.pub.first_ns, r.pub.last_ns);
    std::string const asked = o.rate > 0 ? std::to_string(o.rate).substr(0, std::to_string(o.rate).find('.') + 2) + "/s"
                                         : std::string("unbounded");
    std::printf("published    %zu of %zu in %.2f s (%.1f/s, asked %s), %zu failed, %zu repeated after a 408, %zu B "
                "padding\n",
        r.pub.published, o.events, pub_seconds, pub_seconds > 0 ? r.pub.published / pub_seconds : 0.0, asked.c_str(),
        r.pub.failed, r.pub.repeated, o.payload);
    if (r.after_start_at)
        std::printf("start        first event %.3f s after --start-at\n", *r.after_start_at);
    if (r.held)
        std::printf("hold         subscribers closed %.3f s after the drain (--hold-until)\n", *r.held);
    double const delivery_seconds = r.last_delivery_ns ? seconds_between(r.pub.first_ns, r.last_delivery_ns) : 0;
    std::printf("deliveries   %" PRIu64 " of %" PRIu64 " (%.0f/s): missing %" PRIu64 ", out of order %" PRIu64
                ", duplicate %" PRIu64 ", unexpected %" PRIu64 "\n",
        r.received, r.expected, delivery_seconds > 0 ? r.received / delivery_seconds : 0.0, r.expected - r.received,
        r.out_of_order, r.duplicates, r.unexpected);
    if (r.reordered || r.other_orders)
        std::printf("order        %" PRIu64 " deliveries after a later-numbered event (allowed if both were in flight);"
                    " %zu of %zu complete subscribers in another order than the first\n",
            r.reordered, r.other_orders, r.complete);
    if (o.sub_ports.size() > 1)
        for (std::size_t k = 0; k < o.sub_ports.size(); ++k)
            std::printf("  port %-5u  %zu of %zu connected, %" PRIu64 " deliveries missing\n", o.sub_ports[k],
                r.node_connected[k], node_share(o, k), std::uint64_t{node_share(o, k)} * o.events - r.node_received[k]);
    std::printf("latency      p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  mean %.2f ms\n",
        ms(r.latency.percentile(50)), ms(r.latency.percentile(90)), ms(r.latency.percentile(99)),
        ms(r.latency.percentile(99.9)), ms(r.latency.max()), r.latency.mean() / 1e6);
    for (std::size_t i = 0; i < r.event_latency.size(); ++i)
        std::printf("  event %-5zu %" PRIu64 " received, p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", i,
            r.event_latency[i].count(), ms(r.event_latency[i].percentile(50)), ms(r.event_latency[i].percentile(99)),
            ms(r.event_latency[i].max()));
    if (!o.server_pids.empty()) {
        auto kib = [](std::optional<std::uint64_t> v) { return v ? static_cast<double>(*v) / 1024.0 : -1.0; };
        bool const several = o.server_pids.size() > 1;
        std::printf("server       %s %s  RSS %.1f MiB before, %.1f MiB idle with %zu, %.1f MiB at the end%s\n",
            several ? "pids" : "pid", join_pids(o.server_pids).c_str(), kib(r.server.rss_before_kib),
            kib(r.server.rss_idle_kib), r.connected, kib(r.server.rss_end_kib), several ? " (summed)" : "");
        if (r.server.rss_before_kib && r.server.rss_idle_kib && r.connected)
            std::printf("             %.0f B (%.2f KiB) RSS per idle subscriber\n",
                (static_cast<double>(*r.server.rss_idle_kib) - static_cast<double>(*r.server.rss_before_kib)) * 1024.0 /
                    r.connected,
                (static_cast<double>(*r.server.rss_idle_kib) - static_cast<double>(*r.server.rss_before_kib)) /
                    r.connected);
        if (r.server.cpu_before && r.server.cpu_after) {
            double const cpu = *r.server.cpu_after - *r.server.cpu_before;
            std::printf("             CPU %.2f s while publishing, %.3f us per delivery%s\n", cpu,
                r.received ? cpu * 1e6 / r.received : 0.0, several ? " (summed)" : "");
            if (several) {
                std::printf("             CPU by process:");
                for (std::size_t i = 0; i < o.server_pids.size(); ++i)
                    std::printf(" %ld %.2f s%s", o.server_pids[i],
                        *r.server.cpu_after_each[i] - *r.server.cpu_before_each[i],
                        i + 1 < o.server_pids.size() ? "," : "\n");
            }
        }
    }
    if (o.redis_pid && r.server.redis_cpu_before && r.server.redis_cpu_after) {
        double const cpu = *r.server.redis_cpu_after - *r.server.redis_cpu_before;
        std::printf("redis        pid %ld  CPU %.2f s while publishing, %.3f us per delivery (not in the server's)\n",
            o.redis_pid, cpu, r.received ? cpu * 1e6 / r.received : 0.0);
    }
    std::printf("generator    CPU %.2f s while publishing, max RSS %.1f MiB, %d thread(s), %.1f s in all\n",
        r.generator_cpu, r.generator_max_rss_kib / 1024.0, o.threads, r.elapsed);
    if (r.problems.empty()) {
        std::printf("result       ok\n");
    } else {
        std::printf("result       FAILED:");
        for (auto const& p : r.problems)
            std::printf(" %s;", p.c_str());
        std::printf("\n");
    }
}

std::string json_string(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + '"';
}

void print_json(report const& r)
{
    auto const& o = *r.opt;
    auto opt_num = [](auto const& v) { return v ? std::to_string(*v) : std::string("null"); };
    double const pub_seconds = seconds_between(r.pub.first_ns, r.pub.last_ns);
    double const delivery_seconds = r.last_delivery_ns ? seconds_between(r.pub.first_ns, r.last_delivery_ns) : 0;
    std::printf("{\"target\":{\"host\":%s,\"port\":%u,\"sub_path\":%s,\"pub_path\":%s},", json_string(o.host).c_str(),
        o.port, json_string(o.sub_path).c_str(), json_string(o.pub_path).c_str());
    std::printf("\"config\":{\"subscribers\":%zu,\"events\":%zu,\"rate\":%g,\"payload\":%zu,\"threads\":%d,"
                "\"connect_concurrency\":%zu,\"connect_rate\":%g,\"pub_connections\":%zu},",
        o.subscribers, o.events, o.rate, o.payload, o.threads, o.connect_concurrency, o.connect_rate,
        o.pub_connections);
    std::printf("\"subscribers\":{\"connected\":%zu,\"connect_failures\":%zu,", r.connected, r.connect_failures);
    for (std::size_t i = 0; i < r.failure_kinds.size(); ++i)
        std::printf("\"%s\":%zu,", connect_failure_names[i], r.failure_kinds[i]);
    std::printf("\"disconnects\":%" PRIu64 ",\"connect_seconds\":%.3f,\"handshake_ms\":{\"p50\":%.3f,\"p99\":%.3f,"
                "\"max\":%.3f}},",
        r.disconnects, r.connect_seconds, ms(r.handshake.percentile(50)), ms(r.handshake.percentile(99)),
        ms(r.handshake.max()));
    std::printf("\"publish\":{\"published\":%zu,\"failed\":%zu,\"repeated\":%zu,\"seconds\":%.3f,",
        r.pub.published, r.pub.failed, r.pub.repeated, pub_seconds);
    if (r.after_start_at)
        std::printf("\"after_start_at\":%.4f},", *r.after_start_at);
    else
        std::printf("\"after_start_at\":null},");
    std::printf("\"deliveries\":{\"expected\":%" PRIu64 ",\"received\":%" PRIu64 ",\"missing\":%" PRIu64
                ",\"out_of_order\":%" PRIu64 ",\"reordered\":%" PRIu64 ",\"other_orders\":%zu"
                ",\"duplicates\":%" PRIu64 ",\"unexpected\":%" PRIu64 ",\"stream_errors\":%" PRIu64
                ",\"per_second\":%.1f},",
        r.expected, r.received, r.expected - r.received, r.out_of_order, r.reordered, r.other_orders, r.duplicates,
        r.unexpected, r.stream_errors, delivery_seconds > 0 ? r.received / delivery_seconds : 0.0);
    std::printf("\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f},",
        ms(r.latency.percentile(50)), ms(r.latency.percentile(90)), ms(r.latency.percentile(99)),
        ms(r.latency.percentile(99.9)), ms(r.latency.max()), r.latency.mean() / 1e6);
    if (o.per_event) {
        // Per sequence number: receipts, p50, p99 and max in ms.
        std::printf("\"per_event\":[");
        for (std::size_t i = 0; i < r.event_latency.size(); ++i)
            std::printf("%s[%" PRIu64 ",%.3f,%.3f,%.3f]", i ? "," : "", r.event_latency[i].count(),
                ms(r.event_latency[i].percentile(50)), ms(r.event_latency[i].percentile(99)),
                ms(r.event_latency[i].max()));
        std::printf("],");
    }
    if (!o.server_pids.empty()) {
        std::string per_conn = "null", cpu = "null", per_delivery = "null";
        if (r.server.rss_before_kib && r.server.rss_idle_kib && r.connected)
            per_conn = std::to_string(
                (static_cast<double>(*r.server.rss_idle_kib) - static_cast<double>(*r.server.rss_before_kib)) * 1024.0 /
                r.connected);
        if (r.server.cpu_before && r.server.cpu_after) {
            double const c = *r.server.cpu_after - *r.server.cpu_before;
            cpu = std::to_string(c);
            if (r.received)
                per_delivery = std::to_string(c * 1e6 / r.received);
        }
        if (o.server_pids.size() == 1) {
            std::printf("\"server\":{\"pid\":%ld,", o.server_pids[0]);
        } else {
            std::string each;
            for (std::size_t i = 0; i < o.server_pids.size(); ++i) {
                auto const& b = r.server.cpu_before_each[i];
                auto const& a = r.server.cpu_after_each[i];
                each += (i ? "," : "") + (a && b ? std::to_string(*a - *b) : std::string("null"));
            }
            std::printf("\"server\":{\"pids\":[%s],\"cpu_seconds_each\":[%s],", join_pids(o.server_pids).c_str(),
                each.c_str());
        }
        std::printf("\"rss_before_kib\":%s,\"rss_idle_kib\":%s,\"rss_end_kib\":%s,"
                    "\"rss_bytes_per_subscriber\":%s,\"cpu_seconds\":%s,\"cpu_us_per_delivery\":%s},",
            opt_num(r.server.rss_before_kib).c_str(), opt_num(r.server.rss_idle_kib).c_str(),
            opt_num(r.server.rss_end_kib).c_str(), per_conn.c_str(), cpu.c_str(), per_delivery.c_str());
    } else {
        std::printf("\"server\":null,");
    }
    if (o.redis_pid) {
        std::string cpu = "null", per_delivery = "null";
        if (r.server.redis_cpu_before && r.server.redis_cpu_after) {
            double const c = *r.server.redis_cpu_after - *r.server.redis_cpu_before;
            cpu = std::to_string(c);
            if (r.received)
                per_delivery = std::to_string(c * 1e6 / r.received);
        }
        std::printf("\"redis\":{\"pid\":%ld,\"cpu_seconds\":%s,\"cpu_us_per_delivery\":%s},", o.redis_pid, cpu.c_str(),
            per_delivery.c_str());
    }
    if (o.sub_ports.size() > 1) {
        std::printf("\"ports\":[");
        for (std::size_t k = 0; k < o.sub_ports.size(); ++k)
            std::printf("%s{\"port\":%u,\"subscribers\":%zu,\"connected\":%zu,\"missing\":%" PRIu64 "}", k ? "," : "",
                o.sub_ports[k], node_share(o, k), r.node_connected[k],
                std::uint64_t{node_share(o, k)} * o.events - r.node_received[k]);
        std::printf("],");
    }
    std::printf("\"generator\":{\"cpu_seconds\":%.3f,\"max_rss_kib\":%ld},\"elapsed_seconds\":%.3f,", r.generator_cpu,
        r.generator_max_rss_kib, r.elapsed);
    std::printf("\"timed_out\":%s,\"ok\":%s,\"problems\":[", r.timed_out ? "true" : "false",
        r.problems.empty() ? "true" : "false");
    for (std::size_t i = 0; i < r.problems.size(); ++i)
        std::printf("%s%s", i ? "," : "", json_string(r.problems[i]).c_str());
    std::printf("],\"first_error\":%s}\n", json_string(r.first_error).c_str());
}

// ---------------------------------------------------------------------------------------------

/// Raises the soft descriptor limit to the hard one and checks that N subscribers fit.
void ensure_descriptors(options const& o)
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
        return;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    std::size_t const margin = 32 + o.pub_connections;
    if (lim.rlim_cur == RLIM_INFINITY)
        return;
    auto const limit = static_cast<std::size_t>(lim.rlim_cur);
    if (o.subscribers + margin > limit) {
        std::fprintf(stderr,
            "sse-loadgen: %zu subscribers need %zu file descriptors with the %zu kept for publishing and "
            "housekeeping, but the limit is %zu (ulimit -Hn); use --subscribers %zu or fewer, or raise "
            "the hard limit\n",
            o.subscribers, o.subscribers + margin, margin, limit, limit > margin ? limit - margin : 0);
        std::exit(2);
    }
}

setup make_setup(options const& o)
{
    setup s;
    s.opt = o;
    error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
        asio::io_context ctx;
        tcp::resolver resolver(ctx);
        auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
        if (ec || results.empty())
            usage_error("cannot resolve --host " + o.host + ": " + ec.message());
        s.endpoint = *results.begin();
    } else {
        s.endpoint = tcp::endpoint(address, o.port);
    }
    std::string const host = o.host + ":" + std::to_string(o.port);
    for (auto const port : o.sub_ports) {
        s.sub_endpoints.emplace_back(s.endpoint.address(), port);
        s.sub_requests.push_back("GET " + o.sub_path + " HTTP/1.1\r\nHost: " + o.host + ":" + std::to_string(port) +
            "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: sse-loadgen\r\n\r\n");
    }
    s.pub_prefix = "POST " + o.pub_path + " HTTP/1.1\r\nHost: " + host +
                   "\r\nUser-Agent: sse-loadgen\r\nContent-Type: text/plain\r\nContent-Length: ";
    if (o.payload)
        s.padding = " " + std::string(o.payload, 'x');
    s.events = static_cast<std::uint32_t>(o.events);
    s.seen_words = (o.events + 63) / 64;
    s.answered_before = std::make_unique<std::atomic<std::uint32_t>[]>(o.events);
    return s;
}

int run(options const& o)
{
    ensure_descriptors(o);
    std::signal(SIGPIPE, SIG_IGN);
    for (long const pid : o.server_pids)
        if (!read_rss_kib(pid))
            usage_error("--server-pid " + std::to_string(pid) + ": no readable /proc entry");
    if (o.redis_pid && !read_cpu_seconds(o.redis_pid))
        usage_error("--redis-pid " + std::to_string(o.redis_pid) + ": no readable /proc entry");

    setup const s = make_setup(o);
    std::vector<std::unique_ptr<worker>> workers;
    std::size_t first = 0;
    for (int i = 0; i < o.threads; ++i) {
        std::size_t const share = o.subscribers / o.threads + (static_cast<std::size_t>(i) < o.subscribers % o.threads);
        std::size_t const concurrency = std::max<std::size_t>(1, o.connect_concurrency / o.threads);
        workers.push_back(std::make_unique<worker>(s, first, share, concurrency, o.connect_rate / o.threads));
        first += share;
    }

    auto ctl = std::make_unique<controller>(s, workers);
    ctl->start();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers.size(); ++i)
        threads.emplace_back([&w = *workers[i]] {
            auto guard = asio::make_work_guard(w.context());
            w.context().run();
        });
    workers[0]->context().run();
    for (auto& t : threads)
        t.join();

    report r;
    r.opt = &o;
    r.connect_seconds = ctl->connect_seconds();
    r.elapsed = ctl->elapsed();
    r.pub = ctl->published();
    r.server = ctl->server();
    r.timed_out = ctl->timed_out();
    r.interrupted = ctl->interrupted();
    r.generator_cpu = ctl->generator_cpu();
    r.after_start_at = ctl->after_start_at();
    r.held = ctl->held();
    r.node_connected.assign(o.sub_ports.size(), 0);
    r.node_received.assign(o.sub_ports.size(), 0);
    for (auto& w : workers) {
        auto& st = w->stats();
        for (std::size_t k = 0; k < o.sub_ports.size(); ++k) {
            r.node_connected[k] += st.node_connected[k];
            r.node_received[k] += st.node_received[k];
        }
        r.connected += st.connected.load();
        r.connect_failures += st.failed.load();
        for (std::size_t i = 0; i < r.failure_kinds.size(); ++i)
            r.failure_kinds[i] += st.failures[i];
        r.handshake.merge(st.handshake);
        r.latency.merge(st.latency);
        r.event_latency.resize(st.event_latency.size());
        for (std::size_t i = 0; i < st.event_latency.size(); ++i)
            r.event_latency[i].merge(st.event_latency[i]);
        r.received += st.received.load();
        r.duplicates += st.duplicates;
        r.out_of_order += st.out_of_order;
        r.reordered += st.reordered;
        r.unexpected += st.unexpected;
        r.disconnects += st.disconnects;
        r.stream_errors += st.stream_errors;
        r.last_delivery_ns = std::max(r.last_delivery_ns, st.last_delivery_ns.load());
        if (r.first_error.empty())
            r.first_error = st.first_error;
    }
    if (r.first_error.empty())
        r.first_error = r.pub.first_error;
    r.expected = std::uint64_t{o.subscribers} * o.events;
    std::vector<std::uint64_t> orders;
    for (auto const& w : workers)
        w->complete_orders(orders);
    r.complete = orders.size();
    r.other_orders = static_cast<std::size_t>(
        std::count_if(orders.begin(), orders.end(), [&](std::uint64_t h) { return h != orders.front(); }));
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    r.generator_max_rss_kib = ru.ru_maxrss;

    auto problem = [&](bool bad, std::string text) {
        if (bad)
            r.problems.push_back(std::move(text));
    };
    std::size_t const not_connected = o.subscribers - r.connected;
    problem(r.interrupted, "interrupted");
    problem(r.timed_out, "timed out after " + std::to_string(static_cast<long>(o.timeout)) + " s");
    // Later than this, the events of generators started together no longer interleave as asked.
    constexpr double start_tolerance = 0.02;
    if (r.after_start_at && *r.after_start_at > start_tolerance) {
        char text[96];
        std::snprintf(text, sizeof text, "started %.3f s after --start-at (connecting took longer)", *r.after_start_at);
        problem(true, text);
    }
    problem(not_connected > 0, std::to_string(not_connected) + " subscribers not connected");
    problem(r.disconnects > 0, std::to_string(r.disconnects) + " streams dropped");
    problem(r.pub.failed > 0 || r.pub.published < o.events,
        std::to_string(o.events - r.pub.published) + " events not published");
    problem(r.received < r.expected, std::to_string(r.expected - r.received) + " deliveries missing");
    problem(r.out_of_order > 0, std::to_string(r.out_of_order) + " out of order");
    problem(r.other_orders > 0, std::to_string(r.other_orders) + " of " + std::to_string(r.complete) +
        " subscribers received the events in another order than the first");
    problem(r.duplicates > 0, std::to_string(r.duplicates) + " duplicates");
    problem(r.unexpected > 0, std::to_string(r.unexpected) + " unexpected events");

    if (o.json)
        print_json(r);
    else
        print_table(r);
    std::fflush(stdout);

    // Close the sockets before the io_contexts they belong to go away.
    ctl.reset();
    for (auto& w : workers)
        w->close_all();

    if (!r.problems.empty()) {
        std::fprintf(stderr, "sse-loadgen: FAILED:");
        for (auto const& p : r.problems)
            std::fprintf(stderr, " %s;", p.c_str());
        if (!r.first_error.empty())
            std::fprintf(stderr, " first error: %s", r.first_error.c_str());
        std::fprintf(stderr, "\n");
        return 1;
    }
    return 0;
}

} // namespace loadgen

int main(int argc, char** argv)
{
    return loadgen::run(loadgen::parse_options(argc, argv));
}
