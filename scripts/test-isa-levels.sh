#!/usr/bin/env bash
# For every ISA level this CPU runs: load distiq with DISTIQ_ISA=<level>, print the kernels cpuInfo() reports, and
# run the C++ kernel tests and the vitest kernel suites with that cap (npm run test:isa). Needs a compiled addon and
# dist/ (npm test or npm run compile first).
#   bash scripts/test-isa-levels.sh [--cxx-only]
set -uo pipefail
cd "$(dirname "$0")/.."
cxx_only=0
[ "${1:-}" = "--cxx-only" ] && cxx_only=1
levels=$(node -e "console.log(require('./dist').cpuInfo().available.join(' '))") || exit 1
node scripts/test-native.js --build-only > /dev/null || { echo 'C++ test build failed'; exit 1; }
status=0
for level in $levels; do
  echo "=== DISTIQ_ISA=$level"
  DISTIQ_ISA=$level node -e "
    const i = require('./dist').cpuInfo();
    if (i.isa !== process.env.DISTIQ_ISA) { console.error('active level is ' + i.isa); process.exit(1); }
    console.log('cpuInfo().isa = ' + i.isa + '; kernels: ' + Object.entries(i.kernels).map(([k, v]) => k + '=' + v).join(' '));
  " || status=1
  DISTIQ_ISA=$level native/build/distiq_tests | tail -n 1 | sed "s/^/C++ tests ($level): /"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  if [ "$cxx_only" = 0 ]; then
    DISTIQ_ISA=$level NO_COLOR=1 npx vitest run test/ops 2>&1 | grep -E '^ +(Tests|Test Files) ' | sed "s/^ */vitest ($level): /"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  fi
done
exit $status
