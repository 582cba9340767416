/**
 * Affine quantization (ONNX QuantizeLinear semantics), its inverse, the STE fake-quant used by QAT, the min/max
 * reduction observers need, and the helper that turns a range into (scale, zero point). docs/quantization.md has
 * the full rules.
 *
 *   q = clamp(roundHalfEven(x / s) + z, qmin, qmax)     (float32 division, no reciprocal; NaN → error, ±Inf saturates)
 *   x̂ = (q − z) · s
 *
 * A tensor is described by its `shape` (row-major) and a granularity:
 * - `per-tensor`: one (scale, zero point);
 * - `per-channel`: one per index of `axis` (default 0, the output channel of a `[out, in]` weight);
 * - `per-group`: contiguous groups of `groupSize` along the last axis, one pair per (row, group); the last group of
 *   a row is short when `groupSize` does not divide the row length.
 * int4 / uint4 values are stored packed, two per byte, rows of the last axis padded to a whole byte (see `int4.ts`).
 */
import { callSite, DistiqRangeError, DistiqTypeError, fromNative, fromNativeAsync } from '../errors';
import { native, QTypeCode } from '../native';
import { describe, expectInteger, expectOneOf, expectTypedArray, isIntegerIn } from '../validate';

/** Storage types. int4/uint4 are packed two per byte (element 2i in the low nibble). */
export type QuantDtype = 'int8' | 'uint8' | 'int4' | 'uint4';
export type QuantGranularity = 'per-tensor' | 'per-channel' | 'per-group';
/** Int8Array for int8; Uint8Array for uint8 and the packed 4-bit types. */
export type QuantizedArray = Int8Array | Uint8Array;

const DTYPES: readonly QuantDtype[] = ['int8', 'uint8', 'int4', 'uint4'];
const GRANULARITIES: readonly QuantGranularity[] = ['per-tensor', 'per-channel', 'per-group'];

/** The full [qmin, qmax] range of each storage type. */
export const QUANT_RANGE: Readonly<Record<QuantDtype, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int4: [-8, 7],
  uint4: [0, 15],
};

const QTYPE: Readonly<Record<QuantDtype, QTypeCode>> = {
  int8: QTypeCode.S8,
  uint8: QTypeCode.U8,
  int4: QTypeCode.S4,
  uint4: QTypeCode.U4,
};

/** How a tensor is cut into parameter slots. */
export interface QuantLayout {
  /** Row-major shape; its product must equal the number of elements. `[]` is a scalar. */
  shape: readonly number[];
  /** Default `per-tensor`. */
  granularity?: QuantGranularity;
  /** per-channel: the channel axis (negative counts from the end; default 0). per-group: must be the last axis. */
  axis?: number;
  /** per-group: elements per group along the last axis, in [1, shape[last]]. */
  groupSize?: number;
}

/** Quantization parameters: one scale / zero point per slot of the layout (or a single number for all). */
export interface QuantParams extends QuantLayout {
  dtype: QuantDtype;
  /** Finite and > 0 (also after rounding to float32). A number applies to every slot. */
  scale: number | Float32Array;
  /** Integers in [qmin, qmax]; default 0 (symmetric). A number applies to every slot. */
  zeroPoint?: number | Int32Array;
  /** Clamp range, default the dtype's full range (QUANT_RANGE). Symmetric int8 schemes use [-127, 127]. */
  qmin?: number;
  qmax?: number;
}

export interface QuantizeOptions extends QuantParams {
  /** Output codes (Int8Array for int8, else Uint8Array), quantizedByteLength(...) long. Allocated when absent. */
  out?: QuantizedArray;
}

export interface DequantizeOptions extends QuantParams {
  /** Output values, one per element. Allocated when absent. */
  out?: Float32Array;
}

export interface FakeQuantizeOptions extends Omit<QuantParams, 'dtype'> {
  /** Gives the default [qmin, qmax]; optional when both qmin and qmax are set (any range inside [-128, 255]). */
  dtype?: QuantDtype;
  /** Output values (may not share memory with x). Allocated when absent. */
  out?: Float32Array;
  /** Output STE mask (1 where qmin ≤ round(x/s)+z ≤ qmax). Allocated when absent. */
  maskOut?: Uint8Array;
}

/** The native geometry: the tensor viewed as [outer, channels, inner], plus the group size. */
export interface QuantGeometry {
  outer: number;
  channels: number;
  inner: number;
  group: number;
  /** Elements. */
  count: number;
  /** Length of the last axis: the int4 row (each row starts on a fresh byte). */
  rowLen: number;
  /** Number of (scale, zero point) slots. */
  params: number;
}

function product(dims: readonly number[], from: number, to: number): number {
  let p = 1;
  for (let i = from; i < to; i++) p *= dims[i]!;
  return p;
}

/**
 * Converts a shape + granularity into the native geometry, validating everything (shape entries are safe
 * non-negative integers, axis in range, groupSize in [1, row length]).
 */
export function quantGeometry(layout: QuantLayout): QuantGeometry {
  if (layout === null || typeof layout !== 'object') {
    throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(layout)}`);
  }
  const { shape } = layout;
  if (!Array.isArray(shape)) throw new DistiqTypeError(`The "shape" argument must be an array of integers. Received ${describe(shape)}`);
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (!isIntegerIn(d, 0, Number.MAX_SAFE_INTEGER)) expectInteger(`shape[${i}]`, d, 0); // names the entry, throws
  }
  const dims = shape.length === 0 ? [1] : shape;
  const count = product(dims, 0, dims.length);
  if (!Number.isSafeInteger(count)) {
    throw new DistiqRangeError(`The size of "shape" ([${shape.join(', ')}]) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  const granularity = layout.granularity ?? 'per-tensor';
  expectOneOf('granularity', granularity, GRANULARITIES);
  const last = dims.length - 1;
  const rowLen = dims[last]!;
  let outer: number, channels: number, inner: number, group = 0;
  if (granularity === 'per-tensor') {
    if (layout.groupSize !== undefined) {
      throw new DistiqRangeError(`The "groupSize" argument is only valid with granularity "per-group". Received ${describe(layout.groupSize)}`);
    }
    // Rows as `outer` so that the row structure is visible to the driver; one parameter slot.
    outer = product(dims, 0, last);
    channels = 1;
    inner = rowLen;
  } else if (granularity === 'per-channel') {
    if (layout.groupSize !== undefined) {
      throw new DistiqRangeError(`The "groupSize" argument is only valid with granularity "per-group". Received ${describe(layout.groupSize)}`);
    }
    const axis = normalizeAxis(layout.axis ?? 0, dims.length, shape.length);
    outer = product(dims, 0, axis);
    channels = dims[axis]!;
    inner = product(dims, axis + 1, dims.length);
  } else {
    if (layout.axis !== undefined) {
      const axis = normalizeAxis(layout.axis, dims.length, shape.length);
      if (axis !== last) {
        throw new DistiqRangeError(`The "axis" argument must be the last axis (${last}) for per-group quantization. Received ${layout.axis}`);
      }
    }
    if (layout.groupSize === undefined) {
      throw new DistiqTypeError('The "groupSize" argument must be an integer for per-group quantization. Received undefined');
    }
    expectInteger('groupSize', layout.groupSize, 1, Math.max(1, rowLen));
    outer = product(dims, 0, last);
    channels = rowLen;
    inner = 1;
    group = layout.groupSize;
  }
  const params = group > 0 ? outer * Math.ceil(channels / group) : channels;
  return { outer, channels, inner, group, count, rowLen, params };
}

function normalizeAxis(axis: unknown, rank: number, givenRank: number): number {
  expectIntegerAny('axis', axis);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new DistiqRangeError(`The "axis" argument must be an integer in [${-Math.max(givenRank, 1)}, ${Math.max(givenRank, 1) - 1}]. Received ${axis}`);
  }
  return a;
}

function expectIntegerAny(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new DistiqTypeError(`The "${name}" argument must be an integer. Received ${describe(value)}`);
  if (!Number.isSafeInteger(value)) throw new DistiqRangeError(`The "${name}" argument must be an integer. Received ${value}`);
}

/** Bytes of storage for `geo` in `dtype`: one per element for 8-bit, ceil(rowLen/2) per row for 4-bit. */
export function quantizedByteLength(dtype: QuantDtype, layout: QuantLayout): number {
  expectOneOf('dtype', dtype, DTYPES);
  return storageBytes(dtype, quantGeometry(layout));
}

function storageBytes(dtype: QuantDtype, geo: QuantGeometry): number {
  if (dtype === 'int8' || dtype === 'uint8') return geo.count;
  if (geo.rowLen === 0) return 0;
  return (geo.count / geo.rowLen) * Math.ceil(geo.rowLen / 2);
}

function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  if (a.buffer !== b.buffer || a.byteLength === 0 || b.byteLength === 0) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function expectApart(outName: string, out: ArrayBufferView, inName: string, input: ArrayBufferView | null): void {
  if (input !== null && sharesMemory(out, input)) {
    throw new DistiqRangeError(`The "${outName}" argument must not share memory with "${inName}"`);
  }
}

interface ResolvedParams {
  geo: QuantGeometry;
  /** The caller's per-slot scales, or null for one number (scaleValue) applying to every slot. */
  scales: Float32Array | null;
  scaleValue: number;
  /** The caller's per-slot zero points, or null for one number (zeroPointValue; 0 needs no array at all). */
  zeroPoints: Int32Array | null;
  zeroPointValue: number;
  qmin: number;
  qmax: number;
}

// One-slot parameters of synchronous calls: written right before the native call (no user code runs in between),
// so a per-tensor call allocates nothing. Async calls and multi-slot broadcasts get their own arrays.
const SCALE1 = new Float32Array(1);
const ZERO_POINT1 = new Int32Array(1);

/** The scales the native call takes (see ResolvedParams). */
function nativeScales(p: ResolvedParams, sync: boolean): Float32Array {
  if (p.scales !== null) return p.scales;
  if (sync && p.geo.params === 1) {
    SCALE1[0] = p.scaleValue;
    return SCALE1;
  }
  return new Float32Array(p.geo.params).fill(p.scaleValue);
}

/** The zero points the native call takes: null when every one is 0. */
function nativeZeroPoints(p: ResolvedParams, sync: boolean): Int32Array | null {
  if (p.zeroPoints !== null) return p.zeroPoints;
  if (p.zeroPointValue === 0) return null;
  if (sync && p.geo.params === 1) {
    ZERO_POINT1[0] = p.zeroPointValue;
    return ZERO_POINT1;
  }
  return new Int32Array(p.geo.params).fill(p.zeroPointValue);
}

function resolveRange(dtype: QuantDtype | undefined, qminIn: unknown, qmaxIn: unknown, lo: number, hi: number): [number, number] {
  const [dlo, dhi] = dtype ? QUANT_RANGE[dtype] : [lo, hi];
  const qmin = qminIn ?? dlo;
  const qmax = qmaxIn ?? dhi;
  expectIntegerAny('qmin', qmin);
  expectIntegerAny('qmax', qmax);
  if (qmin < lo || qmin > hi) throw new DistiqRangeError(`The "qmin" argument must be an integer in [${lo}, ${hi}]. Received ${qmin}`);
  if (qmax < lo || qmax > hi) throw new DistiqRangeError(`The "qmax" argument must be an integer in [${lo}, ${hi}]. Received ${qmax}`);
  if (qmin > qmax) throw new DistiqRangeError(`The "qmin" argument must be <= qmax (${qmax}). Received ${qmin}`);
  return [qmin, qmax];
}

function resolveParams(opts: Omit<QuantParams, 'dtype'>, dtype: QuantDtype | undefined, lo: number, hi: number): ResolvedParams {
  const geo = quantGeometry(opts);
  const [qmin, qmax] = resolveRange(dtype, opts.qmin, opts.qmax, lo, hi);
  const formula = geo.group > 0 ? 'outer*ceil(channels/groupSize)' : opts.granularity === 'per-channel' ? 'shape[axis]' : '1';
  let scales: Float32Array | null = null;
  let scaleValue = 1;
  const scale = opts.scale;
  if (typeof scale === 'number') {
    checkScale('scale', scale, Math.fround(scale));
    scaleValue = scale;
  } else if (scale instanceof Float32Array) {
    if (scale.length !== geo.params) {
      throw new DistiqRangeError(
        `Expected scale.length to equal ${geo.params} (${formula}), received ${scale.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    for (let i = 0; i < scale.length; i++) {
      const v = scale[i]!;
      if (!(v > 0 && v < Infinity)) checkScale(`scale[${i}]`, v, v); // throws with the element's name
    }
    scales = scale;
  } else {
    throw new DistiqTypeError(`The "scale" argument must be a number or a Float32Array. Received ${describe(scale)}`);
  }
  let zeroPoints: Int32Array | null = null;
  let zeroPointValue = 0;
  const zp = opts.zeroPoint;
  if (typeof zp === 'number') {
    checkZeroPoint('zeroPoint', zp, qmin, qmax);
    zeroPointValue = zp;
  } else if (zp instanceof Int32Array) {
    if (zp.length !== geo.params) {
      throw new DistiqRangeError(
        `Expected zeroPoint.length to equal ${geo.params} (${formula}), received ${zp.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    for (let i = 0; i < zp.length; i++) {
      const v = zp[i]!;
      if (v < qmin || v > qmax) checkZeroPoint(`zeroPoint[${i}]`, v, qmin, qmax); // throws with the element's name
    }
    zeroPoints = zp;
  } else if (zp !== undefined) {
    throw new DistiqTypeError(`The "zeroPoint" argument must be an integer or an Int32Array. Received ${describe(zp)}`);
  }
  if (zeroPoints === null && zeroPointValue === 0 && (qmin > 0 || qmax < 0) && geo.params > 0) {
    throw new DistiqRangeError(`The "zeroPoint" argument must be given when 0 is outside [qmin, qmax] = [${qmin}, ${qmax}]. Received ${describe(zp)}`);
  }
  return { geo, scales, scaleValue, zeroPoints, zeroPointValue, qmin, qmax };
}

function checkScale(name: string, value: number, asFloat32: number): void {
  if (typeof value !== 'number') throw new DistiqTypeError(`The "${name}" argument must be a number. Received ${describe(value)}`);
  if (!Number.isFinite(value) || !Number.isFinite(asFloat32)) {
    throw new DistiqRangeError(`The "${name}" argument must be a finite number. Received ${value}`, 'ERR_DISTIQ_NON_FINITE');
  }
  if (!(asFloat32 > 0)) {
    throw new DistiqRangeError(`The "${name}" argument must be > 0 (as a float32). Received ${value}`);
  }
}

function checkZeroPoint(name: string, value: number, qmin: number, qmax: number): void {
  if (!Number.isSafeInteger(value) || value < qmin || value > qmax) {
    throw new DistiqRangeError(`The "${name}" argument must be an integer in [qmin, qmax] = [${qmin}, ${qmax}]. Received ${value}`);
  }
}

function expectDtype(opts: unknown): QuantDtype {
  if (opts === null || typeof opts !== 'object') {
    throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
  }
  const dtype = (opts as { dtype?: unknown }).dtype;
  expectOneOf('dtype', dtype, DTYPES);
  return dtype;
}

function expectShapeMatches(name: string, length: number, geo: QuantGeometry): void {
  if (length !== geo.count) {
    throw new DistiqRangeError(
      `Expected ${name}.length to equal ${geo.count} (the product of shape), received ${length}`,
      'ERR_DISTIQ_SHAPE_MISMATCH',
    );
  }
}

/** A checked quantize or dequantize call: the input, the output and the resolved parameters. */
interface QuantCall<I, O> {
  input: I;
  output: O;
  dtype: QuantDtype;
  p: ResolvedParams;
}

function prepareQuantize(x: unknown, opts: QuantizeOptions): QuantCall<Float32Array, QuantizedArray> {
  if (!(x instanceof Float32Array)) expectTypedArray('x', x, Float32Array);
  const dtype = expectDtype(opts);
  const [lo, hi] = QUANT_RANGE[dtype];
  const p = resolveParams(opts, dtype, lo, hi);
  expectShapeMatches('x', x.length, p.geo);
  const bytes = storageBytes(dtype, p.geo);
  const ctor = dtype === 'int8' ? Int8Array : Uint8Array;
  let q: QuantizedArray;
  const out = opts.out;
  if (out === undefined) {
    q = new ctor(bytes);
  } else {
    if (!(out instanceof ctor)) expectTypedArray('out', out, ctor as typeof Uint8Array);
    q = out;
    if (q.length !== bytes) {
      throw new DistiqRangeError(
        `Expected out.length to equal ${bytes} (${dtype === 'int8' || dtype === 'uint8' ? 'the product of shape' : 'rows*ceil(rowLen/2)'}), received ${q.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    expectApart('out', q, 'x', x);
  }
  return { input: x, output: q, dtype, p };
}

function prepareDequantize(q: unknown, opts: DequantizeOptions): QuantCall<QuantizedArray, Float32Array> {
  const dtype = expectDtype(opts);
  if (dtype === 'int8') {
    if (!(q instanceof Int8Array)) expectTypedArray('q', q, Int8Array);
  } else if (!(q instanceof Uint8Array)) {
    expectTypedArray('q', q, Uint8Array);
  }
  const [lo, hi] = QUANT_RANGE[dtype];
  const p = resolveParams(opts, dtype, lo, hi);
  const bytes = storageBytes(dtype, p.geo);
  if (q.length !== bytes) {
    throw new DistiqRangeError(
      `Expected q.length to equal ${bytes} (${dtype === 'int8' || dtype === 'uint8' ? 'the product of shape' : 'rows*ceil(rowLen/2)'}), received ${q.length}`,
      'ERR_DISTIQ_SHAPE_MISMATCH',
    );
  }
  let x: Float32Array;
  const out = opts.out;
  if (out === undefined) {
    x = new Float32Array(p.geo.count);
  } else {
    if (!(out instanceof Float32Array)) expectTypedArray('out', out, Float32Array);
    x = out;
    expectShapeMatches('out', x.length, p.geo);
    expectApart('out', x, 'q', q);
  }
  return { input: q, output: x, dtype, p };
}

function callQuantize(c: QuantCall<Float32Array, QuantizedArray>, sync: boolean): Promise<void> | void {
  const { geo, qmin, qmax } = c.p;
  const f = sync ? native.quantize : native.quantizeAsync;
  return f(c.input, geo.outer, geo.channels, geo.inner, geo.group, Math.max(geo.rowLen, 1), nativeScales(c.p, sync),
    nativeZeroPoints(c.p, sync), QTYPE[c.dtype], qmin, qmax, c.output);
}

function callDequantize(c: QuantCall<QuantizedArray, Float32Array>, sync: boolean): Promise<void> | void {
  const { geo } = c.p;
  const f = sync ? native.dequantize : native.dequantizeAsync;
  return f(c.input, QTYPE[c.dtype], geo.outer, geo.channels, geo.inner, geo.group, Math.max(geo.rowLen, 1),
    nativeScales(c.p, sync), nativeZeroPoints(c.p, sync), c.output);
}

/**
 * Quantizes float32 `x` to `dtype` codes: `q = clamp(roundHalfEven(x / s) + z, qmin, qmax)`. NaN in `x` throws
 * (ERR_DISTIQ_NON_FINITE); ±Infinity saturates to qmin/qmax. Returns `out` (or a new array): Int8Array for int8,
 * Uint8Array for uint8 and the packed 4-bit types.
 */
export function quantize(x: Float32Array, opts: QuantizeOptions & { dtype: 'int8' }): Int8Array;
export function quantize(x: Float32Array, opts: QuantizeOptions & { dtype: 'uint8' | 'int4' | 'uint4' }): Uint8Array;
export function quantize(x: Float32Array, opts: QuantizeOptions): QuantizedArray;
export function quantize(x: Float32Array, opts: QuantizeOptions): QuantizedArray {
  const c = prepareQuantize(x, opts);
  try {
    callQuantize(c, true);
  } catch (err) {
    throw fromNative(err);
  }
  return c.output;
}

/** Promise form of {@link quantize} (runs on the libuv pool; do not touch `x`/`out` until it settles). */
export async function quantizeAsync(x: Float32Array, opts: QuantizeOptions & { dtype: 'int8' }): Promise<Int8Array>;
export async function quantizeAsync(
  x: Float32Array,
  opts: QuantizeOptions & { dtype: 'uint8' | 'int4' | 'uint4' },
): Promise<Uint8Array>;
export async function quantizeAsync(x: Float32Array, opts: QuantizeOptions): Promise<QuantizedArray>;
export async function quantizeAsync(x: Float32Array, opts: QuantizeOptions): Promise<QuantizedArray> {
  const site = callSite();
  const c = prepareQuantize(x, opts);
  try {
    await callQuantize(c, false);
  } catch (err) {
    throw fromNativeAsync(err, site);
  }
  return c.output;
}

/** Dequantizes codes back to float32: `x̂ = (q − z) · s`. Returns `out` (or a new Float32Array). */
export function dequantize(q: QuantizedArray, opts: DequantizeOptions): Float32Array {
  const c = prepareDequantize(q, opts);
  try {
    callDequantize(c, true);
  } catch (err) {
    throw fromNative(err);
  }
  return c.output;
}

/** Promise form of {@link dequantize}. */
export async function dequantizeAsync(q: QuantizedArray, opts: DequantizeOptions): Promise<Float32Array> {
  const site = callSite();
  const c = prepareDequantize(q, opts);
  try {
    await callDequantize(c, false);
  } catch (err) {
    throw fromNativeAsync(err, site);
  }
  return c.output;
}

/**
 * Per-slot minimum and maximum of `x` for a layout (what min/max observers need). Every element must be finite
 * (NaN/±Infinity throw ERR_DISTIQ_NON_FINITE). A zero is reported as +0. Slots without elements stay ±Infinity.
 */
export function minMax(x: Float32Array, layout: QuantLayout): { min: Float32Array; max: Float32Array } {
  expectTypedArray('x', x, Float32Array);
  const geo = quantGeometry(layout);
  expectShapeMatches('x', x.length, geo);
  const min = new Float32Array(geo.params);
  const max = new Float32Array(geo.params);
  try {
    native.minMax(x, geo.outer, geo.channels, geo.inner, geo.group, min, max);
  } catch (err) {
    throw fromNative(err);
  }
  return { min, max };
}

/**
 * Quantize-dequantize in float (QAT): `y = (clamp(round(x/s) + z, qmin, qmax) − z) · s`, equal to
 * dequantize(quantize(x)), and the straight-through-estimator mask (1 where `qmin ≤ round(x/s) + z ≤ qmax`, i.e. where
 * the gradient passes). The range is the dtype's (default int8) unless qmin/qmax are given.
 */
export function fakeQuantize(x: Float32Array, opts: FakeQuantizeOptions): { y: Float32Array; mask: Uint8Array } {
  expectTypedArray('x', x, Float32Array);
  if (opts === null || typeof opts !== 'object') {
    throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
  }
  let dtype: QuantDtype | undefined;
  if (opts.dtype !== undefined) {
    expectOneOf('dtype', opts.dtype, DTYPES);
    dtype = opts.dtype;
  } else if (opts.qmin === undefined || opts.qmax === undefined) {
    dtype = 'int8';
  }
  // With a dtype the range must fit it; without one, any range inside [-128, 255] (int8 ∪ uint8).
  const [lo, hi] = opts.dtype !== undefined && dtype ? QUANT_RANGE[dtype] : [-128, 255];
  const p = resolveParams(opts, dtype, lo, hi);
  expectShapeMatches('x', x.length, p.geo);
  let y: Float32Array;
  if (opts.out === undefined) {
    y = new Float32Array(p.geo.count);
  } else {
    expectTypedArray('out', opts.out, Float32Array);
    y = opts.out;
    expectShapeMatches('out', y.length, p.geo);
    expectApart('out', y, 'x', x);
  }
  let mask: Uint8Array;
  if (opts.maskOut === undefined) {
    mask = new Uint8Array(p.geo.count);
  } else {
    expectTypedArray('maskOut', opts.maskOut, Uint8Array);
    mask = opts.maskOut;
    expectShapeMatches('maskOut', mask.length, p.geo);
    expectApart('maskOut', mask, 'x', x);
    expectApart('maskOut', mask, 'out', y);
  }
  const { geo } = p;
  try {
    native.fakeQuantize(x, geo.outer, geo.channels, geo.inner, geo.group, nativeScales(p, true), nativeZeroPoints(p, true),
      p.qmin, p.qmax, y, mask);
  } catch (err) {
    throw fromNative(err);
  }
  return { y, mask };
}

/** (scale, zero point) per slot, ready to pass to quantize/dequantize/fakeQuantize. */
export interface AffineParams {
  dtype: QuantDtype;
  scale: Float32Array;
  zeroPoint: Int32Array;
  qmin: number;
  qmax: number;
}

/** The smallest scale affineParams returns (float32 machine epsilon, as PyTorch observers use). */
export const MIN_SCALE = 2 ** -23;

/**
 * Scale and zero point from observed ranges (one per slot; numbers or arrays of equal length, min ≤ max, finite).
 *
 * - `symmetric: true` (signed dtypes only): z = 0, range [−127, 127] for int8 / [−7, 7] for int4 (negation-safe,
 *   DESIGN §3), `s = max(|min|, |max|) / qmax`.
 * - `symmetric: false` (default): the dtype's full range; the observed range is first widened to include 0
 *   (`min' = min(min, 0)`, `max' = max(max, 0)`) so that 0 is exactly representable, then
 *   `s = (max' − min') / (qmax − qmin)` and `z = clamp(qmin − roundHalfEven(min' / s), qmin, qmax)` — the
 *   PyTorch MinMaxObserver / ONNX DynamicQuantizeLinear formula.
 *
 * s is computed in float64, rounded to float32, and raised to at least MIN_SCALE (so an all-zero range gives a
 * valid scale); z is computed from the float32 s.
 */
export function affineParams(
  min: number | Float32Array,
  max: number | Float32Array,
  opts: { dtype: QuantDtype; symmetric?: boolean },
): AffineParams {
  const dtype = expectDtype(opts);
  const symmetric = opts.symmetric ?? false;
  if (typeof symmetric !== 'boolean') throw new DistiqTypeError(`The "symmetric" argument must be a boolean. Received ${describe(symmetric)}`);
  const mins = toArray('min', min);
  const maxs = toArray('max', max);
  if (mins.length !== maxs.length) {
    throw new DistiqRangeError(`Expected max.length to equal ${mins.length} (min.length), received ${maxs.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }
  const [lo, hi] = QUANT_RANGE[dtype];
  if (symmetric && lo === 0) {
    throw new DistiqRangeError(`The "dtype" argument must be "int8" or "int4" for symmetric quantization. Received "${dtype}"`);
  }
  const qmin = symmetric ? lo + 1 : lo;
  const qmax = hi;
  const n = mins.length;
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = mins[i]!, b = maxs[i]!;
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      throw new DistiqRangeError(`Expected min[${i}] and max[${i}] to be finite; received ${a} and ${b}`, 'ERR_DISTIQ_NON_FINITE');
    }
    if (a > b) throw new DistiqRangeError(`Expected min[${i}] <= max[${i}]; received ${a} > ${b}`);
    const p = rangeParams(a, b, qmin, qmax, symmetric);
    scale[i] = p.scale;
    zeroPoint[i] = p.zeroPoint;
  }
  return { dtype, scale, zeroPoint, qmin, qmax };
}

/**
 * The scale and zero point of one checked range (finite, min <= max) for codes [qmin, qmax]: what `affineParams`
 * computes per entry, for callers that have a single range (e.g. dynamic activation quantization).
 */
export function rangeParams(min: number, max: number, qmin: number, qmax: number, symmetric: boolean): { scale: number; zeroPoint: number } {
  if (symmetric) return { scale: Math.max(Math.fround(Math.max(Math.abs(min), Math.abs(max)) / qmax), MIN_SCALE), zeroPoint: 0 };
  const lo0 = Math.min(min, 0), hi0 = Math.max(max, 0);
  const s = Math.max(Math.fround((hi0 - lo0) / (qmax - qmin)), MIN_SCALE);
  return { scale: s, zeroPoint: Math.min(Math.max(qmin - roundHalfEven(lo0 / s), qmin), qmax) };
}

function toArray(name: string, v: unknown): ArrayLike<number> {
  if (typeof v === 'number') return [v];
  if (v instanceof Float32Array || v instanceof Float64Array) return v;
  throw new DistiqTypeError(`The "${name}" argument must be a number or a Float32Array. Received ${describe(v)}`);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
