/**
 * NF4, the 4-bit NormalFloat data type of QLoRA (T. Dettmers, A. Pagnoni, A. Holtzman, L. Zettlemoyer, "QLoRA:
 * Efficient Finetuning of Quantized LLMs", NeurIPS 2023, arXiv:2305.14314, §3 "4-bit NormalFloat Quantization").
 *
 * The 16 levels are quantiles of N(0, 1), normalised to [−1, 1], with an exact zero: 8 positive levels at the
 * quantiles p = linspace(δ, ½, 9)[:8] and 7 negative ones at −quantile(linspace(δ, ½, 8)[:7]), plus 0, where
 * δ = 1 − ½(1/32 + 1/30) = 0.9677083 (the paper's offset: the middle of the two asymmetric halves' outermost
 * quantiles, so that the extreme levels are finite), all divided by the largest. The table is computed here from that
 * definition, emulating the float32 steps of the reference implementation (a float32 `linspace`, the quantiles in
 * float64 rounded to float32, a float32 division by the maximum), which reproduces the published values bit for bit
 * (test/quant/nf4.test.ts compares them).
 *
 * Quantization (per slot, normally groups of 64): s = absmax of the slot, code = index of the table value nearest
 * to x/s, x̂ = table[code]·s.
 */

import type { SlotIndex } from './slots';
import { roundingSlack, type QuantizedParts, type RangeParams } from './types';

const f32 = Math.fround;

/** Φ(x) for x ≥ 0: ½ + ½·erf(x/√2), erf by its everywhere-positive series (no cancellation; |x| ≤ 6). */
function normalCdf(x: number): number {
  const z = x / Math.SQRT2;
  const z2 = 2 * z * z;
  let term = z, sum = z;
  for (let n = 1; n < 500 && term > sum * 1e-18; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
  }
  return 0.5 + (sum * Math.exp(-z * z)) / Math.sqrt(Math.PI);
}

/** The standard normal quantile for p in [½, Φ(6)), by bisection to full float64 precision. */
export function normalQuantile(p: number): number {
  let lo = 0, hi = 6;
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid === lo || mid === hi) break;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** float32 `linspace(a, b, n)` as PyTorch computes it on the CPU (first half from a, second half from b). */
function linspaceF32(a: number, b: number, n: number): number[] {
  const fa = f32(a), fb = f32(b);
  const step = f32(f32(fb - fa) / (n - 1));
  const half = Math.floor(n / 2);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(i < half ? f32(fa + f32(step * i)) : f32(fb - f32(step * (n - i - 1))));
  return out;
}

/** The QLoRA offset δ = 1 − ½(1/32 + 1/30), as written in the reference implementation. */
export const NF4_OFFSET = 0.9677083;

function buildTable(): Float32Array {
  const pos = linspaceF32(NF4_OFFSET, 0.5, 9).slice(0, 8).map((p) => f32(normalQuantile(p)));
  const neg = linspaceF32(NF4_OFFSET, 0.5, 8).slice(0, 7).map((p) => f32(-normalQuantile(p)));
  const v = [...pos, 0, ...neg].sort((a, b) => a - b);
  const max = v[v.length - 1]!;
  return Float32Array.from(v, (x) => f32(x / max));
}

/** The 16 NF4 levels, ascending: NF4_TABLE[0] = −1, NF4_TABLE[7] = 0, NF4_TABLE[15] = 1. */
export const NF4_TABLE: Float32Array = buildTable();

/** Decision boundaries between consecutive levels (float64 midpoints); a value exactly on one goes to the lower level. */
const NF4_MIDPOINTS: Float64Array = Float64Array.from({ length: 15 }, (_, i) => 0.5 * (NF4_TABLE[i]! + NF4_TABLE[i + 1]!));

/** Half the widest gap between consecutive levels (≈ 0.1519, between −1 and −0.6962): the error bound in units of s. */
export const NF4_MAX_HALF_GAP: number = (() => {
  let g = 0;
  for (let i = 0; i < 15; i++) g = Math.max(g, NF4_TABLE[i + 1]! - NF4_TABLE[i]!);
  return g / 2;
})();

/** Index of the nearest level to `v` (v = x/s, normally in [−1, 1]; outside, the end levels). */
export function nf4Code(v: number): number {
  let lo = 0, hi = 15; // first midpoint ≥ v
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (NF4_MIDPOINTS[mid]! >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/*
 * Error bound (per element, |x| ≤ s): |x − x̂| ≤ s·NF4_MAX_HALF_GAP + 2⁻²²·(|x| + s); |x| > s (a range from an
 * observer) saturates at ±s and adds |x| − s.
 */

export function nf4Quantize(x: Float32Array, idx: SlotIndex, p: RangeParams): Uint8Array {
  const codes = new Uint8Array(x.length);
  for (let e = 0; e < x.length; e++) codes[e] = nf4Code(x[e]! / p.scale[idx.slotOf[e]!]!);
  return codes;
}

export function nf4Dequantize(codes: Uint8Array, idx: SlotIndex, scale: Float32Array): Float32Array {
  const out = new Float32Array(codes.length);
  for (let e = 0; e < codes.length; e++) out[e] = NF4_TABLE[codes[e]!]! * scale[idx.slotOf[e]!]!;
  return out;
}

export function nf4ErrorBound(q: QuantizedParts, x: Float32Array, idx: SlotIndex): Float32Array {
  const out = new Float32Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const sc = q.scale![idx.slotOf[e]!]!, a = Math.abs(x[e]!);
    out[e] = Math.max(0, a - sc) + sc * NF4_MAX_HALF_GAP + roundingSlack(a, sc);
  }
  return out;
}
