#!/usr/bin/env node
// Builds the C++ kernel library and its tests with CMake (driven by cmake-js, which needs no download for this
// Node-free library) and runs them (npm run test:native).
//   node scripts/test-native.js [--sanitize] [--isa <level>] [--build-only] [filter]
// --sanitize builds with -fsanitize=address,undefined in native/build-asan; --isa sets DISTIQ_ISA for the run.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');
const os = require('os');
const { nodeHeadersDir } = require('./node-headers');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const sanitize = argv.includes('--sanitize');
const isaAt = argv.indexOf('--isa');
const isa = isaAt >= 0 ? argv[isaAt + 1] : undefined;
const filter = argv.filter((a, i) => !a.startsWith('--') && (isaAt < 0 || i !== isaAt + 1));
const buildDir = path.join(root, 'native', sanitize ? 'build-asan' : 'build');

function run(cmd, args, env) {
  const headers = nodeHeadersDir();
  const r = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...(headers ? { npm_config_nodedir: headers } : {}), ...env },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length));
run(process.execPath, [cmakeJs, 'compile', '--directory', 'native', '--out', buildDir, '--config', 'Release',
  '--parallel', jobs, `--CDDISTIQ_SANITIZE=${sanitize ? 'ON' : 'OFF'}`]);
if (!argv.includes('--build-only')) run(path.join(buildDir, 'distiq_tests'), filter, isa ? { DISTIQ_ISA: isa } : {});
