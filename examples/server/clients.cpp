// clients.cpp - the registry of open streams.
#include "clients.hpp"

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
    auto const id = r.id;
    open_.emplace(id, std::move(r));
}

std::optional<client_record> client_registry::closed(std::uint64_t id, std::string const& reason)
{
    std::lock_guard<std::mutex> lock(mutex_);
    auto const it = open_.find(id);
    if (it == open_.end())
        return std::nullopt;
    client_record r = std::move(it->second);
    open_.erase(it);
    give_back(r.remote_ip, r.user);
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
            out.push_back({r, 0});
    }
    // Queue depths take each subscriber's own lock: not under ours.
    for (auto& v : out)
        if (auto sub = v.record.subscription.lock())
            v.queue_depth = sub->queue_size();
    return out;
}

std::chrono::milliseconds client_registry::average_age(clock::time_point now) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_.empty())
        return std::chrono::milliseconds(0);
    clock::duration total{};
    for (auto const& [id, r] : open_)
        total += now - r.started;
    return std::chrono::duration_cast<std::chrono::milliseconds>(total / static_cast<long>(open_.size()));
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
