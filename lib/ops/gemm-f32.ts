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

/** Checked arguments, in the native argument order. */
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
}

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
  if (!(b instanceof Float32Array)) expectTypedArray('b', b, Float32Array);
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
  const alpha = expectScale('alpha', o.alpha ?? 1);
  const beta = expectScale('beta', o.beta ?? 0);
  const aRows = transA ? k : m, aCols = transA ? m : k;
  const bRows = transB ? n : k, bCols = transB ? k : n;
  const lda = o.lda ?? aCols, ldb = o.ldb ?? bCols, ldc = o.ldc ?? n;
  expectLd('lda', lda, aCols, transA ? 'm, since transA' : 'k');
  expectLd('ldb', ldb, bCols, transB ? 'k, since transB' : 'n');
  expectLd('ldc', ldc, n, 'n');
  // A and B are read only when the product is non-empty (the native check follows the same rule).
  const readsAB = m > 0 && n > 0 && k > 0;
  const aNeed = readsAB ? matrixExtent('a', aRows, aCols, lda) : 0;
  const bNeed = readsAB ? matrixExtent('b', bRows, bCols, ldb) : 0;
  const cNeed = matrixExtent('out', m, n, ldc);
  expectLength('a', a.length, aNeed, transA ? '(k-1)*lda+m' : '(m-1)*lda+k', true);
  expectLength('b', b.length, bNeed, transB ? '(n-1)*ldb+k' : '(k-1)*ldb+n', true);
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
    if (readsAB && sharesMemory(c, cNeed * 4, b, bNeed * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "b"');
    }
  }
  return { transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc };
}

/**
 * `C = alpha·op(A)·op(B) + beta·C` in float32 (see the module comment for layouts). Returns C (`opts.out` when
 * given, else a new Float32Array of m·ldc elements). Throws DistiqTypeError / DistiqRangeError on bad arguments.
 */
export function gemmF32(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  opts: GemmF32Options = {},
): Float32Array {
  const p = prepare(a, b, m, n, k, opts);
  try {
    native.gemmF32(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc);
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
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  opts: GemmF32Options = {},
): Promise<Float32Array> {
  const p = prepare(a, b, m, n, k, opts);
  const site = callSite();
  try {
    await native.gemmF32Async(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc);
  } catch (err) {
    throw fromNativeAsync(err, site);
  }
  return p.c;
}
