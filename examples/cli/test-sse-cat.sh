#!/usr/bin/env bash
# Tests sse-cat against real peers on loopback: nginx + nchan (publish, subscribe,
# resume, reconnect), plain nginx answers (204, 500, a redirect, text/plain, a one-shot
# stream that describes the request) and the nchan subscription over TLS, with a
# certificate made here. nginx runs from a temporary directory on free ports.
#
#   examples/cli/test-sse-cat.sh path/to/sse-cat
#
# Exits 0 when every check passes, 1 otherwise (nginx's logs are printed), 77 when
# nginx, its nchan module, curl or openssl is missing. nginx is stopped on
# every exit path. KEEP_SSE_CAT_DIR=1 keeps the temporary directory.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sse_cat=${1:?usage: test-sse-cat.sh path/to/sse-cat}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
modules=${NCHAN_MODULES:-/usr/lib/nginx/modules}

[[ -x $sse_cat ]] || { echo "test-sse-cat: no executable at $sse_cat" >&2; exit 1; }
for tool in curl openssl; do
    command -v "$tool" >/dev/null ||
        { echo "test-sse-cat: SKIPPED, $tool not found (scripts/install-deps test)"; exit 77; }
done
[[ -x $nginx && -f $modules/ngx_nchan_module.so ]] ||
    { echo "test-sse-cat: SKIPPED, nginx or ngx_nchan_module.so not found (scripts/install-deps test)"; exit 77; }

dir=$(mktemp -d /tmp/sse-cat-test.XXXXXX)
chmod 755 "$dir"   # nginx's worker may run as another user
master=
background=()
cleanup() {
    for p in "${background[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    if [[ -n $master ]] && kill -0 "$master" 2>/dev/null; then
        kill -TERM "$master" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$master" 2>/dev/null || true
        wait "$master" 2>/dev/null || true
    fi
    [[ -n ${KEEP_SSE_CAT_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port the kernel hands out now. Perl, not Python: perl-base is Essential on Debian,
# while python3 is only recommended by what install-deps installs without recommends.
free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"'
}
port=$(free_port)
tls_port=$(free_port)
while [[ $tls_port == "$port" ]]; do tls_port=$(free_port); done
http=http://127.0.0.1:$port
https=https://127.0.0.1:$tls_port

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>"$dir/openssl.log" ||
    { echo "test-sse-cat: openssl could not make a certificate:" >&2; cat "$dir/openssl.log" >&2; exit 1; }
sed -e "s|@PORT@|$port|g" -e "s|@TLS_PORT@|$tls_port|g" -e "s|@DIR@|$dir|g" -e "s|@MODULES@|$modules|g" \
    "$here/test-nginx.conf" > "$dir/nginx.conf"

show_logs() {
    echo "---- nginx stderr, error log (last 40 lines), access log (last 40 lines) ----"
    cat "$dir/stderr.log" 2>/dev/null || true
    tail -n 40 "$dir/error.log" 2>/dev/null || true
    tail -n 40 "$dir/access.log" 2>/dev/null || true
}

"$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 2>"$dir/stderr.log" &
master=$!
ready=
for _ in $(seq 100); do
    kill -0 "$master" 2>/dev/null || break
    if curl -s -o /dev/null --max-time 1 "$http/nocontent" &&
        curl -sk -o /dev/null --max-time 1 "$https/ready"; then
        ready=1
        break
    fi
    sleep 0.1
done
if [[ -z $ready ]]; then
    echo "test-sse-cat: nginx did not start on ports $port and $tls_port" >&2
    show_logs >&2
    exit 1
fi

# ---- helpers -------------------------------------------------------------------------

# check NAME COMMAND...: counts in $passed and $failed.
source "$here/../../tests/support/check.sh"

# sse ARGS...: runs sse-cat under a 20 s guard; sets rc, and its output is in $dir/out, $dir/err.
sse() {
    rc=0
    timeout -k 5 20 "$sse_cat" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
}

# expect NAME STATUS STDERR [LINE...]: the last sse run exited with STATUS and printed
# exactly the LINEs on stdout. STDERR is an extended regex stderr must match, "-" for
# an empty stderr, or "" for anything.
expect() {
    local name=$1 want_rc=$2 want_err=$3
    shift 3
    local problems=()
    if [[ $# -gt 0 ]]; then printf '%s\n' "$@" > "$dir/want"; else : > "$dir/want"; fi
    [[ $rc == "$want_rc" ]] || problems+=("exit status $rc, expected $want_rc")
    cmp -s "$dir/want" "$dir/out" || problems+=("stdout differs; expected:" "$(cat "$dir/want")")
    if [[ $want_err == - ]]; then
        [[ ! -s $dir/err ]] || problems+=("stderr is not empty")
    elif [[ -n $want_err ]]; then
        grep -Eq -- "$want_err" "$dir/err" || problems+=("stderr does not match /$want_err/")
    fi
    if [[ ${#problems[@]} -eq 0 ]]; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        printf '       %s\n' "${problems[@]}"
        echo "       stdout:"; sed 's/^/         /' "$dir/out"
        echo "       stderr:"; sed 's/^/         /' "$dir/err"
    fi
}

# start ARGS...: runs sse-cat in the background and sets pid. Its files are emptied here
# first: the child truncates them only once it runs, and until then wait_for would find
# the last run's "open (200)" and signal the forked shell before it runs sse-cat, and bash
# (5.2, with this script's traps) now and then loses a signal that comes then.
start() {
    : >"$dir/out"
    : >"$dir/err"
    "$sse_cat" "$@" >"$dir/out" 2>"$dir/err" &
    pid=$!
    background+=("$pid")
}

# reap: waits up to 20 s for $pid and sets rc to its status. One still running then is
# killed and rc says so, with its signal mask for the log: a hang fails the check here
# rather than stalling the suite until ctest's timeout.
reap() {
    rc=0
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "       sse-cat $pid still runs 20 s on; its signals:"
        grep -E '^Sig(Pnd|Blk|Ign|Cgt)|^ShdPnd' "/proc/$pid/status" | sed 's/^/         /' || true
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rc="still running after 20 s"
        return
    fi
    wait "$pid" || rc=$?
}

# publish CHANNEL BODY [TYPE]: prints the id nchan gave the message.
publish() {
    local extra=()
    [[ -n ${3:-} ]] && extra=(-H "X-EventSource-Event: $3")
    timeout 20 curl -sf -H 'Accept: text/json' "${extra[@]}" --data-binary "$2" "$http/pub/$1" |
        sed -n 's/.*"last_message_id": *"\([^"]*\)".*/\1/p'
}

# wait_for FILE REGEX: up to 10 s for a line matching REGEX in FILE.
wait_for() {
    for _ in $(seq 100); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "       gave up waiting for /$2/ in $1:" && sed 's/^/         /' "$1"
    return 1
}

# ---- events, resumption, redirects ------------------------------------------------------

# Quotes, a backslash, a tab and non-ASCII text; a message of several lines (nchan sends
# one data: line each, an empty one included); a typed event.
id1=$(publish main $'say "hi" \\ back\tthere: é ✓ 😀')
id2=$(publish main $'first line\nsecond line\n\nafter an empty line')
id3=$(publish main '{"n":3}' update)
check "nchan gave three different ids" test -n "$id1" -a -n "$id2" -a -n "$id3" -a "$id1" != "$id2" -a "$id2" != "$id3"
line1='{"type":"message","data":"say \"hi\" \\ back\tthere: é ✓ 😀","id":"'"$id1"'"}'
line2='{"type":"message","data":"first line\nsecond line\n\nafter an empty line","id":"'"$id2"'"}'
line3='{"type":"update","data":"{\"n\":3}","id":"'"$id3"'"}'

sse --max-events 3 "$http/sub/main"
expect "--max-events 3 prints three exact JSON lines and exits 0" 0 - "$line1" "$line2" "$line3"

sse --max-events 2 --last-event-id "$id1" "$http/sub/main"
expect "--last-event-id resumes after that event" 0 - "$line2" "$line3"

sse --max-events 3 "$http/redirect/main"
expect "a 302 redirect is followed" 0 - "$line1" "$line2" "$line3"

sse --no-reconnect "$http/brief/main"
expect "--no-reconnect: a stream the server ends cleanly exits 0" 0 - "$line1" "$line2" "$line3"

# The server ends the stream after 1 s; sse-cat reconnects with Last-Event-ID and gets
# only what is new.
start -v --max-events 4 --timeout 15 "$http/brief/main"
if wait_for "$dir/err" waiting; then
    id4=$(publish main 'after the reconnect')
fi
reap
expect "a reconnect resumes from the last event id, no duplicate" 0 "waiting: server ended the stream" \
    "$line1" "$line2" "$line3" '{"type":"message","data":"after the reconnect","id":"'"${id4:-}"'"}'

# Each line reaches a reader as it comes, not when sse-cat exits.
start -v "$http/sub/live"
live_id=
wait_for "$dir/err" "open \(200\)" && live_id=$(publish live 'now')
check "an event is written and flushed while the stream stays open" \
    wait_for "$dir/out" '^\{"type":"message","data":"now","id":"'"$live_id"'"\}$'
kill -INT "$pid"
reap
expect "SIGINT closes the stream and exits 130" 130 "" '{"type":"message","data":"now","id":"'"$live_id"'"}'

start -v "$http/sub/quiet"
wait_for "$dir/err" "open \(200\)" || true
kill -TERM "$pid"
reap
expect "SIGTERM closes the stream and exits 143" 143 ""

# ---- what the server answers ----------------------------------------------------------

sse --no-reconnect "$http/nocontent"
expect "204 with --no-reconnect exits 0 and prints nothing" 0 -
sse "$http/nocontent"
expect "204 ends it without --no-reconnect too" 0 -
sse --no-reconnect "$http/error"
expect "500 with --no-reconnect fails and names the status" 1 "server answered 500"
sse "$http/error"
expect "500 fails without --no-reconnect too (no reconnect)" 1 "server answered 500"
sse -v --retry-5xx --timeout 2 "$http/error"
expect "--retry-5xx reconnects after a 500 (until --timeout)" 124 "waiting: server answered 500.*reconnecting"
sse -v --timeout 3 "$http/busy"
expect "429 is retried after its Retry-After (until --timeout)" 124 "waiting: server answered 429.*reconnecting in 1000 ms"
sse --no-retry-429 "$http/busy"
expect "--no-retry-429 fails on a 429 and says how to retry" 1 "server answered 429.*drop --no-retry-429"
sse "$http/text"
expect "text/plain fails" 1 "Content-Type other than text/event-stream"
sse --no-reconnect "http://127.0.0.1:$(free_port)/"
expect "a refused connection with --no-reconnect fails" 1 "[Rr]efused"

publish big "$(head -c 3000 /dev/zero | tr '\0' x)" >/dev/null
sse --max-event-size 1000 "$http/sub/big"
expect "--max-event-size fails on a larger event" 1 "max-event-size"

# ---- the request: headers, Last-Event-ID, POST body -------------------------------------

sse --no-reconnect "$http/echo"
expect "a GET carries no body" 0 - '{"type":"request","data":"GET  \ntoken= last=","id":"echo-1"}'
sse --no-reconnect -H 'X-Token: abc' --last-event-id 41 --data '{"a":1}' "$http/echo"
expect "-H, --last-event-id and --data reach the server" 0 - \
    '{"type":"request","data":"POST application/json 7\ntoken=abc last=41","id":"echo-1"}'
printf 'hello' > "$dir/body.txt"
sse --no-reconnect -H 'Content-Type: text/plain' --data "@$dir/body.txt" "$http/echo"
expect "--data @FILE sends the file; -H Content-Type sets its type" 0 - \
    '{"type":"request","data":"POST text/plain 5\ntoken= last=","id":"echo-1"}'

# ---- TLS -------------------------------------------------------------------------------

sse --max-events 3 --cacert "$dir/cert.pem" "$https/sub/main"
expect "https with --cacert" 0 - "$line1" "$line2" "$line3"
sse --max-events 3 "$https/sub/main"
expect "https with an untrusted certificate fails, even with reconnects on" 1 "certificate verif"
sse --max-events 3 --insecure "$https/sub/main"
expect "https with --insecure" 0 - "$line1" "$line2" "$line3"

# ---- limits and usage errors ------------------------------------------------------------

start=$(date +%s%N)
sse --timeout 1 "$http/sub/quiet"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
expect "--timeout 1 on a quiet stream exits 124" 124 "timeout"
check "--timeout 1 took 1 to 3 s ($elapsed_ms ms)" test "$elapsed_ms" -ge 900 -a "$elapsed_ms" -le 3000

sse -H 'no colon here' "$http/sub/main"
expect "-H without a colon is a usage error" 2 "Name: value"
sse -H 'Bad Name: x' "$http/sub/main"
expect "-H with a space in the name is a usage error" 2 "Name: value"
sse -H 'Host: elsewhere' "$http/sub/main"
expect "-H cannot replace a field sse-cat sets" 2 "Host"
sse
expect "a missing URL is a usage error" 2 "url"
sse 'ftp://127.0.0.1/'
expect "an unusable URL is a usage error" 2 "ftp://"
sse --cacert "$dir/missing.pem" "$https/sub/main"
expect "a missing --cacert file is a usage error" 2 "missing.pem"
sse --data "@$dir/missing.txt" "$http/echo"
expect "a missing --data file is a usage error" 2 "missing.txt"
sse --max-events 0 "$http/sub/main"
expect "--max-events 0 is a usage error" 2 "max-events"
sse --help
check "--help exits 0 and documents the exit status" test "$rc" = 0 -a -n "$(grep -E '^  124 ' "$dir/out")"

echo "sse-cat: $passed passed, $failed failed"
if [[ $failed -gt 0 ]]; then
    show_logs
    exit 1
fi
