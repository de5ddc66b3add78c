// http.cpp - JSON answers and CORS.
#include "http.hpp"

#include <algorithm>

namespace app {

peer_address::peer_address(asio::ip::address const& a, unsigned short port) : port_(port)
{
    if (a.is_v6() && !a.to_v6().is_v4_mapped()) {
        v6_ = true;
        bytes_ = a.to_v6().to_bytes();
        scope_ = static_cast<std::uint32_t>(a.to_v6().scope_id());
    } else {
        auto const v4 = a.is_v4() ? a.to_v4() : asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
        auto const b = v4.to_bytes();
        std::copy(b.begin(), b.end(), bytes_.begin());
    }
}

std::string peer_address::ip() const
{
    if (v6_)
        return asio::ip::address_v6(bytes_, scope_).to_string();
    return asio::ip::address_v4({bytes_[0], bytes_[1], bytes_[2], bytes_[3]}).to_string();
}

std::string peer_address::to_string() const
{
    return (v6_ ? "[" + ip() + "]" : ip()) + ":" + std::to_string(port_);
}

sse::response json_response(int status, nlohmann::json const& body)
{
    sse::response r;
    r.status = status;
    r.content_type = "application/json";
    // A client's invalid UTF-8 echoed in an error must not turn the answer into a 500.
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    r.body += '\n';
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

sse::response error_response(int status, std::string const& message, std::string_view field)
{
    nlohmann::json body = {{"error", message}};
    if (!field.empty())
        body["field"] = field;
    return json_response(status, body);
}

sse::response retry_later(int status, std::string const& message, std::chrono::seconds retry_after)
{
    sse::response r = error_response(status, message);
    r.headers.emplace_back("Retry-After", std::to_string(retry_after.count()));
    return r;
}

sse::cors_policy cors_policy_for(std::vector<std::string> origins, bool credentials)
{
    sse::cors_policy p;
    p.allowed_origins = std::move(origins);
    p.allow_credentials = credentials;
    // Pages may read when to retry after a 429 or 503.
    p.expose_headers = {"Retry-After"};
    // Cache-Control: EventSource polyfills send it on streams (seed 003 allows it).
    p.allow_headers = {"Content-Type", "Authorization", "X-API-Key", "Last-Event-ID", "Cache-Control",
                       "Idempotency-Key"};
    p.max_age = std::chrono::minutes(10);
    return p;
}

nlohmann::json string_or_null(std::string const& s)
{
    return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

std::vector<std::string> split_list(std::string_view list)
{
    std::vector<std::string> out;
    while (!list.empty()) {
        auto const comma = list.find(',');
        std::string_view piece = list.substr(0, comma);
        auto const first = piece.find_first_not_of(" \t");
        if (first != std::string_view::npos) {
            auto const last = piece.find_last_not_of(" \t");
            out.emplace_back(piece.substr(first, last - first + 1));
        }
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return out;
}

bool has_control(std::string_view s) noexcept
{
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto const u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

} // namespace app
