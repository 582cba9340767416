/**
 * Checkpoint/resume of the Distiller: an interrupted run continued from its checkpoint (inside an epoch, and at an
 * epoch boundary) ends with the same weights, bit for bit, as an uninterrupted one — student (with dropout), the
 * hidden-state projector, AdamW moments, the LR scheduler, the temperature schedule and the batch order. Plus early
 * stopping with restoreBest, and the progress output (silent when stderr is not a TTY).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { AdamW, Dropout, Linear, LRScheduler, ReLU, Rng, Sequential, cosineLR } from '../../lib';
import { Distiller, type DistillFitOptions } from '../../lib/distill/distiller';
import { hiddenState } from '../../lib/distill/hidden-state';
import { ProgressBar } from '../../lib/distill/progress';
import { linearSchedule } from '../../lib/distill/schedule';
import { localTeacher, mlp, trainedTeacher, weights } from './fixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-distill-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const EPOCHS = 3, BATCH = 64, PER_EPOCH = Math.ceil(1400 / BATCH); // 22 steps per epoch

/** A fresh run: student with dropout, hidden-state term with projector, scheduled T, cosine LR, clipping. */
function setup(initSeed: number): { d: Distiller; student: Sequential } {
  const { model } = trainedTeacher();
  const rng = new Rng(initSeed);
  const student = new Sequential(new Linear(64, 32, { rng }), new ReLU(), new Dropout(0.2, { seed: initSeed }), new Linear(32, 10, { rng }));
  const d = new Distiller({
    student, teacher: localTeacher(model), seed: 4, alpha: 0.5, clipGradNorm: 5,
    temperature: linearSchedule(4, 1, EPOCHS * PER_EPOCH),
    losses: [hiddenState({ studentLayer: '1', teacher: model, teacherLayer: '1', weight: 0.1, seed: initSeed })],
    optimizer: (p) => new AdamW(p, { lr: 5e-3 }),
    scheduler: (o) => new LRScheduler(o, cosineLR(EPOCHS * PER_EPOCH)),
  });
  return { d, student };
}

function allWeights(d: Distiller): Float32Array[] {
  return d.parameters().map((p) => p.data.slice());
}

async function interrupted(file: string, stopAt: number, ck: DistillFitOptions['checkpoint']): Promise<void> {
  const { d } = setup(1);
  const { train, val } = trainedTeacher();
  await expect(d.fit({
    train, val, epochs: EPOCHS, batchSize: BATCH, checkpoint: { ...ck!, path: file },
    onProgress: (e) => {
      if (e.type === 'step' && e.step === stopAt) throw new Error('interrupted');
    },
  })).rejects.toThrow('interrupted');
  expect(fs.existsSync(file)).toBe(true);
}

describe('Distiller checkpoint/resume', () => {
  it('resumes bit-identically inside an epoch and at an epoch boundary', async () => {
    const { train, val } = trainedTeacher();
    const ref = setup(1);
    const hRef = await ref.d.fit({ train, val, epochs: EPOCHS, batchSize: BATCH });
    const want = allWeights(ref.d);
    expect(want).toHaveLength(6); // 4 student tensors + the projector's weight and bias

    // Mid-epoch: checkpoints every 10 steps, interrupted at step 35 → resumes from step 30 (epoch 2, batch 8).
    const fileA = path.join(dir, 'mid.ckpt');
    await interrupted(fileA, 35, { path: fileA, everySteps: 10 });
    const a = setup(2); // different init: everything must come from the checkpoint
    const hA = await a.d.fit({ train, val, epochs: EPOCHS, batchSize: BATCH, checkpoint: { path: fileA, resume: true } });
    expect(allWeights(a.d)).toEqual(want);
    expect(hA.steps).toBe(EPOCHS * PER_EPOCH);
    expect(hA.epochs.map((e) => e.trainLoss)).toEqual(hRef.epochs.map((e) => e.trainLoss));
    expect(hA.epochs.map((e) => e.valAccuracy)).toEqual(hRef.epochs.map((e) => e.valAccuracy));

    // Epoch boundary: checkpoint per epoch, interrupted at step 30 → resumes from the end of epoch 1.
    const fileB = path.join(dir, 'epoch.ckpt');
    await interrupted(fileB, 30, { path: fileB });
    const b = setup(3);
    await b.d.fit({ train, val, epochs: EPOCHS, batchSize: BATCH, resume: fileB, checkpoint: { path: fileB } });
    expect(allWeights(b.d)).toEqual(want);
    expect(allWeights(b.d)).not.toEqual(allWeights(setup(3).d));

    // Resuming a finished run changes nothing.
    const c = setup(5);
    const hC = await c.d.fit({ train, epochs: EPOCHS, batchSize: BATCH, resume: fileB });
    expect(allWeights(c.d)).toEqual(want);
    expect(hC.epochs).toHaveLength(EPOCHS);
  });

  it('stops early after `patience` epochs without improvement and restores the best weights', async () => {
    const { model, train, val } = trainedTeacher();
    const student = mlp([64, 16, 10], 3);
    const d = new Distiller({ student, teacher: localTeacher(model), optimizer: (p) => new AdamW(p, { lr: 1e-2 }) });
    const snaps: Float32Array[][] = [];
    // minDelta larger than any change: epoch 1 is the best, epochs 2 and 3 do not improve → stop after 3.
    const h = await d.fit({
      train, val, epochs: 10, batchSize: 64, earlyStopping: { metric: 'valAccuracy', patience: 2, minDelta: 2 },
      onProgress: (e) => {
        if (e.type === 'epoch') snaps.push(weights(student));
      },
    });
    expect(h.epochs).toHaveLength(3);
    expect(h.stoppedEarly).toBe(true);
    expect(h.bestEpoch).toBe(1);
    expect(h.best).toBe(h.epochs[0]!.valAccuracy);
    expect(weights(student)).toEqual(snaps[0]);
    expect(weights(student)).not.toEqual(snaps[2]);
    // Without restoreBest the last weights stay; a 'val' metric without val data is refused.
    const s2 = mlp([64, 16, 10], 3);
    const d2 = new Distiller({ student: s2, teacher: localTeacher(model), optimizer: (p) => new AdamW(p, { lr: 1e-2 }) });
    const h2 = await d2.fit({ train, val, epochs: 10, batchSize: 64, earlyStopping: { metric: 'valLoss', patience: 1, minDelta: 100, restoreBest: false } });
    expect(h2.epochs).toHaveLength(2);
    await expect(d2.fit({ train, epochs: 1, batchSize: 64, earlyStopping: { metric: 'valLoss', patience: 1 } })).rejects.toThrow(/"earlyStopping.metric" setting is 'valLoss' but no "val" data/);
  });

  it('draws a progress bar only on a TTY; silent otherwise', async () => {
    const out: string[] = [];
    let clock = 1000; // ms, advanced by hand: no dependence on the machine's speed
    const bar = new ProgressBar({ isTTY: true, columns: 100, write: (s: string) => out.push(s) }, () => clock);
    bar.step(1, 2, 5, 10, 0.5);
    clock += 99;
    bar.step(1, 2, 6, 10, 0.4); // throttled (< 100 ms since the last draw)
    clock += 1;
    bar.step(1, 2, 7, 10, 0.35); // 100 ms: drawn
    clock += 10;
    bar.step(1, 2, 10, 10, 0.3); // the last step always draws
    bar.epoch('epoch 1/2 done');
    expect(out).toHaveLength(4);
    expect(out[0]).toMatch(/^\r\[#+\.+\] epoch 1\/2 step 5\/10 loss 0\.5000/);
    expect(out[1]).toMatch(/step 7\/10 loss 0\.3500/);
    expect(out[2]).toMatch(/step 10\/10 loss 0\.3000/);
    expect(out[3]).toBe('\repoch 1/2 done\x1b[K\n');
    const isTTY = process.stderr.isTTY;
    try {
      Object.defineProperty(process.stderr, 'isTTY', { value: false, configurable: true });
      expect(ProgressBar.forStderr(undefined)).toBeNull();
      const spy = vi.spyOn(process.stderr, 'write');
      const { model, train } = trainedTeacher();
      await new Distiller({ student: mlp([64, 8, 10], 1), teacher: localTeacher(model), optimizer: (p) => new AdamW(p) }).fit({ train, epochs: 1, batchSize: 128 });
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
      Object.defineProperty(process.stderr, 'isTTY', { value: true, configurable: true });
      expect(ProgressBar.forStderr(undefined)).not.toBeNull();
      expect(ProgressBar.forStderr(false)).toBeNull();
    } finally {
      Object.defineProperty(process.stderr, 'isTTY', { value: isTTY, configurable: true });
    }
  });
});
