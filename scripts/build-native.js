#!/usr/bin/env node
// Builds the addon with node-gyp against the headers of the running Node (offline: never downloads headers).
// Incremental: configures only when build/ is missing or binding.gyp / native/sources.json changed.
//   node scripts/build-native.js [--debug] [--rebuild]
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const { nodeHeadersDir } = require('./node-headers');
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });

function run(cmd) {
  const dir = nodeHeadersDir();
  const full = [nodeGyp, ...cmd, '-j', 'max', ...(dir ? [`--nodedir=${dir}`] : []), ...(args.includes('--debug') ? ['--debug'] : [])];
  const r = spawnSync(process.execPath, full, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const makefile = path.join(root, 'build', 'Makefile');
const stale =
  args.includes('--rebuild') ||
  !fs.existsSync(makefile) ||
  ['binding.gyp', 'native/sources.json'].some((f) => fs.statSync(path.join(root, f)).mtimeMs > fs.statSync(makefile).mtimeMs);
// Sources are globbed at configure time, so a new or removed file also needs a configure.
const listed = path.join(root, 'build', 'sources.list');
const current = spawnSync(process.execPath, [path.join(root, 'scripts', 'gyp-sources.js'), 'all'], { encoding: 'utf8' }).stdout;
const previous = fs.existsSync(listed) ? fs.readFileSync(listed, 'utf8') : '';
if (stale || current !== previous) run(['configure']);
run(['build']);
fs.writeFileSync(listed, current);
