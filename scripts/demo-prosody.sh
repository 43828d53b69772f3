#!/usr/bin/env bash
# A demo XMPP server for the quick start: prosody on 127.0.0.1:5222, domain
# localhost, accounts alice@localhost and bob@localhost (on each other's
# roster).  Data, certificate, log and PID file live in STATE_DIR, which is
# created if missing and kept between runs; the random passwords are made
# once, kept in STATE_DIR/accounts.txt and printed on every start.
#
#   scripts/demo-prosody.sh STATE_DIR          start in the background (or say it runs)
#   scripts/demo-prosody.sh STATE_DIR stop     stop it by PID (STATE_DIR/prosody.pid)
#   scripts/demo-prosody.sh STATE_DIR status
#
# Needs the packages prosody, python3-slixmpp and openssl (scripts/deps.sh).
# The config comes from tests/integration/xmpp_server.py, the same code the
# tests use.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 STATE_DIR [start|stop|status]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/../tests/integration/xmpp_server.py" --demo "$1" "${2:-start}"
