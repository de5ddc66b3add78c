#!/usr/bin/env bash
# Runs browser.test.mjs, sse-beast's page in headless Debian Chromium through
# playwright-core, against a real sse-beast.
#
#   examples/beast/tests/browser.sh path/to/sse-beast
#
# The npm packages are the server example's: its run.sh installs them from its
# package-lock.json. Exits 77 (skipped, for CTest) when node, npm or
# /usr/bin/chromium is missing (`scripts/install-deps test` installs them). The
# server's log and a screenshot go to $SSE_TEST_OUTPUT (default: /tmp/sse-beast-browser-test).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
server=${1:-}
if [[ -z $server || ! -x $server ]]; then
    echo "usage: $0 path/to/sse-beast" >&2
    exit 2
fi
server=$(cd "$(dirname "$server")" && pwd)/$(basename "$server")

export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
    echo "browser test skipped: $CHROMIUM is missing (scripts/install-deps test)" >&2
    exit 77
fi
"$here/../../server/tests/browser/run.sh" --install-only || exit $?

export SSE_TEST_OUTPUT=${SSE_TEST_OUTPUT:-${TMPDIR:-/tmp}/sse-beast-browser-test}
mkdir -p "$SSE_TEST_OUTPUT"
exec node "$here/browser.test.mjs" "$server"
