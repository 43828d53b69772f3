#!/usr/bin/env bash
# run-fuzz.sh TARGET CORPUS_DIR SEED_DIR: fuzz for RX_FUZZ_SECONDS (default 30).
set -euo pipefail
target=$1 corpus=$2 seeds=$3
mkdir -p "$corpus"
exec "$target" -max_total_time="${RX_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus" "$seeds"
