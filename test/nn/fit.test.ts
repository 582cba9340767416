import { describe, expect, it } from 'vitest';

import {
  AdamW, Conv2d, Flatten, LRScheduler, Linear, MaxPool2d, ReLU, Rng, SGD, Sequential, TensorDataset, cosineLR, digits,
  evaluate, fit, type EpochMetrics,
} from '../../lib';

describe('fit', () => {
  it('trains an MLP on digits to > 90% validation accuracy, reporting each epoch', () => {
    const d = digits();
    const train = d.subset(0, 1400), val = d.subset(1400, 1797);
    const rng = new Rng(1);
    const model = new Sequential(new Linear(64, 64, { rng }), new ReLU(), new Linear(64, 10, { rng }));
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 1e-4 });
    const scheduler = new LRScheduler(optimizer, cosineLR(5 * Math.ceil(1400 / 32)));
    const seen: EpochMetrics[] = [];
    const { history } = fit(model, { train, val, optimizer, scheduler, epochs: 5, batchSize: 32, onProgress: (m) => seen.push(m) });
    expect(seen).toEqual(history);
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect(history[4]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    expect(history[4]!.valAccuracy).toBeGreaterThan(0.9);
    expect(history[4]!.steps).toBe(5 * 44);
    expect(history[4]!.lr).toBeCloseTo(0, 12);
    const ev = evaluate(model, val);
    expect(ev.accuracy).toBe(history[4]!.valAccuracy);
    expect(model.training).toBe(true);
  });

  it('trains a small CNN (Conv2d, MaxPool2d) on 8x8 digit images', () => {
    const d = digits({ image: true });
    const rng = new Rng(2);
    const model = new Sequential(
      new Conv2d(1, 8, 3, { padding: 1, rng }), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(8 * 16, 10, { rng }),
    );
    const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
    const { history } = fit(model, { train: d.subset(0, 1400), val: d.subset(1400, 1797), optimizer, epochs: 3, batchSize: 64 });
    expect(history[2]!.valAccuracy).toBeGreaterThan(0.85);
  });

  it('rejects bad arguments and reports a diverging loss', () => {
    const d = new TensorDataset(Float32Array.of(1, 2, 3, 4), Int32Array.of(0, 1), [2]);
    const model = new Sequential(new Linear(2, 2));
    const optimizer = new SGD(model.parameters(), { lr: 1e30 });
    expect(() => fit({} as never, { train: d, optimizer, epochs: 1, batchSize: 1 })).toThrow(/"model" argument must be a Module/);
    expect(() => fit(model, { train: d, optimizer: {} as never, epochs: 1, batchSize: 1 })).toThrow(/"optimizer" option must be an Optimizer/);
    expect(() => fit(model, { train: d, optimizer, epochs: -1, batchSize: 1 })).toThrow(/"epochs"/);
    expect(() => fit(model, { train: d, optimizer, epochs: 1, batchSize: 0 })).toThrow(/"batchSize"/);
    expect(() => fit(new Sequential(new Linear(3, 2)), { train: d, optimizer, epochs: 1, batchSize: 2 })).toThrow(/Linear '0' expects input of shape \[\*, 3\], received \[2, 2\]/);
    model.parameters()[0]!.data[0] = NaN;
    expect(() => fit(model, { train: d, optimizer, epochs: 1, batchSize: 1 })).toThrow(/CrossEntropyLoss: the logits are not finite .*"logits"/);
  });
});
