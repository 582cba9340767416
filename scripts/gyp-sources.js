#!/usr/bin/env node
// Expands a group of native/sources.json for binding.gyp: `node scripts/gyp-sources.js <group> [sources|flags]`
// prints one path (relative to the package root) or flag per line. CMake reads the same file itself.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const spec = JSON.parse(fs.readFileSync(path.join(root, 'native', 'sources.json'), 'utf8'));

function expand(pattern) {
  const parts = pattern.split('/');
  let bases = [''];
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const next = [];
    for (const base of bases) {
      if (!part.includes('*')) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      const re = new RegExp(`^${part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
      const dir = path.join(root, base);
      if (!fs.existsSync(dir)) continue;
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (re.test(entry.name) && (last ? entry.isFile() : entry.isDirectory())) next.push(base ? `${base}/${entry.name}` : entry.name);
      }
    }
    bases = next;
  }
  return bases.filter((p) => fs.existsSync(path.join(root, p))).sort();
}

const [group, what = 'sources'] = process.argv.slice(2);
let out;
if (group === 'all') {
  // Every source of every group (used to notice added or removed files).
  out = [...Object.values(spec.groups).flatMap((g) => g.sources.flatMap(expand)), ...spec.addon.flatMap(expand)];
} else if (group === 'addon' || group === 'tests') out = spec[group].flatMap(expand);
else if (group === 'common_flags') out = spec.common_flags;
else if (spec.groups[group]) out = what === 'flags' ? spec.groups[group].flags : spec.groups[group].sources.flatMap(expand);
else {
  process.stderr.write(`gyp-sources: unknown group "${group}"\n`);
  process.exit(2);
}
process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
