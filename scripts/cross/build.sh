#!/usr/bin/env bash
# Cross-builds the addon on a Debian 12 x64 host:
#   scripts/cross/build.sh <platform>...
#     linux-arm64-gnu   aarch64-unknown-linux-gnu   (aarch64-linux-gnu-gcc)
#     linux-x64-musl    x86_64-unknown-linux-musl   (zig through cargo-zigbuild)
#     win32-x64-msvc    x86_64-pc-windows-gnu       (mingw-w64; the official node.exe loads it under this name)
#     darwin-check      cargo check + clippy -D warnings for aarch64/x86_64-apple-darwin (no SDK, no binary)
# Output: target/cross/ohos-net-websocket.<platform>.node, with its size and the wall time.
# Toolchain: Debian's rustc-web/cargo-web with std built from rust-web-src (rustup cannot fetch
# targets here). Runs as root (apt-get); CARGO_TARGET_DIR is honoured (default target/cross/cargo).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

BINARY_NAME=ohos-net-websocket
# shellcheck disable=SC2054 # one cargo argument whose value is a comma-separated list
BUILD_STD=(-Zbuild-std=std,panic_unwind)

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

napi_cli() {
  if [[ ! -x "$CROSS_ROOT/node_modules/.bin/napi" ]]; then
    (cd "$CROSS_ROOT" && npm ci --no-audit --no-fund)
  fi
  "$CROSS_ROOT/node_modules/.bin/napi" "$@"
}

# napi build into a private staging dir: --no-js leaves the repo's binding.js alone, and the
# type definitions the CLI always writes land in the staging dir, not on binding.d.ts.
# Symbols are stripped as in napi-rs's release template (strip = "symbols"): a third off the
# size. Not the CLI's --strip: its `-C link-arg=-s` loses to the `-Wl,--strip-debug` that
# cargo's default release `strip = "debuginfo"` has rustc pass (the result keeps .symtab).
napi_build() {
  local platform="$1" triple="$2"
  shift 2
  local stage="$CROSS_OUT/napi/$platform"
  rm -rf "$stage"
  (cd "$CROSS_ROOT" && CARGO_PROFILE_RELEASE_STRIP=symbols napi_cli build --platform --release --no-js \
    --target "$triple" --output-dir "$stage" "$@")
  local built=("$stage"/"$BINARY_NAME".*.node)
  [[ -f "${built[0]}" ]] || cross_die "napi build left no .node in $stage"
  cp "${built[0]}" "$CROSS_OUT/$BINARY_NAME.$platform.node"
}

build_linux_arm64_gnu() {
  local triple=aarch64-unknown-linux-gnu
  cross_apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
  # std from source rather than Debian's libstd-rust-web-dev:arm64: that needs the arm64 dpkg
  # architecture added to the build machine, and the earlier build that used it was no faster.
  napi_build linux-arm64-gnu "$triple" -- "${BUILD_STD[@]}"
}

build_linux_x64_musl() {
  cross_zig
  # A shared object: musl's static CRT cannot be part of a dlopen()ed library, and Rust's own
  # self-contained musl objects would clash with the C library Node.js already has loaded.
  export RUSTFLAGS="-C target-feature=-crt-static -C link-self-contained=no"
  napi_build linux-x64-musl x86_64-unknown-linux-musl -x -- "${BUILD_STD[@]}"
}

build_win32_x64_msvc() {
  cross_apt_install gcc-mingw-w64-x86-64
  # napi-build links windows-gnu targets against libnode.dll, which Node.js does not ship:
  # an empty stand-in satisfies it; napi-sys resolves Node-API in node.exe at run time, so the
  # result imports nothing from it (check with x86_64-w64-mingw32-objdump -p).
  local stub="$CROSS_OUT/win32-libnode"
  mkdir -p "$stub"
  if [[ ! -f "$stub/libnode.dll" ]]; then
    printf 'int ohos_ws_libnode_stub;\n' >"$stub/stub.c"
    x86_64-w64-mingw32-gcc -shared -o "$stub/libnode.dll" "$stub/stub.c"
  fi
  export LIBNODE_PATH="$stub" CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc \
    AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
  napi_build win32-x64-msvc x86_64-pc-windows-gnu -- "${BUILD_STD[@]}"
}

# The portability gate: the crate must type-check and lint clean for macOS, which this host
# cannot link for. C dependencies (ring) are compiled by their build scripts even under
# `cargo check`; zig ships the macOS libc headers they need.
build_darwin_check() {
  cross_zig
  local clippy=1 triple cc
  if ! cross_apt_install rust-web-clippy || [[ ! -x /usr/bin/cargo-clippy ]]; then
    clippy=0
    cross_log "no clippy for Debian's toolchain: cargo check only"
  fi
  local wrappers="$CROSS_OUT/darwin-cc"
  mkdir -p "$wrappers"
  for triple in aarch64-apple-darwin x86_64-apple-darwin; do
    cc="$wrappers/$triple-cc"
    # cc-rs also passes clang's --target=arm64-apple-macosx, a spelling zig's own parser rejects.
    # shellcheck disable=SC2016 # the $ belong to the generated script
    printf '#!/bin/sh\nfor a; do shift; case "$a" in --target=*) ;; *) set -- "$@" "$a" ;; esac; done\nexec zig cc -target %s-macos "$@"\n' \
      "${triple%%-*}" >"$cc"
    chmod +x "$cc"
    local var="${triple//-/_}"
    export "CC_$var=$cc" "AR_$var=$wrappers/zig-ar"
  done
  printf '#!/bin/sh\nexec zig ar "$@"\n' >"$wrappers/zig-ar"
  chmod +x "$wrappers/zig-ar"
  for triple in aarch64-apple-darwin x86_64-apple-darwin; do
    cross_log "cargo check --target $triple"
    (cd "$CROSS_ROOT" && cargo check --release --lib --target "$triple" "${BUILD_STD[@]}")
    if ((clippy)); then
      cross_log "cargo clippy --target $triple -- -D warnings"
      (cd "$CROSS_ROOT" && cargo clippy --release --lib --target "$triple" "${BUILD_STD[@]}" -- -D warnings)
    fi
  done
}

(($# > 0)) || usage
for platform in "$@"; do
  case "$platform" in
    linux-arm64-gnu | linux-x64-musl | win32-x64-msvc | darwin-check) ;;
    *) cross_log "unknown platform: $platform"; usage ;;
  esac
done

mkdir -p "$CROSS_OUT"
cross_apt_install file
for platform in "$@"; do
  (
    cross_debian_rust
    start="$(cross_now)"
    cross_log "build $platform (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    "build_${platform//-/_}"
    if [[ "$platform" != darwin-check ]]; then
      cross_size "$CROSS_OUT/$BINARY_NAME.$platform.node"
      file "$CROSS_OUT/$BINARY_NAME.$platform.node" | sed 's/^[^:]*: /  /'
    fi
    printf '%s: done in %s s\n' "$platform" "$(cross_elapsed "$start")"
  )
done
