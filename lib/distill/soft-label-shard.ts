/**
 * One soft-label shard: running a teacher over its rows in fixed batches, keeping the top k per row, and the shard
 * file's bytes. Shared by generateSoftLabels (main thread) and its worker threads (soft-label-worker.ts), so both
 * compute every shard with the same code and the same batch boundaries: batches start at the shard's first row and
 * hold `batchSize` rows (the last one fewer), whoever runs the shard.
 */
import { createHash } from 'node:crypto';

import { encodeSafetensors, type SafeTensor } from '../io/safetensors';
import { Tensor } from '../tensor/tensor';
import { checkTeacherOutput, teacherLabel, type Teacher, type TeacherOutput } from './teacher';
import { DistiqRangeError } from '../errors';

/** The `format` of the manifest and of every shard's metadata. */
export const SHARD_FORMAT = 'distiq-soft-labels';

/** The rows of one shard: dense logits [rows, classes], or top-k indices + logits [rows, k]. */
export interface ShardRows {
  logits: Float32Array;
  indices: Int32Array | null;
}

/** `shard-00000.safetensors` (at least five digits). */
export function shardFileName(shard: number): string {
  return `shard-${String(shard).padStart(5, '0')}.safetensors`;
}

/** Lowercase hex SHA-256 of `data` (the manifest's shard hashes). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes the k best entries of `rows` teacher rows into dst (row offset `dstRow`): by logit descending, ties to the
 * lower class index. The source is dense [rows, classes] or a top-k output with at least k entries per row.
 */
export function selectTopK(teacher: Teacher, src: TeacherOutput, rows: number, k: number, dstIdx: Int32Array, dstLogits: Float32Array, dstRow: number): void {
  const dense = src instanceof Float32Array;
  const n = dense ? teacher.classes : src.k;
  if (!dense && src.k < k) {
    throw new DistiqRangeError(`The ${teacherLabel(teacher)} returns ${src.k} entries per row (top-k); topK = ${k} needs at least that many`);
  }
  for (let r = 0; r < rows; r++) {
    const base = (dstRow + r) * k;
    let filled = 0;
    for (let j = 0; j < n; j++) {
      const c = dense ? j : src.indices[r * n + j]!;
      const v = dense ? src[r * n + j]! : src.logits[r * n + j]!;
      // Position of (v, c) among the kept entries: after every entry that is better or equal with a lower index.
      let p = filled;
      while (p > 0) {
        const pv = dstLogits[base + p - 1]!, pc = dstIdx[base + p - 1]!;
        if (pv > v || (pv === v && pc < c)) break;
        p--;
      }
      if (p >= k) continue;
      const last = Math.min(filled, k - 1);
      for (let q = last; q > p; q--) {
        dstLogits[base + q] = dstLogits[base + q - 1]!;
        dstIdx[base + q] = dstIdx[base + q - 1]!;
      }
      dstLogits[base + p] = v;
      dstIdx[base + p] = c;
      if (filled < k) filled++;
    }
  }
}

/**
 * Runs `teacher` over a shard's rows: x = [rows, ...sampleShape] (the shard's samples), `first` = the dataset index
 * of row 0. Outputs are validated per batch. With `concurrency` > 1, up to that many predict() calls are in flight
 * (for async teachers such as a model server); each result is still stored at its batch's rows, in batch order.
 */
export async function computeShard(
  teacher: Teacher,
  x: Float32Array,
  sampleShape: readonly number[],
  first: number,
  rows: number,
  batchSize: number,
  topK: number | null,
  onBatch?: (rowsDone: number) => void,
  concurrency = 1,
): Promise<ShardRows> {
  const classes = teacher.classes, width = topK ?? classes;
  const stride = rows > 0 ? x.length / rows : 0;
  const logits = new Float32Array(rows * width);
  const indices = topK === null ? null : new Int32Array(rows * topK);
  const batches = Math.ceil(rows / batchSize);
  const launched = new Map<number, { idx: Int32Array; out: Promise<TeacherOutput> }>();
  let next = 0;
  const launch = (b: number): void => {
    const r0 = b * batchSize, r1 = Math.min(rows, r0 + batchSize), n = r1 - r0;
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) idx[i] = first + r0 + i;
    const xb = new Tensor(x.slice(r0 * stride, r1 * stride), [n, ...sampleShape]);
    const out = (async () => teacher.predict({ x: xb, indices: idx }))();
    out.catch(() => undefined); // a failure is reported when its turn comes, not as an unhandled rejection
    launched.set(b, { idx, out });
  };
  for (let b = 0; b < batches; b++) {
    while (next < Math.min(batches, b + concurrency)) launch(next++);
    const { idx, out: pending } = launched.get(b)!;
    const r0 = b * batchSize, n = idx.length;
    const out = checkTeacherOutput(teacher, await pending, n, idx);
    launched.delete(b);
    if (indices === null) {
      if (!(out instanceof Float32Array)) {
        throw new DistiqRangeError(`The ${teacherLabel(teacher)} returns top-k outputs (k = ${out.k}); dense soft labels need all ${classes} logits: pass topK ≤ ${out.k}`);
      }
      logits.set(out, r0 * classes);
    } else {
      selectTopK(teacher, out, n, topK!, indices, logits, r0);
    }
    onBatch?.(r0 + n);
  }
  return { logits, indices };
}

/** The shard file: tensors `logits` (dense) or `indices` + `logits` (top-k), metadata first_index / rows. */
export function encodeShard(rows: ShardRows, first: number, count: number, classes: number, topK: number | null): Buffer {
  const width = topK ?? classes;
  const tensors = new Map<string, SafeTensor>();
  if (rows.indices !== null) tensors.set('indices', { dtype: 'I32', shape: [count, width], data: rows.indices });
  tensors.set('logits', { dtype: 'F32', shape: [count, width], data: rows.logits });
  return encodeSafetensors(tensors, { format: SHARD_FORMAT, first_index: String(first), rows: String(count) });
}
