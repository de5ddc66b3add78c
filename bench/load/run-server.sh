#!/usr/bin/env bash
# Runs sse-loadgen against the example server (examples/server, sse-server) on 127.0.0.1, on a
# port the server picks, to measure its memory per idle stream.
#
#   bench/load/run-server.sh [sse-loadgen options]      e.g. --subscribers 10000 --events 1
#
# The server runs with its own defaults (anonymous on loopback, heartbeat 15 s, replay buffer, one
# thread per core), except for what a load needs: stream limits raised to the descriptor limit,
# `--log-level warn` (no line per stream). Subscribers follow `GET /api/sse`. The generator's
# publishes cannot work: the server takes JSON (`{"event":...,"data":...}`) where the generator
# posts `<seq> <ns>`, and each stream starts with an `event: connected` the generator counts as
# unexpected. So a run reports subscribers connected and RSS per idle subscriber correctly, then
# FAILED for the publishes: give `--events 1 --drain 0`. `--server-threads N` goes to the server
# (`--threads`). The programs are build/examples/server/sse-server and build-load/sse-loadgen
# unless SSE_SERVER and SSE_LOADGEN name others; SSE_SERVER_CPU=N pins the server to CPU N
# (taskset). Exits with the generator's status, or 3 when the server cannot be started. The
# server is stopped on every exit path, and its stderr is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
app=${SSE_SERVER:-$root/build/examples/server/sse-server}

[[ -x $loadgen ]] || { echo "run-server: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $app ]] || { echo "run-server: no server at $app (cmake -S . -B build && cmake --build build --target sse-server)" >&2; exit 3; }

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --server-threads) server_args+=(--threads "${2:?--server-threads needs a value}"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

pin=()
[[ -n ${SSE_SERVER_CPU:-} ]] && pin=(taskset -c "$SSE_SERVER_CPU")
nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=65536

dir=$(mktemp -d /tmp/sse-server.XXXXXX)
server=
cleanup() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    [[ -n $server ]] && wait "$server" 2>/dev/null || true
    [[ -s $dir/stderr.log ]] && sed 's/^/run-server: server: /' "$dir/stderr.log" | tail -n 20 >&2
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# taskset execs the server: $! is the server's pid. All generator connections come from 127.0.0.1
# and carry no user id, so the per-address limit is the one that would refuse them.
"${pin[@]}" "$app" --host 127.0.0.1 --port 0 --max-connections "$nofile" --max-connections-per-ip "$nofile" \
    --log-level warn "${server_args[@]}" >"$dir/stdout.log" 2>"$dir/stderr.log" &
server=$!

port=
for _ in $(seq 200); do
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    line=$(head -n1 "$dir/stdout.log" 2>/dev/null || true)
    if [[ $line =~ http://[^/]*:([0-9]+)/ ]]; then port=${BASH_REMATCH[1]}; break; fi
    sleep 0.05
done
if [[ -z $port ]]; then
    echo "run-server: sse-server did not start; its output:" >&2
    cat "$dir/stdout.log" >&2 || true
    exit 3
fi

status=0
"$loadgen" --port "$port" --sub-path /api/sse --pub-path /broadcast --server-pid "$server" "${loadgen_args[@]}" ||
    status=$?
exit "$status"
