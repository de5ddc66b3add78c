// sse-cat - prints the events of a Server-Sent Events stream as JSON lines.
//
// Shows sse::event_source<sse::tls_socket> in a command-line tool: http and
// https URLs, reconnects with Last-Event-ID, custom headers, a POST body, and
// an exit status a script can act on. stdout carries only events, one JSON
// object per line, flushed at once so that a pipe sees them live; everything
// else goes to stderr.
//
//   sse-cat http://127.0.0.1:8080/events
//   sse-cat --no-reconnect --data '{"prompt":"hi"}' https://host/v1/stream
//   sse-cat --max-events 1 URL | jq -r .data
//
// Ctrl-C closes the stream and exits 130. See docs/sse-cat.md.
#include <sse/asio/event_source.hpp>
#include <sse/asio/ssl.hpp>
#include <sse/http/detail/chars.hpp>
#include <sse/http/fields.hpp>
#include <sse/source_options.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/ssl/error.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace exit_status {
constexpr int ok = 0;
constexpr int failed = 1;
constexpr int usage = 2;
constexpr int timed_out = 124;   // as timeout(1)
} // namespace exit_status

char const* const exit_codes_help = R"(Exit status:
  0    the stream ended (--no-reconnect), the server answered 204, or --max-events were printed
  1    the stream failed: a status other than 200 or 204 (429 only with --no-retry-429), a content type other than
       text/event-stream, a certificate error, --max-event-size, or (--no-reconnect) a network error
  2    usage error: a bad option, -H value, URL, --cacert or --data file
  124  --timeout expired
  130  interrupted by SIGINT, 143 terminated by SIGTERM)";

// "Name: value" as curl takes it: the name an HTTP token, the value without line breaks.
std::optional<sse::header_field> parse_header(std::string const& text)
{
    auto const colon = text.find(':');
    if (colon == std::string::npos || colon == 0)
        return std::nullopt;
    std::string name = text.substr(0, colon);
    if (!sse::http::is_token(name))
        return std::nullopt;
    auto const start = text.find_first_not_of(" \t", colon + 1);
    std::string value = start == std::string::npos ? std::string() : text.substr(start);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.pop_back();
    if (!sse::http::detail::is_safe_header_value(value))
        return std::nullopt;
    return sse::header_field{std::move(name), std::move(value)};
}

// CLI11's own range checks print their bounds as 300-digit numbers.
CLI::Validator number_check(double min, bool min_allowed, double max)
{
    return CLI::Validator(
        [=](std::string& text) {
            double value = 0;
            try {
                value = std::stod(text);
            } catch (std::exception const&) {
                return fmt::format("'{}' is not a number", text);
            }
            if (!(min_allowed ? value >= min : value > min) || !(value <= max))
                return fmt::format("'{}' is out of range", text);
            return std::string();
        },
        "");
}

// Up to 30 years, which std::chrono::milliseconds holds with room to spare.
CLI::Validator const seconds_check = number_check(0, true, 1e9);
CLI::Validator const count_check = number_check(0, false, 1e19);

std::chrono::milliseconds to_ms(double seconds)
{
    // Rounded up, so that a small positive value never becomes 0 ("no limit").
    return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
}

// A JSON string. Bytes that are not UTF-8 become U+FFFD, as an EventSource decodes them.
std::string json_string(std::string_view s)
{
    return nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct settings
{
    std::string url;
    sse::event_source_options options;
    std::uint64_t max_events = 0;   // 0: no limit
    double timeout = 0;             // seconds; 0: no limit
    bool verbose = false;
};

class session
{
public:
    session(asio::io_context& io, settings const& s)
        : settings_(s), source_(io.get_executor(), s.url, s.options), timer_(io), signals_(io, SIGINT, SIGTERM)
    {
        source_.on_event([this](sse::event_view const& ev) { print(ev); });
        source_.on_state([this](sse::source_state state, sse::error_code why) { on_state(state, why); });
    }

    void start()
    {
        signals_.async_wait([this](sse::error_code ec, int signo) {
            if (!ec)
                finish(128 + signo);
        });
        if (settings_.timeout > 0) {
            timer_.expires_after(to_ms(settings_.timeout));
            timer_.async_wait([this](sse::error_code ec) {
                if (ec)
                    return;
                fmt::print(stderr, "sse-cat: --timeout {:g} s expired\n", settings_.timeout);
                finish(exit_status::timed_out);
            });
        }
        source_.start();
    }

    int status() const { return status_.value_or(exit_status::ok); }

private:
    void print(sse::event_view const& ev)
    {
        std::string line = "{\"type\":" + json_string(ev.type) + ",\"data\":" + json_string(ev.data) +
                           ",\"id\":" + json_string(ev.last_event_id) + "}\n";
        if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0) {
            // A closed pipe with SIGPIPE ignored: nobody reads any more.
            fmt::print(stderr, "sse-cat: cannot write to stdout\n");
            finish(exit_status::failed);
            return;
        }
        if (settings_.max_events > 0 && ++printed_ == settings_.max_events)
            finish(exit_status::ok);
    }

    void on_state(sse::source_state state, sse::error_code why)
    {
        using sse::source_state;
        auto const& stats = source_.stats();
        if (settings_.verbose) {
            fmt::memory_buffer line;
            auto out = fmt::appender(line);
            fmt::format_to(out, "sse-cat: {}", to_string(state));
            if (state == source_state::open)
                fmt::format_to(out, " ({})", stats.last_status);
            if (why)
                fmt::format_to(out, ": {}", describe(why));
            if (state == source_state::waiting)
                fmt::format_to(out, "; reconnecting in {} ms", stats.reconnect_delay.count());
            line.push_back('\n');
            std::fwrite(line.data(), 1, line.size(), stderr);
        }
        switch (state) {
        case source_state::waiting:
            // Without -v a retry loop would still say why nothing comes.
            if (!settings_.verbose && why != sse::error::stream_ended)
                fmt::print(stderr, "sse-cat: {}; reconnecting in {} ms\n", describe(why),
                           stats.reconnect_delay.count());
            break;
        case source_state::closed:
            // With no error finish() closed it and chose the status; otherwise the
            // stream ended (--no-reconnect) or the server answered 204.
            finish(exit_status::ok);
            break;
        case source_state::failed:
            if (!settings_.verbose)
                complain(why);
            finish(exit_status::failed);
            break;
        default:
            break;
        }
    }

    void complain(sse::error_code why) { fmt::print(stderr, "sse-cat: {}\n", describe(why)); }

    std::string describe(sse::error_code why) const
    {
        if (why == sse::error::bad_status) {
            int const status = source_.stats().last_status;
            char const* hint = "";
            if (status >= 500 && !settings_.options.retry_5xx)
                hint = " (--retry-5xx retries it)";
            if (status == 429 && !settings_.options.retry_429)
                hint = " (drop --no-retry-429 to wait for its Retry-After and retry)";
            return fmt::format("server answered {}, not 200; the stream was not opened{}", status, hint);
        }
        // The library's sentence adds "the client reconnects", untrue with --no-reconnect.
        if (why == sse::error::stream_ended)
            return "server ended the stream";
        if (why == sse::error::line_too_long || why == sse::error::event_too_long)
            return fmt::format("an event or line exceeds --max-event-size ({} bytes)",
                               settings_.options.limits.max_event);
        if (sse::is_certificate_error(why))
            return fmt::format("TLS certificate verification failed: {} (--cacert FILE trusts its issuer, --insecure "
                               "skips the check)",
                               why.message());
        return why.message();
    }

    // The first reason to stop decides the exit status; then nothing keeps io.run() busy.
    void finish(int status)
    {
        if (!status_)
            status_ = status;
        timer_.cancel();
        sse::error_code ignored;
        signals_.cancel(ignored);
        source_.close();
    }

    settings const& settings_;
    sse::event_source<sse::tls_socket> source_;
    asio::steady_timer timer_;
    asio::signal_set signals_;
    std::uint64_t printed_ = 0;
    std::optional<int> status_;
};

// --data BODY, or @FILE for a file's contents, @- for stdin.
std::optional<std::string> read_body(std::string const& arg)
{
    if (arg.empty() || arg[0] != '@')
        return arg;
    if (arg == "@-")
        return std::string(std::istreambuf_iterator<char>(std::cin), {});
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

} // namespace

int main(int argc, char** argv)
{
    settings s;
    auto& o = s.options;
    std::vector<std::string> headers;
    std::string data;
    bool no_reconnect = false;
    bool insecure = false;
    bool no_retry_429 = false;
    std::size_t max_event_size = 0;
    double stall_timeout = -1;
    double connect_timeout = -1;

    CLI::App app("Prints the events of a Server-Sent Events stream on stdout, one JSON object a line:\n"
                 "{\"type\":...,\"data\":...,\"id\":...}, id being the last event id seen so far.",
        "sse-cat");
    app.add_option("url", s.url, "http:// or https:// URL of the event stream")->required()->type_name("");
    app.add_flag("--no-reconnect", no_reconnect, "exit when the stream ends instead of reconnecting");
    app.add_option("-H,--header", headers, "request header 'Name: value' (repeatable)")
        ->type_name("HEADER")
        ->check(CLI::Validator(
            [](std::string& h) {
                auto const field = parse_header(h);
                if (!field)
                    return fmt::format("'{}' is not 'Name: value'", h);
                if (sse::is_source_header(field->first) && !sse::http::iequals(field->first, "Content-Type"))
                    return fmt::format("{} is set by sse-cat itself", field->first);
                return std::string();
            },
            ""));
    app.add_option("--last-event-id", o.last_event_id, "resume after this event id")->type_name("ID");
    app.add_option("--max-events", s.max_events, "exit 0 after printing N events")
        ->type_name("N")
        ->check(count_check);
    app.add_option("--timeout", s.timeout, "give up after SECONDS in all, exit 124 (0: never)")
        ->type_name("SECONDS")
        ->check(seconds_check);
    app.add_option("--cacert", o.ca_file, "trust the CA certificates in this PEM file, not the system's")
        ->type_name("FILE")
        ->check(CLI::ExistingFile.description(""));
    app.add_flag("-k,--insecure", insecure, "do not verify the server's certificate");
    app.add_option("-d,--data", data, "send BODY with POST (@FILE: a file's contents, @-: stdin)")
        ->type_name("BODY");
    app.add_flag("--retry-5xx", o.retry_5xx, "reconnect after a 5xx status instead of failing");
    app.add_flag("--no-retry-429", no_retry_429,
        "fail on 429 Too Many Requests instead of reconnecting after its Retry-After (or the back-off)");
    app.add_option("--max-event-size", max_event_size,
           "fail on an event or line larger than BYTES (default 1 MiB)")
        ->type_name("BYTES")
        ->check(count_check);
    app.add_option("--stall-timeout", stall_timeout,
           "reconnect when no byte arrives for SECONDS (0: never; default 60)")
        ->type_name("SECONDS")
        ->check(seconds_check);
    app.add_option("--connect-timeout", connect_timeout,
           "limit each connection attempt to SECONDS (0: none; default 30)")
        ->type_name("SECONDS")
        ->check(seconds_check);
    app.add_flag("-v,--verbose", s.verbose, "print state changes on stderr");
    app.footer(exit_codes_help);

    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& e) {
        int const code = app.exit(e);
        return code == 0 ? exit_status::ok : exit_status::usage;
    }

    for (auto const& h : headers) {
        auto field = *parse_header(h);
        if (sse::http::iequals(field.first, "Content-Type"))
            o.content_type = std::move(field.second);   // the type of --data
        else
            o.headers.push_back(std::move(field));
    }
    if (app.count("--data")) {
        o.body = read_body(data);
        if (!o.body) {
            fmt::print(stderr, "sse-cat: cannot read {}\n", data.substr(1));
            return exit_status::usage;
        }
    }
    o.reconnect = !no_reconnect;
    o.verify_peer = !insecure;
    o.retry_429 = !no_retry_429;
    if (max_event_size > 0) {
        o.limits.max_event = max_event_size;
        o.limits.max_line = max_event_size;
    }
    if (stall_timeout >= 0)
        o.stall_timeout = to_ms(stall_timeout);
    if (connect_timeout >= 0)
        o.connect_timeout = to_ms(connect_timeout);

    asio::io_context io;
    std::optional<session> run;
    try {
        run.emplace(io, s);
    } catch (std::system_error const& e) {
        // A URL it cannot use, or a CA file that is not PEM.
        if (e.code() == sse::error::bad_url)
            fmt::print(stderr, "sse-cat: {}: {}\n", s.url, e.code().message());
        else
            fmt::print(stderr, "sse-cat: {}\n", e.what());
        return exit_status::usage;
    }
    run->start();
    io.run();
    return run->status();
}
