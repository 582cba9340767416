/**
 * MSE-optimal clipping of a linear scheme's range, for weights (`clip: 'mse'`): per parameter slot, the range
 * [r·min, r·max] is tried for every ratio r of CLIP_RATIOS (1.00, 0.99, …, 0.50), its (scale, zero point) taken
 * from `affineParams` exactly as for an unclipped range (symmetric: s = r·absmax/qmax; asymmetric: min and max both
 * shrunk, then widened to 0 and z rounded as usual), and the slot's sum of squared errors Σ (x − x̂)² is computed
 * with the native quantize's arithmetic (float32 x/s, ties to even, + z, clamp, (q − z)·s in float32). The smallest
 * error wins (ties keep the larger r, so r = 1.00, plain round-to-nearest, is kept when clipping does not help).
 * Deterministic; the codes are then made by the native quantize with the chosen parameters, so nothing downstream
 * changes. Cost: one pass over the slot's elements per ratio, cut short once the running error exceeds the best so
 * far (a 1200×1200 int4 weight: 0.28–0.38 s on the shared 2-core VM at load 6).
 */
import { affineParams, type AffineParams } from '../../ops/quantize';
import { slotIndex } from './slots';
import { layoutOf, type RangeParams, type SchemeSettings } from './types';

/** The clipping ratios tried, largest first: 1.00, 0.99, …, 0.50 (51 ratios). */
export const CLIP_RATIOS: readonly number[] = Object.freeze(Array.from({ length: 51 }, (_, i) => (100 - i) / 100));

/** Chosen parameters per slot and the ratio each came from. */
export interface ClipResult extends RangeParams {
  ratio: Float64Array;
}

/**
 * Squared error of quantize → dequantize of v[a, b) with (sc, z) on [qmin, qmax], with the native arithmetic's
 * result: the quotient is taken as x·(1/sc) and rounded half up, except within 10⁻⁴ of a tie, where the exact
 * float32 x/sc is rounded half to even (|x/sc| ≤ (qmax − qmin)/0.5 ≤ 510, so the product is within 510·2⁻²³ < 10⁻⁴
 * of the float32 quotient and rounds alike elsewhere); x̂ = float32((q − z)·sc). Stops once the running sum exceeds
 * `stop` (then the value returned is > stop; a value ≤ stop is the full sum).
 */
export function clipSse(v: Float64Array, a: number, b: number, sc: number, z: number, qmin: number, qmax: number, stop: number): number {
  const inv = 1 / sc, lo = qmin - z, hi = qmax - z;
  let err = 0;
  for (let i = a; i < b; i++) {
    const x = v[i]!;
    let r = Math.floor(x * inv + 0.5);
    const f = r - x * inv;
    if (f > 0.4999 || f < -0.4999) {
      const t = Math.fround(x / sc);
      r = Math.round(t);
      if (r - t === 0.5 && r % 2 !== 0) r -= 1; // ties to even (Math.round takes ties up)
    }
    r = r < lo ? lo : r > hi ? hi : r;
    const d = x - Math.fround(r * sc);
    err += d * d;
    if (err > stop) return err;
  }
  return err;
}

/**
 * The MSE-optimal clipped parameters per slot of a linear scheme, given each slot's min and max (finite; an empty
 * slot has min = max = 0). x must be finite.
 */
export function mseClipParams(s: SchemeSettings, x: Float32Array, shape: readonly number[], min: Float32Array, max: Float32Array): ClipResult {
  const idx = slotIndex(layoutOf(s, shape));
  const { offsets, order } = idx;
  const P = idx.geo.params;
  const opts = { dtype: s.dtype, symmetric: s.symmetric };
  const P0 = min.length, lo = new Float32Array(P0), hi = new Float32Array(P0);
  const cand: AffineParams[] = CLIP_RATIOS.map((r) => {
    for (let k = 0; k < P0; k++) {
      lo[k] = r * min[k]!;
      hi[k] = r * max[k]!;
    }
    return affineParams(lo, hi, opts);
  });
  const { qmin, qmax } = cand[0]!;
  const v = new Float64Array(x.length);
  for (let i = 0; i < order.length; i++) v[i] = x[order[i]!]!;
  const scale = new Float32Array(P), zeroPoint = new Int32Array(P), ratio = new Float64Array(P);
  const R = cand.length;
  let start = 0; // the previous slot's winner: neighbouring slots clip alike, so the bound is tight early
  for (let k = 0; k < P; k++) {
    const a = offsets[k]!, b = offsets[k + 1]!;
    let best = Infinity, bj = R;
    // Ratios in the order start, start ± 1, start ± 2, …; the smallest error wins, ties to the larger ratio (lower j).
    for (let t = 0; t < 2 * R; t++) {
      const j = t === 0 ? start : t % 2 === 1 ? start - ((t + 1) >> 1) : start + (t >> 1);
      if (j < 0 || j >= R) continue;
      const c = cand[j]!;
      const err = clipSse(v, a, b, c.scale[k]!, s.symmetric ? 0 : c.zeroPoint[k]!, qmin, qmax, best);
      if (err < best || (err === best && j < bj)) {
        best = err;
        bj = j;
      }
    }
    start = bj;
    scale[k] = cand[bj]!.scale[k]!;
    zeroPoint[k] = cand[bj]!.zeroPoint[k]!;
    ratio[k] = CLIP_RATIOS[bj]!;
  }
  return { scale, zeroPoint: s.symmetric ? null : zeroPoint, ratio };
}
