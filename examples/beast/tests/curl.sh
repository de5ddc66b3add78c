#!/usr/bin/env bash
# Drives a real sse-beast with curl, on loopback, port 0 read back from what it prints.
#
#   examples/beast/tests/curl.sh path/to/sse-beast
#
# Covers: /events answers 200 with Content-Type text/event-stream and the events
# published through /publish arrive exactly as the SSE format writes them, only
# those of the topics asked for; Beast's routes keep the connection alive, and a
# stream may follow them on it; a client that goes away leaves the hub; resuming
# with Last-Event-ID (or ?lastEventId) gets exactly the missed events, then live
# ones, nothing twice; bytes pipelined after GET /events do not reach the stream;
# SIGTERM gives a connected client the final message and the server exits 0
# promptly, an idle keep-alive connection notwithstanding.
# Exits 77 (skipped, for CTest) when curl is missing.
set -euo pipefail

server=${1:-}
if [[ -z $server || ! -x $server ]]; then
    echo "usage: $0 path/to/sse-beast" >&2
    exit 2
fi
if ! command -v curl >/dev/null; then
    echo "skipped: curl is missing (scripts/install-deps test)" >&2
    exit 77
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    if [[ -e $work/server.err ]]; then
        echo "--- server stderr ---" >&2
        tail -20 "$work/server.err" >&2
    fi
    exit 1
}

# wait_for WHAT COMMAND...: runs COMMAND every 50 ms until it succeeds, for 10 s at most.
wait_for() {
    local what=$1
    shift
    for ((i = 0; i < 200; i++)); do
        if "$@"; then
            return 0
        fi
        sleep 0.05
    done
    fail "timed out waiting for $what"
}

start_server() {
    "$server" >"$work/server.out" 2>"$work/server.err" &
    server_pid=$!
    pids+=("$server_pid")
    wait_for "sse-beast to print its URL" grep -q '^listening on http://127.0.0.1:[0-9]*/$' "$work/server.out"
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$work/server.out")
    base=http://127.0.0.1:$port
}

# stat_of NAME: a number from GET /stats.
stat_of() {
    curl -sf "$base/stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}
subscribers_are() { [[ $(stat_of subscribers) == "$1" ]]; }

# publish TOPIC DATA: POST /publish; prints the event's id.
publish() {
    local answer
    answer=$(curl -sf --data-binary "$2" "$base/publish?topic=$1") || fail "publish to $1 failed"
    sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$answer"
}

# body FILE: the stream's bytes without heartbeats (":" comment blocks, which the
# stream writes when idle for a while: a slow run may see one).
body() {
    local text
    text=$(cat "$1" && echo .)
    text=${text%.}
    while [[ $text == *$'\n\n:\n\n'* ]]; do
        text=${text//$'\n\n:\n\n'/$'\n\n'}
    done
    printf '%s' "$text"
}

# open_stream NAME URL [curl args...]: a curl reading the stream in the background;
# body to $work/NAME, head to $work/NAME.head, pid in $curl_pid.
open_stream() {
    local name=$1 url=$2
    shift 2
    curl -sN -D "$work/$name.head" -o "$work/$name" "$@" "$url" &
    curl_pid=$!
    pids+=("$curl_pid")
}

# expect_body NAME EXPECTED...: waits until the stream NAME holds exactly the
# EXPECTED pieces, joined.
expect_body() {
    local name=$1 want
    shift
    printf -v want '%s' "$@"
    body_is() { [[ -e $work/$name && $(body "$work/$name"; echo .) == "$want." ]]; }
    if ! (wait_for "the stream $name" body_is) 2>/dev/null; then
        echo "stream $name: expected" >&2
        printf '%s' "$want" | od -c | head -20 >&2
        echo "got" >&2
        body "$work/$name" | od -c | head -20 >&2
        fail "stream $name is not what was published"
    fi
}

stop_curl() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

start_server
echo "sse-beast on $base"

# ---- the stream's head and events; Beast's routes around it -------------------------

# One connection: a Beast route, then the stream on the same (kept-alive) connection.
curl -sN -w '%{num_connects} ' -D "$work/first.head" -o "$work/stats-first" "$base/stats" \
    -o "$work/first" "$base/events?topics=news,extra" >"$work/first.connects" &
first=$!
pids+=("$first")
wait_for "the first subscriber" subscribers_are 1
grep -q '"subscribers":0' "$work/stats-first" || fail "/stats before the stream: $(cat "$work/stats-first")"
# -D holds both heads: /stats's, then the stream's.
awk 'BEGIN { RS = "\r\n\r\n" } NR == 2' "$work/first.head" >"$work/events.head"
grep -q '^HTTP/1\.1 200' "$work/events.head" || fail "/events: $(cat "$work/events.head")"
grep -qi '^content-type: text/event-stream' "$work/events.head" || fail "/events has no text/event-stream type"
grep -qi '^cache-control: no-cache' "$work/events.head" || fail "/events may be cached"

id1=$(publish news "one")
id2=$(publish news $'two\nlines')
publish sports "not for this stream" >/dev/null
id3=$(publish extra "three")
[[ -n $id1 && $id1 != "$id2" && $id2 != "$id3" ]] || fail "ids not distinct: '$id1' '$id2' '$id3'"
expect_body first "retry: 3000"$'\n\n'\
    "id: $id1"$'\ndata: one\n\n'\
    "id: $id2"$'\ndata: two\ndata: lines\n\n'\
    "id: $id3"$'\ndata: three\n\n'

# POST /disconnect ends the stream: curl's second transfer then completes, and
# says how many connections it opened for it.
ended=$(curl -sf -X POST "$base/disconnect")
[[ $ended == '{"ended":1}' ]] || fail "/disconnect answered $ended"
stopped=0
wait "$first" || stopped=$?
[[ $stopped == 0 ]] || fail "curl saw the stream end with status $stopped"
[[ $(cat "$work/first.connects") == "1 0 " ]] ||
    fail "GET /stats then GET /events: connects per request were '$(cat "$work/first.connects")'"
wait_for "the hub to forget the ended stream" subscribers_are 0
echo "ok - head, events byte-exact, topics, /stats then /events on one connection, /disconnect"

# Beast's routes keep the connection alive: one connect for three requests.
connects=$(curl -s -w '%{num_connects} ' -o /dev/null "$base/stats" -o /dev/null "$base/stats" -o /dev/null "$base/")
[[ $connects == "1 0 0 " ]] || fail "keep-alive: connects per request were '$connects'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/no-such-route")
[[ $code == 404 ]] || fail "an unknown route answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d x "$base/publish?topic=%zz")
[[ $code == 400 ]] || fail "a bad query escape answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -d x "$base/publish?%zz=news&topic=news")
[[ $code == 400 ]] || fail "a bad escape in a parameter's name answered $code"
echo "ok - Beast's routes: keep-alive, 404, 400"

# ---- resumption and disconnect detection --------------------------------------------

# Missed while away.
id4=$(publish news "four")
id5=$(publish news "five")
open_stream resumed "$base/events?topics=news,extra" -H "Last-Event-ID: $id3"
wait_for "the resumed subscriber" subscribers_are 1
id6=$(publish news "six")
expect_body resumed "retry: 3000"$'\n\n'\
    "id: $id4"$'\ndata: four\n\n'\
    "id: $id5"$'\ndata: five\n\n'\
    "id: $id6"$'\ndata: six\n\n'
echo "ok - Last-Event-ID: the missed events, then live ones, each once"

stop_curl "$curl_pid"
wait_for "the hub to see the client leave" subscribers_are 0
# docs/serving.md: a peer that closes or vanishes ends its stream with error::peer_closed.
peer_closed() { grep -q '^stream [0-9]* ended: client closed the connection or vanished' "$work/server.err"; }
wait_for "the stream's end to be reported as the client's" peer_closed
echo "ok - a client that leaves is unsubscribed, as peer_closed"

# The query form that pages and polyfills use; the header wins over it.
open_stream by-query "$base/events?topics=news&lastEventId=$id4"
expect_body by-query "retry: 3000"$'\n\n'"id: $id5"$'\ndata: five\n\n'"id: $id6"$'\ndata: six\n\n'
stop_curl "$curl_pid"
open_stream both "$base/events?topics=news&lastEventId=$id1" -H "Last-Event-ID: $id5"
expect_body both "retry: 3000"$'\n\n'"id: $id6"$'\ndata: six\n\n'
stop_curl "$curl_pid"
wait_for "the clients to leave" subscribers_are 0
echo "ok - ?lastEventId resumes too; Last-Event-ID wins"

# ---- bytes Beast read past the request -------------------------------------------

# GET /events with a second request pipelined behind it, in one write: Beast has
# both in its buffer when it hands the first over. The second can never be
# answered (the stream ends only with the connection); its bytes must not corrupt
# the stream.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /events?topics=news HTTP/1.1\r\nHost: x\r\n\r\nGET /stats HTTP/1.1\r\nHost: x\r\n\r\n' >&3
cat <&3 >"$work/pipelined" &
reader=$!
pids+=("$reader")
wait_for "the pipelining subscriber" subscribers_are 1
id7=$(publish news "seven")
has_seven() { grep -q '^data: seven$' "$work/pipelined"; }
wait_for "the event on the pipelining connection" has_seven
exec 3>&-
statuses=$(grep -c '^HTTP/' "$work/pipelined")
[[ $statuses == 1 ]] || fail "the pipelining connection got $statuses status lines"
# Everything after the head is the stream.
stream_part=$(awk 'BEGIN { RS = "\r\n\r\n" } NR > 1' "$work/pipelined")
[[ $stream_part == "retry: 3000"$'\n\n'"id: $id7"$'\ndata: seven' ]] ||
    fail "pipelined stream: $(od -c <<<"$stream_part" | head)"
stop_curl "$reader"
wait_for "the pipelining client to leave" subscribers_are 0
echo "ok - a pipelined request does not reach the stream"

# ---- graceful shutdown ------------------------------------------------------------

open_stream last "$base/events?topics=news"
last_pid=$curl_pid
wait_for "the last subscriber" subscribers_are 1
# A keep-alive connection waiting for its next request must not hold the shutdown up.
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /stats HTTP/1.1\r\nHost: x\r\n\r\n' >&4
read -r -t 10 -u 4 status_line || fail "no answer to /stats on the connection kept alive"
[[ $status_line == "HTTP/1.1 200 OK"$'\r' ]] || fail "/stats answered $status_line"
kill -TERM "$server_pid"
curl_gone() { ! kill -0 "$last_pid" 2>/dev/null; }
wait_for "curl to see the stream end" curl_gone
final=$(body "$work/last" && echo .)
final=${final%.}
[[ $final =~ ^"retry: 3000"$'\n\n'": server shutting down"$'\n'"retry: "([0-9]+)$'\n\n'$ ]] ||
    fail "the final message: $(od -c <<<"$final" | head)"
retry=${BASH_REMATCH[1]}
((retry >= 1000 && retry <= 10000)) || fail "the final retry $retry is outside [1000, 10000]"
server_gone() { ! kill -0 "$server_pid" 2>/dev/null; }
wait_for "sse-beast to exit" server_gone
status=0
wait "$server_pid" || status=$?
[[ $status == 0 ]] || fail "sse-beast exited with $status"
exec 4>&-
echo "ok - SIGTERM: final message with retry $retry, exit 0"

# A sanitized build reports what it found on stderr, and may still exit 0.
if grep -q -e 'runtime error' -e 'Sanitizer' "$work/server.err"; then
    fail "the sanitizers reported errors"
fi
