// sse-basic - formats events into their wire form and parses them back.
//
// Shows the protocol core with no I/O at all: sse::event and sse::serialize on
// the server side, sse::parser on the client side, fed in uneven chunks as a
// network would deliver them.
//
//   sse-basic            run the demonstration
//   sse-basic --parse    read an event stream on stdin, print one line per event
//
//   curl -sN http://host/stream | sse-basic --parse
#include <sse/sse.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

std::string quoted(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

struct printer
{
    void on_event(sse::event_view const& e)
    {
        std::printf("{\"type\":%s,\"data\":%s,\"id\":%s}\n", quoted(e.type).c_str(), quoted(e.data).c_str(),
                    quoted(e.last_event_id).c_str());
    }
    void on_retry(std::chrono::milliseconds delay) { std::printf("# retry %lld ms\n", static_cast<long long>(delay.count())); }
    void on_comment(std::string_view text) { std::printf("# comment %s\n", quoted(text).c_str()); }
};

int parse_stdin()
{
    sse::parser parser;
    printer out;
    char chunk[16 * 1024];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        sse::error_code ec;
        parser.feed(std::string_view(chunk, n), out, ec);
        if (ec) {
            std::fprintf(stderr, "sse-basic: %s\n", ec.message().c_str());
            return 1;
        }
        std::fflush(stdout);
    }
    parser.finish();
    return 0;
}

int demonstrate()
{
    using namespace std::chrono_literals;

    std::string wire;

    sse::event hello;
    hello.retry = 3000ms;
    hello.comment = "stream opened";
    sse::serialize(hello, wire);

    sse::event notification;
    notification.id = "1";
    notification.type = "notification";
    notification.data = R"({"notificationType":"success","title":"Build","message":"passed"})";
    sse::serialize(notification, wire);

    sse::event multi_line;
    multi_line.id = "2";
    multi_line.data = "first line\r\nsecond line\n\nafter an empty line";
    sse::serialize(multi_line, wire);

    sse::event heartbeat;
    heartbeat.comment = "";
    sse::serialize(heartbeat, wire);

    sse::event unsafe;
    unsafe.id = "3\nevent: injected";
    sse::error_code ec;
    sse::serialize(unsafe, wire, ec);
    std::printf("rejected an unsafe id: %s\n\n", ec.message().c_str());

    std::printf("--- wire form (%zu bytes) ---\n%s--- parsed back, fed in chunks of 7 bytes ---\n", wire.size(),
                wire.c_str());

    sse::parser parser;
    printer out;
    for (std::size_t at = 0; at < wire.size(); at += 7) {
        parser.feed(std::string_view(wire).substr(at, 7), out, ec);
        if (ec) {
            std::fprintf(stderr, "sse-basic: %s\n", ec.message().c_str());
            return 1;
        }
    }
    parser.finish();
    std::printf("last event id: %s\n", quoted(parser.last_event_id()).c_str());
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc == 2 && std::strcmp(argv[1], "--parse") == 0)
        return parse_stdin();
    if (argc != 1) {
        std::fprintf(stderr, "usage: sse-basic [--parse]\n");
        return 2;
    }
    return demonstrate();
}
