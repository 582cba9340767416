/**
 * Quantization schemes: what a tensor is turned into. A scheme is a dtype (int8, uint8, int4, uint4), symmetric or
 * asymmetric, a granularity (per-tensor, per-channel along `axis`, per-group of `groupSize` along the last axis, the
 * last group of a row may be short) and a mapping from floats to codes:
 *
 * - `linear`: affine, the native kernels of lib/ops/quantize.ts (ONNX semantics).
 * - `log2`: power-of-two levels ±s·2^(k−L) (lib/quant/mapping/log2.ts); signed dtypes, symmetric.
 * - `kmeans`: a fitted codebook of `levels` float32 values per slot, indices stored (uint4 packed or uint8).
 * - `nf4`: QLoRA's NormalFloat table with per-slot absmax scaling (uint4; default per-group of 64).
 *
 * A linear scheme's `clip` decides the range of a tensor quantized from its own data: `none` (min/max) or `mse`
 * (per slot, the clipping ratio in 1.00 … 0.50 with the least squared error; the default for int4/uint4 weights).
 *
 * Schemes validate themselves at construction (typed errors naming the setting, e.g. "scheme.groupSize"), are
 * immutable, serialise to/from JSON (`toJSON` / `QuantScheme.fromJSON`) for model metadata, and quantize a tensor
 * into a `QuantizedTensor` (codes + scale / zero point / codebook per slot). Each mapping documents an error bound
 * per element; `errorBound(q, x)` evaluates it (docs/quantization.md, "Schemes").
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import type { Int4Weights } from '../ops/gemm-s4';
import { quantGeometry, type QuantDtype, type QuantGranularity } from '../ops/quantize';
import { Tensor } from '../tensor/tensor';
import { describe, expectBoolean, expectInteger, expectOneOf } from '../validate';
import { kmeansDequantize, kmeansErrorBound, kmeansQuantize } from './mapping/kmeans';
import {
  linearDequantize,
  linearErrorBound,
  linearParamsFromData,
  linearParamsFromRange,
  linearQuantize,
  linearRange,
} from './mapping/linear';
import { absMaxParams, log2Dequantize, log2ErrorBound, log2Quantize } from './mapping/log2';
import { nf4Dequantize, nf4ErrorBound, nf4Quantize } from './mapping/nf4';
import { slotAbsMax, slotIndex } from './mapping/slots';
import {
  bitsOf,
  layoutOf,
  loadCodes,
  storeCodes,
  type KMeansInit,
  type QuantizedParts,
  type QuantMapping,
  type RangeParams,
  type SchemeSettings,
  type WeightClip,
} from './mapping/types';

export type { KMeansInit, QuantMapping, RangeParams, SchemeSettings, WeightClip } from './mapping/types';

const MAPPINGS: readonly QuantMapping[] = ['linear', 'log2', 'kmeans', 'nf4'];
const DTYPES: readonly QuantDtype[] = ['int8', 'uint8', 'int4', 'uint4'];
const GRANULARITIES: readonly QuantGranularity[] = ['per-tensor', 'per-channel', 'per-group'];
const INITS: readonly KMeansInit[] = ['quantile', 'kmeans++'];
const CLIPS: readonly WeightClip[] = ['none', 'mse'];
const KEYS = ['mapping', 'dtype', 'symmetric', 'granularity', 'axis', 'groupSize', 'levels', 'iterations', 'init', 'seed', 'clip'] as const;

/**
 * What a user writes: any subset of the settings, the rest defaulted (see SchemeSettings for each default); a
 * QuantSchemeJSON is accepted too.
 */
export type QuantSchemeSpec = Partial<SchemeSettings>;

/** The serialised form (model metadata): every setting explicit, plus a format version. */
export interface QuantSchemeJSON extends SchemeSettings {
  version: 1;
}

/** A quantized tensor: codes plus what the scheme's mapping needs to decode them. */
export interface QuantizedTensor extends QuantizedParts {
  readonly scheme: QuantScheme;
  readonly shape: readonly number[];
}

export interface SchemeQuantizeOptions {
  /** Shape of a Float32Array input (default `[x.length]`); a Tensor brings its own. */
  shape?: readonly number[];
  /**
   * Observed range per slot (e.g. from an observer); elements outside saturate. Without it (and without `params`)
   * the range is the tensor's own per-slot min/max. Not for `kmeans`.
   */
  range?: { min: Float32Array | number; max: Float32Array | number };
  /** Ready-made scale / zero point per slot (from `paramsFromRange`). Not for `kmeans`. */
  params?: RangeParams;
}

function settingError(name: string, expected: string, value: unknown): DistiqRangeError {
  return new DistiqRangeError(`The "scheme.${name}" setting must be ${expected}. Received ${describe(value)}`);
}

function validate(spec: unknown): SchemeSettings {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new DistiqTypeError(`The "scheme" argument must be an object. Received ${describe(spec)}`);
  }
  const o = spec as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (k === 'version' || o[k] === undefined) continue;
    if (!(KEYS as readonly string[]).includes(k)) {
      throw new DistiqRangeError(`"scheme.${k}" is not a scheme setting (expected one of ${KEYS.join(', ')})`);
    }
  }
  const mapping = o.mapping ?? 'linear';
  expectOneOf('scheme.mapping', mapping, MAPPINGS);
  const kmeans = mapping === 'kmeans';

  // dtype
  let dtype = o.dtype;
  if (dtype === undefined) {
    if (mapping === 'nf4') dtype = 'uint4';
    else if (kmeans) dtype = o.levels !== undefined && typeof o.levels === 'number' && o.levels > 16 ? 'uint8' : 'uint4';
    else throw new DistiqTypeError(`The "scheme.dtype" setting must be one of ${DTYPES.map((d) => `"${d}"`).join(', ')} for the ${mapping} mapping. Received undefined`);
  }
  expectOneOf('scheme.dtype', dtype, DTYPES);
  if (mapping === 'nf4' && dtype !== 'uint4') throw settingError('dtype', '"uint4" for the nf4 mapping (16 table indices)', dtype);
  if (kmeans && dtype !== 'uint4' && dtype !== 'uint8') throw settingError('dtype', '"uint4" or "uint8" for the kmeans mapping (codebook indices)', dtype);
  if (mapping === 'log2' && dtype !== 'int8' && dtype !== 'int4') throw settingError('dtype', '"int8" or "int4" for the log2 mapping (sign-magnitude codes)', dtype);

  // symmetric
  const fixedSymmetric = mapping === 'log2' || mapping === 'nf4' ? true : kmeans ? false : undefined;
  const symmetric: unknown = o.symmetric ?? fixedSymmetric ?? false;
  expectBoolean('scheme.symmetric', symmetric);
  if (fixedSymmetric !== undefined && symmetric !== fixedSymmetric) {
    throw settingError('symmetric', `${fixedSymmetric} for the ${mapping} mapping`, symmetric);
  }
  if (symmetric && mapping === 'linear' && dtype !== 'int8' && dtype !== 'int4') {
    throw settingError('symmetric', `false for dtype "${dtype}" (symmetric linear schemes need int8 or int4)`, symmetric);
  }

  // granularity
  let granularity = o.granularity;
  let groupSize = o.groupSize;
  if (granularity === undefined) {
    if (mapping === 'nf4' && groupSize === undefined && o.axis === undefined) groupSize = 64;
    granularity = groupSize !== undefined ? 'per-group' : 'per-tensor';
  }
  expectOneOf('scheme.granularity', granularity, GRANULARITIES);
  const out: SchemeSettings = { mapping, dtype, symmetric, granularity };
  if (granularity === 'per-channel') {
    const axis = o.axis ?? 0;
    if (typeof axis !== 'number' || !Number.isSafeInteger(axis)) throw settingError('axis', 'an integer', axis);
    out.axis = axis;
  } else if (o.axis !== undefined) {
    throw settingError('axis', `absent for granularity "${granularity}" (only per-channel has an axis)`, o.axis);
  }
  if (granularity === 'per-group') {
    if (groupSize === undefined) throw new DistiqTypeError('The "scheme.groupSize" setting must be an integer >= 1 for granularity "per-group". Received undefined');
    expectInteger('scheme.groupSize', groupSize, 1);
    out.groupSize = groupSize;
  } else if (groupSize !== undefined) {
    throw settingError('groupSize', `absent for granularity "${granularity}" (only per-group has a group size)`, groupSize);
  }

  // kmeans settings
  const bits = bitsOf(dtype);
  if (kmeans) {
    const levels = o.levels ?? 2 ** bits;
    expectInteger('scheme.levels', levels, 2, 2 ** bits);
    const iterations = o.iterations ?? 30;
    expectInteger('scheme.iterations', iterations, 0, 1000);
    const init = o.init ?? 'quantile';
    expectOneOf('scheme.init', init, INITS);
    const seed = o.seed ?? 0;
    expectInteger('scheme.seed', seed, 0, 0xffffffff);
    Object.assign(out, { levels, iterations, init, seed });
  } else {
    for (const k of ['levels', 'iterations', 'init', 'seed'] as const) {
      if (o[k] !== undefined) throw settingError(k, `absent for the ${mapping} mapping (kmeans only)`, o[k]);
    }
  }

  // clip (linear only): default mse for 4-bit, none for 8-bit; the JSON form (with a version) defaults to none
  if (mapping === 'linear') {
    const clip = o.clip ?? (bits === 4 && o.version === undefined ? 'mse' : 'none');
    expectOneOf('scheme.clip', clip, CLIPS);
    out.clip = clip;
  } else if (o.clip !== undefined) {
    throw settingError('clip', `absent for the ${mapping} mapping (linear only)`, o.clip);
  }
  return out;
}

function expectFiniteData(x: Float32Array, mapping: string): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v - v === 0)) {
      throw new DistiqRangeError(`Expected every element of "x" to be finite (${mapping} mapping); x[${i}] is ${v}`, 'ERR_DISTIQ_NON_FINITE');
    }
  }
}

function toParamArray(name: string, v: unknown, n: number): Float32Array {
  if (typeof v === 'number') return new Float32Array(n).fill(v);
  if (!(v instanceof Float32Array)) throw new DistiqTypeError(`The "${name}" argument must be a number or a Float32Array. Received ${describe(v)}`);
  if (v.length !== n) {
    throw new DistiqRangeError(`Expected ${name}.length to equal ${n} (one per parameter slot), received ${v.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }
  return v;
}

export class QuantScheme implements SchemeSettings {
  readonly mapping!: QuantMapping;
  readonly dtype!: QuantDtype;
  readonly symmetric!: boolean;
  readonly granularity!: QuantGranularity;
  readonly axis?: number;
  readonly groupSize?: number;
  readonly levels?: number;
  readonly iterations?: number;
  readonly init?: KMeansInit;
  readonly seed?: number;
  readonly clip?: WeightClip;

  /** Validates `spec` (a QuantSchemeSpec, or a QuantSchemeJSON) and fills in the defaults. */
  constructor(spec: QuantSchemeSpec) {
    Object.assign(this, validate(spec));
    Object.freeze(this);
  }

  /** Reads the JSON form (an object or its string); the version must be 1. */
  static fromJSON(json: unknown): QuantScheme {
    let o = json;
    if (typeof json === 'string') {
      try {
        o = JSON.parse(json);
      } catch (err) {
        throw new DistiqRangeError(`The "scheme" argument is not valid JSON: ${(err as Error).message}`);
      }
    }
    if (o === null || typeof o !== 'object') throw new DistiqTypeError(`The "scheme" argument must be an object. Received ${describe(o)}`);
    const version = (o as { version?: unknown }).version;
    if (version !== 1) throw settingError('version', '1', version);
    return new QuantScheme(o as QuantSchemeSpec);
  }

  toJSON(): QuantSchemeJSON {
    const out: QuantSchemeJSON = { version: 1, mapping: this.mapping, dtype: this.dtype, symmetric: this.symmetric, granularity: this.granularity };
    for (const k of ['axis', 'groupSize', 'levels', 'iterations', 'init', 'seed'] as const) {
      if (this[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = this[k];
    }
    // Written for 4-bit linear schemes and whenever it is not `none`; absent reads back as `none` (older files).
    if (this.clip !== undefined && (this.clip !== 'none' || this.bits === 4)) out.clip = this.clip;
    return out;
  }

  /** Same settings. */
  equals(other: QuantScheme): boolean {
    return JSON.stringify(this.toJSON()) === JSON.stringify(other.toJSON());
  }

  /** Storage bits per code: 4 or 8. */
  get bits(): 4 | 8 {
    return bitsOf(this.dtype);
  }

  /** [qmin, qmax] of the codes (linear and log2: the clamp range; kmeans/nf4: the index range). */
  get codeRange(): [number, number] {
    if (this.mapping === 'linear') return linearRange(this);
    if (this.mapping === 'log2') return this.dtype === 'int8' ? [-127, 127] : [-7, 7];
    return [0, (this.levels ?? 16) - 1];
  }

  /** Parameter slots for a tensor of `shape` (validates the shape against the granularity). */
  paramCount(shape: readonly number[]): number {
    return quantGeometry(layoutOf(this, shape)).params;
  }

  /**
   * Scale (and zero point) per slot from an observed range: linear → affineParams; log2 and nf4 → s = max(|min|,
   * |max|). Not defined for kmeans, whose codebook is fitted to the tensor itself.
   */
  paramsFromRange(min: Float32Array | number, max: Float32Array | number): RangeParams {
    if (this.mapping === 'kmeans') {
      throw new DistiqRangeError('The "scheme.mapping" setting "kmeans" fits its codebook to the tensor; it takes no observed range (use linear, log2 or nf4 for calibrated activations)');
    }
    const n = typeof min === 'number' ? (typeof max === 'number' ? 1 : max.length) : min.length;
    const lo = toParamArray('min', min, n), hi = toParamArray('max', max, n);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(lo[i]!) || !Number.isFinite(hi[i]!)) {
        throw new DistiqRangeError(`Expected min[${i}] and max[${i}] to be finite; received ${lo[i]} and ${hi[i]}`, 'ERR_DISTIQ_NON_FINITE');
      }
      if (lo[i]! > hi[i]!) throw new DistiqRangeError(`Expected min[${i}] <= max[${i}]; received ${lo[i]} > ${hi[i]}`);
    }
    return this.mapping === 'linear' ? linearParamsFromRange(this, lo, hi) : absMaxParams(lo, hi);
  }

  /** Quantizes `x` (a Tensor, or a Float32Array with `opts.shape`). NaN/±Inf in x → ERR_DISTIQ_NON_FINITE. */
  quantize(x: Tensor | Float32Array, opts: SchemeQuantizeOptions = {}): QuantizedTensor {
    if (opts === null || typeof opts !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
    let data: Float32Array, shape: readonly number[];
    if (x instanceof Tensor) {
      if (opts.shape !== undefined) throw new DistiqRangeError('The "shape" option must be absent when x is a Tensor (it has its own shape)');
      data = x.data;
      shape = x.shape;
    } else if (x instanceof Float32Array) {
      data = x;
      if (opts.shape !== undefined && !Array.isArray(opts.shape)) {
        throw new DistiqTypeError(`The "shape" option must be an array of integers. Received ${describe(opts.shape)}`);
      }
      shape = opts.shape ?? [x.length];
    } else {
      throw new DistiqTypeError(`The "x" argument must be a Tensor or a Float32Array. Received ${describe(x)}`);
    }
    shape = Object.freeze(Array.from(shape));
    const geo = quantGeometry(layoutOf(this, shape));
    if (geo.count !== data.length) {
      throw new DistiqRangeError(`Expected x.length to equal ${geo.count} (the product of shape), received ${data.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    if (this.mapping === 'kmeans') {
      if (opts.range !== undefined || opts.params !== undefined) this.paramsFromRange(0, 0); // throws: kmeans takes no range
      expectFiniteData(data, 'kmeans');
      const idx = slotIndex(layoutOf(this, shape));
      const { codes, codebook } = kmeansQuantize(this, data, idx);
      return this.wrap(shape, { data: storeCodes(codes, this.dtype, shape), scale: null, zeroPoint: null, codebook });
    }
    let params: RangeParams | undefined;
    if (opts.params !== undefined) params = this.checkParams(opts.params, geo.params);
    else if (opts.range !== undefined) {
      if (opts.range === null || typeof opts.range !== 'object') throw new DistiqTypeError(`The "range" option must be an object { min, max }. Received ${describe(opts.range)}`);
      params = this.paramsFromRange(toParamArray('range.min', opts.range.min, geo.params), toParamArray('range.max', opts.range.max, geo.params));
    }
    if (this.mapping === 'linear') {
      const p = params ?? linearParamsFromData(this, data, shape);
      if (params !== undefined) expectFiniteData(data, 'linear');
      return this.wrap(shape, linearQuantize(this, data, shape, p));
    }
    expectFiniteData(data, this.mapping);
    const idx = slotIndex(layoutOf(this, shape));
    if (params === undefined) {
      const a = slotAbsMax(data, idx);
      params = absMaxParams(a, a);
    }
    const codes = this.mapping === 'log2' ? log2Quantize(this, data, idx, params) : nf4Quantize(data, idx, params);
    return this.wrap(shape, { data: storeCodes(codes, this.dtype, shape), scale: params.scale, zeroPoint: null, codebook: null });
  }

  /** The float values a QuantizedTensor of this scheme stands for. */
  dequantize(q: QuantizedTensor): Float32Array {
    this.checkQuantized(q);
    if (this.mapping === 'linear') return linearDequantize(this, q, q.shape);
    const idx = slotIndex(layoutOf(this, q.shape));
    const codes = loadCodes(q.data, this.dtype, idx.geo.count, q.shape);
    if (this.mapping === 'log2') return log2Dequantize(this, codes as Int8Array, idx, q.scale!);
    if (this.mapping === 'nf4') return nf4Dequantize(codes as Uint8Array, idx, q.scale!);
    return kmeansDequantize(this, codes as Uint8Array, idx, q.codebook!);
  }

  /**
   * The documented bound on |x − dequantize(q)| for each element of the original `x` (see each mapping's file and
   * docs/quantization.md). For kmeans: the widest half-gap of the slot's codebook (plus the distance beyond its ends).
   */
  errorBound(q: QuantizedTensor, x: Float32Array): Float32Array {
    this.checkQuantized(q);
    const idx = slotIndex(layoutOf(this, q.shape));
    if (!(x instanceof Float32Array) || x.length !== idx.geo.count) {
      throw new DistiqRangeError(`The "x" argument must be a Float32Array of ${idx.geo.count} elements. Received ${describe(x)}`);
    }
    if (this.mapping === 'linear') return linearErrorBound(this, q, x, idx);
    if (this.mapping === 'log2') return log2ErrorBound(this, q, x, idx);
    if (this.mapping === 'nf4') return nf4ErrorBound(q, x, idx);
    return kmeansErrorBound(this, q, x, idx);
  }

  private wrap(shape: readonly number[], parts: QuantizedParts): QuantizedTensor {
    return Object.freeze({ scheme: this, shape, ...parts });
  }

  private checkParams(p: RangeParams, n: number): RangeParams {
    if (p === null || typeof p !== 'object') throw new DistiqTypeError(`The "params" option must be an object { scale, zeroPoint }. Received ${describe(p)}`);
    const scale = toParamArray('params.scale', p.scale, n);
    for (let i = 0; i < n; i++) {
      const v = scale[i]!;
      if (!(v > 0 && v < Infinity)) throw new DistiqRangeError(`The "params.scale[${i}]" argument must be a finite number > 0. Received ${v}`);
    }
    let zeroPoint: Int32Array | null = null;
    if (p.zeroPoint != null) {
      if (this.mapping !== 'linear' || this.symmetric) throw new DistiqRangeError(`The "params.zeroPoint" argument must be null for a ${this.symmetric ? 'symmetric' : this.mapping} scheme`);
      if (!(p.zeroPoint instanceof Int32Array) || p.zeroPoint.length !== n) {
        throw new DistiqRangeError(`The "params.zeroPoint" argument must be an Int32Array of ${n} elements. Received ${describe(p.zeroPoint)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
      zeroPoint = p.zeroPoint;
    }
    return { scale, zeroPoint };
  }

  private checkQuantized(q: QuantizedTensor): void {
    if (q === null || typeof q !== 'object' || !(q.scheme instanceof QuantScheme)) {
      throw new DistiqTypeError(`The "q" argument must be a QuantizedTensor. Received ${describe(q)}`);
    }
    if (q.scheme !== this && !q.scheme.equals(this)) {
      throw new DistiqRangeError(`The "q" argument was quantized with another scheme (${JSON.stringify(q.scheme.toJSON())})`);
    }
  }
}

/** Validates a spec into a scheme (same as `new QuantScheme(spec)`; passes a QuantScheme through). */
export function quantScheme(spec: QuantSchemeSpec | QuantScheme): QuantScheme {
  return spec instanceof QuantScheme ? spec : new QuantScheme(spec);
}

/** Bytes a quantized tensor takes: codes + float32 scales + int32 zero points + float32 codebook. */
export function quantizedTensorBytes(q: QuantizedTensor): number {
  return q.data.byteLength + (q.scale?.byteLength ?? 0) + (q.zeroPoint?.byteLength ?? 0) + (q.codebook?.byteLength ?? 0);
}

/**
 * The int4 GEMM's weight form (lib/ops/gemm-s4.ts `Int4Weights`, for `packWeightsS4(w, n, k, { groupSize })`) of a
 * linear int4/uint4 QuantizedTensor of a [n, k] weight: per-group as is; per-channel on axis 0 and per-tensor as one
 * group per row (groupSize = k). The codes share memory with `q.data`.
 */
export function toInt4Weights(q: QuantizedTensor): { weights: Int4Weights; n: number; k: number; groupSize: number } {
  if (q === null || typeof q !== 'object' || !(q.scheme instanceof QuantScheme)) {
    throw new DistiqTypeError(`The "q" argument must be a QuantizedTensor. Received ${describe(q)}`);
  }
  const s = q.scheme;
  if (s.mapping !== 'linear' || s.bits !== 4) {
    throw new DistiqRangeError(`The "q" argument must use a linear int4/uint4 scheme for the int4 GEMM. Received mapping "${s.mapping}", dtype "${s.dtype}"`);
  }
  if (q.shape.length !== 2) throw new DistiqRangeError(`The "q" argument must be a [n, k] weight. Received shape [${q.shape.join(', ')}]`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  const [n, k] = q.shape as [number, number];
  if (s.granularity === 'per-channel' && (s.axis ?? 0) !== 0 && s.axis !== -2) {
    throw new DistiqRangeError(`The "q" argument must be quantized per output channel (axis 0) for the int4 GEMM. Received axis ${s.axis}`);
  }
  const groupSize = s.granularity === 'per-group' ? s.groupSize! : Math.max(k, 1);
  let scales = q.scale!, zeroPoints = q.zeroPoint;
  if (s.granularity === 'per-tensor') {
    scales = new Float32Array(n).fill(scales[0] ?? 1);
    zeroPoints = zeroPoints === null ? null : new Int32Array(n).fill(zeroPoints[0] ?? 0);
  }
  return { weights: { codes: q.data as Uint8Array, scales, zeroPoints, signed: s.dtype === 'int4' }, n, k, groupSize };
}
