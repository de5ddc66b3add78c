// A program outside the project that uses the installed library.
#include <sse/sse.hpp>

#include <cstdio>

int main()
{
    sse::event e;
    e.id = "1";
    e.data = "hello\nworld";
    std::string const wire = sse::to_string(e);

    sse::parser p;
    std::string got;
    p.feed(wire, [&](sse::event_view const& ev) { got.assign(ev.data); });
    if (got != "hello\nworld" || p.last_event_id() != "1") {
        std::fprintf(stderr, "round trip failed: got '%s'\n", got.c_str());
        return 1;
    }
    std::printf("ssepp %s consumer ok\n", SSE_VERSION_STRING);
    return 0;
}
