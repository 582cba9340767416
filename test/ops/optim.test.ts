import { describe, expect, it } from 'vitest';

import { adamScalars, adamStep, type AdamScalars } from '../../lib/ops/optim';
import { DistiqRangeError, DistiqTypeError } from '../../lib/errors';
import { levels, withIsa } from '../helpers/isa';
import { refAdamStep, sameFloats } from '../helpers/ref-adam';
import { Rng } from '../helpers/rng';

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1.1754944e-38, 3.4e38, -3.4e38, 1e20, 1e-20];

function state(rng: Rng, n: number, extreme: boolean): Float32Array[] {
  const p = rng.float32Array(n, -2, 2), g = rng.float32Array(n, -0.1, 0.1), m = rng.float32Array(n, -0.01, 0.01);
  const v = rng.float32Array(n, 0, 1e-3);
  if (extreme) {
    for (let i = 0; i < n; i++) {
      if (rng.int(0, 3) !== 0) continue;
      const x = SPECIALS[rng.int(0, SPECIALS.length - 1)]!;
      const which = rng.int(0, 3);
      [p, g, m, v][which]![i] = which === 3 ? Math.abs(x) : x;
    }
  }
  return [p, g, m, v];
}

describe('adamStep (fused native Adam / AdamW)', () => {
  it('every ISA level matches the float32 mirror bit for bit (lengths, tails, decay modes, extreme values)', () => {
    const rng = new Rng(401);
    for (const level of levels) {
      for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 33, 1000, 70001]) {
        for (const decoupled of [true, false]) {
          for (const weightDecay of [0, 0.05]) {
            for (const extreme of [false, true]) {
              const s = adamScalars({ lr: 1e-3 * rng.int(1, 100), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay,
                step: rng.int(1, 3000), decoupled });
              const [p, g, m, v] = state(rng, n, extreme);
              const want = [p!.slice(), g!.slice(), m!.slice(), v!.slice()];
              withIsa(level, () => adamStep(p!, g!, m!, v!, s));
              refAdamStep(want[0]!, want[1]!, want[2]!, want[3]!, s);
              const what = `${level} n=${n} decoupled=${decoupled} wd=${weightDecay} extreme=${extreme}`;
              expect(sameFloats(p!, want[0]!), `${what}: p`).toBe(true);
              expect(sameFloats(m!, want[2]!), `${what}: m`).toBe(true);
              expect(sameFloats(v!, want[3]!), `${what}: v`).toBe(true);
              expect(sameFloats(g!, want[1]!), `${what}: g unchanged`).toBe(true);
            }
          }
        }
      }
    }
  });

  it('writes only its arrays (views with an offset)', () => {
    const rng = new Rng(402);
    const buf = new Float32Array(4 * 40 + 8).fill(-7);
    const [p, g, m, v] = [0, 1, 2, 3].map((k) => buf.subarray(1 + k * 40, 1 + k * 40 + 37));
    p!.set(rng.float32Array(37));
    g!.set(rng.float32Array(37));
    const s = adamScalars({ lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, step: 1, decoupled: true });
    adamStep(p!, g!, m!, v!, s);
    for (let k = 0; k < 4; k++) {
      expect(buf[k * 40], `guard before array ${k}`).toBe(-7);
      for (let i = 38; i < 41 && k * 40 + i < buf.length; i++) expect(buf[k * 40 + i], `guard after array ${k}`).toBe(-7);
    }
  });

  it('computes the constants from the hyper-parameters, rounded to float32', () => {
    const s = adamScalars({ lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, step: 3, decoupled: true });
    expect(s.decay).toBe(Math.fround(1 - 0.001));
    expect(s.l2).toBe(0);
    expect(s.stepSize).toBe(Math.fround(0.01 / (1 - 0.8 ** 3)));
    expect(s.invBc2).toBe(Math.fround(1 / Math.sqrt(1 - 0.95 ** 3)));
    const a = adamScalars({ lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1, step: 3, decoupled: false });
    expect([a.decay, a.l2]).toEqual([1, Math.fround(0.1)]);
  });

  it('rejects bad input with typed errors naming the argument', () => {
    const a = new Float32Array(8), b = new Float32Array(8), c = new Float32Array(8), d = new Float32Array(8);
    const ok = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, decoupled: true };
    const s = adamScalars(ok);
    expect(() => adamStep(a, b, c, new Float32Array(7), s)).toThrow(/v\.length to equal 8/);
    expect(() => adamStep(a, new Float64Array(8) as never, c, d, s)).toThrow(DistiqTypeError);
    expect(() => adamStep(a, new Float64Array(8) as never, c, d, s)).toThrow(/"g" argument must be a Float32Array/);
    expect(() => adamStep(a, a, c, d, s)).toThrow(DistiqRangeError);
    const buf = new Float32Array(20);
    expect(() => adamStep(buf.subarray(0, 8), b, buf.subarray(4, 12), d, s)).toThrow(/"p" argument must not share memory with "m"/);
    expect(() => adamStep(a, b, c, d, { ...s, eps: NaN } as AdamScalars)).toThrow(/"eps".*finite/);
    expect(() => adamStep(a, b, c, d, { ...s, stepSize: 1e39 } as AdamScalars)).toThrow(/"stepSize".*finite as a float32/);
    expect(() => adamScalars({ ...ok, lr: -1 })).toThrow(/"lr"/);
    expect(() => adamScalars({ ...ok, step: 0 })).toThrow(/"step"/);
    expect(() => adamScalars({ ...ok, beta1: 1 })).toThrow(/stepSize/);
    expect(() => adamScalars({ ...ok, beta2: 1.5 })).toThrow(/"beta2"/);
    expect(Array.from(a)).toEqual(new Array(8).fill(0));
  });
});
