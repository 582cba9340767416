/**
 * calibrate (lib/quant/calibrate.ts): the observers see exactly each layer's input (checked against running the
 * layers one by one), through nested Sequentials and a fused Conv2d → ReLU pair; the model is left as it was (mode,
 * no taps, same outputs); and the errors of acceptance 6: zero batches, wrong input width, NaN in the data, a
 * `layers` entry naming no layer.
 */
import { describe, expect, it } from 'vitest';

import { DistiqRangeError } from '../../lib/errors';
import { Conv2d } from '../../lib/nn/conv2d';
import { ReLU } from '../../lib/nn/activations';
import { Dropout } from '../../lib/nn/dropout';
import { Linear } from '../../lib/nn/linear';
import type { Module } from '../../lib/nn/module';
import { Flatten, Sequential } from '../../lib/nn/sequential';
import { calibrate } from '../../lib/quant/calibrate';
import { MinMaxObserver, PercentileObserver } from '../../lib/quant/observers/index';
import { QuantScheme } from '../../lib/quant/scheme';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { Tensor } from '../../lib/tensor/tensor';
import { expectError } from '../helpers/expect-error';
import { Rng } from '../helpers/rng';

function batches(seed: number, n: number, shape: number[]): Tensor[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const t = Tensor.zeros(shape);
    for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * 2;
    return t;
  });
}

function extremes(xs: Float32Array[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const x of xs) for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return [lo, hi];
}

/** Runs the layers one at a time (eval mode) and records each listed layer's input. */
function layerInputs(layers: Module[], x: Tensor): Float32Array[] {
  const out: Float32Array[] = [];
  let h = x;
  for (const m of layers) {
    out.push(h.data.slice());
    h = m.forward(h);
  }
  return out;
}

describe('calibrate', () => {
  it('observes every Linear input of an MLP (nested Sequential, dropout in the model)', () => {
    const rng = new TensorRng(1);
    const l0 = new Linear(6, 5, { rng }), l1 = new Linear(5, 4, { rng }), l2 = new Linear(4, 3, { rng });
    const model = new Sequential(new Sequential(l0, new ReLU()), new Dropout(0.5), l1, new ReLU(), l2);
    model.train();
    const data = batches(1, 3, [7, 6]);
    const before = model.eval().forward(data[0]!).data.slice();
    model.train();
    const cal = calibrate(model, data.map((x) => ({ x })));
    expect(cal.batches).toBe(3);
    expect([...cal.observers.keys()]).toEqual(['0.0', '2', '4']);
    expect(model.training).toBe(true);
    const seen: Float32Array[][] = [[], [], []];
    for (const x of data) {
      const ins = layerInputs([l0, new ReLU(), l1, new ReLU(), l2], x);
      seen[0]!.push(ins[0]!);
      seen[1]!.push(ins[2]!);
      seen[2]!.push(ins[4]!);
    }
    ['0.0', '2', '4'].forEach((p, k) => {
      const r = cal.observers.get(p)!.range();
      const [lo, hi] = extremes(seen[k]!);
      expect([r.min[0], r.max[0]], p).toEqual([Math.fround(lo), Math.fround(hi)]);
    });
    expect(cal.observers.get('2')!.range().min[0]).toBe(0); // after a ReLU
    expect(cal.observers.get('0.0')!.name).toBe("Linear '0.0' input");
    // taps removed, outputs unchanged
    expect(model.eval().forward(data[0]!).data).toEqual(before);
  });

  it('a Conv2d → ReLU pair (fused in forward) and per-channel observers from a kind with options', () => {
    const rng = new TensorRng(2);
    const conv = new Conv2d(2, 3, 3, { padding: 1, rng }), fc = new Linear(3 * 4 * 4, 5, { rng });
    const model = new Sequential(conv, new ReLU(), new Flatten(), fc);
    const data = batches(2, 2, [2, 2, 4, 4]);
    const cal = calibrate(model, data, { observer: 'minmax', observerOptions: { granularity: 'per-channel' } });
    expect([...cal.observers.keys()]).toEqual(['0', '3']);
    const convIn = cal.observers.get('0')!.range();
    for (let c = 0; c < 2; c++) {
      const vals = data.flatMap((x) => [0, 1].flatMap((n) => Array.from(x.data.subarray((n * 2 + c) * 16, (n * 2 + c) * 16 + 16))));
      expect(convIn.max[c]).toBe(Math.max(...vals));
    }
    const fcIn = cal.observers.get('3')!.range();
    expect(fcIn.max.length).toBe(48);
    const outs = data.map((x) => layerInputs([conv, new ReLU(), new Flatten(), fc], x)[3]!);
    expect(fcIn.max[7]).toBe(Math.max(...outs.map((o) => Math.max(o[7]!, o[48 + 7]!))));
  });

  it('a factory, a layer subset and maxBatches; params for a scheme', () => {
    const model = new Sequential(new Linear(4, 4), new ReLU(), new Linear(4, 2));
    const cal = calibrate(model, batches(3, 5, [3, 4]), { observer: (p) => new PercentileObserver({ name: `pct ${p}`, percentile: 99 }), layers: ['2'], maxBatches: 2 });
    expect(cal.batches).toBe(2);
    expect([...cal.observers.keys()]).toEqual(['2']);
    expect(cal.observers.get('2')!.batches).toBe(2);
    const p = cal.observers.get('2')!.params(new QuantScheme({ dtype: 'uint8' }));
    expect(p.scale.length).toBe(1);
    expect(p.zeroPoint![0]).toBe(0); // a ReLU output: min 0
  });

  it('errors: zero batches, wrong width, NaN, unknown layer, bad batch', () => {
    const model = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
    expect(() => calibrate(model, [])).toThrow(/"data" argument gave no calibration batches/);
    const wrong = [Tensor.zeros([2, 4]), Tensor.zeros([2, 5])];
    expectError(() => calibrate(model, wrong), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /calibrate: batch 1: Linear '0' expects input of shape \[\*, 4\], received \[2, 5\]/);
    const nan = batches(4, 3, [2, 4]);
    nan[2]!.data[5] = Number.NaN;
    expectError(() => calibrate(model, nan), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE',
      /Linear '0' input: calibration batch 2 has a non-finite value \(x\[5\] = NaN\)/);
    expect(() => calibrate(model, batches(5, 1, [2, 4]), { layers: ['0', '7'] })).toThrow(/"layers" option names "7", but the model has no such layer \(layers: 0, 1, 2\)/);
    expect(() => calibrate(model, [new Float32Array(4)] as unknown as Tensor[])).toThrow(/batch 0 must be a Tensor/);
    expect(() => calibrate(model, batches(5, 1, [2, 4]), { maxBatches: 0 })).toThrow(/"maxBatches"/);
    expect(() => calibrate(new Sequential(new ReLU()), batches(5, 1, [2, 4]))).toThrow(/no Linear or Conv2d/);
    expect(() => calibrate(model, batches(5, 1, [2, 4]), { observer: 'mse' })).toThrow(/"scheme" option of MseObserver/);
    // after errors, no tap is left behind: a later calibration sees only its own batches
    const ok = calibrate(model, batches(6, 2, [2, 4]), { observer: () => new MinMaxObserver() });
    expect(ok.observers.get('2')!.batches).toBe(2);
  });
});
