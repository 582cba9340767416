/**
 * Quantized activations between runtime layers: 8-bit codes of a float tensor with one (scale, zero point) for the
 * whole tensor — the only activation granularity the int8 GEMM epilogue takes (one `aScale`, one `aZeroPoint`).
 *
 *   code = clamp(roundHalfEven(x / scale) + zeroPoint, qmin, qmax),   x ≈ (code − zeroPoint)·scale
 *
 * Static layers take their parameters from calibration (fixed, stored in the model file); dynamic layers compute
 * them from each batch's min/max with `affineParams` (the range widened to include 0; PyTorch's / ONNX
 * DynamicQuantizeLinear formula).
 */
import { DistiqRangeError } from '../../errors';
import { minMax, quantize, QUANT_RANGE, rangeParams } from '../../ops/quantize';
import { Tensor } from '../../tensor/tensor';
import type { QuantScheme } from '../scheme';

/** 8-bit activation dtypes of the int8 GEMM (u8×s8 or s8×s8). */
export type ActDtype = 'uint8' | 'int8';

/** Per-tensor quantization parameters of an activation. */
export interface ActParams {
  readonly dtype: ActDtype;
  /** float32, > 0. */
  readonly scale: number;
  readonly zeroPoint: number;
  /** Clamp range: the dtype's full range, or [−127, 127] for a symmetric int8 scheme. */
  readonly qmin: number;
  readonly qmax: number;
}

/** A quantized activation: codes of a tensor of `shape` (row-major) with its per-tensor parameters. */
export class QTensor {
  constructor(
    readonly data: Uint8Array | Int8Array,
    readonly shape: readonly number[],
    readonly params: ActParams,
  ) {}

  /** The same codes seen with another shape (same element count): Flatten on quantized activations. */
  reshape(shape: readonly number[]): QTensor {
    return new QTensor(this.data, shape, this.params);
  }

  /** (code − zeroPoint)·scale in float32. */
  dequantize(): Tensor {
    const out = new Float32Array(this.data.length);
    const { scale, zeroPoint } = this.params;
    const d = this.data;
    for (let i = 0; i < d.length; i++) out[i] = (d[i]! - zeroPoint) * scale;
    return new Tensor(out, this.shape);
  }
}

/** What flows between runtime steps: a float tensor or a quantized one. */
export type Value = Tensor | QTensor;

/** The activation scheme's dtype and clamp range; `scale`/`zeroPoint` from a calibrated range. */
export function actParams(scheme: QuantScheme, scale: number, zeroPoint: number): ActParams {
  const [lo, hi] = QUANT_RANGE[scheme.dtype];
  return Object.freeze({ dtype: scheme.dtype as ActDtype, scale: Math.fround(scale), zeroPoint, qmin: scheme.symmetric ? lo + 1 : lo, qmax: hi });
}

/** Up to this many elements the range is found in JS (no native call, no allocation: batch-1 latency). */
const JS_MINMAX_MAX = 4096;

/**
 * Per-batch parameters of a dynamic layer: the `affineParams` expressions (`rangeParams`) on the batch's min/max,
 * without arrays per call. NaN/±Infinity → ERR_DISTIQ_NON_FINITE.
 */
export function dynamicParams(x: Float32Array, scheme: QuantScheme): ActParams {
  // The range always includes 0 (asymmetric schemes widen it to 0; symmetric ones use max |x|), so start there.
  let lo = 0, hi = 0;
  if (x.length > JS_MINMAX_MAX) {
    // The native reduction (SIMD; ~20x a JS loop on 300K elements); NaN/±Inf throw ERR_DISTIQ_NON_FINITE there.
    const r = minMax(x, { shape: [x.length] });
    lo = Math.min(r.min[0]!, 0);
    hi = Math.max(r.max[0]!, 0);
  } else for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v < lo) lo = v;
    else if (v > hi) hi = v;
    else if (v - v !== 0) {
      lo = NaN; // NaN: reported below
      break;
    }
  }
  if (!Number.isFinite(lo - hi)) {
    let i = 0;
    while (x[i]! - x[i]! === 0) i++;
    throw new DistiqRangeError(`Expected every element of the input to be finite (dynamic quantization); x[${i}] is ${x[i]}`, 'ERR_DISTIQ_NON_FINITE');
  }
  const [qmin, qmax] = QUANT_RANGE[scheme.dtype];
  const p = rangeParams(lo, hi, qmin, qmax, scheme.symmetric);
  return actParams(scheme, p.scale, p.zeroPoint);
}

/** Codes of `x` with `p` (native quantize; NaN → ERR_DISTIQ_NON_FINITE), written into `out` when it fits. */
export function quantizeActivation(x: Float32Array, p: ActParams, out?: Uint8Array | Int8Array): Uint8Array | Int8Array {
  const buf = out !== undefined && out.length === x.length ? out : undefined;
  return quantize(x, { shape: [x.length], dtype: p.dtype, scale: p.scale, zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax, ...(buf ? { out: buf } : {}) });
}
