// clients.cpp - the registry of open streams.
#include "clients.hpp"

#include <algorithm>

namespace app {

nlohmann::json session_id(std::map<std::string, std::string> const& metadata)
{
    auto const it = metadata.find("sessionId");
    return it == metadata.end() ? nlohmann::json(nullptr) : nlohmann::json(it->second);
}

client_registry::client_registry(connection_limits limits) : limits_(limits) {}

admission client_registry::admit(std::string const& ip, std::string const& user)
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (reserved_ >= limits_.total)
        return admission::too_many_total;
    auto const ip_it = per_ip_.find(ip);
    if (ip_it != per_ip_.end() && ip_it->second >= limits_.per_ip)
        return admission::too_many_for_ip;
    if (!user.empty()) {
        auto const user_it = per_user_.find(user);
        if (user_it != per_user_.end() && user_it->second >= limits_.per_user)
            return admission::too_many_for_user;
        ++per_user_[user];
    }
    ++per_ip_[ip];
    ++reserved_;
    return admission::ok;
}

void client_registry::give_back(std::string const& ip, std::string const& user)
{
    --reserved_;
    if (auto it = per_ip_.find(ip); it != per_ip_.end() && --it->second == 0)
        per_ip_.erase(it);
    if (user.empty())
        return;
    if (auto it = per_user_.find(user); it != per_user_.end() && --it->second == 0)
        per_user_.erase(it);
}

void client_registry::release(std::string const& ip, std::string const& user)
{
    std::lock_guard<std::mutex> lock(mutex_);
    give_back(ip, user);
}

void client_registry::opened(client_record r)
{
    std::lock_guard<std::mutex> lock(mutex_);
    ++opened_total_;
    auto const sub = r.subscription.lock();
    if (sub)
        open_.emplace(sub->id(), std::move(r));
}

std::optional<client_record> client_registry::closed(sse::subscriber const& s, std::string const& reason)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto const it = open_.find(s.id());
    if (it == open_.end())
        return std::nullopt;
    client_record r = std::move(it->second);
    open_.erase(it);
    give_back(r.remote.ip(), s.user());
    ++closed_[reason];
    return r;
}

bool client_registry::contains(std::uint64_t id) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return open_.count(id) != 0;
}

std::size_t client_registry::size() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return open_.size();
}

std::vector<client_view> client_registry::list() const
{
    std::vector<client_view> out;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        out.reserve(open_.size());
        for (auto const& [id, r] : open_)
            if (auto sub = r.subscription.lock())   // else it is ending
                out.push_back({std::move(sub), r.remote, 0});
    }
    std::sort(out.begin(), out.end(),
              [](client_view const& a, client_view const& b) { return a.subscription->id() < b.subscription->id(); });
    // Queue depths take each subscriber's own lock: not under ours.
    for (auto& v : out)
        v.queue_depth = v.subscription->queue_size();
    return out;
}

std::chrono::milliseconds client_registry::average_age(clock::time_point now) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_.empty())
        return std::chrono::milliseconds(0);
    clock::duration total{};
    long counted = 0;
    for (auto const& [id, r] : open_)
        if (auto sub = r.subscription.lock()) {
            total += now - sub->connected_since();
            ++counted;
        }
    if (counted == 0)
        return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(total / counted);
}

std::uint64_t client_registry::opened_total() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return opened_total_;
}

std::map<std::string, std::uint64_t> client_registry::closed_by_reason() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return closed_;
}

} // namespace app
