#!/usr/bin/env bash
# curl.sh - sse-httplib against curl: the stream's head, events by topic,
# heartbeat comments, resuming with Last-Event-ID (and ?lastEventId) with
# exactly the missed events, a killed client noticed and its subscription gone,
# the cap on streams leaving workers for other routes, and a graceful shutdown
# that ends every stream with its final message.
#
#   examples/httplib/tests/curl.sh path/to/sse-httplib
#
# Each server is started on a free loopback port (--port 0) and stopped on every
# way out. Exits 77 (skipped, for CTest) when curl is missing.
set -euo pipefail

binary=${1:?usage: $0 path/to/sse-httplib}
if ! command -v curl >/dev/null; then
    echo "skipped: curl is missing (scripts/install-deps test)" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sse-httplib-curl.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.log; do
        [[ -e $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

# wait_for DESCRIPTION COMMAND...: until COMMAND succeeds, for at most 15 s. The
# server and curl are other processes: there is nothing to block on but their output.
wait_for() {
    local what=$1
    shift
    local deadline=$((SECONDS + 15))
    until "$@"; do
        ((SECONDS < deadline)) || fail "timed out waiting for $what"
        sleep 0.05
    done
}

# start_server NAME [flags...]: starts sse-httplib on a free port; sets $base and $server.
start_server() {
    local name=$1
    shift
    "$binary" --port 0 "$@" >"$work/$name.out" 2>"$work/$name.log" &
    server=$!
    pids+=("$server")
    wait_for "$name to listen" grep -qs "listening on" "$work/$name.out"
    base=$(sed -n 's|^listening on \(http://127.0.0.1:[0-9]*\)/events$|\1|p' "$work/$name.out")
    [[ -n $base ]] || fail "no address in $(cat "$work/$name.out")"
}

# open_stream NAME PATH [curl args...]: a streaming curl in the background; its head
# goes to NAME.head, its body to NAME.body; sets $stream to its pid.
open_stream() {
    local name=$1 path=$2
    shift 2
    : >"$work/$name.body"
    curl -sSN -D "$work/$name.head" -o "$work/$name.body" "$@" "$base$path" 2>"$work/$name.curl.log" &
    stream=$!
    pids+=("$stream")
}

# kill_stream PID: kills a streaming curl, as a client that vanishes.
kill_stream() {
    kill -9 "$1"
    wait "$1" 2>/dev/null || true
}

stat_of() { curl -sS "$base/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
stat_is() { [[ $(stat_of "$1") == "$2" ]]; }

# publish TOPIC DATA: prints the id the hub gave the event.
publish() {
    local answer
    answer=$(curl -sS -H "Content-Type: text/plain" -d "$2" "$base/publish?topic=$1")
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$answer"
}

# The data lines of a body, one per line, without "data: ".
data_of() { sed -n 's/^data: //p' "$work/$1.body"; }
count_data() { [[ $(data_of "$1" | wc -l) -ge $2 ]]; }
ids_of() { sed -n 's/^id: //p' "$work/$1.body"; }

echo "== head, events by topic, heartbeats"
start_server main --heartbeat-ms 200 --retry-ms 500
open_stream a "/events?topics=t"
wait_for "the first subscriber" stat_is subscribers 1
id1=$(publish t one)
publish u elsewhere >/dev/null
id2=$(publish t two)
wait_for "two events" count_data a 2
tr -d '\r' <"$work/a.head" >"$work/a.head.txt"
grep -qx "HTTP/1.1 200 OK" "$work/a.head.txt" || fail "status: $(cat "$work/a.head.txt")"
grep -qix "content-type: text/event-stream" "$work/a.head.txt" || fail "content type: $(cat "$work/a.head.txt")"
grep -qix "cache-control: no-cache" "$work/a.head.txt" || fail "cache control: $(cat "$work/a.head.txt")"
grep -qix "transfer-encoding: chunked" "$work/a.head.txt" || fail "not chunked: $(cat "$work/a.head.txt")"
[[ $(head -n 1 "$work/a.body") == "retry: 500" ]] || fail "the stream does not start with its retry: $(head -n 2 "$work/a.body")"
[[ $(data_of a | tr '\n' ' ') == "one two " ]] || fail "events: $(cat "$work/a.body")"
[[ $(ids_of a | tr '\n' ' ') == "$id1 $id2 " ]] || fail "ids: $(ids_of a) instead of $id1 $id2"
# A heartbeat is the comment ":" alone on its line, then a blank line.
wait_for "a heartbeat" grep -qx ":" "$work/a.body"

echo "== a killed client is noticed: its subscription leaves the hub"
kill_stream "$stream"
wait_for "the killed client's subscription to go" stat_is subscribers 0
wait_for "its stream to end" stat_is streams 0
grep -q "the client went away" "$work/main.log" || fail "no log line for the client that went away"

echo "== Last-Event-ID: exactly the missed events, then live ones"
open_stream b "/events?topics=t"
wait_for "a subscriber" stat_is subscribers 1
id3=$(publish t three)
wait_for "the event" count_data b 1
kill_stream "$stream"
wait_for "the subscription to go" stat_is subscribers 0
id4=$(publish t four)
id5=$(publish t five)
open_stream c "/events?topics=t" -H "Last-Event-ID: $id3"
c_pid=$stream
wait_for "the replay" count_data c 2
id6=$(publish t six)
wait_for "the live event" count_data c 3
[[ $(data_of c | tr '\n' ' ') == "four five six " ]] || fail "resumed stream: $(cat "$work/c.body")"
[[ $(ids_of c | tr '\n' ' ') == "$id4 $id5 $id6 " ]] || fail "resumed ids: $(ids_of c)"

echo "== ?lastEventId, for a page resuming from its storage"
open_stream d "/events?topics=t&lastEventId=$id4"
wait_for "the replay" count_data d 2
[[ $(data_of d | tr '\n' ' ') == "five six " ]] || fail "?lastEventId stream: $(cat "$work/d.body")"
d_pid=$stream

echo "== graceful shutdown: queued events, the final message, the end of the body"
kill -TERM "$server"
wait "$c_pid" || fail "curl saw no clean end of the stream (exit $?): $(cat "$work/c.curl.log")"
wait "$d_pid" || fail "curl saw no clean end of the second stream (exit $?): $(cat "$work/d.curl.log")"
last=$(tail -n 4 "$work/d.body")
grep -qx ": server shutting down" <<<"$last" || fail "no final comment on the second stream: $last"
last=$(tail -n 4 "$work/c.body")
grep -qx ": server shutting down" <<<"$last" || fail "no final comment: $last"
grep -qx "retry: [0-9]*" <<<"$last" || fail "no final retry: $last"
status=0
wait "$server" || status=$?
[[ $status == 0 ]] || fail "the server exited with $status"
grep -qx "stopped" "$work/main.log" || fail "the server did not stop cleanly"

echo "== the cap on streams keeps a worker for publishing"
start_server capped --max-streams 1 --heartbeat-ms 200
open_stream e "/events?topics=t"
wait_for "a subscriber" stat_is subscribers 1
code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/events?topics=t")
[[ $code == 503 ]] || fail "a stream over the cap got $code"
publish t capped >/dev/null
wait_for "the event" count_data e 1
kill -TERM "$server"
wait "$server" || fail "the capped server exited with $?"

echo "all passed"
