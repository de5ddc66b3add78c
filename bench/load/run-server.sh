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
name=run-server
SERVER_STDERR_LINES=20
source "$here/one-server.sh"
app=${SSE_SERVER:-$root/build/examples/server/sse-server}

require_program "$app" "cmake -S . -B build && cmake --build build --target sse-server"

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --server-threads) server_args+=(--threads "${2:?--server-threads needs a value}"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=65536

# All generator connections come from 127.0.0.1 and carry no user id, so the
# per-address limit is the one that would refuse them.
start_server 'http://[^/]*:([0-9]+)/' "$app" --host 127.0.0.1 --port 0 --max-connections "$nofile" --max-connections-per-ip "$nofile" \
    --log-level warn "${server_args[@]}"
run_generator --sub-path /api/sse --pub-path /broadcast "${loadgen_args[@]}"
