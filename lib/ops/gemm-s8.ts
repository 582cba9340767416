/**
 * int8 GEMM: `C[i, j] = Σ_k (A[i, k] − z_a)·(W[j, k] − z_w)` exactly in int32, with fused epilogues.
 *
 * A is [m, k] row-major (row stride `lda`): a Uint8Array (u8×s8, z_a in [0, 255]) or an Int8Array (s8×s8, z_a in
 * [−128, 127]). W is an int8 weight [n, k] (a Linear weight, one row per output channel) packed once by
 * {@link packWeights}; z_w is in [−128, 127]. C is [m, n] with row stride `ldc`. k ≤ 65536, so with zero points 0
 * the int32 result is always exact; with zero points the result is the exact value modulo 2^32 (identical on every
 * ISA path and thread count).
 *
 * Outputs (`output`):
 * - `'int32'` (default): the accumulator.
 * - `'float32'`: `y = fma(float(acc), aScale·wScale[j], bias[j])`, then `max(y, 0)` when `relu`.
 * - `'uint8'` / `'int8'`: `clamp(roundHalfEven(y / outScale) + outZeroPoint)` to the type's range.
 * `wScale` is one number (per-tensor) or a Float32Array of n (per-channel); every path gives the same bits.
 */
import { callSite, DistiqRangeError, DistiqTypeError, fromNative, fromNativeAsync } from '../errors';
import { GemmOutKind, native, type NativePackedWeightsS8 } from '../native';
import {
  describe,
  expectAllFinite,
  expectBoolean,
  expectFinite,
  expectInteger,
  expectLength,
  expectTypedArray,
  matrixExtent,
  sharesMemory,
} from '../validate';
import { nativeHandle, PackedWeights } from './packed-weights';

export type GemmS8Output = 'int32' | 'float32' | 'uint8' | 'int8';

/** Options every output kind accepts. */
export interface GemmS8BaseOptions {
  /** Zero point of A: [0, 255] for a Uint8Array, [−128, 127] for an Int8Array (default 0). */
  aZeroPoint?: number;
  /** Zero point of W, in [−128, 127] (default 0: symmetric weights). */
  wZeroPoint?: number;
  /** Row stride of A in elements (default k). */
  lda?: number;
  /** Row stride of C in elements (default n). */
  ldc?: number;
}

/** Options of the float and requantized epilogues. */
export interface GemmS8ScaleOptions extends GemmS8BaseOptions {
  /** Scale of A (default 1); finite and > 0. */
  aScale?: number;
  /** Scale of W: one number (per-tensor) or n numbers (per output channel); finite and > 0 (default 1). */
  wScale?: number | Float32Array;
  /** Added per output channel (n elements) before ReLU. */
  bias?: Float32Array;
  /** Apply max(y, 0) (default false). */
  relu?: boolean;
}

export interface GemmS8Int32Options extends GemmS8BaseOptions {
  output?: 'int32';
  /** C: written in place and returned; allocated (m·ldc elements) when absent. Must not share memory with a. */
  out?: Int32Array;
}

export interface GemmS8Float32Options extends GemmS8ScaleOptions {
  output: 'float32';
  /** C: written in place and returned; allocated (m·ldc elements) when absent. Must not share memory with inputs. */
  out?: Float32Array;
}

export interface GemmS8Uint8Options extends GemmS8ScaleOptions {
  output: 'uint8';
  /** Scale of the requantized output (default 1); finite and > 0. */
  outScale?: number;
  /** Zero point of the output, in [0, 255] (default 0). */
  outZeroPoint?: number;
  out?: Uint8Array;
}

export interface GemmS8Int8Options extends GemmS8ScaleOptions {
  output: 'int8';
  /** Scale of the requantized output (default 1); finite and > 0. */
  outScale?: number;
  /** Zero point of the output, in [−128, 127] (default 0). */
  outZeroPoint?: number;
  out?: Int8Array;
}

export type GemmS8Options = GemmS8Int32Options | GemmS8Float32Options | GemmS8Uint8Options | GemmS8Int8Options;

type OutArray = Int32Array | Float32Array | Uint8Array | Int8Array;
type OutCtor = { new (n: number): OutArray; name: string };

/** The checked arguments of one call, in the native order (one object shape for every call). */
interface GemmS8Call {
  a: Uint8Array | Int8Array;
  m: number;
  lda: number;
  za: number;
  handle: NativePackedWeightsS8;
  zw: number;
  kind: GemmOutKind;
  c: OutArray;
  ldc: number;
  aScale: number;
  /** A per-channel (or 1-element) Float32Array from the caller, or null for a per-tensor number. */
  wScale: Float32Array | null;
  /** The per-tensor scale when wScale is null. */
  wScaleValue: number;
  bias: Float32Array | null;
  relu: boolean;
  outScale: number;
  outZp: number;
}

/** A scale: finite and > 0, and still so once rounded to float32. */
function expectScale(name: string, value: unknown): number {
  if (typeof value === 'number') {
    const f = Math.fround(value);
    if (f > 0 && f < Infinity) return f; // the common case: one comparison pair, no allocation
  }
  expectFinite(name, value, { min: 0, exclusiveMin: true });
  throw new DistiqRangeError(`The "${name}" argument must be a finite number > 0 as a float32. Received ${value}`);
}

function outputKind(requested: unknown): { kind: GemmOutKind; ctor: OutCtor } {
  switch (requested) {
    case undefined:
    case null:
    case 'int32':
      return INT32;
    case 'float32':
      return FLOAT32;
    case 'uint8':
      return UINT8;
    case 'int8':
      return INT8;
  }
  throw new DistiqRangeError(
    `The "output" option must be one of "int32", "float32", "uint8", "int8". Received ${describe(requested)}`,
  );
}
const INT32 = { kind: GemmOutKind.S32, ctor: Int32Array as OutCtor };
const FLOAT32 = { kind: GemmOutKind.F32, ctor: Float32Array as OutCtor };
const UINT8 = { kind: GemmOutKind.U8, ctor: Uint8Array as OutCtor };
const INT8 = { kind: GemmOutKind.S8, ctor: Int8Array as OutCtor };

/**
 * Every check of the public contract, in one pass over the options with no allocation on the valid path (except
 * C when `out` is absent). The native binding re-checks all of it.
 */
function prepare(a: unknown, m: unknown, packed: unknown, opts: unknown): GemmS8Call {
  if (!(a instanceof Uint8Array) && !(a instanceof Int8Array)) expectTypedArray<Uint8Array | Int8Array>('a', a, Uint8Array, Int8Array);
  expectInteger('m', m);
  const handle = nativeHandle('packed', packed);
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts)) {
    throw new DistiqTypeError(`The "opts" argument must be an object. Received ${describe(opts)}`);
  }
  const o = opts as GemmS8Uint8Options & { output?: unknown; out?: unknown; outZeroPoint?: unknown };
  // The wrapper's own frozen copies of the handle's dims (reading the native accessors costs a call each).
  const { n, k } = packed as PackedWeights;
  const signed = a instanceof Int8Array;

  const output = o.output;
  const { kind, ctor } = outputKind(output);

  const za = o.aZeroPoint ?? 0;
  expectInteger('aZeroPoint', za, signed ? -128 : 0, signed ? 127 : 255);
  const zw = o.wZeroPoint ?? 0;
  expectInteger('wZeroPoint', zw, -128, 127);
  const lda = o.lda ?? k;
  expectInteger('lda', lda, k);
  const ldc = o.ldc ?? n;
  expectInteger('ldc', ldc, n);

  const readsA = m > 0 && n > 0 && k > 0;
  const aNeed = readsA ? matrixExtent('a', m, k, lda) : 0;
  expectLength('a', a.length, aNeed, '(m-1)*lda+k', true);

  // Epilogue options (ignored by 'int32', but still checked when given).
  const aScale = expectScale('aScale', o.aScale ?? 1);
  let wScale: Float32Array | null = null;
  let wScaleValue = 1;
  const ws = o.wScale ?? 1;
  if (typeof ws === 'number') {
    wScaleValue = expectScale('wScale', ws);
  } else {
    expectTypedArray('wScale', ws, Float32Array);
    if (ws.length !== 1 && ws.length !== n) {
      throw new DistiqRangeError(
        `Expected wScale.length to equal 1 (per-tensor) or ${n} (n, per-channel), received ${ws.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    expectAllFinite('wScale', ws, true);
    wScale = ws;
  }
  let bias: Float32Array | null = null;
  if (o.bias !== undefined) {
    expectTypedArray('bias', o.bias, Float32Array);
    expectLength('bias', o.bias.length, n, 'n');
    bias = o.bias;
  }
  const relu = o.relu ?? false;
  expectBoolean('relu', relu);
  const outScale = expectScale('outScale', o.outScale ?? 1);
  const outZp = o.outZeroPoint ?? 0;
  if (kind === GemmOutKind.U8) expectInteger('outZeroPoint', outZp, 0, 255);
  else if (kind === GemmOutKind.S8) expectInteger('outZeroPoint', outZp, -128, 127);
  else expectInteger('outZeroPoint', outZp, -(2 ** 31), 2 ** 31 - 1);

  const cNeed = matrixExtent('out', m, n, ldc);
  let c: OutArray;
  const out = o.out;
  if (out === undefined) {
    const size = m * ldc;
    if (!Number.isSafeInteger(size)) {
      throw new DistiqRangeError(`The size of "out" (${m} x ${ldc}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
    }
    c = new ctor(size);
  } else {
    if (!(out instanceof ctor)) expectTypedArray('out', out, ctor);
    c = out as OutArray;
    expectLength('out', c.length, cNeed, '(m-1)*ldc+n', true);
    const cBytes = cNeed * c.BYTES_PER_ELEMENT;
    if (sharesMemory(c, cBytes, a, aNeed)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "a"');
    }
    if (kind !== GemmOutKind.S32 && wScale !== null && sharesMemory(c, cBytes, wScale, wScale.length * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "wScale"');
    }
    if (kind !== GemmOutKind.S32 && bias !== null && sharesMemory(c, cBytes, bias, bias.length * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "bias"');
    }
  }
  return { a, m, lda, za, handle, zw, kind, c, ldc, aScale, wScale, wScaleValue, bias, relu, outScale, outZp };
}

// The per-tensor scale of synchronous calls: written right before the native call (no user code runs in between)
// and read by it, so one array serves every call. Async calls get their own.
const SCALE = new Float32Array(1);

/** The wScale the native call takes: the caller's array, or the per-tensor number in a 1-element array. */
function nativeScale(p: GemmS8Call, sync: boolean): Float32Array | null {
  if (p.wScale !== null) return p.wScale;
  if (p.kind === GemmOutKind.S32) return null; // the int32 output never reads it
  if (!sync) return Float32Array.of(p.wScaleValue);
  SCALE[0] = p.wScaleValue;
  return SCALE;
}

/**
 * int8 GEMM `C = (A − z_a)·(W − z_w)ᵀ` with an optional fused epilogue (see the module comment). `a` is a
 * Uint8Array (u8×s8) or an Int8Array (s8×s8) of m rows of `packed.k` (stride `lda`); the result has m rows of
 * `packed.n` (stride `ldc`). Returns C, typed by `output` (`opts.out` when given). Throws DistiqTypeError /
 * DistiqRangeError on bad arguments, and ERR_DISTIQ_PACKED_MISMATCH when `packed` was made for another kernel.
 */
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts?: GemmS8Int32Options): Int32Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Float32Options): Float32Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Uint8Options): Uint8Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Int8Options): Int8Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Options = {}): OutArray {
  const p = prepare(a, m, packed, opts);
  const wScale = nativeScale(p, true);
  try {
    native.gemmS8(p.a, p.m, p.lda, p.za, p.handle, p.zw, p.kind, p.c, p.ldc, p.aScale, wScale, p.bias, p.relu, p.outScale, p.outZp);
  } catch (err) {
    throw fromNative(err);
  }
  return p.c;
}

/**
 * The Promise form of {@link gemmS8}: runs on the libuv pool so the event loop stays free. Do not modify or transfer
 * a, out, wScale or bias until it settles. Resolves with C; the bits equal the synchronous form's.
 */
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts?: GemmS8Int32Options): Promise<Int32Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Float32Options): Promise<Float32Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Uint8Options): Promise<Uint8Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Int8Options): Promise<Int8Array>;
export async function gemmS8Async(
  a: Uint8Array | Int8Array,
  m: number,
  packed: PackedWeights,
  opts: GemmS8Options = {},
): Promise<OutArray> {
  const p = prepare(a, m, packed, opts);
  const site = callSite();
  try {
    await native.gemmS8Async(
      p.a, p.m, p.lda, p.za, p.handle, p.zw, p.kind, p.c, p.ldc, p.aScale, nativeScale(p, false), p.bias, p.relu, p.outScale, p.outZp,
    );
  } catch (err) {
    throw fromNativeAsync(err, site);
  }
  return p.c;
}
