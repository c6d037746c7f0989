#!/usr/bin/env bash
# Autobahn conformance through our public API, both roles (groups 1-7, 9, 10: 301 cases
# each): `client` runs test/autobahn/client.mjs against the suite's fuzzingserver,
# `server` runs the suite's fuzzingclient against test/autobahn/server.mjs. Uses the
# shared harness (../shared/harness/autobahn) for the suite and the summary, then
# compares each summary with the checked-in expected-<role>.txt: any change, better or
# worse, shows as a diff and fails, so regressions cannot slip through.
# Usage: test/autobahn/run.sh [client|server|all] [--update]   (--update rewrites the expected files)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
harness="${AUTOBAHN_HARNESS:-$root/../shared/harness/autobahn}"
roles="${1:-all}"
[ "$roles" = all ] && roles="client server"
update="${2:-}"
[ "${1:-}" = "--update" ] && { roles="client server"; update="--update"; }
out="$root/target/autobahn"
mkdir -p "$out"

if [ ! -d "$harness" ]; then
  echo "autobahn: harness not found at $harness" >&2
  exit 1
fi
"$harness/setup.sh" >"$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 1; }
py="$harness/.venv/bin/python"
client_port="${AUTOBAHN_PORT:-9001}"
server_port="${AUTOBAHN_SERVER_PORT:-9011}"
app_pid=""
cleanup() {
  "$harness/stop-fuzzingserver.sh" --port "$client_port" >/dev/null 2>&1 || true
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
}
trap cleanup EXIT

# Runs the client cases; leaves the suite's index.json in $out/client/reports.
run_client() {
  "$harness/run-fuzzingserver.sh" --port "$client_port" --outdir "$out/client/reports" --max-seconds 1500 >/dev/null
  timeout 1500 node "$here/client.mjs" --url "ws://127.0.0.1:$client_port" --agent ohos-net-websocket
  "$harness/stop-fuzzingserver.sh" --port "$client_port" >/dev/null 2>&1 || true
}

# Runs the server cases against our echo app (in its own process).
run_server() {
  local port="$server_port" log="$out/server/app.log"
  mkdir -p "$out/server/reports"
  node "$here/server.mjs" --port "$port" >"$log" 2>&1 &
  app_pid=$!
  for _ in $(seq 1 100); do grep -q READY "$log" && break; sleep 0.1; done
  grep -q READY "$log" || { echo "autobahn: the echo server did not start"; cat "$log"; return 1; }
  cat >"$out/server/spec.json" <<JSON
{"outdir": "$out/server/reports", "servers": [{"agent": "ohos-net-websocket", "url": "ws://127.0.0.1:$port"}],
 "cases": ["*"], "exclude-cases": ["12.*", "13.*"], "exclude-agent-cases": {}}
JSON
  (cd "$harness" && timeout 1560 "$py" fuzzingclient.py --spec "$out/server/spec.json" --max-seconds 1500) \
    >"$out/server/fuzzingclient.log" 2>&1
  kill -0 "$app_pid" 2>/dev/null || { echo "autobahn: the echo server died during the run"; tail -5 "$log"; return 1; }
  kill "$app_pid" 2>/dev/null || true
  app_pid=""
}

status=0
for role in $roles; do
  echo "== autobahn $role cases"
  "run_$role"
  "$py" "$harness/summarize.py" "$out/$role/reports/index.json" --agent ohos-net-websocket --expect 301 --list-failed \
    | sed -E 's/ +$//' >"$out/$role/summary.txt"
  cat "$out/$role/summary.txt"
  if [ "$update" = "--update" ]; then
    cp "$out/$role/summary.txt" "$here/expected-$role.txt"
    echo "autobahn: expected-$role.txt updated"
  elif diff -u "$here/expected-$role.txt" "$out/$role/summary.txt"; then
    echo "autobahn: $role summary matches expected-$role.txt"
  else
    echo "autobahn: $role summary differs from expected-$role.txt (see diff above)" >&2
    status=1
  fi
done
exit $status
