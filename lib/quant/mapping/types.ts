/** Shared shapes of the mapping implementations (lib/quant/mapping/*), so scheme.ts and the mappings agree. */
import { packInt4, unpackInt4 } from '../../ops/int4';
import type { QuantDtype, QuantGranularity, QuantLayout } from '../../ops/quantize';

export type QuantMapping = 'linear' | 'log2' | 'kmeans' | 'nf4';
export type KMeansInit = 'quantile' | 'kmeans++';

/** A validated scheme as plain data (what QuantScheme.toJSON writes, minus the version); defaults in brackets. */
export interface SchemeSettings {
  /** [`linear`] */
  mapping: QuantMapping;
  /** Required for `linear` and `log2`; `nf4` is `uint4`; [`kmeans`: `uint4` for ≤ 16 levels, else `uint8`]. */
  dtype: QuantDtype;
  /** linear: [false] (true needs int8/int4); log2 and nf4: always true; kmeans: always false. */
  symmetric: boolean;
  /** [`per-group` when `groupSize` is given (nf4: with groupSize 64), else `per-tensor`] */
  granularity: QuantGranularity;
  /** per-channel only: the channel axis, negative counts from the end [0, the output channel of a weight]. */
  axis?: number;
  /** per-group only: elements per group along the last axis, ≥ 1 (a row's last group may be shorter). */
  groupSize?: number;
  /** kmeans only: codebook size in [2, 2^bits] [2^bits]. */
  levels?: number;
  /** kmeans only: Lloyd iterations at most, [0, 1000] [30]. */
  iterations?: number;
  /** kmeans only [`quantile`]. */
  init?: KMeansInit;
  /** kmeans only, for `init: 'kmeans++'`: uint32 seed [0]. */
  seed?: number;
  /**
   * linear only: how the range of a tensor quantized from its own data is chosen: `none` (min/max, round to
   * nearest) or `mse` (per slot, the clipping ratio of mapping/clip.ts with the least squared error). [`mse` for
   * int4/uint4, `none` for 8-bit; in the JSON form (with `version`) an absent clip is `none`, as files written before
   * the setting existed]. An observed `range` or given `params` are used as they are.
   */
  clip?: WeightClip;
}

export type WeightClip = 'none' | 'mse';

/** Scale (and zero point for asymmetric linear) per parameter slot. */
export interface RangeParams {
  scale: Float32Array;
  zeroPoint: Int32Array | null;
}

/** What a mapping stores for one tensor. */
export interface QuantizedParts {
  /** Codes: Int8Array for int8, else Uint8Array; 4-bit dtypes packed two per byte per row (lib/ops/int4.ts). */
  data: Int8Array | Uint8Array;
  scale: Float32Array | null;
  zeroPoint: Int32Array | null;
  codebook: Float32Array | null;
}

export function bitsOf(dtype: QuantDtype): 4 | 8 {
  return dtype === 'int4' || dtype === 'uint4' ? 4 : 8;
}

/** The lib/ops layout of a scheme for a shape. */
export function layoutOf(s: SchemeSettings, shape: readonly number[]): QuantLayout {
  const layout: QuantLayout = { shape, granularity: s.granularity };
  if (s.granularity === 'per-channel') layout.axis = s.axis ?? 0;
  if (s.granularity === 'per-group') layout.groupSize = s.groupSize!;
  return layout;
}

/** Row length of the 4-bit storage (the last axis; 1 for a scalar). */
export function rowLength(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1]!;
}

/** One code per element (Int8Array for signed dtypes, Uint8Array for unsigned) → the dtype's storage. */
export function storeCodes(codes: Int8Array | Uint8Array, dtype: QuantDtype, shape: readonly number[]): Int8Array | Uint8Array {
  if (bitsOf(dtype) === 8) return codes;
  return codes.length === 0 ? new Uint8Array(0) : packInt4(codes, rowLength(shape));
}

/** The dtype's storage → one code per element. */
export function loadCodes(data: Int8Array | Uint8Array, dtype: QuantDtype, count: number, shape: readonly number[]): Int8Array | Uint8Array {
  if (bitsOf(dtype) === 8) return data;
  return count === 0 ? new Uint8Array(0) : unpackInt4(data as Uint8Array, count, rowLength(shape), dtype === 'int4');
}

/** Rounding slack of one float32 division and one float32 product, for error bounds: 2⁻²²·(|x| + s). */
export function roundingSlack(x: number, s: number): number {
  return 2 ** -22 * (Math.abs(x) + s);
}
