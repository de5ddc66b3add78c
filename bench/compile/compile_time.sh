#!/usr/bin/env bash
# Times the compilation of one translation unit per side of the library, as a user's
# source file compiles it:
#   stream.cpp        a server's file: sse::stream over a TCP socket
#   event_source.cpp  a client's file: sse::event_source over a TCP socket
# each header-only and with separate compilation (what linking sse::compiled does:
# SSE_SEPARATE_ASIO and SSE_SEPARATE_COMPILATION), next to the least Asio code that does
# the same I/O without the library (asio_server.cpp, asio_client.cpp): what Asio alone
# costs such a file.
#
#   bench/compile/compile_time.sh [--runs 3] [--opt "-O0 -O2"]
#
# Prints the median wall time of the runs, in ms, per file, mode and level. CXX picks the
# compiler (g++ by default). Compiles only (-c): nothing is linked or run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
runs=3
levels="-O0 -O2"
while (($#)); do
    case $1 in
        --runs) runs=${2:?--runs needs a value}; shift 2 ;;
        --opt) levels=${2:?--opt needs a value}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
        *) echo "compile_time: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "compile_time: --runs must be a positive number" >&2; exit 2; }
cxx=${CXX:-g++}
separate=(-DSSE_SEPARATE_ASIO -DSSE_SEPARATE_COMPILATION)

# Median wall time in ms of compiling $1 with the remaining arguments as flags.
median_ms() {
    local file=$1; shift
    local i start
    for ((i = 0; i < runs; i++)); do
        start=$(date +%s%N)
        "$cxx" -std=c++17 -I "$root/include" "$@" -c "$here/$file" -o /dev/null
        echo $(( ($(date +%s%N) - start) / 1000000 ))
    done | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}

echo "compiler: $("$cxx" --version | head -1); median of $runs runs, wall ms"
printf '%-18s %-14s' file mode
for level in $levels; do printf ' %8s' "$level"; done
echo
row() {
    local file=$1 mode=$2; shift 2
    printf '%-18s %-14s' "$file" "$mode"
    for level in $levels; do printf ' %8s' "$(median_ms "$file" "$level" "$@")"; done
    echo
}
row stream.cpp header-only
row stream.cpp separate "${separate[@]}"
row asio_server.cpp "Asio alone"
row event_source.cpp header-only
row event_source.cpp separate "${separate[@]}"
row asio_client.cpp "Asio alone"
