// tests/support/redis_server.hpp - a private redis-server for one test, on loopback.
//
// Starts `redis-server` (from PATH, else /usr/bin/redis-server) on 127.0.0.1 and a
// free port, in a fresh directory of its own (mkdtemp), with no config file and no
// RDB snapshots, so the system's Redis and its settings are never involved:
//
//     support::redis_server redis;             // started, answering PING
//     redis.command({"SET", "k", "v"});        // synchronous, for test setup
//     redis.kill();                            // SIGKILL: a crash
//     redis.start();                           // same port, same directory
//
//     support::redis_server_options o;
//     o.appendonly = true;                     // AOF with appendfsync always
//     o.requirepass = "secret";
//     support::redis_server durable(o);
//
// The free port is found by binding port 0 and closing the socket; should another
// process take it before Redis binds it, start() tries another port (except when
// restarting, which must keep the port). The constructor and start() wait, for at
// most start_timeout, until Redis answers PING, and throw std::runtime_error with
// the end of Redis's log if it does not. The destructor stops Redis (SIGTERM, then
// SIGKILL if it is not gone within stop_timeout) and removes the directory.
//
// command() is a synchronous hiredis client, independent of the code under test;
// with a password set it authenticates first.
//
// Redis is started with PR_SET_PDEATHSIG, so it dies with the thread that started
// it: start servers from the test's main thread, not from a short-lived one.
#ifndef SSE_TESTS_SUPPORT_REDIS_SERVER_HPP
#define SSE_TESTS_SUPPORT_REDIS_SERVER_HPP

#include <hiredis/hiredis.h>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace support {

struct redis_server_options
{
    /// `--appendonly yes --appendfsync always`: nothing acknowledged is lost on a crash.
    bool appendonly = false;
    /// `--requirepass`: clients must AUTH with it (command() does).
    std::string requirepass;
    /// More `--name value` arguments, appended as given.
    std::vector<std::string> extra_args;
    std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds stop_timeout = std::chrono::seconds(5);
};

/// A reply of redis_server::command(), flattened enough for test setup.
struct redis_reply
{
    int type = 0;            // REDIS_REPLY_*
    std::string str;         // string, status or error
    long long integer = 0;
    std::vector<redis_reply> elements;

    bool is_error() const { return type == REDIS_REPLY_ERROR; }
};

class redis_server
{
public:
    using options = redis_server_options;

    /// Starts Redis and waits until it answers; throws std::runtime_error if it cannot.
    explicit redis_server(options o = {}) : options_(std::move(o))
    {
        std::string base = "/tmp";
        if (char const* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0')
            base = t;
        std::string templ = base + "/sse-redis-XXXXXX";
        if (::mkdtemp(templ.data()) == nullptr)
            throw std::runtime_error("redis_server: mkdtemp in " + base + " failed");
        dir_ = templ;
        try {
            start();
        }
        catch (...) {
            std::error_code ignored;
            std::filesystem::remove_all(dir_, ignored);
            throw;
        }
    }

    redis_server(redis_server const&) = delete;
    redis_server& operator=(redis_server const&) = delete;

    ~redis_server()
    {
        stop();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }

    std::uint16_t port() const noexcept { return port_; }
    std::string const& dir() const noexcept { return dir_; }
    bool running() const noexcept { return pid_ > 0; }
    std::string const& password() const noexcept { return options_.requirepass; }

    /// `redis://[:password@]127.0.0.1:PORT[/ns]`.
    std::string url(std::string const& ns = "") const
    {
        std::string u = "redis://";
        if (!options_.requirepass.empty())
            u += ":" + options_.requirepass + "@";   // test passwords need no percent-encoding
        u += "127.0.0.1:" + std::to_string(port_);
        if (!ns.empty())
            u += "/" + ns;
        return u;
    }

    /** Starts Redis if it is not running: on the port it had, if it had one (then a
        port taken meanwhile is an error), else on a free one. Waits until it answers PING.
    */
    void start()
    {
        if (running())
            return;
        bool const keep_port = port_ != 0;
        std::string failure;
        for (int attempt = 0; attempt < (keep_port ? 1 : 5); ++attempt) {
            if (!keep_port)
                port_ = free_port();
            if (launch(failure))
                return;
            if (failure.find("Address already in use") == std::string::npos)
                break;
        }
        throw std::runtime_error("redis_server: redis-server did not start on 127.0.0.1:" + std::to_string(port_)
                                 + ": " + failure);
    }

    /// SIGTERM, and SIGKILL if Redis is still there after stop_timeout. Idempotent.
    void stop()
    {
        if (!running())
            return;
        ::kill(pid_, SIGTERM);
        if (!reap(options_.stop_timeout)) {
            ::kill(pid_, SIGKILL);
            reap(std::chrono::hours(1));
        }
        pid_ = -1;
    }

    /// SIGKILL: Redis dies at once, as in a crash (an AOF with appendfsync always survives).
    void kill()
    {
        if (!running())
            return;
        ::kill(pid_, SIGKILL);
        reap(std::chrono::hours(1));
        pid_ = -1;
    }

    /// stop() then start(), on the same port and directory.
    void restart()
    {
        stop();
        start();
    }

    /// Runs one command on a connection of its own; throws std::runtime_error if Redis cannot be reached.
    redis_reply command(std::vector<std::string> const& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) const
    {
        std::string error;
        redis_reply r;
        if (!try_command(args, timeout, r, error))
            throw std::runtime_error("redis_server: " + error);
        return r;
    }

    /// The end of Redis's log, for failure messages.
    std::string log_tail(std::size_t max = 2000) const
    {
        std::ifstream in(dir_ + "/log");
        std::stringstream ss;
        ss << in.rdbuf();
        std::string s = ss.str();
        return s.size() > max ? s.substr(s.size() - max) : s;
    }

private:
    struct context_deleter
    {
        void operator()(redisContext* c) const { ::redisFree(c); }
    };
    struct reply_deleter
    {
        void operator()(redisReply* r) const { ::freeReplyObject(r); }
    };

    static redis_reply convert(redisReply const& in)
    {
        redis_reply out;
        out.type = in.type;
        out.integer = in.integer;
        if (in.str != nullptr)
            out.str.assign(in.str, in.len);
        for (std::size_t i = 0; i < in.elements; ++i)
            out.elements.push_back(convert(*in.element[i]));
        return out;
    }

    bool try_command(std::vector<std::string> const& args, std::chrono::milliseconds timeout, redis_reply& out,
                     std::string& error) const
    {
        auto const tv = timeval{static_cast<time_t>(timeout.count() / 1000),
                                static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        std::unique_ptr<redisContext, context_deleter> c(::redisConnectWithTimeout("127.0.0.1", port_, tv));
        if (!c || c->err != 0) {
            error = c ? c->errstr : "out of memory";
            return false;
        }
        ::redisSetTimeout(c.get(), tv);
        auto run = [&](std::vector<std::string> const& a) -> bool {
            std::vector<char const*> argv;
            std::vector<std::size_t> argvlen;
            for (auto const& s : a) {
                argv.push_back(s.data());
                argvlen.push_back(s.size());
            }
            std::unique_ptr<redisReply, reply_deleter> r(static_cast<redisReply*>(
                ::redisCommandArgv(c.get(), static_cast<int>(a.size()), argv.data(), argvlen.data())));
            if (!r) {
                error = c->errstr;
                return false;
            }
            out = convert(*r);
            return true;
        };
        if (!options_.requirepass.empty()) {
            if (!run({"AUTH", options_.requirepass}))
                return false;
            if (out.is_error()) {
                error = "AUTH: " + out.str;
                return false;
            }
        }
        return run(args);
    }

    static std::uint16_t free_port()
    {
        int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof a;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), size) != 0
            || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size) != 0) {
            if (fd >= 0)
                ::close(fd);
            throw std::runtime_error("redis_server: cannot bind a loopback port");
        }
        ::close(fd);
        return ntohs(a.sin_port);
    }

    static std::string executable()
    {
        if (char const* path = std::getenv("PATH")) {
            std::string_view rest = path;
            while (!rest.empty()) {
                auto const colon = rest.find(':');
                std::string candidate(rest.substr(0, colon));
                candidate += "/redis-server";
                if (::access(candidate.c_str(), X_OK) == 0)
                    return candidate;
                rest.remove_prefix(colon == std::string_view::npos ? rest.size() : colon + 1);
            }
        }
        if (::access("/usr/bin/redis-server", X_OK) == 0)
            return "/usr/bin/redis-server";
        throw std::runtime_error("redis_server: redis-server not found in PATH or /usr/bin "
                                 "(apt-get install redis-server)");
    }

    /// Starts the process and waits for PING; false with `failure` if it exits or never answers.
    bool launch(std::string& failure)
    {
        std::vector<std::string> args = {executable(),
                                         "--port", std::to_string(port_),
                                         "--bind", "127.0.0.1",
                                         "--save", "",
                                         "--appendonly", options_.appendonly ? "yes" : "no",
                                         "--dir", dir_,
                                         "--daemonize", "no",
                                         "--logfile", dir_ + "/log"};
        if (options_.appendonly) {
            args.push_back("--appendfsync");
            args.push_back("always");
        }
        if (!options_.requirepass.empty()) {
            args.push_back("--requirepass");
            args.push_back(options_.requirepass);
        }
        args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);

        // Truncated so that failure messages show this attempt's log only.
        std::ofstream(dir_ + "/log", std::ios::trunc).close();
        pid_t const parent = ::getpid();
        pid_t const pid = ::fork();
        if (pid < 0)
            throw std::runtime_error("redis_server: fork failed");
        if (pid == 0) {
            // Only async-signal-safe calls between fork and exec.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent)
                ::_exit(127);
            int const null = ::open("/dev/null", O_RDWR);
            if (null >= 0) {
                ::dup2(null, 0);
                ::dup2(null, 1);
                ::dup2(null, 2);
            }
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        pid_ = pid;

        auto const deadline = std::chrono::steady_clock::now() + options_.start_timeout;
        for (;;) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                failure = "it exited; its log:\n" + log_tail();
                return false;
            }
            redis_reply r;
            std::string error;
            if (try_command({"PING"}, std::chrono::milliseconds(500), r, error) && !r.is_error())
                return true;
            if (std::chrono::steady_clock::now() > deadline) {
                kill();
                failure = "no answer to PING within " + std::to_string(options_.start_timeout.count())
                    + " ms (" + error + "); its log:\n" + log_tail();
                return false;
            }
            // Nothing to await: Redis signals readiness only by answering.
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    /// Waits for the process to exit, for at most `limit`.
    bool reap(std::chrono::milliseconds limit)
    {
        auto const deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            int status = 0;
            pid_t const r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_ || (r < 0 && errno != EINTR))
                return true;
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            // A child's exit offers no event to wait on with a deadline short of pidfd.
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    options options_;
    std::string dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

} // namespace support

#endif
