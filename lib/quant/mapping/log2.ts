/**
 * Power-of-two (log2) mapping: sign-magnitude codes whose magnitudes are powers of two times the slot's scale.
 * With L = qmax of the symmetric dtype (127 for int8, 7 for int4) and s = the slot's absmax:
 *   code 0 → 0,   code ±k (1 ≤ k ≤ L) → ±s·2^(k−L)
 * so the levels are ±s, ±s/2, …, ±s·2^(1−L). Multiplying by a level is a shift of the other operand, which is what
 * makes these levels attractive in hardware; the cost is relative precision instead of absolute.
 *
 * Rounding is to the nearest level in the linear domain (|x|/s between 2^e and 2^(e+1) goes up from 1.5·2^e on;
 * below the smallest level m = 2^(1−L) it goes to m from m/2 on, else to 0).
 *
 * Error bound (per element, |x| ≤ s): |x − x̂| ≤ max(|x|/3, s·2^−L) + 2⁻²²·(|x| + s)
 * (between two levels a and 2a the worst case is 1.5a, error a/2 = |x|/3; below m it is m/2). |x| > s (a range from
 * an observer) saturates at ±s and adds |x| − s.
 */
import { MIN_SCALE } from '../../ops/quantize';
import type { SlotIndex } from './slots';
import { roundingSlack, type QuantizedParts, type RangeParams, type SchemeSettings } from './types';

/** L: the largest code magnitude. */
export function log2Top(s: SchemeSettings): number {
  return s.dtype === 'int8' ? 127 : 7;
}

/** Scale per slot = max(|min|, |max|) as float32, at least MIN_SCALE. */
export function absMaxParams(min: Float32Array, max: Float32Array): RangeParams {
  const scale = new Float32Array(min.length);
  for (let i = 0; i < min.length; i++) scale[i] = Math.max(Math.fround(Math.max(Math.abs(min[i]!), Math.abs(max[i]!))), MIN_SCALE);
  return { scale, zeroPoint: null };
}

/**
 * Decision thresholds of the magnitudes, in units of s: code k + 1 from t[k] on (ties up). t[0] = m/2 with
 * m = 2^(1−L) the smallest level, t[k] = 1.5·2^(k−L) (the midpoint of levels k and k + 1) for 1 ≤ k < L.
 */
function thresholds(top: number): Float64Array {
  const t = new Float64Array(top);
  t[0] = 2 ** (1 - top) / 2;
  for (let k = 1; k < top; k++) t[k] = 1.5 * 2 ** (k - top);
  return t;
}

const THRESHOLDS: Record<number, Float64Array> = { 7: thresholds(7), 127: thresholds(127) };

/** The code of v = |x|/s ≥ 0 (magnitude only): the number of thresholds ≤ v. */
function log2Magnitude(v: number, t: Float64Array): number {
  let lo = 0, hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (t[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function log2Quantize(s: SchemeSettings, x: Float32Array, idx: SlotIndex, p: RangeParams): Int8Array {
  const t = THRESHOLDS[log2Top(s)]!;
  const codes = new Int8Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const v = x[e]!;
    const k = log2Magnitude(Math.abs(v) / p.scale[idx.slotOf[e]!]!, t);
    codes[e] = v < 0 ? -k : k;
  }
  return codes;
}

export function log2Dequantize(s: SchemeSettings, codes: Int8Array, idx: SlotIndex, scale: Float32Array): Float32Array {
  const top = log2Top(s);
  const pow = Float64Array.from({ length: top + 1 }, (_, k) => 2 ** (k - top));
  const out = new Float32Array(codes.length);
  for (let e = 0; e < codes.length; e++) {
    const c = codes[e]!;
    if (c === 0) continue;
    const mag = scale[idx.slotOf[e]!]! * pow[Math.abs(c)]!;
    out[e] = c < 0 ? -mag : mag;
  }
  return out;
}

export function log2ErrorBound(s: SchemeSettings, q: QuantizedParts, x: Float32Array, idx: SlotIndex): Float32Array {
  const top = log2Top(s);
  const out = new Float32Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const sc = q.scale![idx.slotOf[e]!]!, a = Math.abs(x[e]!);
    out[e] = Math.max(0, a - sc) + Math.max(Math.min(a, sc) / 3, sc * 2 ** -top) + roundingSlack(a, sc);
  }
  return out;
}
