/**
 * int4 weight-only GEMM/GEMV with int8 activations (the llama.cpp Q4-style path): `y = x·Wᵀ + bias` where W [n, k]
 * is stored as 4-bit codes with one float32 scale (and optionally a zero point) per group of `groupSize` elements
 * along k, and each row of x is quantized to int8 on the fly. Exact contract (native/include/distiq/gemm_s4.h,
 * docs/int4.md), identical bits on every ISA and thread count:
 *
 *   a_scale[m] = max_k |x[m,k]| / 127;  a[m,k] = clamp(roundHalfEven(x[m,k] / a_scale[m]), −127, 127)  (0 if a_scale is 0)
 *   dot_g = Σ_{k in group g} a[m,k]·(q[n,k] − z[n,g])                                                 (exact integer)
 *   acc = 0;  for g in order: acc = fma(float32(dot_g), s[n,g], acc)                                  (float32)
 *   y[m,n] = fma(acc, a_scale[m], bias[n] ?? 0)
 *
 * Codes: int4 (signed, [−8, 7], zero points in [−8, 7]) or uint4 ([0, 15], zero points in [0, 15]); no zero points
 * means z = 0. Storage is DESIGN §3: n rows of ceil(k/2) bytes, element 2i in the low nibble of byte i.
 */
import { DistiqRangeError, DistiqTypeError, callSite, fromNative, fromNativeAsync } from '../errors';
import { native } from '../native';
import {
  describe,
  expectBoolean,
  expectInteger,
  expectLength,
  expectOneOf,
  expectTypedArray,
  matrixExtent,
  sharesMemory,
} from '../validate';

/** Longest group (min(groupSize, k)) the kernel accepts: keeps every per-group integer dot exact in int32. */
export const GEMM_S4_MAX_GROUP = 2 ** 20;

/** Weights as 4-bit codes with per-group parameters (what {@link quantizeWeightsS4} returns). */
export interface Int4Weights {
  /** n rows of ceil(k/2) bytes, element 2i of a row in the low nibble of byte i (DESIGN §3). */
  codes: Uint8Array;
  /** n·ceil(k/groupSize) finite float32 scales, row-major ([n, groups]). */
  scales: Float32Array;
  /** n·ceil(k/groupSize) zero points in the code range, or absent/null for z = 0. */
  zeroPoints?: Int32Array | null;
  /** true: int4 codes (two's complement nibbles, [−8, 7]); false: uint4 ([0, 15]). Default true. */
  signed?: boolean;
}

export interface PackWeightsS4Options {
  /** Elements per group along k (default 32). A value ≥ k gives one group per row (per-channel). */
  groupSize?: number;
  /** Row stride of float weights in elements (default k; float input only). */
  ldw?: number;
  /**
   * Float weights only: 'float16' rounds every RTN scale to the nearest float16 (the llama.cpp Q4_0 convention), so
   * the packed layout stores 2 bytes per scale instead of 4 (about 10 % fewer bytes at groupSize 32; a GEMV streams
   * that much less). Default 'float32'. Pre-quantized scales are stored as float16 automatically when every one
   * converts exactly.
   */
  scaleFormat?: 'float32' | 'float16';
}

export interface GemmS4Options {
  /** Added per output column (n elements). */
  bias?: Float32Array;
  /** y: written in place and returned; allocated (m·ldc elements) when absent. Must not share memory with a or bias. */
  out?: Float32Array;
  /** Row stride of a in elements (default k). */
  lda?: number;
  /** Row stride of out in elements (default n). */
  ldc?: number;
}

/** The native handle's shape (native/addon/packed_weights_s4.h). */
interface NativePackedWeightsS4 {
  readonly n: number;
  readonly k: number;
  readonly groupSize: number;
  readonly signed: boolean;
  readonly hasZeroPoints: boolean;
  readonly layout: string;
  readonly byteLength: number;
}

type GemmS4Args = [
  a: Float32Array,
  m: number,
  lda: number,
  packed: NativePackedWeightsS4,
  bias: Float32Array | null,
  out: Float32Array,
  ldc: number,
];

/** The gemm_s4 natives (native/addon/ops_gemm_s4.cc). */
interface NativeGemmS4 {
  packWeightsS4(
    codes: Uint8Array,
    n: number,
    k: number,
    group: number,
    signed: boolean,
    scales: Float32Array,
    zeroPoints: Int32Array | null,
  ): NativePackedWeightsS4;
  quantizeWeightsS4(
    w: Float32Array,
    n: number,
    k: number,
    ldw: number,
    group: number,
    codes: Uint8Array,
    scales: Float32Array,
    f16Scales: boolean,
  ): void;
  gemmS4(...args: GemmS4Args): void;
  gemmS4Async(...args: GemmS4Args): Promise<void>;
}

const nativeS4 = native as unknown as NativeGemmS4;

/** int4 weights W [n, k] packed for one ISA's int4 GEMM kernel; the bytes live in native memory freed by the GC. */
export class PackedWeightsS4 {
  /** Output channels (rows of W). */
  readonly n: number;
  /** Reduction length (columns of W). */
  readonly k: number;
  /** Elements per group along k (as given; ≥ k means per-channel). */
  readonly groupSize: number;
  /** int4 (true) or uint4 (false) codes. */
  readonly signed: boolean;
  /** Whether per-group zero points are stored. */
  readonly hasZeroPoints: boolean;
  /** The ISA level whose kernel layout the packed bytes use, e.g. "avx512vnni". */
  readonly layout: string;
  /** Native bytes held. */
  readonly byteLength: number;
  readonly #handle: NativePackedWeightsS4;

  private constructor(handle: NativePackedWeightsS4) {
    this.#handle = handle;
    this.n = handle.n;
    this.k = handle.k;
    this.groupSize = handle.groupSize;
    this.signed = handle.signed;
    this.hasZeroPoints = handle.hasZeroPoints;
    this.layout = handle.layout;
    this.byteLength = handle.byteLength;
    Object.freeze(this);
  }

  /** @internal */
  static fromNative(handle: NativePackedWeightsS4): PackedWeightsS4 {
    return new PackedWeightsS4(handle);
  }

  /** @internal The native handle of `x`, or undefined when `x` is not a PackedWeightsS4. */
  static handleOf(x: unknown): NativePackedWeightsS4 | undefined {
    return typeof x === 'object' && x !== null && #handle in x ? (x as PackedWeightsS4).#handle : undefined;
  }
}

function expectOptions(name: string, opts: unknown): void {
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts) || Array.isArray(opts)) {
    throw new DistiqTypeError(`The "${name}" argument must be an object. Received ${describe(opts)}`);
  }
}

/** n, k and groupSize checked; returns the number of groups per row. */
function geometry(n: unknown, k: unknown, groupSize: unknown): number {
  expectInteger('n', n);
  expectInteger('k', k);
  expectInteger('groupSize', groupSize, 1);
  if (Math.min(groupSize, k) > GEMM_S4_MAX_GROUP) {
    throw new DistiqRangeError(
      `The "groupSize" option must make min(groupSize, k) <= ${GEMM_S4_MAX_GROUP} (keeps each group's integer dot ` +
        `exact). Received ${groupSize} with k = ${k}`,
      'ERR_DISTIQ_LIMIT_EXCEEDED',
    );
  }
  const groups = k === 0 ? 0 : Math.ceil(k / groupSize);
  if (!Number.isSafeInteger(n * Math.ceil(k / 2)) || !Number.isSafeInteger(n * groups)) {
    throw new DistiqRangeError(`The size of the weights (${n} x ${k}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  return groups;
}

/**
 * Symmetric round-to-nearest int4 of float weights W [n, k] (row stride `ldw`), per group of `groupSize` (default
 * 32): `s = max|w| / 7` over the group (rounded to float16 with `scaleFormat: 'float16'`; 1 for an all-zero group),
 * `q = clamp(roundHalfEven(w / s), −7, 7)`.
 * Returns the codes (DESIGN §3 storage) and scales, ready for {@link packWeightsS4} or for saving.
 * NaN/±Infinity in W is ERR_DISTIQ_NON_FINITE.
 */
export function quantizeWeightsS4(w: Float32Array, n: number, k: number, opts: PackWeightsS4Options = {}): Int4Weights {
  expectTypedArray('w', w, Float32Array);
  expectOptions('opts', opts);
  const groupSize = opts.groupSize ?? 32;
  const groups = geometry(n, k, groupSize);
  const ldw = opts.ldw ?? k;
  expectInteger('ldw', ldw, k);
  expectLength('w', w.length, matrixExtent('w', n, k, ldw), '(n-1)*ldw+k');
  const scaleFormat = opts.scaleFormat ?? 'float32';
  expectOneOf('scaleFormat', scaleFormat, ['float32', 'float16'] as const);
  const codes = new Uint8Array(n * Math.ceil(k / 2));
  const scales = new Float32Array(n * groups);
  try {
    nativeS4.quantizeWeightsS4(w, n, k, ldw, groupSize, codes, scales, scaleFormat === 'float16');
  } catch (err) {
    throw fromNative(err);
  }
  return { codes, scales, zeroPoints: null, signed: true };
}

/**
 * Packs int4 weights W [n, k] for the int4 GEMM kernel that is active now (pack once, multiply many times):
 * - from float32 weights (`w` a Float32Array [n, k], row stride `opts.ldw`): symmetric RTN per group, as
 *   {@link quantizeWeightsS4};
 * - from already-quantized codes (`w` an {@link Int4Weights}): codes, scales and optional zero points as any scheme
 *   produced them (int4 [−8, 7] or uint4 [0, 15]); `ldw` and `scaleFormat` do not apply.
 * `opts.groupSize` (default 32) is the group length along k; the last group of a row may be short; ≥ k means
 * per-channel. If the active ISA level changes, pack again: {@link gemmS4} rejects weights packed for another
 * kernel with ERR_DISTIQ_PACKED_MISMATCH.
 */
export function packWeightsS4(w: Float32Array | Int4Weights, n: number, k: number, opts: PackWeightsS4Options = {}): PackedWeightsS4 {
  expectOptions('opts', opts);
  let q: Int4Weights;
  if (w instanceof Float32Array) {
    q = quantizeWeightsS4(w, n, k, opts);
  } else {
    if (w === null || typeof w !== 'object' || ArrayBuffer.isView(w) || Array.isArray(w)) {
      throw new DistiqTypeError(
        `The "w" argument must be a Float32Array or an object { codes, scales, zeroPoints?, signed? }. Received ${describe(w)}`,
      );
    }
    if (opts.ldw !== undefined || opts.scaleFormat !== undefined) {
      throw new DistiqRangeError(
        `The "${opts.ldw !== undefined ? 'ldw' : 'scaleFormat'}" option applies to float weights only (codes are stored ` +
          'densely, ceil(k/2) bytes per row; their scales are used as given)',
      );
    }
    q = w;
  }
  const groupSize = opts.groupSize ?? 32;
  const groups = geometry(n, k, groupSize);
  expectTypedArray('codes', q.codes, Uint8Array);
  expectTypedArray('scales', q.scales, Float32Array);
  const signed = q.signed ?? true;
  expectBoolean('signed', signed);
  expectLength('codes', q.codes.length, n * Math.ceil(k / 2), 'n*ceil(k/2)');
  expectLength('scales', q.scales.length, n * groups, 'n*ceil(k/groupSize)');
  const zp = q.zeroPoints ?? null;
  if (zp !== null) {
    expectTypedArray('zeroPoints', zp, Int32Array);
    expectLength('zeroPoints', zp.length, n * groups, 'n*ceil(k/groupSize)');
  }
  // Scales and zero-point ranges are checked natively (one pass in C++), with messages naming the element.
  let handle: NativePackedWeightsS4;
  try {
    handle = nativeS4.packWeightsS4(q.codes, n, k, groupSize, signed, q.scales, zp);
  } catch (err) {
    throw fromNative(err);
  }
  return PackedWeightsS4.fromNative(handle);
}

function prepare(a: unknown, m: unknown, packed: unknown, opts: unknown): GemmS4Args {
  expectTypedArray('a', a, Float32Array);
  expectInteger('m', m);
  const handle = PackedWeightsS4.handleOf(packed);
  if (handle === undefined) {
    throw new DistiqTypeError(
      `The "packed" argument must be a PackedWeightsS4 (from packWeightsS4()). Received ${describe(packed)}`,
    );
  }
  expectOptions('opts', opts);
  const o = opts as GemmS4Options;
  const { n, k } = handle;
  const lda = o.lda ?? k;
  expectInteger('lda', lda, k);
  const ldc = o.ldc ?? n;
  expectInteger('ldc', ldc, n);
  const aNeed = n > 0 ? matrixExtent('a', m, k, lda) : 0;
  expectLength('a', a.length, aNeed, '(m-1)*lda+k', true);
  let bias: Float32Array | null = null;
  if (o.bias !== undefined) {
    expectTypedArray('bias', o.bias, Float32Array);
    expectLength('bias', o.bias.length, n, 'n');
    bias = o.bias;
  }
  const cNeed = matrixExtent('out', m, n, ldc);
  let out: Float32Array;
  if (o.out === undefined) {
    if (!Number.isSafeInteger(m * ldc)) {
      throw new DistiqRangeError(`The size of "out" (${m} x ${ldc}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
    }
    out = new Float32Array(m * ldc);
  } else {
    expectTypedArray('out', o.out, Float32Array);
    out = o.out;
    expectLength('out', out.length, cNeed, '(m-1)*ldc+n', true);
    if (sharesMemory(out, cNeed * 4, a, aNeed * 4)) throw new DistiqRangeError('The "out" argument must not share memory with "a"');
    if (bias !== null && sharesMemory(out, cNeed * 4, bias, bias.length * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "bias"');
    }
  }
  return [a, m, lda, handle, bias, out, ldc];
}

/** The native NaN/Infinity rejection, with a message naming the argument (the async native error cannot). */
function mapError(err: unknown): unknown {
  const mapped = fromNative(err);
  if ((mapped as { code?: unknown } | null)?.code === 'ERR_DISTIQ_NON_FINITE') {
    return new DistiqRangeError(
      'Expected every element of "a" to be finite (each row is quantized to int8 by its absolute maximum); found NaN or Infinity',
      'ERR_DISTIQ_NON_FINITE',
    );
  }
  return mapped;
}

/**
 * `y = x·Wᵀ + bias` with W packed by {@link packWeightsS4}: `a` holds m rows of `packed.k` floats (stride `lda`),
 * the result m rows of `packed.n` (stride `ldc`). Returns `opts.out` (filled) or a new Float32Array. Throws
 * DistiqTypeError / DistiqRangeError on bad arguments, ERR_DISTIQ_NON_FINITE for NaN/±Infinity in a, and
 * ERR_DISTIQ_PACKED_MISMATCH when `packed` was made for another kernel.
 */
export function gemmS4(a: Float32Array, m: number, packed: PackedWeightsS4, opts: GemmS4Options = {}): Float32Array {
  const args = prepare(a, m, packed, opts);
  try {
    nativeS4.gemmS4(...args);
  } catch (err) {
    throw mapError(err);
  }
  return args[5];
}

/**
 * The Promise form of {@link gemmS4}: runs on the libuv pool so the event loop stays free. Do not modify or transfer
 * a, out or bias until it settles. Resolves with the output; the bits equal the synchronous form's.
 */
export async function gemmS4Async(
  a: Float32Array,
  m: number,
  packed: PackedWeightsS4,
  opts: GemmS4Options = {},
): Promise<Float32Array> {
  const args = prepare(a, m, packed, opts);
  const site = callSite();
  try {
    await nativeS4.gemmS4Async(...args);
  } catch (err) {
    throw fromNativeAsync(mapError(err), site);
  }
  return args[5];
}
