// cluster.hpp - real processes on loopback for the multi-node tests: redis-server on a free
// port (stopped, killed and restarted on the same port and data directory), and sse-server
// nodes started with --port 0, whose chosen port is read from their first line of output.
#ifndef SSE_SERVER_TESTS_REDIS_CLUSTER_HPP
#define SSE_SERVER_TESTS_REDIS_CLUSTER_HPP

#include "../loopback.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace cluster {

using namespace std::chrono_literals;
using json = nlohmann::json;

/// A port that was free a moment ago: bound to 127.0.0.1 port 0, then released.
/// For redis-server, which cannot report the port it chose (its `--port 0` means no TCP).
inline unsigned short free_port()
{
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string("no free port on 127.0.0.1: ") + std::strerror(errno));
    ::close(fd);
    return ntohs(addr.sin_port);
}

inline std::string read_file(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

/// The last `n` bytes of a file: for failure messages.
inline std::string tail(std::string const& path, std::size_t n = 3000)
{
    auto s = read_file(path);
    return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

/// Waits until `done()` holds, polling another process's state; false after `limit`.
template<class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit)
{
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline)
            return done();
        std::this_thread::sleep_for(20ms);   // another process: nothing to wait on
    }
    return true;
}

/// A child process with stdout and stderr in files. Killed (SIGKILL) when destroyed.
class process
{
public:
    process() = default;
    process(process const&) = delete;
    process& operator=(process const&) = delete;
    ~process() { kill(SIGKILL); }

    /// Starts `argv` with the environment plus `env`; stdout and stderr go to the files given.
    void start(std::vector<std::string> const& argv, std::string const& out, std::string const& err,
               std::map<std::string, std::string> const& env = {})
    {
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&files, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        std::vector<std::string> environment;
        for (char** e = environ; *e != nullptr; ++e) {
            std::string_view const entry(*e);
            if (env.count(std::string(entry.substr(0, entry.find('=')))) == 0)
                environment.emplace_back(entry);
        }
        for (auto const& [k, v] : env)
            environment.push_back(k + "=" + v);
        std::vector<char*> args, envp;
        for (auto const& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        for (auto const& e : environment)
            envp.push_back(const_cast<char*>(e.c_str()));
        envp.push_back(nullptr);
        int const rc = ::posix_spawn(&pid_, argv[0].c_str(), &files, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&files);
        if (rc != 0)
            throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
        status_.reset();
    }

    bool running()
    {
        reap(false);
        return pid_ > 0 && !status_;
    }

    /// Sends `signal` if it runs, then (for SIGKILL) waits for it to end.
    void kill(int signal)
    {
        if (!running())
            return;
        ::kill(pid_, signal);
        if (signal == SIGKILL)
            reap(true);
    }

    /// Waits up to `limit` for the process to end; its wait status, or nothing.
    std::optional<int> wait_exit(std::chrono::milliseconds limit)
    {
        eventually([&] { return !running(); }, limit);
        return status_;
    }

private:
    void reap(bool block)
    {
        if (pid_ <= 0 || status_)
            return;
        int status = 0;
        if (::waitpid(pid_, &status, block ? 0 : WNOHANG) == pid_)
            status_ = status;
    }

    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// A directory for one test's files, under the build tree so that they can be read after a failure.
inline std::string test_directory(std::string const& name)
{
    std::string const dir = std::string(SSE_REDIS_TEST_OUTPUT) + "/" + name;
    std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str());
    return dir;
}

/// Sends PING on a fresh connection; true on +PONG (or -NOAUTH: listening, but wants a password).
inline bool redis_answers(unsigned short port)
{
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr const*>(&addr), sizeof addr) == 0) {
        char const ping[] = "PING\r\n";
        if (::send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) == sizeof ping - 1) {
            pollfd p{fd, POLLIN, 0};
            char buffer[64] = {};
            if (::poll(&p, 1, 1000) > 0 && ::recv(fd, buffer, sizeof buffer - 1, 0) > 0)
                ok = std::strncmp(buffer, "+PONG", 5) == 0 || std::strncmp(buffer, "-NOAUTH", 7) == 0;
        }
    }
    if (fd >= 0)
        ::close(fd);
    return ok;
}

/// A redis-server of the test's own, on 127.0.0.1, with its data in `dir`.
class redis
{
public:
    /// `extra`: more redis-server arguments, e.g. {"--appendonly", "yes"}.
    redis(std::string dir, std::vector<std::string> extra = {})
        : dir_(std::move(dir)), port_(free_port()), extra_(std::move(extra))
    {
        start();
    }

    unsigned short port() const noexcept { return port_; }
    std::string url(std::string const& ns) const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + ns; }
    std::string log() const { return tail(dir_ + "/redis.log"); }

    /// Starts it again on the same port and directory (after stop() or kill()).
    void start()
    {
        std::vector<std::string> argv = {REDIS_SERVER_BINARY, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                         "--dir", dir_, "--save", "", "--daemonize", "no", "--logfile", ""};
        // No configuration file is read: not the system's, whose service this must never touch.
        argv.insert(argv.end(), extra_.begin(), extra_.end());
        process_.start(argv, dir_ + "/redis.log", dir_ + "/redis.err");
        if (!eventually([&] { return redis_answers(port_); }, 10s))
            throw std::runtime_error("redis-server did not answer on port " + std::to_string(port_) + ": " + log() +
                                     tail(dir_ + "/redis.err"));
    }

    /// SIGKILL: what a crash or a pulled plug looks like.
    void kill() { process_.kill(SIGKILL); }

    /// SIGTERM, then waits for it to end.
    void stop()
    {
        process_.kill(SIGTERM);
        if (!process_.wait_exit(10s))
            process_.kill(SIGKILL);
    }

private:
    std::string dir_;
    unsigned short port_;
    std::vector<std::string> extra_;
    process process_;
};

/// One sse-server process.
class node
{
public:
    /// Starts sse-server with `--port 0` and `args`; waits until it listens.
    node(std::string dir, std::string name, std::vector<std::string> args,
         std::map<std::string, std::string> env = {})
        : dir_(std::move(dir)), name_(std::move(name)), args_(std::move(args)), env_(std::move(env))
    {
        start();
    }

    void start()
    {
        std::vector<std::string> argv = {SSE_SERVER_BINARY, "--port", "0", "--threads", "2", "--log-level", "info"};
        argv.insert(argv.end(), args_.begin(), args_.end());
        process_.start(argv, out_path(), err_path(), env_);
        // "sse-server: demo page at http://127.0.0.1:PORT/  (stream: ...)"
        bool const up = eventually(
            [&] {
                auto const out = read_file(out_path());
                auto const at = out.find("http://127.0.0.1:");
                if (at == std::string::npos)
                    return false;
                port_ = static_cast<unsigned short>(std::stoi(out.substr(at + 17)));
                return true;
            },
            10s);
        if (!up)
            throw std::runtime_error("sse-server " + name_ + " did not start: " + log());
    }

    unsigned short port() const noexcept { return port_; }
    std::string const& name() const noexcept { return name_; }
    std::string log() const { return tail(err_path()); }
    std::string full_log() const { return read_file(err_path()); }
    process& proc() noexcept { return process_; }

    /// GET /health's body, or null if there was no answer.
    json health(int* status = nullptr) const
    {
        auto const r = loopback::get(port_, "/health");
        if (status != nullptr)
            *status = r.status;
        return r.status == 0 ? json() : json::parse(r.body, nullptr, false);
    }

    /// Waits until /health reports the backplane in `state`.
    bool wait_backplane(std::string const& state, std::chrono::milliseconds limit = 10s) const
    {
        return eventually(
            [&] {
                auto const h = health();
                return h.is_object() && h.contains("backplane") && h["backplane"]["state"] == state;
            },
            limit);
    }

    /// POST /api/sse/publish.
    loopback::reply publish(json const& body, std::string const& idempotency_key = {}) const
    {
        loopback::headers h;
        if (!idempotency_key.empty())
            h.emplace_back("Idempotency-Key", idempotency_key);
        return loopback::post(port_, "/api/sse/publish", body, h);
    }

private:
    std::string out_path() const { return dir_ + "/" + name_ + ".out"; }
    std::string err_path() const { return dir_ + "/" + name_ + ".log"; }

    std::string dir_;
    std::string name_;
    std::vector<std::string> args_;
    std::map<std::string, std::string> env_;
    unsigned short port_ = 0;
    process process_;
};

/// The events of a reader that a publisher sent (not connected, heartbeat or reset).
inline std::vector<loopback::received> published(std::vector<loopback::received> const& all)
{
    std::vector<loopback::received> out;
    for (auto const& e : all)
        if (e.type != "connected" && e.type != "heartbeat" && e.type != "reset")
            out.push_back(e);
    return out;
}

/// `<epoch>-<seq>`: the sequence number, or 0 if `id` is not of that form.
inline std::uint64_t seq_of(std::string const& id)
{
    auto const dash = id.rfind('-');
    if (dash == std::string::npos)
        return 0;
    try {
        return std::stoull(id.substr(dash + 1));
    } catch (std::exception const&) {
        return 0;
    }
}

inline std::string epoch_of(std::string const& id) { return id.substr(0, id.rfind('-')); }

} // namespace cluster

#endif
