/**
 * MaxPool2d and AvgPool2d on NCHW: window `kernelSize`², `stride` (default kernelSize), zero `padding`
 * (max pooling pads with −∞; average pooling counts the padded zeros, PyTorch's count_include_pad = true).
 * Ho = ⌊(H + 2·pad − k)/stride⌋ + 1. Max pooling routes each output's gradient to the first maximum of its window
 * (row-major order), which it records in forward.
 */
import { DistiqRangeError } from '../errors';
import { scratch, type Tensor } from '../tensor/tensor';
import { expectInteger } from '../validate';
import { windowOut } from './conv2d';
import { Module, NO_GRAD, type ModuleConfig } from './module';

abstract class Pool2d extends Module {
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  protected x: Tensor | null = null;
  protected y: Tensor | null = null;
  protected readonly yBuf = { buf: new Float32Array(0) };
  protected readonly dxBuf = { buf: new Float32Array(0) };

  constructor(kernelSize: number, stride?: number, padding = 0) {
    super();
    expectInteger('kernelSize', kernelSize, 1);
    const st = stride ?? kernelSize;
    expectInteger('stride', st, 1);
    expectInteger('padding', padding, 0);
    if (2 * padding > kernelSize) throw new DistiqRangeError(`The "padding" argument must be <= kernelSize/2 (${kernelSize / 2}). Received ${padding}`);
    this.kernelSize = kernelSize;
    this.stride = st;
    this.padding = padding;
  }

  protected outShape(x: Tensor): [number, number, number, number, number, number] {
    const k = this.kernelSize;
    this.expectInput(x.rank === 4, '[N, C, H, W]', x);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const Ho = windowOut(H, k, this.stride, this.padding), Wo = windowOut(W, k, this.stride, this.padding);
    this.expectInput(Ho >= 1 && Wo >= 1, `[N, C, H, W] with H, W + 2·${this.padding} >= ${k}`, x);
    return [N, C, H, W, Ho, Wo];
  }

  config(): ModuleConfig {
    return { type: this.constructor.name, kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
  }
}

export class MaxPool2d extends Pool2d {
  private argmax = new Int32Array(0);

  forward(x: Tensor): Tensor {
    const [N, C, H, W, Ho, Wo] = this.outShape(x);
    const k = this.kernelSize, s = this.stride, pad = this.padding;
    const y = scratch(this.yBuf, [N, C, Ho, Wo]);
    if (this.argmax.length < y.size) this.argmax = new Int32Array(y.size);
    const xd = x.data, yd = y.data, am = this.argmax;
    if (pad === 0 && k === 2) {
      maxPool2(xd, yd, am, N * C, H, W, Ho, Wo, s);
      this.x = x;
      this.y = y;
      return y;
    }
    maxPoolWindows(xd, yd, am, N * C, H, W, Ho, Wo, k, s, pad);
    this.x = x;
    this.y = y;
    return y;
  }

  /**
   * For a layer that applies this pooling's backward itself (Sequential's Conv2d → ReLU → MaxPool2d fusion): checks
   * `dy` against the last output and returns the last input and, per output element, the flat index of its maximum in
   * that input (the element its gradient goes to).
   */
  gradRoutes(dy: Tensor): { input: Tensor; argmax: Int32Array } {
    this.expectGrad(dy, this.y);
    return { input: this.x!, argmax: this.argmax };
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    if (!needInputGrad) return NO_GRAD;
    const dx = scratch(this.dxBuf, this.x!.shape);
    const d = dx.data, g = dy.data, am = this.argmax;
    d.fill(0);
    for (let o = 0, n = g.length; o < n; o++) {
      const at = am[o]!;
      d[at] = d[at]! + g[o]!;
    }
    return dx;
  }
}

/**
 * The general max-pooling window walk over `planes` row-major H×W planes (MaxPool2d's forward, and the int8 runtime's
 * pooling of codes, lib/quant/runtime/qmaxpool.ts): output o of a plane takes the first maximum (row-major) of its
 * window clipped to the image — never empty, since padding <= kernelSize / 2 — and `am[o]`, when given, its flat
 * index in `xd`.
 */
export function maxPoolWindows(
  xd: Float32Array | Int8Array | Uint8Array, yd: Float32Array | Int8Array | Uint8Array, am: Int32Array | null,
  planes: number, H: number, W: number, Ho: number, Wo: number, k: number, s: number, pad: number,
): void {
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const p0 = plane * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      const i0 = Math.max(0, oh * s - pad), i1 = Math.min(H, oh * s - pad + k);
      for (let ow = 0; ow < Wo; ow++, o++) {
        const j0 = Math.max(0, ow * s - pad), j1 = Math.min(W, ow * s - pad + k);
        let at = p0 + i0 * W + j0, best = xd[at]!;
        for (let ih = i0; ih < i1; ih++) {
          for (let iw = j0, idx = p0 + ih * W + j0; iw < j1; iw++, idx++) {
            const v = xd[idx]!;
            if (v > best) { best = v; at = idx; }
          }
        }
        yd[o] = best;
        if (am !== null) am[o] = at;
      }
    }
  }
}

/** 2×2 max pooling without padding (every window inside the image): same results and argmax as the general loop. */
function maxPool2(
  xd: Float32Array, yd: Float32Array, am: Int32Array, planes: number, H: number, W: number, Ho: number, Wo: number, s: number,
): void {
  let o = 0;
  for (let plane = 0; plane < planes; plane++) {
    const p0 = plane * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      let a = p0 + oh * s * W;
      for (let ow = 0; ow < Wo; ow++, o++, a += s) {
        // Row-major window order; a later element wins only when strictly greater (the first maximum). Branch-free
        // index selection (the comparisons are data-dependent and mispredict).
        let at = a;
        at += +(xd[a + 1]! > xd[at]!) * (a + 1 - at);
        at += +(xd[a + W]! > xd[at]!) * (a + W - at);
        at += +(xd[a + W + 1]! > xd[at]!) * (a + W + 1 - at);
        yd[o] = xd[at]!;
        am[o] = at;
      }
    }
  }
}

export class AvgPool2d extends Pool2d {
  forward(x: Tensor): Tensor {
    const [N, C, H, W, Ho, Wo] = this.outShape(x);
    const k = this.kernelSize, s = this.stride, pad = this.padding;
    const y = scratch(this.yBuf, [N, C, Ho, Wo]);
    const xd = x.data, yd = y.data, inv = 1 / (k * k);
    let o = 0;
    for (let plane = 0; plane < N * C; plane++) {
      const p0 = plane * H * W;
      for (let oh = 0; oh < Ho; oh++) {
        const i0 = Math.max(0, oh * s - pad), i1 = Math.min(H, oh * s - pad + k);
        for (let ow = 0; ow < Wo; ow++, o++) {
          const j0 = Math.max(0, ow * s - pad), j1 = Math.min(W, ow * s - pad + k);
          let acc = 0;
          for (let ih = i0; ih < i1; ih++) for (let iw = j0; iw < j1; iw++) acc += xd[p0 + ih * W + iw]!;
          yd[o] = acc * inv;
        }
      }
    }
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    if (!needInputGrad) return NO_GRAD;
    const x = this.x!;
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = dy.shape as [number, number, number, number];
    const k = this.kernelSize, s = this.stride, pad = this.padding;
    const dx = scratch(this.dxBuf, x.shape);
    const d = dx.data, g = dy.data, inv = 1 / (k * k);
    d.fill(0);
    let o = 0;
    for (let plane = 0; plane < N * C; plane++) {
      const p0 = plane * H * W;
      for (let oh = 0; oh < Ho; oh++) {
        const i0 = Math.max(0, oh * s - pad), i1 = Math.min(H, oh * s - pad + k);
        for (let ow = 0; ow < Wo; ow++, o++) {
          const j0 = Math.max(0, ow * s - pad), j1 = Math.min(W, ow * s - pad + k);
          const v = g[o]! * inv;
          for (let ih = i0; ih < i1; ih++) for (let iw = j0; iw < j1; iw++) d[p0 + ih * W + iw] = d[p0 + ih * W + iw]! + v;
        }
      }
    }
    return dx;
  }
}
