// Compiled with -fno-exceptions: the core is usable through its error_code
// overloads alone.
#include <sse/sse.hpp>

std::size_t sse_no_exceptions_round_trip()
{
    sse::event e;
    e.data = "x";
    sse::error_code ec;
    std::string wire = sse::to_string(e, ec);
    if (ec)
        return 0;
    sse::parser p;
    std::size_t events = 0;
    p.feed(wire, [&](sse::event_view const&) { ++events; }, ec);
    return ec ? 0 : events;
}

#include <sse/blocking_subscription.hpp>

// A thread-per-connection server's stream, error_code forms only.
std::size_t sse_no_exceptions_blocking()
{
    sse::hub hub;
    sse::error_code ec;
    auto s = sse::subscribe_blocking(hub, {}, {}, ec);
    if (!s)
        return 0;
    hub.publish(sse::event{}, {}, {}, ec);
    std::string out;
    auto const status = s->wait_until(out, sse::blocking_subscription::clock::now());
    s->cancel();
    return status == sse::wait_status::events ? out.size() : 0;
}
