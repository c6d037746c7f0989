#!/usr/bin/env bash
# Autobahn client conformance (groups 1-7, 9, 10: 301 cases) through our public API.
# Uses the shared harness (../shared/harness/autobahn) for the fuzzingserver and the
# summary, then compares the summary with the checked-in expected.txt: any change,
# better or worse, shows as a diff and fails, so regressions cannot slip through.
# Usage: test/autobahn/run.sh [--update]   (--update rewrites expected.txt)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
harness="${AUTOBAHN_HARNESS:-$root/../shared/harness/autobahn}"
port="${AUTOBAHN_PORT:-9001}"
agent="ohos-net-websocket"
out="$root/target/autobahn"
mkdir -p "$out"

if [ ! -d "$harness" ]; then
  echo "autobahn: harness not found at $harness" >&2
  exit 1
fi
"$harness/setup.sh" >"$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 1; }

pid=$("$harness/run-fuzzingserver.sh" --port "$port" --outdir "$out/reports" --max-seconds 1500)
trap '"$harness/stop-fuzzingserver.sh" --port "$port" >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true' EXIT

timeout 1500 node "$here/client.mjs" --url "ws://127.0.0.1:$port" --agent "$agent"

"$harness/.venv/bin/python" "$harness/summarize.py" "$out/reports/index.json" --agent "$agent" --expect 301 --list-failed \
  | sed -E 's/ +$//' >"$out/summary.txt"
cat "$out/summary.txt"

if [ "${1:-}" = "--update" ]; then
  cp "$out/summary.txt" "$here/expected.txt"
  echo "autobahn: expected.txt updated"
  exit 0
fi
if diff -u "$here/expected.txt" "$out/summary.txt"; then
  echo "autobahn: summary matches expected.txt"
else
  echo "autobahn: summary differs from expected.txt (see diff above)" >&2
  exit 1
fi
