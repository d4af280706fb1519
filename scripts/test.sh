#!/usr/bin/env bash
# From a fresh machine: installs dependencies, then builds and runs every test suite twice:
# once against the static release binary and once with AddressSanitizer and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

run_suite() {
  local dir=$1
  shift
  echo "== building $dir"
  bash scripts/build.sh "$dir" "$@"
  echo "== testing $dir"
  (cd "$dir" && ctest --output-on-failure --timeout 600 -j "$(nproc)")
}

run_suite build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DMESHCTL_SANITIZE=ON
