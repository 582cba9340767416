/**
 * Distillation losses against float64 references: values, and gradients against central finite differences
 * (h = 1e-6, float64), for the fused KD objective, reverse KL, logit MSE, their weighted composition and the
 * hidden-state term through a projector and the student's backward (Sequential taps).
 */
import { describe, expect, it } from 'vitest';

import { Linear, Rng as DRng, Sequential, Tanh, Tensor } from '../../lib';
import { hiddenState } from '../../lib/distill/hidden-state';
import { HintonKD, logitMSE, reverseKL, type DistillBatch } from '../../lib/distill/kd-loss';
import { expectClose, f64, numericGrad } from '../helpers/gradcheck';
import { refCosine, refLinear, refMse } from '../helpers/ref-nn';
import { Rng } from '../helpers/rng';

function logSoftmax64(v: Float64Array, off: number, n: number, scale: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, v[off + i]! * scale);
  let z = 0;
  for (let i = 0; i < n; i++) z += Math.exp(v[off + i]! * scale - m);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[off + i]! * scale - m - Math.log(z);
  return out;
}

/** Mean over rows of α·T²·KL(q‖p) + (1−α)·CE + wr·Tr²·KL(p‖q) + wm·MSE(s, t), all float64, exact s/T. */
function refObjective(
  s: Float64Array, t: Float64Array, labels: Int32Array, rows: number, C: number,
  T: number, alpha: number, wr: number, Tr: number, wm: number,
): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const lp = logSoftmax64(s, o, C, 1 / T), lq = logSoftmax64(t, o, C, 1 / T), lp1 = logSoftmax64(s, o, C, 1);
    let kl = 0;
    for (let c = 0; c < C; c++) kl += Math.exp(lq[c]!) * (lq[c]! - lp[c]!);
    total += alpha * T * T * kl - (1 - alpha) * lp1[labels[r]!]!;
    const rp = logSoftmax64(s, o, C, 1 / Tr), rq = logSoftmax64(t, o, C, 1 / Tr);
    let rkl = 0;
    for (let c = 0; c < C; c++) rkl += Math.exp(rp[c]!) * (rp[c]! - rq[c]!);
    total += wr * Tr * Tr * rkl;
  }
  let mse = 0;
  for (let i = 0; i < s.length; i++) mse += (s[i]! - t[i]!) ** 2;
  return total / rows + (wm * mse) / s.length;
}

function batchOf(student: Float32Array, teacher: Float32Array, rows: number, classes: number, T: number): DistillBatch {
  return { rows, classes, x: new Tensor(new Float32Array(rows), [rows, 1]), student, teacher, temperature: T, step: 0 };
}

/**
 * Student 3-4(tanh)-3 and teacher 3-5(tanh)-3 with hidden-state terms bound on their layer "1" (projector 4 → 5).
 * `step(use)` is the Distiller's step by hand with the terms of `use` (forward, KD objective at α = 1 + weighted
 * terms, backward); `check(use, loss)` compares the loss and the gradients of the student and of those terms'
 * projectors with float64 central differences of the same objective.
 */
function hiddenCase(seed: number, specs: { metric: 'mse' | 'cosine'; weight: number; seed: number }[]) {
  const rng = new Rng(seed);
  const rows = 4, inF = 3, sw = 4, tw = 5, C = 3, T = 2;
  const student = new Sequential(new Linear(inF, sw, { rng: new DRng(1) }), new Tanh(), new Linear(sw, C, { rng: new DRng(2) }));
  const teacher = new Sequential(new Linear(inF, tw, { rng: new DRng(3) }), new Tanh(), new Linear(tw, C, { rng: new DRng(4) }));
  const terms = specs.map((sp) => hiddenState({ studentLayer: '1', teacher, teacherLayer: '1', metric: sp.metric, seed: sp.seed }));
  for (const t of terms) t.bind!(student);
  const x = new Tensor(rng.float32Array(rows * inF), [rows, inF]);
  const tl = rng.float32Array(rows * C, -2, 2);
  const params = (use: number[]) => [...student.parameters(), ...use.flatMap((i) => terms[i]!.parameters())];
  const step = (use: number[]): number => {
    for (const p of params(use)) p.zeroGrad();
    const out = student.forward(x);
    const grad = new Float32Array(rows * C);
    let loss = new HintonKD().compute(out.data, rows, C, tl, null, T, 1, grad);
    for (const i of use) loss += specs[i]!.weight * terms[i]!.compute({ ...batchOf(out.data, tl, rows, C, T), x }, specs[i]!.weight, grad);
    student.backward(new Tensor(grad, [rows, C]), false);
    return loss;
  };
  const check = (use: number[], loss: number, what: string): void => {
    const ps = params(use), p64 = ps.map((p) => f64(p.data));
    const th64 = teacher.parameters().map((p) => f64(p.data));
    const x64 = f64(x.data), tl64 = f64(tl), labels = new Int32Array(rows);
    const f = (): Float64Array => {
      const h = refLinear(x64, p64[0]!, p64[1]!, inF, sw).map(Math.tanh);
      const ht = refLinear(x64, th64[0]!, th64[1]!, inF, tw).map(Math.tanh);
      let v = refObjective(refLinear(h, p64[2]!, p64[3]!, sw, C), tl64, labels, rows, C, T, 1, 0, 1, 0);
      use.forEach((i, j) => {
        const ph = refLinear(h, p64[4 + 2 * j]!, p64[5 + 2 * j]!, sw, tw);
        v += specs[i]!.weight * (specs[i]!.metric === 'mse' ? refMse(ph, ht) : refCosine(ph, ht, tw));
      });
      return Float64Array.of(v);
    };
    expect(Math.abs(loss - f()[0]!), what).toBeLessThan(1e-5);
    ps.forEach((p, i) => expectClose(`${what} param ${i}`, p.grad, numericGrad(p64[i]!, f, [1]), 5e-4, 1e-6));
  };
  return { terms, step, check };
}

describe('distillation losses', () => {
  it('KD + CE (fused native), reverse KL and logit MSE: composed value and gradient vs float64 finite differences', () => {
    const rng = new Rng(51);
    for (let trial = 0; trial < 6; trial++) {
      const rows = rng.int(1, 7), C = rng.int(2, 12);
      const T = rng.pick([1, 2, 3.5]), alpha = rng.pick([0, 0.3, 1]);
      const wr = rng.pick([0, 0.5, 2]), wm = rng.pick([0, 0.25]), Tr = rng.pick([1, 2]);
      const s = rng.float32Array(rows * C, -3, 3), t = rng.float32Array(rows * C, -3, 3);
      const labels = Int32Array.from({ length: rows }, () => rng.int(0, C - 1));
      const grad = new Float32Array(rows * C);
      const kd = new HintonKD();
      const batch = batchOf(s, t, rows, C, T);
      let loss = kd.compute(s, rows, C, t, labels, T, alpha, grad);
      loss += wr * reverseKL({ temperature: Tr }).compute(batch, wr, grad);
      loss += wm * logitMSE().compute(batch, wm, grad);
      const s64 = f64(s), t64 = f64(t);
      const f = (): Float64Array => Float64Array.of(refObjective(s64, t64, labels, rows, C, T, alpha, wr, Tr, wm));
      const want = f()[0]!;
      const what = `trial ${trial} rows ${rows} C ${C} T ${T} α ${alpha} wr ${wr} wm ${wm}`;
      expect(Math.abs(loss - want), what).toBeLessThan(1e-5 * (1 + Math.abs(want)));
      expectClose(`${what} grad`, grad, numericGrad(s64, f, [1]), 2e-4, 2e-6);
    }
  });

  it('reverse KL is T²·KL(p‖q): 0 for identical logits, asymmetric, top-k teachers refused with a typed error', () => {
    const s = Float32Array.of(1, 2, 3, 0.5, 0.5, -1), t = Float32Array.of(3, 2, 1, 0, 1, 2);
    const g = new Float32Array(6);
    const rk = reverseKL();
    expect(rk.compute(batchOf(s, s, 2, 3, 2), 1, g)).toBe(0);
    expect(Array.from(g).every((v) => Math.abs(v) < 1e-7)).toBe(true);
    const fwd = new HintonKD().compute(s, 2, 3, t, null, 2, 1, null);
    const rev = rk.compute(batchOf(s, t, 2, 3, 2), 1, null);
    expect(rev).toBeGreaterThan(0);
    expect(Math.abs(rev - fwd)).toBeGreaterThan(1e-3);
    const topk = { indices: Int32Array.of(0, 2), logits: Float32Array.of(3, 2), k: 1 };
    for (const term of [reverseKL(), logitMSE()]) {
      expect(() => term.compute({ ...batchOf(s, t, 2, 3, 2), teacher: topk }, 1, null)).toThrow(
        expect.objectContaining({ name: 'DistiqRangeError', code: 'ERR_DISTIQ_INVALID_ARG_VALUE', message: expect.stringMatching(/needs dense teacher logits.*top-k/) }),
      );
    }
  });

  it('sparse top-k KD equals dense KD with the other teacher logits at -Infinity', () => {
    const rows = 3, C = 5;
    const rng = new Rng(52);
    const s = rng.float32Array(rows * C, -2, 2);
    const indices = Int32Array.of(4, 1, 0, 2, 3, 1), logits = Float32Array.of(2, 1, 0.5, -1, 3, 2.5);
    const dense = new Float32Array(rows * C).fill(-Infinity);
    for (let r = 0; r < rows; r++) for (let j = 0; j < 2; j++) dense[r * C + indices[r * 2 + j]!] = logits[r * 2 + j]!;
    const ga = new Float32Array(rows * C), gb = new Float32Array(rows * C);
    const kd = new HintonKD();
    const a = kd.compute(s, rows, C, { indices, logits, k: 2 }, null, 2, 1, ga);
    const b = kd.compute(s, rows, C, dense, null, 2, 1, gb);
    expect(a).toBeCloseTo(b, 6);
    expectClose('top-k grad', ga, gb, 1e-5, 1e-7);
  });

  for (const metric of ['mse', 'cosine'] as const) {
    it(`hidden-state ${metric} through a projector: student and projector gradients vs float64 finite differences`, () => {
      const c = hiddenCase(metric === 'mse' ? 53 : 54, [{ metric, weight: 0.7, seed: 9 }]);
      expect(c.terms[0]!.parameters().map((p) => p.shape)).toEqual([[5, 4], [5]]);
      c.check([0], c.step([0]), metric);
      c.terms[0]!.unbind!();
    });
  }

  it('two hidden-state terms on the same layers (mse + cosine) both add their gradients; unbinding one keeps the other', () => {
    const c = hiddenCase(55, [{ metric: 'mse', weight: 0.7, seed: 9 }, { metric: 'cosine', weight: 0.4, seed: 10 }]);
    c.check([0, 1], c.step([0, 1]), 'mse+cosine');
    // Without the mse term, the cosine term alone still reads the layers and injects its gradient.
    c.terms[0]!.unbind!();
    c.check([1], c.step([1]), 'cosine alone');
    c.terms[1]!.unbind!();
  });
});
