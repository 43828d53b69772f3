#!/usr/bin/env bash
# Quick start (a): install, build, and run the gateway on 127.0.0.1:1935.
# Extra arguments go to rtmp2xmpp (see rtmp2xmpp --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
exec build/gateway/rtmp2xmpp --listen 127.0.0.1:1935 "$@"
