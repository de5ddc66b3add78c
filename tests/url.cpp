#include <sse/url.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <system_error>

namespace {

// The fields of a url on one line, so that a failed CHECK shows all of them.
std::string fields(sse::url const& u)
{
    return u.scheme + " | " + u.host + " | " + std::to_string(u.port) + " | " + u.target;
}

std::string parsed(std::string_view text)
{
    sse::error_code ec;
    sse::url const u = sse::parse_url(text, ec);
    return ec ? "error: " + ec.message() : fields(u);
}

bool refused(std::string_view text)
{
    sse::error_code ec;
    sse::url const u = sse::parse_url(text, ec);
    return ec == sse::error::bad_url && fields(u) == fields(sse::url{});
}

std::string resolved(std::string_view base, std::string_view reference)
{
    sse::error_code ec;
    sse::url const u = sse::resolve_url(sse::parse_url(base), reference, ec);
    return ec ? "error: " + ec.message() : u.to_string();
}

} // namespace

TEST_CASE("url: the documented example works as written")
{
    sse::url const u = sse::parse_url("https://Example.com/events?topic=news");
    CHECK(u.host == "example.com");
    CHECK(u.port == 443);
    CHECK(u.target == "/events?topic=news");
    CHECK(u.authority() == "example.com");

    sse::url const next = sse::resolve_url(u, "../v2/events");
    CHECK(next.to_string() == "https://example.com/v2/events");
}

TEST_CASE("url: valid forms")
{
    SUBCASE("default ports")
    {
        CHECK(parsed("http://example.com/") == "http | example.com | 80 | /");
        CHECK(parsed("https://example.com/") == "https | example.com | 443 | /");
    }
    SUBCASE("explicit ports")
    {
        CHECK(parsed("http://example.com:8080/x") == "http | example.com | 8080 | /x");
        CHECK(parsed("https://example.com:80/") == "https | example.com | 80 | /");
        CHECK(parsed("http://h:1/") == "http | h | 1 | /");
        CHECK(parsed("http://h:65535/") == "http | h | 65535 | /");
        CHECK(parsed("http://h:0080/") == "http | h | 80 | /");
    }
    SUBCASE("an empty port means the default (RFC 3986 3.2.3)")
    {
        CHECK(parsed("http://h:/x") == "http | h | 80 | /x");
        CHECK(parsed("https://h:") == "https | h | 443 | /");
        CHECK(parsed("https://[::1]:/") == "https | ::1 | 443 | /");
    }
    SUBCASE("IPv4 and IPv6 hosts")
    {
        CHECK(parsed("http://127.0.0.1:9000/a") == "http | 127.0.0.1 | 9000 | /a");
        CHECK(parsed("http://[::1]:8080/x?y=1") == "http | ::1 | 8080 | /x?y=1");
        CHECK(parsed("http://[2001:db8::1]/") == "http | 2001:db8::1 | 80 | /");
        CHECK(parsed("http://[2001:DB8::A]/") == "http | 2001:db8::a | 80 | /");
        CHECK(parsed("http://[::]/") == "http | :: | 80 | /");
        CHECK(parsed("http://[::ffff:192.0.2.1]/") == "http | ::ffff:192.0.2.1 | 80 | /");
        CHECK(parsed("http://[1:2:3:4:5:6:7:8]/") == "http | 1:2:3:4:5:6:7:8 | 80 | /");
        CHECK(parsed("http://[1:2:3:4:5:6:7::]/") == "http | 1:2:3:4:5:6:7:: | 80 | /");
        CHECK(parsed("http://[::2:3:4:5:6:7:8]/") == "http | ::2:3:4:5:6:7:8 | 80 | /");
        CHECK(parsed("http://[1:2:3:4:5:6:1.2.3.4]/") == "http | 1:2:3:4:5:6:1.2.3.4 | 80 | /");
    }
    SUBCASE("scheme and host are case-insensitive; path and query are not")
    {
        CHECK(parsed("HTTP://EXAMPLE.COM/Path?Q=A") == "http | example.com | 80 | /Path?Q=A");
        CHECK(parsed("hTTpS://Ex.Org") == "https | ex.org | 443 | /");
    }
    SUBCASE("an empty path is /")
    {
        CHECK(parsed("http://h") == "http | h | 80 | /");
        CHECK(parsed("http://h?x") == "http | h | 80 | /?x");
        CHECK(parsed("http://h:81?") == "http | h | 81 | /?");
    }
    SUBCASE("the fragment is dropped")
    {
        CHECK(parsed("http://h/a?b#c") == "http | h | 80 | /a?b");
        CHECK(parsed("http://h#c") == "http | h | 80 | /");
        CHECK(parsed("http://h/#") == "http | h | 80 | /");
        CHECK(parsed("http://h?q#f?g") == "http | h | 80 | /?q");
        CHECK(parsed("http://h/#%zz") == "http | h | 80 | /");   // the fragment is never sent
    }
    SUBCASE("the path and query are kept exactly, escapes and dot segments included")
    {
        CHECK(parsed("http://h/a%20b/%2F/../c?x=%41&y=a+b?z") == "http | h | 80 | /a%20b/%2F/../c?x=%41&y=a+b?z");
        CHECK(parsed("http://h//a//") == "http | h | 80 | //a//");
        CHECK(parsed("http://h/a:b@c!$&'()*+,;=~_-.") == "http | h | 80 | /a:b@c!$&'()*+,;=~_-.");
    }
    SUBCASE("spaces and tabs around the URL are ignored")
    {
        CHECK(parsed("  http://h/x \t") == "http | h | 80 | /x");
        CHECK(parsed("\thttp://h/x") == "http | h | 80 | /x");
    }
    SUBCASE("reg-name characters (RFC 3986 3.2.2)")
    {
        CHECK(parsed("http://a-b_c~d.e/") == "http | a-b_c~d.e | 80 | /");
        CHECK(parsed("http://example.com./") == "http | example.com. | 80 | /");
        CHECK(parsed("http://a!$&'()*+,;=b/") == "http | a!$&'()*+,;=b | 80 | /");
    }
}

TEST_CASE("url: rejections")
{
    struct bad
    {
        char const* text;
        char const* why;
    };
    bad const cases[] = {
        {"", "empty"},
        {"   ", "only spaces"},
        {"example.com/x", "no scheme"},
        {"//example.com/x", "no scheme"},
        {"/x", "no scheme"},
        {"ftp://example.com/", "other scheme"},
        {"ws://example.com/", "other scheme"},
        {"httpx://example.com/", "other scheme"},
        {"http+s://example.com/", "other scheme"},
        {"1http://example.com/", "other scheme"},
        {"://example.com/", "empty scheme"},
        {"http:example.com", "no authority"},
        {"http:/example.com", "no authority"},
        {"http:", "no authority"},
        {"http://", "missing host"},
        {"http:///x", "missing host"},
        {"http://:80/", "missing host"},
        {"http://?x", "missing host"},
        {"http://#x", "missing host"},
        {"http://[]/", "missing host"},
        {"http://user@example.com/", "userinfo"},
        {"http://user:pass@example.com/", "userinfo"},
        {"http://@example.com/", "userinfo"},
        {"http://[::1]@example.com/", "userinfo"},
        {"http://u@[::1]/", "userinfo"},
        {"http://h:0/", "port 0"},
        {"http://h:65536/", "port too large"},
        {"http://h:99999999999999999999/", "port overflows"},
        {"http://h:8o/", "port not digits"},
        {"http://h:-1/", "port not digits"},
        {"http://h:+80/", "port not digits"},
        {"http://h:80:81/", "two ports"},
        {"http://h: 80/", "space in port"},
        {"http://[::1]:0/", "port 0"},
        {"http://[::1]:x/", "port not digits"},
        {"http://exa mple.com/", "space"},
        {"http://h/a b", "space"},
        {"http://h/a\tb", "tab"},
        {"http://h/a\rb", "CR"},
        {"http://h/a\nb", "LF"},
        {"http://h/\x7f", "DEL"},
        {"http://h/\x01", "control"},
        {"http://h/caf\xc3\xa9", "non-ASCII"},
        {"http://h\xc3\xa9/", "non-ASCII host"},
        {"http://h/#a b", "space in the fragment"},
        {"http://h\\@evil/", "backslash"},
        {"http://h/a\\b", "backslash"},
        {"http:\\\\h/", "backslash"},
        {"http://[::1/", "unbalanced ["},
        {"http://[::1", "unbalanced ["},
        {"http://::1]/", "unbalanced ]"},
        {"http://h]/", "unbalanced ]"},
        {"http://a[b]/", "bracket inside a name"},
        {"http://[::1]]/", "two ]"},
        {"http://[::1]x/", "junk after ]"},
        {"http://[::1%25eth0]/", "zone id"},
        {"http://[fe80::1%eth0]/", "zone id"},
        {"http://[v1.fe]/", "IPvFuture"},
        {"http://[g::1]/", "not hex"},
        {"http://[::1::2]/", "two ::"},
        {"http://[1:2]/", "too few pieces"},
        {"http://[1:2:3:4:5:6:7:8:9]/", "too many pieces"},
        {"http://[1::2:3:4:5:6:7:8]/", ":: standing for nothing"},
        {"http://[12345::]/", "piece too long"},
        {"http://[:1::]/", "single leading :"},
        {"http://[1::2:]/", "single trailing :"},
        {"http://[1.2.3.4]/", "bracketed IPv4"},
        {"http://[::1.2.3]/", "short IPv4 part"},
        {"http://[::1.2.3.256]/", "IPv4 part out of range"},
        {"http://[::1.2.3.04]/", "IPv4 part with a leading zero"},
        {"http://[::1.2.3.4:5]/", "IPv4 part not last"},
        {"http://[1:2:3:4:5:6:7:1.2.3.4]/", "IPv4 part making nine pieces"},
        {"http://ex%61mple.com/", "escape in the host"},
        {"http://ex\"ample.com/", "quote in the host"},
        {"http://ex<ample.com/", "< in the host"},
        {"http://h/%", "bad escape"},
        {"http://h/%4", "bad escape"},
        {"http://h/%zz", "bad escape"},
        {"http://h/%4g", "bad escape"},
        {"http://h/?x=%", "bad escape in the query"},
        {"http://h/?x=%g0", "bad escape in the query"},
    };
    for (bad const& c : cases) {
        CAPTURE(c.text);
        CAPTURE(c.why);
        CHECK(refused(c.text));
    }
}

TEST_CASE("url: the message of bad_url")
{
    sse::error_code ec;
    sse::parse_url("ftp://h/", ec);
    CHECK(ec == sse::error::bad_url);
    CHECK(!ec.message().empty());
    sse::parse_url("http://h/", ec);
    CHECK(!ec);   // success clears an earlier error
}

TEST_CASE("url: the throwing overloads")
{
    CHECK(sse::parse_url("http://h/x").target == "/x");
    CHECK_THROWS_AS(sse::parse_url("http://user@h/"), std::system_error);
    try {
        sse::parse_url("gopher://h/");
        FAIL("no exception");
    } catch (std::system_error const& e) {
        CHECK(e.code() == sse::error::bad_url);
    }
    sse::url const base = sse::parse_url("http://a/b");
    CHECK(sse::resolve_url(base, "c").target == "/c");
    CHECK_THROWS_AS(sse::resolve_url(base, "ftp://x/"), std::system_error);
}

TEST_CASE("url: authority and to_string")
{
    SUBCASE("accessors")
    {
        sse::url const u = sse::parse_url("https://[::1]:8443/x");
        CHECK(u.is_https());
        CHECK(u.is_ipv6());
        CHECK_FALSE(u.has_default_port());
        CHECK(u.authority() == "[::1]:8443");
        CHECK(u.to_string() == "https://[::1]:8443/x");

        sse::url const v = sse::parse_url("http://h:80");
        CHECK_FALSE(v.is_https());
        CHECK_FALSE(v.is_ipv6());
        CHECK(v.has_default_port());
        CHECK(v.authority() == "h");
        CHECK(v.to_string() == "http://h/");
    }
    SUBCASE("a default port is left out; the other scheme's default is not")
    {
        CHECK(sse::parse_url("https://h:443/").authority() == "h");
        CHECK(sse::parse_url("https://h:80/").authority() == "h:80");
        CHECK(sse::parse_url("http://h:443/").authority() == "h:443");
        CHECK(sse::parse_url("http://[2001:db8::1]/").authority() == "[2001:db8::1]");
    }
    SUBCASE("round trips")
    {
        char const* const inputs[] = {
            "http://example.com/",
            "HTTPS://EXAMPLE.COM:443/A?B#C",
            "http://[::1]:8080/x?y=1",
            "http://[2001:DB8::1]/",
            "http://h?x",
            "http://h:/",
            "http://h:00081//a/../b?%41",
            "  https://h:1  ",
            "http://127.0.0.1:65535/a;b=c",
        };
        for (char const* in : inputs) {
            CAPTURE(in);
            sse::url const u = sse::parse_url(in);
            std::string const text = u.to_string();
            CHECK(fields(sse::parse_url(text)) == fields(u));
            CHECK(sse::parse_url(text).to_string() == text);
        }
    }
    SUBCASE("a url built by hand")
    {
        sse::url u;
        u.scheme = "http";
        u.host = "fe80::1";
        u.port = 80;
        u.target = "/";
        CHECK(u.to_string() == "http://[fe80::1]/");
    }
}

// RFC 3986 5.4.1, with the fragment dropped from each expected result; "g:h"
// has a scheme the client cannot use.
TEST_CASE("url: resolve, RFC 3986 normal examples")
{
    std::string_view const base = "http://a/b/c/d;p?q";
    struct example
    {
        char const* reference;
        char const* expected;
    };
    example const examples[] = {
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g/"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q"},
        {"g#s", "http://a/b/c/g"},
        {"g?y#s", "http://a/b/c/g?y"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
    };
    for (example const& e : examples) {
        CAPTURE(e.reference);
        CHECK(resolved(base, e.reference) == e.expected);
    }
    CHECK(resolved(base, "g:h") == resolved(base, "ftp://x/"));
    CHECK(resolved(base, "g:h").rfind("error: ", 0) == 0);
}

TEST_CASE("url: resolve, RFC 3986 abnormal examples")
{
    std::string_view const base = "http://a/b/c/d;p?q";
    struct example
    {
        char const* reference;
        char const* expected;
    };
    example const examples[] = {
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g"},
        {"g#s/../x", "http://a/b/c/g"},
    };
    for (example const& e : examples) {
        CAPTURE(e.reference);
        CHECK(resolved(base, e.reference) == e.expected);
    }
    // The strict reading of 5.2.2: a scheme makes the reference absolute, and
    // "http:g" has no host.
    sse::error_code ec;
    sse::resolve_url(sse::parse_url(base), "http:g", ec);
    CHECK(ec == sse::error::bad_url);
}

TEST_CASE("url: resolve, absolute and network-path references")
{
    SUBCASE("absolute references replace everything and lose their dot segments")
    {
        CHECK(resolved("http://a/b/c", "http://x/y/../z?q#f") == "http://x/z?q");
        CHECK(resolved("http://a/b/c", "HTTP://X:8080/./y") == "http://x:8080/y");
        CHECK(resolved("http://a/b/c", "http://x") == "http://x/");
        CHECK(resolved("http://a/b/c", "http://x?q") == "http://x/?q");
        CHECK(resolved("http://a/b/c", "http://[::1]:81/a/..") == "http://[::1]:81/");
    }
    SUBCASE("across schemes")
    {
        CHECK(resolved("http://a/b", "https://a/b") == "https://a/b");
        CHECK(resolved("https://a:8443/b", "http://c/d") == "http://c/d");
        CHECK(sse::resolve_url(sse::parse_url("http://a:81/"), "https://c/").port == 443);
        CHECK(resolved("http://a/b", "ftp://a/b").rfind("error: ", 0) == 0);
        CHECK(resolved("https://a/b", "mailto:x@a").rfind("error: ", 0) == 0);
        CHECK(resolved("https://a/b", "javascript:alert(1)").rfind("error: ", 0) == 0);
        CHECK(resolved("https://a/b", "data:text/plain,x").rfind("error: ", 0) == 0);
    }
    SUBCASE("network-path references keep the base's scheme and take its default port")
    {
        CHECK(resolved("https://a:8443/b", "//c/d") == "https://c/d");
        CHECK(sse::resolve_url(sse::parse_url("https://a:8443/b"), "//c/d").port == 443);
        CHECK(resolved("http://a/b", "//c:81") == "http://c:81/");
        CHECK(resolved("http://a/b", "//[::1]/x/../y") == "http://[::1]/y");
        CHECK(resolved("http://a/b", "//C/?q") == "http://c/?q");
    }
    SUBCASE("references are checked like URLs")
    {
        char const* const bad[] = {
            "//user@c/", "//", "///x", "//c:0/", "//[::1/", "http://u@c/",
            "a b", "a\\b", "\\\\evil.com/", "%zz", "?%4", "g\x80", "\x01", "https:", "https:/c",
        };
        for (char const* reference : bad) {
            CAPTURE(reference);
            CHECK(resolved("http://a/b", reference).rfind("error: ", 0) == 0);
        }
        CHECK(resolved("http://a/b/c", "  g  ") == "http://a/b/g");
    }
}

TEST_CASE("url: resolve, relative references")
{
    SUBCASE("query and path from the base")
    {
        CHECK(resolved("http://a/b?q", "") == "http://a/b?q");
        CHECK(resolved("http://a/b?q", "?") == "http://a/b?");
        CHECK(resolved("http://a/b?q", "#f") == "http://a/b?q");
        CHECK(resolved("http://a", "?x") == "http://a/?x");
        CHECK(resolved("http://a", "g") == "http://a/g");
        CHECK(resolved("http://a:8080/", "g") == "http://a:8080/g");
        CHECK(resolved("http://[::1]:8080/a/b", "../c") == "http://[::1]:8080/c");
    }
    SUBCASE("the base's own dot segments stay until a path is merged")
    {
        CHECK(resolved("http://a/b/../c?q", "") == "http://a/b/../c?q");
        CHECK(resolved("http://a/b/../c", "d") == "http://a/d");
    }
    SUBCASE("empty segments and escapes are kept")
    {
        CHECK(resolved("http://a/b/c", "x//y/./z") == "http://a/b/x//y/z");
        CHECK(resolved("http://a/b/c", "/..//x") == "http://a//x");
        CHECK(resolved("http://a/b/c", "%2e%2e/x") == "http://a/b/%2e%2e/x");
        CHECK(resolved("http://a/b/c", "./a:b") == "http://a/b/a:b");
    }
    SUBCASE("a base with no usable scheme or host")
    {
        sse::error_code ec;
        sse::resolve_url(sse::url{}, "/x", ec);
        CHECK(ec == sse::error::bad_url);
        sse::url no_host;
        no_host.scheme = "http";
        sse::resolve_url(no_host, "x", ec);
        CHECK(ec == sse::error::bad_url);
        CHECK(sse::resolve_url(sse::url{}, "https://c/", ec).to_string() == "https://c/");
        CHECK(!ec);
    }
    SUBCASE("a base target without a path")
    {
        sse::url base;
        base.scheme = "http";
        base.host = "a";
        base.port = 80;
        CHECK(sse::resolve_url(base, "g").target == "/g");
    }
}
