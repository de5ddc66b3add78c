// static_files_test.cpp - the page's paths: "/" and 001's "/sse-demo" are index.html.
#include "static_files.hpp"

#include <doctest/doctest.h>

TEST_CASE("static files: / and /sse-demo are the page, and nothing near them is")
{
    auto const index = app::find_static_file("/index.html");
    REQUIRE(index);
    for (auto const* path : {"/", "/sse-demo"}) {
        CAPTURE(path);
        auto const f = app::find_static_file(path);
        REQUIRE(f);
        CHECK(f->path == "/index.html");
        CHECK(f->content_type == "text/html; charset=utf-8");
        CHECK(f->body == index->body);
    }
    for (auto const* path : {"/sse-demo/", "/sse-demo.html", "/sse-dem", "/SSE-DEMO", "//", ""}) {
        CAPTURE(path);
        CHECK_FALSE(app::find_static_file(path));
    }
}
