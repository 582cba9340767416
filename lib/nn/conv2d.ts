/**
 * Conv2d on NCHW tensors: x [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout] → y [N, Cout, Ho, Wo] with
 * Ho = ⌊(H + 2·pad − kh)/stride⌋ + 1 (zero padding; cross-correlation, as in PyTorch).
 *
 * im2col + GEMM, one sample at a time. cols[n] is [K = Cin·kh·kw, P = Ho·Wo], row (c·kh + i)·kw + j holding
 * x[n, c, oh·s − pad + i, ow·s − pad + j] (0 outside). Then, through gemmF32:
 * - forward:  y[n] (Cout×P) ← bias rows; y[n] = W (Cout×K) · cols[n] + y[n]        (β = 1)
 * - backward: dW += dy[n] · cols[n]ᵀ (transB, β = 1); db += Σ dy; dcols = Wᵀ · dy[n] (transA), then col2im adds
 *   dcols back into dx[n].
 * cols of every sample of the batch are kept from forward to backward (N·K·P floats).
 * Default init: PyTorch's (U(±1/√fan_in), fan_in = Cin·kh·kw).
 */
import { gemmF32 } from '../ops/gemm-f32';
import { Rng } from '../tensor/random';
import { scratch, type Tensor } from '../tensor/tensor';
import { expectBoolean, expectInteger } from '../validate';
import { torchDefaultInit } from './init';
import { Module, NO_GRAD, type ModuleConfig, type Parameter } from './module';

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  rng?: Rng;
}

/** Output size of a window of `k` with `stride` and `pad` over `n` (≤ 0 when the window does not fit). */
export function windowOut(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private readonly colsBuf = { buf: new Float32Array(0) };
  private readonly dcolsBuf = { buf: new Float32Array(0) };

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    expectInteger('inChannels', inChannels, 1);
    expectInteger('outChannels', outChannels, 1);
    expectInteger('kernelSize', kernelSize, 1);
    const stride = options.stride ?? 1, padding = options.padding ?? 0, bias = options.bias ?? true;
    expectInteger('stride', stride, 1);
    expectInteger('padding', padding, 0);
    expectBoolean('bias', bias);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    this.weight = this.registerParameter('weight', [outChannels, inChannels, kernelSize, kernelSize]);
    this.bias = bias ? this.registerParameter('bias', [outChannels]) : null;
    torchDefaultInit(this.weight.data, this.bias?.data ?? null, options.rng ?? new Rng(0), inChannels * kernelSize * kernelSize);
  }

  forward(x: Tensor): Tensor {
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding;
    const ok = x.rank === 4 && x.dim(1) === C;
    this.expectInput(ok, `[N, ${C}, H, W]`, x);
    const [N, , H, W] = x.shape as [number, number, number, number];
    const Ho = windowOut(H, k, s, pad), Wo = windowOut(W, k, s, pad);
    this.expectInput(Ho >= 1 && Wo >= 1, `[N, ${C}, H, W] with H + 2·${pad} >= ${k} and W + 2·${pad} >= ${k}`, x);
    const K = C * k * k, P = Ho * Wo, Co = this.outChannels;
    const y = scratch(this.yBuf, [N, Co, Ho, Wo]);
    const cols = scratch(this.colsBuf, [N, K, P]).data;
    const yd = y.data, xd = x.data;
    for (let n = 0; n < N; n++) {
      const cn = cols.subarray(n * K * P, (n + 1) * K * P);
      colWalk(xd, n * C * H * W, C, H, W, k, s, pad, Ho, Wo, cn, true);
      const yn = yd.subarray(n * Co * P, (n + 1) * Co * P);
      if (this.bias) {
        const b = this.bias.data;
        for (let o = 0; o < Co; o++) yn.fill(b[o]!, o * P, (o + 1) * P);
      }
      gemmF32(this.weight.data, cn, Co, P, K, { beta: this.bias ? 1 : 0, out: yn });
    }
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    const x = this.x!;
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding, Co = this.outChannels;
    const [N, , H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = dy.shape as [number, number, number, number];
    const K = C * k * k, P = Ho * Wo;
    const cols = this.colsBuf.buf, g = dy.data;
    const dx = needInputGrad ? scratch(this.dxBuf, x.shape) : null;
    const dcols = needInputGrad ? scratch(this.dcolsBuf, [K, P]).data : null;
    if (dx) dx.data.fill(0);
    for (let n = 0; n < N; n++) {
      const cn = cols.subarray(n * K * P, (n + 1) * K * P);
      const gn = g.subarray(n * Co * P, (n + 1) * Co * P);
      const w = this.weight;
      gemmF32(gn, cn, Co, K, P, { transB: true, beta: n === 0 ? w.gradBeta() : 1, out: w.grad });
      if (this.bias) {
        const db = this.bias.grad;
        for (let o = 0; o < Co; o++) {
          let acc = 0;
          for (let p = o * P, e = p + P; p < e; p++) acc += gn[p]!;
          db[o] = db[o]! + acc;
        }
      }
      if (dx && dcols) {
        gemmF32(this.weight.data, gn, K, P, Co, { transA: true, out: dcols });
        colWalk(dx.data, n * C * H * W, C, H, W, k, s, pad, Ho, Wo, dcols, false);
      }
    }
    return dx ?? NO_GRAD;
  }

  config(): ModuleConfig {
    return {
      type: 'Conv2d', inChannels: this.inChannels, outChannels: this.outChannels, kernelSize: this.kernelSize,
      stride: this.stride, padding: this.padding, bias: this.bias !== null,
    };
  }
}

/**
 * The im2col index walk shared by both directions: `toCols` copies x[n] into cols (0 where the window is outside the
 * image); otherwise cols are added back into x[n] (col2im, the adjoint). For each (c, i, j, oh) row segment the
 * columns ow whose input iw = ow·s − pad + j lies inside [0, W) form one range [lo, hi), walked without a branch.
 */
function colWalk(
  x: Float32Array, x0: number, C: number, H: number, W: number, k: number, s: number, pad: number,
  Ho: number, Wo: number, cols: Float32Array, toCols: boolean,
): void {
  let row = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++, row++) {
        const lo = Math.min(Wo, Math.max(0, Math.ceil((pad - j) / s)));
        const hi = Math.max(lo, Math.min(Wo, Math.floor((W - 1 + pad - j) / s) + 1));
        const shift = j - pad;
        for (let oh = 0, o = row * Ho * Wo; oh < Ho; oh++, o += Wo) {
          const ih = oh * s - pad + i;
          if (ih < 0 || ih >= H) {
            if (toCols) cols.fill(0, o, o + Wo);
            continue;
          }
          const base = x0 + (c * H + ih) * W + shift;
          if (toCols) {
            if (lo > 0) cols.fill(0, o, o + lo);
            for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[base + ow * s]!;
            if (hi < Wo) cols.fill(0, o + hi, o + Wo);
          } else {
            for (let ow = lo; ow < hi; ow++) x[base + ow * s] = x[base + ow * s]! + cols[o + ow]!;
          }
        }
      }
    }
  }
}
