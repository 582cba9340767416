import { describe, expect, it, vi } from 'vitest';

import { AdamW, LRScheduler, cosineLR, functionTeacher, hiddenState, modelTeacher } from '../../lib';
import { Distiller } from '../../lib/distill/distiller';
import { UnlabeledDataset, withoutLabels } from '../../lib/distill/unlabeled';
import { localTeacher, mlp, trainedTeacher, weights } from './fixtures';

describe('Distiller', () => {
  it('distils a digits MLP teacher into a narrow student (KD, T = 2, α = 0.5) with a sane accuracy', async () => {
    const { model, train, val } = trainedTeacher();
    const teacherAcc = (await new Distiller({ student: model, teacher: localTeacher(model), optimizer: (p) => new AdamW(p) }).evaluate(val)).accuracy;
    expect(teacherAcc).toBeGreaterThan(0.9);
    const student = mlp([64, 16, 10], 11);
    const steps = 10 * Math.ceil(1400 / 32);
    const d = new Distiller({
      student, teacher: localTeacher(model), temperature: 2, alpha: 0.5, seed: 5,
      optimizer: (p) => new AdamW(p, { lr: 1e-2, weightDecay: 1e-4 }),
      scheduler: (o) => new LRScheduler(o, cosineLR(steps)),
    });
    const events: string[] = [];
    const h = await d.fit({ train, val, epochs: 10, batchSize: 32, onProgress: (e) => events.push(e.type) });
    expect(h.epochs).toHaveLength(10);
    expect(h.steps).toBe(steps);
    expect(events.filter((e) => e === 'step')).toHaveLength(steps);
    expect(events.filter((e) => e === 'epoch')).toHaveLength(10);
    const last = h.epochs[9]!;
    expect(last.valAccuracy).toBeGreaterThan(0.88);
    expect(last.valAgreement).toBeGreaterThan(0.88);
    expect(last.trainLoss).toBeLessThan(h.epochs[0]!.trainLoss);
    expect(last.valParts!.kd).toBeGreaterThan(0);
    expect(last.valParts!.ce).toBeGreaterThan(0);
    expect(last.valLoss).toBeCloseTo(0.5 * last.valParts!.kd! + 0.5 * last.valParts!.ce!, 6);
    const ev = await d.evaluate(val);
    expect(ev.accuracy).toBe(last.valAccuracy);
    expect(ev.agreement).toBe(last.valAgreement);
    expect(student.training).toBe(true);
  });

  it('runs a total number of steps (the last epoch partial) and is deterministic under a seed', async () => {
    const { model, train } = trainedTeacher();
    const run = async (seed: number): Promise<{ w: Float32Array[]; loss: number[] }> => {
      const student = mlp([64, 16, 10], 1);
      const d = new Distiller({ student, teacher: localTeacher(model), temperature: 4, alpha: 0.7, seed, optimizer: (p) => new AdamW(p, { lr: 3e-3 }) });
      const h = await d.fit({ train, steps: 100, batchSize: 64 });
      expect(h.steps).toBe(100);
      expect(h.epochs.map((e) => e.steps)).toEqual([22, 44, 66, 88, 100]);
      return { w: weights(student), loss: h.epochs.map((e) => e.trainLoss) };
    };
    // evalEvery: val metrics on every 2nd epoch and after the last (partial) one only.
    const { val } = trainedTeacher();
    const d = new Distiller({ student: mlp([64, 8, 10], 1), teacher: localTeacher(model), optimizer: (p) => new AdamW(p) });
    const h = await d.fit({ train, val, steps: 100, batchSize: 64, evalEvery: 2 });
    expect(h.epochs.map((e) => e.valAccuracy !== undefined)).toEqual([false, true, false, true, true]);
    await expect(d.fit({ train: withoutLabels(train), steps: 1, batchSize: 64, earlyStopping: { metric: 'trainAccuracy', patience: 1 } })).rejects.toThrow(
      /"earlyStopping.metric" setting is 'trainAccuracy' but the training data has no labels/,
    );
    const a = await run(9), b = await run(9), c = await run(10);
    expect(b.w).toEqual(a.w);
    expect(b.loss).toEqual(a.loss);
    expect(c.w).not.toEqual(a.w);
  });

  it('learns without labels from a SampleSource (α = 1); label access is never attempted', async () => {
    const { model, train, val } = trainedTeacher();
    const throwing = {
      length: train.length,
      sampleShape: train.sampleShape,
      numClasses: 10,
      gather(): void {
        throw new Error('labels were read');
      },
      gatherX: (i: ArrayLike<number>, x: Float32Array) => train.gatherX(i, x),
    };
    const student = mlp([64, 16, 10], 2);
    const d = new Distiller({ student, teacher: localTeacher(model), temperature: 2, alpha: 1, optimizer: (p) => new AdamW(p, { lr: 1e-2 }) });
    const h = await d.fit({ train: withoutLabels(throwing), epochs: 6, batchSize: 32 });
    expect(h.epochs[5]!.trainAccuracy).toBeUndefined();
    expect((await d.evaluate(val)).accuracy).toBeGreaterThan(0.85);
    // An UnlabeledDataset works the same way (same inputs, same order: the same run), and α < 1 is refused.
    const u = new UnlabeledDataset(train.x, [64]);
    for (const bad of [1.5, 1400, -1]) {
      expect(() => u.gatherX([0, bad], new Float32Array(128))).toThrow(expect.objectContaining({
        code: 'ERR_DISTIQ_INVALID_ARG_VALUE', message: expect.stringMatching(new RegExp(`^indices\\[1\\] must be an integer in \\[0, 1399\\].*Received number ${bad}`)),
      }));
    }
    const su = mlp([64, 16, 10], 2);
    const du = new Distiller({ student: su, teacher: localTeacher(model), temperature: 2, alpha: 1, optimizer: (p) => new AdamW(p, { lr: 1e-2 }) });
    const hu = await du.fit({ train: u, epochs: 6, batchSize: 32 });
    expect(weights(su)).toEqual(weights(student));
    expect(hu.epochs.map((e) => e.trainAgreement)).toEqual(h.epochs.map((e) => e.trainAgreement));
    const d2 = new Distiller({ student: mlp([64, 16, 10], 2), teacher: localTeacher(model), alpha: 0.5, optimizer: (p) => new AdamW(p) });
    await expect(d2.fit({ train: u, epochs: 1, batchSize: 32 })).rejects.toMatchObject({
      name: 'DistiqRangeError', code: 'ERR_DISTIQ_INVALID_ARG_VALUE', message: expect.stringMatching(/"alpha" setting must be 1 when the training data has no labels/),
    });
  });

  it('prefetches from an async teacher (batch i + 1 requested before the step on batch i) with identical results', async () => {
    const { model, train } = trainedTeacher();
    const sync = localTeacher(model);
    const run = async (prefetch: boolean | undefined, async: boolean, log?: string[]): Promise<Float32Array[]> => {
      const student = mlp([64, 16, 10], 4);
      let calls = 0;
      const teacher = {
        classes: 10,
        kind: 'function',
        predict: (b: { x: import('../../lib').Tensor; indices: Int32Array }) => {
          log?.push(`predict ${calls++}`);
          const out = sync.predict(b) as Float32Array;
          return async ? new Promise<Float32Array>((resolve) => setTimeout(() => resolve(out), 1)) : out;
        },
      };
      const d = new Distiller({ student, teacher, temperature: 2, alpha: 0.5, seed: 3, optimizer: (p) => new AdamW(p, { lr: 1e-2 }) });
      await d.fit({ train, steps: 50, batchSize: 64, ...(prefetch === undefined ? {} : { prefetch }),
        onProgress: (e) => { if (e.type === 'step') log?.push(`step ${e.step}`); } });
      return weights(student);
    };
    const log: string[] = [];
    const want = await run(undefined, false);
    expect(await run(undefined, true, log)).toEqual(want);
    expect(await run(false, true)).toEqual(want);
    // The first request is awaited alone (the loop learns the teacher is async); from then on the teacher is one
    // batch ahead: request i + 1 is issued before the step on batch i.
    expect(log.slice(0, 8)).toEqual(['predict 0', 'step 1', 'predict 1', 'predict 2', 'step 2', 'predict 3', 'step 3', 'predict 4']);
    expect(log.slice(-3)).toEqual(['predict 49', 'step 49', 'step 50']);
    expect(log.filter((e) => e.startsWith('predict'))).toHaveLength(50);
  });

  it('hidden-state distillation reuses the model teacher\'s own forward (one teacher forward per step, same results)', async () => {
    const { model, train } = trainedTeacher();
    const run = async (teacher: import('../../lib').Teacher, termTeacher: import('../../lib').Module | import('../../lib').ModelTeacher = model): Promise<{ w: Float32Array[]; forwards: number }> => {
      const student = mlp([64, 16, 10], 6);
      const d = new Distiller({
        student, teacher, temperature: 2, alpha: 0.5, seed: 1, optimizer: (p) => new AdamW(p, { lr: 1e-2 }),
        losses: [hiddenState({ studentLayer: '1', teacher: termTeacher, teacherLayer: '1', weight: 0.5 })],
      });
      const spy = vi.spyOn(model, 'forward');
      try {
        await d.fit({ train, steps: 30, batchSize: 64 });
        return { w: d.parameters().map((p) => p.data.slice()), forwards: spy.mock.calls.length };
      } finally {
        spy.mockRestore();
        d.dispose();
      }
    };
    const viaModel = await run(modelTeacher(model));
    const viaFunction = await run(functionTeacher((x) => { const was = model.training; model.eval(); try { return model.forward(x).data.slice(); } finally { model.train(was); } }, { classes: 10 }));
    expect(viaModel.w).toEqual(viaFunction.w);
    expect(viaModel.forwards).toBe(30);
    expect(viaFunction.forwards).toBe(60);
    // The term also takes the Distiller's modelTeacher itself (its model is the one tapped).
    const mt = modelTeacher(model);
    const viaTeacher = await run(mt, mt);
    expect(viaTeacher.w).toEqual(viaModel.w);
    expect(viaTeacher.forwards).toBe(30);
    expect(() => hiddenState({ studentLayer: '1', teacher: {} as never, teacherLayer: '1' })).toThrow(/"teacher" setting of hiddenState must be the teacher model \(a Module, or a modelTeacher\(model\)\)/);
  });
});

