// The single definition of doctest's main for every test executable, and a watchdog.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {

// A test case that hangs is otherwise killed by ctest's timeout for the whole
// executable, with nothing to say which case it was: the watchdog names the case
// and aborts once it has run SSE_TEST_CASE_TIMEOUT seconds (120 unless set; 0 turns
// the watchdog off). Every case here takes seconds, under sanitizers too.
// Before it aborts, it has gdb (when installed) print every thread's stack: a
// hang seen once in CI must say where each thread waited, as a rerun may not hang.
class watchdog final : public doctest::IReporter
{
public:
    explicit watchdog(doctest::ContextOptions const&) {}

    void test_run_start() override
    {
        char const* env = std::getenv("SSE_TEST_CASE_TIMEOUT");
        limit_ = std::chrono::seconds(env ? std::atoi(env) : 120);
        if (limit_.count() > 0)
            thread_ = std::thread([this] { watch(); });
    }

    void test_run_end(doctest::TestRunStats const&) override
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            ended_ = true;
        }
        wake_.notify_one();
        // doctest's SIGABRT handler ends the run on the watchdog's own thread.
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
            thread_.join();
    }

    void test_case_start(doctest::TestCaseData const& data) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        current_ = std::string(data.m_name) + " (" + data.m_file.c_str() + ":" + std::to_string(data.m_line) + ")";
        started_ = std::chrono::steady_clock::now();
        running_ = true;
    }

    void test_case_end(doctest::CurrentTestCaseStats const&) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        running_ = false;
    }

    void report_query(doctest::QueryData const&) override {}
    void test_case_reenter(doctest::TestCaseData const&) override {}
    void test_case_exception(doctest::TestCaseException const&) override {}
    void subcase_start(doctest::SubcaseSignature const&) override {}
    void subcase_end() override {}
    void log_assert(doctest::AssertData const&) override {}
    void log_message(doctest::MessageData const&) override {}
    void test_case_skipped(doctest::TestCaseData const&) override {}

private:
    void watch()
    {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!wake_.wait_for(lock, std::chrono::seconds(1), [this] { return ended_; })) {
            if (running_ && std::chrono::steady_clock::now() - started_ > limit_) {
                std::string const name = current_;
                // Unlocked first: doctest's SIGABRT handler reports the case through
                // test_case_end(), which takes the lock.
                lock.unlock();
                std::fprintf(stderr, "\nwatchdog: test case \"%s\" still runs after %d s; aborting\n",
                             name.c_str(), int(limit_.count()));
                std::fflush(stderr);
                print_stacks();
                std::abort();
            }
        }
    }

    // Every thread's stack, by gdb attached to this process, on stderr.
    static void print_stacks()
    {
#if defined(__linux__)
        // Under Yama's ptrace scope 1, only a process's ancestors may trace it;
        // gdb here is its child.
        ::prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
        std::string const command = "timeout 120 gdb -nx -batch -p " + std::to_string(::getpid()) +
                                    " -ex 'set pagination off' -ex 'thread apply all bt' </dev/null 1>&2 2>/dev/null";
        std::fprintf(stderr, "watchdog: the threads' stacks:\n");
        std::fflush(stderr);
        int const status = std::system(command.c_str());
        // timeout(1) exits with 127 when it cannot find the program it is to run.
        if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
            std::fprintf(stderr, "watchdog: no gdb to print the threads' stacks\n");
        else
            std::fprintf(stderr, "watchdog: gdb ended with status %d\n", status);
#endif
    }

    std::chrono::seconds limit_{0};
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::string current_;
    std::chrono::steady_clock::time_point started_;
    bool running_ = false;
    bool ended_ = false;
};

} // namespace

REGISTER_LISTENER("sse_watchdog", 1, watchdog);
