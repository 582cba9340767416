import { describe, expect, it } from 'vitest';

import { Conv2d, MaxPool2d, ReLU, Rng, Sequential, Tensor, gemmF32, setNumThreads } from '../../lib';

function randTensor(seed: number, shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return new Tensor(new Rng(seed).fillNormal(new Float32Array(n)), shape);
}

/** float64 forward and gradients of a convolution (direct loops; zero padding). */
function refConv(x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array,
  [N, C, H, W]: number[], Co: number, k: number, s: number, pad: number) {
  const Ho = Math.floor((H! + 2 * pad - k) / s) + 1, Wo = Math.floor((W! + 2 * pad - k) / s) + 1;
  const y = new Float64Array(N! * Co * Ho * Wo), dx = new Float64Array(x.length), dw = new Float64Array(w.length), db = new Float64Array(Co);
  for (let n = 0; n < N!; n++) for (let o = 0; o < Co; o++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
    const yi = ((n * Co + o) * Ho + oh) * Wo + ow, g = dy[yi]!;
    let acc = b ? b[o]! : 0;
    db[o] = db[o]! + g;
    for (let c = 0; c < C!; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const ih = oh * s - pad + i, iw = ow * s - pad + j;
      if (ih < 0 || ih >= H! || iw < 0 || iw >= W!) continue;
      const xi = ((n * C! + c) * H! + ih) * W! + iw, wi = ((o * C! + c) * k + i) * k + j;
      acc += x[xi]! * w[wi]!;
      dx[xi] = dx[xi]! + w[wi]! * g;
      dw[wi] = dw[wi]! + x[xi]! * g;
    }
    y[yi] = acc;
  }
  return { y, dx, dw, db };
}

function expectClose(name: string, got: Float32Array, want: Float64Array): void {
  let scale = 1e-30;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= 2e-5 * scale)) throw new Error(`${name}[${i}] = ${got[i]}, float64 reference ${want[i]} (scale ${scale})`);
  }
}

describe('Conv2d', () => {
  // Shapes where the stride-1 path takes several chunks (nb < N, a partial last chunk), stride 2 (im2col path).
  const cases: [string, number[], number, number, number, number][] = [
    ['chunks of 2, last of 1, padding 1', [5, 8, 40, 40], 4, 3, 1, 1],
    ['one sample per chunk, no padding', [3, 32, 26, 26], 16, 3, 1, 0],
    ['many samples per chunk, padding 2, k 5', [7, 2, 9, 11], 3, 5, 1, 2],
    ['stride 2 (im2col path)', [3, 3, 11, 10], 5, 3, 2, 1],
  ];
  for (const [what, shape, Co, k, s, pad] of cases) {
    it(`forward bits = im2col + gemmF32 with the bias pre-filled; gradients vs float64 (${what})`, () => {
      const [N, C, H, W] = shape as [number, number, number, number];
      const conv = new Conv2d(C, Co, k, { stride: s, padding: pad, rng: new Rng(3) });
      const x = randTensor(4, shape);
      const y = conv.forward(x);
      const Ho = y.dim(2), Wo = y.dim(3), P = Ho * Wo, K = C * k * k;
      // Expected bits: explicit im2col per sample, y ← bias rows, y = W·cols + y (β = 1).
      const want = new Float32Array(N * Co * P), cols = new Float32Array(K * P);
      for (let n = 0; n < N; n++) {
        for (let c = 0, r = 0; c < C; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++, r++) {
          for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
            const ih = oh * s - pad + i, iw = ow * s - pad + j;
            cols[r * P + oh * Wo + ow] = ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x.data[((n * C + c) * H + ih) * W + iw]!;
          }
        }
        const yn = want.subarray(n * Co * P, (n + 1) * Co * P);
        for (let o = 0; o < Co; o++) yn.fill(conv.bias!.data[o]!, o * P, (o + 1) * P);
        gemmF32(conv.weight.data, cols, Co, P, K, { beta: 1, out: yn });
      }
      expect(Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength).equals(Buffer.from(want.buffer))).toBe(true);
      const dy = randTensor(5, y.shape as number[]);
      conv.zeroGrad();
      const dx = conv.backward(dy);
      const ref = refConv(x.data, conv.weight.data, conv.bias!.data, dy.data, shape, Co, k, s, pad);
      expectClose('y', y.data, ref.y);
      expectClose('dx', dx.data, ref.dx);
      expectClose('dW', conv.weight.grad, ref.dw);
      expectClose('db', conv.bias!.grad, ref.db);
    });
  }

  it('same bits at 1, 2 and 3 threads (forward and gradients)', () => {
    const run = (t: number): number[][] => {
      setNumThreads(t);
      const conv = new Conv2d(16, 32, 3, { padding: 1, rng: new Rng(7) });
      const y = conv.forward(randTensor(8, [6, 16, 20, 20]));
      const dx = conv.backward(randTensor(9, y.shape as number[]));
      return [Array.from(y.data), Array.from(dx.data), Array.from(conv.weight.grad), Array.from(conv.bias!.grad)];
    };
    try {
      const one = run(1);
      expect(run(2)).toEqual(one);
      expect(run(3)).toEqual(one);
    } finally {
      setNumThreads(1);
    }
  });

  // Conv2d -> ReLU fusion, and (stride-1 conv, disjoint pool windows, no tap on the ReLU) the pool's backward done by
  // the conv; overlapping windows (k 3, stride 2) and a tapped ReLU take the general route. Odd sizes leave conv
  // outputs outside every pool window; dy holds -0 entries (as a dropout's backward gives).
  it.each([
    ['k2', 1, 0, 2, 2, false], ['k2 padded', 1, 1, 2, 2, false], ['stride-2 conv', 2, 1, 2, 2, false],
    ['overlapping pool', 1, 0, 3, 2, false], ['tapped ReLU', 1, 0, 2, 2, true],
  ] as const)('Conv2d -> ReLU (-> MaxPool2d) fused in Sequential: same results, bit for bit (%s)', (_w, s, pad, pk, ps, tap) => {
    {
      const make = (): Sequential => {
        const rng = new Rng(11);
        return new Sequential(new Conv2d(2, 6, 3, { stride: s, padding: pad, rng }), new ReLU(), new Conv2d(6, 4, 3, { rng }), new ReLU(), new MaxPool2d(pk, ps));
      };
      const fused = make(), plain = make();
      let tapped = 0;
      if (tap) fused.setTap(3, { output: () => {}, grad: (g) => { tapped++; return g; } });
      const x = randTensor(12, [3, 2, 14, 13]);
      for (let step = 0; step < 2; step++) {
        fused.zeroGrad();
        plain.zeroGrad();
        const y1 = Array.from(fused.forward(x).data);
        let h = x;
        for (const l of plain.layers) h = l.forward(h);
        expect(y1).toEqual(Array.from(h.data));
        const dy = randTensor(13 + step, h.shape as number[]);
        for (let i = 0; i < dy.size; i += 3) dy.data[i] = -0;
        const dx1 = Array.from(fused.backward(dy).data);
        let g = dy;
        for (const l of [...plain.layers].reverse()) g = l.backward(g);
        expect(dx1).toEqual(Array.from(g.data));
        fused.parameters().forEach((p, i) => expect(Array.from(p.grad), `param ${i}`).toEqual(Array.from(plain.parameters()[i]!.grad)));
      }
      expect(() => fused.layers[1]!.backward(Tensor.zeros([1]))).toThrow(/backward called before forward/);
      expect(tapped).toBe(tap ? 2 : 0);
    }
  });
});
