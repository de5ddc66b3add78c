#!/usr/bin/env bash
# Runs sse-loadgen against sse-floor, the one-write-per-delivery C server, on 127.0.0.1, on a port
# the server picks.
#
#   bench/load/run-floor.sh [sse-loadgen options]      e.g. --subscribers 10000 --events 40 --rate 4
#
# --prefix goes to both, --floor-syscall write|send to the server (its --syscall: one write() or one
# send() per delivery; write by default), --floor-misdeliver late|split to the server too (its
# --misdeliver: wrong orders on purpose, for the generator's tests), --floor-time-out N to the
# server too (its --time-out: every Nth publish answered 408, for the generator's tests),
# --floor-cold-lines N to the server too (its --cold-lines: N cold cache lines touched per delivery);
# everything else to the generator. The programs are
# build-load/sse-floor and build-load/sse-loadgen unless SSE_FLOOR and SSE_LOADGEN name others.
# SSE_SERVER_CPU=N pins the server to CPU N (taskset). Exits with the generator's status, or 3 when
# the server cannot be started. The server is stopped on every exit path, and its stderr (its
# counters at exit) is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
name=run-floor
source "$here/one-server.sh"
floor=${SSE_FLOOR:-$root/build-load/sse-floor}

require_program "$floor"

server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --prefix) server_args+=(--prefix "${2:?--prefix needs a value}"); loadgen_args+=(--prefix "$2"); shift 2 ;;
        --floor-syscall) server_args+=(--syscall "${2:?--floor-syscall needs a value}"); shift 2 ;;
        --floor-misdeliver) server_args+=(--misdeliver "${2:?--floor-misdeliver needs a value}"); shift 2 ;;
        --floor-time-out) server_args+=(--time-out "${2:?--floor-time-out needs a value}"); shift 2 ;;
        --floor-cold-lines) server_args+=(--cold-lines "${2:?--floor-cold-lines needs a value}"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done

start_server '^listening on .*:([0-9]+)$' "$floor" --host 127.0.0.1 --port 0 "${server_args[@]}"
run_generator "${loadgen_args[@]}"
