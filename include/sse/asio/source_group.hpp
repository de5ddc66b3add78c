// sse/asio/source_group.hpp - several event sources as one: shared handlers, one health view.
#ifndef SSE_ASIO_SOURCE_GROUP_HPP
#define SSE_ASIO_SOURCE_GROUP_HPP

#include <sse/config.hpp>
#include <sse/error.hpp>
#include <sse/parser.hpp>
#include <sse/source_options.hpp>
#include <sse/asio/event_source.hpp>

#include <sse/asio/net.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

SSE_NAMESPACE_BEGIN

/** The health of one stream of a source_group: what its event source counts
    (`stats`), and what the group adds from the states it saw.

    Times are std::chrono::steady_clock time points; a default-constructed one
    means "never".
*/
struct source_health
{
    using clock = std::chrono::steady_clock;

    /// The name given to add().
    std::string name;

    /// The URL given to add().
    std::string url;

    /// The source's state (the same as `stats.state`). `closed` before start.
    source_state state = source_state::closed;

    /// The source's own statistics: bytes, events, attempts, reconnects, last error...
    event_source_stats stats;

    /// True once the group has started this stream.
    bool started = false;

    /// When the stream was added, and when the group started it.
    clock::time_point added_at{}, started_at{};

    /// When the current state began (`started_at` until the first change).
    clock::time_point state_since{};

    /// When the last event was handed to the group's handlers.
    clock::time_point last_event_at{};

    /// Attempts that ended before the stream opened (connect errors, timeouts,
    /// a refused status): each change from `connecting` to a state other than
    /// `open` and `closed` (`waiting`, `failed`).
    std::uint64_t failed_attempts = 0;

    /// Open streams lost (the server closed, the connection broke, a stall):
    /// each change from `open` to a state other than `closed` (`waiting`,
    /// `failed`). close() is not one.
    std::uint64_t disconnects = 0;

    /// State changes reported so far.
    std::uint64_t state_changes = 0;

    /// The time the current stream has been open; zero unless `state` is `open`.
    clock::duration uptime{};

    /** The share of the time since start that the stream was open, in [0, 1]
        (`stats.time_connected` over the time since `started_at`); 0 before start.
    */
    double availability = 0;
};

namespace detail {

// One stream of a group, with the source's type erased so that the bookkeeping
// below is compiled once, whatever the Socket.
struct group_member
{
    using clock = std::chrono::steady_clock;

    virtual ~group_member() = default;
    virtual event_source_stats stats() const = 0;
    virtual void start() = 0;
    virtual void close() = 0;
    virtual void wire(std::function<void(event_view const&)> on_event, std::function<void(std::string_view)> on_comment,
                      std::function<void(source_state, error_code)> on_state) = 0;

    std::string name;   // set before the member is shared, then never changed
    std::string url;

    // Read and written on the hot path without the group's lock.
    std::atomic<bool> removed{false};
    std::atomic<clock::rep> last_event_at{0};   // ticks since the clock's epoch; 0: never

    // Guarded by group_state::mutex.
    bool started = false;
    bool ended = false;   // reported closed or failed after start, or removed while running
    source_state state = source_state::closed;
    clock::time_point added_at{}, started_at{}, state_since{};
    std::uint64_t failed_attempts = 0, disconnects = 0, state_changes = 0;
};

// What the group owns, shared with the callbacks registered on each source (which
// hold it weakly, so that no source keeps the group alive).
class group_state : public std::enable_shared_from_this<group_state>
{
public:
    using clock = std::chrono::steady_clock;
    using event_handler = std::function<void(std::string_view, event_view const&)>;
    using comment_handler = std::function<void(std::string_view, std::string_view)>;
    using state_handler = std::function<void(std::string_view, source_state, error_code)>;

    explicit group_state(net::any_io_executor ex) : strand(net::make_strand(std::move(ex))) {}

    // error::duplicate_stream_name if the group has a member of that name.
    inline error_code insert(std::shared_ptr<group_member> m);
    inline bool remove(std::string_view name);
    inline void start();
    inline void close();
    inline void clear();
    inline std::vector<source_health> health(std::optional<std::string_view> only) const;
    inline std::vector<std::string> names() const;
    inline bool contains(std::string_view name) const;
    inline std::size_t size() const;
    inline std::size_t running() const;

    net::strand<net::any_io_executor> strand;

    // Registered before start(), then only read (on the strand).
    std::vector<event_handler> every_event;
    std::map<std::string, std::vector<event_handler>, std::less<>> typed;
    std::vector<comment_handler> comments;
    std::vector<state_handler> states;
    std::vector<std::function<void()>> all_ended;

private:
    inline void deliver(group_member& m, event_view const& ev);
    inline void comment(group_member& m, std::string_view text);
    inline void changed(group_member& m, source_state s, error_code why);
    inline void notify_all_ended();

    mutable std::mutex mutex_;   // guards what follows and the members' counters
    std::map<std::string, std::shared_ptr<group_member>, std::less<>> members_;
    std::size_t running_ = 0;   // started and not yet ended
    bool started_ = false;
};

template<class Socket>
struct group_source final : group_member
{
    group_source(net::any_io_executor ex, std::string_view u, event_source_options options, error_code& ec)
        : source(std::move(ex), u, std::move(options), ec)
    {
    }

    event_source_stats stats() const override { return source.stats(); }
    void start() override { source.start(); }
    void close() override { source.close(); }

    void wire(std::function<void(event_view const&)> on_event, std::function<void(std::string_view)> on_comment,
              std::function<void(source_state, error_code)> on_state) override
    {
        source.on_event(std::move(on_event));
        source.on_comment(std::move(on_comment));
        source.on_state(std::move(on_state));
    }

    event_source<Socket> source;
};

} // namespace detail

/** Several event sources owned as one: each stream has a name, its own URL and
    options, and feeds shared handlers that also receive its name; one call
    reports the health of every stream.

    @code
    asio::io_context io;
    sse::source_group<asio::ip::tcp::socket> group(io.get_executor());
    group.on("price", [](std::string_view name, sse::event_view const& ev) {
        std::cout << name << ": " << ev.data << '\n';
    });
    group.on_state([](std::string_view name, sse::source_state s, sse::error_code why) {
        std::cerr << name << ' ' << sse::to_string(s) << ' ' << why.message() << '\n';
    });
    group.add("eu", "http://127.0.0.1:8080/events?topics=eu");
    group.add("us", "http://127.0.0.1:8081/events?topics=us");
    group.start();
    io.run();   // returns once every stream has ended for good
    @endcode

    Each stream is an sse::event_source<Socket> with all its behaviour
    (reconnects, back-off, `Last-Event-ID`, redirects, stall detection). A
    stream that fails does not affect the others: it stays in the group,
    `failed`, until remove(). add() returns the source, for what is set per
    stream: `filter`, `throttle`, `on_before_attempt`. Its `on_state` and
    `on_comment` belong to the group: do not replace them.

    start() starts every stream added so far; a stream added later starts at
    once. close() ends every running stream (each reports `closed`) and makes
    later add()s wait for the next start(); an ended stream is not restarted.
    remove() ends one stream without calling any handler for it again. When
    the last running stream ends (closed, failed or removed), the
    `on_all_ended` handlers run; running() says how many are still going. The
    group keeps no work of its own, so `io.run()` returns once every stream
    has ended.

    @par Handlers and threads
    Every stream runs on a strand of the group's strand, so all handlers of all
    streams run on the group's strand (get_executor()), one at a time: shared
    state in handlers needs no lock. The name a handler receives is valid
    during the call. Register handlers before start(). Destroy the group on its
    strand or once its io_context has stopped; destruction closes every stream
    without calling handlers.

    @par Thread safety
    Distinct objects: safe. Shared objects: add(), remove(), start(), close(),
    health(), names(), contains(), size() and running() are safe from any
    thread, and from inside a handler.
*/
template<class Socket>
class source_group
{
public:
    using source_type = event_source<Socket>;
    using executor_type = net::strand<net::any_io_executor>;

    /// A group whose streams run on `executor`. Nothing happens until add() and start().
    explicit source_group(net::any_io_executor executor)
        : state_(std::make_shared<detail::group_state>(std::move(executor)))
    {
    }

    source_group(source_group const&) = delete;
    source_group& operator=(source_group const&) = delete;

    /// Closes every stream, without calling handlers.
    ~source_group() { state_->clear(); }

    /** Calls `handler(std::string_view name, event_view const&)` for each
        event of type `type` ("message" for events without `event:`) on any stream.
    */
    void on(std::string type, std::function<void(std::string_view, event_view const&)> handler)
    {
        state_->typed[std::move(type)].push_back(std::move(handler));
    }

    /// Calls `handler(std::string_view name, event_view const&)` for every event, before the per-type handlers.
    void on_event(std::function<void(std::string_view, event_view const&)> handler)
    {
        state_->every_event.push_back(std::move(handler));
    }

    /// Calls `handler(std::string_view name, std::string_view text)` for each comment line.
    void on_comment(std::function<void(std::string_view, std::string_view)> handler)
    {
        state_->comments.push_back(std::move(handler));
    }

    /// Calls `handler(std::string_view name, source_state, error_code why)` on each change
    /// of a stream's state, as event_source::on_state describes.
    void on_state(std::function<void(std::string_view, source_state, error_code)> handler)
    {
        state_->states.push_back(std::move(handler));
    }

    /// Calls `handler()` each time the last running stream ends: closed, failed or removed.
    void on_all_ended(std::function<void()> handler) { state_->all_ended.push_back(std::move(handler)); }

    /** Adds a stream called `name` that follows `url` with `options`, and
        starts it if the group is started. Returns its source, valid until
        remove() or the group's destruction.

        Throws std::system_error with error::duplicate_stream_name if the
        group has a stream of that name, and with what the event_source
        constructor reports for the URL (error::bad_url,
        error::https_not_supported) or the TLS options.
    */
    source_type& add(std::string name, std::string_view url, event_source_options options = {})
    {
        error_code ec;
        source_type* source = add(name, url, std::move(options), ec);
        if (ec)
            SSE_THROW(std::system_error(ec, "sse::source_group::add: stream '" + name + "'"));
        return *source;
    }

    /** As above, but reports those errors through `ec` instead of throwing:
        returns the source, or null (and adds nothing) on error.
    */
    source_type* add(std::string name, std::string_view url, event_source_options options, error_code& ec)
    {
        ec = {};
        if (state_->contains(name)) {
            ec = error::duplicate_stream_name;
            return nullptr;
        }
        auto m = std::make_shared<detail::group_source<Socket>>(state_->strand, url, std::move(options), ec);
        if (ec)
            return nullptr;
        m->name = std::move(name);
        m->url = std::string(url);
        source_type* source = &m->source;
        ec = state_->insert(std::move(m));   // a name added meanwhile, by another thread
        return ec ? nullptr : source;
    }

    /** Ends the stream called `name` and forgets it, without reporting
        `closed`: no handler call for it begins after this returns (a handler
        already running finishes the current event). Returns false if there is
        no such stream.
    */
    bool remove(std::string_view name) { return state_->remove(name); }

    /// Starts every stream not yet started, and every stream added from now on.
    void start() { state_->start(); }

    /** Ends every running stream, as event_source::close() does: each
        reports `closed`. The streams stay in the group, with their health,
        until removed. Streams not started yet, and those added after this,
        wait for the next start().
    */
    void close() { state_->close(); }

    /// A snapshot of every stream's health, ordered by name.
    std::vector<source_health> health() const { return state_->health(std::nullopt); }

    /// A snapshot of the health of the stream called `name`, if there is one.
    std::optional<source_health> health(std::string_view name) const
    {
        auto all = state_->health(name);
        if (all.empty())
            return std::nullopt;
        return std::move(all.front());
    }

    /// The names of the streams, in order.
    std::vector<std::string> names() const { return state_->names(); }

    /// True if there is a stream called `name`.
    bool contains(std::string_view name) const { return state_->contains(name); }

    /// The number of streams, ended ones included.
    std::size_t size() const { return state_->size(); }

    /// The number of streams started and not yet ended (closed or failed).
    std::size_t running() const { return state_->running(); }

    /// The strand every handler runs on.
    executor_type get_executor() const noexcept { return state_->strand; }

private:
    std::shared_ptr<detail::group_state> state_;
};

SSE_NAMESPACE_END

#include <sse/asio/impl/source_group.hpp>
#endif
