import { describe, expect, it } from 'vitest';

import {
  BatchNorm1d, Conv2d, CrossEntropyLoss, Dropout, Flatten, Linear, MaxPool2d, MSELoss, ReLU, Rng, Sequential, Tensor,
} from '../../lib';

function mlp(): Sequential {
  const rng = new Rng(1);
  return new Sequential(new Linear(4, 8, { rng }), new ReLU(), new BatchNorm1d(8), new Dropout(0.5, { rng }), new Linear(8, 3, { rng }));
}

describe('Module', () => {
  it('names parameters, buffers and random streams by path', () => {
    const m = mlp();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias', '4.weight', '4.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['2.running_mean', '2.running_var']);
    expect(m.namedRngs().map(([n]) => n)).toEqual(['3.rng']);
    expect(m.parameterCount()).toBe(4 * 8 + 8 + 16 + 8 * 3 + 3);
    expect(m.layers[4]!.label()).toBe("Linear '4'");
  });

  it('PyTorch default Linear init: U(-1/sqrt(in), 1/sqrt(in)), seeded', () => {
    const a = new Linear(100, 50, { rng: new Rng(5) }), b = new Linear(100, 50, { rng: new Rng(5) });
    expect(Array.from(a.weight.data)).toEqual(Array.from(b.weight.data));
    const bound = 1 / Math.sqrt(100);
    let maxAbs = 0, sumSq = 0;
    for (const v of a.weight.data) { maxAbs = Math.max(maxAbs, Math.abs(v)); sumSq += v * v; }
    expect(maxAbs).toBeLessThanOrEqual(bound);
    expect(Math.sqrt(sumSq / 5000)).toBeCloseTo(bound / Math.sqrt(3), 2);
  });

  it('state dict round-trips and rejects mismatches', () => {
    const a = mlp(), b = new Sequential(new Linear(4, 8), new ReLU(), new BatchNorm1d(8), new Dropout(0.5), new Linear(8, 3));
    b.loadStateDict(a.stateDict());
    for (const [n, t] of a.stateDict()) expect(Array.from(b.stateDict().get(n)!.data)).toEqual(Array.from(t.data));
    const sd = a.stateDict();
    sd.set('0.weight', Tensor.zeros([8, 5]));
    expect(() => b.loadStateDict(sd)).toThrow(/"0.weight" has shape \[8, 5\], but the model expects \[8, 4\]/);
    sd.delete('0.weight');
    expect(() => b.loadStateDict(sd)).toThrow(/Missing tensor "0.weight"/);
    const extra = a.stateDict();
    extra.set('9.weight', Tensor.zeros([1]));
    expect(() => b.loadStateDict(extra)).toThrow(/Unexpected tensor "9.weight"/);
  });

  it('gradients accumulate until zeroGrad; train/eval propagate', () => {
    const m = new Sequential(new Linear(3, 2, { rng: new Rng(2) }));
    const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const dy = Tensor.from([1, 0, 0, 1], [2, 2]);
    m.forward(x); m.backward(dy);
    const once = Array.from(m.parameters()[0]!.grad);
    m.forward(x); m.backward(dy);
    expect(Array.from(m.parameters()[0]!.grad)).toEqual(once.map((v) => 2 * v));
    m.zeroGrad();
    expect(m.parameters()[0]!.grad.every((v) => v === 0)).toBe(true);
    const d = mlp().eval();
    expect(d.layers.every((l) => !l.training)).toBe(true);
  });

  it('zeroGrad is lazy: readers see zeros, whole-gradient writers get beta 0', () => {
    const l = new Linear(3, 2, { rng: new Rng(4) });
    const x = Tensor.from([1, 2, 3], [1, 3]), dy = Tensor.from([1, -1], [1, 2]);
    l.forward(x); l.backward(dy);
    const once = Array.from(l.weight.grad);
    l.weight.grad.fill(123);
    l.zeroGrad();
    expect(l.weight.gradBeta()).toBe(0);
    expect(l.weight.gradBeta()).toBe(1);
    l.zeroGrad();
    expect(Array.from(l.bias!.grad)).toEqual([0, 0]);
    l.forward(x); l.backward(dy);
    expect(Array.from(l.weight.grad)).toEqual(once);
    expect(Array.from(l.bias!.grad)).toEqual([1, -1]);
  });

  // With a bias: Linear -> ReLU -> Dropout (deferred bias, one pass); without: the ReLU -> Dropout pair.
  it.each([true, false])('Linear(bias %s) -> ReLU -> Dropout is fused in Sequential with the same results, bit for bit', (bias) => {
    const make = (): Sequential => {
      const rng = new Rng(11);
      return new Sequential(new Linear(6, 40, { rng, bias }), new ReLU(), new Dropout(0.3, { rng }), new Linear(40, 3, { rng }));
    };
    const fusedNet = make(), plain = make();
    const x = new Tensor(new Rng(12).fillNormal(new Float32Array(5 * 6)), [5, 6]);
    const dy = new Tensor(new Rng(13).fillNormal(new Float32Array(5 * 3)), [5, 3]);
    for (let step = 0; step < 2; step++) {
      fusedNet.zeroGrad();
      plain.zeroGrad();
      const y1 = Array.from(fusedNet.forward(x).data);
      let h = x;
      for (const l of plain.layers) h = l.forward(h);
      expect(y1).toEqual(Array.from(h.data));
      const dx1 = Array.from(fusedNet.backward(dy).data);
      let g = dy;
      for (const l of [...plain.layers].reverse()) g = l.backward(g);
      expect(dx1).toEqual(Array.from(g.data));
      fusedNet.parameters().forEach((p, i) => expect(Array.from(p.grad)).toEqual(Array.from(plain.parameters()[i]!.grad)));
    }
    const relu = fusedNet.layers[1]!;
    expect(() => relu.backward(Tensor.zeros([5, 40]))).toThrow(/backward called before forward/);
    fusedNet.eval();
    expect(fusedNet.forward(x).shape).toEqual([5, 3]);
    expect(fusedNet.backward(dy).shape).toEqual([5, 6]);
  });

  it('skips input gradients the caller does not need', () => {
    const m = new Sequential(new Dropout(0.1), new Linear(3, 2));
    m.forward(Tensor.zeros([2, 3]));
    expect(m.backward(Tensor.zeros([2, 2]), false).size).toBe(0);
    m.forward(Tensor.zeros([2, 3]));
    expect(m.backward(Tensor.zeros([2, 2])).shape).toEqual([2, 3]);
  });

  it('BatchNorm running statistics follow PyTorch (momentum 0.1, unbiased variance)', () => {
    const bn = new BatchNorm1d(1);
    bn.forward(Tensor.from([1, 2, 3, 6], [4, 1]));
    expect(bn.runningMean.data[0]).toBeCloseTo(0.1 * 3, 6);
    expect(bn.runningVar.data[0]).toBeCloseTo(0.9 + 0.1 * (14 / 3), 6);
    expect(() => bn.forward(Tensor.from([1], [1, 1]))).toThrow(/more than 1 value per channel/);
  });

  it('Dropout is reproducible and keeps about 1 - p', () => {
    const a = new Dropout(0.2, { seed: 3 }), b = new Dropout(0.2, { seed: 3 });
    const x = Tensor.full([100, 100], 1);
    const ya = Array.from(a.forward(x).data), yb = Array.from(b.forward(x).data);
    expect(ya).toEqual(yb);
    const kept = ya.filter((v) => v !== 0).length / 1e4;
    expect(Math.abs(kept - 0.8)).toBeLessThan(0.02);
    expect(ya.reduce((s, v) => s + v, 0) / 1e4).toBeCloseTo(1, 1);
    expect(() => new Dropout(1)).toThrow(/must be < 1/);
  });
});

describe('bad input names the layer', () => {
  it('shape mismatches between layers', () => {
    const m = new Sequential(new Linear(4, 8), new ReLU(), new Linear(7, 3));
    expect(() => m.forward(Tensor.zeros([2, 4]))).toThrow(/Linear '2' expects input of shape \[\*, 7\], received \[2, 8\]/);
    try {
      m.forward(Tensor.zeros([2, 4]));
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_DISTIQ_SHAPE_MISMATCH');
    }
    const c = new Sequential(new Conv2d(1, 4, 3), new MaxPool2d(2), new Flatten(), new Linear(16, 2));
    expect(() => c.forward(Tensor.zeros([1, 2, 6, 6]))).toThrow(/Conv2d '0' expects input of shape \[N, 1, H, W\]/);
    expect(() => c.forward(Tensor.zeros([1, 1, 2, 2]))).toThrow(/Conv2d '0' expects input/);
    expect(c.forward(Tensor.zeros([3, 1, 6, 6])).shape).toEqual([3, 2]);
    expect(() => new Linear(0, 3)).toThrow(/"inFeatures" argument must be an integer in \[1/);
  });

  it('backward before forward, or with the wrong gradient shape', () => {
    const l = new Linear(2, 2);
    expect(() => l.backward(Tensor.zeros([1, 2]))).toThrow(/backward called before forward/);
    l.forward(Tensor.zeros([3, 2]));
    expect(() => l.backward(Tensor.zeros([2, 2]))).toThrow(/output gradient has shape \[2, 2\], but the last output had shape \[3, 2\]/);
  });

  it('loss inputs: label range, counts, empty batch, non-finite', () => {
    const ce = new CrossEntropyLoss();
    expect(() => ce.forward(Tensor.zeros([2, 3]), Int32Array.of(0, 3))).toThrow(/"labels".*\[0, 2\].*labels\[1\] is 3/);
    expect(() => ce.forward(Tensor.zeros([2, 3]), Int32Array.of(0))).toThrow(/expected 2 labels/);
    expect(() => ce.forward(Tensor.zeros([0, 3]), new Int32Array(0))).toThrow(/batch is empty/);
    expect(() => ce.forward(Tensor.from([NaN, 0, 0], [1, 3]), Int32Array.of(0))).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_NON_FINITE' }));
    expect(() => ce.forward(Tensor.zeros([6]), Int32Array.of(0))).toThrow(/shape \[N, C\]/);
    const mse = new MSELoss();
    expect(() => mse.forward(Tensor.zeros([2, 2]), Tensor.zeros([4]))).toThrow(/MSELoss: prediction shape \[2, 2\] and target shape \[4\] differ/);
    expect(() => mse.forward(Tensor.from([Infinity]), Tensor.zeros([1]))).toThrow(/MSELoss: the loss is Infinity/);
  });
});
