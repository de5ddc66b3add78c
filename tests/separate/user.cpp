// A program built with SSE_SEPARATE_COMPILATION: it links only if src.cpp
// provides every non-template body exactly once.
#include <sse/http/chunked_decoder.hpp>
#include <sse/http/request_parser.hpp>
#include <sse/http/response_parser.hpp>
#include <sse/blocking_subscription.hpp>
#include <sse/sse.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

int main()
{
    sse::event e;
    e.data = "separate";
    std::string const wire = sse::to_string(e);
    sse::parser p;
    std::string got;
    p.feed(wire, [&](sse::event_view const& ev) { got.assign(ev.data); });

    sse::http::request_parser request;
    sse::error_code ec;
    request.feed("GET /events?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", ec);

    sse::http::response_parser response;
    response.feed("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", ec);

    sse::hub hub;
    hub.publish(e);
    auto const replay = hub.events_after(hub.epoch() + "-0");

    auto blocking = sse::subscribe_blocking(hub, {});
    std::string bytes;
    bool const waited = blocking->wait(bytes) == sse::wait_status::events;   // at once: the opening retry
    blocking->cancel();

    sse::cors_policy cors;
    cors.allowed_origins = {"*"};
    std::vector<std::pair<std::string, std::string>> fields;
    cors.add_headers("https://a.example", fields);

    if (!waited || hub.stats().published != 1 || replay.events.size() != 1 || fields.size() != 1 || got != "separate" || !request.done() || request.get().param("x") != "1" || !response.done() ||
        !response.get().is_event_stream()) {
        std::fprintf(stderr, "separate compilation build misbehaves\n");
        return 1;
    }
    return 0;
}
