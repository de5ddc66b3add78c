#!/usr/bin/env bash
# Runs sse-loadgen against nginx + nchan on 127.0.0.1, a free port, in a temporary directory.
#
#   bench/load/run-nchan.sh [sse-loadgen options]      e.g. --subscribers 10000 --events 100 --rate 20
#
# Needs nginx and libnginx-mod-nchan (apt-get install nginx libnginx-mod-nchan). The generator
# is build-load/sse-loadgen unless SSE_LOADGEN names another. Exits with the generator's status,
# or 3 when nginx cannot be started. nginx is stopped on every exit path. SSE_SERVER_CPU=N
# pins nginx (master and worker) to CPU N (taskset).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
loadgen=${SSE_LOADGEN:-$root/build-load/sse-loadgen}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
modules=${NCHAN_MODULES:-/usr/lib/nginx/modules}

[[ -x $loadgen ]] || { echo "run-nchan: no generator at $loadgen (cmake -S bench/load -B build-load && cmake --build build-load)" >&2; exit 3; }
[[ -x $nginx ]] || { echo "run-nchan: nginx not found (apt-get install nginx libnginx-mod-nchan)" >&2; exit 3; }
[[ -f $modules/ngx_nchan_module.so ]] || { echo "run-nchan: $modules/ngx_nchan_module.so not found (apt-get install libnginx-mod-nchan)" >&2; exit 3; }

dir=$(mktemp -d /tmp/sse-nchan.XXXXXX)
chmod 755 "$dir"   # the worker may run as another user
master=
cleanup() {
    if [[ -n $master ]] && kill -0 "$master" 2>/dev/null; then
        kill -TERM "$master" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$master" 2>/dev/null || true
        wait "$master" 2>/dev/null || true
    fi
    [[ -n ${KEEP_NCHAN_DIR:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port the kernel hands out now; nothing else binds it in the moment before nginx does.
# Perl, not Python: perl-base is Essential on Debian, python3 is not installed by install-deps.
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"')

nofile=$(ulimit -Hn)
[[ $nofile == unlimited ]] && nofile=65536
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@MODULES@|$modules|g" -e "s|@NOFILE@|$nofile|g" \
    -e "s|@CONNECTIONS@|$((2 * nofile))|g" "$here/nchan.conf" > "$dir/nginx.conf"
# taskset execs nginx, and the worker it forks inherits the CPU: $! is the master's pid.
pin=()
[[ -n ${SSE_SERVER_CPU:-} ]] && pin=(taskset -c "$SSE_SERVER_CPU")
"${pin[@]}" "$nginx" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 2>"$dir/stderr.log" &
master=$!

ready=
# Up to 10 s: on a busy machine nginx has taken more than 5.
for _ in $(seq 200); do
    if ! kill -0 "$master" 2>/dev/null; then break; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then ready=1; break; fi
    sleep 0.05
done
worker=$(pgrep -P "$master" | head -n1 || true)
if [[ -z $ready || -z $worker ]]; then
    echo "run-nchan: nginx did not start on 127.0.0.1:$port; its log:" >&2
    cat "$dir/stderr.log" "$dir/error.log" >&2 || true
    exit 3
fi

status=0
"$loadgen" --port "$port" --sub-path /sub/load --pub-path /pub/load --server-pid "$worker" "$@" || status=$?
if grep -qE '\[(alert|crit|emerg)\]' "$dir/error.log"; then
    echo "run-nchan: nginx reported problems:" >&2
    grep -E '\[(alert|crit|emerg)\]' "$dir/error.log" | sort | uniq -c | head -n 5 >&2
fi
exit "$status"
