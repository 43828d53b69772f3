#!/usr/bin/env bash
# Installs the JavaScript test peers' packages (werift, StanzaJS) with
# `npm ci`, exactly as package-lock.json pins them.  Idempotent: skipped when
# node_modules/ was installed from the same package.json + package-lock.json
# by the same Node major version (a stamp file inside node_modules/).
# Called by scripts/test.sh and by the tests that use the peers (peers.py).
# Needs node and npm (scripts/deps.sh) and the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null && command -v npm >/dev/null ||
  { echo "tests/peers/install.sh: node and npm are needed (scripts/deps.sh)" >&2; exit 1; }
# One install at a time (tests may call this concurrently, e.g. ctest -j2).
exec 9>"${TMPDIR:-/tmp}/rx-peers-install.lock"
flock -w 600 9
stamp=node_modules/.rx-install-stamp
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1) node-$(node -p 'process.versions.node.split(".")[0]')"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
npm ci --no-audit --no-fund
echo "$want" > "$stamp"
