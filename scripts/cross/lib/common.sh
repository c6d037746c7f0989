# shellcheck shell=bash
# Shared helpers of scripts/cross/*: sourced, never run. Callers set `set -euo pipefail`.

CROSS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
CROSS_OUT="$CROSS_ROOT/target/cross"
cross_log() { printf '== %s\n' "$*" >&2; }
cross_die() { printf 'cross: %s\n' "$*" >&2; exit 1; }

# Debian packages: scripts/lib/apt.sh, shared with the other scripts.
# shellcheck source-path=SCRIPTDIR source=../../lib/apt.sh
source "$CROSS_ROOT/scripts/lib/apt.sh"
cross_apt_install() { apt_install "$@"; }

# Debian's rustc-web/cargo-web (1.96) ahead of rustup's: rustup cannot fetch cross targets on
# this network, Debian's compiler builds std from rust-web-src instead (RUSTC_BOOTSTRAP for -Z).
cross_debian_rust() {
  cross_apt_install rustc-web cargo-web rust-web-src
  export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
  unset CARGO RUSTUP_TOOLCHAIN
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CROSS_OUT/cargo}"
}

# A venv under target/cross with PyPI's zig and cargo-zigbuild (pinned), both put on PATH.
CROSS_ZIGLANG_VERSION=0.14.1
CROSS_ZIGBUILD_VERSION=0.24.1
cross_zig() {
  local venv="$CROSS_OUT/venv"
  cross_apt_install python3-venv
  if [[ ! -x "$venv/bin/cargo-zigbuild" ]] || ! "$venv/bin/python" -c 'import ziglang' 2>/dev/null; then
    cross_log "venv: ziglang==$CROSS_ZIGLANG_VERSION cargo-zigbuild==$CROSS_ZIGBUILD_VERSION"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      "ziglang==$CROSS_ZIGLANG_VERSION" "cargo-zigbuild==$CROSS_ZIGBUILD_VERSION"
  fi
  # cargo-zigbuild looks for a `zig` executable; the wheel ships it inside the package.
  local zig
  zig="$("$venv/bin/python" -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "zig"))')"
  [[ -x "$zig" ]] || cross_die "no zig executable in the ziglang wheel ($zig)"
  mkdir -p "$venv/zig-bin"
  ln -sf "$zig" "$venv/zig-bin/zig"
  export PATH="$venv/bin:$venv/zig-bin:$PATH"
}

cross_now() { date +%s.%N; }
cross_elapsed() { awk -v a="$1" -v b="$(cross_now)" 'BEGIN { printf "%.1f", b - a }'; }

# Prints a file's size in bytes and MB.
cross_size() {
  local bytes
  bytes="$(stat -c %s "$1")"
  awk -v b="$bytes" -v f="$1" 'BEGIN { printf "%s: %d bytes (%.2f MB)\n", f, b, b / 1e6 }'
}
