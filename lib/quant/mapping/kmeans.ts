/**
 * k-means codebook mapping: per slot (tensor, channel or group) a codebook of `levels` float32 values, ascending;
 * each element stores the index of its nearest level (4-bit packed for uint4, a byte for uint8).
 *
 * Fitting (deterministic): the slot's values are sorted once with prefix sums, so one Lloyd iteration in 1-D is
 * `levels` binary searches (the cells of sorted centroids are intervals between midpoints) and the new centroids are
 * the cells' means. Two runs, and the one with the lower squared error is kept:
 * - from the chosen init: `quantile` (level j at the (j + ½)/levels quantile) or `kmeans++` (D² sampling with a
 *   seeded lib/tensor Rng, Arthur & Vassilvitskii 2007);
 * - from the uniform grid min + j·(max − min)/(levels − 1).
 * Lloyd iterations never increase the squared error, so the kept codebook is at least as good as the uniform grid.
 * A slot with at most `levels` distinct values gets them exactly (padded with its largest). An empty cell keeps its
 * centroid.
 *
 * Error bound: every element gets its nearest level (exactly the distance to it); per slot, for x inside
 * [level 0, level K−1] that is ≤ half the widest gap between adjacent levels, outside it the distance to the end
 * level; and the slot's mean squared error is ≤ that of K uniform levels on [min, max] (≤ ((max − min)/(2(K−1)))²),
 * up to the float32 rounding of the levels.
 */
import { Rng } from '../../tensor/random';
import { slotValues, type SlotIndex } from './slots';
import type { KMeansInit, QuantizedParts, SchemeSettings } from './types';

/** First index i in [lo, hi) with a[i] ≥ v (hi if none). */
function lowerBound(a: Float64Array, v: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

interface Sorted {
  v: Float64Array;
  /** prefix sums of v and v², length n + 1 */
  s1: Float64Array;
  s2: Float64Array;
}

function sortedWithSums(values: Float32Array): Sorted {
  const v = Float64Array.from(values).sort();
  const n = v.length;
  const s1 = new Float64Array(n + 1), s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s1[i + 1] = s1[i]! + v[i]!;
    s2[i + 1] = s2[i]! + v[i]! * v[i]!;
  }
  return { v, s1, s2 };
}

/** Cell boundaries (indices into the sorted values) of sorted centroids c: cell j = [b[j], b[j+1]). */
function cells(d: Sorted, c: Float64Array): Int32Array {
  const k = c.length, n = d.v.length;
  const b = new Int32Array(k + 1);
  b[k] = n;
  for (let j = 1; j < k; j++) b[j] = lowerBound(d.v, 0.5 * (c[j - 1]! + c[j]!), b[j - 1]!, n);
  return b;
}

/** Σ (x − c_j)² over the cells. */
function sse(d: Sorted, c: Float64Array): number {
  const b = cells(d, c);
  let t = 0;
  for (let j = 0; j < c.length; j++) {
    const a = b[j]!, e = b[j + 1]!, cj = c[j]!;
    t += d.s2[e]! - d.s2[a]! - 2 * cj * (d.s1[e]! - d.s1[a]!) + (e - a) * cj * cj;
  }
  return t;
}

function lloyd(d: Sorted, init: Float64Array, iterations: number): Float64Array {
  let c = init.slice().sort();
  for (let it = 0; it < iterations; it++) {
    const b = cells(d, c);
    const next = new Float64Array(c.length);
    let changed = false;
    for (let j = 0; j < c.length; j++) {
      const a = b[j]!, e = b[j + 1]!;
      next[j] = e > a ? (d.s1[e]! - d.s1[a]!) / (e - a) : c[j]!;
      if (next[j] !== c[j]) changed = true;
    }
    c = next.sort();
    if (!changed) break;
  }
  return c;
}

function quantileInit(d: Sorted, k: number): Float64Array {
  const n = d.v.length;
  return Float64Array.from({ length: k }, (_, j) => d.v[Math.min(n - 1, Math.floor(((j + 0.5) * n) / k))]!);
}

function uniformInit(d: Sorted, k: number): Float64Array {
  const lo = d.v[0]!, hi = d.v[d.v.length - 1]!;
  return Float64Array.from({ length: k }, (_, j) => lo + ((hi - lo) * j) / (k - 1));
}

function kmeansPlusPlusInit(d: Sorted, k: number, rng: Rng): Float64Array {
  const n = d.v.length;
  const c = new Float64Array(k);
  const dist = new Float64Array(n).fill(Infinity);
  c[0] = d.v[Math.floor(rng.uniform() * n)]!;
  for (let j = 1; j < k; j++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const t = d.v[i]! - c[j - 1]!;
      if (t * t < dist[i]!) dist[i] = t * t;
      total += dist[i]!;
    }
    let r = rng.uniform() * total, pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= dist[i]!;
      if (r < 0) {
        pick = i;
        break;
      }
    }
    c[j] = d.v[pick]!;
  }
  return c;
}

/** The codebook (ascending float32 levels) of one slot's values. */
export function fitCodebook(values: Float32Array, levels: number, iterations: number, init: KMeansInit, rng: Rng): Float32Array {
  const out = new Float32Array(levels);
  if (values.length === 0) return out;
  const d = sortedWithSums(values);
  const distinct: number[] = [];
  for (let i = 0; i < d.v.length && distinct.length <= levels; i++) {
    if (i === 0 || d.v[i] !== d.v[i - 1]) distinct.push(d.v[i]!);
  }
  if (distinct.length <= levels) {
    for (let j = 0; j < levels; j++) out[j] = distinct[Math.min(j, distinct.length - 1)]!;
    return out;
  }
  const a = lloyd(d, init === 'kmeans++' ? kmeansPlusPlusInit(d, levels, rng) : quantileInit(d, levels), iterations);
  const b = lloyd(d, uniformInit(d, levels), iterations);
  const best = sse(d, a) <= sse(d, b) ? a : b;
  for (let j = 0; j < levels; j++) out[j] = best[j]!;
  return out.sort();
}

/** Nearest level (float64 midpoints of the float32 levels; a value exactly on one goes to the lower level). */
function nearest(book: Float32Array, base: number, levels: number, v: number): number {
  let lo = 0, hi = levels - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (0.5 * (book[base + mid]! + book[base + mid + 1]!) >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function kmeansQuantize(s: SchemeSettings, x: Float32Array, idx: SlotIndex): { codes: Uint8Array; codebook: Float32Array } {
  const levels = s.levels!, params = idx.geo.params;
  const codebook = new Float32Array(params * levels);
  const rng = new Rng(s.seed ?? 0);
  for (let k = 0; k < params; k++) {
    codebook.set(fitCodebook(slotValues(x, idx, k), levels, s.iterations!, s.init!, rng), k * levels);
  }
  const codes = new Uint8Array(x.length);
  for (let e = 0; e < x.length; e++) codes[e] = nearest(codebook, idx.slotOf[e]! * levels, levels, x[e]!);
  return { codes, codebook };
}

export function kmeansDequantize(s: SchemeSettings, codes: Uint8Array, idx: SlotIndex, codebook: Float32Array): Float32Array {
  const levels = s.levels!;
  const out = new Float32Array(codes.length);
  for (let e = 0; e < codes.length; e++) out[e] = codebook[idx.slotOf[e]! * levels + codes[e]!]!;
  return out;
}

export function kmeansErrorBound(s: SchemeSettings, q: QuantizedParts, x: Float32Array, idx: SlotIndex): Float32Array {
  const levels = s.levels!, book = q.codebook!;
  const halfGap = new Float64Array(idx.geo.params);
  for (let k = 0; k < idx.geo.params; k++) {
    for (let j = 0; j + 1 < levels; j++) halfGap[k] = Math.max(halfGap[k]!, 0.5 * (book[k * levels + j + 1]! - book[k * levels + j]!));
  }
  const out = new Float32Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const k = idx.slotOf[e]!, v = x[e]!;
    const lo = book[k * levels]!, hi = book[k * levels + levels - 1]!;
    out[e] = Math.max(0, lo - v, v - hi) + halfGap[k]!;
  }
  return out;
}
