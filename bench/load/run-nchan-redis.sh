#!/usr/bin/env bash
# Runs sse-loadgen against several nginx + nchan nodes sharing one Redis, on 127.0.0.1.
#
#   bench/load/run-nchan-redis.sh [--nodes N] [sse-loadgen options]
#       e.g. --subscribers 3000 --events 100 --rate 20
#
# Starts its own redis-server (see redis-server.sh: 127.0.0.1, a free port, no persistence), then
# N nginx masters (default 3), each with one worker, its own free port and temporary directory,
# configured from nchan-redis.conf to keep their channels in that Redis (nchan_redis_pass), and runs
#   sse-loadgen --port <node 1> --sub-ports <node 1>,...,<node N> --sub-path /sub/load
#               --pub-path /pub/load --server-pid <workers> --redis-pid <redis>
# so the subscribers are spread over the nodes and every event is published on the first.
# Needs nginx and libnginx-mod-nchan. SSE_LOADGEN, NGINX, NCHAN_MODULES and REDIS_SERVER override
# the paths; KEEP_NCHAN_DIR=1 keeps the directory with the logs. Exits with the generator's status,
# or 3 when Redis or a node cannot be started. Everything started is stopped on every exit path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
modules=${NCHAN_MODULES:-/usr/lib/nginx/modules}
# shellcheck source=redis-server.sh
source "$here/redis-server.sh"

[[ -x $loadgen ]] || { echo "run-nchan-redis: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $nginx ]] || { echo "run-nchan-redis: nginx not found (apt-get install nginx libnginx-mod-nchan)" >&2; exit 3; }
[[ -f $modules/ngx_nchan_module.so ]] || { echo "run-nchan-redis: $modules/ngx_nchan_module.so not found (apt-get install libnginx-mod-nchan)" >&2; exit 3; }

nodes=3
loadgen_args=()
while (($#)); do
    case $1 in
        --nodes) nodes=${2:?--nodes needs a value}; shift 2 ;;
        *) loadgen_args+=("$1"); shift ;;
    esac
done
[[ $nodes =~ ^[1-9][0-9]?$ ]] || { echo "run-nchan-redis: --nodes must be 1 to 99" >&2; exit 2; }

dir=$(mktemp -d /tmp/sse-nchan-redis.XXXXXX)
chmod 755 "$dir"   # the workers may run as another user
redis=
masters=()
stop() {
    local pid=$1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local i
    for i in "${!masters[@]}"; do stop "${masters[$i]}"; done
    [[ -n $redis ]] && stop "$redis"
    [[ -n ${KEEP_NCHAN_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_redis "$dir" || { echo "run-nchan-redis: no Redis" >&2; exit 3; }

# Answers the HTTP status of a POST of one byte to 127.0.0.1:PORT PATH, or nothing.
post_status() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx' "$2" >&3
        read -r -t 2 version status _ <&3 && echo "$status"
    ) 2>/dev/null || true
}

nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=65536
ports=()
workers=()
for i in $(seq "$nodes"); do
    node=$dir/node$i
    mkdir -p "$node"
    port=$(free_port)
    sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$node|g" -e "s|@MODULES@|$modules|g" -e "s|@NOFILE@|$nofile|g" \
        -e "s|@CONNECTIONS@|$((2 * nofile))|g" -e "s|@REDIS@|127.0.0.1:$redis_port|g" \
        "$here/nchan-redis.conf" > "$node/nginx.conf"
    "$nginx" -e "$node/error.log" -p "$node" -c "$node/nginx.conf" 2>"$node/stderr.log" &
    masters+=($!)
    ports+=("$port")
done
for i in $(seq "$nodes"); do
    master=${masters[$((i - 1))]}
    port=${ports[$((i - 1))]}
    node=$dir/node$i
    # Ready when a publish on a channel of its own is taken (2xx): nginx listens and nchan has
    # connected to Redis. Up to 10 s.
    ready=
    for _ in $(seq 200); do
        kill -0 "$master" 2>/dev/null || break
        status=$(post_status "$port" /pub/ready$i)
        [[ $status == 2?? ]] && { ready=1; break; }
        sleep 0.05
    done
    worker=$(pgrep -P "$master" | head -n1 || true)
    if [[ -z $ready || -z $worker ]]; then
        echo "run-nchan-redis: nginx node $i did not start on 127.0.0.1:$port (last publish status: ${status:-none}); its log:" >&2
        cat "$node/stderr.log" "$node/error.log" >&2 || true
        exit 3
    fi
    workers+=("$worker")
done

status=0
"$loadgen" --port "${ports[0]}" --sub-ports "$(IFS=,; echo "${ports[*]}")" --sub-path /sub/load --pub-path /pub/load \
    --server-pid "$(IFS=,; echo "${workers[*]}")" --redis-pid "$redis" "${loadgen_args[@]}" || status=$?
for i in $(seq "$nodes"); do
    if grep -qE '\[(alert|crit|emerg|error)\]' "$dir/node$i/error.log"; then
        echo "run-nchan-redis: nginx node $i reported problems:" >&2
        grep -E '\[(alert|crit|emerg|error)\]' "$dir/node$i/error.log" | sed 's/^[0-9\/: ]*//' | sort | uniq -c | head -n 5 >&2
    fi
done
exit "$status"
