// The terminal interface without a terminal: key decoding, the keys' effect on the
// view and the actions they ask for, and what the screen shows.
#include "terminal_ui.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

std::vector<nc::key::code_type> codes(std::vector<nc::key> const& keys)
{
    std::vector<nc::key::code_type> out;
    for (auto const& k : keys)
        out.push_back(k.code);
    return out;
}

nc::key ch(char const* text) { return {nc::key::character, text}; }
nc::key special(nc::key::code_type c) { return {c, {}}; }

void add(nc::notification_store& store, std::string id, nc::notification_type type, std::string title,
         std::string message = {})
{
    nc::notification n;
    n.id = id;
    n.type = type;
    n.title = std::move(title);
    n.message = std::move(message);
    std::error_code ec;
    store.accept(std::move(n), id, ec);
    REQUIRE_FALSE(ec);
}

// The screen without escape sequences, one string per line.
std::vector<std::string> lines(std::string const& screen)
{
    std::vector<std::string> out(1);
    for (std::size_t i = 0; i < screen.size(); ++i) {
        if (screen[i] == '\x1b') {
            ++i;
            if (i < screen.size() && screen[i] == '[')
                while (i + 1 < screen.size() && !(screen[i + 1] >= 0x40 && screen[i + 1] <= 0x7E))
                    ++i;
            ++i;
            continue;
        }
        if (screen[i] == '\r')
            continue;
        if (screen[i] == '\n')
            out.emplace_back();
        else
            out.back() += screen[i];
    }
    return out;
}

using key = nc::key;

} // namespace

TEST_CASE("terminal_ui: keys are decoded, also when a read cuts a sequence")
{
    nc::key_decoder d;
    CHECK(codes(d.feed("\x1b[A\x1b[B\x1bOA\x1b[5~\x1b[6~\x1b[3~\x1b[H\x1b[4~\r\x7f\x03")) ==
          std::vector<key::code_type>{key::up, key::down, key::up, key::page_up, key::page_down, key::del, key::home,
                                      key::end, key::enter, key::backspace, key::interrupt});
    CHECK(d.feed("\x1b[").empty());
    CHECK(codes(d.feed("B")) == std::vector<key::code_type>{key::down});
    CHECK(codes(d.feed("\x1b")) == std::vector<key::code_type>{key::escape});
    auto const keys = d.feed("a\xc3");
    REQUIRE(keys.size() == 1);
    CHECK(keys[0].text == "a");
    auto const rest = d.feed("\xa9q");
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].text == "\xc3\xa9");
    CHECK(rest[1].text == "q");
}

TEST_CASE("terminal_ui: printable text has no control characters and fits the width")
{
    CHECK(nc::printable("a\x1b[2Jb\nc\td\x7f", 80) == "a [2Jb c d ");
    CHECK(nc::printable("\xc2\x9b" "31m", 80) == " 31m");   // C1 CSI
    CHECK(nc::printable("abcdef", 3) == "abc");
    CHECK(nc::printable("\xc3\xa9t\xc3\xa9", 2) == "\xc3\xa9t");
    CHECK(nc::printable("\xe6\x97\xa5\xe6\x9c\xac", 3) == "\xe6\x97\xa5");   // two wide characters need 4 cells
    CHECK(nc::printable("a\xff" "b", 80) == "a?b");
}

TEST_CASE("terminal_ui: keys move the selection and ask for store changes")
{
    nc::notification_store store({});
    add(store, "1", nc::notification_type::success, "first");
    add(store, "2", nc::notification_type::error, "second");
    add(store, "3", nc::notification_type::info, "third");
    nc::terminal_ui ui;
    CHECK(ui.selected(store) == "3");   // newest first
    add(store, "0", nc::notification_type::info, "zeroth");   // at the top, the selection follows the newest
    CHECK(ui.selected(store) == "0");
    std::error_code ec;
    store.dismiss("0", ec);
    CHECK(ui.selected(store) == "3");
    ui.handle(ch("j"), store);
    CHECK(ui.selected(store) == "2");
    ui.handle(special(key::down), store);
    ui.handle(special(key::down), store);
    CHECK(ui.selected(store) == "1");
    ui.handle(ch("k"), store);
    CHECK(ui.selected(store) == "2");

    auto a = ui.handle(ch("r"), store);
    CHECK(a.kind == nc::ui_action::mark_read);
    CHECK(a.id == "2");
    CHECK(ui.handle(ch("a"), store).kind == nc::ui_action::mark_all_read);
    a = ui.handle(ch("d"), store);
    CHECK(a.kind == nc::ui_action::dismiss);
    CHECK(a.id == "2");
    store.dismiss("2", ec);
    CHECK(ui.selected(store) == "1");   // the next one takes its place

    // A new notification arrives on top: the selection stays on the same one.
    add(store, "4", nc::notification_type::warning, "fourth");
    CHECK(ui.selected(store) == "1");
    ui.handle(special(key::home), store);
    CHECK(ui.selected(store) == "4");
    CHECK(ui.handle(ch("q"), store).kind == nc::ui_action::quit);
    CHECK(ui.handle(special(key::interrupt), store).kind == nc::ui_action::quit);
}

TEST_CASE("terminal_ui: f cycles the type filter, / searches, Escape clears the search")
{
    nc::notification_store store({});
    add(store, "1", nc::notification_type::success, "Order shipped");
    add(store, "2", nc::notification_type::error, "Payment failed", "order 77");
    add(store, "3", nc::notification_type::info, "Maintenance");
    nc::terminal_ui ui;
    std::vector<std::string> seen;
    for (int i = 0; i < 5; ++i) {
        ui.handle(ch("f"), store);
        seen.push_back(ui.filter() ? nc::to_string(*ui.filter()) : "all");
    }
    CHECK(seen == std::vector<std::string>{"success", "error", "warning", "info", "all"});
    ui.handle(ch("f"), store);
    ui.handle(ch("f"), store);
    CHECK(ui.visible(store).size() == 1);
    CHECK(ui.selected(store) == "2");
    for (int i = 0; i < 3; ++i)
        ui.handle(ch("f"), store);
    CHECK_FALSE(ui.filter());

    ui.handle(ch("/"), store);
    CHECK(ui.typing());
    for (char const* c : {"O", "R", "D", "x"})
        CHECK(ui.handle(ch(c), store).kind == nc::ui_action::none);   // q, d, r... are text while typing
    ui.handle(special(key::backspace), store);
    CHECK(ui.search().empty());   // not applied before Enter
    ui.handle(special(key::enter), store);
    CHECK_FALSE(ui.typing());
    CHECK(ui.search() == "ORD");
    CHECK(ui.visible(store).size() == 2);

    ui.handle(ch("/"), store);
    ui.handle(ch("z"), store);
    ui.handle(special(key::escape), store);   // cancels the edit
    CHECK(ui.search() == "ORD");
    ui.handle(special(key::escape), store);   // clears the search
    CHECK(ui.search().empty());
    CHECK(ui.visible(store).size() == 3);
}

TEST_CASE("terminal_ui: the screen shows the status, the unread count and the list")
{
    nc::notification_store store({});
    add(store, "1", nc::notification_type::success, "Order shipped", "#1042 is on its way");
    add(store, "2", nc::notification_type::error, "Evil \x1b[2J title", "two\nlines");
    std::error_code ec;
    store.mark_read("1", ec);
    nc::terminal_ui ui;
    nc::connection_status status{"open", ""};
    auto const screen = ui.render(store, status, 100, 10);
    CHECK(screen.find("\x1b[2J") == std::string::npos);
    auto const shown = lines(screen);
    REQUIRE(shown.size() == 10);
    CHECK(shown[0].find("[open]") != std::string::npos);
    CHECK(shown[0].find("1 unread, 2 kept") != std::string::npos);
    CHECK(shown[0].find("filter: all") != std::string::npos);
    CHECK(shown[2].rfind("> *", 0) == 0);                 // selected, unread, newest
    CHECK(shown[2].find("ERROR") != std::string::npos);
    CHECK(shown[2].find("Evil  [2J title  two lines") != std::string::npos);
    CHECK(shown[3].rfind("   ", 0) == 0);                 // not selected, read
    CHECK(shown[3].find("SUCCESS Order shipped  #1042 is on its way") != std::string::npos);
    CHECK(shown[9].find("q quit") != std::string::npos);
    for (auto const& line : shown)
        CHECK(line.size() < 100);

    ui.handle(ch("/"), store);
    ui.handle(ch("x"), store);
    CHECK(lines(ui.render(store, status, 100, 10))[9].find("Search: x_") != std::string::npos);

    nc::connection_status waiting{"waiting", "Connection refused"};
    nc::terminal_ui other;
    CHECK(lines(other.render(store, waiting, 100, 10))[0].find("[waiting (Connection refused)]") != std::string::npos);

    nc::notification_store empty({});
    CHECK(lines(other.render(empty, waiting, 100, 10))[2].find("No notifications.") != std::string::npos);
}

TEST_CASE("terminal_ui: a notification without a title shows its message in the title's place")
{
    nc::notification_store store({});
    add(store, "1", nc::notification_type::info, "", "Backup finished");
    nc::terminal_ui ui;
    auto const shown = lines(ui.render(store, nc::connection_status{"open", ""}, 100, 6));
    REQUIRE(shown.size() == 6);
    // The label is padded to 8 columns; the message follows at once, with no gap
    // left for the missing title.
    CHECK(shown[2].find("INFO    Backup finished") != std::string::npos);
    CHECK(shown[2].find("INFO     ") == std::string::npos);
}

TEST_CASE("terminal_ui: the list scrolls to keep the selection visible")
{
    nc::notification_store store({});
    for (int i = 0; i < 30; ++i)
        add(store, std::to_string(i), nc::notification_type::info, "item " + std::to_string(i));
    nc::terminal_ui ui;
    for (int i = 0; i < 20; ++i)
        ui.handle(special(key::down), store);
    auto const shown = lines(ui.render(store, {}, 80, 8));   // 5 rows of list
    CHECK(shown[6].find("> * ") == 0);
    CHECK(shown[6].find("item 9") != std::string::npos);
    ui.handle(special(key::page_up), store);
    auto const up = lines(ui.render(store, {}, 80, 8));
    CHECK(up[2].find("item 13") != std::string::npos);
    CHECK(up[2].rfind(">", 0) == 0);
}

TEST_CASE("terminal_ui: C asks to clear all, and only when there is something to clear")
{
    nc::notification_store store({});
    nc::terminal_ui ui;
    CHECK(ui.handle(ch("C"), store).kind == nc::ui_action::none);
    add(store, "1", nc::notification_type::info, "one");
    CHECK(ui.handle(ch("c"), store).kind == nc::ui_action::none);   // lower case: no slip empties the list
    CHECK(ui.handle(ch("C"), store).kind == nc::ui_action::clear_all);
    CHECK(ui.render(store, {}, 120, 10).find("C clear all") != std::string::npos);
}
