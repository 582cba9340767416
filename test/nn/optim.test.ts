import { describe, expect, it } from 'vitest';

import { Adam, AdamW, LRScheduler, Parameter, SGD, clipGradNorm, cosineLR, linearWarmup, stepLR } from '../../lib';
import { adamScalars } from '../../lib/ops/optim';
import { expectClose } from '../helpers/gradcheck';
import { levels, withIsa } from '../helpers/isa';
import { refAdamStep, sameFloats } from '../helpers/ref-adam';
import { Rng } from '../helpers/rng';

function param(rng: Rng, n: number): Parameter {
  const p = new Parameter([n]);
  p.data.set(rng.float32Array(n));
  return p;
}

/** torch.optim.AdamW / Adam, written from the PyTorch docs' pseudo-code, in float64. */
function refAdam(p: Float64Array, grads: Float32Array[], lr: number, b1: number, b2: number, eps: number, wd: number, decoupled: boolean): Float64Array {
  const m = new Float64Array(p.length), v = new Float64Array(p.length);
  grads.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < p.length; i++) {
      let gi = g[i]!;
      if (decoupled) p[i] = p[i]! - lr * wd * p[i]!;
      else gi += wd * p[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      const mh = m[i]! / (1 - b1 ** t), vh = v[i]! / (1 - b2 ** t);
      p[i] = p[i]! - (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

describe('optimizers', () => {
  for (const [name, Ctor, decoupled] of [['AdamW', AdamW, true], ['Adam', Adam, false]] as const) {
    it(`${name} follows torch.optim semantics`, () => {
      const rng = new Rng(21);
      const p = param(rng, 50);
      const want = Float64Array.from(p.data);
      const grads = Array.from({ length: 6 }, () => rng.float32Array(50));
      const opt = new Ctor([p], { lr: 0.01, weightDecay: 0.1, betas: [0.8, 0.95], eps: 1e-6 });
      for (const g of grads) {
        p.grad.set(g);
        opt.step();
      }
      refAdam(want, grads, 0.01, 0.8, 0.95, 1e-6, 0.1, decoupled);
      expectClose(name, p.data, want, 1e-5, 1e-6);
      expect(opt.stepCount).toBe(6);
    });
  }

  for (const [name, Ctor, decoupled] of [['AdamW', AdamW, true], ['Adam', Adam, false]] as const) {
    it(`${name} is bit-exact against the float32 mirror of the fused step, on every ISA level`, () => {
      for (const level of levels) {
        const rng = new Rng(24);
        const ps = [param(rng, 1), param(rng, 37), param(rng, 70001)];
        const want = ps.map((p) => [p.data.slice(), new Float32Array(p.size), new Float32Array(p.size)]);
        const opt = new Ctor(ps, { lr: 0.02, weightDecay: 0.05, betas: [0.85, 0.98], eps: 1e-7 });
        for (let t = 1; t <= 4; t++) {
          opt.lr = 0.02 / t;  // as a scheduler would
          const s = adamScalars({ lr: opt.lr, beta1: 0.85, beta2: 0.98, eps: 1e-7, weightDecay: 0.05, step: t, decoupled });
          ps.forEach((p, i) => {
            p.grad.set(rng.float32Array(p.size));
            refAdamStep(want[i]![0]!, p.grad, want[i]![1]!, want[i]![2]!, s);
          });
          withIsa(level, () => opt.step());
        }
        ps.forEach((p, i) => expect(sameFloats(p.data, want[i]![0]!), `${name} ${level} param ${i}`).toBe(true));
        const sd = opt.stateDict();
        expect(sameFloats(sd.buffers.get('2.exp_avg')!, want[2]![1]!), `${name} ${level} exp_avg`).toBe(true);
        expect(sameFloats(sd.buffers.get('2.exp_avg_sq')!, want[2]![2]!), `${name} ${level} exp_avg_sq`).toBe(true);
      }
    });
  }

  it('AdamW defaults match torch (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01)', () => {
    const o = new AdamW([]);
    expect([o.lr, o.beta1, o.beta2, o.eps, o.weightDecay]).toEqual([1e-3, 0.9, 0.999, 1e-8, 0.01]);
  });

  it('SGD with momentum, Nesterov and weight decay', () => {
    const rng = new Rng(22);
    for (const nesterov of [false, true]) {
      const p = param(rng, 20);
      const want = Float64Array.from(p.data);
      const buf = new Float64Array(20);
      const opt = new SGD([p], { lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 });
      for (let s = 0; s < 4; s++) {
        const g = rng.float32Array(20);
        p.grad.set(g);
        opt.step();
        for (let i = 0; i < 20; i++) {
          const gi = g[i]! + 0.01 * want[i]!;
          buf[i] = s === 0 ? gi : 0.9 * buf[i]! + gi;
          want[i] = want[i]! - 0.1 * (nesterov ? gi + 0.9 * buf[i]! : buf[i]!);
        }
      }
      expectClose(`SGD nesterov=${nesterov}`, p.data, want, 1e-5, 1e-6);
    }
    expect(() => new SGD([], { lr: 0.1, nesterov: true })).toThrow(/momentum > 0/);
    expect(() => new SGD([], { lr: -1 })).toThrow(/"lr"/);
  });

  it('state round-trips: a restored optimizer continues identically', () => {
    const rng = new Rng(23);
    const a = param(rng, 30), b = new Parameter([30]);
    b.data.set(a.data);
    const oa = new AdamW([a], { lr: 0.01 });
    const grads = Array.from({ length: 5 }, () => rng.float32Array(30));
    for (const g of grads.slice(0, 2)) { a.grad.set(g); oa.step(); }
    b.data.set(a.data);
    const ob = new AdamW([b], { lr: 0.5 });
    ob.loadStateDict(oa.stateDict());
    expect(ob.lr).toBe(0.01);
    for (const g of grads.slice(2)) {
      a.grad.set(g); oa.step();
      b.grad.set(g); ob.step();
    }
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    expect(() => new SGD([a], { lr: 1 }).loadStateDict(oa.stateDict())).toThrow(/Cannot load AdamW optimizer state into SGD/);
    const bad = oa.stateDict();
    bad.buffers.set('0.exp_avg', new Float32Array(3));
    expect(() => ob.loadStateDict(bad)).toThrow(/has 3 elements, parameter 0 has 30/);
  });

  it('rejects parameters that are not Parameters', () => {
    expect(() => new AdamW([new Float32Array(3)] as never)).toThrow(/array of Parameters/);
  });
});

describe('schedules and clipping', () => {
  it('cosine per step, step decay, linear warmup', () => {
    const opt = new SGD([], { lr: 0.2 });
    const s = new LRScheduler(opt, cosineLR(10));
    const seen = [opt.lr];
    for (let i = 0; i < 10; i++) { s.step(); seen.push(opt.lr); }
    seen.forEach((lr, t) => expect(lr).toBeCloseTo(0.2 * 0.5 * (1 + Math.cos((Math.PI * t) / 10)), 15));
    expect(seen[10]).toBeCloseTo(0, 15);
    const f = stepLR(3, 0.5);
    expect([0, 2, 3, 6, 7].map(f)).toEqual([1, 1, 0.5, 0.25, 0.25]);
    const w = linearWarmup(4, cosineLR(4));
    expect([0, 1, 2, 3].map(w)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(w(4)).toBe(1);
    expect(w(8)).toBeCloseTo(0, 15);
    s.setStep(5);
    expect(opt.lr).toBeCloseTo(0.1, 15);
  });

  it('clipGradNorm scales to the max norm and returns the old norm', () => {
    const a = new Parameter([2]), b = new Parameter([1]);
    a.grad.set([3, 0]);
    b.grad.set([4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 12);
    expect(Math.hypot(a.grad[0]!, a.grad[1]!, b.grad[0]!)).toBeCloseTo(1, 5);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5);
    expect(a.grad[0]).toBeCloseTo(0.6, 5);
    b.grad[0] = NaN;
    expect(() => clipGradNorm([a, b], 1)).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_NON_FINITE' }));
  });
});
