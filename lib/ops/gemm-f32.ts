/**
 * fp32 GEMM: `C = alpha·op(A)·op(B) + beta·C`, row-major, op(X) = X or Xᵀ, with leading dimensions.
 *
 * op(A) is [m, k] and op(B) is [k, n]. A is stored [m, lda] (or [k, lda] when `transA`), B is stored [k, ldb] (or
 * [n, ldb] when `transB`), C is [m, ldc]. Every element is computed as a sequential fused multiply-add chain over k in
 * increasing order, then `r = alpha·acc` and, when beta ≠ 0, `r = fma(beta, C, r)`; every ISA path gives the same
 * bits, for any thread count (a NaN result is NaN on every path, though its payload bits may differ). With beta = 0
 * the old contents of C are never read (NaN there is ignored).
 *
 * The training shapes of a Linear layer with weight W [out, in]:
 * - forward  y = x·Wᵀ: `gemmF32(x, W, batch, out, in, { transB: true })`
 * - dX = dY·W:         `gemmF32(dY, W, batch, in, out)`
 * - dW = dYᵀ·x:        `gemmF32(dY, x, out, in, batch, { transA: true })`
 *
 * Prepacked B: `packWeightsF32(b, { k, n, transB })` copies op(B) once into the active kernel's panel layout;
 * passing the result as `b` skips the per-call packing (worth it when B is reused: inference weights, eval passes)
 * and gives the same bits as the unpacked B.
 */
import { callSite, DistiqRangeError, DistiqTypeError, fromNative, fromNativeAsync } from '../errors';
import { native } from '../native';
import {
  describe,
  expectBoolean,
  expectFinite,
  expectInteger,
  expectLength,
  expectTypedArray,
  matrixExtent,
  sharesMemory,
} from '../validate';

export interface GemmF32Options {
  /** Use Aᵀ: A is stored [k, lda] (default false). */
  transA?: boolean;
  /** Use Bᵀ: B is stored [n, ldb] (default false; true for `x·Wᵀ` with a Linear weight). */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of the old C (default 0: C is write-only). A non-zero beta requires `out`. */
  beta?: number;
  /** Row stride of the stored A (default: its row length, `transA ? m : k`). */
  lda?: number;
  /** Row stride of the stored B (default: its row length, `transB ? k : n`). */
  ldb?: number;
  /** Row stride of C (default n). */
  ldc?: number;
  /** C: written in place and returned. Allocated (m·ldc elements) when absent. Must not share memory with a or b. */
  out?: Float32Array;
}

/** The packed-weights natives (native/addon/ops_gemm_f32.cc, packed_weights_f32.cc). */
interface NativePackedWeightsF32 {
  readonly k: number;
  readonly n: number;
  readonly layout: string;
  readonly byteLength: number;
}
type GemmF32PackedArgs = [
  transA: boolean,
  m: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  packed: NativePackedWeightsF32,
  beta: number,
  c: Float32Array,
  ldc: number,
];
interface NativeGemmF32Packed {
  packWeightsF32(b: Float32Array, k: number, n: number, ldb: number, transB: boolean): NativePackedWeightsF32;
  gemmF32Packed(...args: GemmF32PackedArgs): void;
  gemmF32PackedAsync(...args: GemmF32PackedArgs): Promise<void>;
}
const nativeF32 = native as unknown as NativeGemmF32Packed;

export interface PackWeightsF32Options {
  /** Rows of op(B) (the reduction length). */
  k: number;
  /** Columns of op(B) (the output columns). */
  n: number;
  /** B is stored transposed, [n, ldb] (a Linear weight W [out, in] for `x·Wᵀ`; default false: [k, ldb]). */
  transB?: boolean;
  /** Row stride of the stored B (default: its row length, `transB ? k : n`). */
  ldb?: number;
}

/**
 * op(B) [k, n] packed once for the active fp32 GEMM kernel: pass it to {@link gemmF32} as `b`. The packed floats
 * live in native memory owned by this object, freed when it is garbage collected (their size is reported to the
 * GC). The values are copied, not rounded: products with the packed B have the bits of products with B.
 */
export class PackedWeightsF32 {
  /** Rows of op(B). */
  readonly k: number;
  /** Columns of op(B). */
  readonly n: number;
  /** Whether the packed B was stored transposed (a gemmF32 call may repeat this `transB`, not another). */
  readonly transB: boolean;
  /** The ISA level whose kernel layout the packed floats use, e.g. "avx512" (the plain layout: "ref"). */
  readonly layout: string;
  /** Native bytes held. */
  readonly byteLength: number;
  readonly #handle: NativePackedWeightsF32;

  private constructor(handle: NativePackedWeightsF32, transB: boolean) {
    this.#handle = handle;
    this.k = handle.k;
    this.n = handle.n;
    this.transB = transB;
    this.layout = handle.layout;
    this.byteLength = handle.byteLength;
    Object.freeze(this);
  }

  /** @internal */
  static fromNative(handle: NativePackedWeightsF32, transB: boolean): PackedWeightsF32 {
    return new PackedWeightsF32(handle, transB);
  }

  /** @internal The native handle of `x`, or undefined when `x` is not a PackedWeightsF32. */
  static handleOf(x: unknown): NativePackedWeightsF32 | undefined {
    return typeof x === 'object' && x !== null && #handle in x ? (x as PackedWeightsF32).#handle : undefined;
  }
}

/**
 * Packs op(B) for the fp32 GEMM kernel that is active now: B is stored [k, ldb], or [n, ldb] with `transB` (e.g.
 * a Linear weight W [out, in] with `{ k: in, n: out, transB: true }`). Pack once, multiply many times with
 * `gemmF32(a, packed, m, n, k)`. If the active ISA level changes (the test hook), pack again: gemmF32 rejects
 * weights packed for another kernel with ERR_DISTIQ_PACKED_MISMATCH. Throws DistiqTypeError / DistiqRangeError on
 * bad arguments.
 */
export function packWeightsF32(b: Float32Array, opts: PackWeightsF32Options): PackedWeightsF32 {
  expectTypedArray('b', b, Float32Array);
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts)) {
    throw new DistiqTypeError(`The "opts" argument must be an object with k and n. Received ${describe(opts)}`);
  }
  const { k, n } = opts;
  expectInteger('k', k);
  expectInteger('n', n);
  const transB = opts.transB ?? false;
  expectBoolean('transB', transB);
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const ldb = opts.ldb ?? bCols;
  expectLd('ldb', ldb, bCols, transB ? 'k, since transB' : 'n');
  const need = k > 0 && n > 0 ? matrixExtent('b', bRows, bCols, ldb) : 0;
  expectLength('b', b.length, need, transB ? '(n-1)*ldb+k' : '(k-1)*ldb+n', true);
  let handle: NativePackedWeightsF32;
  try {
    handle = nativeF32.packWeightsF32(b, k, n, ldb, transB);
  } catch (err) {
    throw fromNative(err);
  }
  return PackedWeightsF32.fromNative(handle, transB);
}

/** Checked arguments, in the native argument order (`packed` set: b is unused, the packed form runs). */
interface GemmF32Call {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: Float32Array;
  lda: number;
  b: Float32Array;
  ldb: number;
  beta: number;
  c: Float32Array;
  ldc: number;
  packed: NativePackedWeightsF32 | undefined;
}

const NO_B = new Float32Array(0);

function expectLd(name: string, value: number, row: number, formula: string): void {
  expectInteger(name, value, 0);
  if (value < row) throw new DistiqRangeError(`The "${name}" argument must be >= ${row} (${formula}). Received ${value}`);
}

/** A float32 scale: finite, and still finite once rounded to float32. */
function expectScale(name: string, value: unknown): number {
  if (typeof value === 'number') {
    const f = Math.fround(value);
    if (f - f === 0) return f; // finite (the common case, without a call)
  }
  expectFinite(name, value);
  const f = Math.fround(value);
  if (!Number.isFinite(f)) {
    throw new DistiqRangeError(`The "${name}" argument must be finite as a float32. Received ${value}`, 'ERR_DISTIQ_NON_FINITE');
  }
  return f;
}

function prepare(a: unknown, b: unknown, m: unknown, n: unknown, k: unknown, opts: unknown): GemmF32Call {
  if (!(a instanceof Float32Array)) expectTypedArray('a', a, Float32Array);
  const packed = b instanceof Float32Array ? undefined : PackedWeightsF32.handleOf(b);
  if (!(b instanceof Float32Array) && packed === undefined) {
    throw new DistiqTypeError(
      `The "b" argument must be a Float32Array or a PackedWeightsF32 (from packWeightsF32()). Received ${describe(b)}`,
    );
  }
  expectInteger('m', m);
  expectInteger('n', n);
  expectInteger('k', k);
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts)) {
    throw new DistiqTypeError(`The "opts" argument must be an object. Received ${describe(opts)}`);
  }
  const o = opts as GemmF32Options;
  const transA = o.transA ?? false;
  const transB = o.transB ?? false;
  expectBoolean('transA', transA);
  expectBoolean('transB', transB);
  if (packed !== undefined) {
    const pw = b as PackedWeightsF32;
    if (pw.k !== k || pw.n !== n) {
      throw new DistiqRangeError(
        `The "b" argument holds a packed op(B) of [k, n] = [${pw.k}, ${pw.n}], but the product needs [${k}, ${n}]`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    if (o.transB !== undefined && transB !== pw.transB) {
      throw new DistiqRangeError(
        `The "transB" option must match the packed weights (packed with transB = ${pw.transB}). Received ${transB}`,
      );
    }
    if (o.ldb !== undefined) {
      throw new DistiqRangeError(`The "ldb" option does not apply to packed weights (packing fixed it). Received ${describe(o.ldb)}`);
    }
  }
  const alpha = expectScale('alpha', o.alpha ?? 1);
  const beta = expectScale('beta', o.beta ?? 0);
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const lda = o.lda ?? aCols, ldb = o.ldb ?? bCols, ldc = o.ldc ?? n;
  expectLd('lda', lda, aCols, transA ? 'm, since transA' : 'k');
  if (packed === undefined) expectLd('ldb', ldb, bCols, transB ? 'k, since transB' : 'n');
  expectLd('ldc', ldc, n, 'n');
  // A and B are read only when the product is non-empty (the native check follows the same rule).
  const readsAB = m > 0 && n > 0 && k > 0;
  const aNeed = readsAB ? matrixExtent('a', aRows, aCols, lda) : 0;
  const bArr = packed === undefined ? (b as Float32Array) : NO_B;
  const bNeed = readsAB && packed === undefined ? matrixExtent('b', bRows, bCols, ldb) : 0;
  const cNeed = matrixExtent('out', m, n, ldc);
  expectLength('a', a.length, aNeed, transA ? '(k-1)*lda+m' : '(m-1)*lda+k', true);
  expectLength('b', bArr.length, bNeed, transB ? '(n-1)*ldb+k' : '(k-1)*ldb+n', true);
  let c: Float32Array;
  if (o.out === undefined) {
    if (beta !== 0) {
      throw new DistiqTypeError(`The "out" argument must be a Float32Array when beta is not 0 (beta = ${beta}). Received undefined`);
    }
    const size = m * ldc;
    if (!Number.isSafeInteger(size)) {
      throw new DistiqRangeError(`The size of "out" (${m} x ${ldc}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
    }
    c = new Float32Array(size);
  } else {
    if (!(o.out instanceof Float32Array)) expectTypedArray('out', o.out, Float32Array);
    c = o.out;
    expectLength('out', c.length, cNeed, '(m-1)*ldc+n', true);
    if (readsAB && sharesMemory(c, cNeed * 4, a, aNeed * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "a"');
    }
    if (readsAB && packed === undefined && sharesMemory(c, cNeed * 4, bArr, bNeed * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "b"');
    }
  }
  return { transA, transB, m, n, k, alpha, a, lda, b: bArr, ldb, beta, c, ldc, packed };
}

/**
 * `C = alpha·op(A)·op(B) + beta·C` in float32 (see the module comment for layouts). `b` may be a
 * {@link PackedWeightsF32} of op(B) [k, n] (then `ldb` must be absent, `transB` if given must match the packing, and
 * the packing must be for the active kernel, else ERR_DISTIQ_PACKED_MISMATCH). Returns C (`opts.out` when given, else
 * a new Float32Array of m·ldc elements). Throws DistiqTypeError / DistiqRangeError on bad arguments.
 */
export function gemmF32(
  a: Float32Array,
  b: Float32Array | PackedWeightsF32,
  m: number,
  n: number,
  k: number,
  opts: GemmF32Options = {},
): Float32Array {
  const p = prepare(a, b, m, n, k, opts);
  try {
    if (p.packed !== undefined) {
      nativeF32.gemmF32Packed(p.transA, p.m, p.alpha, p.a, p.lda, p.packed, p.beta, p.c, p.ldc);
    } else {
      native.gemmF32(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc);
    }
  } catch (err) {
    throw fromNative(err);
  }
  return p.c;
}

/**
 * The Promise form of {@link gemmF32}: runs on the libuv pool so the event loop stays free for a large product.
 * Do not modify or transfer a, b or out until the Promise settles. Resolves with C; the results equal the
 * synchronous form's, bit for bit.
 */
export async function gemmF32Async(
  a: Float32Array,
  b: Float32Array | PackedWeightsF32,
  m: number,
  n: number,
  k: number,
  opts: GemmF32Options = {},
): Promise<Float32Array> {
  const p = prepare(a, b, m, n, k, opts);
  const site = callSite();
  try {
    if (p.packed !== undefined) {
      await nativeF32.gemmF32PackedAsync(p.transA, p.m, p.alpha, p.a, p.lda, p.packed, p.beta, p.c, p.ldc);
    } else {
      await native.gemmF32Async(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc);
    }
  } catch (err) {
    throw fromNativeAsync(err, site);
  }
  return p.c;
}
