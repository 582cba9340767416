/**
 * Linear (affine) mapping: the native quantize/dequantize of lib/ops/quantize.ts with the (scale, zero point) of
 * `affineParams` (symmetric: z = 0 on [−127, 127] / [−7, 7]; asymmetric: the range widened to include 0, the
 * dtype's full range).
 *
 * Error bound (per element): |x − x̂| ≤ max(d, s/2) + 2⁻²²·(|x| + s), where d is the distance from x to the
 * slot's representable range [(qmin − z)·s, (qmax − z)·s] (0 inside it): half a step from rounding, or saturation at
 * the range's end, plus one float32 rounding of x/s and one of (q − z)·s. For a range taken from the tensor itself
 * d ≤ s/2 (the rounded zero point shifts the grid by at most half a step), so every element is within s/2 + slack;
 * elements beyond an observed range saturate (d is their distance to it). With `clip: 'mse'` the range is the
 * clipped one, so elements beyond it saturate the same way (d ≤ (1 − r)·absmax + s/2 for the chosen ratio r ≥ 0.5).
 */
import { affineParams, dequantize, minMax, quantize, QUANT_RANGE } from '../../ops/quantize';
import { mseClipParams } from './clip';
import type { SlotIndex } from './slots';
import { layoutOf, roundingSlack, type QuantizedParts, type RangeParams, type SchemeSettings } from './types';

/** [qmin, qmax] of a linear scheme. */
export function linearRange(s: SchemeSettings): [number, number] {
  const [lo, hi] = QUANT_RANGE[s.dtype];
  return [s.symmetric ? lo + 1 : lo, hi];
}

export function linearParamsFromRange(s: SchemeSettings, min: Float32Array, max: Float32Array): RangeParams {
  const p = affineParams(min, max, { dtype: s.dtype, symmetric: s.symmetric });
  return { scale: p.scale, zeroPoint: s.symmetric ? null : p.zeroPoint };
}

/**
 * Per-slot min/max of x (native reduction; NaN/±Inf → ERR_DISTIQ_NON_FINITE); with `clip: 'mse'` the range of each
 * slot is then shrunk by the MSE-optimal ratio (./clip.ts).
 */
export function linearParamsFromData(s: SchemeSettings, x: Float32Array, shape: readonly number[]): RangeParams {
  const { min, max } = minMax(x, layoutOf(s, shape));
  // Empty slots (zero-sized tensors) stay ±Infinity: give them the neutral range [0, 0].
  for (let i = 0; i < min.length; i++) {
    if (!(min[i]! <= max[i]!)) min[i] = max[i] = 0;
  }
  if (s.clip === 'mse') {
    const { scale, zeroPoint } = mseClipParams(s, x, shape, min, max);
    return { scale, zeroPoint };
  }
  return linearParamsFromRange(s, min, max);
}

export function linearQuantize(s: SchemeSettings, x: Float32Array, shape: readonly number[], p: RangeParams): QuantizedParts {
  const [qmin, qmax] = linearRange(s);
  const data = quantize(x, { ...layoutOf(s, shape), dtype: s.dtype, scale: p.scale, zeroPoint: p.zeroPoint ?? 0, qmin, qmax });
  return { data, scale: p.scale, zeroPoint: p.zeroPoint, codebook: null };
}

export function linearDequantize(s: SchemeSettings, q: QuantizedParts, shape: readonly number[]): Float32Array {
  const [qmin, qmax] = linearRange(s);
  return dequantize(q.data, { ...layoutOf(s, shape), dtype: s.dtype, scale: q.scale!, zeroPoint: q.zeroPoint ?? 0, qmin, qmax });
}

export function linearErrorBound(s: SchemeSettings, q: QuantizedParts, x: Float32Array, idx: SlotIndex): Float32Array {
  const [qmin, qmax] = linearRange(s);
  const out = new Float32Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const k = idx.slotOf[e]!;
    const sc = q.scale![k]!, z = q.zeroPoint ? q.zeroPoint[k]! : 0;
    const v = x[e]!;
    const clip = Math.max(0, (qmin - z) * sc - v, v - (qmax - z) * sc);
    out[e] = Math.max(clip, sc / 2) + roundingSlack(v, sc);
  }
  return out;
}
