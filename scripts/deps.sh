#!/usr/bin/env bash
# Installs the Debian packages rtmp2xmpp needs to build, run and test.
# Run as root on Debian 12 (bookworm).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (apt-get)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev
  # libraries
  librtmp-dev libglib2.0-dev libssl-dev libstrophe-dev libsrtp2-dev libspeex-dev libspeexdsp-dev libnice-dev
  # test peers and tools
  ffmpeg rtmpdump python3 python3-librtmp python3-numpy espeak-ng sox prosody python3-slixmpp openssl nodejs coturn
  # the benchmark's baseline and plots
  nginx libnginx-mod-rtmp gnuplot-nox
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm (tests/peers/install.sh): Debian's own package, unless the installed
# nodejs already ships it (NodeSource's nodejs provides npm and conflicts with
# Debian's npm package, which apt then refuses to install).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
