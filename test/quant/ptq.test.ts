/**
 * quantize (lib/quant/ptq.ts) end to end on the digits data (an MLP and a CNN with a BatchNorm2d, trained briefly: the
 * int8 and int4 schemes keep their accuracy within a small margin), and the bad-input table of acceptance 6 (class, code and message naming the
 * setting and the layer).
 */
import { describe, expect, it } from 'vitest';

import { digits } from '../../lib/data/builtin';
import { TensorDataset } from '../../lib/data/dataset';
import { DistiqRangeError, DistiqTypeError } from '../../lib/errors';
import { ReLU } from '../../lib/nn/activations';
import { Conv2d } from '../../lib/nn/conv2d';
import { Linear } from '../../lib/nn/linear';
import { Module, type ModuleConfig } from '../../lib/nn/module';
import { Adam } from '../../lib/nn/optim/adamw';
import { BatchNorm2d } from '../../lib/nn/norm';
import { MaxPool2d } from '../../lib/nn/pool';
import { Flatten, Sequential } from '../../lib/nn/sequential';
import { quantize, type QuantizeConfig } from '../../lib/quant/ptq';
import type { QuantizedModel } from '../../lib/quant/runtime/quantized-model';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { Tensor } from '../../lib/tensor/tensor';
import { evaluate, fit } from '../../lib/train/fit';
import { expectError } from '../helpers/expect-error';

function split(): { train: TensorDataset; test: TensorDataset } {
  const ds = digits();
  const take = (a: number, b: number): TensorDataset => {
    const idx = Array.from({ length: b - a }, (_, i) => a + i);
    const x = new Float32Array(idx.length * 64), y = new Int32Array(idx.length);
    ds.gather(idx, x, y);
    return new TensorDataset(x, y, [64], 10);
  };
  return { train: take(0, 1400), test: take(1400, ds.length) };
}

function accuracy(q: QuantizedModel, data: TensorDataset): number {
  const pred = q.predict(new Tensor(data.x, [data.length, 64])).argmax();
  let hits = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === data.y[i]) hits++;
  return hits / pred.length;
}

describe('quantize on digits (MLP 64-64-32-10 trained for 8 epochs)', () => {
  const { train, test } = split();
  const rng = new TensorRng(5);
  const model = new Sequential(new Linear(64, 64, { rng }), new ReLU(), new Linear(64, 32, { rng }), new ReLU(), new Linear(32, 10, { rng }));
  fit(model, { train, optimizer: new Adam(model.parameters(), { lr: 3e-3 }), epochs: 8, batchSize: 32, seed: 1 });
  const floatAcc = evaluate(model, test).accuracy;
  const cal = [0, 1, 2, 3].map((b) => new Tensor(train.x.subarray(b * 128 * 64, (b + 1) * 128 * 64), [128, 64]));
  // [scheme, config, largest allowed drop in points]
  const cases: [string, QuantizeConfig, number][] = [
    ['int8 static per-channel MinMax', { calibration: cal }, 1],
    ['int8 static per-tensor MinMax', { calibration: cal, weights: { dtype: 'int8', symmetric: true } }, 1.5],
    ['int8 static per-channel Entropy', { calibration: cal, activations: { mode: 'static', observer: 'entropy' } }, 1.5],
    ['int8 static per-channel MSE', { calibration: cal, activations: { mode: 'static', observer: 'mse' } }, 1.5],
    ['int8 dynamic', { activations: 'dynamic' }, 1],
    ['int4 weight-only g=32', { weights: { dtype: 'int4', symmetric: true, groupSize: 32 } }, 3],
    ['nf4 g=64', { weights: { mapping: 'nf4', groupSize: 64 } }, 3],
  ];

  it('the float model learned the task', () => {
    expect(floatAcc).toBeGreaterThan(0.85);
  });

  for (const [name, cfg, drop] of cases) {
    it(`${name}: accuracy drop ≤ ${drop} points`, () => {
      const q = quantize(model, cfg);
      const acc = accuracy(q, test);
      expect((floatAcc - acc) * 100).toBeLessThanOrEqual(drop);
    });
  }

  it('does not modify the float model', () => {
    const before = model.stateDict().get('0.weight')!.data.slice();
    const wasTraining = model.training;
    quantize(model, { calibration: cal });
    expect(model.stateDict().get('0.weight')!.data).toEqual(before);
    expect(model.training).toBe(wasTraining);
  });

  it('calibration: an iterable of { x } batches and maxBatches', () => {
    const a = quantize(model, { calibration: { data: cal.map((x) => ({ x })), maxBatches: 1 } });
    const b = quantize(model, { calibration: [cal[0]!] });
    expect(a.tensors.get('0.input_scale')!.data).toEqual(b.tensors.get('0.input_scale')!.data);
    const c = quantize(model, { calibration: cal });
    expect(c.tensors.get('0.input_scale')!.data).not.toEqual(b.tensors.get('2.input_scale')!.data);
  });
});

describe('quantize on digits images (CNN with a BatchNorm2d, 4 epochs)', () => {
  const ds = digits({ image: true });
  const take = (a: number, b: number): TensorDataset => {
    const idx = Array.from({ length: b - a }, (_, i) => a + i);
    const x = new Float32Array(idx.length * 64), y = new Int32Array(idx.length);
    ds.gather(idx, x, y);
    return new TensorDataset(x, y, [1, 8, 8], 10);
  };
  const train = take(0, 1400), test = take(1400, ds.length);
  const rng = new TensorRng(3);
  const model = new Sequential(
    new Conv2d(1, 8, 3, { rng, padding: 1 }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
    new Conv2d(8, 16, 3, { rng, padding: 1 }), new ReLU(), new Flatten(), new Linear(16 * 16, 10, { rng }),
  );
  fit(model, { train, optimizer: new Adam(model.parameters(), { lr: 3e-3 }), epochs: 4, batchSize: 32, seed: 1 });
  const floatAcc = evaluate(model, test).accuracy;
  const x = new Tensor(test.x, [test.length, 1, 8, 8]);
  const acc = (q: QuantizedModel): number => {
    const p = q.predict(x).argmax();
    let hits = 0;
    for (let i = 0; i < p.length; i++) if (p[i] === test.y[i]) hits++;
    return hits / p.length;
  };
  const cal = [new Tensor(train.x.subarray(0, 256 * 64), [256, 1, 8, 8])];

  it('the float model learned the task', () => {
    expect(floatAcc).toBeGreaterThan(0.85);
  });

  for (const [name, cfg, drop] of [
    ['int8 static per-channel', { calibration: cal }, 1.5],
    ['int8 dynamic', { activations: 'dynamic' }, 1.5],
    ['int4 weight-only g=8', { weights: { dtype: 'int4', symmetric: true, groupSize: 8 } }, 3],
  ] as [string, QuantizeConfig, number][]) {
    it(`${name}: BatchNorm2d folded, ReLUs fused, accuracy drop ≤ ${drop} points`, () => {
      const q = quantize(model, cfg);
      expect(q.layers.map((r) => [r.path, r.fused ?? []])).toEqual([['0', ['1', '2']], ['3', []], ['4', ['5']], ['6', []], ['7', []]]);
      expect((floatAcc - acc(q)) * 100).toBeLessThanOrEqual(drop);
    });
  }
});

class Custom extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
  backward(dy: Tensor): Tensor {
    return dy;
  }
  config(): ModuleConfig {
    return { type: 'Custom' };
  }
}

describe('quantize: bad input (acceptance 6)', () => {
  const rng = new TensorRng(6);
  const model = new Sequential(new Linear(8, 6, { rng }), new ReLU(), new Linear(6, 3, { rng }));
  const batch = (rows: number, cols: number, fill = 0.5): Tensor => Tensor.full([rows, cols], fill);
  const cal = [batch(4, 8)];
  const RE = DistiqRangeError, TE = DistiqTypeError, BAD = 'ERR_DISTIQ_INVALID_ARG_VALUE';

  it('calibration data of the wrong width', () => {
    expectError(() => quantize(model, { calibration: [batch(4, 8), batch(4, 7)] }), RE, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /calibrate: batch 1: Linear '0' expects input of shape \[\*, 8\], received \[4, 7\]/);
  });

  it('zero calibration batches', () => {
    expectError(() => quantize(model, { calibration: [] }), RE, BAD, /gave no calibration batches/);
    expectError(() => quantize(model, { calibration: { data: [] } }), RE, BAD, /gave no calibration batches/);
  });

  it('NaN in calibration data names the layer and the batch', () => {
    const bad = batch(4, 8);
    bad.data[13] = NaN;
    expectError(() => quantize(model, { calibration: [batch(4, 8), bad] }), RE, 'ERR_DISTIQ_NON_FINITE',
      /Linear '0' input: calibration batch 1 has a non-finite value \(x\[13\] = NaN\)/);
  });

  it('an override naming a missing layer, or a layer without weights', () => {
    expectError(() => quantize(model, { overrides: { '7': 'fp32' } }), RE, BAD,
      /"overrides" option names layer "7", but the model has no such layer \(Linear \/ Conv2d layers: "0", "2"\)/);
    expectError(() => quantize(model, { overrides: { '1': 'fp32' } }), RE, BAD, /names layer "1", a ReLU; only Linear \/ Conv2d layers/);
  });

  it('unsupported weight / activation combinations name the setting and the layer', () => {
    expectError(() => quantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 4 }, activations: 'static', calibration: cal }), RE, BAD,
      /layer "0" \(Linear\): the "weights.dtype" setting must be "int8" \(4-bit weights run on the int4 kernel with activations "float"\) with activations "static"/);
    expectError(() => quantize(model, { weights: { dtype: 'int8', symmetric: true, groupSize: 4 }, activations: 'dynamic' }), RE, BAD,
      /"weights.granularity" setting must be "per-tensor" or "per-channel" .* with activations "dynamic"\. Received string "per-group"/);
    expectError(() => quantize(model, { weights: { dtype: 'int8', granularity: 'per-channel' }, activations: 'dynamic' }), RE, BAD,
      /"weights.symmetric" setting must be true for per-channel weights/);
    expectError(() => quantize(model, { weights: { mapping: 'kmeans', levels: 16 }, activations: 'dynamic' }), RE, BAD,
      /"weights.mapping" setting must be "linear"/);
    expectError(() => quantize(model, { weights: { dtype: 'uint8' }, activations: 'dynamic' }), RE, BAD,
      /"weights.dtype" setting must be "int8" \(the int8 GEMM takes int8 weights\)/);
    expectError(() => quantize(model, { activations: { mode: 'dynamic', scheme: { dtype: 'uint4' } } }), RE, BAD,
      /"activations.scheme" setting must be a linear 8-bit per-tensor scheme/);
    expectError(() => quantize(model, { overrides: { '2': { activations: 'static' } } }), RE, BAD,
      /layer "2" \(Linear\): activations "static" need calibration data; the "calibration" option is missing/);
    expectError(() => quantize(model, { overrides: { '2': { weights: { dtype: 'int4', symmetric: true }, activations: 'dynamic' } } }), RE, BAD,
      /layer "2" \(Linear\): the "overrides\["2"\].weights.dtype" setting must be "int8"/);
  });

  it('invalid schemes and options', () => {
    expectError(() => quantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 0 } }), RE, BAD, /"weights.groupSize"/);
    expectError(() => quantize(model, { activations: 'bogus' as never }), RE, BAD, /"activations"/);
    expectError(() => quantize(model, { activations: { mode: 'static', observer: 'nope' as never }, calibration: cal }), RE, BAD, /"activations.observer"/);
    expectError(() => quantize(model, { weights: 5 as never }), TE, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"weights" option must be an object/);
    expectError(() => quantize(model, { calibrate: cal } as never), RE, BAD, /"calibrate" is not a quantize option/);
    expectError(() => quantize({} as never), TE, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"model" argument must be a Module/);
    expectError(() => quantize(new Sequential(new Linear(4, 4), new Custom())), RE, BAD, /Custom '1' is not supported/);
  });

  it('NaN at run time: static and dynamic inputs are refused with a typed error', () => {
    const x = batch(2, 8);
    x.data[3] = NaN;
    for (const q of [quantize(model, { calibration: cal }), quantize(model, { activations: 'dynamic' }), quantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 4 } })]) {
      let err: unknown;
      try {
        q.predict(x);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RE);
      expect((err as { code: string }).code).toBe('ERR_DISTIQ_NON_FINITE');
    }
  });
});
