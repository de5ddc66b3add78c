#!/usr/bin/env bash
# eventsource.sh - runs eventsource.test.mjs: sse-httplib against npm's eventsource.
#
#   examples/httplib/tests/eventsource.sh path/to/sse-httplib
#
# The npm packages are the server example's, pinned by its package-lock.json:
# its run.sh --install-only installs them there when they are missing. Exits 77
# (skipped, for CTest) when node or npm is missing: `scripts/install-deps test`
# installs them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?usage: $0 path/to/sse-httplib}
packages=$(cd "$here/../../server/tests/browser" && pwd)

"$packages/run.sh" --install-only || exit $?
exec node "$here/eventsource.test.mjs" "$binary" "$packages"
