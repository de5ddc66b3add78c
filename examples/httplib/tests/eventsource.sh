#!/usr/bin/env bash
# eventsource.sh - runs eventsource.test.mjs: sse-httplib against npm's eventsource.
#
#   examples/httplib/tests/eventsource.sh path/to/sse-httplib
#
# The npm packages are those examples/server/tests/browser pins in its
# package-lock.json, installed there by its install-packages.sh when missing.
# Exits 77 (skipped, for CTest) when node or npm is missing: `scripts/install-deps test`
# installs them.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
binary=${1:?usage: $0 path/to/sse-httplib}
packages=$(cd "$here/../../server/tests/browser" && pwd)

for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "eventsource test skipped: $tool is missing (scripts/install-deps test)" >&2
        exit 77
    fi
done
"$packages/install-packages.sh"
exec node "$here/eventsource.test.mjs" "$binary" "$packages"
