/**
 * fp32 GEMM test cases shared by test/ops/gemm-f32*.test.ts: random operands with strides, the rotating shape
 * catalogue, and the bit-identity assertion the fp32 contract asks for.
 */
import { expect } from 'vitest';

import { gemmF32, type GemmF32Options } from '../../lib';
import { Rng, seedNote } from './rng';

export const COMBOS = [
  { transA: false, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: false },
  { transA: true, transB: true },
] as const;

export function randomF32(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform(-1, 1);
  return x;
}

export interface Case {
  m: number;
  n: number;
  k: number;
  opts: GemmF32Options;
  a: Float32Array;
  b: Float32Array;
  c0: Float32Array;
}

/** Operands for one problem with row strides lda/ldb/ldc = row length + pad. */
export function makeCase(
  rng: Rng,
  m: number,
  n: number,
  k: number,
  transA: boolean,
  transB: boolean,
  pad: number,
  alpha: number,
  beta: number,
): Case {
  const lda = (transA ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  const a = randomF32(rng, (transA ? k : m) * lda);
  const b = randomF32(rng, (transB ? n : k) * ldb);
  const c0 = randomF32(rng, m * ldc);
  return { m, n, k, a, b, c0, opts: { transA, transB, alpha, beta, lda, ldb, ldc } };
}

export function describeCase(c: Case): string {
  const { transA, transB, alpha, beta, lda, ldb, ldc } = c.opts;
  return `m=${c.m} n=${c.n} k=${c.k} transA=${transA} transB=${transB} alpha=${alpha} beta=${beta} lda=${lda} ldb=${ldb} ldc=${ldc} ${seedNote()}`;
}

export function run(c: Case): Float32Array {
  return gemmF32(c.a, c.b, c.m, c.n, c.k, { ...c.opts, out: c.c0.slice() });
}

/** Asserts got and want hold the same float32 values element by element (Object.is: -0 ≠ +0, NaN = NaN). */
export function expectIdentical(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      throw new Error(`${what}: element ${i} is ${got[i]}, ref ${want[i]}`);
    }
  }
}

const SHAPES = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97];
const ALPHAS = [1, 0.5, -2, 0.7];
const BETAS = [0, 1, 0.25, -0.3];

/** A rotating sample of the shape catalogue for one (transA, transB) combination. */
export function catalogue(transA: boolean, transB: boolean, seed: number): Case[] {
  const rng = new Rng(seed);
  const cases: Case[] = [];
  let counter = 0;
  for (const m of SHAPES) {
    for (let t = 0; t < 4; t++) {
      const n = SHAPES[(counter * 5 + 3) % SHAPES.length]!;
      const k = SHAPES[(counter * 7 + 1) % SHAPES.length]!;
      cases.push(makeCase(rng, m, n, k, transA, transB, counter % 3 === 1 ? 3 : 0, ALPHAS[counter % 4]!, BETAS[(counter >> 2) % 4]!));
      counter++;
    }
  }
  cases.push(makeCase(rng, 40, 530, 400, transA, transB, 1, -2, 0.25)); // several K blocks and N blocks, β ≠ 0
  cases.push(makeCase(rng, 250, 33, 130, transA, transB, 0, 0.7, 0)); // past one M block
  return cases;
}

