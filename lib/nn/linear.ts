/**
 * Linear: y = x·Wᵀ + b, W [out, in] (DESIGN §3), x [..., in] → y [..., out] (all leading dims are rows).
 * Every product goes through the native gemmF32:
 * - forward: y ← bias rows, then y = 1·x·Wᵀ + 1·y  (transB, β = 1)
 * - backward: dW += dYᵀ·X (transA, β = 1), db += 1ᵀ·dY (a GEMV with β = 1), dX = dY·W.
 * Default init: PyTorch's (U(±1/√in) for weight and bias), from `options.rng` (default `new Rng(0)`).
 */
import { gemmF32 } from '../ops/gemm-f32';
import { Rng } from '../tensor/random';
import { scratch, Tensor } from '../tensor/tensor';
import { expectBoolean, expectInteger } from '../validate';
import { torchDefaultInit } from './init';
import { Module, NO_GRAD, type ModuleConfig, type Parameter } from './module';

export interface LinearOptions {
  /** Add a bias (default true). */
  bias?: boolean;
  /** Generator for the initial weights (default `new Rng(0)`). */
  rng?: Rng;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private ones = new Float32Array(0);

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    expectInteger('inFeatures', inFeatures, 1);
    expectInteger('outFeatures', outFeatures, 1);
    const bias = options.bias ?? true;
    expectBoolean('bias', bias);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = this.registerParameter('weight', [outFeatures, inFeatures]);
    this.bias = bias ? this.registerParameter('bias', [outFeatures]) : null;
    torchDefaultInit(this.weight.data, this.bias?.data ?? null, options.rng ?? new Rng(0), inFeatures);
  }

  forward(x: Tensor): Tensor {
    return this.run(x, true);
  }

  /**
   * x·Wᵀ without the bias, for a caller that adds the bias itself in a later pass (Sequential's Linear → ReLU → Dropout
   * fusion): round(product + b) there equals the bits of the β = 1 GEMM over bias rows. backward is unchanged.
   */
  forwardDeferBias(x: Tensor): Tensor {
    return this.run(x, false);
  }

  private run(x: Tensor, withBias: boolean): Tensor {
    const inF = this.inFeatures, outF = this.outFeatures;
    this.expectInput(x.rank >= 1 && x.dim(-1) === inF, `[*, ${inF}]`, x);
    const rows = x.size / inF;
    const y = scratch(this.yBuf, [...x.shape.slice(0, -1), outF]);
    const bias = withBias && this.bias !== null;
    if (bias) {
      const b = this.bias!.data, yd = y.data;
      for (let r = 0; r < rows; r++) yd.set(b, r * outF);
    }
    gemmF32(x.data, this.weight.data, rows, outF, inF, { transB: true, beta: bias ? 1 : 0, out: y.data });
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    const x = this.x!;
    const inF = this.inFeatures, outF = this.outFeatures;
    const rows = x.size / inF;
    const w = this.weight;
    gemmF32(dy.data, x.data, outF, inF, rows, { transA: true, beta: w.gradBeta(), out: w.grad });
    if (this.bias) {
      if (this.ones.length < rows) this.ones = new Float32Array(rows).fill(1);
      const b = this.bias;
      gemmF32(this.ones, dy.data, 1, outF, rows, { beta: b.gradBeta(), out: b.grad });
    }
    if (!needInputGrad) return NO_GRAD;
    const dx = scratch(this.dxBuf, x.shape);
    gemmF32(dy.data, this.weight.data, rows, inF, outF, { out: dx.data });
    return dx;
  }

  config(): ModuleConfig {
    return { type: 'Linear', inFeatures: this.inFeatures, outFeatures: this.outFeatures, bias: this.bias !== null };
  }
}
