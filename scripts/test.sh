#!/usr/bin/env bash
# Quick start (b): install, build, and run every test through ctest.
#   - build-asan/: ASan+UBSan build; every unit and integration test runs here
#   - build-fuzz/: clang libFuzzer targets, each run for RX_FUZZ_SECONDS (default 30)
# Extra arguments go to ctest (e.g. -L unit, -R echo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash tests/peers/install.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
bash scripts/build.sh build-asan -DRX_SANITIZE=ON
CC=clang bash scripts/build.sh build-fuzz -DRX_FUZZ=ON
ctest --test-dir build-asan --output-on-failure -j2 "$@"
ctest --test-dir build-fuzz --output-on-failure -L fuzz "$@"
