/**
 * Finite-difference gradient checks of the training layers against float64 references: a layer's float32
 * forward is compared with the reference forward, and its backward (input and parameter gradients) with central
 * differences of L(x, θ) = Σ ref(x, θ)·dy, taken in float64 (h = 1e-6, so truncation and rounding error are ~1e-9).
 */
import { expect } from 'vitest';

import { Tensor } from '../../lib';
import type { Module } from '../../lib/nn/module';
import { Rng, seedNote } from './rng';

export type RefForward = (x: Float64Array, params: Float64Array[]) => Float64Array;

export function randomTensor(rng: Rng, shape: number[], lo = -1, hi = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(rng.float32Array(n, lo, hi), shape);
}

export function f64(a: ArrayLike<number>): Float64Array {
  return Float64Array.from(a);
}

function dot(a: Float64Array, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Central differences of Σ f(v)·dy with respect to every element of v (v is modified and restored). */
export function numericGrad(v: Float64Array, f: () => Float64Array, dy: ArrayLike<number>, h = 1e-6): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i]!;
    v[i] = keep + h;
    const up = dot(f(), dy);
    v[i] = keep - h;
    const down = dot(f(), dy);
    v[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Asserts |got − want| ≤ atol + rtol·max|want| elementwise (NaN-safe), naming the element on failure. */
export function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol = 1e-4, atol = 1e-6): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  const tol = atol + rtol * scale;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= tol)) {
      throw new Error(`${what}[${i}]: got ${got[i]}, want ${want[i]} (|d| = ${d} > tol ${tol}) ${seedNote()}`);
    }
  }
}

/**
 * Checks `layer` on input `x`: forward against `ref`, then input and parameter gradients against finite
 * differences of the reference. `mutateState` re-runs the layer forward with the float32 path when a reference
 * needs state the layer produced (e.g. a dropout mask) — the caller captures it in `ref`.
 */
export function gradCheck(name: string, layer: Module, x: Tensor, ref: RefForward, rng: Rng, opts: { rtol?: number } = {}): void {
  const rtol = opts.rtol ?? 2e-4;
  const params = layer.parameters();
  const p64 = params.map((p) => f64(p.data));
  const x64 = f64(x.data);
  const y = layer.forward(x);
  const want = ref(x64, p64);
  expectClose(`${name} forward`, y.data, want, 1e-5, 1e-6);
  const dy = randomTensor(rng, [...y.shape]);
  layer.zeroGrad();
  const dx = layer.backward(dy);
  expect(dx.shape, `${name} dx shape`).toEqual(x.shape);
  expectClose(`${name} dx`, dx.data, numericGrad(x64, () => ref(x64, p64), dy.data), rtol);
  params.forEach((p, i) => {
    const num = numericGrad(p64[i]!, () => ref(x64, p64), dy.data);
    expectClose(`${name} d${layer.namedParameters()[i]![0]}`, p.grad, num, rtol);
  });
}
