#!/usr/bin/env bash
# Runs sse-loadgen against sse-fanout on 127.0.0.1, on a port the server picks.
#
#   bench/load/run-fanout.sh [--server-threads N] [--server-heartbeat S] [sse-loadgen options]
#       e.g. --subscribers 10000 --events 100 --rate 20
#
# --server-threads and --server-heartbeat go to sse-fanout (--threads, --heartbeat); --prefix goes
# to both; everything else to the generator. The programs are build-load/sse-fanout and
# build-load/sse-loadgen unless SSE_FANOUT and SSE_LOADGEN name others. Exits with the generator's
# status, or 3 when the server cannot be started. The server is stopped on every exit path, and
# its stderr (its counters at exit) is printed. SSE_SERVER_CPU=N pins the server to CPU N (taskset).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
fanout=${SSE_FANOUT:-$root/build-load/sse-fanout}

[[ -x $loadgen ]] || { echo "run-fanout: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $fanout ]] || { echo "run-fanout: no server at $fanout (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --server-threads) server_args+=(--threads "${2:?--server-threads needs a value}"); shift 2 ;;
        --server-heartbeat) server_args+=(--heartbeat "${2:?--server-heartbeat needs a value}"); shift 2 ;;
        --prefix) server_args+=(--prefix "${2:?--prefix needs a value}"); loadgen_args+=(--prefix "$2"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

pin=()
[[ -n ${SSE_SERVER_CPU:-} ]] && pin=(taskset -c "$SSE_SERVER_CPU")

dir=$(mktemp -d /tmp/sse-fanout.XXXXXX)
server=
cleanup() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    [[ -n $server ]] && wait "$server" 2>/dev/null || true
    [[ -s $dir/stderr.log ]] && sed 's/^/run-fanout: server: /' "$dir/stderr.log" >&2
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# taskset execs the server: $! is the server's pid.
"${pin[@]}" "$fanout" --host 127.0.0.1 --port 0 "${server_args[@]}" >"$dir/stdout.log" 2>"$dir/stderr.log" &
server=$!

port=
for _ in $(seq 100); do
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    line=$(head -n1 "$dir/stdout.log" 2>/dev/null || true)
    if [[ $line =~ ^listening\ on\ .*:([0-9]+)$ ]]; then port=${BASH_REMATCH[1]}; break; fi
    sleep 0.05
done
if [[ -z $port ]]; then
    echo "run-fanout: sse-fanout did not start; its output:" >&2
    cat "$dir/stdout.log" >&2 || true
    exit 3
fi

status=0
"$loadgen" --port "$port" --server-pid "$server" "${loadgen_args[@]}" || status=$?
exit "$status"
