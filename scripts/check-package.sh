#!/usr/bin/env bash
# Packs distiq as users get it (npm pack, with the linux-x64 and linux-arm64 prebuilds) and installs the tarball in
# an empty project: require('distiq') and import must work from the prebuild alone, with no compiler step.
# Prints "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
passed=0
failed=0
# The first argument of check() is its description; the command follows it.
check() {
  local what=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $what"; else failed=$((failed + 1)); echo "FAIL $what"; fi
}

[ -f dist/index.js ] || npm run build:ts --silent
if [ ! -f prebuilds/linux-x64/distiq.node ] || [ "${DISTIQ_REBUILD_PREBUILDS:-0}" = 1 ]; then
  npm run prebuild --silent || { echo "prebuild failed"; echo "0 passed, 1 failed"; exit 1; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
check "npm pack produced $tarball" test -f "$work/$tarball"
check "the tarball holds the x64 prebuild" sh -c "tar tzf '$work/$tarball' | grep -q 'package/prebuilds/linux-x64/distiq.node'"
check "the tarball holds the arm64 prebuild" sh -c "tar tzf '$work/$tarball' | grep -q 'package/prebuilds/linux-arm64/distiq.node'"
check "the tarball holds the type declarations" sh -c "tar tzf '$work/$tarball' | grep -q 'package/dist/index.d.ts'"

mkdir -p "$work/app"
cd "$work/app"
npm init -y >/dev/null
# No compiler on PATH for the install: node-gyp-build must find the prebuild and never try to build.
check "npm install of the tarball" sh -c "PATH=/usr/local/bin:/usr/bin:/bin CXX=/bin/false CC=/bin/false npm install --no-audit --no-fund '$work/$tarball' >install.log 2>&1 || { cat install.log; exit 1; }"
check "nothing was compiled at install" test ! -d node_modules/distiq/build
check "require('distiq').cpuInfo() loads the prebuild" node -e "
  const d = require('distiq'); const i = d.cpuInfo(); console.log(i);
  const p = require.resolve('distiq'); if (!p.includes('node_modules/distiq')) process.exit(1);"
check "import { cpuInfo } from 'distiq'" node --input-type=module -e "import { cpuInfo } from 'distiq'; if (!cpuInfo().isa) process.exit(1)"
cd "$root"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
