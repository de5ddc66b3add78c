// A program outside the project that uses the installed sse::fmt (fmt linked through it).
#include <sse/fmt.hpp>

#include <cstdio>

int main()
{
    sse::event e;
    e.id = "7";
    e.data = "hi";
    std::string const wire = fmt::format("{:wire}", e);
    if (wire != "id: 7\ndata: hi\n\n" || fmt::format("{}", sse::close_reason::kicked) != "kicked") {
        std::fprintf(stderr, "fmt consumer failed: got '%s'\n", wire.c_str());
        return 1;
    }
    fmt::print("ssepp fmt consumer ok: {}\n", e);
    return 0;
}
