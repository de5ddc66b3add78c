# Sourced by run-redis.sh and run-nchan-redis.sh: a private redis-server for one run.
#
# start_redis DIR: starts redis-server on 127.0.0.1 and a free port, without persistence
# (--save "" --appendonly no), its files and log in DIR; never the system's service. Sets
# redis (its pid) and redis_port, and waits until it answers PING; returns 1 (after printing
# its log) when it does not within 5 s. The caller stops it ($redis) on every exit path.
# REDIS_SERVER names the program.

# A port the kernel hands out now; nothing else binds it in the moment before the server does.
# Perl, not Python: perl-base is Essential on Debian.
free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0)->sockport, "\n"'
}

# PING in RESP over bash's /dev/tcp (no redis-cli needed), in a subshell: a failed exec
# redirection would end the calling script.
ping_redis() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf '*1\r\n$4\r\nPING\r\n' >&3
        read -r -t 1 reply <&3 && [[ $reply == +PONG* ]]
    ) 2>/dev/null
}

start_redis() {
    local dir=$1 program=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
    if [[ ! -x $program ]]; then
        echo "redis-server not found (apt-get install redis-server, or set REDIS_SERVER)" >&2
        return 1
    fi
    redis_port=$(free_port)
    "$program" --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no --dir "$dir" \
        --daemonize no --logfile "$dir/redis.log" >/dev/null 2>&1 &
    redis=$!
    local _
    for _ in $(seq 100); do
        kill -0 "$redis" 2>/dev/null || break
        ping_redis "$redis_port" && return 0
        sleep 0.05
    done
    echo "redis-server did not start on 127.0.0.1:$redis_port; its log:" >&2
    cat "$dir/redis.log" >&2 || true
    return 1
}
