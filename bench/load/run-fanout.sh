#!/usr/bin/env bash
# Runs sse-loadgen against sse-fanout on 127.0.0.1, on a port the server picks.
#
#   bench/load/run-fanout.sh [--server-threads N] [--server-heartbeat S] [--server-inline-wakes W]
#                            [sse-loadgen options]
#       e.g. --subscribers 10000 --events 100 --rate 20
#
# --server-threads, --server-heartbeat and --server-inline-wakes go to sse-fanout (--threads,
# --heartbeat, --inline-wakes); --prefix goes
# to both; everything else to the generator. The programs are build-load/sse-fanout and
# build-load/sse-loadgen unless SSE_FANOUT and SSE_LOADGEN name others. Exits with the generator's
# status, or 3 when the server cannot be started. The server is stopped on every exit path, and
# its stderr (its counters at exit) is printed. SSE_SERVER_CPU=N pins the server to CPU N (taskset).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
name=run-fanout
source "$here/one-server.sh"
fanout=${SSE_FANOUT:-$root/build-load/sse-fanout}

require_program "$fanout"

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --server-threads) server_args+=(--threads "${2:?--server-threads needs a value}"); shift 2 ;;
        --server-heartbeat) server_args+=(--heartbeat "${2:?--server-heartbeat needs a value}"); shift 2 ;;
        --server-inline-wakes) server_args+=(--inline-wakes "${2:?--server-inline-wakes needs a value}"); shift 2 ;;
        --prefix) server_args+=(--prefix "${2:?--prefix needs a value}"); loadgen_args+=(--prefix "$2"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

start_server '^listening on .*:([0-9]+)$' "$fanout" --host 127.0.0.1 --port 0 "${server_args[@]}"
run_generator "${loadgen_args[@]}"
