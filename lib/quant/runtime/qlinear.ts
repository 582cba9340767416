/**
 * QLinear: a Linear layer on quantized weights. x [..., k] → y [..., n] (every leading dim is a row).
 * - int8 (static / dynamic): input codes (the producer's when it already wrote this layer's input codes, else the
 *   float input quantized with the calibrated or per-batch parameters) × packed int8 W by `gemmS8`, bias and a fused
 *   ReLU in its epilogue; output float32, or the next layer's input codes (`requant`).
 * - int4 weight-only: `gemmS4` on the float input (the kernel quantizes each row to int8 itself), bias fused, ReLU
 *   one pass after.
 */
import { Int8Gemm } from './gemm-core';
import { after, QLayer } from './qlayer';
import type { Value } from './qtensor';

export class QLinear extends QLayer {
  get inFeatures(): number {
    return this.core.k;
  }

  get outFeatures(): number {
    return this.core.n;
  }

  forward(v: Value, async: boolean): Value | Promise<Value> {
    const k = this.core.k, n = this.core.n;
    const shape = v.shape;
    this.expectInput(shape.length >= 1 && shape[shape.length - 1] === k, `[*, ${k}]`, shape);
    const m = shape.length === 0 ? 0 : v.data.length / k;
    const outShape = [...shape.slice(0, -1), n];
    const core = this.core;
    if (core instanceof Int8Gemm) {
      const { a, p } = this.codesOf(v, core);
      const out = this.outBuffer('y', m * n);
      return after(core.run(a, p, m, this.requant, out, async), (y) => this.wrap(y, outShape));
    }
    const out = this.scratch.get('y', Float32Array, m * n);
    return after(core.run(this.floatsOf(v), m, out, async), (y) => this.wrap(y, outShape));
  }
}
