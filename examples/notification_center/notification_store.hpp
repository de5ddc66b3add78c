// notification_store.hpp - the notifications a notification center keeps, and their file.
//
// Pure logic and persistence: no socket, no terminal, no event loop. The clock is a
// parameter, so that tests drive auto-dismissal without sleeping. Every change is
// written to the store file (atomically) before the call returns; a change that
// cannot be written is undone in memory too, so that memory never claims more than
// the disk holds.
#ifndef NOTIFICATION_CENTER_NOTIFICATION_STORE_HPP
#define NOTIFICATION_CENTER_NOTIFICATION_STORE_HPP

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace nc {

/// The kinds of notification the example server validates (docs/server.md, "Typed events").
enum class notification_type
{
    success,
    error,
    warning,
    info,
};

/// Every type, in the order the interface cycles through them.
inline constexpr std::array<notification_type, 4> all_types{
    notification_type::success, notification_type::error, notification_type::warning, notification_type::info};

/// "success", "error", "warning" or "info".
char const* to_string(notification_type t) noexcept;

/// The type named `name`, or nothing for any other text.
std::optional<notification_type> parse_type(std::string_view name) noexcept;

/** Something the user may do about a notification: open a URL, or send an event back
    to the server (POST /api/sse/actions, docs/server.md). Exactly one of `url` and
    `event` is set.
*/
struct notification_action
{
    std::string label;
    std::string url;     ///< http:, https:, or a path on the stream's server starting "/"
    std::string event;   ///< the event name sent back
    std::string data;    ///< the action's `data` as JSON text; empty when absent
};

/// One notification, as received and as stored.
struct notification
{
    using time_point = std::chrono::system_clock::time_point;

    std::string id;                          ///< the event id; `local-...` for an event without one
    notification_type type = notification_type::info;
    std::string title;
    std::string message;
    std::chrono::milliseconds duration{0};   ///< shown this long, then dismissed; 0: until dismissed
    time_point received{};                   ///< when the store accepted it (wall clock, survives restarts)
    bool read = false;
    /// The payload's `autoDismiss`: false keeps it until dismissed, whatever the default;
    /// true without a duration takes the store's default (or 5 s). Absent: the default applies.
    std::optional<bool> auto_dismiss;
    std::vector<notification_action> actions;   ///< at most 5, in the order sent

    /// When it is dismissed on its own: `received + duration`, nothing for a duration of 0.
    std::optional<time_point> expires() const;
};

/** Reads the data of a `notification` event:
    `{"notificationType":"success|error|warning|info","title":...,"message":...,"duration":ms,
      "autoDismiss":bool,"actions":[{"label":...,"url":...}|{"label":...,"event":...,"data":...}]}`.

    As the example server accepts them (docs/server.md): without `notificationType`, a
    `type` of success, error, warning or info is used, else info; `body` stands for an
    absent `message`. `title`, `message` and `duration` may be absent, but not both title
    and message; other members are ignored. An action needs a label and exactly one of
    `url` and `event`. Returns nothing, and says why in `why`, for data that is not such
    an object. `id`, `received` and `read` are left for the store to set.
*/
std::optional<notification> parse_notification(std::string_view data, std::string& why);

/// True if `text` occurs in the title or the message, ignoring the case of ASCII letters. Empty text matches.
bool matches(notification const& n, std::string_view text);

/// How a store keeps its notifications.
struct store_options
{
    /// The store file. Empty: nothing is written or read.
    std::string path;

    /// Notifications kept, at least 1. Beyond it the oldest read one goes first, then the oldest.
    std::size_t max = 200;

    /** Auto-dismissal for notifications that carry no duration (and no `autoDismiss: false`):
        they are dismissed this long after they arrive. Zero: they stay until dismissed.
    */
    std::chrono::milliseconds default_duration{0};

    /// Event ids remembered after their notification is gone (dismissed, expired, evicted), so
    /// that a replayed event does not come back. At least `max` are always remembered.
    std::size_t remembered_ids = 1024;

    /** For tests: called after the temporary file is complete and synced, just before it is
        renamed over the store file. An error aborts the write as any I/O error would.
    */
    std::function<std::error_code(std::string const& temp_path)> before_rename;
};

/// What load() found.
struct load_result
{
    std::size_t restored = 0;   ///< notifications read from the file
    std::string moved_aside;    ///< the new name of a corrupt file, which was renamed; empty otherwise
    std::string problem;        ///< why that file was found corrupt
    std::size_t removed_temporaries = 0;   ///< leftovers of interrupted writes that were deleted
};

/// What accept() did.
struct accept_result
{
    bool added = false;                  ///< false: a notification with this id was seen before
    std::vector<notification> evicted;   ///< what made room for it
};

/** The notifications of a notification center: categories, read state, dismissal,
    auto-dismissal, a bound with eviction, filtering, search, and the stream position.

    Notifications are kept in the order they arrived. The store file holds all of it, the
    last event id of the stream included, so that a program that resumes from that id
    after a crash neither misses nor doubles an event. Writes go to a temporary file in
    the same directory, which is synced and renamed over the store file; the directory
    is synced after the rename. A reader therefore sees the old file or the new one,
    never a mix.

    @par Thread safety
    Distinct objects: safe. Shared objects: unsafe. Two processes must not share a
    store file (the program takes a lock).
*/
class notification_store
{
public:
    using clock_type = std::chrono::system_clock;
    using time_point = clock_type::time_point;
    using clock_function = std::function<time_point()>;

    /// A store with nothing in it; load() reads the file. `clock` tells the time (tests inject one).
    explicit notification_store(store_options options, clock_function clock = &clock_type::now);

    /** Reads the store file, replacing what is in memory.

        A missing file gives an empty store. A file that cannot be understood is renamed to
        `<path>.corrupt-<UTC time>` and the store starts empty; the result says so. Leftover
        temporary files of interrupted writes are deleted. `ec` reports a file that exists
        but cannot be read, or a corrupt one that cannot be moved aside.
    */
    load_result load(std::error_code& ec);

    /** Accepts a notification received with `last_event_id` as the stream's position.

        Sets `received` to now and `read` to false. An empty `n.id` gets a local id and is
        never taken for a duplicate. A non-empty id that is kept or remembered makes it a
        duplicate: nothing is added, only the position is recorded. The notification and the
        position are written together before this returns. On an error nothing changes.
    */
    accept_result accept(notification n, std::string_view last_event_id, std::error_code& ec);

    /// Records the stream's position (an event that is not a notification). Writes only if it changed.
    void set_last_event_id(std::string_view id, std::error_code& ec);

    /// Marks one notification read. Returns false if there is none with `id` or it was read already.
    bool mark_read(std::string_view id, std::error_code& ec);

    /// Marks every notification read. Returns how many were unread.
    std::size_t mark_all_read(std::error_code& ec);

    /// Removes one notification; its id stays remembered. Returns false if there is none with `id`.
    bool dismiss(std::string_view id, std::error_code& ec);

    /** Removes every notification; their ids stay remembered, so that a replay does not
        bring them back. Returns how many were removed.
    */
    std::size_t clear_all(std::error_code& ec);

    /// Removes the notifications whose duration has run out, and returns them.
    std::vector<notification> expire(std::error_code& ec);

    /// The earliest time a kept notification expires, if any does.
    std::optional<time_point> next_expiry() const;

    /// The kept notifications of type `type` (all types if none) that match `text`, newest first.
    std::vector<notification const*> select(std::optional<notification_type> type = {},
                                            std::string_view text = {}) const;

    /// The notification with `id`, or null.
    notification const* find(std::string_view id) const;

    /// Every kept notification, oldest first.
    std::vector<notification> const& all() const noexcept { return state_.items; }

    std::size_t size() const noexcept { return state_.items.size(); }
    std::size_t unread() const noexcept;

    /// The stream's position: the last event id seen, sent as `Last-Event-ID` on resumption.
    std::string const& last_event_id() const noexcept { return state_.last_event_id; }

    /// True if an event with `id` was accepted and is kept or remembered.
    bool seen(std::string_view id) const;

    store_options const& options() const noexcept { return options_; }
    time_point now() const { return clock_(); }

    /// Writes the store file now. Nothing to do without a path.
    void save(std::error_code& ec) const;

    /// The store as the file holds it (JSON).
    std::string serialize() const;

private:
    struct state
    {
        std::vector<notification> items;   // oldest first
        std::deque<std::string> seen;      // ids of accepted events, oldest first
        std::string last_event_id;
        std::uint64_t local_counter = 0;
    };

    // Applies `change` to the state and writes it; undoes it if the write fails.
    template<class Change>
    auto transact(std::error_code& ec, Change&& change);

    void remember(std::string const& id);
    void trim_seen();
    std::vector<notification> evict_over_max();

    store_options options_;
    clock_function clock_;
    state state_;
};

} // namespace nc

#endif
