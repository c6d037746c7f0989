# shellcheck shell=bash
# The node:test suites a foreign Node.js runs against a cross-built binary: sourced by the
# runners after lib/common.sh. CROSS_SUITES (space-separated names of __test__/<name>.test.mjs)
# overrides the list; CROSS_TEST_TIMEOUT_MS the per-test timeout where Node has one, and
# CROSS_FILE_TIMEOUT_SECONDS the bound of each file's run (emulation is slow).

CROSS_DEFAULT_SUITES="connect send close tls server-tls js-thread direct lifetime server-lifetime server-connections"
CROSS_TEST_TIMEOUT_MS="${CROSS_TEST_TIMEOUT_MS:-240000}"
# Bounds the `node --test` run of one file (seconds).
CROSS_FILE_TIMEOUT_SECONDS="${CROSS_FILE_TIMEOUT_SECONDS:-300}"
CROSS_INSTALLED_BINARY=""

# Puts target/cross/ohos-net-websocket.<platform>.node where a source checkout's loader looks
# for it (the repo root); cross_remove_binary undoes it.
cross_install_binary() {
  local platform="$1" built="$CROSS_OUT/ohos-net-websocket.$1.node"
  [[ -f "$built" ]] || cross_die "$built is missing: run scripts/cross/build.sh $platform first"
  CROSS_INSTALLED_BINARY="$CROSS_ROOT/ohos-net-websocket.$platform.node"
  cp "$built" "$CROSS_INSTALLED_BINARY"
}

cross_remove_binary() {
  if [[ -n "$CROSS_INSTALLED_BINARY" ]]; then rm -f "$CROSS_INSTALLED_BINARY"; fi
}

# Fails unless the package, loaded by `node…` (a command prefix), picked the binary of
# `platform`: a loader that guesses the platform wrong would otherwise load another file.
cross_check_loaded() {
  local platform="$1"
  shift
  local loaded
  loaded="$(cd "$CROSS_ROOT" && "$@" -e '
    const ws = require("./index.js");
    if (typeof ws.createWebSocket !== "function") throw new Error("no createWebSocket export");
    const objects = process.report.getReport().sharedObjects;
    console.log(objects.filter((f) => f.endsWith(".node")).join("\n"));')" ||
    cross_die "loading the package failed on $platform"
  printf 'loaded: %s\n' "$loaded"
  grep -q "/ohos-net-websocket\.$platform\.node$" <<<"$loaded" ||
    cross_die "the loader did not pick ohos-net-websocket.$platform.node"
}

# Runs the suites with `node…` (a command prefix), one `node --test` per file so that a file
# that hangs is cut off by its own bound and the others still run (Node 18 has no
# --test-timeout). `label` names the log in target/cross/logs. Prints each file's result,
# the summed node:test counts and the wall time; returns non-zero on any failure.
cross_run_suites() {
  local label="$1"
  shift
  local files=() name log="$CROSS_OUT/logs/$label.log" flags=(--test --test-concurrency=1)
  for name in ${CROSS_SUITES:-$CROSS_DEFAULT_SUITES}; do
    [[ -f "$CROSS_ROOT/__test__/$name.test.mjs" ]] || cross_die "no suite __test__/$name.test.mjs"
    files+=("__test__/$name.test.mjs")
  done
  local help
  help="$("$@" --help)"
  if grep -q -- '--test-timeout=' <<<"$help"; then flags+=("--test-timeout=$CROSS_TEST_TIMEOUT_MS"); fi
  if grep -q -- '--test-reporter=' <<<"$help"; then flags+=(--test-reporter=spec); fi
  mkdir -p "$CROSS_OUT/logs"
  : >"$log"
  cross_log "$label: $* ${flags[*]} <file> (${#files[@]} files; log: $log)"
  local start file_start file rc=0 file_rc part="$log.part"
  start="$(cross_now)"
  for file in "${files[@]}"; do
    file_start="$(cross_now)"
    file_rc=0
    (cd "$CROSS_ROOT" && timeout --kill-after=30 "$CROSS_FILE_TIMEOUT_SECONDS" "$@" "${flags[@]}" "$file") \
      >"$part" 2>&1 || file_rc=$?
    printf '%-42s exit %3d  %s  %6s s\n' "$file" "$file_rc" \
      "$(grep -E '^(ℹ|#) (pass|fail|cancelled) ' "$part" | awk '{ printf "%s %s ", $2, $3 }')" "$(cross_elapsed "$file_start")"
    if ((file_rc != 0)); then
      grep -E '^ *(not ok|✖)' "$part" | grep -v 'failing tests:' | head -10 || true
      ((file_rc == 124)) && printf '  timed out after %s s\n' "$CROSS_FILE_TIMEOUT_SECONDS"
      rc=1
    fi
    cat "$part" >>"$log"
  done
  rm -f "$part"
  # spec reporter: "ℹ tests 42"; TAP: "# tests 42".
  grep -E '^(ℹ|#) (tests|suites|pass|fail|cancelled|skipped|todo) ' "$log" |
    awk '{ sum[$2] += $3; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
         END { for (i = 1; i <= n; i++) printf "%s %s %d\n", "ℹ", order[i], sum[order[i]] }'
  printf '%s: %s in %s s (log: %s)\n' "$label" "$( ((rc == 0)) && echo passed || echo FAILED)" "$(cross_elapsed "$start")" "$log"
  return "$rc"
}

# The user's install path on `platform`: the packed root and platform packages installed
# offline into an empty project with no Rust on PATH, then a client/server echo run by
# `node…` (a command prefix) there (scripts/cross/install-smoke.mjs).
cross_install_smoke() {
  local platform="$1"
  shift
  local prefix
  prefix="$(printf '%s\n' "$@" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").trim().split("\n")))')"
  (cd "$CROSS_ROOT" && node scripts/cross/install-smoke.mjs --platform "$platform" --node "$prefix")
}
