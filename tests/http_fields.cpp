#include <sse/http/fields.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace http = sse::http;

TEST_CASE("http fields: lookup ignores case and returns the first value")
{
    http::fields f;
    f.insert("Content-Type", "text/event-stream");
    f.insert("X-Tag", "one");
    f.insert("x-tag", "two");

    CHECK(f.size() == 3);
    CHECK_FALSE(f.empty());
    REQUIRE(f.find("content-type"));
    CHECK(*f.find("CONTENT-TYPE") == "text/event-stream");
    CHECK(*f.find("X-TAG") == "one");
    CHECK_FALSE(f.find("Content-Length"));
    CHECK_FALSE(f.find("Content-Typ"));
    CHECK(f.count("x-Tag") == 2);
    CHECK(f.count("Missing") == 0);
}

TEST_CASE("http fields: for_each visits every value of a name in order")
{
    http::fields f;
    f.insert("Accept", "a");
    f.insert("Host", "h");
    f.insert("ACCEPT", "b");
    f.insert("accept", "");

    std::vector<std::string> seen;
    f.for_each("Accept", [&](std::string_view v) { seen.emplace_back(v); });
    CHECK(seen == std::vector<std::string>{"a", "b", ""});

    seen.clear();
    f.for_each("None", [&](std::string_view v) { seen.emplace_back(v); });
    CHECK(seen.empty());
}

TEST_CASE("http fields: iteration keeps arrival order and repeated names")
{
    http::fields f;
    f.insert("B", "2");
    f.insert("A", "1");
    f.insert("B", "3");

    std::vector<std::string> got;
    for (http::field const fl : f)
        got.push_back(std::string(fl.name) + "=" + std::string(fl.value));
    CHECK(got == std::vector<std::string>{"B=2", "A=1", "B=3"});

    auto it = f.begin();
    CHECK((*it).name == "B");
    ++it;
    CHECK((*it++).name == "A");
    CHECK((*it).value == "3");
    CHECK(++it == f.end());

    f.clear();
    CHECK(f.empty());
    CHECK(f.begin() == f.end());
}

TEST_CASE("http fields: empty names and values are stored as given")
{
    http::fields f;
    f.insert("", "");
    f.insert("X", "");
    CHECK(f.size() == 2);
    REQUIRE(f.find("X"));
    CHECK(f.find("X")->empty());
    REQUIRE(f.find(""));
}

TEST_CASE("http fields: has_token searches comma-separated lists of every field")
{
    http::fields f;
    f.insert("Connection", "Upgrade ,\tKeep-Alive");
    f.insert("connection", "close");

    CHECK(f.has_token("Connection", "keep-alive"));
    CHECK(f.has_token("CONNECTION", "upgrade"));
    CHECK(f.has_token("Connection", "Close"));
    CHECK_FALSE(f.has_token("Connection", "keep"));
    CHECK_FALSE(f.has_token("Upgrade", "close"));
}

TEST_CASE("http fields: iequals, is_token and list_contains")
{
    CHECK(http::iequals("Content-Length", "content-LENGTH"));
    CHECK(http::iequals("", ""));
    CHECK_FALSE(http::iequals("abc", "abd"));
    CHECK_FALSE(http::iequals("abc", "ab"));
    // Only ASCII letters fold: '@' and '`' sit next to 'A' and 'a'.
    CHECK_FALSE(http::iequals("@", "`"));
    CHECK_FALSE(http::iequals("[", "{"));

    CHECK(http::is_token("GET"));
    CHECK(http::is_token("!#$%&'*+-.^_`|~09azAZ"));
    CHECK_FALSE(http::is_token(""));
    CHECK_FALSE(http::is_token("a b"));
    CHECK_FALSE(http::is_token("a:b"));
    CHECK_FALSE(http::is_token("a\"b"));
    CHECK_FALSE(http::is_token("(x)"));
    CHECK_FALSE(http::is_token("\xc3\xa9"));

    CHECK(http::list_contains("close", "close"));
    CHECK(http::list_contains(" a , b ,c", "B"));
    CHECK(http::list_contains(",,c,", "c"));
    CHECK_FALSE(http::list_contains("", "close"));
    CHECK_FALSE(http::list_contains("closed", "close"));
    CHECK_FALSE(http::list_contains("a b", "a"));
}
