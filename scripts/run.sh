#!/usr/bin/env bash
# Quick start (a): install, build, and run the gateway on 127.0.0.1:1935,
# with a loopback prosody (demo accounts alice@localhost and bob@localhost,
# printed below) that clients can log in to with xmpp_connect at once, and
# the echo account echo@localhost, which answers every call with its own
# audio.
# State (prosody's config, data, certificate, passwords) lives in ./state.
# Extra arguments go to rtmp2xmpp (see rtmp2xmpp --help).  Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build
state=${RX_STATE_DIR:-$PWD/state}
bash scripts/demo-prosody.sh "$state"
gw=
stop() {
  [ -n "$gw" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null
  bash scripts/demo-prosody.sh "$state" stop || true
}
trap stop EXIT
trap 'exit 0' INT TERM
echo "XMPP: log in with {username, domain: \"localhost\", password, host: \"127.0.0.1\", port: 5222}"
build/gateway/rtmp2xmpp --listen 127.0.0.1:1935 --xmpp-cafile "$state/certs/localhost.crt" \
  --echo-account echo@localhost --echo-password-file "$state/echo.pass" \
  --echo-server 127.0.0.1:5222 "$@" &
gw=$!
wait "$gw"
