#!/usr/bin/env bash
# Runs the same loads against several servers, alternating them, and prints the medians side by
# side as a markdown table (issue 15's measurement).
#
#   bench/load/compare.sh [--rounds 3] [--servers fanout,nchan,floor] [--loads all|low|high]
#                         [--load 'LABEL|sse-loadgen options']... [--fanout-args '...']
#                         [--server-cpu 0] [--generator-cpu 1] [--out FILE]
#                         [--paired [--margin S]] [--cold-lines N]
#
# Servers: fanout (run-fanout.sh), fanout-b (run-fanout.sh with the sse-fanout that SSE_FANOUT_B
# names: another build, to compare two), nchan (run-nchan.sh), floor (run-floor.sh: one write() per
# delivery), floor-send (the floor with one send() per delivery, the cheaper call), floor-cold (the
# floor touching --cold-lines N cache lines of each subscriber's own per delivery, 4 by default:
# the price of a library's cold lines, with nothing else of a library), server
# (run-server.sh: the example server, idle memory only: it cannot take the generator's publishes).
# Each round runs every load against every server, one after the other, the server order shifted by
# one each round, so that drift in the machine's load spreads over all servers; after n rounds (n
# servers) the reversed order is shifted the same way, so that in 2n rounds each server runs as
# often right after each of the others (use a multiple of 2n rounds with three servers or more).
# The server runs on --server-cpu and the generator on --generator-cpu (taskset; the run scripts pin
# the server through SSE_SERVER_CPU). Each run's JSON report goes to --out as one line, with the
# round, load, server and load average. A run that fails (or, for `server`, does not connect every
# subscriber) stops everything with its output; the lines already written stay. A run whose only
# fault is events out of order is counted (every event did arrive once) and reported after the
# table, and compare.sh then exits 1.
#
# --paired runs the servers of a round at once instead, each with a generator of its own: the
# generators connect together, then publish at the load's rate with their events interleaved
# (sse-loadgen --start-at, the n servers 1/(n*rate) apart, the order turned each round), so that
# each event of one server is swept right after one of the other's, in the same state of the
# machine. Drift between runs, which spreads one server's p99 against itself from 0.74 to 1.46
# run after run, then weighs on both alike. For the low rates only, where a sweep takes less than
# 1/(n*rate); the connections of every server must fit one generator CPU (--margin S: seconds
# from the servers' start to the first event, by default 5 + 0.6 ms per connection). Every
# generator keeps its subscribers until 3 s after the last event of all (sse-loadgen
# --hold-until), so that none closes its connections during another's sweep.
#
# Per load and server, the table gives the median over the rounds (and the range) of: server CPU
# per delivery, p99 latency, deliveries/s, and RSS per idle subscriber; and, for each server but
# the last, the median (and range) of its per-round ratio to the last one's CPU and p99.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
    exit 2
}

# Events per load are chosen so that each run lasts about 10 to 25 s on a 2-core machine, with
# nchan the slowest at high rates (it cannot keep up, so its runs are the longest).
low_loads=(
    "10,000 subscribers, 4 events/s|--subscribers 10000 --events 60 --rate 4"
    "19,900 subscribers, 2 events/s|--subscribers 19900 --events 30 --rate 2"
)
high_loads=(
    "1,000 subscribers, 200 events/s|--subscribers 1000 --events 2000 --rate 200"
    "10,000 subscribers, 20 events/s|--subscribers 10000 --events 150 --rate 20"
    "100 subscribers, 16 publishes in flight|--subscribers 100 --events 40000 --rate 0 --pub-connections 16"
)

rounds=3
servers=fanout,nchan,floor
which=all
custom=()
fanout_args=
server_cpu=0
generator_cpu=1
out=compare-$(date -u +%Y%m%dT%H%M%SZ).jsonl
paired=0
margin=
cold_lines=4
while (($#)); do
    case $1 in
        --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
        --servers) servers=${2:?--servers needs a value}; shift 2 ;;
        --loads) which=${2:?--loads needs a value}; shift 2 ;;
        --load) custom+=("${2:?--load needs a value}"); shift 2 ;;
        --fanout-args) fanout_args=${2?--fanout-args needs a value}; shift 2 ;;
        --server-cpu) server_cpu=${2:?--server-cpu needs a value}; shift 2 ;;
        --generator-cpu) generator_cpu=${2:?--generator-cpu needs a value}; shift 2 ;;
        --out) out=${2:?--out needs a value}; shift 2 ;;
        --paired) paired=1; shift ;;
        --margin) margin=${2:?--margin needs a value}; shift 2 ;;
        --cold-lines) cold_lines=${2:?--cold-lines needs a value}; shift 2 ;;
        -h|--help) usage ;;
        *) echo "compare: unknown option $1" >&2; usage ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "compare: --rounds must be a positive number" >&2; exit 2; }

loads=()
if ((${#custom[@]})); then
    loads=("${custom[@]}")
else
    case $which in
        low) loads=("${low_loads[@]}") ;;
        high) loads=("${high_loads[@]}") ;;
        all) loads=("${high_loads[@]}" "${low_loads[@]}") ;;
        *) echo "compare: --loads is low, high or all" >&2; exit 2 ;;
    esac
fi
for l in "${loads[@]}"; do
    [[ $l == *'|'* ]] || { echo "compare: a --load is 'LABEL|sse-loadgen options': $l" >&2; exit 2; }
    if ((paired)) && ! [[ ${l#*|} =~ --rate[[:space:]]+[0-9.]*[1-9] ]]; then
        echo "compare: --paired needs a rate above 0 in every load: $l" >&2; exit 2
    fi
done
[[ $cold_lines =~ ^[1-8]$ ]] || { echo "compare: --cold-lines is 1 to 8" >&2; exit 2; }
[[ -z $margin || $margin =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "compare: --margin is seconds" >&2; exit 2; }

IFS=, read -r -a server_list <<<"$servers"
if ((paired)); then
    ((${#server_list[@]} >= 2)) || { echo "compare: --paired needs two servers or more" >&2; exit 2; }
    for s in "${server_list[@]}"; do
        [[ $s != server ]] || { echo "compare: --paired: 'server' takes no publishes" >&2; exit 2; }
    done
fi
for s in "${server_list[@]}"; do
    case $s in
        fanout|nchan|floor|floor-send|floor-cold|server) ;;
        fanout-b)
            [[ -x ${SSE_FANOUT_B:-} ]] || { echo "compare: fanout-b needs SSE_FANOUT_B, an sse-fanout to run" >&2; exit 2; } ;;
        *) echo "compare: unknown server '$s' (fanout, fanout-b, nchan, floor, floor-send, floor-cold, server)" >&2; exit 2 ;;
    esac
done

# Values from the generator's one-line JSON report. The keys are unique except p99 (handshake and
# latency) and per_second, hence the section in front.
re_cpu='"cpu_us_per_delivery":([-0-9.eE+]+)'
re_p99='"latency_ms":\{"p50":[-0-9.]+,"p90":[-0-9.]+,"p99":([-0-9.]+)'
re_dps='"deliveries":\{[^}]*"per_second":([-0-9.]+)'
re_rss='"rss_bytes_per_subscriber":([-0-9.eE+]+)'
re_connected='"subscribers":\{"connected":([0-9]+)'
re_wanted='"config":\{"subscribers":([0-9]+)'
re_only_disorder='"problems":\["([0-9]+) out of order"\]'
field() { if [[ $1 =~ $2 ]]; then echo "${BASH_REMATCH[1]}"; else echo null; fi; }

disordered=()
declare -A values   # "<load index>/<server>/<metric>" -> space-separated values, one per round
declare -A pids   # server -> the pid of its run in progress (launch_one)
tmp=$(mktemp -d /tmp/sse-compare.XXXXXX)
# A failed paired run stops the other one too (its script stops its server on the signal).
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT
: >"$out"

# Starts one run in the background (its output in $tmp/<server>.out and .err, its pid in
# pids[<server>]); arguments after the third go to the generator.
launch_one() {
    local round=$1 li=$2 s=$3
    shift 3
    local args=${loads[li]#*|}
    local -a cmd
    case $s in
        fanout) cmd=("$here/run-fanout.sh") ;;
        fanout-b) cmd=(env SSE_FANOUT="$SSE_FANOUT_B" "$here/run-fanout.sh") ;;
        nchan) cmd=("$here/run-nchan.sh") ;;
        floor) cmd=("$here/run-floor.sh") ;;
        floor-send) cmd=("$here/run-floor.sh" --floor-syscall send) ;;
        floor-cold) cmd=("$here/run-floor.sh" --floor-cold-lines "$cold_lines") ;;
        server) cmd=("$here/run-server.sh") ;;
    esac
    # Word splitting is wanted: the loads and --fanout-args are option lists.
    # shellcheck disable=SC2206
    local -a extra=($args)
    # shellcheck disable=SC2206
    [[ $s == fanout || $s == fanout-b ]] && extra+=($fanout_args)
    # Later options win in sse-loadgen: one publish, no wait for deliveries that cannot come.
    [[ $s == server ]] && extra+=(--events 1 --rate 0 --drain 0)
    extra+=("$@")
    SSE_SERVER_CPU=$server_cpu taskset -c "$generator_cpu" "${cmd[@]}" "${extra[@]}" --json --timeout 600 \
        >"$tmp/$s.out" 2>"$tmp/$s.err" &
    pids[$s]=$!
}

# Waits for the run of launch_one and records it (load_avg: /proc/loadavg's first figure when
# it started).
collect_one() {
    local round=$1 li=$2 s=$3 load_avg=$4
    local label=${loads[li]%%|*}
    local status=0
    wait "${pids[$s]}" || status=$?
    unset "pids[$s]"
    local json
    json=$(grep -m1 '^{' "$tmp/$s.out" || true)
    local ok=1
    if [[ $s == server ]]; then
        [[ -n $json && $(field "$json" "$re_connected") == "$(field "$json" "$re_wanted")" ]] || ok=0
    elif ((status != 0)) && [[ $json =~ $re_only_disorder ]]; then
        # Every event arrived, once, but some out of order: the figures stand, the run is noted,
        # and compare.sh exits 1 after the table.
        disordered+=("round $round, '$label', $s: ${BASH_REMATCH[1]} deliveries out of order")
        echo "compare: WARNING: round $round, '$label', $s: ${BASH_REMATCH[1]} deliveries out of order" >&2
    else
        ((status == 0)) && [[ -n $json ]] || ok=0
    fi
    if ((!ok)); then
        echo "compare: round $round, '$label', $s: FAILED (exit status $status):" >&2
        cat "$tmp/$s.out" "$tmp/$s.err" >&2
        exit 1
    fi
    local label_json=${label//\\/\\\\}
    label_json=${label_json//\"/\\\"}
    printf '{"round":%d,"load":"%s","server":"%s","loadavg":%s,"status":%d,"report":%s}\n' \
        "$round" "$label_json" "$s" "$load_avg" "$status" "$json" >>"$out"
    local key="$li/$s" cpu p99 dps rss
    cpu=$(field "$json" "$re_cpu"); p99=$(field "$json" "$re_p99")
    dps=$(field "$json" "$re_dps"); rss=$(field "$json" "$re_rss")
    # A figure the report lacks (null: no /proc reading) is left out of the median.
    local num='^-?[0-9.]+([eE][-+]?[0-9]+)?$'
    [[ $rss =~ $num ]] && values[$key/rss]+="$rss "
    if [[ $s != server ]]; then
        [[ $cpu =~ $num ]] && values[$key/cpu]+="$cpu "
        [[ $p99 =~ $num ]] && values[$key/p99]+="$p99 "
        [[ $dps =~ $num ]] && values[$key/dps]+="$dps "
    fi
    printf 'compare: round %d/%d  %-42s %-10s  %s us/delivery  p99 %s ms  %s deliveries/s  %s B/idle subscriber  (load %s)\n' \
        "$round" "$rounds" "$label" "$s" "$cpu" "$p99" "$dps" "$rss" "$load_avg" >&2
    return 0
}

run_one() {
    local load_avg
    load_avg=$(cut -d' ' -f1 /proc/loadavg)
    launch_one "$1" "$2" "$3"
    collect_one "$1" "$2" "$3" "$load_avg"
}

# The servers of `order` at once, their events interleaved (see --paired).
run_paired() {
    local round=$1 li=$2; shift 2
    local -a order=("$@")
    local args=${loads[li]#*|}
    local rate subscribers=100 events=20
    [[ $args =~ --rate[[:space:]]+([0-9.]+) ]] && rate=${BASH_REMATCH[1]}
    [[ $args =~ --subscribers[[:space:]]+([0-9]+) ]] && subscribers=${BASH_REMATCH[1]}
    [[ $args =~ --events[[:space:]]+([0-9]+) ]] && events=${BASH_REMATCH[1]}
    local n=${#order[@]} lead=$margin
    [[ -n $lead ]] || lead=$(awk -v s="$subscribers" -v n="$n" 'BEGIN { printf "%.1f", 5 + 0.0006 * s * n }')
    local start load_avg
    start=$(awk -v now="$(date +%s.%N)" -v lead="$lead" 'BEGIN { printf "%.3f", now + lead }')
    # Every generator keeps its subscribers until 3 s after the last event of all: one that
    # finished first would otherwise close its thousands of connections, on the servers' CPU,
    # during the other's last sweep.
    local hold
    hold=$(awk -v t="$start" -v e="$events" -v r="$rate" 'BEGIN { printf "%.3f", t + e / r + 3 }')
    load_avg=$(cut -d' ' -f1 /proc/loadavg)
    for ((k = 0; k < n; ++k)); do
        launch_one "$round" "$li" "${order[k]}" --hold-until "$hold" \
            --start-at "$(awk -v t="$start" -v k="$k" -v n="$n" -v r="$rate" 'BEGIN { printf "%.4f", t + k / (n * r) }')"
    done
    for ((k = 0; k < n; ++k)); do
        collect_one "$round" "$li" "${order[k]}" "$load_avg"
    done
}

started=$(date -u +%FT%TZ)
n=${#server_list[@]}
reversed=()
for ((k = n - 1; k >= 0; --k)); do reversed+=("${server_list[k]}"); done
for ((r = 1; r <= rounds; ++r)); do
    # Rounds 1 to n shift the list by one each, rounds n+1 to 2n the reversed list, and so on: a
    # rotation of one order alone would always run each server right after the same other one,
    # and what a run leaves behind (the kernel's sockets in TIME_WAIT, for one) would then weigh
    # on one server only.
    if ((((r - 1) / n) % 2 == 0)); then order=("${server_list[@]}"); else order=("${reversed[@]}"); fi
    for li in "${!loads[@]}"; do
        if ((paired)); then
            shifted=()
            for ((k = 0; k < n; ++k)); do shifted+=("${order[(k + r - 1) % n]}"); done
            run_paired "$r" "$li" "${shifted[@]}"
            continue
        fi
        for ((k = 0; k < n; ++k)); do
            run_one "$r" "$li" "${order[(k + r - 1) % n]}"
        done
    done
done

# "median (min–max)" of a list of numbers, printed with a format; "n/a" when there are none.
summary() {
    local fmt=$1 scale=$2; shift 2
    (($#)) || { echo "n/a"; return; }
    printf '%s\n' "$@" | sort -g | awk -v f="$fmt" -v s="$scale" '
        { v[NR] = $1 * s }
        END {
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            out = sprintf(f, m)
            if (NR > 1) out = out sprintf(" (" f "–" f ")", v[1], v[NR])
            print out
        }'
}

echo
echo "Medians of $rounds round(s)$( ((paired)) && echo ", the servers of a round at once (--paired)"), $started to $(date -u +%FT%TZ); server on CPU $server_cpu, generator on CPU $generator_cpu; raw reports in $out."
echo
header="| load | metric |"
rule="|---|---|"
for s in "${server_list[@]}"; do
    case $s in
        fanout) header+=" sse-fanout${fanout_args:+ ($fanout_args)} |" ;;
        fanout-b) header+=" sse-fanout B${fanout_args:+ ($fanout_args)} |" ;;
        floor-cold) header+=" floor, $cold_lines cold lines |" ;;
        server) header+=" sse-server (idle only) |" ;;
        *) header+=" $s |" ;;
    esac
    rule+="---|"
done
echo "$header"
echo "$rule"
for li in "${!loads[@]}"; do
    label=${loads[li]%%|*}
    for m in cpu p99 dps rss; do
        case $m in
            cpu) name="CPU µs per delivery"; fmt="%.1f"; scale=1 ;;
            p99) name="p99 latency, ms"; fmt="%.0f"; scale=1 ;;
            dps) name="deliveries/s, thousands"; fmt="%.1f"; scale=0.001 ;;
            rss) name="RSS per idle subscriber, bytes"; fmt="%.0f"; scale=1 ;;
        esac
        row="| $label | $name |"
        for s in "${server_list[@]}"; do
            # shellcheck disable=SC2086
            row+=" $(summary "$fmt" "$scale" ${values[$li/$s/$m]:-}) |"
        done
        echo "$row"
    done
    # Per round, each server against the last: a ratio cancels what a round shares.
    last=${server_list[n - 1]}
    for m in cpu p99; do
        [[ $m == cpu ]] && name="CPU per delivery / $last" || name="p99 / $last"
        row="| $label | $name, per round |"
        for s in "${server_list[@]}"; do
            if [[ $s == "$last" || $s == server ]]; then row+=" |"; continue; fi
            read -r -a mine <<<"${values[$li/$s/$m]:-}"
            read -r -a theirs <<<"${values[$li/$last/$m]:-}"
            ratios=()
            if ((${#mine[@]} == ${#theirs[@]})); then
                for i in "${!mine[@]}"; do
                    ratios+=("$(awk -v a="${mine[i]}" -v b="${theirs[i]}" 'BEGIN { if (b > 0) printf "%.4f", a / b }')")
                done
            fi
            # Unquoted: a round without a ratio (the last server's figure 0) drops out.
            # shellcheck disable=SC2068
            row+=" $(summary "%.2f" 1 ${ratios[@]}) |"
        done
        echo "$row"
    done
done
if ((${#disordered[@]})); then
    echo
    echo "compare: FAILED: ${#disordered[@]} run(s) delivered every event but not in order (their figures are in the table):" >&2
    printf 'compare:   %s\n' "${disordered[@]}" >&2
    exit 1
fi
