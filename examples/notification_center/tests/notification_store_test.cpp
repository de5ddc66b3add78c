// The store: categories, read state, dismissal, auto-dismissal on an injected clock,
// eviction, filter, search, the store file (round trip, atomic write, corrupt file),
// and ids seen before.
#include "notification_store.hpp"

#include <sse/parser.hpp>
#include <sse/source_options.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand.
struct manual_clock
{
    std::shared_ptr<nc::notification_store::time_point> now =
        std::make_shared<nc::notification_store::time_point>(std::chrono::hours(24 * 19000));

    nc::notification_store::clock_function function() const
    {
        return [t = now] { return *t; };
    }
    void advance(std::chrono::milliseconds d) const { *now += d; }
};

// A fresh directory, removed with its files at the end of the test.
struct temp_dir
{
    std::string path;

    temp_dir()
    {
        std::string pattern = "/tmp/nc-store-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~temp_dir()
    {
        for (auto const& f : files())
            ::unlink((path + "/" + f).c_str());
        ::rmdir(path.c_str());
    }
    std::string file(std::string const& name) const { return path + "/" + name; }

    std::vector<std::string> files() const
    {
        std::vector<std::string> out;
        if (DIR* d = ::opendir(path.c_str())) {
            while (dirent* e = ::readdir(d)) {
                std::string const name = e->d_name;
                if (name != "." && name != "..")
                    out.push_back(name);
            }
            ::closedir(d);
        }
        std::sort(out.begin(), out.end());
        return out;
    }
};

std::string read_file(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_file(std::string const& path, std::string const& bytes)
{
    std::ofstream(path, std::ios::binary) << bytes;
}

nc::notification make(std::string id, nc::notification_type type, std::string title, std::string message = {},
                      std::chrono::milliseconds duration = 0ms)
{
    nc::notification n;
    n.id = std::move(id);
    n.type = type;
    n.title = std::move(title);
    n.message = std::move(message);
    n.duration = duration;
    return n;
}

// Accepts `n` with its own id as the stream position, and requires that it was written.
bool add(nc::notification_store& store, nc::notification n)
{
    std::error_code ec;
    std::string const id = n.id;
    auto const r = store.accept(std::move(n), id, ec);
    REQUIRE_FALSE(ec);
    return r.added;
}

std::vector<std::string> ids(std::vector<nc::notification const*> const& list)
{
    std::vector<std::string> out;
    for (auto const* n : list)
        out.push_back(n->id);
    return out;
}

std::vector<std::string> ids(std::vector<nc::notification> const& list)
{
    std::vector<std::string> out;
    for (auto const& n : list)
        out.push_back(n.id);
    return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("notification_store: parses the payload of the server's notification events")
{
    std::string why;
    auto n = nc::parse_notification(
        R"({"notificationType":"warning","title":"Disk","message":"90% full","duration":5000,"extra":1})", why);
    REQUIRE(n);
    CHECK(n->type == nc::notification_type::warning);
    CHECK(n->title == "Disk");
    CHECK(n->message == "90% full");
    CHECK(n->duration == 5000ms);

    n = nc::parse_notification(R"({"notificationType":"info","title":"Only a title"})", why);
    REQUIRE(n);
    CHECK(n->message.empty());
    CHECK(n->duration == 0ms);

    // The title is optional in the server's format; the message then says it all.
    n = nc::parse_notification(R"({"type":"notification","notificationType":"info","message":"x"})", why);
    REQUIRE(n);
    CHECK(n->title.empty());
    CHECK(n->message == "x");
    n = nc::parse_notification(R"({"notificationType":"info","title":null,"message":"x"})", why);
    REQUIRE(n);
    CHECK(n->title.empty());

    for (char const* bad : {"not json", "[1]", R"({"notificationType":"fatal","title":"x"})",
             R"({"notificationType":"info"})", R"({"notificationType":"info","title":"x","duration":-1})",
             R"({"notificationType":"info","title":"x","duration":1.5})", R"({"notificationType":"info","title":"x","message":3})",
             R"({"notificationType":"info","title":3,"message":"x"})", R"({"notificationType":"info","message":""})"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(nc::parse_notification(bad, why));
        CHECK_FALSE(why.empty());
    }
}

TEST_CASE("notification_store: categories, newest first")
{
    nc::notification_store store({});
    add(store, make("1", nc::notification_type::success, "a"));
    add(store, make("2", nc::notification_type::error, "b"));
    add(store, make("3", nc::notification_type::success, "c"));
    add(store, make("4", nc::notification_type::info, "d"));
    CHECK(ids(store.select()) == strings{"4", "3", "2", "1"});
    CHECK(ids(store.select(nc::notification_type::success)) == strings{"3", "1"});
    CHECK(ids(store.select(nc::notification_type::error)) == strings{"2"});
    CHECK(store.select(nc::notification_type::warning).empty());
    CHECK(nc::parse_type("error") == nc::notification_type::error);
    CHECK_FALSE(nc::parse_type("Error"));
}

TEST_CASE("notification_store: read and unread, one and all")
{
    nc::notification_store store({});
    add(store, make("1", nc::notification_type::info, "a"));
    add(store, make("2", nc::notification_type::info, "b"));
    add(store, make("3", nc::notification_type::info, "c"));
    CHECK(store.unread() == 3);
    std::error_code ec;
    CHECK(store.mark_read("2", ec));
    CHECK(store.find("2")->read);
    CHECK_FALSE(store.find("1")->read);
    CHECK(store.unread() == 2);
    CHECK_FALSE(store.mark_read("2", ec));   // already read
    CHECK_FALSE(store.mark_read("nope", ec));
    CHECK(store.mark_all_read(ec) == 2);
    CHECK(store.unread() == 0);
    CHECK(store.mark_all_read(ec) == 0);
}

TEST_CASE("notification_store: dismiss removes, and the id is not taken again")
{
    nc::notification_store store({});
    add(store, make("1", nc::notification_type::info, "a"));
    add(store, make("2", nc::notification_type::info, "b"));
    std::error_code ec;
    CHECK(store.dismiss("1", ec));
    CHECK_FALSE(ec);
    CHECK(ids(store.select()) == strings{"2"});
    CHECK_FALSE(store.dismiss("1", ec));
    CHECK_FALSE(add(store, make("1", nc::notification_type::info, "a again")));   // a replay of it
    CHECK(store.size() == 1);
}

TEST_CASE("notification_store: auto-dismissal after the duration, on the injected clock")
{
    manual_clock clock;
    nc::notification_store store({}, clock.function());
    add(store, make("short", nc::notification_type::success, "a", "", 5000ms));
    clock.advance(1000ms);
    add(store, make("longer", nc::notification_type::info, "b", "", 5000ms));
    add(store, make("stays", nc::notification_type::error, "c", "", 0ms));
    REQUIRE(store.next_expiry());
    CHECK(*store.next_expiry() == *clock.now + 4000ms);

    std::error_code ec;
    clock.advance(3999ms);
    CHECK(store.expire(ec).empty());
    clock.advance(1ms);
    CHECK(ids(store.expire(ec)) == strings{"short"});
    CHECK(ids(store.select()) == strings{"stays", "longer"});
    clock.advance(1000ms);
    CHECK(ids(store.expire(ec)) == strings{"longer"});
    CHECK_FALSE(store.next_expiry());
    clock.advance(std::chrono::hours(1000));
    CHECK(store.expire(ec).empty());
    CHECK(ids(store.select()) == strings{"stays"});
}

TEST_CASE("notification_store: at most max are kept, the oldest read one evicted first, then the oldest")
{
    nc::store_options o;
    o.max = 3;
    nc::notification_store store(o);
    add(store, make("1", nc::notification_type::info, "a"));
    add(store, make("2", nc::notification_type::info, "b"));
    add(store, make("3", nc::notification_type::info, "c"));
    std::error_code ec;
    store.mark_read("3", ec);
    store.mark_read("2", ec);

    auto r = store.accept(make("4", nc::notification_type::info, "d"), "4", ec);
    CHECK(r.added);
    CHECK(ids(r.evicted) == strings{"2"});   // read, and older than 3
    r = store.accept(make("5", nc::notification_type::info, "e"), "5", ec);
    CHECK(ids(r.evicted) == strings{"3"});
    r = store.accept(make("6", nc::notification_type::info, "f"), "6", ec);
    CHECK(ids(r.evicted) == strings{"1"});   // nothing read left: the oldest
    CHECK(ids(store.all()) == strings{"4", "5", "6"});
    CHECK_FALSE(add(store, make("2", nc::notification_type::info, "b")));   // evicted ids are remembered
}

TEST_CASE("notification_store: filter by type and search title and message, ignoring case")
{
    nc::notification_store store({});
    add(store, make("1", nc::notification_type::success, "Order shipped", "#1042 is on its way"));
    add(store, make("2", nc::notification_type::error, "Payment failed", "card declined for ORDER #77"));
    add(store, make("3", nc::notification_type::info, "Maintenance", "tonight at 18:00"));
    CHECK(ids(store.select({}, "order")) == strings{"2", "1"});
    CHECK(ids(store.select({}, "ORDER")) == strings{"2", "1"});
    CHECK(ids(store.select({}, "On Its Way")) == strings{"1"});
    CHECK(ids(store.select(nc::notification_type::error, "order")) == strings{"2"});
    CHECK(ids(store.select(nc::notification_type::info, "order")).empty());
    CHECK(ids(store.select({}, "")) == strings{"3", "2", "1"});
    CHECK(store.select({}, "nowhere").empty());
}

TEST_CASE("notification_store: the same event id is accepted once; events without id always")
{
    nc::notification_store store({});
    std::error_code ec;
    CHECK(store.accept(make("a-1", nc::notification_type::info, "x"), "a-1", ec).added);
    auto const again = store.accept(make("a-1", nc::notification_type::info, "x"), "a-2", ec);
    CHECK_FALSE(again.added);
    CHECK(store.last_event_id() == "a-2");   // the position still moves on
    CHECK(store.size() == 1);
    CHECK(store.accept(make("", nc::notification_type::info, "no id"), "a-2", ec).added);
    CHECK(store.accept(make("", nc::notification_type::info, "no id"), "a-2", ec).added);
    CHECK(store.size() == 3);
    CHECK(store.all()[1].id != store.all()[2].id);
    CHECK(store.all()[1].id.rfind("local-", 0) == 0);
}

TEST_CASE("notification_store: the file round trip keeps everything, and ids stay seen")
{
    temp_dir dir;
    manual_clock clock;
    nc::store_options o;
    o.path = dir.file("store.json");
    {
        nc::notification_store store(o, clock.function());
        std::error_code ec;
        store.load(ec);
        REQUIRE_FALSE(ec);
        add(store, make("1", nc::notification_type::success, "Héllo \"quoted\"", "line\nbreak", 7000ms));
        clock.advance(10ms);
        add(store, make("2", nc::notification_type::warning, "b"));
        add(store, make("3", nc::notification_type::error, "c"));
        store.mark_read("2", ec);
        store.dismiss("3", ec);
        store.set_last_event_id("epoch-9", ec);
        REQUIRE_FALSE(ec);
    }
    nc::notification_store again(o, clock.function());
    std::error_code ec;
    auto const loaded = again.load(ec);
    REQUIRE_FALSE(ec);
    CHECK(loaded.restored == 2);
    CHECK(loaded.moved_aside.empty());
    CHECK(again.last_event_id() == "epoch-9");
    REQUIRE(again.size() == 2);
    auto const& first = again.all()[0];
    CHECK(first.id == "1");
    CHECK(first.type == nc::notification_type::success);
    CHECK(first.title == "Héllo \"quoted\"");
    CHECK(first.message == "line\nbreak");
    CHECK(first.duration == 7000ms);
    CHECK(first.received == *clock.now - 10ms);
    CHECK_FALSE(first.read);
    CHECK(again.all()[1].read);
    CHECK(again.unread() == 1);
    CHECK(again.seen("3"));   // dismissed before the restart: a replay stays out
    CHECK_FALSE(add(again, make("3", nc::notification_type::error, "c")));
    CHECK(dir.files() == strings{"store.json"});
}

TEST_CASE("notification_store: a smaller max applies when the file is read")
{
    temp_dir dir;
    nc::store_options o;
    o.path = dir.file("store.json");
    {
        nc::notification_store store(o);
        for (char const* id : {"1", "2", "3", "4"})
            add(store, make(id, nc::notification_type::info, id));
    }
    o.max = 2;
    nc::notification_store store(o);
    std::error_code ec;
    CHECK(store.load(ec).restored == 2);
    CHECK(ids(store.all()) == strings{"3", "4"});
}

TEST_CASE("notification_store: the write is atomic: old file or new file, never a part; no temporary left")
{
    temp_dir dir;
    nc::store_options o;
    o.path = dir.file("store.json");
    std::string old_content;
    std::vector<std::string> seen_during;
    bool fail = false;
    o.before_rename = [&](std::string const& temp) -> std::error_code {
        // The complete new content is synced in a temporary file of the same directory,
        // and the store file still holds the old content.
        CHECK(temp.rfind(dir.path + "/.store.json.tmp-", 0) == 0);
        CHECK(read_file(o.path) == old_content);
        auto const fresh = read_file(temp);
        CHECK(fresh.find("\"format\"") != std::string::npos);
        CHECK(fresh.back() == '\n');
        seen_during = dir.files();
        if (fail)
            return std::make_error_code(std::errc::no_space_on_device);
        return {};
    };
    nc::notification_store store(o);
    std::error_code ec;
    store.load(ec);
    add(store, make("1", nc::notification_type::info, "first"));
    CHECK(seen_during.size() == 1);   // the temporary file only: the store did not exist yet
    CHECK(dir.files() == strings{"store.json"});
    old_content = read_file(o.path);
    CHECK(old_content.find("first") != std::string::npos);

    add(store, make("2", nc::notification_type::info, "second"));
    CHECK(seen_during.size() == 2);
    CHECK(dir.files() == strings{"store.json"});
    old_content = read_file(o.path);

    SUBCASE("a failed write leaves the old file, no temporary, and undoes the change in memory")
    {
        fail = true;
        auto const r = store.accept(make("3", nc::notification_type::info, "third"), "3", ec);
        CHECK(ec == std::errc::no_space_on_device);
        CHECK(read_file(o.path) == old_content);
        CHECK(dir.files() == strings{"store.json"});
        CHECK(store.size() == 2);
        CHECK_FALSE(store.seen("3"));
        CHECK(store.last_event_id() == "2");
        CHECK_FALSE(store.dismiss("1", ec));
        CHECK(ec);
        CHECK(store.find("1") != nullptr);
        CHECK_FALSE(store.mark_read("1", ec));
        CHECK_FALSE(store.find("1")->read);
        (void)r;
    }
    SUBCASE("a leftover temporary file of an interrupted write is deleted on load")
    {
        write_file(dir.file(".store.json.tmp-AbC123"), "{\"partial");
        write_file(dir.file("unrelated.tmp-AbC123"), "x");
        nc::notification_store other(o);
        auto const loaded = other.load(ec);
        REQUIRE_FALSE(ec);
        CHECK(loaded.removed_temporaries == 1);
        CHECK(loaded.restored == 2);
        CHECK(dir.files() == strings{"store.json", "unrelated.tmp-AbC123"});
    }
}

TEST_CASE("notification_store: a write into a missing directory fails and changes nothing")
{
    nc::store_options o;
    o.path = "/nonexistent-nc-test-dir/store.json";
    nc::notification_store store(o);
    std::error_code ec;
    store.load(ec);
    CHECK_FALSE(ec);   // no file: an empty store
    auto const r = store.accept(make("1", nc::notification_type::info, "x"), "1", ec);
    CHECK(ec);
    CHECK(store.size() == 0);
    CHECK(store.last_event_id().empty());
    (void)r;
}

TEST_CASE("notification_store: a corrupt file is moved aside and the store starts empty")
{
    char const* const corrupt[] = {
        "",                                     // a write is atomic: an empty file is not ours
        "{\"format\":\"sse-notification-center/1\",\"lastEv",   // cut short
        "[1,2,3]",
        R"({"format":"something-else","lastEventId":"","seen":[],"notifications":[]})",
        R"({"format":"sse-notification-center/1","lastEventId":"x","seen":[],"notifications":[{"id":"1"}]})",
        R"({"format":"sse-notification-center/1","lastEventId":"x","seen":{},"notifications":[]})",
        R"({"format":"sse-notification-center/1","lastEventId":"x","seen":[],"notifications":[{"id":"1","type":"bogus","title":"t","message":"","duration":0,"received":0,"read":false}]})",
    };
    for (char const* bytes : corrupt) {
        CAPTURE(bytes);
        temp_dir dir;
        manual_clock clock;
        nc::store_options o;
        o.path = dir.file("store.json");
        write_file(o.path, bytes);
        nc::notification_store store(o, clock.function());
        std::error_code ec;
        auto const loaded = store.load(ec);
        REQUIRE_FALSE(ec);
        CHECK(loaded.restored == 0);
        CHECK_FALSE(loaded.problem.empty());
        CHECK(store.size() == 0);
        CHECK(store.last_event_id().empty());
        REQUIRE(loaded.moved_aside.rfind(o.path + ".corrupt-", 0) == 0);
        CHECK(read_file(loaded.moved_aside) == bytes);
        CHECK(::access(o.path.c_str(), F_OK) != 0);
        CHECK(dir.files().size() == 1);

        // Twice in the same millisecond: the second one does not replace the first.
        write_file(o.path, "garbage");
        auto const second = store.load(ec);
        CHECK(second.moved_aside != loaded.moved_aside);
        CHECK(read_file(loaded.moved_aside) == bytes);
        CHECK(dir.files().size() == 2);

        add(store, make("1", nc::notification_type::info, "works again"));
        nc::notification_store check(o);
        CHECK(check.load(ec).restored == 1);
    }
}

// docs/notification-center.md, "Embedding the store": the handler quoted there.
namespace {

// Call it from event_source::on("notification", ...). Returns false for a duplicate
// or for data that is not a notification.
bool keep(nc::notification_store& store, sse::event_view const& ev)
{
    std::string why;
    auto n = nc::parse_notification(ev.data, why);
    if (!n)
        return false;
    n->id = std::string(ev.last_event_id);   // the key that recognises a replayed event
    std::error_code ec;
    auto const result = store.accept(std::move(*n), ev.last_event_id, ec);   // on disk when it returns
    if (ec)
        throw std::system_error(ec, "cannot write the notification store");
    return result.added;
}

} // namespace

TEST_CASE("notification_store: the documentation's example")
{
    temp_dir dir;
    nc::store_options options;
    options.path = dir.file("notifications.json");
    options.max = 500;
    nc::notification_store store(options);
    std::error_code ec;
    auto const loaded = store.load(ec);
    REQUIRE_FALSE(ec);
    CHECK(loaded.moved_aside.empty());
    sse::event_source_options source_options;
    source_options.last_event_id = store.last_event_id();
    CHECK(source_options.last_event_id.empty());

    std::string const data = R"({"notificationType":"success","title":"Saved","message":"Profile saved"})";
    CHECK(keep(store, sse::event_view{"notification", data, "k3v9qa-1"}));
    CHECK_FALSE(keep(store, sse::event_view{"notification", data, "k3v9qa-1"}));   // replayed
    CHECK_FALSE(keep(store, sse::event_view{"notification", "{}", "k3v9qa-2"}));
    CHECK(store.size() == 1);
    CHECK(store.last_event_id() == "k3v9qa-1");
    CHECK(store.select(nc::notification_type::success, "profile").size() == 1);

    nc::notification_store reopened(options);
    CHECK(reopened.load(ec).restored == 1);
    CHECK(reopened.last_event_id() == "k3v9qa-1");
}

TEST_CASE("notification_store: the shapes the seeds send, actions and autoDismiss")
{
    std::string why;
    // No notificationType (001): info. A toolkit's {type: "success"} (000): success. body for message (004).
    auto n = nc::parse_notification(R"({"title":"Welcome!","message":"Thanks for joining!"})", why);
    REQUIRE(n);
    CHECK(n->type == nc::notification_type::info);
    n = nc::parse_notification(R"({"type":"success","message":"Saved","autoDismiss":false})", why);
    REQUIRE(n);
    CHECK(n->type == nc::notification_type::success);
    CHECK(n->auto_dismiss == false);
    n = nc::parse_notification(R"({"id":"r1","type":"REPORT_APPROVED","title":"Report","body":"Approved"})", why);
    REQUIRE(n);
    CHECK(n->type == nc::notification_type::info);
    CHECK(n->message == "Approved");

    n = nc::parse_notification(R"({"message":"m","actions":[{"label":"Open","url":"/x"},
                                  {"label":"Ack","event":"ack","data":{"k":[1,2]}}]})",
                               why);
    REQUIRE_MESSAGE(n, why);
    REQUIRE(n->actions.size() == 2);
    CHECK(n->actions[0].label == "Open");
    CHECK(n->actions[0].url == "/x");
    CHECK(n->actions[0].event.empty());
    CHECK(n->actions[1].event == "ack");
    CHECK(n->actions[1].data == R"({"k":[1,2]})");

    for (char const* bad : {R"({"message":"m","actions":{}})", R"({"message":"m","actions":[{"url":"/x"}]})",
             R"({"message":"m","actions":[{"label":"a"}]})", R"({"message":"m","actions":[{"label":"a","url":"/x","event":"e"}]})",
             R"({"message":"m","actions":[1]})", R"({"message":"m","autoDismiss":"yes"})",
             R"({"message":"m","actions":[{"label":"1","url":"/"},{"label":"2","url":"/"},{"label":"3","url":"/"},
                 {"label":"4","url":"/"},{"label":"5","url":"/"},{"label":"6","url":"/"}]})"}) {
        CAPTURE(bad);
        why.clear();
        CHECK_FALSE(nc::parse_notification(bad, why));
        CHECK_FALSE(why.empty());
    }
}

TEST_CASE("notification_store: a default auto-dismissal for notifications without a duration")
{
    manual_clock clock;
    nc::store_options o;
    o.default_duration = 3000ms;
    nc::notification_store store(o, clock.function());
    add(store, make("plain", nc::notification_type::info, "a"));                 // the default
    add(store, make("own", nc::notification_type::info, "b", "", 10000ms));      // its own duration
    auto sticky = make("sticky", nc::notification_type::error, "c");
    sticky.auto_dismiss = false;                                                  // never on its own
    add(store, sticky);
    std::error_code ec;
    clock.advance(2999ms);
    CHECK(store.expire(ec).empty());
    clock.advance(1ms);
    CHECK(ids(store.expire(ec)) == strings{"plain"});
    clock.advance(7000ms);
    CHECK(ids(store.expire(ec)) == strings{"own"});
    clock.advance(std::chrono::hours(100));
    CHECK(store.expire(ec).empty());
    CHECK(ids(store.select()) == strings{"sticky"});

    // Without a default, autoDismiss: true alone still asks for one: 5 s.
    nc::notification_store plain({}, clock.function());
    auto asks = make("asks", nc::notification_type::info, "d");
    asks.auto_dismiss = true;
    add(plain, asks);
    add(plain, make("stays", nc::notification_type::info, "e"));
    clock.advance(5000ms);
    CHECK(ids(plain.expire(ec)) == strings{"asks"});
    CHECK(ids(plain.select()) == strings{"stays"});
}

TEST_CASE("notification_store: clear_all empties the store, and a replay stays out")
{
    temp_dir dir;
    nc::store_options o;
    o.path = dir.file("store.json");
    nc::notification_store store(o);
    std::error_code ec;
    store.load(ec);
    CHECK(store.clear_all(ec) == 0);
    add(store, make("1", nc::notification_type::info, "a"));
    add(store, make("2", nc::notification_type::warning, "b"));
    CHECK(store.clear_all(ec) == 2);
    REQUIRE_FALSE(ec);
    CHECK(store.size() == 0);
    CHECK_FALSE(add(store, make("2", nc::notification_type::warning, "b")));   // replayed: not again
    nc::notification_store again(o);
    again.load(ec);
    REQUIRE_FALSE(ec);
    CHECK(again.size() == 0);
    CHECK(again.seen("1"));
}

TEST_CASE("notification_store: actions and autoDismiss survive the file")
{
    temp_dir dir;
    nc::store_options o;
    o.path = dir.file("store.json");
    std::string why;
    auto n = nc::parse_notification(
        R"({"message":"m","autoDismiss":false,"actions":[{"label":"Ack","event":"ack","data":{"k":1}},{"label":"Go","url":"/go"}]})",
        why);
    REQUIRE(n);
    n->id = "7";
    {
        nc::notification_store store(o);
        std::error_code ec;
        store.load(ec);
        add(store, *n);
    }
    nc::notification_store again(o);
    std::error_code ec;
    again.load(ec);
    REQUIRE_FALSE(ec);
    REQUIRE(again.size() == 1);
    auto const& back = again.all()[0];
    CHECK(back.auto_dismiss == false);
    REQUIRE(back.actions.size() == 2);
    CHECK(back.actions[0].event == "ack");
    CHECK(back.actions[0].data == R"({"k":1})");
    CHECK(back.actions[1].url == "/go");
}
