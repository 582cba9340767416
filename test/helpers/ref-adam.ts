/**
 * The float32 mirror of the fused Adam / AdamW step (native/include/distiq/optim.h): each operation rounded to
 * float32 with Math.fround. Products and sums of two floats, and sqrt / division, are correctly rounded to float32
 * when computed in float64 and rounded once, so this matches the native contract bit for bit.
 */
import type { AdamScalars } from '../../lib/ops/optim';

const f = Math.fround;

export function refAdamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  for (let i = 0; i < p.length; i++) {
    const p1 = f(p[i]! * s.decay);
    const gi = s.l2 === 0 ? g[i]! : f(g[i]! + f(s.l2 * p1));
    const m1 = f(f(s.beta1 * m[i]!) + f(s.c1 * gi));
    const v1 = f(f(s.beta2 * v[i]!) + f(f(s.c2 * gi) * gi));
    const den = f(f(f(Math.sqrt(v1)) * s.invBc2) + s.eps);
    p[i] = f(p1 - f(f(s.stepSize * m1) / den));
    m[i] = m1;
    v[i] = v1;
  }
}

/** True when a and b hold the same floats (NaN equal to any NaN: payloads are not part of the contract). */
export function sameFloats(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return false;
  }
  return true;
}
