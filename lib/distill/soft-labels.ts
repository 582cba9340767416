/**
 * Soft-label cache: a teacher's logits for every sample of a dataset, computed once and stored as sharded safetensors
 * files + manifest.json (docs/formats.md "Soft labels"), then read back by dataset index.
 *
 * generateSoftLabels runs the teacher over the data in index order, shard by shard (shard s = rows
 * [s·shardSize, min((s+1)·shardSize, N)), batches of `batchSize` rows from the shard's start). Each shard file is
 * written atomically, then the manifest (also atomically) lists it with its byte size and SHA-256, so an interrupted
 * run leaves only complete, verifiable shards. A rerun with the same settings and data keeps every listed shard whose
 * file still has its recorded hash and computes only the rest; different settings or data (fingerprint: length,
 * sample shape, SHA-256 of a few samples) are refused. With a model teacher and `workers` > 1, shards run in worker
 * threads that load the model from a saved model file; the shards are bit-identical to a single-thread run.
 *
 * loadSoftLabels validates the manifest and every shard (size, hash, header, dtypes, shapes, metadata, values) and
 * holds all rows in memory; gather(indices) returns dense logits or a TopKTeacher in the order of `indices`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

import type { Dataset } from '../data/dataset';
import { DistiqError, DistiqRangeError, DistiqTypeError, type DistiqErrorCode } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { saveModel } from '../io/model-file';
import { decodeSafetensors } from '../io/safetensors';
import { buildModule } from '../nn/build';
import { formatShape, shapeSize } from '../tensor/shape';
import { describe, expectFinite, expectInteger } from '../validate';
import { computeShard, encodeShard, SHARD_FORMAT, sha256Hex, shardFileName, type ShardRows } from './soft-label-shard';
import { expectOptions } from './options';
import type { SampleSource } from './unlabeled';
import { expectTeacher, ModelTeacher, teacherLabel, type Teacher, type TeacherOutput, type TopKTeacher } from './teacher';

/** The manifest's `format` (docs/formats.md "Soft labels"). */
export const SOFT_LABELS_FORMAT = SHARD_FORMAT;
/** The manifest `version` this distiq writes and reads. */
export const SOFT_LABELS_VERSION = 1;
const MANIFEST = 'manifest.json';
const GENERATE_KEYS = Object.keys({
  out: 1, shardSize: 1, topK: 1, temperature: 1, batchSize: 1, workers: 1, concurrency: 1, onProgress: 1,
} satisfies Record<keyof GenerateSoftLabelsOptions, 1>);

/** The inputs: a SampleSource (no labels), or a Dataset (`gatherX` when it has one, else `gather` into a scratch label buffer). */
export type SoftLabelSource = SampleSource | Dataset;

/** What the code below relies on (both members of SoftLabelSource have it). */
interface AnySource {
  readonly length: number;
  readonly sampleShape: readonly number[];
  gatherX?(indices: ArrayLike<number>, x: Float32Array): void;
  gather?(indices: ArrayLike<number>, x: Float32Array, y: Int32Array): void;
}

/** Options of `generateSoftLabels`. */
export interface GenerateSoftLabelsOptions {
  /** Output directory (created when missing). */
  out: string;
  /** Rows per shard file (default 10000). */
  shardSize?: number;
  /** Keep only the k largest logits per row (indices + logits); default: all logits (dense). */
  topK?: number;
  /** Recorded in the manifest for the consumer; the stored logits stay raw (default 1). */
  temperature?: number;
  /** Rows per teacher call (default min(shardSize, 256)). */
  batchSize?: number;
  /** Worker threads for a model teacher (default 1: the calling thread). */
  workers?: number;
  /** predict() calls in flight at once, for async teachers such as a model server (default 1). */
  concurrency?: number;
  /** Called with (rows done, total rows) as batches (one thread) or shards (workers) finish. */
  onProgress?: (done: number, total: number) => void;
}

/** One shard as listed in the manifest (docs/formats.md). */
export interface SoftLabelShardEntry {
  file: string;
  firstIndex: number;
  rows: number;
  bytes: number;
  sha256: string;
}

/** What the manifest records of the inputs, so a resumed run can refuse other data. */
export interface DataFingerprint {
  length: number;
  sampleShape: number[];
  /** Indices of the hashed samples. */
  samples: number[];
  /** SHA-256 of those samples' float32 bytes, in that order. */
  sha256: string;
}

/** manifest.json of a soft-label cache (docs/formats.md "Soft labels"). */
export interface SoftLabelManifest {
  format: typeof SOFT_LABELS_FORMAT;
  version: number;
  classes: number;
  topK: number | null;
  temperature: number;
  rows: number;
  shardSize: number;
  complete: boolean;
  teacher: { kind: string; name: string | null } | null;
  data: DataFingerprint | null;
  shards: SoftLabelShardEntry[];
}

/** A loaded soft-label cache (loadSoftLabels): every row in memory, read by dataset index. */
export interface SoftLabels {
  readonly length: number;
  readonly classes: number;
  readonly topK: number | null;
  readonly temperature: number;
  readonly manifest: SoftLabelManifest;
  /** Rows `indices` (in that order): dense [n, classes], or top-k [n, k]. `out` (optional) is filled and returned. */
  gather(indices: ArrayLike<number>, out?: TeacherOutput): TeacherOutput;
}

// ---------------------------------------------------------------------------------------------------------------
// generate

function expectSource(data: unknown): asserts data is AnySource {
  const d = data as AnySource;
  if (d === null || typeof d !== 'object' || (typeof d.gatherX !== 'function' && typeof d.gather !== 'function')) {
    throw new DistiqTypeError(`The "data" argument must be a SampleSource or Dataset (with gatherX or gather). Received ${describe(data)}`);
  }
  expectInteger('data.length', d.length, 1);
  if (!Array.isArray(d.sampleShape)) throw new DistiqTypeError(`The "data.sampleShape" property must be an array. Received ${describe(d.sampleShape)}`);
  shapeSize(d.sampleShape, 'data.sampleShape');
}

function gatherer(data: AnySource): (indices: Int32Array, x: Float32Array) => void {
  if (typeof data.gatherX === 'function') return (i, x) => data.gatherX!(i, x);
  let y = new Int32Array(0);
  return (i, x) => {
    if (y.length < i.length) y = new Int32Array(i.length);
    data.gather!(i, x, y.subarray(0, i.length));
  };
}

function range(first: number, n: number): Int32Array {
  const r = new Int32Array(n);
  for (let i = 0; i < n; i++) r[i] = first + i;
  return r;
}

/** Length, sample shape and the SHA-256 of up to 9 evenly spaced samples (first and last included). */
export function dataFingerprint(data: SoftLabelSource): DataFingerprint {
  expectSource(data);
  const n = data.length, stride = shapeSize(data.sampleShape);
  const picks = [...new Set(Array.from({ length: 9 }, (_, i) => Math.round((i * (n - 1)) / 8)))];
  const x = new Float32Array(picks.length * stride);
  gatherer(data)(Int32Array.from(picks), x);
  return { length: n, sampleShape: [...data.sampleShape], samples: picks, sha256: sha256Hex(new Uint8Array(x.buffer)) };
}

function settingsMismatch(old: SoftLabelManifest, want: SoftLabelManifest): string | null {
  const fields: [string, unknown, unknown][] = [
    ['format', old.format, want.format],
    ['version', old.version, want.version],
    ['classes', old.classes, want.classes],
    ['topK', old.topK, want.topK],
    ['temperature', old.temperature, want.temperature],
    ['shardSize', old.shardSize, want.shardSize],
    ['rows', old.rows, want.rows],
    ['teacher', JSON.stringify(old.teacher), JSON.stringify(want.teacher)],
    ['data fingerprint', JSON.stringify(old.data), JSON.stringify(want.data)],
  ];
  for (const [name, a, b] of fields) if (a !== b) return `${name} ${typeof a === 'string' ? a : JSON.stringify(a)} (this run: ${typeof b === 'string' ? b : JSON.stringify(b)})`;
  return null;
}

function fileOk(dir: string, e: SoftLabelShardEntry): boolean {
  try {
    const buf = fs.readFileSync(path.join(dir, e.file));
    return buf.length === e.bytes && sha256Hex(buf) === e.sha256;
  } catch {
    return false;
  }
}

function prepareOut(out: unknown): string {
  if (typeof out !== 'string' || out === '') throw new DistiqTypeError(`The "out" option must be a directory path (string). Received ${describe(out)}`);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(out);
  } catch {
    st = undefined;
  }
  if (st !== undefined && !st.isDirectory()) throw new DistiqRangeError(`The "out" option must be a directory; "${out}" exists and is not a directory`);
  if (st === undefined) {
    try {
      fs.mkdirSync(out, { recursive: true });
    } catch (err) {
      throw new DistiqRangeError(`The "out" option: cannot create the directory "${out}": ${(err as Error).message}`);
    }
  }
  return out;
}

function writeManifest(dir: string, m: SoftLabelManifest): void {
  m.shards.sort((a, b) => a.firstIndex - b.firstIndex);
  m.complete = m.shards.reduce((s, e) => s + e.rows, 0) === m.rows;
  writeFileAtomic(path.join(dir, MANIFEST), Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8'));
}

/**
 * Runs `teacher` once over `data` (index order) and writes the soft-label cache to `options.out`; resumes an
 * interrupted run in the same directory. Returns the final manifest.
 */
export async function generateSoftLabels(teacher: Teacher, data: SoftLabelSource, options: GenerateSoftLabelsOptions): Promise<SoftLabelManifest> {
  expectTeacher('teacher', teacher);
  expectSource(data);
  if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object with "out". Received ${describe(options)}`);
  expectOptions('generateSoftLabels() options', options, GENERATE_KEYS);
  const shardSize = options.shardSize ?? 10000;
  expectInteger('shardSize', shardSize, 1);
  const topK = options.topK ?? null;
  if (topK !== null) expectInteger('topK', topK, 1, teacher.classes);
  const temperature = options.temperature ?? 1;
  expectFinite('temperature', temperature, { min: 0, exclusiveMin: true });
  const batchSize = options.batchSize ?? Math.min(shardSize, 256);
  expectInteger('batchSize', batchSize, 1);
  const workers = options.workers ?? 1;
  expectInteger('workers', workers, 1, 256);
  if (workers > 1 && !(teacher instanceof ModelTeacher)) {
    throw new DistiqRangeError(`The "workers" option (${workers}) needs a model teacher (modelTeacher(model)); this is a ${teacherLabel(teacher)}: use workers = 1`);
  }
  const concurrency = options.concurrency ?? 1;
  expectInteger('concurrency', concurrency, 1, 1024);
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new DistiqTypeError(`The "onProgress" option must be a function. Received ${describe(onProgress)}`);
  const dir = prepareOut(options.out);

  const rows = data.length;
  const manifest: SoftLabelManifest = {
    format: SOFT_LABELS_FORMAT,
    version: SOFT_LABELS_VERSION,
    classes: teacher.classes,
    topK,
    temperature,
    rows,
    shardSize,
    complete: false,
    teacher: { kind: teacher.kind, name: teacher.name ?? null },
    data: dataFingerprint(data),
    shards: [],
  };
  const shardCount = Math.ceil(rows / shardSize);
  const manifestFile = path.join(dir, MANIFEST);
  if (fs.existsSync(manifestFile)) {
    const old = readManifest(dir);
    const diff = settingsMismatch(old, manifest);
    if (diff !== null) {
      throw new DistiqRangeError(`"${dir}" holds soft labels generated with ${diff}; use another "out" directory or delete this one to start over`);
    }
    for (const e of old.shards) {
      const s = e.firstIndex / shardSize;
      const want = Math.min(shardSize, rows - e.firstIndex);
      if (Number.isInteger(s) && s < shardCount && e.rows === want && e.file === shardFileName(s) && fileOk(dir, e)) manifest.shards.push(e);
    }
  }
  // Stray temporary files of an interrupted run in this directory.
  for (const name of fs.readdirSync(dir)) {
    if (/^(shard-\d+\.safetensors|manifest\.json)\.tmp-/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
  }
  writeManifest(dir, manifest);

  const have = new Set(manifest.shards.map((e) => e.firstIndex / shardSize));
  const todo: number[] = [];
  for (let s = 0; s < shardCount; s++) if (!have.has(s)) todo.push(s);
  let done = manifest.shards.reduce((n, e) => n + e.rows, 0);
  onProgress?.(done, rows);

  const geometry = (s: number) => ({ first: s * shardSize, count: Math.min(shardSize, rows - s * shardSize) });
  const finish = (s: number, out: ShardRows): void => {
    const { first, count } = geometry(s);
    const bytes = encodeShard(out, first, count, teacher.classes, topK);
    const file = shardFileName(s);
    writeFileAtomic(path.join(dir, file), bytes);
    manifest.shards.push({ file, firstIndex: first, rows: count, bytes: bytes.length, sha256: sha256Hex(bytes) });
    writeManifest(dir, manifest);
  };
  const gather = gatherer(data);
  const stride = shapeSize(data.sampleShape);
  const shardX = (s: number): Float32Array => {
    const { first, count } = geometry(s);
    const x = new Float32Array(count * stride);
    gather(range(first, count), x);
    return x;
  };

  if (workers > 1 && todo.length > 1) {
    await runInWorkers(teacher as ModelTeacher, Math.min(workers, todo.length), todo, {
      sampleShape: [...data.sampleShape], batchSize, topK, geometry, shardX,
      finish: (s, out) => {
        finish(s, out);
        done += geometry(s).count;
        onProgress?.(done, rows);
      },
    });
  } else {
    for (const s of todo) {
      const { first, count } = geometry(s);
      const out = await computeShard(teacher, shardX(s), data.sampleShape, first, count, batchSize, topK, (r) => onProgress?.(done + r, rows), concurrency);
      finish(s, out);
      done += count;
    }
  }
  return manifest;
}

function workerScript(): string {
  const candidates = [path.join(__dirname, 'soft-label-worker.js'), path.resolve(__dirname, '../../dist/distill/soft-label-worker.js')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new DistiqError(`The soft-label worker script is missing (looked for ${candidates.join(', ')}); run npm run compile`, 'ERR_DISTIQ_INTERNAL');
}

interface WorkerPlan {
  sampleShape: number[];
  batchSize: number;
  topK: number | null;
  geometry: (s: number) => { first: number; count: number };
  shardX: (s: number) => Float32Array;
  finish: (s: number, out: ShardRows) => void;
}

type WorkerReply = { shard: number; logits: Float32Array; indices: Int32Array | null; error?: undefined } | { shard: number; error: { name: string; code?: string; message: string; stack?: string } };

function rebuildError(e: { name: string; code?: string; message: string; stack?: string }): Error {
  const code = (e.code ?? 'ERR_DISTIQ_INTERNAL') as DistiqErrorCode;
  const msg = `${e.message} (in a soft-label worker thread)`;
  const err = e.name === 'DistiqTypeError' ? new DistiqTypeError(msg, code) : e.name === 'DistiqRangeError' ? new DistiqRangeError(msg, code) : new DistiqError(msg, code);
  if (e.stack) err.stack = `${err.name}: ${msg}\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

async function runInWorkers(teacher: ModelTeacher, n: number, todo: number[], plan: WorkerPlan): Promise<void> {
  try {
    buildModule(teacher.model.config());
  } catch (err) {
    throw new DistiqRangeError(`workers > 1: the teacher model cannot be rebuilt from its config in a worker thread (${(err as Error).message}); use workers = 1`);
  }
  const script = workerScript();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-teacher-'));
  const modelFile = path.join(tmp, 'teacher.safetensors');
  const pool: Worker[] = [];
  try {
    saveModel(modelFile, teacher.model);
    // Shard batches of plan.batchSize rows (as on one thread); the model teacher cuts each call at its own batchSize.
    const init = { modelFile, classes: teacher.classes, name: teacher.name, teacherBatchSize: teacher.batchSize, batchSize: plan.batchSize, topK: plan.topK, sampleShape: plan.sampleShape };
    const queue = todo.slice();
    await new Promise<void>((resolve, reject) => {
      let active = 0, failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        reject(err);
      };
      const feed = (w: Worker): void => {
        const s = queue.shift();
        if (s === undefined || failed) {
          active--;
          if (active === 0 && !failed) resolve();
          return;
        }
        try {
          const { first, count } = plan.geometry(s);
          const x = plan.shardX(s); // the data source is read on this thread only
          w.postMessage({ shard: s, first, rows: count, x }, [x.buffer as ArrayBuffer]);
        } catch (err) {
          fail(err);
        }
      };
      for (let i = 0; i < n; i++) {
        const w = new Worker(script, { workerData: init });
        pool.push(w);
        active++;
        w.on('message', (m: WorkerReply) => {
          if (failed) return;
          if (m.error !== undefined) return fail(rebuildError(m.error));
          try {
            plan.finish(m.shard, { logits: m.logits, indices: m.indices });
          } catch (err) {
            return fail(err);
          }
          feed(w);
        });
        w.on('error', (err) => fail(new DistiqError(`A soft-label worker thread failed: ${err.message}`, 'ERR_DISTIQ_INTERNAL', { cause: err })));
        w.on('exit', (code) => {
          if (code !== 0) fail(new DistiqError(`A soft-label worker thread exited with code ${code}`, 'ERR_DISTIQ_INTERNAL'));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// load

function corrupt(what: string, msg: string): never {
  throw new DistiqError(`${what}: ${msg}`, 'ERR_DISTIQ_INVALID_ARG_VALUE');
}

function readManifest(dir: string): SoftLabelManifest {
  const file = path.join(dir, MANIFEST);
  const what = `Soft labels "${file}"`;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new DistiqRangeError(`${what}: cannot read the manifest (${(err as Error).message})`);
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (err) {
    corrupt(what, `the manifest is not valid JSON (${(err as Error).message})`);
  }
  return validateManifest(what, m);
}

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

function validateManifest(what: string, raw: unknown): SoftLabelManifest {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) corrupt(what, 'the manifest must be a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== SOFT_LABELS_FORMAT) corrupt(what, `"format" must be "${SOFT_LABELS_FORMAT}", found ${JSON.stringify(m.format)}`);
  if (m.version !== SOFT_LABELS_VERSION) corrupt(what, `unsupported "version" ${JSON.stringify(m.version)} (this distiq reads version ${SOFT_LABELS_VERSION})`);
  if (!isInt(m.classes, 1)) corrupt(what, `"classes" must be an integer >= 1, found ${JSON.stringify(m.classes)}`);
  const classes = m.classes;
  if (m.topK !== null && !(isInt(m.topK, 1) && m.topK <= classes)) corrupt(what, `"topK" must be null (dense) or an integer in [1, ${classes}], found ${JSON.stringify(m.topK)}`);
  if (!isInt(m.rows, 0)) corrupt(what, `"rows" must be an integer >= 0, found ${JSON.stringify(m.rows)}`);
  const temperature = m.temperature ?? 1;
  if (typeof temperature !== 'number' || !(temperature > 0) || !Number.isFinite(temperature)) corrupt(what, `"temperature" must be a finite number > 0, found ${JSON.stringify(m.temperature)}`);
  if (m.shardSize !== undefined && !isInt(m.shardSize, 1)) corrupt(what, `"shardSize" must be an integer >= 1, found ${JSON.stringify(m.shardSize)}`);
  if (!Array.isArray(m.shards)) corrupt(what, `"shards" must be an array, found ${JSON.stringify(m.shards)}`);
  const shards: SoftLabelShardEntry[] = [];
  m.shards.forEach((e: unknown, i: number) => {
    const s = e as Record<string, unknown>;
    const at = `shards[${i}]`;
    if (s === null || typeof s !== 'object') corrupt(what, `${at} must be an object`);
    if (typeof s.file !== 'string' || !/^[^/\\]+$/.test(s.file) || s.file.startsWith('.')) corrupt(what, `${at}.file must be a plain file name in the directory, found ${JSON.stringify(s.file)}`);
    for (const k of ['firstIndex', 'rows', 'bytes'] as const) if (!isInt(s[k], 0)) corrupt(what, `${at}.${k} must be an integer >= 0, found ${JSON.stringify(s[k])}`);
    if (typeof s.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(s.sha256)) corrupt(what, `${at}.sha256 must be 64 lowercase hex digits, found ${JSON.stringify(s.sha256)}`);
    shards.push({ file: s.file as string, firstIndex: s.firstIndex as number, rows: s.rows as number, bytes: s.bytes as number, sha256: s.sha256 as string });
  });
  const teacher = m.teacher === undefined || m.teacher === null ? null : (m.teacher as { kind: string; name: string | null });
  return {
    format: SOFT_LABELS_FORMAT,
    version: SOFT_LABELS_VERSION,
    classes,
    topK: (m.topK as number | null) ?? null,
    temperature,
    rows: m.rows,
    shardSize: (m.shardSize as number | undefined) ?? Math.max(1, ...shards.map((s) => s.rows)),
    complete: m.complete === undefined ? true : m.complete === true,
    teacher,
    data: (m.data as DataFingerprint | undefined) ?? null,
    shards,
  };
}

class SoftLabelCache implements SoftLabels {
  readonly length: number;
  readonly classes: number;
  readonly topK: number | null;
  readonly temperature: number;
  readonly manifest: SoftLabelManifest;
  private readonly logits: Float32Array;
  private readonly indices: Int32Array | null;

  constructor(manifest: SoftLabelManifest, logits: Float32Array, indices: Int32Array | null) {
    this.manifest = manifest;
    this.length = manifest.rows;
    this.classes = manifest.classes;
    this.topK = manifest.topK;
    this.temperature = manifest.temperature;
    this.logits = logits;
    this.indices = indices;
  }

  gather(indices: ArrayLike<number>, out?: TeacherOutput): TeacherOutput {
    if (indices === null || typeof indices !== 'object' || typeof indices.length !== 'number') {
      throw new DistiqTypeError(`The "indices" argument must be an array of dataset indices. Received ${describe(indices)}`);
    }
    const n = indices.length, w = this.topK ?? this.classes, len = this.length;
    for (let i = 0; i < n; i++) {
      const r = indices[i]!;
      if (!(Number.isInteger(r) && r >= 0 && r < len)) {
        throw new DistiqRangeError(`indices[${i}] must be an integer in [0, ${len - 1}] (the soft labels have ${len} rows). Received ${describe(r)}`);
      }
    }
    let logits: Float32Array, idx: Int32Array | null = null;
    if (this.topK === null) {
      if (out !== undefined && !(out instanceof Float32Array)) throw new DistiqTypeError(`The "out" argument must be a Float32Array for dense soft labels. Received ${describe(out)}`);
      logits = out ?? new Float32Array(n * w);
      if (logits.length !== n * w) throw new DistiqRangeError(`Expected out.length to equal ${n * w} (${n} rows × ${w} classes), received ${logits.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    } else {
      if (out !== undefined && (out instanceof Float32Array || out.k !== w)) throw new DistiqTypeError(`The "out" argument must be a top-k output with k = ${w}. Received ${describe(out)}`);
      const o = out as TopKTeacher | undefined;
      logits = o?.logits ?? new Float32Array(n * w);
      idx = o?.indices ?? new Int32Array(n * w);
      if (logits.length !== n * w || idx.length !== n * w) throw new DistiqRangeError(`Expected out.indices/logits of length ${n * w} (${n} rows × k = ${w}), received ${idx.length}/${logits.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    for (let i = 0; i < n; i++) {
      const r = indices[i]!;
      logits.set(this.logits.subarray(r * w, (r + 1) * w), i * w);
      if (idx !== null) idx.set(this.indices!.subarray(r * w, (r + 1) * w), i * w);
    }
    return idx === null ? logits : { indices: idx, logits, k: w };
  }
}

/** Reads and validates a soft-label cache written by generateSoftLabels or any program following docs/formats.md. */
export function loadSoftLabels(dir: string): SoftLabels {
  if (typeof dir !== 'string' || dir === '') throw new DistiqTypeError(`The "dir" argument must be a directory path (string). Received ${describe(dir)}`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DistiqRangeError(`The "dir" argument must be an existing directory. Received "${dir}"`);
  const m = readManifest(dir);
  const what = `Soft labels "${path.join(dir, MANIFEST)}"`;
  let at = 0;
  for (const e of m.shards) {
    if (e.firstIndex !== at) {
      corrupt(what, e.firstIndex > at ? `rows ${at}..${e.firstIndex - 1} are in no shard (next shard "${e.file}" starts at ${e.firstIndex})` : `shard "${e.file}" starts at row ${e.firstIndex}, overlapping the previous shard (which ends at ${at - 1})`);
    }
    at += e.rows;
  }
  if (at !== m.rows) {
    corrupt(what, at < m.rows
      ? `incomplete: the shards hold ${at} of ${m.rows} rows (finish it by rerunning generateSoftLabels with the same arguments)`
      : `the shards hold ${at} rows, more than the manifest's "rows" ${m.rows}`);
  }
  const w = m.topK ?? m.classes;
  const logits = new Float32Array(m.rows * w);
  const indices = m.topK === null ? null : new Int32Array(m.rows * w);
  const seen = new Int32Array(m.classes).fill(-1);
  let stamp = 0;
  for (const e of m.shards) {
    const file = path.join(dir, e.file);
    const shard = `Soft-label shard "${file}"`;
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      corrupt(shard, `cannot read it (${(err as Error).message})`);
    }
    if (buf.length !== e.bytes) corrupt(shard, `${buf.length} bytes, the manifest says ${e.bytes} (truncated or replaced)`);
    const hash = createHash('sha256').update(buf).digest('hex');
    if (hash !== e.sha256) corrupt(shard, `SHA-256 ${hash} differs from the manifest's ${e.sha256} (the file is corrupted or was changed)`);
    let st;
    try {
      st = decodeSafetensors(buf, shard);
    } catch (err) {
      corrupt(shard, `not a valid safetensors file: ${(err as Error).message.replace(`${shard}: `, '')}`);
    }
    const meta = st.metadata;
    if (meta.first_index !== String(e.firstIndex) || meta.rows !== String(e.rows)) {
      corrupt(shard, `its metadata says first_index ${JSON.stringify(meta.first_index)}, rows ${JSON.stringify(meta.rows)}; the manifest says ${e.firstIndex}, ${e.rows}`);
    }
    const expectNames = m.topK === null ? ['logits'] : ['indices', 'logits'];
    const names = [...st.tensors.keys()].sort();
    if (names.join(',') !== expectNames.join(',')) corrupt(shard, `holds tensors [${names.join(', ')}]; expected [${expectNames.join(', ')}]`);
    const lt = st.tensors.get('logits')!;
    if (lt.dtype !== 'F32') corrupt(shard, `tensor "logits" has dtype ${lt.dtype}; expected F32`);
    if (lt.shape.length !== 2 || lt.shape[0] !== e.rows || lt.shape[1] !== w) corrupt(shard, `tensor "logits" has shape ${formatShape(lt.shape)}; expected ${formatShape([e.rows, w])}`);
    const lv = lt.data as Float32Array;
    for (let i = 0; i < lv.length; i++) {
      const v = lv[i]!;
      if (v - v !== 0) corrupt(shard, `non-finite logit ${v} in row ${e.firstIndex + Math.floor(i / w)} (shard row ${Math.floor(i / w)}), column ${i % w}`);
    }
    logits.set(lv, e.firstIndex * w);
    if (indices !== null) {
      const it = st.tensors.get('indices')!;
      if (it.dtype !== 'I32') corrupt(shard, `tensor "indices" has dtype ${it.dtype}; expected I32`);
      if (it.shape.length !== 2 || it.shape[0] !== e.rows || it.shape[1] !== w) corrupt(shard, `tensor "indices" has shape ${formatShape(it.shape)}; expected ${formatShape([e.rows, w])}`);
      const iv = it.data as Int32Array;
      for (let r = 0; r < e.rows; r++, stamp++) {
        for (let j = 0; j < w; j++) {
          const c = iv[r * w + j]!;
          if (c < 0 || c >= m.classes) corrupt(shard, `class index ${c} in row ${e.firstIndex + r}, entry ${j} is outside [0, ${m.classes - 1}]`);
          if (seen[c] === stamp) corrupt(shard, `class index ${c} appears twice in row ${e.firstIndex + r}`);
          seen[c] = stamp;
        }
      }
      indices.set(iv, e.firstIndex * w);
    }
  }
  return new SoftLabelCache(m, logits, indices);
}
