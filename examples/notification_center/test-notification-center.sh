#!/usr/bin/env bash
# Tests sse-notification-center against the real sse-server on loopback: notifications
# are received and written to the store before they are printed; after kill -9 and a
# restart, what was published meanwhile arrives and nothing is doubled; after a restart
# of the server the program reconnects and gets later events; auto-dismissal; a corrupt
# store is moved aside; https with --cacert, with --insecure, and an untrusted certificate
# (when openssl is there to make one). Then the terminal interface, driven through tmux:
# the list, mark read, mark all read, dismiss, the type filter, search, and q.
#
#   examples/notification_center/test-notification-center.sh path/to/sse-server path/to/sse-notification-center
#
# Exits 0 when every check passes, 1 otherwise (the logs are printed), 77 when tmux or
# curl is missing. Every process it starts is killed on exit. KEEP_NC_TEST_DIR=1 keeps
# the temporary directory.
set -euo pipefail

server=${1:?usage: test-notification-center.sh path/to/sse-server path/to/sse-notification-center}
center=${2:?usage: test-notification-center.sh path/to/sse-server path/to/sse-notification-center}
for program in "$server" "$center"; do
    [[ -x $program ]] || { echo "test-notification-center: no executable at $program" >&2; exit 1; }
done
for tool in curl tmux; do
    command -v "$tool" >/dev/null ||
        { echo "test-notification-center: SKIPPED, $tool not found (scripts/install-deps test)"; exit 77; }
done

dir=$(mktemp -d /tmp/nc-test.XXXXXX)
socket=nc-test-$$-$RANDOM   # a tmux server of our own: never the user's
server_pid=
center_pid=
cleanup() {
    {
        for p in $center_pid $server_pid; do kill -KILL "$p" || true; done
        tmux -L "$socket" kill-server || true
        wait || true
    } 2>/dev/null
    [[ -n ${KEEP_NC_TEST_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# check NAME COMMAND...: counts in $passed and $failed.
source "$(dirname "${BASH_SOURCE[0]}")/../../tests/support/check.sh"

# wait_for FILE REGEX [SECONDS]: until a line of FILE matches REGEX.
wait_for() {
    local tries=$((${3:-10} * 10))
    for _ in $(seq "$tries"); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "       gave up waiting for /$2/ in $1:"
    sed 's/^/         /' "$1" 2>/dev/null || true
    return 1
}

# wait_count FILE REGEX N [SECONDS]: until N lines of FILE match REGEX.
wait_count() {
    local tries=$((${4:-10} * 10))
    for _ in $(seq "$tries"); do
        [[ $(count "$1" "$2") -ge $3 ]] && return 0
        sleep 0.1
    done
    echo "       gave up waiting for $3 lines matching /$2/ in $1:"
    sed 's/^/         /' "$1" 2>/dev/null || true
    return 1
}

# count FILE REGEX: lines of FILE that match.
count() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }

# equals A B: prints both when they differ.
equals() {
    [[ $1 == "$2" ]] && return 0
    echo "       got '$1', expected '$2'"
    return 1
}

# ---- the server ----------------------------------------------------------------------

# start_server PORT: 0 for any free port; sets port and url from what the server prints.
start_server() {
    : > "$dir/server.out"
    "$server" --host 127.0.0.1 --port "$1" --log-level warn --heartbeat-ms 2000 \
        >"$dir/server.out" 2>>"$dir/server.err" &
    server_pid=$!
    for _ in $(seq 100); do
        if grep -q 'demo page at http://127.0.0.1:[0-9]*/' "$dir/server.out" 2>/dev/null; then
            port=$(sed -n 's|.*demo page at http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$dir/server.out" | head -n 1)
            url=http://127.0.0.1:$port
            return 0
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "test-notification-center: sse-server did not start" >&2
    cat "$dir/server.out" "$dir/server.err" >&2
    exit 1
}

stop_server() {
    kill -TERM "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# publish USER TYPE TITLE [DURATION]: prints the id the server gave the event.
publish() {
    local body
    body=$(printf '{"event":"notification","userIds":["%s"],"data":{"notificationType":"%s","title":"%s","message":"about %s","duration":%d}}' \
        "$1" "$2" "$3" "$3" "${4:-0}")
    curl -sf --max-time 10 -d "$body" "$url/api/sse/publish" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'
}

# ---- the program in --json mode ------------------------------------------------------

store=$dir/store.json

# start_center OUT: runs the program for alice, its JSON lines in OUT.
start_center() {
    "$center" --json --user alice --store "$store" "$url/api/sse" >"$1" 2>>"$dir/center.err" &
    center_pid=$!
}

# stored ID: how many notifications with this id the store file holds.
stored() { count "$store" "^ *\"id\": \"$1\",?$"; }
stored_total() { count "$store" '^ *"id": '; }
last_event_id() { sed -n 's/^ *"lastEventId": "\(.*\)",*$/\1/p' "$store"; }

start_server 0
first_port=$port
start_center "$dir/run1.out"
check "the program connects" wait_for "$dir/run1.out" '"change":"state","state":"open"'

a1=$(publish alice success "Order shipped")
a2=$(publish alice error "Payment failed")
a3=$(publish bob info "Not for alice")
a4=$(publish alice warning "Disk almost full")
check "the server took four events" test -n "$a1" -a -n "$a2" -a -n "$a3" -a -n "$a4"
check "received: the last one" wait_for "$dir/run1.out" "\"change\":\"received\".*\"id\":\"$a4\""
# Written before printed: once the line is out, the file has it.
check "written to the store before it was printed" equals "$(stored "$a4")" 1
check "received each of alice's once, in order" equals \
    "$(sed -n 's/.*"change":"received".*"id":"\([^"]*\)".*/\1/p' "$dir/run1.out" | tr '\n' ' ')" "$a1 $a2 $a4 "
check "the fields arrive as published" grep -q \
    "\"change\":\"received\",\"duration\":0,\"id\":\"$a2\",\"message\":\"about Payment failed\",\"read\":false,\"received\":[0-9]*,\"title\":\"Payment failed\",\"type\":\"error\",\"unread\":2" \
    "$dir/run1.out"
check "another user's notification is not there" equals "$(stored "$a3")" 0
check "the store holds three" equals "$(stored_total)" 3
check "the store holds the stream position" equals "$(last_event_id)" "$a4"

# ---- kill -9, publish meanwhile, restart ---------------------------------------------

kill -KILL "$center_pid"
wait "$center_pid" 2>/dev/null || true
center_pid=
b1=$(publish alice info "While down one")
b2=$(publish alice success "While down two")
start_center "$dir/run2.out"
check "after kill -9 the store is restored" \
    wait_for "$dir/run2.out" '"change":"restored","count":3,"lastEventId":"'"$a4"'","unread":3'
check "what was published meanwhile arrives" wait_for "$dir/run2.out" "\"change\":\"received\".*\"id\":\"$b2\""
sleep 0.5   # room for a double to show up
check "only what was published meanwhile is received" equals \
    "$(sed -n 's/.*"change":"received".*"id":"\([^"]*\)".*/\1/p' "$dir/run2.out" | tr '\n' ' ')" "$b1 $b2 "
for id in "$a1" "$a2" "$a4" "$b1" "$b2"; do
    check "$id is stored exactly once" equals "$(stored "$id")" 1
done
check "five in all" equals "$(stored_total)" 5

# ---- the server restarts -------------------------------------------------------------

stop_server
check "the program notices the server is gone" wait_for "$dir/run2.out" '"change":"state",.*"state":"waiting"'
start_server "$first_port"
# Published before the program is back, most likely: it comes through the replay of this run.
c1=$(publish alice info "After the server restart")
check "the program reconnects" wait_count "$dir/run2.out" '"change":"state","state":"open"' 2 60
check "the event published around the reconnect arrives" \
    wait_for "$dir/run2.out" "\"change\":\"received\".*\"id\":\"$c1\"" 30
c2=$(publish alice warning "Live after the restart")
check "a later event arrives" wait_for "$dir/run2.out" "\"change\":\"received\".*\"id\":\"$c2\""
sleep 0.5
check "nothing received twice over the server restart" equals \
    "$(sed -n 's/.*"change":"received".*"id":"\([^"]*\)".*/\1/p' "$dir/run2.out" | sort | uniq -d | wc -l)" 0
for id in "$a1" "$a2" "$a4" "$b1" "$b2" "$c1" "$c2"; do
    check "$id is stored exactly once after the server restart" equals "$(stored "$id")" 1
done

# kill -9 again, against the restarted server: resumes from its ids, doubles nothing.
kill -KILL "$center_pid"
wait "$center_pid" 2>/dev/null || true
d1=$(publish alice error "While down again")
start_center "$dir/run3.out"
check "the second restart gets the event published meanwhile" \
    wait_for "$dir/run3.out" "\"change\":\"received\".*\"id\":\"$d1\""
sleep 0.5
check "and only that one" equals "$(count "$dir/run3.out" '"change":"received"')" 1
check "eight stored, each once" equals "$(stored_total)" 8

# ---- auto-dismissal ------------------------------------------------------------------

e1=$(publish alice info "Short-lived" 800)
check "a notification with a duration arrives" wait_for "$dir/run3.out" "\"change\":\"received\".*\"id\":\"$e1\""
check "and expires after it" wait_for "$dir/run3.out" "\"change\":\"expired\",\"id\":\"$e1\"" 5
check "an expired notification leaves the store" equals "$(stored "$e1")" 0

# ---- a corrupt store -------------------------------------------------------------------

kill -TERM "$center_pid"
rc=0
wait "$center_pid" || rc=$?
center_pid=
check "SIGTERM stops the program (143)" equals "$rc" 143
printf '{"format":"sse-notification-center/1","notifications":[{"id":' > "$store"
: > "$dir/center.err"
start_center "$dir/run4.out"
check "a corrupt store: a warning on stderr" wait_for "$dir/center.err" "warning: .*store.json is corrupt.*moved it to"
check "a corrupt store: the program starts empty" \
    wait_for "$dir/run4.out" '"change":"restored","count":0,"lastEventId":"","unread":0'
aside=$(ls "$dir"/store.json.corrupt-* 2>/dev/null | head -n 1)
check "a corrupt store: moved aside, intact" test -n "$aside" -a "$(cat "${aside:-/dev/null}")" = \
    '{"format":"sse-notification-center/1","notifications":[{"id":'
check "a corrupt store: the program runs on" wait_for "$dir/run4.out" '"change":"state","state":"open"'
f1=$(publish alice success "After the corrupt store")
check "a corrupt store: new notifications arrive" wait_for "$dir/run4.out" "\"change\":\"received\".*\"id\":\"$f1\""
check "a corrupt store: and are stored" equals "$(stored_total)" 1
kill -TERM "$center_pid"
wait "$center_pid" 2>/dev/null || true
center_pid=
check "no temporary file is left" equals "$(ls -A "$dir" | grep -c '\.tmp-' || true)" 0

# ---- https ----------------------------------------------------------------------------

if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log"
    plain_pid=$server_pid
    "$server" --host 127.0.0.1 --port 0 --log-level warn --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" \
        >"$dir/tls-server.out" 2>>"$dir/server.err" &
    server_pid="$plain_pid $!"
    wait_for "$dir/tls-server.out" 'demo page at https://127.0.0.1:[0-9]+/' >/dev/null
    https_url=$(sed -n 's|.*demo page at \(https://127.0.0.1:[0-9]*\)/.*|\1|p' "$dir/tls-server.out" | head -n 1)
    tls_publish() {
        curl -sf --max-time 10 --cacert "$dir/cert.pem" -d \
            '{"event":"notification","userIds":["dave"],"data":{"notificationType":"info","title":"'"$1"'","message":"m"}}' \
            "$https_url/api/sse/publish" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p'
    }
    for how in --cacert --insecure; do
        args=(--cacert "$dir/cert.pem")
        [[ $how == --insecure ]] && args=(--insecure)
        "$center" --json --user dave --store "$dir/tls$how.json" "${args[@]}" "$https_url/api/sse" \
            >"$dir/tls$how.out" 2>>"$dir/center.err" &
        center_pid=$!
        check "https with $how: the stream opens" wait_for "$dir/tls$how.out" '"change":"state","state":"open"'
        g1=$(tls_publish "Over TLS $how")
        check "https with $how: notifications arrive" \
            wait_for "$dir/tls$how.out" "\"change\":\"received\".*\"id\":\"$g1\".*\"title\":\"Over TLS $how\""
        kill -TERM "$center_pid"
        wait "$center_pid" 2>/dev/null || true
        center_pid=
    done
    rc=0
    timeout 20 "$center" --json --user dave --store "$dir/tls-untrusted.json" "$https_url/api/sse" \
        >"$dir/tls-untrusted.out" 2>>"$dir/center.err" || rc=$?
    check "https with an untrusted certificate fails with status 1" equals "$rc" 1
    check "and says why" grep -q '"change":"state","reason":"[^"]*certificate verify failed[^"]*","state":"failed"' \
        "$dir/tls-untrusted.out"
else
    echo "skip https checks: openssl not found"
fi

# ---- the terminal interface, through tmux --------------------------------------------

tui_store=$dir/tui.json
screen() { tmux -L "$socket" capture-pane -p -t nc 2>/dev/null || true; }
# wait_screen REGEX [SECONDS]: until the screen shows a line matching REGEX.
wait_screen() {
    local tries=$((${2:-10} * 10))
    for _ in $(seq "$tries"); do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.1
    done
    echo "       gave up waiting for /$1/ on the screen:"
    screen | sed 's/^/         /'
    return 1
}
keys() { tmux -L "$socket" send-keys -t nc "$@"; }
not_on_screen() {
    if screen | grep -Eq -- "$1"; then
        echo "       /$1/ is still on the screen:"
        screen | sed 's/^/         /'
        return 1
    fi
}

tmux -L "$socket" -f /dev/null new-session -d -s nc -x 120 -y 40 \
    "'$center' --user carol --store '$tui_store' '$url/api/sse'; echo \$? > '$dir/tui.rc'"
check "the interface shows the connection" wait_screen '^Notifications +\[open\] +0 unread, 0 kept'
t1=$(publish carol success "Alpha deployed")
t2=$(publish carol error "Bravo failed")
t3=$(publish carol info "Charlie says hello")
check "the list shows three unread" wait_screen '3 unread, 3 kept'
check "newest first, selected" wait_screen '^> \* [0-9:]{8} INFO +Charlie says hello  about Charlie says hello'
check "each with its type" wait_screen '^  \* [0-9:]{8} SUCCESS Alpha deployed'
keys r
check "r marks the selected one read" wait_screen '2 unread, 3 kept'
check "the read one loses its mark" wait_screen '^>   [0-9:]{8} INFO +Charlie'
check "read is stored" grep -Eq '"read": true' "$tui_store"
keys j d
check "d dismisses the selected one" wait_screen '1 unread, 2 kept'
check "the dismissed one is gone" not_on_screen 'Bravo'
check "the dismissal is stored" equals "$(count "$tui_store" "^ *\"id\": \"$t2\",?$")" 0
keys a
check "a marks all read" wait_screen '0 unread, 2 kept'
keys f
check "f filters by type: success" wait_screen 'filter: success'
check "the filter shows only that type" wait_screen 'SUCCESS Alpha deployed'
check "the filter hides the others" not_on_screen 'Charlie'
keys f f f
check "f cycles to info" wait_screen 'filter: info'
check "info shows Charlie only" wait_screen 'INFO +Charlie'
check "the info filter hides Alpha" not_on_screen 'Alpha'
keys f
check "f cycles back to all" wait_screen 'filter: all'
keys /
keys -l ALP
check "/ opens the search prompt" wait_screen '^Search: ALP_'
keys Enter
check "Enter applies the search" wait_screen 'search: "ALP"'
check "the search finds Alpha, ignoring case" wait_screen 'SUCCESS Alpha deployed'
check "the search hides Charlie" not_on_screen 'Charlie'
keys Escape
check "Escape clears the search" wait_screen 'search: -'
check "both are back" wait_screen 'Charlie says hello'
t4=$(publish carol warning "Delta arrives live")
check "a live notification appears" wait_screen 'WARNING Delta arrives live'
check "and counts as unread" wait_screen '1 unread, 3 kept'
keys q
for _ in $(seq 50); do [[ -s $dir/tui.rc ]] && break; sleep 0.1; done
check "q quits with status 0" equals "$(cat "$dir/tui.rc" 2>/dev/null)" 0
check "the store keeps what the interface did" test "$(count "$tui_store" '^ *"id": ')" = 3 -a \
    "$(count "$tui_store" '"read": false')" = 1
: "${t1:?}${t3:?}${t4:?}"

echo "notification-center: $passed passed, $failed failed"
if [[ $failed -gt 0 ]]; then
    echo "---- sse-server stderr (last 40 lines) ----"
    tail -n 40 "$dir/server.err" 2>/dev/null || true
    echo "---- sse-notification-center stderr ----"
    cat "$dir/center.err" 2>/dev/null || true
    exit 1
fi
