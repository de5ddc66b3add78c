#!/usr/bin/env bash
# Runs sse-loadgen against sse-floor, the one-write-per-delivery C server, on 127.0.0.1, on a port
# the server picks.
#
#   bench/load/run-floor.sh [sse-loadgen options]      e.g. --subscribers 10000 --events 40 --rate 4
#
# --prefix goes to both; everything else to the generator. The programs are build-load/sse-floor
# and build-load/sse-loadgen unless SSE_FLOOR and SSE_LOADGEN name others. SSE_SERVER_CPU=N pins
# the server to CPU N (taskset). Exits with the generator's status, or 3 when the server cannot be
# started. The server is stopped on every exit path, and its stderr (its counters at exit) is
# printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
floor=${SSE_FLOOR:-$root/build-load/sse-floor}

[[ -x $loadgen ]] || { echo "run-floor: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $floor ]] || { echo "run-floor: no server at $floor (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --prefix) server_args+=(--prefix "${2:?--prefix needs a value}"); loadgen_args+=(--prefix "$2"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

pin=()
[[ -n ${SSE_SERVER_CPU:-} ]] && pin=(taskset -c "$SSE_SERVER_CPU")

dir=$(mktemp -d /tmp/sse-floor.XXXXXX)
server=
cleanup() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    [[ -n $server ]] && wait "$server" 2>/dev/null || true
    [[ -s $dir/stderr.log ]] && sed 's/^/run-floor: server: /' "$dir/stderr.log" >&2
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# taskset execs the server: $! is the server's pid.
"${pin[@]}" "$floor" --host 127.0.0.1 --port 0 "${server_args[@]}" >"$dir/stdout.log" 2>"$dir/stderr.log" &
server=$!

port=
for _ in $(seq 100); do
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    line=$(head -n1 "$dir/stdout.log" 2>/dev/null || true)
    if [[ $line =~ ^listening\ on\ .*:([0-9]+)$ ]]; then port=${BASH_REMATCH[1]}; break; fi
    sleep 0.05
done
if [[ -z $port ]]; then
    echo "run-floor: sse-floor did not start; its output:" >&2
    cat "$dir/stdout.log" >&2 || true
    exit 3
fi

status=0
"$loadgen" --port "$port" --server-pid "$server" "${loadgen_args[@]}" || status=$?
exit "$status"
