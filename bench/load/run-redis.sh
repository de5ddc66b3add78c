#!/usr/bin/env bash
# Runs sse-loadgen against several sse-fanout nodes that share a Redis backplane, on 127.0.0.1.
#
#   bench/load/run-redis.sh [--nodes N] [--no-redis] [--server-threads N] [sse-loadgen options]
#       e.g. --subscribers 3000 --events 100 --rate 20
#
# Starts its own redis-server (127.0.0.1, a free port, no persistence: --save "" --appendonly no,
# in a temporary directory; never the system's service), then N sse-fanout nodes (default 3) with
# --redis redis://127.0.0.1:PORT/bench, each on a port it picks, and runs
#   sse-loadgen --port <node 1> --sub-ports <node 1>,...,<node N> --server-pid <nodes> --redis-pid <redis>
# so the subscribers are spread round-robin over the nodes and every event is published on the
# first: every subscriber must still get every event once and in order.
#   --nodes 1      one node on Redis: what the backplane costs a single node.
#   --no-redis     no Redis and no --redis: the nodes are independent (with --nodes 1, the plain
#                  single node, as run-fanout.sh; with more, only node 1's subscribers get events).
# --server-threads goes to every node (--threads); --prefix to the nodes and the generator; the rest
# to the generator. build-load/sse-fanout and build-load/sse-loadgen unless SSE_FANOUT and
# SSE_LOADGEN name others; REDIS_SERVER names redis-server. Exits with the generator's status, or 3
# when Redis or a node cannot be started. Everything started is stopped on every exit path, and the
# nodes' stderr (their counters at exit) is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
fanout=${SSE_FANOUT:-$root/build-load/sse-fanout}
# shellcheck source=redis-server.sh
source "$here/redis-server.sh"

[[ -x $loadgen ]] || { echo "run-redis: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $fanout ]] || { echo "run-redis: no server at $fanout (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }

nodes=3
use_redis=1
server_args=()
loadgen_args=()
while (($#)); do
    case $1 in
        --nodes) nodes=${2:?--nodes needs a value}; shift 2 ;;
        --no-redis) use_redis=; shift ;;
        --server-threads) server_args+=(--threads "${2:?--server-threads needs a value}"); shift 2 ;;
        --prefix) server_args+=(--prefix "${2:?--prefix needs a value}"); loadgen_args+=(--prefix "$2"); shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done
[[ $nodes =~ ^[1-9][0-9]?$ ]] || { echo "run-redis: --nodes must be 1 to 99" >&2; exit 2; }

dir=$(mktemp -d /tmp/sse-redis.XXXXXX)
redis=
pids=()
# Stops one process: TERM, up to 10 s, then KILL.
stop() {
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local i
    for i in "${!pids[@]}"; do stop "${pids[$i]}"; done
    for i in "${!pids[@]}"; do
        [[ -s $dir/node$((i + 1)).err ]] && sed "s/^/run-redis: node $((i + 1)): /" "$dir/node$((i + 1)).err" >&2
    done
    [[ -n $redis ]] && stop "$redis"
    [[ -n ${KEEP_REDIS_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_args=()
if [[ -n $use_redis ]]; then
    start_redis "$dir" || { echo "run-redis: no Redis" >&2; exit 3; }
    redis_args=(--redis "redis://127.0.0.1:$redis_port/bench")
fi

ports=()
for i in $(seq "$nodes"); do
    "$fanout" --host 127.0.0.1 --port 0 "${redis_args[@]}" "${server_args[@]}" \
        >"$dir/node$i.out" 2>"$dir/node$i.err" &
    pids+=($!)
done
for i in $(seq "$nodes"); do
    pid=${pids[$((i - 1))]}
    port=
    # With --redis a node prints its first line once it has synced with Redis (up to 10 s).
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        line=$(head -n1 "$dir/node$i.out" 2>/dev/null || true)
        if [[ $line =~ ^listening\ on\ .*:([0-9]+)$ ]]; then port=${BASH_REMATCH[1]}; break; fi
        sleep 0.05
    done
    if [[ -z $port ]]; then
        echo "run-redis: sse-fanout node $i did not start (its stderr follows)" >&2
        exit 3
    fi
    ports+=("$port")
done

pid_list=$(IFS=,; echo "${pids[*]}")
port_list=$(IFS=,; echo "${ports[*]}")
extra=()
[[ -n $redis ]] && extra=(--redis-pid "$redis")
status=0
"$loadgen" --port "${ports[0]}" --sub-ports "$port_list" --server-pid "$pid_list" "${extra[@]}" \
    "${loadgen_args[@]}" || status=$?
exit "$status"
