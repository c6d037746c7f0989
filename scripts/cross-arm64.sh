#!/usr/bin/env bash
# Cross-builds the addon for linux-arm64-gnu with Debian's packages alone, and smoke-tests
# it under qemu-user with Debian's arm64 Node.js (issue #9, item 2). Not part of CI: it
# installs a second Rust toolchain (rustc-web/cargo-web 1.96, whose /usr/bin/cargo and
# /usr/bin/rustc sit next to rustup's) and takes a few minutes. Run as root on Debian 12:
#   npm run build && scripts/cross-arm64.sh   # build + smoke test; the .node is left in target/arm64/
# What it does, step by step:
#   1. dpkg --add-architecture arm64; apt-get install rustc-web cargo-web
#      libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu qemu-user
#   2. cargo (Debian's, with RUSTC=/usr/bin/rustc) build --release --target
#      aarch64-unknown-linux-gnu, linking with aarch64-linux-gnu-gcc (ring's C code too)
#   3. downloads nodejs:arm64 and its libraries (apt-get download, no install) into a
#      sysroot and runs examples/echo-demo.mjs — client and server — under qemu-aarch64.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$root/target/arm64"
mkdir -p "$work/debs" "$work/sysroot"

if ! dpkg --print-foreign-architectures | grep -qx arm64; then dpkg --add-architecture arm64; fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rustc-web cargo-web libstd-rust-web-dev:arm64 \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null

echo "== cross build"
(cd "$root" && RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
  CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar \
  CARGO_TARGET_DIR="$work/target" /usr/bin/cargo build --release --lib --target aarch64-unknown-linux-gnu \
  --config 'target.aarch64-unknown-linux-gnu.linker="aarch64-linux-gnu-gcc"')
cp "$work/target/aarch64-unknown-linux-gnu/release/libohos_net_websocket.so" "$work/ohos-net-websocket.linux-arm64-gnu.node"
file "$work/ohos-net-websocket.linux-arm64-gnu.node"

echo "== arm64 Node.js under qemu"
(cd "$work/debs" && apt-get download -qq nodejs:arm64 libnode108:arm64 libuv1:arm64 libc-ares2:arm64 \
  libbrotli1:arm64 libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64 zlib1g:arm64 libstdc++6:arm64 \
  libgcc-s1:arm64 libc6:arm64 node-acorn node-cjs-module-lexer node-undici 2>/dev/null)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/sysroot"; done
node_arm64=(qemu-aarch64 -L "$work/sysroot" "$work/sysroot/usr/bin/node")
"${node_arm64[@]}" --version

# A checkout whose local binary is the arm64 one (the loader picks it by platform).
smoke="$work/checkout"
rm -rf "$smoke" && mkdir -p "$smoke"
cp -r "$root/index.js" "$root/lib" "$root/examples" "$root/package.json" "$root/binding.js" "$smoke/"
cp "$work/ohos-net-websocket.linux-arm64-gnu.node" "$smoke/"
"${node_arm64[@]}" "$smoke/examples/echo-demo.mjs"
echo "cross-arm64: the arm64 build runs the documented example against its own server under qemu"
