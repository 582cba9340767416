/**
 * QConv2d: a Conv2d (NCHW, square kernel, zero padding) on quantized weights W [Cout, Cin, k, k] stored as
 * [Cout, K], K = Cin·k·k (per-group groups run along K in (c, i, j) order).
 * - int8 (static / dynamic): the whole input quantized once (static parameters, or the batch's for dynamic), im2col
 *   on the codes (padding = the zero point, the code of 0.0), `gemmS8` rows [N·Ho·Wo, K] × Wᵀ with bias + ReLU in the
 *   epilogue (float32 or the next layer's input codes), then NHWC → NCHW.
 * - int4 weight-only: im2col on floats (padding 0), `gemmS4`, NHWC → NCHW.
 */
import { windowOut } from '../../nn/conv2d';
import { Int8Gemm } from './gemm-core';
import { im2col, nhwcToNchw, type ConvGeometry } from './im2col';
import { after, QLayer, type GemmCore } from './qlayer';
import type { Value } from './qtensor';
import type { LayerRecord } from './record';

export class QConv2d extends QLayer {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;

  constructor(record: LayerRecord, core: GemmCore, geo: { inChannels: number; kernelSize: number; stride: number; padding: number }) {
    super(record, core);
    this.inChannels = geo.inChannels;
    this.outChannels = core.n;
    this.kernelSize = geo.kernelSize;
    this.stride = geo.stride;
    this.padding = geo.padding;
  }

  forward(v: Value, async: boolean): Value | Promise<Value> {
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding, Co = this.outChannels;
    const shape = v.shape;
    this.expectInput(shape.length === 4 && shape[1] === C, `[N, ${C}, H, W]`, shape);
    const [N, , H, W] = shape as [number, number, number, number];
    const Ho = windowOut(H, k, s, pad), Wo = windowOut(W, k, s, pad);
    this.expectInput(Ho >= 1 && Wo >= 1, `[N, ${C}, H, W] with H + 2·${pad} >= ${k} and W + 2·${pad} >= ${k}`, shape);
    const g: ConvGeometry = { N, C, H, W, k, stride: s, pad, Ho, Wo };
    const P = Ho * Wo, rows = N * P, K = C * k * k;
    const outShape = [N, Co, Ho, Wo];
    const core = this.core;
    if (core instanceof Int8Gemm) {
      const { a, p } = this.codesOf(v, core);
      const cols = a instanceof Uint8Array ? im2col(a, g, p.zeroPoint, this.scratch.get('cols', Uint8Array, rows * K))
        : im2col(a, g, p.zeroPoint, this.scratch.get('cols8s', Int8Array, rows * K));
      const c = this.outBuffer('c', rows * Co);
      return after(core.run(cols, p, rows, this.requant, c, async), (y) => this.wrap(this.toNchw(y, N, P, Co), outShape));
    }
    const cols = im2col(this.floatsOf(v), g, 0, this.scratch.get('colsf', Float32Array, rows * K));
    const c = this.scratch.get('c', Float32Array, rows * Co);
    return after(core.run(cols, rows, c, async), (y) => this.wrap(this.toNchw(y, N, P, Co), outShape));
  }

  private toNchw(c: Float32Array | Uint8Array | Int8Array, N: number, P: number, Co: number): Float32Array | Uint8Array | Int8Array {
    if (c instanceof Float32Array) return nhwcToNchw(c, N, P, Co, this.scratch.get('y', Float32Array, c.length));
    if (c instanceof Uint8Array) return nhwcToNchw(c, N, P, Co, this.scratch.get('y8', Uint8Array, c.length));
    return nhwcToNchw(c, N, P, Co, this.scratch.get('y8s', Int8Array, c.length));
  }
}
