#!/usr/bin/env bash
# Installs the npm packages of package-lock.json into node_modules here, if they
# are missing or older than the lock file. run.sh uses it, and so do the tests of
# other examples that drive these packages (examples/httplib/tests/eventsource.sh).
# Several build trees may run this at once: flock makes them take turns.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

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
