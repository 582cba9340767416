/**
 * Benchmark inputs. The GEMM fills are the deterministic ones of bench/peers/README.md, so distiq, onnxruntime and
 * the C++ peers multiply the very same matrices, and sum(C) has a closed form that every contender's output is
 * checked against (equality: the f32 fill keeps every partial sum exact in float32).
 */

export type GemmKind = 'gemm_u8s8' | 'gemm_s8s8' | 'gemm_f32';

export interface GemmData {
  kind: GemmKind;
  m: number;
  n: number;
  k: number;
  /** A [m, k] row-major. */
  a: Uint8Array | Int8Array | Float32Array;
  /** W [n, k] row-major (C = A·Wᵀ). */
  w: Int8Array | Float32Array;
  /** sum(C), exact. */
  expectedSum: number;
}

function aInt(i: number, k: number): number {
  return (i * 7 + k * 3) % 251;
}

function wInt(n: number, k: number): number {
  return ((n * 5 + k * 11) % 255) - 127;
}

function aF32(i: number, k: number): number {
  return (((i * 7 + k * 3) % 17) - 8) / 8;
}

function wF32(n: number, k: number): number {
  return (((n * 5 + k * 11) % 15) - 7) / 8;
}

let lastGemm: GemmData | null = null;

/** The fills of one case; the last one is kept, so consecutive thread counts of a shape reuse it. */
export function gemmData(kind: GemmKind, m: number, n: number, k: number): GemmData {
  const l = lastGemm;
  if (l !== null && l.kind === kind && l.m === m && l.n === n && l.k === k) return l;
  lastGemm = null; // let the previous case's arrays go before allocating the next
  lastGemm = fillGemm(kind, m, n, k);
  return lastGemm;
}

function fillGemm(kind: GemmKind, m: number, n: number, k: number): GemmData {
  const fa = kind === 'gemm_f32' ? aF32 : kind === 'gemm_u8s8' ? aInt : (i: number, q: number) => aInt(i, q) - 125;
  const fw = kind === 'gemm_f32' ? wF32 : wInt;
  const a = kind === 'gemm_f32' ? new Float32Array(m * k) : kind === 'gemm_u8s8' ? new Uint8Array(m * k) : new Int8Array(m * k);
  const w = kind === 'gemm_f32' ? new Float32Array(n * k) : new Int8Array(n * k);
  const colA = new Float64Array(k);
  const colW = new Float64Array(k);
  for (let i = 0; i < m; i++) {
    for (let q = 0; q < k; q++) {
      const v = fa(i, q);
      a[i * k + q] = v;
      colA[q] = colA[q]! + v;
    }
  }
  for (let j = 0; j < n; j++) {
    for (let q = 0; q < k; q++) {
      const v = fw(j, q);
      w[j * k + q] = v;
      colW[q] = colW[q]! + v;
    }
  }
  let expectedSum = 0;
  for (let q = 0; q < k; q++) expectedSum += colA[q]! * colW[q]!;
  return { kind, m, n, k, a, w, expectedSum };
}

/** Sum of all elements (exact for the fills above: integers < 2^53, or multiples of 1/64). */
export function sumOf(c: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]!;
  return s;
}

/** A small seeded generator (mulberry32): reproducible inputs for the element-wise and softmax cases. */
export class Rand {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

export function floatArray(n: number, rng: Rand, f: (r: Rand) => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = f(rng);
  return x;
}
