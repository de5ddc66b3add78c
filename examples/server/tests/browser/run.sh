#!/usr/bin/env bash
# Runs the demo page's browser test, the cross-origin (CORS) test and the cluster
# test (three nodes on one Redis behind nginx; headless Debian Chromium through
# playwright-core), the npm eventsource client test, and the seed contract tests
# (seeds/: 000, 001 and 004 in Chromium, 002 and 003 with curl), against a real sse-server.
#
#   examples/server/tests/browser/run.sh path/to/sse-server
#   examples/server/tests/browser/run.sh --install-only
#
# Installs the npm packages from package-lock.json when node_modules is missing;
# with --install-only, only that (other examples' browser tests use these packages).
# Exits 77 (skipped, for CTest) when node, npm or /usr/bin/chromium is missing:
# `scripts/install-deps test` installs them. Screenshots and server logs go to
# $SSE_TEST_OUTPUT (default: /tmp/sse-browser-test).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
install_only=false
if [[ ${1:-} == --install-only ]]; then
    install_only=true
else
    server=${1:-${SSE_SERVER:-}}
    if [[ -z $server || ! -x $server ]]; then
        echo "usage: $0 path/to/sse-server | --install-only" >&2
        exit 2
    fi
    server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")
fi
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "browser tests skipped: $tool is missing (scripts/install-deps test)" >&2
        exit 77
    fi
done
# Installing the packages needs no browser: the npm eventsource tests use them without one.
if ! $install_only && [[ ! -x $CHROMIUM ]]; then
    echo "browser tests skipped: $CHROMIUM is missing (scripts/install-deps test)" >&2
    exit 77
fi

# Installs the packages if they are missing or older than the lock file. Several
# build trees may run this at once: flock makes them take turns.
install() {
    if [[ ! -e $here/node_modules/.package-lock.json ||
          $here/package-lock.json -nt $here/node_modules/.package-lock.json ]]; then
        (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}
if command -v flock >/dev/null; then
    exec 9<"$here/package.json"
    flock 9
    install
    flock -u 9
else
    install
fi
if $install_only; then
    exit 0
fi

export SSE_TEST_OUTPUT=${SSE_TEST_OUTPUT:-${TMPDIR:-/tmp}/sse-browser-test}
mkdir -p "$SSE_TEST_OUTPUT"

status=0
for t in browser eventsource cors cluster; do
    echo "== $t.test.mjs"
    node "$here/$t.test.mjs" "$server" || status=1
done
# One contract test per seed (issue 13): what each seed's frontend or script sees.
for t in "$here"/seeds/seed-*.test.mjs; do
    echo "== seeds/$(basename "$t")"
    # 002 and 003 are scripts: they are replayed with curl.
    if [[ $t == *seed-00[23].test.mjs ]] && ! command -v curl >/dev/null; then
        echo "skipped: curl is missing (scripts/install-deps test)" >&2
        continue
    fi
    node "$t" "$server" || status=1
done
exit $status
