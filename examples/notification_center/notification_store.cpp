// notification_store.cpp - the store's logic, its JSON file, and the atomic write.
#include "notification_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <stdexcept>
#include <utility>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nc {

namespace {

// The first member of the file: a file without it, or with another, is not ours.
constexpr char const* file_format = "sse-notification-center/1";

std::error_code last_error() { return {errno, std::generic_category()}; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_ignoring_case(std::string_view haystack, std::string_view needle)
{
    if (needle.empty())
        return true;
    auto const it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                                [](char a, char b) { return lower(a) == lower(b); });
    return it != haystack.end();
}

std::int64_t to_ms(notification::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

notification::time_point from_ms(std::int64_t ms)
{
    return notification::time_point(std::chrono::duration_cast<notification::time_point::duration>(
        std::chrono::milliseconds(ms)));
}

// The directory and the name of `path`: "a/b" -> ("a", "b"), "b" -> (".", "b").
std::pair<std::string, std::string> split_path(std::string const& path)
{
    auto const slash = path.rfind('/');
    if (slash == std::string::npos)
        return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

std::string temp_prefix(std::string const& name) { return "." + name + ".tmp-"; }

// Writes all of `bytes` to `fd`, through short writes and signals.
bool write_all(int fd, std::string_view bytes)
{
    while (!bytes.empty()) {
        ssize_t const n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// POSIX: a rename is durable once the directory that holds the name is synced.
std::error_code sync_directory(std::string const& dir)
{
    int const fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return last_error();
    std::error_code ec;
    // Some file systems cannot sync a directory; the rename is then as durable as they allow.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        ec = last_error();
    ::close(fd);
    return ec;
}

void write_atomically(std::string const& path, std::string_view bytes,
                      std::function<std::error_code(std::string const&)> const& before_rename, std::error_code& ec)
{
    auto const [dir, name] = split_path(path);
    std::string temp = (dir == "/" ? "" : dir) + "/" + temp_prefix(name) + "XXXXXX";
    int const fd = ::mkostemp(temp.data(), O_CLOEXEC);   // mode 0600: notifications may be private
    if (fd < 0) {
        ec = last_error();
        return;
    }
    bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
    if (!ok)
        ec = last_error();
    if (::close(fd) != 0 && ok) {
        ok = false;
        ec = last_error();
    }
    if (ok && before_rename) {
        ec = before_rename(temp);
        ok = !ec;
    }
    if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
        ok = false;
        ec = last_error();
    }
    if (!ok) {
        ::unlink(temp.c_str());
        return;
    }
    ec = sync_directory(dir);
}

nlohmann::json to_json(notification const& n)
{
    nlohmann::json j = {{"id", n.id},
                        {"type", to_string(n.type)},
                        {"title", n.title},
                        {"message", n.message},
                        {"duration", n.duration.count()},
                        {"received", to_ms(n.received)},
                        {"read", n.read}};
    if (n.auto_dismiss)
        j["autoDismiss"] = *n.auto_dismiss;
    if (!n.actions.empty()) {
        nlohmann::json actions = nlohmann::json::array();
        for (auto const& a : n.actions) {
            nlohmann::json action = {{"label", a.label}};
            if (!a.url.empty())
                action["url"] = a.url;
            else
                action["event"] = a.event;
            if (!a.data.empty())
                action["data"] = nlohmann::json::parse(a.data, nullptr, false);
            actions.push_back(std::move(action));
        }
        j["actions"] = std::move(actions);
    }
    return j;
}

// The payload's actions (docs/server.md, "Typed events"): at most 5, each with a label
// and exactly one of url and event. False, with `why`, for anything else.
bool parse_actions(nlohmann::json const& j, std::vector<notification_action>& out, std::string& why)
{
    if (!j.is_array() || j.size() > 5) {
        why = "actions must be an array of at most 5 objects";
        return false;
    }
    for (std::size_t i = 0; i < j.size(); ++i) {
        auto const& item = j[i];
        std::string const where = "actions[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            why = where + " must be an object";
            return false;
        }
        notification_action a;
        auto const label = item.find("label");
        if (label == item.end() || !label->is_string() || label->get_ref<std::string const&>().empty()) {
            why = where + ".label must be a non-empty string";
            return false;
        }
        a.label = label->get<std::string>();
        auto const url = item.find("url");
        auto const event = item.find("event");
        bool const has_url = url != item.end() && !url->is_null();
        bool const has_event = event != item.end() && !event->is_null();
        if (has_url == has_event) {
            why = where + " needs exactly one of url and event";
            return false;
        }
        if (has_url) {
            if (!url->is_string() || url->get_ref<std::string const&>().empty()) {
                why = where + ".url must be a non-empty string";
                return false;
            }
            a.url = url->get<std::string>();
        } else {
            if (!event->is_string() || event->get_ref<std::string const&>().empty()) {
                why = where + ".event must be a non-empty string";
                return false;
            }
            a.event = event->get<std::string>();
        }
        if (auto const data = item.find("data"); data != item.end())
            a.data = data->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out.push_back(std::move(a));
    }
    return true;
}

// Throws std::runtime_error (or a nlohmann exception) for anything but a notification as to_json writes it.
notification from_json(nlohmann::json const& j)
{
    if (!j.is_object())
        throw std::runtime_error("a notification is not an object");
    notification n;
    n.id = j.at("id").get<std::string>();
    auto const type = parse_type(j.at("type").get<std::string>());
    if (!type)
        throw std::runtime_error("unknown notification type");
    n.type = *type;
    n.title = j.at("title").get<std::string>();
    n.message = j.at("message").get<std::string>();
    auto const duration = j.at("duration").get<std::int64_t>();
    if (duration < 0)
        throw std::runtime_error("negative duration");
    n.duration = std::chrono::milliseconds(duration);
    n.received = from_ms(j.at("received").get<std::int64_t>());
    n.read = j.at("read").get<bool>();
    // Absent from files written before actions and autoDismiss were kept.
    if (auto const auto_dismiss = j.find("autoDismiss"); auto_dismiss != j.end())
        n.auto_dismiss = auto_dismiss->get<bool>();
    if (auto const actions = j.find("actions"); actions != j.end()) {
        std::string why;
        if (!parse_actions(*actions, n.actions, why))
            throw std::runtime_error(why);
    }
    if (n.id.empty())
        throw std::runtime_error("a notification without an id");
    return n;
}

// UTC, to the millisecond, safe in a file name: 20240520T100000.123Z.
std::string file_timestamp(notification::time_point t)
{
    auto const ms = to_ms(t);
    std::time_t const secs = static_cast<std::time_t>(ms / 1000);
    std::tm parts{};
    ::gmtime_r(&secs, &parts);
    char buf[80];   // room for any int GCC can imagine in each field
    std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1,
                  parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

bool exists(std::string const& path)
{
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
}

} // namespace

char const* to_string(notification_type t) noexcept
{
    switch (t) {
    case notification_type::success:
        return "success";
    case notification_type::error:
        return "error";
    case notification_type::warning:
        return "warning";
    case notification_type::info:
        return "info";
    }
    return "info";
}

std::optional<notification_type> parse_type(std::string_view name) noexcept
{
    for (auto t : all_types)
        if (name == to_string(t))
            return t;
    return std::nullopt;
}

std::optional<notification::time_point> notification::expires() const
{
    if (duration.count() <= 0)
        return std::nullopt;
    return received + duration;
}

std::optional<notification> parse_notification(std::string_view data, std::string& why)
{
    auto const j = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        why = "the data is not a JSON object";
        return std::nullopt;
    }
    notification n;
    auto const type = j.find("notificationType");
    if (type != j.end() && !type->is_null()) {
        if (!type->is_string() || !parse_type(type->get_ref<std::string const&>())) {
            why = "notificationType must be success, error, warning or info";
            return std::nullopt;
        }
        n.type = *parse_type(type->get_ref<std::string const&>());
    } else if (auto const kind = j.find("type"); kind != j.end() && kind->is_string()) {
        // The shape {type: "success", ...} of a React toolkit; any other type reads as info.
        n.type = parse_type(kind->get_ref<std::string const&>()).value_or(notification_type::info);
    }
    // The title is optional, as the message is.
    if (auto const title = j.find("title"); title != j.end() && !title->is_null()) {
        if (!title->is_string()) {
            why = "title must be a string";
            return std::nullopt;
        }
        n.title = title->get<std::string>();
    }
    if (auto const message = j.find("message"); message != j.end() && !message->is_null()) {
        if (!message->is_string()) {
            why = "message must be a string";
            return std::nullopt;
        }
        n.message = message->get<std::string>();
    } else if (auto const body = j.find("body"); body != j.end() && body->is_string()) {
        n.message = body->get<std::string>();
    }
    if (auto const auto_dismiss = j.find("autoDismiss"); auto_dismiss != j.end() && !auto_dismiss->is_null()) {
        if (!auto_dismiss->is_boolean()) {
            why = "autoDismiss must be true or false";
            return std::nullopt;
        }
        n.auto_dismiss = auto_dismiss->get<bool>();
    }
    if (auto const actions = j.find("actions"); actions != j.end() && !actions->is_null())
        if (!parse_actions(*actions, n.actions, why))
            return std::nullopt;
    if (auto const duration = j.find("duration"); duration != j.end() && !duration->is_null()) {
        if (!duration->is_number_integer() || duration->get<std::int64_t>() < 0) {
            why = "duration must be a non-negative integer (ms)";
            return std::nullopt;
        }
        n.duration = std::chrono::milliseconds(duration->get<std::int64_t>());
    }
    if (n.title.empty() && n.message.empty()) {
        why = "a notification needs a title or a message";
        return std::nullopt;
    }
    return n;
}

bool matches(notification const& n, std::string_view text)
{
    return contains_ignoring_case(n.title, text) || contains_ignoring_case(n.message, text);
}

notification_store::notification_store(store_options options, clock_function clock)
    : options_(std::move(options)), clock_(std::move(clock))
{
    if (options_.max == 0)
        options_.max = 1;
    options_.remembered_ids = std::max(options_.remembered_ids, options_.max);
}

template<class Change>
auto notification_store::transact(std::error_code& ec, Change&& change)
{
    ec.clear();
    state before = state_;
    auto result = change();
    save(ec);
    if (ec)
        state_ = std::move(before);
    return result;
}

load_result notification_store::load(std::error_code& ec)
{
    ec.clear();
    load_result result;
    state_ = state{};
    if (options_.path.empty())
        return result;

    // A crash between creating a temporary file and renaming it leaves the temporary file.
    auto const [dir, name] = split_path(options_.path);
    if (DIR* d = ::opendir(dir.c_str())) {
        auto const prefix = temp_prefix(name);
        while (dirent* entry = ::readdir(d)) {
            std::string_view const file = entry->d_name;
            if (file.size() == prefix.size() + 6 && file.substr(0, prefix.size()) == prefix &&
                ::unlink(((dir == "/" ? "" : dir) + "/" + std::string(file)).c_str()) == 0)
                ++result.removed_temporaries;
        }
        ::closedir(d);
    }

    int const fd = ::open(options_.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            ec = last_error();
        return result;
    }
    std::string bytes;
    char buf[16384];
    for (;;) {
        ssize_t const n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ec = last_error();
            ::close(fd);
            return result;
        }
        if (n == 0)
            break;
        bytes.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);

    state loaded;
    try {
        auto const j = nlohmann::json::parse(bytes);
        if (!j.is_object() || j.value("format", std::string()) != file_format)
            throw std::runtime_error(std::string("not a store file (no \"format\":\"") + file_format + "\")");
        loaded.last_event_id = j.at("lastEventId").get<std::string>();
        if (!j.at("seen").is_array() || !j.at("notifications").is_array())
            throw std::runtime_error("\"seen\" and \"notifications\" must be arrays");
        for (auto const& id : j.at("seen"))
            loaded.seen.push_back(id.get<std::string>());
        for (auto const& item : j.at("notifications")) {
            auto n = from_json(item);
            for (auto const& other : loaded.items)
                if (other.id == n.id)
                    throw std::runtime_error("two notifications with the id " + n.id);
            loaded.items.push_back(std::move(n));
        }
        loaded.local_counter = j.value("localCounter", std::uint64_t(0));
    } catch (std::exception const& e) {
        result.problem = e.what();
        std::string aside = options_.path + ".corrupt-" + file_timestamp(now());
        for (int i = 1; exists(aside); ++i)
            aside = options_.path + ".corrupt-" + file_timestamp(now()) + "-" + std::to_string(i);
        if (::rename(options_.path.c_str(), aside.c_str()) != 0) {
            ec = last_error();
            return result;
        }
        ec = sync_directory(dir);
        result.moved_aside = std::move(aside);
        return result;
    }
    state_ = std::move(loaded);
    trim_seen();
    // A smaller --max than last time applies at once, in memory; the next change writes it.
    evict_over_max();
    result.restored = state_.items.size();
    return result;
}

void notification_store::remember(std::string const& id)
{
    state_.seen.push_back(id);
    trim_seen();
}

void notification_store::trim_seen()
{
    while (state_.seen.size() > options_.remembered_ids)
        state_.seen.pop_front();
}

std::vector<notification> notification_store::evict_over_max()
{
    std::vector<notification> evicted;
    auto& items = state_.items;
    while (items.size() > options_.max) {
        auto victim = std::find_if(items.begin(), items.end(), [](notification const& n) { return n.read; });
        if (victim == items.end())
            victim = items.begin();
        evicted.push_back(std::move(*victim));
        items.erase(victim);
    }
    return evicted;
}

bool notification_store::seen(std::string_view id) const
{
    return std::find(state_.seen.begin(), state_.seen.end(), id) != state_.seen.end() || find(id) != nullptr;
}

accept_result notification_store::accept(notification n, std::string_view last_event_id, std::error_code& ec)
{
    ec.clear();
    if (!n.id.empty() && seen(n.id) && last_event_id == state_.last_event_id)
        return {};
    return transact(ec, [&] {
        accept_result result;
        state_.last_event_id.assign(last_event_id);
        if (!n.id.empty() && seen(n.id))
            return result;
        n.received = now();
        n.read = false;
        if (n.auto_dismiss == false)
            n.duration = std::chrono::milliseconds(0);
        else if (n.duration.count() == 0 && (n.auto_dismiss || options_.default_duration.count() > 0))
            n.duration = options_.default_duration.count() > 0 ? options_.default_duration : std::chrono::seconds(5);
        if (n.id.empty()) {
            do
                n.id = "local-" + std::to_string(++state_.local_counter);
            while (seen(n.id));
        } else {
            remember(n.id);
        }
        state_.items.push_back(std::move(n));
        result.added = true;
        result.evicted = evict_over_max();
        return result;
    });
}

void notification_store::set_last_event_id(std::string_view id, std::error_code& ec)
{
    ec.clear();
    if (id == state_.last_event_id)
        return;
    transact(ec, [&] {
        state_.last_event_id.assign(id);
        return 0;
    });
}

bool notification_store::mark_read(std::string_view id, std::error_code& ec)
{
    ec.clear();
    auto const* n = find(id);
    if (!n || n->read)
        return false;
    return transact(ec, [&] {
        for (auto& item : state_.items)
            if (item.id == id)
                item.read = true;
        return true;
    }) && !ec;
}

std::size_t notification_store::mark_all_read(std::error_code& ec)
{
    ec.clear();
    if (unread() == 0)
        return 0;
    auto const count = transact(ec, [&] {
        std::size_t changed = 0;
        for (auto& item : state_.items)
            if (!item.read) {
                item.read = true;
                ++changed;
            }
        return changed;
    });
    return ec ? 0 : count;
}

bool notification_store::dismiss(std::string_view id, std::error_code& ec)
{
    ec.clear();
    if (!find(id))
        return false;
    return transact(ec, [&] {
        auto& items = state_.items;
        items.erase(std::remove_if(items.begin(), items.end(), [&](notification const& n) { return n.id == id; }),
                    items.end());
        return true;
    }) && !ec;
}

std::size_t notification_store::clear_all(std::error_code& ec)
{
    ec.clear();
    if (state_.items.empty())
        return 0;
    auto const count = transact(ec, [&] {
        std::size_t const removed = state_.items.size();
        state_.items.clear();
        return removed;
    });
    return ec ? 0 : count;
}

std::vector<notification> notification_store::expire(std::error_code& ec)
{
    ec.clear();
    auto const t = now();
    auto const due = [t](notification const& n) {
        auto const when = n.expires();
        return when && *when <= t;
    };
    if (std::none_of(state_.items.begin(), state_.items.end(), due))
        return {};
    auto removed = transact(ec, [&] {
        std::vector<notification> gone;
        auto& items = state_.items;
        auto const keep = std::stable_partition(items.begin(), items.end(), [&](notification const& n) { return !due(n); });
        std::move(keep, items.end(), std::back_inserter(gone));
        items.erase(keep, items.end());
        return gone;
    });
    if (ec)
        return {};
    return removed;
}

std::optional<notification_store::time_point> notification_store::next_expiry() const
{
    std::optional<time_point> first;
    for (auto const& n : state_.items)
        if (auto const when = n.expires(); when && (!first || *when < *first))
            first = when;
    return first;
}

std::vector<notification const*> notification_store::select(std::optional<notification_type> type,
                                                            std::string_view text) const
{
    std::vector<notification const*> out;
    for (auto it = state_.items.rbegin(); it != state_.items.rend(); ++it)
        if ((!type || it->type == *type) && matches(*it, text))
            out.push_back(&*it);
    return out;
}

notification const* notification_store::find(std::string_view id) const
{
    for (auto const& n : state_.items)
        if (n.id == id)
            return &n;
    return nullptr;
}

std::size_t notification_store::unread() const noexcept
{
    return static_cast<std::size_t>(
        std::count_if(state_.items.begin(), state_.items.end(), [](notification const& n) { return !n.read; }));
}

std::string notification_store::serialize() const
{
    nlohmann::json items = nlohmann::json::array();
    for (auto const& n : state_.items)
        items.push_back(to_json(n));
    nlohmann::json j = {{"format", file_format},
                        {"lastEventId", state_.last_event_id},
                        {"localCounter", state_.local_counter},
                        {"seen", state_.seen},
                        {"notifications", std::move(items)}};
    // The parser hands over valid UTF-8; the replacement guards against anything else.
    return j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void notification_store::save(std::error_code& ec) const
{
    ec.clear();
    if (options_.path.empty())
        return;
    write_atomically(options_.path, serialize(), options_.before_rename, ec);
}

} // namespace nc
