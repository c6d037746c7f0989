#!/usr/bin/env bash
# Runs the fuzz targets one at a time (the machine has 2 shared cores).
# Usage: fuzz/run.sh [SECONDS] [TARGET...]   (default: 60 s, every target)
# Seeds (tracked, fuzz/seeds/<target>/) are copied into fuzz/corpus/<target>/ (ignored),
# which libFuzzer then grows. Full logs: fuzz/target/run-logs/<target>.log.
# Exits non-zero if any target found a crash (reproducer in fuzz/artifacts/<target>/).
set -uo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(url handshake_response request proxy keys)
export RUSTC_BOOTSTRAP=1
cargo +stable fuzz build || exit 1
mkdir -p fuzz/target/run-logs
failed=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  for f in "fuzz/seeds/$t/"*; do
    [ -e "fuzz/corpus/$t/$(basename "$f")" ] || cp "$f" "fuzz/corpus/$t/"
  done
  log="fuzz/target/run-logs/$t.log"
  echo "=== $t (${secs}s)"
  if cargo +stable fuzz run "$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 >"$log" 2>&1; then
    grep -E 'Done [0-9]+ runs' "$log"
  else
    failed=1
    grep -E -A1 'panicked at' "$log" | head -4
    grep -E 'SUMMARY|Test unit written' "$log"
  fi
done
exit "$failed"
