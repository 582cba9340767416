/**
 * An exact TypeScript reference of the int8 GEMM (native/include/distiq/gemm_s8.h), independent of the C++ one.
 *
 * Integers: Σ (a − z_a)(w − z_w) in plain Number arithmetic. Each product is at most 255·255 and K ≤ 65536, so every
 * partial sum stays below 2^33 and is exact (far below 2^53); `| 0` then wraps it to int32 modulo 2^32 like the
 * C++ contract. No BigInt.
 *
 * Floats: emulates float32 exactly. The product float32(acc)·scale of two float32 is exact in double; the fused add
 * of the bias is rounded once to float32 through "round to odd" (TwoSum gives the exact error of the double sum,
 * which fixes the double's last bit so the following float32 rounding is correct). Division through double then
 * float32 is correctly rounded (53 ≥ 2·24 + 2).
 */
import { roundHalfEven } from './round';

export type RefOutput = 'int32' | 'float32' | 'uint8' | 'int8';

export interface RefGemmS8Problem {
  m: number;
  n: number;
  k: number;
  a: Uint8Array | Int8Array;
  lda: number;
  za: number;
  w: Int8Array;
  ldw: number;
  zw: number;
}

export interface RefEpilogue {
  aScale: number;
  wScale: Float32Array; // length 1 or n
  bias: Float32Array | null;
  relu: boolean;
  outScale: number;
  outZp: number;
}

/** int32 accumulators [m, n] (dense, stride n). */
export function refGemmS8Acc(p: RefGemmS8Problem): Int32Array {
  const out = new Int32Array(p.m * p.n);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) {
      let s = 0;
      const ai = i * p.lda, wj = j * p.ldw;
      for (let kk = 0; kk < p.k; kk++) s += (p.a[ai + kk]! - p.za) * (p.w[wj + kk]! - p.zw);
      out[i * p.n + j] = s | 0;
    }
  }
  return out;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little endian: u32[0] low word, u32[1] high word

/** float32(x + y) rounded once, for x, y exact doubles (x = a float32 product, y a float32). */
function fround32Sum(x: number, y: number): number {
  const s = x + y;
  if (!Number.isFinite(s)) return Math.fround(s);
  // TwoSum: s + e == x + y exactly.
  const bb = s - x;
  const e = x - (s - bb) + (y - bb);
  if (e === 0 || s === 0) return Math.fround(s);
  f64[0] = s;
  if ((u32[0]! & 1) === 0) {
    // Round to odd: the exact value lies strictly between s and its neighbour in e's direction; pick the odd one.
    const awayFromZero = e > 0 === s > 0;
    if (awayFromZero) {
      u32[0] = u32[0]! | 1;
    } else {
      // magnitude − 1 ulp (64-bit decrement across the two words)
      if (u32[0] === 0) u32[1] = u32[1]! - 1;
      u32[0] = (u32[0]! - 1) >>> 0;
    }
  }
  return Math.fround(f64[0]!);
}

/** The documented epilogue for one accumulator at column j. */
export function refEpilogue(acc: number, j: number, output: RefOutput, e: RefEpilogue): number {
  if (output === 'int32') return acc;
  const ws = e.wScale.length === 1 ? e.wScale[0]! : e.wScale[j]!;
  const scale = Math.fround(Math.fround(e.aScale) * ws);
  let y = fround32Sum(Math.fround(acc) * scale, e.bias ? e.bias[j]! : 0);
  if (e.relu) y = y > 0 ? y : 0;
  if (output === 'float32') return y;
  let v = roundHalfEven(Math.fround(y / Math.fround(e.outScale)));
  v = Math.fround(v + e.outZp);
  const lo = output === 'uint8' ? 0 : -128, hi = output === 'uint8' ? 255 : 127;
  v = v > lo ? v : lo; // NaN → lo, like the kernels
  v = v < hi ? v : hi;
  return v;
}

/** The full product with an epilogue, dense [m, n]. */
export function refGemmS8(p: RefGemmS8Problem, output: RefOutput, e: RefEpilogue): number[] {
  const acc = refGemmS8Acc(p);
  const out = new Array<number>(p.m * p.n);
  for (let i = 0; i < p.m; i++) {
    for (let j = 0; j < p.n; j++) out[i * p.n + j] = refEpilogue(acc[i * p.n + j]!, j, output, e);
  }
  return out;
}
