import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import * as lib from '../../lib';

interface Fixture {
  ROWS: number;
  SETTINGS: { shardSize: number; batchSize: number; topK: number; temperature: number };
  makeData(): lib.SoftLabelSource;
  makeTeacher(l: typeof lib, delayMs: number, onCall?: (first: number) => void): lib.Teacher;
}
const CHILD = path.resolve(__dirname, '../fixtures/soft-labels/child.js');
const fixture = createRequire(__filename)(CHILD) as Fixture;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-sl-kill-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const manifestOf = (dir: string): lib.SoftLabelManifest | null => {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as lib.SoftLabelManifest;
  } catch {
    return null;
  }
};

/** Runs the child on the compiled library and SIGKILLs it once the manifest lists a finished shard. */
async function killAfterFirstShard(out: string, delayMs: number): Promise<'killed' | 'finished'> {
  const dist = path.resolve(__dirname, '../../dist/index.js');
  const child = spawn(process.execPath, [CHILD, dist, out, String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let finished = false;
  child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('done')) finished = true; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const m = manifestOf(out);
      if ((m !== null && m.shards.length >= 1) || child.exitCode !== null) {
        child.kill('SIGKILL');
        clearInterval(poll);
        resolve();
      }
    }, 2);
  });
  const code = await exited;
  expect(code === null || finished, `the child failed with exit code ${code}`).toBe(true);
  return finished ? 'finished' : 'killed';
}

describe('soft-label generation survives SIGKILL', () => {
  it('the rerun keeps the finished shards and produces files byte-identical to an uninterrupted run', async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/index.js')), 'the child process runs the compiled library: npm run compile first').toBe(true);
    const { ROWS, SETTINGS } = fixture;
    const shards = Math.ceil(ROWS / SETTINGS.shardSize), batchesPerShard = Math.ceil(SETTINGS.shardSize / SETTINGS.batchSize);

    // Interrupted run (child process), retried with a slower teacher if the child won the race and finished.
    let out = '', outcome: 'killed' | 'finished' = 'finished';
    for (let attempt = 0, delay = 40; attempt < 4 && outcome === 'finished'; attempt++, delay *= 2) {
      out = path.join(tmp, `killed-${attempt}`);
      outcome = await killAfterFirstShard(out, delay);
    }
    expect(outcome).toBe('killed');
    const partial = manifestOf(out)!;
    expect(partial.complete).toBe(false);
    expect(partial.shards.length).toBeGreaterThanOrEqual(1);
    expect(partial.shards.length).toBeLessThan(shards);
    const kept = new Map(partial.shards.map((s) => [s.file, fs.readFileSync(path.join(out, s.file))]));
    const keptFirst = new Set(partial.shards.map((s) => s.firstIndex));
    expect(() => lib.loadSoftLabels(out)).toThrow(/incomplete: the shards hold \d+ of 200 rows/);

    // Rerun (in this process, same teacher without the delay): only the missing shards are computed.
    const calls: number[] = [];
    await lib.generateSoftLabels(fixture.makeTeacher(lib, 0, (first) => calls.push(first)), fixture.makeData(), { out, ...SETTINGS });
    expect(calls.length).toBe((shards - partial.shards.length) * batchesPerShard);
    for (const first of calls) expect(keptFirst.has(first - (first % SETTINGS.shardSize))).toBe(false);
    for (const [file, bytes] of kept) expect(fs.readFileSync(path.join(out, file)).equals(bytes), `${file} kept as it was`).toBe(true);

    // Uninterrupted run.
    const full = path.join(tmp, 'full');
    await lib.generateSoftLabels(fixture.makeTeacher(lib, 0), fixture.makeData(), { out: full, ...SETTINGS });
    const names = fs.readdirSync(full).sort();
    expect(names.length).toBe(shards + 1);
    expect(fs.readdirSync(out).sort()).toEqual(names); // no stray temporary file left
    for (const f of names) expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(full, f))), `${f} byte-identical`).toBe(true);
    const sl = lib.loadSoftLabels(out);
    expect(sl.length).toBe(ROWS);
    expect(sl.topK).toBe(SETTINGS.topK);
  });
});
