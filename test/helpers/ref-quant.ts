/**
 * TypeScript reference of the quantization family, written from the contract (docs/quantization.md), independent
 * of the native code. float32 semantics come from Math.fround: a float64 quotient/sum/product of two float32
 * values rounded once to float32 is the correctly rounded float32 result, which is what the C++ float operations
 * give (x / s, + z, (q − z) · s are each one IEEE operation).
 */
import { roundHalfEven } from './round';

export type RefDtype = 'int8' | 'uint8' | 'int4' | 'uint4';

export interface RefGeometry {
  outer: number;
  channels: number;
  inner: number;
  group: number;
  rowLen: number;
}

/** Parameter slot of flat element e. */
export function paramIndex(g: RefGeometry, e: number): number {
  const ci = Math.floor(e / g.inner);
  const c = ci % g.channels;
  if (g.group <= 0) return c;
  const o = Math.floor(ci / g.channels);
  return o * Math.ceil(g.channels / g.group) + Math.floor(c / g.group);
}

/** v = clamp(roundHalfEven(fround(x / s)) + z, qmin, qmax) and whether the unclamped v was inside the range. */
export function refQuantizeValue(x: number, s: number, z: number, qmin: number, qmax: number): { v: number; inRange: boolean } {
  const v = Math.fround(roundHalfEven(Math.fround(x / s)) + z);
  if (Number.isNaN(v)) return { v: qmin, inRange: false };
  return { v: Math.min(Math.max(v, qmin), qmax), inRange: v >= qmin && v <= qmax };
}

/** One code per element (unpacked), as plain numbers. */
export function refQuantizeValues(
  x: ArrayLike<number>,
  g: RefGeometry,
  scales: ArrayLike<number>,
  zps: ArrayLike<number> | null,
  qmin: number,
  qmax: number,
): number[] {
  const out: number[] = new Array<number>(x.length);
  for (let e = 0; e < x.length; e++) {
    const p = paramIndex(g, e);
    out[e] = refQuantizeValue(x[e]!, scales[p]!, zps ? zps[p]! : 0, qmin, qmax).v;
  }
  return out;
}

/** The storage the native quantize writes: bytes for 8-bit types, packed nibbles (pad 0) for 4-bit types. */
export function refStore(values: readonly number[], dtype: RefDtype, rowLen: number): Int8Array | Uint8Array {
  if (dtype === 'int8') return Int8Array.from(values);
  if (dtype === 'uint8') return Uint8Array.from(values);
  const rowBytes = Math.ceil(rowLen / 2);
  const out = new Uint8Array(rowLen === 0 ? 0 : (values.length / rowLen) * rowBytes);
  for (let e = 0; e < values.length; e++) {
    const row = Math.floor(e / rowLen), i = e % rowLen;
    const b = row * rowBytes + (i >> 1);
    out[b] = out[b]! | ((values[e]! & 0x0f) << ((i & 1) * 4));
  }
  return out;
}

/** Reads element e of the storage back as an integer. */
export function refLoad(q: Int8Array | Uint8Array, dtype: RefDtype, rowLen: number, e: number): number {
  if (dtype === 'int8' || dtype === 'uint8') return q[e]!;
  const rowBytes = Math.ceil(rowLen / 2);
  const row = Math.floor(e / rowLen), i = e % rowLen;
  const nibble = (q[row * rowBytes + (i >> 1)]! >> ((i & 1) * 4)) & 0x0f;
  return dtype === 'int4' && nibble >= 8 ? nibble - 16 : nibble;
}

export function refDequantize(
  q: Int8Array | Uint8Array,
  dtype: RefDtype,
  count: number,
  g: RefGeometry,
  scales: ArrayLike<number>,
  zps: ArrayLike<number> | null,
): Float32Array {
  const out = new Float32Array(count);
  for (let e = 0; e < count; e++) {
    const p = paramIndex(g, e);
    out[e] = Math.fround((refLoad(q, dtype, g.rowLen, e) - (zps ? zps[p]! : 0)) * scales[p]!);
  }
  return out;
}

export function refFakeQuantize(
  x: ArrayLike<number>,
  g: RefGeometry,
  scales: ArrayLike<number>,
  zps: ArrayLike<number> | null,
  qmin: number,
  qmax: number,
): { y: Float32Array; mask: Uint8Array } {
  const y = new Float32Array(x.length);
  const mask = new Uint8Array(x.length);
  for (let e = 0; e < x.length; e++) {
    const p = paramIndex(g, e);
    const z = zps ? zps[p]! : 0;
    const { v, inRange } = refQuantizeValue(x[e]!, scales[p]!, z, qmin, qmax);
    y[e] = Math.fround((v - z) * scales[p]!);
    mask[e] = inRange ? 1 : 0;
  }
  return { y, mask };
}

export function refMinMax(x: ArrayLike<number>, g: RefGeometry, params: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(params).fill(Infinity);
  const max = new Float32Array(params).fill(-Infinity);
  for (let e = 0; e < x.length; e++) {
    const p = paramIndex(g, e);
    min[p] = Math.min(min[p]!, x[e]!);
    max[p] = Math.max(max[p]!, x[e]!);
  }
  // zeros are reported as +0
  for (let p = 0; p < params; p++) {
    min[p] = min[p]! + 0;
    max[p] = max[p]! + 0;
  }
  return { min, max };
}
