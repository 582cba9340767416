/** Students (narrowMlp, initFromTeacher), schedules, and the Distiller with every teacher adapter. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  AdamW, Dropout, Flatten, GELU, Linear, ReLU, Rng, Sequential, Tensor, cachedTeacher, constantSchedule, cosineSchedule,
  functionTeacher, generateSoftLabels, initFromTeacher, linearSchedule, loadSoftLabels, modelTeacher, narrowMlp,
  withoutLabels, Distiller, Conv2d, type Teacher,
} from '../../lib';
import { trainedTeacher, weights } from './fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-student-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('students', () => {
  it('narrowMlp keeps input/output widths, activation and a leading Flatten, with a seeded fresh init', () => {
    const rng = new Rng(1);
    const teacher = new Sequential(new Flatten(), new Linear(784, 1200, { rng }), new GELU(), new Dropout(0.1), new Linear(1200, 1200, { rng }), new GELU(), new Linear(1200, 10, { rng }));
    const s = narrowMlp(teacher, { hidden: [64], seed: 3 });
    expect(s.layers.map((m) => m.constructor.name)).toEqual(['Flatten', 'Linear', 'GELU', 'Linear']);
    expect(s.layers.filter((m): m is Linear => m instanceof Linear).map((l) => [l.inFeatures, l.outFeatures])).toEqual([[784, 64], [64, 10]]);
    expect(s.parameterCount()).toBe(784 * 64 + 64 + 64 * 10 + 10);
    expect(weights(narrowMlp(teacher, { hidden: [64], seed: 3 }))).toEqual(weights(s));
    expect(weights(narrowMlp(teacher, { hidden: [64], seed: 4 }))).not.toEqual(weights(s));
    const lin = narrowMlp(teacher, { hidden: [] });
    expect(lin.layers.map((m) => m.constructor.name)).toEqual(['Flatten', 'Linear']);
    const deep = narrowMlp(new Sequential(new Linear(8, 4), new ReLU(), new Linear(4, 3)), { hidden: [6, 5, 4] });
    expect(deep.layers.map((m) => m.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear', 'ReLU', 'Linear', 'ReLU', 'Linear']);
    expect(deep.forward(Tensor.zeros([2, 8])).shape).toEqual([2, 3]);
    expect(() => narrowMlp(new Sequential(new Conv2d(1, 2, 3), new Flatten(), new Linear(2, 3)), { hidden: [4] })).toThrow(
      expect.objectContaining({ code: 'ERR_DISTIQ_INVALID_ARG_VALUE', message: expect.stringMatching(/must be an MLP .*layer "0" is a Conv2d/) }),
    );
    expect(() => narrowMlp(teacher, { hidden: [0] })).toThrow(/"hidden\[0\]"/);
  });

  it('initFromTeacher copies the mapped layers and nothing else', () => {
    const rng = new Rng(2);
    const teacher = new Sequential(new Linear(8, 6, { rng }), new ReLU(), new Linear(6, 6, { rng }), new ReLU(), new Linear(6, 3, { rng }));
    const student = new Sequential(new Linear(8, 6, { rng: new Rng(9) }), new ReLU(), new Linear(6, 3, { rng: new Rng(9) }));
    const before = weights(student);
    initFromTeacher(student, teacher, { 0: '0', 2: '4' });
    const t = weights(teacher), s = weights(student);
    expect(s).toEqual([t[0], t[1], t[4], t[5]]);
    expect(s).not.toEqual(before);
  });

  it('schedules: constant, linear and cosine ramps over steps', () => {
    expect(constantSchedule(2).at(100)).toBe(2);
    const l = linearSchedule(4, 1, 10);
    expect([0, 5, 10, 20].map((t) => l.at(t))).toEqual([4, 2.5, 1, 1]);
    const c = cosineSchedule(1, 0, 4);
    expect(c.at(0)).toBe(1);
    expect(c.at(2)).toBeCloseTo(0.5, 15);
    expect(c.at(4)).toBe(0);
    expect(c.at(1)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI / 4)), 15);
    expect(() => linearSchedule(1, 2, 0)).toThrow(/"steps"/);
  });
});

describe('Distiller with the teacher adapters', () => {
  it('model, async function and cached (dense and top-k) teachers; top-k KD stays close to dense', async () => {
    const { model, train, val } = trainedTeacher();
    const run = async (teacher: Teacher, evalTeacher?: Teacher): Promise<number> => {
      const student = narrowMlp(model, { hidden: [16], seed: 1 });
      const d = new Distiller({ student, teacher, temperature: 2, alpha: 0.5, seed: 2, optimizer: (p) => new AdamW(p, { lr: 1e-2 }), ...(evalTeacher ? { evalTeacher } : {}) });
      const h = await d.fit({ train, val, epochs: 6, batchSize: 32 });
      return h.epochs[5]!.valAccuracy!;
    };
    const mt = modelTeacher(model);
    const accModel = await run(mt);
    const accFn = await run(functionTeacher(async (x: Tensor, indices: Int32Array) => mt.predict({ x, indices }), { classes: 10 }));
    expect(accFn).toBe(accModel); // same logits, same seed: the same run
    await generateSoftLabels(mt, withoutLabels(train), { out: path.join(dir, 'dense'), shardSize: 500 });
    await generateSoftLabels(mt, withoutLabels(train), { out: path.join(dir, 'top4'), shardSize: 500, topK: 4 });
    const dense = cachedTeacher(loadSoftLabels(path.join(dir, 'dense')));
    const accCache = await run(dense, mt);
    expect(accCache).toBe(accModel);
    const accTop4 = await run(cachedTeacher(loadSoftLabels(path.join(dir, 'top4'))), mt);
    expect(accModel).toBeGreaterThan(0.88);
    expect(Math.abs(accTop4 - accModel)).toBeLessThan(0.03);
    // A cached teacher is not used to evaluate other data by default: no agreement, accuracy still reported.
    const d = new Distiller({ student: narrowMlp(model, { hidden: [8] }), teacher: dense, optimizer: (p) => new AdamW(p) });
    const ev = await d.evaluate(val);
    expect(ev.agreement).toBeNaN();
    expect(ev.parts.kd).toBeUndefined();
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    expect(ev.loss).toBe(ev.parts.ce);
  });
});
