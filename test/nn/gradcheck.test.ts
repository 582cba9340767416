/**
 * Acceptance 1: every layer and loss against central finite differences of a float64 reference, on random shapes
 * (seeded: DISTIQ_SEED reproduces a failure).
 */
import { describe, expect, it } from 'vitest';

import {
  AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, CosineLoss, CrossEntropyLoss, Dropout, Flatten, GELU, LayerNorm, Linear,
  MaxPool2d, MSELoss, ReLU, Rng as DRng, Sequential, Tanh,
} from '../../lib';
import { expectClose, f64, gradCheck, numericGrad, randomTensor } from '../helpers/gradcheck';
import {
  refBatchNorm, refConv2d, refCosine, refCrossEntropy, refGelu, refLayerNorm, refLinear, refMap, refMse, refPool,
} from '../helpers/ref-nn';
import { Rng } from '../helpers/rng';

const TRIALS = 3;

describe('gradient checks (float64 finite differences)', () => {
  it('Linear, with and without bias, 2-D and 3-D input', () => {
    const rng = new Rng(1);
    for (let t = 0; t < TRIALS; t++) {
      const inF = rng.int(1, 9), outF = rng.int(1, 7), bias = t !== 1;
      const lead = t === 2 ? [rng.int(1, 3), rng.int(1, 3)] : [rng.int(1, 6)];
      const layer = new Linear(inF, outF, { bias, rng: new DRng(t) });
      gradCheck(`Linear(${inF},${outF})`, layer, randomTensor(rng, [...lead, inF]), (x, p) => refLinear(x, p[0]!, bias ? p[1]! : null, inF, outF), rng);
    }
  });

  it('ReLU, Tanh, GELU (erf)', () => {
    const rng = new Rng(2);
    const cases: [string, () => ReLU | Tanh | GELU, (v: number) => number][] = [
      ['ReLU', () => new ReLU(), (v) => Math.max(v, 0)],
      ['Tanh', () => new Tanh(), Math.tanh],
      ['GELU', () => new GELU(), refGelu],
    ];
    for (const [name, make, f] of cases) {
      for (let t = 0; t < TRIALS; t++) {
        const x = randomTensor(rng, [rng.int(1, 5), rng.int(1, 9)], -3, 3);
        gradCheck(name, make(), x, (xx) => refMap(xx, f), rng);
      }
    }
  });

  it('Dropout (training: the recorded mask; eval: identity)', () => {
    const rng = new Rng(3);
    for (const p of [0.1, 0.5]) {
      const layer = new Dropout(p, { seed: 7 });
      const x = randomTensor(rng, [4, 25]);
      layer.forward(x);
      const mask = Float64Array.from(layer.mask!);
      const kept = mask.filter((m) => m !== 0).length;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(100);
      for (const m of mask) expect(m === 0 || Math.abs(m - 1 / (1 - p)) < 1e-6).toBe(true);
      // The same seed gives the same mask again: replay it for the check.
      const replay = new Dropout(p, { seed: 7 });
      gradCheck(`Dropout(${p})`, replay, x, (xx) => xx.map((v, i) => v * mask[i]!), rng);
    }
    const d = new Dropout(0.5).eval();
    const x = randomTensor(rng, [3, 4]);
    expect(d.forward(x)).toBe(x);
    gradCheck('Dropout eval', d, x, (xx) => xx.slice(), rng);
  });

  it('Flatten', () => {
    const rng = new Rng(4);
    gradCheck('Flatten', new Flatten(), randomTensor(rng, [2, 3, 2, 2]), (xx) => xx.slice(), rng);
  });

  it('Conv2d (stride, padding, bias)', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 8; t++) {
      const N = rng.int(1, 2), C = rng.int(1, 3), Co = rng.int(1, 3), k = rng.int(1, 3);
      const s = rng.int(1, 3), pad = rng.int(0, 2), H = rng.int(k, 7), W = rng.int(k, 7), bias = t !== 2;
      const layer = new Conv2d(C, Co, k, { stride: s, padding: pad, bias, rng: new DRng(t) });
      const name = `Conv2d(${C},${Co},k${k},s${s},p${pad}) on [${N},${C},${H},${W}]`;
      gradCheck(name, layer, randomTensor(rng, [N, C, H, W]), (x, p) => refConv2d(x, p[0]!, bias ? p[1]! : null, N, C, H, W, Co, k, s, pad), rng);
    }
  });

  it('MaxPool2d and AvgPool2d', () => {
    const rng = new Rng(6);
    for (let t = 0; t < TRIALS; t++) {
      const N = rng.int(1, 2), C = rng.int(1, 3), k = rng.int(2, 3), s = rng.int(1, 3), pad = rng.int(0, 1);
      const H = rng.int(k, 7), W = rng.int(k, 7);
      const x = randomTensor(rng, [N, C, H, W]);
      gradCheck(`MaxPool2d(k${k},s${s},p${pad})`, new MaxPool2d(k, s, pad), x, (xx) => refPool(xx, N, C, H, W, k, s, pad, 'max'), rng);
      gradCheck(`AvgPool2d(k${k},s${s},p${pad})`, new AvgPool2d(k, s, pad), x, (xx) => refPool(xx, N, C, H, W, k, s, pad, 'avg'), rng);
    }
  });

  it('BatchNorm1d and BatchNorm2d, training and eval', () => {
    const rng = new Rng(7);
    for (let t = 0; t < TRIALS; t++) {
      const N = rng.int(2, 5), C = rng.int(1, 4), H = rng.int(1, 3), W = rng.int(1, 3), L = rng.int(2, 3);
      const cases: [string, BatchNorm1d | BatchNorm2d, number[], number][] = [
        ['BatchNorm1d [N,C]', new BatchNorm1d(C), [N, C], 1],
        ['BatchNorm1d [N,C,L]', new BatchNorm1d(C), [N, C, L], L],
        ['BatchNorm2d', new BatchNorm2d(C), [N, C, H, W], H * W],
      ];
      for (const [name, layer, shape, inner] of cases) {
        layer.weight!.data.set(rng.float32Array(C, 0.5, 1.5));
        layer.bias!.data.set(rng.float32Array(C));
        const x = randomTensor(rng, shape);
        gradCheck(`${name} train`, layer, x, (xx, p) => refBatchNorm(xx, p[0]!, p[1]!, N, C, inner, 1e-5), rng);
        layer.runningMean.data.set(rng.float32Array(C));
        layer.runningVar.data.set(rng.float32Array(C, 0.5, 2));
        layer.eval();
        const stats = { mean: layer.runningMean.data, var: layer.runningVar.data };
        gradCheck(`${name} eval`, layer, x, (xx, p) => refBatchNorm(xx, p[0]!, p[1]!, N, C, inner, 1e-5, stats), rng);
      }
    }
  });

  it('LayerNorm', () => {
    const rng = new Rng(8);
    for (let t = 0; t < TRIALS; t++) {
      const D = rng.int(2, 8);
      const layer = new LayerNorm(D);
      layer.weight!.data.set(rng.float32Array(D, 0.5, 1.5));
      layer.bias!.data.set(rng.float32Array(D));
      gradCheck(`LayerNorm(${D})`, layer, randomTensor(rng, [rng.int(1, 4), D]), (xx, p) => refLayerNorm(xx, p[0]!, p[1]!, D, 1e-5), rng);
    }
  });

  it('Sequential composes forward and backward', () => {
    const rng = new Rng(9);
    const r = new DRng(3);
    const net = new Sequential(new Linear(5, 6, { rng: r }), new Tanh(), new Linear(6, 3, { rng: r }));
    gradCheck('Sequential', net, randomTensor(rng, [4, 5]), (x, p) => refLinear(refMap(refLinear(x, p[0]!, p[1]!, 5, 6), Math.tanh), p[2]!, p[3]!, 6, 3), rng);
  });
});

describe('loss gradients (float64 finite differences)', () => {
  it('CrossEntropyLoss (native fused)', () => {
    const rng = new Rng(10);
    for (let t = 0; t < TRIALS; t++) {
      const N = rng.int(1, 6), C = rng.int(2, 9);
      const z = randomTensor(rng, [N, C], -3, 3);
      const labels = Int32Array.from({ length: N }, () => rng.int(0, C - 1));
      const loss = new CrossEntropyLoss();
      const z64 = f64(z.data);
      expect(Math.abs(loss.forward(z, labels) - refCrossEntropy(z64, labels, C))).toBeLessThan(1e-5);
      const num = numericGrad(z64, () => Float64Array.of(refCrossEntropy(z64, labels, C)), [1]);
      expectClose('CrossEntropy grad', loss.backward().data, num, 1e-4);
    }
  });

  it('MSELoss and CosineLoss', () => {
    const rng = new Rng(11);
    for (let t = 0; t < TRIALS; t++) {
      const N = rng.int(1, 5), D = rng.int(1, 7);
      const y = randomTensor(rng, [N, D]), target = randomTensor(rng, [N, D]);
      const y64 = f64(y.data);
      const mse = new MSELoss();
      expect(Math.abs(mse.forward(y, target) - refMse(y64, target.data))).toBeLessThan(1e-6);
      expectClose('MSE grad', mse.backward().data, numericGrad(y64, () => Float64Array.of(refMse(y64, target.data)), [1]), 1e-4);
      const cos = new CosineLoss();
      expect(Math.abs(cos.forward(y, target) - refCosine(y64, target.data, D))).toBeLessThan(1e-6);
      expectClose('Cosine grad', cos.backward().data, numericGrad(y64, () => Float64Array.of(refCosine(y64, target.data, D)), [1]), 1e-4);
    }
  });
});
