# Sourced by run-fanout.sh, run-floor.sh and run-server.sh: start one server on a free
# loopback port, run the generator against it, stop the server on every exit path.
#
#   name=run-floor                  # the prefix of this script's messages, set before sourcing
#   require_program PATH [HINT]     # exits 3 unless PATH is executable; HINT defaults to
#                                   # building bench/load
#   $loadgen                        # the generator: $SSE_LOADGEN, else build-load/sse-loadgen
#   start_server PORT_REGEX CMD...  # starts CMD (pinned to $SSE_SERVER_CPU if set), waits until
#                                   # the first line of its stdout matches PORT_REGEX, whose
#                                   # first group is the port; sets $server and $port
#   run_generator ARGS...           # runs $loadgen with --port and --server-pid, exits with its status
#
# SERVER_STDERR_LINES (default: all) bounds how much of the server's stderr is printed at exit.

require_program() {
    [[ -x $1 ]] || { echo "$name: no program at $1 (${2:-cmake -S bench/load -B build-load && cmake --build build-load})" >&2; exit 3; }
}

loadgen=${SSE_LOADGEN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build-load/sse-loadgen}
require_program "$loadgen"

server=
port=
server_dir=$(mktemp -d "/tmp/$name.XXXXXX")

stop_server() {
    if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server" 2>/dev/null || true
    fi
    [[ -n $server ]] && wait "$server" 2>/dev/null || true
    if [[ -s $server_dir/stderr.log ]]; then
        sed "s/^/$name: server: /" "$server_dir/stderr.log" | tail -n "${SERVER_STDERR_LINES:-+1}" >&2
    fi
    rm -rf "$server_dir"
}
trap stop_server EXIT
trap 'exit 130' INT TERM

start_server() {
    local pattern=$1
    shift
    local pin=()
    [[ -n ${SSE_SERVER_CPU:-} ]] && pin=(taskset -c "$SSE_SERVER_CPU")
    # taskset execs the server: $! is the server's pid.
    "${pin[@]}" "$@" >"$server_dir/stdout.log" 2>"$server_dir/stderr.log" &
    server=$!
    local line
    for _ in $(seq 200); do
        kill -0 "$server" 2>/dev/null || break
        line=$(head -n1 "$server_dir/stdout.log" 2>/dev/null || true)
        if [[ $line =~ $pattern ]]; then port=${BASH_REMATCH[1]}; return 0; fi
        sleep 0.05
    done
    echo "$name: $(basename "$1") did not start; its output:" >&2
    cat "$server_dir/stdout.log" >&2 || true
    exit 3
}

run_generator() {
    local status=0
    "$loadgen" --port "$port" --server-pid "$server" "$@" || status=$?
    exit "$status"
}
