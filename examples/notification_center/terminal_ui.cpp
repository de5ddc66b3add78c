// terminal_ui.cpp - keys, the view, the screen, and the terminal's raw mode.
#include "terminal_ui.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>

#include <sys/ioctl.h>
#include <unistd.h>

namespace nc {

namespace {

// ECMA-48 Select Graphic Rendition.
constexpr char const* reset = "\x1b[0m";
constexpr char const* bold = "\x1b[1m";
constexpr char const* dim = "\x1b[2m";
constexpr char const* inverse = "\x1b[7m";
constexpr char const* clear_line = "\x1b[K";

char const* colour(notification_type t)
{
    switch (t) {
    case notification_type::success:
        return "\x1b[32m";
    case notification_type::error:
        return "\x1b[31m";
    case notification_type::warning:
        return "\x1b[33m";
    case notification_type::info:
        return "\x1b[36m";
    }
    return "";
}

char const* state_colour(std::string const& state)
{
    if (state == "open")
        return "\x1b[32m";
    if (state == "failed")
        return "\x1b[31m";
    if (state == "closed")
        return dim;
    return "\x1b[33m";
}

// Length of the UTF-8 sequence that `lead` starts; 0 for a byte that cannot start one.
std::size_t sequence_length(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

// Cells a code point takes: 2 for the wide East Asian ranges and emoji, 0 for combining marks.
std::size_t cells(char32_t c)
{
    if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x200B && c <= 0x200F) || (c >= 0xFE00 && c <= 0xFE0F))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0xA4CF) || (c >= 0xAC00 && c <= 0xD7A3) ||
        (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) || (c >= 0x1F900 && c <= 0x1F9FF) ||
        (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

std::string clock_time(notification::time_point t)
{
    std::time_t const secs = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    ::localtime_r(&secs, &parts);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &parts);
    return buf;
}

std::string upper(char const* s)
{
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return out;
}

} // namespace

std::string printable(std::string_view text, std::size_t columns)
{
    std::string out;
    std::size_t used = 0;
    for (std::size_t i = 0; i < text.size();) {
        auto const lead = static_cast<unsigned char>(text[i]);
        std::size_t len = sequence_length(lead);
        char32_t c = lead;
        bool valid = len != 0 && i + len <= text.size();
        if (valid && len > 1) {
            c = lead & (0xFF >> (len + 1));
            for (std::size_t k = 1; k < len; ++k) {
                auto const b = static_cast<unsigned char>(text[i + k]);
                valid = valid && (b & 0xC0) == 0x80;
                c = (c << 6) | (b & 0x3F);
            }
        }
        if (!valid) {
            len = 1;
            c = 0xFFFD;
        }
        std::string piece;
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F))
            piece = " ";   // a control character would move the cursor or change the terminal
        else if (c == 0xFFFD && !valid)
            piece = "?";
        else
            piece.assign(text.substr(i, len));
        std::size_t const w = piece == " " || piece == "?" ? 1 : cells(c);
        if (used + w > columns)
            break;
        out += piece;
        used += w;
        i += len;
    }
    return out;
}

std::vector<key> key_decoder::feed(std::string_view bytes)
{
    std::vector<key> keys;
    std::string input = pending_;
    input.append(bytes.data(), bytes.size());
    pending_.clear();
    std::string_view in = input;
    auto const simple = [&](key::code_type code, std::size_t consumed) {
        keys.push_back({code, {}});
        in.remove_prefix(consumed);
    };
    while (!in.empty()) {
        auto const c = static_cast<unsigned char>(in[0]);
        if (c == 0x1b) {
            if (in.size() == 1) {
                simple(key::escape, 1);
                continue;
            }
            if (in[1] != '[' && in[1] != 'O') {
                simple(key::escape, 1);   // Escape, then whatever follows as its own key
                continue;
            }
            // CSI or SS3: parameters and intermediates, then one final byte in 0x40-0x7E.
            std::size_t end = 2;
            while (end < in.size() && !(in[end] >= 0x40 && in[end] <= 0x7E))
                ++end;
            if (end == in.size()) {
                if (in.size() - 2 > 16) {
                    simple(key::other, in.size());   // not a key sequence: drop it
                    continue;
                }
                pending_.assign(in);
                break;
            }
            std::string_view const seq = in.substr(0, end + 1);
            key::code_type code = key::other;
            switch (seq.back()) {
            case 'A':
                code = key::up;
                break;
            case 'B':
                code = key::down;
                break;
            case 'H':
                code = key::home;
                break;
            case 'F':
                code = key::end;
                break;
            case '~':
                if (seq == "\x1b[5~")
                    code = key::page_up;
                else if (seq == "\x1b[6~")
                    code = key::page_down;
                else if (seq == "\x1b[3~")
                    code = key::del;
                else if (seq == "\x1b[1~" || seq == "\x1b[7~")
                    code = key::home;
                else if (seq == "\x1b[4~" || seq == "\x1b[8~")
                    code = key::end;
                break;
            default:
                break;
            }
            simple(code, seq.size());
            continue;
        }
        if (c == '\r' || c == '\n') {
            simple(key::enter, 1);
            continue;
        }
        if (c == 0x7F || c == 0x08) {
            simple(key::backspace, 1);
            continue;
        }
        if (c == 0x03) {
            simple(key::interrupt, 1);
            continue;
        }
        if (c < 0x20) {
            simple(key::other, 1);
            continue;
        }
        std::size_t len = sequence_length(c);
        if (len == 0) {
            simple(key::other, 1);
            continue;
        }
        if (in.size() < len) {
            pending_.assign(in);   // the rest of the character comes with the next read
            break;
        }
        keys.push_back({key::character, std::string(in.substr(0, len))});
        in.remove_prefix(len);
    }
    return keys;
}

std::vector<notification const*> terminal_ui::visible(notification_store const& store) const
{
    return store.select(filter_, search_);
}

std::size_t terminal_ui::selected_index(std::vector<notification const*> const& list) const
{
    if (list.empty())
        return 0;
    if (at_top_) {
        selected_pos_ = 0;
        selected_id_ = list.front()->id;
        return 0;
    }
    for (std::size_t i = 0; i < list.size(); ++i)
        if (list[i]->id == selected_id_) {
            selected_pos_ = i;
            return i;
        }
    // The selected one is gone (expired, evicted): its neighbour is selected from now on.
    selected_pos_ = std::min(selected_pos_, list.size() - 1);
    selected_id_ = list[selected_pos_]->id;
    return selected_pos_;
}

void terminal_ui::select(std::vector<notification const*> const& list, std::size_t index)
{
    if (list.empty()) {
        selected_id_.clear();
        selected_pos_ = 0;
        at_top_ = true;
        return;
    }
    selected_pos_ = std::min(index, list.size() - 1);
    selected_id_ = list[selected_pos_]->id;
    at_top_ = selected_pos_ == 0;
}

std::string terminal_ui::selected(notification_store const& store) const
{
    auto const list = visible(store);
    return list.empty() ? std::string() : list[selected_index(list)]->id;
}

ui_action terminal_ui::handle(key const& k, notification_store const& store)
{
    if (typing_) {
        switch (k.code) {
        case key::character:
            input_ += k.text;
            break;
        case key::backspace:
            // Drop one whole UTF-8 character.
            while (!input_.empty()) {
                bool const lead = (static_cast<unsigned char>(input_.back()) & 0xC0) != 0x80;
                input_.pop_back();
                if (lead)
                    break;
            }
            break;
        case key::enter:
            typing_ = false;
            search_ = input_;
            select(visible(store), 0);
            break;
        case key::escape:
        case key::interrupt:
            typing_ = false;
            break;
        default:
            break;
        }
        return {};
    }

    auto const list = visible(store);
    auto const at = selected_index(list);
    auto const move_to = [&](std::ptrdiff_t index) {
        auto const last = static_cast<std::ptrdiff_t>(list.empty() ? 0 : list.size() - 1);
        select(list, static_cast<std::size_t>(std::clamp<std::ptrdiff_t>(index, 0, last)));
    };
    auto const current = [&]() { return list.empty() ? std::string() : list[at]->id; };
    auto const step = static_cast<std::ptrdiff_t>(at);
    std::string const ch = k.code == key::character ? k.text : std::string();

    if (k.code == key::interrupt || ch == "q")
        return {ui_action::quit, {}};
    if (k.code == key::down || ch == "j")
        move_to(step + 1);
    else if (k.code == key::up || ch == "k")
        move_to(step - 1);
    else if (k.code == key::page_down)
        move_to(step + page_);
    else if (k.code == key::page_up)
        move_to(step - page_);
    else if (k.code == key::home || ch == "g")
        move_to(0);
    else if (k.code == key::end || ch == "G")
        move_to(static_cast<std::ptrdiff_t>(list.size()));
    else if (k.code == key::enter || ch == "r" || ch == " ") {
        if (!list.empty())
            return {ui_action::mark_read, current()};
    } else if (ch == "a") {
        return {ui_action::mark_all_read, {}};
    } else if (ch == "C") {
        // Capital, so that no slip of a finger empties the list.
        if (store.size() > 0)
            return {ui_action::clear_all, {}};
    } else if (ch.size() == 1 && ch[0] >= '1' && ch[0] <= '9') {
        std::size_t const index = static_cast<std::size_t>(ch[0] - '1');
        if (!list.empty() && index < list[at]->actions.size())
            return {ui_action::pick_action, current(), index};
    } else if (k.code == key::del || ch == "d") {
        if (!list.empty()) {
            // The selection moves to the one that takes its place (the previous one at the end).
            auto const id = current();
            if (list.size() > 1)
                select(list, at + 1 < list.size() ? at + 1 : at - 1);
            selected_pos_ = at + 1 < list.size() ? at : (at > 0 ? at - 1 : 0);
            at_top_ = selected_pos_ == 0;
            return {ui_action::dismiss, id};
        }
    } else if (ch == "f") {
        if (!filter_)
            filter_ = all_types.front();
        else if (*filter_ == all_types.back())
            filter_.reset();
        else
            filter_ = all_types[static_cast<std::size_t>(*filter_) + 1];
        select(visible(store), 0);
    } else if (ch == "/") {
        typing_ = true;
        input_ = search_;
    } else if (k.code == key::escape) {
        search_.clear();
    }
    return {};
}

std::string terminal_ui::render(notification_store const& store, connection_status const& status, int width,
                                int height) const
{
    // One column is left free: writing the last one makes some terminals wrap early.
    std::size_t const columns = static_cast<std::size_t>(std::max(width, 20) - 1);
    int const rows = std::max(height - 3, 1);
    page_ = std::max(rows - 1, 1);
    auto const list = visible(store);
    auto const at = selected_index(list);
    if (at < top_)
        top_ = at;
    if (at >= top_ + static_cast<std::size_t>(rows))
        top_ = at - static_cast<std::size_t>(rows) + 1;
    if (top_ > 0 && top_ + static_cast<std::size_t>(rows) > list.size())
        top_ = list.size() > static_cast<std::size_t>(rows) ? list.size() - static_cast<std::size_t>(rows) : 0;

    std::string screen = "\x1b[H";
    auto const line_end = [&] { screen.append(reset).append(clear_line).append("\r\n"); };

    // Status line.
    std::string const state =
        status.detail.empty() ? status.state : fmt::format("{} ({})", status.state, status.detail);
    std::string const search = search_.empty() ? std::string("-") : fmt::format("\"{}\"", search_);
    std::string text = printable(fmt::format("Notifications  [{}]  {} unread, {} kept  filter: {}  search: {}",
                                             state, store.unread(), store.size(),
                                             filter_ ? to_string(*filter_) : "all", search),
                                 columns);
    // Colour the state inside the already cut text, when it survived the cut.
    auto const open_bracket = text.find('[');
    screen.append(bold);
    if (open_bracket != std::string::npos && text.size() > open_bracket + 1 + status.state.size()) {
        screen.append(text, 0, open_bracket + 1)
            .append(state_colour(status.state))
            .append(text, open_bracket + 1, status.state.size())
            .append(reset)
            .append(bold)
            .append(text, open_bracket + 1 + status.state.size(), std::string::npos);
    } else {
        screen.append(text);
    }
    line_end();
    screen.append(dim).append(std::string(columns, '-'));
    line_end();

    // The list.
    for (int r = 0; r < rows; ++r) {
        std::size_t const i = top_ + static_cast<std::size_t>(r);
        if (i >= list.size()) {
            if (r == 0 && list.empty())
                screen.append(dim).append(printable(
                    store.size() == 0 ? "  No notifications." : "  Nothing matches the filter and search.", columns));
            line_end();
            continue;
        }
        auto const& n = *list[i];
        bool const chosen = i == at;
        std::string const type = upper(to_string(n.type));
        std::string prefix = fmt::format("{}{} {} ", chosen ? ">" : " ", n.read ? "  " : " *", clock_time(n.received));
        std::string label = type + std::string(8 - std::min<std::size_t>(type.size(), 7), ' ');
        // Either part may be missing: no leading or trailing gap then.
        std::string body = n.title.empty() ? n.message
                                           : n.title + (n.message.empty() ? "" : "  " + n.message);
        std::size_t const fixed = prefix.size() + label.size();
        if (chosen)
            screen.append(inverse);
        if (!n.read)
            screen.append(bold);
        screen.append(printable(prefix, columns));
        if (columns > prefix.size()) {
            screen.append(colour(n.type)).append(printable(label, columns - prefix.size()));
            screen.append("\x1b[39m");   // default foreground, keeping inverse and bold
        }
        if (columns > fixed)
            screen.append(printable(body, columns - fixed));
        line_end();
    }

    // Help, or the search prompt; the selected notification's actions first.
    std::string actions;
    if (!list.empty())
        for (std::size_t i = 0; i < list[at]->actions.size(); ++i)
            actions += fmt::format("{} {}  ", i + 1, list[at]->actions[i].label);
    if (typing_)
        screen.append(bold).append(printable("Search: " + input_ + "_   (Enter: apply, Esc: cancel)", columns));
    else if (!actions.empty())
        screen.append(bold).append(printable("Actions: " + actions + "| j/k move  r read  d dismiss  q quit", columns));
    else
        screen.append(dim).append(printable(
            "j/k move  r read  a all read  d dismiss  C clear all  f filter  / search  Esc clear search  q quit",
            columns));
    screen.append(reset).append(clear_line).append("\x1b[J");
    return screen;
}

raw_terminal::raw_terminal(int in, int out) : in_(in), out_(out)
{
    if (::tcgetattr(in_, &saved_) != 0)
        throw std::system_error(errno, std::generic_category(), "the terminal");
    termios raw = saved_;
    raw.c_iflag &= static_cast<tcflag_t>(~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON));
    raw.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHONL | ICANON | ISIG | IEXTEN));
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(in_, TCSAFLUSH, &raw) != 0)
        throw std::system_error(errno, std::generic_category(), "the terminal's raw mode");
    // The alternate screen keeps the shell's screen intact; the cursor stays hidden while drawing.
    write("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
}

raw_terminal::~raw_terminal()
{
    write("\x1b[0m\x1b[?25h\x1b[?1049l");
    ::tcsetattr(in_, TCSAFLUSH, &saved_);
}

std::pair<int, int> raw_terminal::size() const
{
    winsize ws{};
    if (::ioctl(out_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
        return {ws.ws_col, ws.ws_row};
    return {80, 24};
}

void raw_terminal::write(std::string_view bytes) const
{
    while (!bytes.empty()) {
        ssize_t const n = ::write(out_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;   // the terminal is gone; nothing useful to do
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace nc
