#!/usr/bin/env bash
# run-fuzz.sh TARGET CORPUS_DIR SEED_DIR: fuzz for RX_FUZZ_SECONDS (default 30),
# with libFuzzer's random seed RX_FUZZ_SEED (default 1, so that a CI run can
# be repeated exactly; 0 picks a new one each run, for long runs by hand).
# libFuzzer's progress goes to a log; on failure the log's tail (the report)
# and the crashing input, in hex, are printed, because ctest keeps only the
# head of a long output.
set -euo pipefail
target=$1 corpus=$2 seeds=$3
mkdir -p "$corpus" "$corpus.artifacts"
log=$corpus.log
rc=0
"$target" -seed="${RX_FUZZ_SEED:-1}" -max_total_time="${RX_FUZZ_SECONDS:-30}" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$corpus.artifacts/" "$corpus" "$seeds" \
  >"$log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "fuzzer exited $rc; the end of its log ($log):"
  tail -n 80 "$log"
  for f in "$corpus.artifacts"/*; do
    [ -f "$f" ] || continue
    echo "artifact $f:"
    od -An -tx1 -v "$f" | head -n 40
  done
  exit "$rc"
fi
grep -E '^(Done|stat::)' "$log" || true
