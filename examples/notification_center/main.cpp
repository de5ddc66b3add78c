// sse-notification-center - keeps the notifications of an event stream, in a terminal.
//
// Shows sse::event_source<sse::tls_socket> in a long-running client that must not lose
// or double anything: every notification is written to a store file (atomically,
// together with the stream's last event id) before it is shown, and the program
// resumes from that id after a crash, a kill or a server restart. In a terminal it
// shows a live list with keys to read, dismiss, filter and search; with --json, or
// when stdout is not a terminal, it prints one JSON line per change instead.
//
//   sse-server &                                   the example server, on 127.0.0.1:8080
//   sse-notification-center --user alice --store /tmp/alice.json
//   curl -d '{"event":"notification","userIds":["alice"],"data":{"notificationType":"success",
//             "title":"Saved","message":"Profile saved"}}' http://127.0.0.1:8080/api/sse/publish
//
// q (or SIGINT, SIGTERM) stops it cleanly. See docs/notification-center.md.
#include "action_sender.hpp"
#include "notification_store.hpp"
#include "terminal_ui.hpp"

#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/source_options.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

namespace exit_status {
constexpr int ok = 0;
constexpr int failed = 1;
constexpr int usage = 2;
} // namespace exit_status

char const* const footer_text = R"(Keys: j/k or arrows move, r read, a all read, d dismiss, C clear all,
1-5 pick an action of the selected notification, f filter by type, / search,
Esc clear search, q quit. A url action is shown (and opened with xdg-open under
--open-urls); an event action is sent to the server (POST /api/sse/actions).

Exit status: 0 after q, or when the server ends the stream for good (204) in --json mode;
1 when the stream fails (a status other than 200, a certificate error) in --json mode, or
the store cannot be written; 2 for a usage error or a store another instance holds;
130 after SIGINT, 143 after SIGTERM.)";

struct settings
{
    std::string url = "http://127.0.0.1:8080/api/sse";
    std::string user;
    std::string channels;
    std::string token;
    std::string store;
    std::size_t max = 200;
    long long auto_dismiss_ms = 0;
    bool open_urls = false;
    bool no_retry_429 = false;
    std::string cacert;
    bool insecure = false;
    bool json = false;
};

// The stream URL with the server's userId and channels parameters (docs/server.md).
std::string stream_url(settings const& s)
{
    std::string url = s.url;
    auto const add = [&](char const* name, std::string const& value) {
        if (value.empty())
            return;
        url += url.find('?') == std::string::npos ? '?' : '&';
        url += name;
        url += '=';
        url += nc::query_escape(value, ",");   // the commas between channels stay
    };
    add("userId", s.user);
    add("channels", s.channels);
    return url;
}

// $XDG_STATE_HOME/sse-notification-center/notifications.json, or under ~/.local/state.
std::string default_store_path()
{
    std::string base;
    if (char const* state = std::getenv("XDG_STATE_HOME"); state && *state == '/')
        base = state;
    else if (char const* home = std::getenv("HOME"); home && *home)
        base = std::string(home) + "/.local/state";
    else
        return "sse-notifications.json";
    return base + "/sse-notification-center/notifications.json";
}

// mkdir -p of the directory that holds `path`.
void make_parent_directories(std::string const& path)
{
    for (auto slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1))
        ::mkdir(path.substr(0, slash).c_str(), 0700);
}

// Two programs writing one store would undo each other's changes: the second one stops.
// The kernel drops the lock when the process dies, however it dies.
int lock_store(std::string const& path, std::string& problem)
{
    std::string const lock = path + ".lock";
    int const fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        problem = fmt::format("cannot open {}: {}", lock, std::strerror(errno));
        return -1;
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        problem = errno == EWOULDBLOCK ? fmt::format("another sse-notification-center uses {}", path)
                                       : fmt::format("cannot lock {}: {}", lock, std::strerror(errno));
        ::close(fd);
        return -1;
    }
    return fd;
}

nlohmann::json describe(nc::notification const& n)
{
    nlohmann::json j = {
        {"id", n.id},
        {"type", nc::to_string(n.type)},
        {"title", n.title},
        {"message", n.message},
        {"duration", n.duration.count()},
        {"read", n.read},
        {"received", std::chrono::duration_cast<std::chrono::milliseconds>(n.received.time_since_epoch()).count()}};
    if (!n.actions.empty()) {
        nlohmann::json actions = nlohmann::json::array();
        for (auto const& a : n.actions)
            actions.push_back(a.url.empty() ? nlohmann::json{{"label", a.label}, {"event", a.event}}
                                            : nlohmann::json{{"label", a.label}, {"url", a.url}});
        j["actions"] = std::move(actions);
    }
    return j;
}

// xdg-open URL, without a shell; its exit is not awaited beyond reaping.
bool open_in_browser(std::string const& url)
{
    char const* argv[] = {"xdg-open", url.c_str(), nullptr};
    pid_t pid = 0;
    if (::posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
        return false;
    std::thread([pid] {
        int status = 0;
        ::waitpid(pid, &status, 0);
    }).detach();
    return true;
}

class center
{
public:
    center(asio::io_context& io, settings const& s, sse::event_source_options options, nc::notification_store& store,
           std::unique_ptr<nc::raw_terminal> terminal)
        : io_(io), settings_(s), store_(store), source_(io.get_executor(), stream_url(s), std::move(options)),
          expiry_(io), signals_(io, SIGINT, SIGTERM), resize_(io), input_(io), terminal_(std::move(terminal)),
          previous_id_(store.last_event_id())
    {
        source_.on_event([this](sse::event_view const& ev) { on_event(ev); });
        source_.on_state([this](sse::source_state state, sse::error_code why) { on_state(state, why); });
    }

    void start()
    {
        signals_.async_wait([this](sse::error_code ec, int signo) {
            if (!ec)
                finish(128 + signo);
        });
        if (terminal_) {
            resize_.add(SIGWINCH);
            wait_for_resize();
            input_.assign(::dup(STDIN_FILENO));
            read_keys();
            redraw();
        } else {
            emit({{"change", "restored"},
                  {"count", store_.size()},
                  {"unread", store_.unread()},
                  {"lastEventId", store_.last_event_id()}});
        }
        expire();
        source_.start();
    }

    int status() const { return status_.value_or(exit_status::ok); }
    std::string const& farewell() const { return farewell_; }

private:
    void on_event(sse::event_view const& ev)
    {
        if (status_)
            return;
        // An event without an id: field keeps the previous last event id. Such a
        // notification gets a local id and cannot be recognised when it comes again.
        std::string const id(ev.last_event_id);
        bool const new_id = id != previous_id_;
        previous_id_ = id;
        std::error_code ec;
        if (ev.type == "notification") {
            std::string why;
            auto n = nc::parse_notification(ev.data, why);
            if (!n) {
                warn(fmt::format("ignored a notification event (id {}): {}", id, why));
                store_.set_last_event_id(id, ec);
            } else {
                n->id = new_id ? id : std::string();
                // Written to the store file before it is shown: a crash after this line
                // loses nothing, a crash before it resumes from the previous id.
                auto const result = store_.accept(std::move(*n), id, ec);
                if (!ec && result.added) {
                    auto const& kept = store_.all().back();
                    auto line = describe(kept);
                    line["change"] = "received";
                    line["unread"] = store_.unread();
                    emit(std::move(line));
                    for (auto const& gone : result.evicted)
                        emit({{"change", "evicted"}, {"id", gone.id}, {"unread", store_.unread()}});
                    arm_expiry();
                } else if (!ec) {
                    emit({{"change", "duplicate"}, {"id", id}});
                }
            }
        } else {
            if (ev.type == "reset") {
                // The server cannot replay what was published since our id: some notifications are lost.
                warn(fmt::format("the server could not resume the stream ({}); notifications published meanwhile "
                                 "are missing",
                                 ev.data));
                emit({{"change", "reset"}, {"data", std::string(ev.data)}, {"lastEventId", id}});
            }
            store_.set_last_event_id(id, ec);
        }
        if (ec)
            return fail_store(ec);
        redraw();
    }

    void on_state(sse::source_state state, sse::error_code why)
    {
        using sse::source_state;
        connection_.state = sse::to_string(state);
        auto const stats = source_.stats();
        connection_.detail = why && why != sse::error::stream_ended ? why.message() : std::string();
        if (why == sse::error::bad_status)   // which one: a 429 says the server's limit was reached
            connection_.detail += fmt::format(" {}", stats.last_status);
        if (state == source_state::waiting)
            connection_.detail += fmt::format("{}retry in {} ms", connection_.detail.empty() ? "" : "; ",
                                              stats.reconnect_delay.count());
        nlohmann::json line = {{"change", "state"}, {"state", connection_.state}};
        if (why)
            line["reason"] = why.message();
        if (why == sse::error::bad_status)
            line["status"] = stats.last_status;
        if (state == source_state::waiting)
            line["retryInMs"] = stats.reconnect_delay.count();
        emit(std::move(line));
        redraw();
        if (!terminal_ && state == source_state::closed)
            finish(exit_status::ok);
        else if (!terminal_ && state == source_state::failed)
            finish(exit_status::failed);
    }

    // Auto-dismissal: a timer for the earliest expiry. Capped, so that a change of the
    // wall clock (the store keeps wall-clock times) is noticed within a minute.
    void arm_expiry()
    {
        auto const when = store_.next_expiry();
        if (!when || status_) {
            expiry_.cancel();
            return;
        }
        auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(*when - store_.now());
        auto const delay = std::clamp(left + std::chrono::milliseconds(1), std::chrono::milliseconds(1),
                                      std::chrono::milliseconds(std::chrono::minutes(1)));
        expiry_.expires_after(delay);
        expiry_.async_wait([this](sse::error_code ec) {
            if (!ec)
                expire();
        });
    }

    void expire()
    {
        std::error_code ec;
        auto const gone = store_.expire(ec);
        if (ec)
            return fail_store(ec);
        for (auto const& n : gone)
            emit({{"change", "expired"}, {"id", n.id}, {"unread", store_.unread()}});
        if (!gone.empty())
            redraw();
        arm_expiry();
    }

    void read_keys()
    {
        input_.async_read_some(asio::buffer(input_buffer_), [this](sse::error_code ec, std::size_t n) {
            if (ec) {
                if (ec != asio::error::operation_aborted)
                    finish(exit_status::ok);   // the terminal went away
                return;
            }
            for (auto const& k : decoder_.feed(std::string_view(input_buffer_.data(), n)))
                apply(ui_.handle(k, store_));
            if (status_)
                return;
            redraw();
            read_keys();
        });
    }

    void apply(nc::ui_action const& action)
    {
        if (status_)
            return;
        std::error_code ec;
        switch (action.kind) {
        case nc::ui_action::quit:
            return finish(exit_status::ok);
        case nc::ui_action::mark_read:
            store_.mark_read(action.id, ec);
            break;
        case nc::ui_action::mark_all_read:
            store_.mark_all_read(ec);
            break;
        case nc::ui_action::dismiss:
            store_.dismiss(action.id, ec);
            arm_expiry();
            break;
        case nc::ui_action::clear_all:
            store_.clear_all(ec);
            arm_expiry();
            break;
        case nc::ui_action::pick_action:
            pick(action.id, action.action);
            break;
        case nc::ui_action::none:
            break;
        }
        if (ec)
            fail_store(ec);
    }

    // A url action is shown (and opened if asked); an event action goes to the server,
    // which publishes it to this user's streams (docs/server.md, POST /api/sse/actions).
    void pick(std::string const& id, std::size_t index)
    {
        auto const* n = store_.find(id);
        if (!n || index >= n->actions.size())
            return;
        auto const& a = n->actions[index];
        if (!a.url.empty()) {
            std::string const link = nc::action_link(settings_.url, a.url);
            if (link.empty())
                return notice(
                    fmt::format("not opening \"{}\": only http, https and paths on the server are opened", a.url));
            bool const opened = settings_.open_urls && open_in_browser(link);
            notice(fmt::format("{}: {}{}", a.label, link,
                               settings_.open_urls ? (opened ? " (opened)" : " (xdg-open failed)") : ""));
            return;
        }
        nc::action_request request;
        request.url = nc::actions_url(settings_.url, settings_.user);
        request.token = settings_.token;
        request.body = nc::action_body(*n, a);
        request.verify_peer = !settings_.insecure;
        request.ca_file = settings_.cacert;
        notice(fmt::format("{}: sending {}...", a.label, a.event));
        nc::post_action(io_.get_executor(), std::move(request), [this, label = a.label, event = a.event](nc::action_result r) {
            if (status_)
                return;
            if (r.ec)
                notice(fmt::format("{}: {} not sent: {}", label, event, r.ec.message()));
            else if (r.status / 100 != 2)
                notice(fmt::format("{}: the server refused {} ({}): {}", label, event, r.status, r.body));
            else
                notice(fmt::format("{}: {} sent", label, event));
        });
    }

    // A line for the user: on the status line in the terminal, as JSON otherwise.
    void notice(std::string const& text)
    {
        if (terminal_) {
            connection_.detail = text;
            redraw();
        } else {
            emit({{"change", "action"}, {"message", text}});
        }
    }

    void wait_for_resize()
    {
        resize_.async_wait([this](sse::error_code ec, int) {
            if (ec)
                return;
            redraw();
            wait_for_resize();
        });
    }

    // Draws once per turn of the loop, however many changes came in it.
    void redraw()
    {
        if (!terminal_ || redraw_pending_ || status_)
            return;
        redraw_pending_ = true;
        asio::post(io_, [this] {
            redraw_pending_ = false;
            if (status_)
                return;
            auto const [width, height] = terminal_->size();
            terminal_->write(ui_.render(store_, connection_, width, height));
        });
    }

    void emit(nlohmann::json line)
    {
        if (terminal_ || status_)
            return;
        std::string const text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) {
            farewell_ = "sse-notification-center: cannot write to stdout";
            finish(exit_status::failed);
        }
    }

    void warn(std::string const& text)
    {
        if (terminal_)
            connection_.detail = text;   // stderr would scribble over the screen
        else
            fmt::print(stderr, "sse-notification-center: {}\n", text);
    }

    // A notification that cannot be written is not acknowledged: the store keeps the
    // previous id, so the next run asks for it again.
    void fail_store(std::error_code ec)
    {
        farewell_ = fmt::format("sse-notification-center: cannot write {}: {}", settings_.store, ec.message());
        finish(exit_status::failed);
    }

    // The first reason to stop decides the status; then nothing keeps io.run() busy.
    void finish(int status)
    {
        if (!status_)
            status_ = status;
        sse::error_code ignored;
        expiry_.cancel();
        signals_.cancel(ignored);
        resize_.cancel(ignored);
        if (input_.is_open())
            input_.close(ignored);
        source_.close();
    }

    asio::io_context& io_;
    settings const& settings_;
    nc::notification_store& store_;
    sse::event_source<sse::tls_socket> source_;
    asio::steady_timer expiry_;
    asio::signal_set signals_;
    asio::signal_set resize_;
    asio::posix::stream_descriptor input_;
    std::unique_ptr<nc::raw_terminal> terminal_;
    nc::terminal_ui ui_;
    nc::key_decoder decoder_;
    nc::connection_status connection_;
    std::array<char, 256> input_buffer_{};
    std::string previous_id_;
    std::optional<int> status_;
    std::string farewell_;
    bool redraw_pending_ = false;
};

} // namespace

int main(int argc, char** argv)
{
    settings s;
    CLI::App app("Keeps the notifications of a Server-Sent Events stream (the example server's\n"
                 "'notification' events): a live list in a terminal, JSON lines otherwise.",
        "sse-notification-center");
    app.add_option("url", s.url, "http:// or https:// URL of the stream")->capture_default_str()->type_name("URL");
    app.add_option("--user", s.user, "user id, sent as ?userId= (events published to this user arrive)")
        ->type_name("ID");
    app.add_option("--channels", s.channels, "comma-separated channels to follow, sent as ?channels=")
        ->type_name("LIST");
    app.add_option("--token", s.token, "credential, sent as 'Authorization: Bearer TOKEN'")->type_name("TOKEN");
    app.add_option("--store", s.store,
           fmt::format("the store file (default {}; empty: keep nothing on disk)", default_store_path()))
        ->type_name("FILE");
    app.add_option("--max", s.max, "notifications kept; beyond it the oldest read one goes first")
        ->type_name("N")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t(1), std::size_t(1000000)));
    app.add_option("--cacert", s.cacert, "trust the CA certificates in this PEM file, not the system's")
        ->type_name("FILE")
        ->check(CLI::ExistingFile.description(""));
    app.add_option("--auto-dismiss", s.auto_dismiss_ms,
           "dismiss notifications that carry no duration this many ms after they arrive (0: keep them)")
        ->type_name("MS")
        ->capture_default_str()
        ->check(CLI::Range(0LL, 365LL * 24 * 3600 * 1000));
    app.add_flag("--open-urls", s.open_urls, "open a picked url action with xdg-open (default: only show it)");
    app.add_flag("--no-retry-429", s.no_retry_429,
        "end on 429 Too Many Requests instead of reconnecting after its Retry-After");
    app.add_flag("-k,--insecure", s.insecure, "do not verify the server's certificate");
    app.add_flag("--json", s.json, "print one JSON line per change instead of the interactive list");
    app.footer(footer_text);
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        int const code = app.exit(e);
        return code == 0 ? exit_status::ok : exit_status::usage;
    }
    if (!app.count("--store")) {
        s.store = default_store_path();
        make_parent_directories(s.store);
    }
    std::signal(SIGPIPE, SIG_IGN);

    if (!s.store.empty()) {
        std::string problem;
        if (lock_store(s.store, problem) < 0) {   // held until the process ends
            fmt::print(stderr, "sse-notification-center: {}\n", problem);
            return exit_status::usage;
        }
    }
    nc::store_options store_options;
    store_options.path = s.store;
    store_options.max = s.max;
    store_options.default_duration = std::chrono::milliseconds(s.auto_dismiss_ms);
    nc::notification_store store(store_options);
    std::error_code ec;
    auto const loaded = store.load(ec);
    if (!loaded.moved_aside.empty())
        fmt::print(stderr, "sse-notification-center: warning: {} is corrupt ({}); moved it to {} and starting empty\n",
                   s.store, loaded.problem, loaded.moved_aside);
    if (ec) {
        fmt::print(stderr, "sse-notification-center: cannot read {}: {}\n", s.store, ec.message());
        return exit_status::failed;
    }
    // Written at once: proves the file can be written before anything is accepted.
    store.save(ec);
    if (ec) {
        fmt::print(stderr, "sse-notification-center: cannot write {}: {}\n", s.store, ec.message());
        return exit_status::failed;
    }

    sse::event_source_options options;
    options.last_event_id = store.last_event_id();   // resume where the last run stopped
    options.verify_peer = !s.insecure;
    options.ca_file = s.cacert;
    options.retry_429 = !s.no_retry_429;
    if (!s.token.empty())
        options.headers.emplace_back("Authorization", "Bearer " + s.token);

    bool const interactive = !s.json && ::isatty(STDOUT_FILENO) && ::isatty(STDIN_FILENO);
    asio::io_context io;
    std::optional<center> run;
    try {
        std::unique_ptr<nc::raw_terminal> terminal;
        if (interactive)
            terminal = std::make_unique<nc::raw_terminal>(STDIN_FILENO, STDOUT_FILENO);
        run.emplace(io, s, std::move(options), store, std::move(terminal));
    } catch (std::system_error const& e) {
        if (e.code() == sse::error::bad_url)
            fmt::print(stderr, "sse-notification-center: {}: {}\n", s.url, e.code().message());
        else
            fmt::print(stderr, "sse-notification-center: {}\n", e.what());
        return exit_status::usage;
    }
    run->start();
    io.run();
    int const status = run->status();
    std::string const farewell = run->farewell();
    run.reset();   // gives the terminal back before the last words
    if (!farewell.empty())
        fmt::print(stderr, "{}\n", farewell);
    return status;
}
