import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel } from '../../lib';
import { parseDemoArgs, runDemo, type DemoReport } from '../../lib/cli/demo';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-demo-test-'));
}

describe('npm run demo (runDemo)', () => {
  it('writes the report and the four models, and the same seed gives the same accuracies', async () => {
    const a = tmpDir(), b = tmpDir();
    const lines: string[] = [];
    try {
      const r1 = await runDemo({ out: a, seeds: 1, print: (l) => lines.push(l) });
      const r2 = await runDemo({ out: b, seeds: 1, print: () => {} });
      expect(r1.rows.map((r) => r.name)).toEqual(['teacher', 'student alone', 'distilled student', 'distilled, no labels']);
      expect(r2.rows.map((r) => r.accuracies)).toEqual(r1.rows.map((r) => r.accuracies));
      for (const row of r1.rows) {
        expect(row.accuracy).toBeGreaterThan(0.5);
        expect(row.accuracy).toBeLessThanOrEqual(1);
        expect(row.bytes).toBe(fs.statSync(row.file).size);
        expect(path.dirname(row.file)).toBe(path.resolve(a));
        const model = loadModel(row.file);
        expect(model.parameterCount()).toBe(row.parameters);
        expect(row.latencyUs).toBeGreaterThan(0);
      }
      const [teacher, alone] = r1.rows;
      expect(teacher!.parameters).toBe(64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
      expect(alone!.parameters).toBe(64 * 32 + 32 + 32 * 10 + 10);
      expect(teacher!.bytes).toBeGreaterThan(10 * alone!.bytes);
      const json = JSON.parse(fs.readFileSync(r1.files.json, 'utf8')) as Omit<DemoReport, 'files'>;
      expect(json.rows.map((r) => r.accuracy)).toEqual(r1.rows.map((r) => r.accuracy));
      const md = fs.readFileSync(r1.files.markdown, 'utf8');
      for (const row of r1.rows) expect(md).toContain(`| ${row.name} |`);
      // The printed table has a header and one line per model, and the last line says where the files went.
      expect(lines.some((l) => /^model\s+test accuracy/.test(l))).toBe(true);
      expect(lines[lines.length - 1]).toContain(r1.files.markdown);
    } finally {
      fs.rmSync(a, { recursive: true, force: true });
      fs.rmSync(b, { recursive: true, force: true });
    }
  }, 120_000);

  it('parses its options and rejects bad ones with a message naming the option', () => {
    expect(parseDemoArgs(['--out', 'x', '--seed', '7', '--seeds=2'])).toEqual({ out: 'x', seed: 7, seeds: 2 });
    expect(parseDemoArgs(['--help'])).toBe('help');
    expect(() => parseDemoArgs(['--seeds', '0'])).toThrow(/--seeds must be an integer in \[1, 20\], got "0"/);
    expect(() => parseDemoArgs(['--seed', 'x'])).toThrow(/--seed must be an integer/);
    expect(() => parseDemoArgs(['--out'])).toThrow(/--out needs a value/);
    expect(() => parseDemoArgs(['--fast'])).toThrow(/unknown argument "--fast"/);
  });
});
