// terminal_ui.hpp - the live list of the notification center, drawn with ANSI escape codes.
//
// Three parts: key_decoder turns terminal input into keys; terminal_ui holds what the
// user looks at (selection, type filter, search) and turns keys into actions and the
// store into a screen; raw_terminal switches the terminal to raw mode and the
// alternate screen while it lives. The first two do no I/O, so tests drive them directly.
#ifndef NOTIFICATION_CENTER_TERMINAL_UI_HPP
#define NOTIFICATION_CENTER_TERMINAL_UI_HPP

#include "notification_store.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <termios.h>

namespace nc {

/// A key press as the interface understands it.
struct key
{
    enum code_type
    {
        character,   ///< `text` holds one character, UTF-8 encoded
        up,
        down,
        page_up,
        page_down,
        home,
        end,
        enter,
        escape,
        backspace,
        del,
        interrupt,   ///< Ctrl-C (raw mode turns off the signal)
        other,       ///< a control key or sequence without a meaning here
    };
    code_type code = other;
    std::string text;
};

/** Splits terminal input into keys: characters (UTF-8), arrows, Home/End, Page Up/Down,
    Delete (in their VT100 and xterm forms), Enter, Backspace, Escape and Ctrl-C.

    A sequence cut between two reads is completed by the next one; an ESC at the end of
    a read is the Escape key (terminals and tmux send a sequence in one write).
*/
class key_decoder
{
public:
    std::vector<key> feed(std::string_view bytes);

private:
    std::string pending_;   // an incomplete UTF-8 character
};

/// The connection as the status line shows it.
struct connection_status
{
    std::string state = "connecting";   ///< sse::to_string(source_state)
    std::string detail;                 ///< why, for waiting and failed
};

/// What a key asks the program to do with the store.
struct ui_action
{
    enum kind_type
    {
        none,            ///< nothing for the store; the view may have changed (redraw)
        mark_read,
        mark_all_read,
        dismiss,
        clear_all,
        pick_action,     ///< the user chose action number `action` of notification `id`
        quit,
    };
    kind_type kind = none;
    std::string id;           ///< the notification, for mark_read, dismiss and pick_action
    std::size_t action = 0;   ///< for pick_action: the index in notification::actions
};

/** What the user looks at: the selected notification, the type filter and the search.

    The selection stays on the newest notification while it is at the top of the list;
    further down it stays on its notification as new ones arrive.

    Keys: Up/Down (k/j), Page Up/Down, Home/End (g/G) move; r, Enter or Space marks the
    selected notification read, a marks all read; d or Delete dismisses; C clears all;
    1 to 5 pick that action of the selected notification (the help line lists them);
    f cycles the type filter (all, success, error, warning, info); / starts a search
    (type, Enter applies, Escape cancels; an empty search shows all); Escape clears the
    search; q or Ctrl-C quits.
*/
class terminal_ui
{
public:
    /// Applies `k` to the view, and says what the store should do.
    ui_action handle(key const& k, notification_store const& store);

    /** The whole screen for a terminal of `width` × `height` cells: the status line, the
        list (newest first, the selection highlighted) and a line of help or the search
        prompt. Every line is cleared to its end; text is cut to the width and stripped
        of control characters, so that a notification cannot move the cursor.
    */
    std::string render(notification_store const& store, connection_status const& status, int width,
                       int height) const;

    /// The notifications shown, newest first.
    std::vector<notification const*> visible(notification_store const& store) const;

    /// The selected notification's id; empty when the list is empty.
    std::string selected(notification_store const& store) const;

    std::optional<notification_type> filter() const noexcept { return filter_; }
    std::string const& search() const noexcept { return search_; }
    bool typing() const noexcept { return typing_; }

private:
    std::size_t selected_index(std::vector<notification const*> const& list) const;
    void select(std::vector<notification const*> const& list, std::size_t index);

    // At the top, the selection stays at the top: the newest notification. Elsewhere it
    // follows its notification when others arrive above it, and goes to the neighbour
    // when it disappears. Reading the view keeps these up to date.
    mutable std::string selected_id_;
    mutable std::size_t selected_pos_ = 0;
    bool at_top_ = true;
    mutable std::size_t top_ = 0;   // first row shown: render() scrolls to keep the selection visible
    std::optional<notification_type> filter_;
    std::string search_;
    bool typing_ = false;
    std::string input_;
    mutable int page_ = 10;   // rows of the list at the last render: Page Up/Down moves this far
};

/// Text for a terminal: control characters (C0, DEL, C1) become spaces; cut to `columns` cells.
std::string printable(std::string_view text, std::size_t columns);

/** Raw mode (no echo, no line editing, no signals from keys), the alternate screen and a
    hidden cursor, for as long as it lives; the destructor restores all three.
*/
class raw_terminal
{
public:
    /// Takes over the terminal on `in` and `out`. Throws std::system_error if `in` is not a terminal.
    raw_terminal(int in, int out);
    ~raw_terminal();
    raw_terminal(raw_terminal const&) = delete;
    raw_terminal& operator=(raw_terminal const&) = delete;

    /// Columns and rows; 80 × 24 if the terminal does not say.
    std::pair<int, int> size() const;

    /// Writes all of `bytes`.
    void write(std::string_view bytes) const;

private:
    int in_;
    int out_;
    termios saved_{};
};

} // namespace nc

#endif
