/**
 * Float64 reference for fp32 GEMM, `C = alpha·op(A)·op(B) + beta·C`, written independently of the kernels (plain
 * index arithmetic, double accumulation), and the tolerance the float32 ref must meet against it.
 */
export interface RefGemmF32Options {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** The old C (read only when beta ≠ 0), row stride ldc. */
  c?: ArrayLike<number>;
}

/** op(A)·op(B) scaled, in float64: a dense [m, n] result (row stride n, whatever ldc is). */
export function refGemmF32(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  n: number,
  k: number,
  opts: RefGemmF32Options = {},
): Float64Array {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  const lda = opts.lda ?? (transA ? m : k);
  const ldb = opts.ldb ?? (transB ? k : n);
  const ldc = opts.ldc ?? n;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const x = transA ? a[p * lda + i]! : a[i * lda + p]!;
        const y = transB ? b[j * ldb + p]! : b[p * ldb + j]!;
        acc += x * y;
      }
      let r = alpha * acc;
      if (beta !== 0) r += beta * opts.c![i * ldc + j]!;
      out[i * n + j] = r;
    }
  }
  return out;
}

/**
 * The float32-vs-exact bound (ruy's Agree): |d| ≤ 64 · 2^-23 · max|exact| · sqrt(K). Rounding error of a K-term
 * float32 sum grows like sqrt(K)·eps for random signs; the factor 64 covers α/β rounding and cancellation while a
 * wrong index or a dropped term (an error of order max|exact|) still fails.
 */
export function gemmF32Tolerance(exact: ArrayLike<number>, k: number): number {
  let maxAbs = 0;
  for (let i = 0; i < exact.length; i++) maxAbs = Math.max(maxAbs, Math.abs(exact[i]!));
  return 64 * 2 ** -23 * maxAbs * Math.sqrt(Math.max(k, 1));
}
