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
