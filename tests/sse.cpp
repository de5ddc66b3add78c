// The umbrella header, included by a second translation unit besides the
// component tests: a missing `inline` then fails the link.
#include <sse/sse.hpp>

#include <doctest/doctest.h>

TEST_CASE("sse: the umbrella header gives the core and its version")
{
    CHECK(SSE_VERSION_MAJOR == 0);
    CHECK(std::string(SSE_VERSION_STRING) ==
          std::to_string(SSE_VERSION_MAJOR) + "." + std::to_string(SSE_VERSION_MINOR) + "." +
              std::to_string(SSE_VERSION_PATCH));
    sse::event e;
    e.data = "x";
    CHECK(sse::to_string(e) == "data: x\n\n");
}

TEST_CASE("sse: the README example works as written")
{
    sse::event e;
    e.id = "42";
    e.type = "update";
    e.data = "line one\nline two";
    std::string wire = sse::to_string(e);
    CHECK(wire == "id: 42\nevent: update\ndata: line one\ndata: line two\n\n");

    sse::parser p;
    int events = 0;
    p.feed(wire, [&](sse::event_view const& ev) {
        ++events;
        CHECK(ev.type == "update");
        CHECK(ev.data == "line one\nline two");
        CHECK(ev.last_event_id == "42");
    });
    CHECK(events == 1);
}
