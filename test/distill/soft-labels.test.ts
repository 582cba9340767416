import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import {
  DistiqError, DistiqRangeError, DistiqTypeError, Linear, ReLU, Rng, Sequential, TensorDataset, Tensor,
  cachedTeacher, decodeSafetensors, encodeSafetensors, functionTeacher, generateSoftLabels, loadSoftLabels, modelTeacher,
  type SafeTensor, type SoftLabelManifest, type SoftLabelSource, type Teacher, type TopKTeacher,
} from '../../lib';
import { expectError, expectRejection } from '../helpers/expect-error';
import { Rng as TestRng, baseSeed } from '../helpers/rng';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-sl-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const newDir = (): string => path.join(tmp, `run-${dirCount++}`);

function source(rows: number, features: number, seed = 1): SoftLabelSource & { x: Float32Array } {
  const x = new TestRng(seed).float32Array(rows * features, -3, 3);
  return {
    x, length: rows, sampleShape: [features],
    gatherX(indices, out) {
      for (let b = 0; b < indices.length; b++) out.set(x.subarray(indices[b]! * features, (indices[b]! + 1) * features), b * features);
    },
  };
}

/** A teacher whose logits are a known function of the sample: logits[c] = f32(x_0·(c+1) + x_1 − c/4). */
function affine(classes: number): { teacher: Teacher; expected: (x: Float32Array, features: number) => Float32Array } {
  const fn = (x: Float32Array, features: number): Float32Array => {
    const rows = x.length / features, out = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) for (let c = 0; c < classes; c++) out[r * classes + c] = x[r * features]! * (c + 1) + x[r * features + 1]! - c / 4;
    return out;
  };
  return { teacher: functionTeacher((x) => fn(x.data, x.shape[1]!), { classes, name: 'affine' }), expected: fn };
}

const readManifest = (dir: string): SoftLabelManifest => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as SoftLabelManifest;

/** Reference top-k of one row: by value descending, ties to the lower class index. */
function refTopK(row: ArrayLike<number>, k: number): [number[], number[]] {
  const order = Array.from({ length: row.length }, (_, c) => c).sort((a, b) => (row[b]! - row[a]!) || a - b);
  return [order.slice(0, k), order.slice(0, k).map((c) => row[c]!)];
}

describe('generateSoftLabels + loadSoftLabels (dense)', () => {
  it('writes shards and a manifest in index order; loading gives every row back, gather in any order', async () => {
    const data = source(53, 4), classes = 6, { teacher, expected } = affine(classes);
    const out = newDir(), progress: [number, number][] = [];
    const m = await generateSoftLabels(teacher, data, { out, shardSize: 20, batchSize: 7, temperature: 3, onProgress: (d, t) => progress.push([d, t]) });
    const want = expected(data.x, 4);
    expect(m).toEqual(readManifest(out));
    expect(m).toMatchObject({ format: 'distiq-soft-labels', version: 1, classes, topK: null, temperature: 3, rows: 53, shardSize: 20, complete: true, teacher: { kind: 'function', name: 'affine' } });
    expect(m.data).toMatchObject({ length: 53, sampleShape: [4], samples: [0, 7, 13, 20, 26, 33, 39, 46, 52] });
    expect(m.shards.map((s) => [s.file, s.firstIndex, s.rows])).toEqual([['shard-00000.safetensors', 0, 20], ['shard-00001.safetensors', 20, 20], ['shard-00002.safetensors', 40, 13]]);
    expect(fs.readdirSync(out).sort()).toEqual(['manifest.json', 'shard-00000.safetensors', 'shard-00001.safetensors', 'shard-00002.safetensors']);
    for (const s of m.shards) {
      const buf = fs.readFileSync(path.join(out, s.file));
      expect(buf.length).toBe(s.bytes);
      const st = decodeSafetensors(buf);
      expect(st.metadata).toEqual({ format: 'distiq-soft-labels', first_index: String(s.firstIndex), rows: String(s.rows) });
      expect([...st.tensors.keys()]).toEqual(['logits']);
      expect(st.tensors.get('logits')).toMatchObject({ dtype: 'F32', shape: [s.rows, classes] });
      expect(st.tensors.get('logits')!.data).toEqual(want.subarray(s.firstIndex * classes, (s.firstIndex + s.rows) * classes));
    }
    // Progress: per batch, monotone, from 0 to the total.
    expect(progress[0]).toEqual([0, 53]);
    expect(progress.at(-1)).toEqual([53, 53]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
    const sl = loadSoftLabels(out);
    expect([sl.length, sl.classes, sl.topK, sl.temperature]).toEqual([53, classes, null, 3]);
    const idx = [52, 0, 21, 21, 39];
    const g = sl.gather(idx) as Float32Array;
    expect(g).toEqual(Float32Array.from(idx.flatMap((r) => Array.from(want.subarray(r * classes, (r + 1) * classes)))));
    const into = new Float32Array(idx.length * classes);
    expect(sl.gather(Int32Array.from(idx), into)).toBe(into);
    expect(into).toEqual(g);
    // As a teacher.
    const ct = cachedTeacher(sl);
    expect(ct.predict({ x: Tensor.zeros([2, 4]), indices: Int32Array.of(3, 40) })).toEqual(sl.gather([3, 40]));
    expectError(() => sl.gather([53]), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /indices\[0\] must be an integer in \[0, 52\].*Received number 53/);
    expectError(() => sl.gather([1.5]), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /indices\[0\]/);
    expectError(() => sl.gather([1], new Float32Array(3)), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /out.length to equal 6/);
  });

  it('a labelled Dataset works as data (its gather is used with a scratch label buffer)', async () => {
    const src = source(10, 3, 4);
    const labelled = new TensorDataset(src.x, new Int32Array(10), [3], 2);
    const { teacher } = affine(3);
    const a = newDir(), b = newDir();
    await generateSoftLabels(teacher, src, { out: a, shardSize: 4 });
    // A Dataset without gatherX: its gather is called with a scratch label buffer.
    await generateSoftLabels(teacher, { length: labelled.length, sampleShape: labelled.sampleShape, numClasses: 2, gather: labelled.gather.bind(labelled) }, { out: b, shardSize: 4 });
    for (const f of fs.readdirSync(a)) expect(fs.readFileSync(path.join(b, f)).equals(fs.readFileSync(path.join(a, f)))).toBe(true);
  });
});

describe('top-k soft labels', () => {
  it('keeps the k largest logits per row (ties to the lower class index), as indices I32 + logits F32', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1 << 30 }),
      async (classes, rows, shardSize, seed) => {
        const k = 1 + (seed % classes);
        const r = new TestRng(seed);
        // Few distinct values, so ties are common.
        const table = Float32Array.from({ length: rows * classes }, () => r.int(-3, 3) / 2);
        const teacher = functionTeacher((_x, idx) => Float32Array.from(Array.from(idx).flatMap((i) => Array.from(table.subarray(i * classes, (i + 1) * classes)))), { classes });
        const out = newDir();
        const m = await generateSoftLabels(teacher, source(rows, 2, seed), { out, shardSize, topK: k, batchSize: 1 + (seed % 5) });
        expect(m.topK).toBe(k);
        const sl = loadSoftLabels(out);
        const all = sl.gather(Array.from({ length: rows }, (_, i) => i)) as TopKTeacher;
        expect(all.k).toBe(k);
        for (let i = 0; i < rows; i++) {
          const [ri, rv] = refTopK(table.subarray(i * classes, (i + 1) * classes), k);
          expect(Array.from(all.indices.subarray(i * k, (i + 1) * k))).toEqual(ri);
          expect(Array.from(all.logits.subarray(i * k, (i + 1) * k))).toEqual(rv);
        }
        const st = decodeSafetensors(fs.readFileSync(path.join(out, m.shards[0]!.file)));
        expect(st.tensors.get('indices')).toMatchObject({ dtype: 'I32', shape: [m.shards[0]!.rows, k] });
        expect(st.tensors.get('logits')).toMatchObject({ dtype: 'F32', shape: [m.shards[0]!.rows, k] });
      }), { numRuns: 25, seed: baseSeed | 0 }); // DISTIQ_SEED reproduces a failing run
  });

  it('a top-k teacher (a top-k cache) can feed a smaller top-k, never a dense cache', async () => {
    const data = source(9, 2), { teacher } = affine(8);
    const k4 = newDir();
    await generateSoftLabels(teacher, data, { out: k4, shardSize: 5, topK: 4 });
    const cache4 = cachedTeacher(loadSoftLabels(k4));
    const k2 = newDir(), direct = newDir();
    await generateSoftLabels(cache4, data, { out: k2, shardSize: 5, topK: 2 });
    await generateSoftLabels(teacher, data, { out: direct, shardSize: 5, topK: 2 });
    for (const f of ['shard-00000.safetensors', 'shard-00001.safetensors']) expect(fs.readFileSync(path.join(k2, f)).equals(fs.readFileSync(path.join(direct, f)))).toBe(true);
    await expectRejection(generateSoftLabels(cache4, data, { out: newDir(), shardSize: 5 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /cache teacher 'affine' returns top-k outputs \(k = 4\); dense soft labels need all 8 logits: pass topK ≤ 4/);
    await expectRejection(generateSoftLabels(cache4, data, { out: newDir(), shardSize: 5, topK: 6 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /returns 4 entries per row \(top-k\); topK = 6 needs at least that many/);
  });
});

describe('async teachers with concurrency', () => {
  it('up to `concurrency` calls in flight; the files equal a one-at-a-time run; a failure rejects in batch order', async () => {
    const data = source(45, 3, 6), { expected } = affine(4);
    let inFlight = 0, maxInFlight = 0;
    const server = (failAt = -1) => functionTeacher(async (x, idx) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, ((idx[0]! * 7) % 5) * 3)); // later batches often answer first
      inFlight--;
      if (idx[0] === failAt) throw new RangeError(`server error at ${failAt}`);
      return expected(x.data, 3);
    }, { classes: 4, name: 'server' });
    const one = newDir(), four = newDir();
    await generateSoftLabels(server(), data, { out: one, shardSize: 20, batchSize: 4 });
    expect(maxInFlight).toBe(1);
    maxInFlight = 0;
    await generateSoftLabels(server(), data, { out: four, shardSize: 20, batchSize: 4, concurrency: 4 });
    expect(maxInFlight).toBe(4);
    for (const f of fs.readdirSync(one)) expect(fs.readFileSync(path.join(four, f)).equals(fs.readFileSync(path.join(one, f))), f).toBe(true);
    const out = newDir();
    await expect(generateSoftLabels(server(24), data, { out, shardSize: 20, batchSize: 4, concurrency: 3 })).rejects.toThrow('server error at 24');
    expect(readManifest(out).shards.map((s) => s.firstIndex)).toEqual([0]);
  });
});

describe('resume (in process)', () => {
  it('keeps verified shards, recomputes missing or corrupted ones, and refuses other settings or data', async () => {
    const data = source(30, 3), { teacher } = affine(5);
    const full = newDir();
    await generateSoftLabels(teacher, data, { out: full, shardSize: 8 });
    // Simulate an interrupted run: a manifest listing shards 0 and 2, shard 2 corrupted, shard 3 missing.
    const out = newDir();
    fs.cpSync(full, out, { recursive: true });
    const m = readManifest(out);
    m.shards = [m.shards[0]!, m.shards[2]!];
    m.complete = false;
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
    fs.rmSync(path.join(out, 'shard-00003.safetensors'));
    const s2 = path.join(out, 'shard-00002.safetensors');
    const bytes = fs.readFileSync(s2);
    bytes[bytes.length - 1]! ^= 1;
    fs.writeFileSync(s2, bytes);
    fs.writeFileSync(path.join(out, 'shard-00001.safetensors.tmp-1-0'), 'junk');
    const before0 = fs.statSync(path.join(out, 'shard-00000.safetensors')).mtimeMs;
    const calls: number[] = [];
    const counting: Teacher = { kind: teacher.kind, name: teacher.name, classes: teacher.classes, predict: (b) => { calls.push(b.indices[0]!); return teacher.predict(b); } };
    await generateSoftLabels(counting, data, { out, shardSize: 8 });
    expect(calls).toEqual([8, 16, 24]); // shards 1, 2 (corrupted) and 3; shard 0 kept
    expect(fs.statSync(path.join(out, 'shard-00000.safetensors')).mtimeMs).toBe(before0);
    expect(fs.readdirSync(out).sort()).toEqual(fs.readdirSync(full).sort());
    for (const f of fs.readdirSync(full)) expect(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(full, f))), f).toBe(true);
    // A complete cache: a rerun computes nothing.
    calls.length = 0;
    await generateSoftLabels(counting, data, { out, shardSize: 8 });
    expect(calls).toEqual([]);
    // Other settings or other data are refused, naming what differs.
    await expectRejection(generateSoftLabels(teacher, data, { out, shardSize: 8, topK: 2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /holds soft labels generated with topK null \(this run: 2\); use another "out" directory/);
    await expectRejection(generateSoftLabels(teacher, data, { out, shardSize: 9 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /shardSize 8 \(this run: 9\)/);
    await expectRejection(generateSoftLabels(teacher, data, { out, shardSize: 8, temperature: 2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /temperature 1 \(this run: 2\)/);
    const other = source(30, 3);
    other.x[29 * 3 + 1]! += 1; // the last sample is always hashed
    await expectRejection(generateSoftLabels(teacher, other, { out, shardSize: 8 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /data fingerprint/);
    await expectRejection(generateSoftLabels(affine(5).teacher, source(31, 3), { out, shardSize: 8 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /rows 30 \(this run: 31\)/);
  });
});

describe('worker threads (model teacher)', () => {
  it('workers = 2 writes the same bytes as one thread, dense and top-k', async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/distill/soft-label-worker.js')), 'workers run the compiled library: npm run compile first').toBe(true);
    const rng = new Rng(11);
    const model = new Sequential(new Linear(16, 32, { rng }), new ReLU(), new Linear(32, 10, { rng }));
    const data = source(157, 16, 9);
    for (const topK of [undefined, 3]) {
      const one = newDir(), two = newDir(), progress: number[] = [];
      const m1 = await generateSoftLabels(modelTeacher(model, { batchSize: 13 }), data, { out: one, shardSize: 25, batchSize: 10, topK });
      const m2 = await generateSoftLabels(modelTeacher(model, { batchSize: 13 }), data, { out: two, shardSize: 25, batchSize: 10, topK, workers: 2, onProgress: (d) => progress.push(d) });
      expect(m2).toEqual(m1);
      expect(fs.readdirSync(two).sort()).toEqual(fs.readdirSync(one).sort());
      for (const f of fs.readdirSync(one)) expect(fs.readFileSync(path.join(two, f)).equals(fs.readFileSync(path.join(one, f))), f).toBe(true);
      expect(progress.at(-1)).toBe(157);
    }
    expect(model.training).toBe(true);
  });

  it('a worker error (NaN logits) rejects with the same class and code', async () => {
    const rng = new Rng(12);
    const model = new Sequential(new Linear(4, 3, { rng }));
    const data = source(40, 4, 2);
    data.x[33 * 4] = NaN;
    const e = await expectRejection(generateSoftLabels(modelTeacher(model), data, { out: newDir(), shardSize: 10, workers: 2 }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /model teacher 'Sequential' returned a non-finite logit NaN at row 3 \(dataset index 33\).*worker thread/);
    expect(e.name).toBe('DistiqRangeError');
    // A data source that throws (read on the main thread) rejects with its error; no worker is left running.
    const broken = { ...source(40, 4, 2), gatherX(idx: ArrayLike<number>) { if (idx[0] === 20) throw new RangeError('disk gone'); } };
    await expect(generateSoftLabels(modelTeacher(model), broken, { out: newDir(), shardSize: 10, workers: 2 })).rejects.toThrow('disk gone');
    // A model that a worker cannot rebuild from its config is refused up front.
    class Mystery extends Linear {
      override config() { return { type: 'Mystery' }; }
    }
    await expectRejection(generateSoftLabels(modelTeacher(new Mystery(4, 3)), source(40, 4, 2), { out: newDir(), shardSize: 10, workers: 2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /cannot be rebuilt from its config in a worker thread.*use workers = 1/);
  });
});

describe('corrupted caches', () => {
  async function cache(topK?: number): Promise<string> {
    const out = newDir();
    await generateSoftLabels(affine(5).teacher, source(12, 3), { out, shardSize: 5, topK });
    return out;
  }
  /** Replaces a shard with `bytes` and fixes the manifest's size and hash, so the deeper checks are reached. */
  function replaceShard(out: string, n: number, bytes: Uint8Array): string {
    const m = readManifest(out);
    const file = path.join(out, m.shards[n]!.file);
    fs.writeFileSync(file, bytes);
    m.shards[n]!.bytes = bytes.length;
    m.shards[n]!.sha256 = createHash('sha256').update(bytes).digest('hex');
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
    return file;
  }
  const shardErr = (out: string, file: string, msg: RegExp): Error =>
    expectError(() => loadSoftLabels(out), DistiqError, 'ERR_DISTIQ_INVALID_ARG_VALUE', new RegExp(`Soft-label shard ".*${file}": ${msg.source}`));

  it('a flipped byte, a truncated or missing file: DistiqError naming the shard and the problem', async () => {
    const out = await cache();
    const f = path.join(out, 'shard-00001.safetensors');
    const good = fs.readFileSync(f);
    const bad = Buffer.from(good);
    bad[bad.length - 3]! ^= 0x40;
    fs.writeFileSync(f, bad);
    shardErr(out, 'shard-00001.safetensors', /SHA-256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64} \(the file is corrupted or was changed\)/);
    fs.writeFileSync(f, good.subarray(0, 50));
    shardErr(out, 'shard-00001.safetensors', /50 bytes, the manifest says \d+ \(truncated or replaced\)/);
    fs.rmSync(f);
    shardErr(out, 'shard-00001.safetensors', /cannot read it/);
    fs.writeFileSync(f, good);
    expect(loadSoftLabels(out).length).toBe(12);
  });

  it('wrong header, dtype, shape, metadata, values or indices (with a matching hash) are named', async () => {
    const out = await cache();
    const meta = { format: 'distiq-soft-labels', first_index: '5', rows: '5' };
    const f32 = (n: number, v = 0.5) => new Float32Array(n).fill(v);
    replaceShard(out, 1, Buffer.from('not a safetensors file at all'));
    shardErr(out, 'shard-00001.safetensors', /not a valid safetensors file: bad header length/);
    replaceShard(out, 1, encodeSafetensors(new Map([['logits', { dtype: 'I32', shape: [5, 5], data: new Int32Array(25) }]]), meta));
    shardErr(out, 'shard-00001.safetensors', /tensor "logits" has dtype I32; expected F32/);
    replaceShard(out, 1, encodeSafetensors(new Map([['logits', { dtype: 'F32', shape: [5, 4], data: f32(20) }]]), meta));
    shardErr(out, 'shard-00001.safetensors', /tensor "logits" has shape \[5, 4\]; expected \[5, 5\]/);
    replaceShard(out, 1, encodeSafetensors(new Map([['logits', { dtype: 'F32', shape: [5, 5], data: f32(25) }]]), { ...meta, first_index: '4' }));
    shardErr(out, 'shard-00001.safetensors', /its metadata says first_index "4", rows "5"; the manifest says 5, 5/);
    replaceShard(out, 1, encodeSafetensors(new Map([['logits', { dtype: 'F32', shape: [5, 5], data: f32(25) }], ['extra', { dtype: 'F32', shape: [1], data: f32(1) }]]), meta));
    shardErr(out, 'shard-00001.safetensors', /holds tensors \[extra, logits\]; expected \[logits\]/);
    const nan = f32(25);
    nan[13] = Infinity;
    replaceShard(out, 1, encodeSafetensors(new Map([['logits', { dtype: 'F32', shape: [5, 5], data: nan }]]), meta));
    shardErr(out, 'shard-00001.safetensors', /non-finite logit Infinity in row 7 \(shard row 2\), column 3/);

    const topk = await cache(2);
    const idx = (v: number[]) => ({ dtype: 'I32' as const, shape: [5, 2], data: Int32Array.from(v) });
    replaceShard(topk, 1, encodeSafetensors(new Map<string, SafeTensor>([['indices', idx([0, 1, 2, 3, 4, 0, 1, 2, 3, 5])], ['logits', { dtype: 'F32', shape: [5, 2], data: f32(10) }]]), meta));
    shardErr(topk, 'shard-00001.safetensors', /class index 5 in row 9, entry 1 is outside \[0, 4\]/);
    replaceShard(topk, 1, encodeSafetensors(new Map<string, SafeTensor>([['indices', idx([0, 1, 2, 2, 4, 0, 1, 2, 3, 4])], ['logits', { dtype: 'F32', shape: [5, 2], data: f32(10) }]]), meta));
    shardErr(topk, 'shard-00001.safetensors', /class index 2 appears twice in row 6/);
  });

  it('manifest problems: invalid JSON, wrong fields, gaps and overlaps, an unfinished run', async () => {
    const out = await cache();
    const mfile = path.join(out, 'manifest.json');
    const good = readManifest(out);
    const write = (m: unknown) => fs.writeFileSync(mfile, typeof m === 'string' ? m : JSON.stringify(m));
    const err = (msg: RegExp) => expectError(() => loadSoftLabels(out), DistiqError, 'ERR_DISTIQ_INVALID_ARG_VALUE', msg);
    write('{"format": ');
    err(/manifest.json": the manifest is not valid JSON/);
    write({ ...good, version: 2 });
    err(/unsupported "version" 2/);
    write({ ...good, topK: 6 });
    err(/"topK" must be null \(dense\) or an integer in \[1, 5\], found 6/);
    write({ ...good, shards: [good.shards[0], { ...good.shards[1], file: '../x.safetensors' }, good.shards[2]] });
    err(/shards\[1\].file must be a plain file name/);
    write({ ...good, shards: [good.shards[0], good.shards[2]] });
    err(/rows 5..9 are in no shard \(next shard "shard-00002.safetensors" starts at 10\)/);
    write({ ...good, shards: [good.shards[0], good.shards[0], good.shards[1], good.shards[2]] });
    err(/shard "shard-00000.safetensors" starts at row 0, overlapping the previous shard/);
    write({ ...good, shards: [good.shards[0], good.shards[1]], complete: false });
    err(/incomplete: the shards hold 10 of 12 rows \(finish it by rerunning generateSoftLabels/);
    write(good);
    expect(loadSoftLabels(out).length).toBe(12);
    expectError(() => loadSoftLabels(path.join(out, 'nope')), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /must be an existing directory/);
    expectError(() => loadSoftLabels(42 as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"dir" argument must be a directory path/);
  });
});

describe('shards written by another program (Python, from docs/formats.md)', () => {
  const PY = '/usr/bin/python3', SCRIPT = path.resolve(__dirname, '../fixtures/soft-labels/write_shards.py');
  it.each(['dense', 'topk'])('%s shards load like distiq\'s own', (mode) => {
    const out = newDir();
    execFileSync(PY, [SCRIPT, out, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const sl = loadSoftLabels(out);
    expect([sl.length, sl.classes, sl.temperature]).toEqual([12, 10, 4]);
    const rows = [11, 0, 6, 7];
    if (mode === 'dense') {
      expect(sl.topK).toBe(null);
      expect(sl.gather(rows)).toEqual(Float32Array.from(rows.flatMap((r) => Array.from({ length: 10 }, (_, c) => ((7 * r + 3 * c) % 11) - 5.25))));
    } else {
      expect(sl.topK).toBe(3);
      const g = sl.gather(rows) as TopKTeacher;
      expect(Array.from(g.indices)).toEqual(rows.flatMap((r) => [0, 1, 2].map((j) => (r + 3 * j) % 10)));
      expect(g.logits).toEqual(Float32Array.from(rows.flatMap((r) => [0, 1, 2].map((j) => 2.5 - j - r / 8))));
    }
  });
});

describe('bad input', () => {
  const data = source(10, 3), { teacher } = affine(4);
  const gen = (opts: Record<string, unknown>, t: unknown = teacher, d: unknown = data) => generateSoftLabels(t as Teacher, d as SoftLabelSource, { out: newDir(), ...opts } as never);

  it('options: T <= 0, topK out of range, shardSize <= 0, batchSize, workers, onProgress', async () => {
    await expectRejection(gen({ temperature: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature" argument must be > 0. Received 0/);
    await expectRejection(gen({ temperature: -1 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature" argument must be > 0. Received -1/);
    await expectRejection(gen({ temperature: NaN }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"temperature" argument must be a finite number/);
    await expectRejection(gen({ topK: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topK" argument must be an integer in \[1, 4\]. Received 0/);
    await expectRejection(gen({ topK: 5 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topK" argument must be an integer in \[1, 4\]. Received 5/);
    await expectRejection(gen({ topK: 1.5 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topK"/);
    await expectRejection(gen({ shardSize: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"shardSize" argument must be an integer in \[1, /);
    await expectRejection(gen({ shardSize: -3 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"shardSize"/);
    await expectRejection(gen({ shardSize: '10' }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"shardSize" argument must be an integer. Received string/);
    await expectRejection(gen({ batchSize: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"batchSize"/);
    await expectRejection(gen({ workers: 2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"workers" option \(2\) needs a model teacher.*function teacher 'affine'/);
    await expectRejection(gen({ concurrency: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"concurrency" argument must be an integer in \[1, 1024\]. Received 0/);
    await expectRejection(gen({ onProgress: 3 }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"onProgress" option must be a function/);
  });

  it('out: not a directory, not a string', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    await expectRejection(gen({ out: file }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"out" option must be a directory; ".*a-file" exists and is not a directory/);
    await expectRejection(gen({ out: path.join(file, 'sub') }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /cannot create the directory/);
    await expectRejection(gen({ out: 7 }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"out" option must be a directory path/);
  });

  it('teacher and data: width mismatch, NaN logits, not a teacher, not a data source', async () => {
    const wide = functionTeacher((x) => new Float32Array(x.shape[0]! * 6), { classes: 4, name: 'wide' });
    await expectRejection(gen({}, wide), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /function teacher 'wide' returned 6 columns per row; expected 4/);
    const custom: Teacher = { kind: 'grpc', classes: 4, predict: (b) => new Float32Array(b.indices.length * 3) };
    await expectRejection(gen({}, custom), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /grpc teacher returned 3 columns per row; expected 4/);
    const nan: Teacher = { kind: 'grpc', name: 'edge', classes: 4, predict: (b) => { const o = new Float32Array(b.indices.length * 4); if (b.indices[0] === 6) o[5] = NaN; return o; } };
    const out = newDir();
    await expectRejection(generateSoftLabels(nan, data, { out, shardSize: 3, batchSize: 3 }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /grpc teacher 'edge' returned a non-finite logit NaN at row 1 \(dataset index 7\), class 1/);
    expect(readManifest(out).shards.map((s) => s.firstIndex)).toEqual([0, 3]); // finished shards stay (resumable)
    await expectRejection(gen({}, new Sequential(new Linear(3, 4))), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher" argument must be a Teacher; wrap a model with modelTeacher\(model\)/);
    await expectRejection(gen({}, { classes: 4 }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher" argument must be a Teacher/);
    await expectRejection(gen({}, { kind: 'x', classes: 0, predict() {} }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"teacher.classes"/);
    await expectRejection(gen({}, teacher, new Float32Array(4)), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"data" argument must be a SampleSource or Dataset/);
    await expectRejection(gen({}, teacher, { ...data, length: 0, gatherX: data.gatherX }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"data.length"/);
    await expectRejection(generateSoftLabels(teacher, data, null as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"options" argument must be an object/);
  });
});
