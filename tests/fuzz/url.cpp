// fuzz_url - sse::parse_url and sse::resolve_url produce only URLs they read back
// unchanged.
//
// The whole input is the text. If it parses, the result must be well formed and its
// to_string() must parse to equal fields. It is also resolved against a few bases;
// each result must be well formed and read back equal, and an input that parses on
// its own must resolve to the same scheme, host and port, and the empty reference
// against it to itself.
#include <sse/url.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

void require(bool ok, char const* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_url: %s\n", what);
        std::abort();
    }
}

bool same(sse::url const& a, sse::url const& b)
{
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target;
}

void check_well_formed(sse::url const& u)
{
    require(u.scheme == "http" || u.scheme == "https", "scheme not http or https");
    require(!u.host.empty(), "empty host");
    require(u.port != 0, "port 0");
    require(!u.target.empty() && u.target.front() == '/', "target does not start with /");
    for (char const c : u.host)
        require(!(c >= 'A' && c <= 'Z') && c != '[' && c != ']' && c != '@' && c != '%', "bad host character");
    for (char const c : u.target) {
        auto const b = static_cast<unsigned char>(c);
        require(b > 0x20 && b < 0x7f && c != '#' && c != '\\', "bad target character");
    }
}

void check_reads_back(sse::url const& u)
{
    check_well_formed(u);
    sse::error_code ec;
    sse::url const again = sse::parse_url(u.to_string(), ec);
    require(!ec, "to_string() does not parse");
    require(same(again, u), "to_string() parses to a different url");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    std::string_view const text(reinterpret_cast<char const*>(data), size);

    sse::error_code ec;
    sse::url const u = sse::parse_url(text, ec);
    if (!ec) {
        check_reads_back(u);
        require(same(sse::resolve_url(u, ""), u), "the empty reference did not resolve to its base");
    }
    else
        require(ec == sse::error::bad_url && same(u, sse::url{}), "a failure returned a url or another code");

    static sse::url const bases[] = {
        sse::parse_url("http://a/b/c/d;p?q"),
        sse::parse_url("https://[2001:db8::1]:8443/x/"),
        sse::parse_url("http://h"),
    };
    for (sse::url const& base : bases) {
        sse::error_code rec;
        sse::url const r = sse::resolve_url(base, text, rec);
        if (rec) {
            require(rec == sse::error::bad_url && same(r, sse::url{}), "a failed resolve returned a url");
            require(static_cast<bool>(ec), "a URL that parses does not resolve");
            continue;
        }
        check_reads_back(r);
        if (!ec)
            require(r.scheme == u.scheme && r.host == u.host && r.port == u.port,
                    "an absolute URL resolved to another origin");
    }
    return 0;
}
