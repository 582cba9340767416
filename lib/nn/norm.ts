/**
 * Normalization layers (PyTorch semantics).
 *
 * BatchNorm1d ([N, C] or [N, C, L]) and BatchNorm2d ([N, C, H, W]) normalize each channel c over its M = N·L
 * values. Training: μ, σ² (biased) of the batch, x̂ = (x − μ)/√(σ² + eps), y = γ·x̂ + β, and the running stats move
 * by `momentum`: r_μ ← (1 − m)·r_μ + m·μ, r_σ² ← (1 − m)·r_σ² + m·σ²·M/(M − 1) (unbiased). Eval: the running
 * stats replace the batch ones. Backward (training):
 *   dγ += Σ dy·x̂, dβ += Σ dy, dx = (γ/√(σ² + eps))·(dy − mean(dy) − x̂·mean(dy·x̂));
 * (eval) dx = dy·γ/√(r_σ² + eps). Channel sums are accumulated in float64.
 *
 * LayerNorm(D) normalizes each row over its last dimension D (biased variance), y = γ·x̂ + β with γ, β [D];
 * dx = (1/σ)·(dxh − mean(dxh) − x̂·mean(dxh·x̂)), dxh = dy·γ.
 */
import { DistiqRangeError } from '../errors';
import { scratch, Tensor } from '../tensor/tensor';
import { expectBoolean, expectFinite, expectInteger } from '../validate';
import { Module, NO_GRAD, type ModuleConfig, type Parameter } from './module';

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
}

abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private readonly xhatBuf = { buf: new Float32Array(0) };
  private readonly invStd: Float64Array;
  private usedBatchStats = false;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    expectInteger('numFeatures', numFeatures, 1);
    const eps = options.eps ?? 1e-5, momentum = options.momentum ?? 0.1, affine = options.affine ?? true;
    expectFinite('eps', eps, { min: 0, exclusiveMin: true });
    expectFinite('momentum', momentum, { min: 0, max: 1 });
    expectBoolean('affine', affine);
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.weight = affine ? this.registerParameter('weight', [numFeatures]) : null;
    this.bias = affine ? this.registerParameter('bias', [numFeatures]) : null;
    this.weight?.data.fill(1);
    this.runningMean = this.registerBuffer('running_mean', Tensor.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', Tensor.full([numFeatures], 1));
    this.invStd = new Float64Array(numFeatures);
  }

  /** [N, C, L] view of the input, after the subclass's rank check. */
  protected abstract geometry(x: Tensor): [number, number, number];

  forward(x: Tensor): Tensor {
    const [N, C, L] = this.geometry(x);
    const M = N * L;
    const y = scratch(this.yBuf, x.shape);
    const xhat = scratch(this.xhatBuf, x.shape).data;
    const xd = x.data, yd = y.data;
    const batch = this.training;
    if (batch && M < 2) {
      throw new DistiqRangeError(
        `${this.label()} needs more than 1 value per channel in training mode, received shape [${x.shape.join(', ')}]`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    const rm = this.runningMean.data, rv = this.runningVar.data, mom = this.momentum;
    for (let c = 0; c < C; c++) {
      let mean: number, inv: number;
      if (batch) {
        let s = 0;
        for (let n = 0; n < N; n++) for (let i = (n * C + c) * L, e = i + L; i < e; i++) s += xd[i]!;
        mean = s / M;
        let v = 0;
        for (let n = 0; n < N; n++) {
          for (let i = (n * C + c) * L, e = i + L; i < e; i++) {
            const d = xd[i]! - mean;
            v += d * d;
          }
        }
        const varB = v / M;
        inv = 1 / Math.sqrt(varB + this.eps);
        rm[c] = (1 - mom) * rm[c]! + mom * mean;
        rv[c] = (1 - mom) * rv[c]! + mom * (v / (M - 1));
      } else {
        mean = rm[c]!;
        inv = 1 / Math.sqrt(rv[c]! + this.eps);
      }
      this.invStd[c] = inv;
      const g = this.weight ? this.weight.data[c]! : 1, b = this.bias ? this.bias.data[c]! : 0;
      for (let n = 0; n < N; n++) {
        for (let i = (n * C + c) * L, e = i + L; i < e; i++) {
          const h = (xd[i]! - mean) * inv;
          xhat[i] = h;
          yd[i] = g * h + b;
        }
      }
    }
    this.usedBatchStats = batch;
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    const [N, C, L] = this.geometry(this.x!);
    const M = N * L;
    const xhat = this.xhatBuf.buf, g = dy.data;
    const dx = needInputGrad ? scratch(this.dxBuf, dy.shape).data : null;
    for (let c = 0; c < C; c++) {
      let sdy = 0, sdyx = 0;
      for (let n = 0; n < N; n++) {
        for (let i = (n * C + c) * L, e = i + L; i < e; i++) {
          sdy += g[i]!;
          sdyx += g[i]! * xhat[i]!;
        }
      }
      if (this.weight && this.bias) {
        this.weight.grad[c] = this.weight.grad[c]! + sdyx;
        this.bias.grad[c] = this.bias.grad[c]! + sdy;
      }
      if (!dx) continue;
      const k = (this.weight ? this.weight.data[c]! : 1) * this.invStd[c]!;
      if (this.usedBatchStats) {
        const mdy = sdy / M, mdyx = sdyx / M;
        for (let n = 0; n < N; n++) {
          for (let i = (n * C + c) * L, e = i + L; i < e; i++) dx[i] = k * (g[i]! - mdy - xhat[i]! * mdyx);
        }
      } else {
        for (let n = 0; n < N; n++) for (let i = (n * C + c) * L, e = i + L; i < e; i++) dx[i] = k * g[i]!;
      }
    }
    return dx ? new Tensor(dx, dy.shape) : NO_GRAD;
  }

  config(): ModuleConfig {
    return { type: this.constructor.name, numFeatures: this.numFeatures, eps: this.eps, momentum: this.momentum, affine: this.weight !== null };
  }
}

export class BatchNorm1d extends BatchNorm {
  protected geometry(x: Tensor): [number, number, number] {
    const C = this.numFeatures;
    this.expectInput((x.rank === 2 || x.rank === 3) && x.dim(1) === C, `[N, ${C}] or [N, ${C}, L]`, x);
    return [x.dim(0), C, x.rank === 3 ? x.dim(2) : 1];
  }
}

export class BatchNorm2d extends BatchNorm {
  protected geometry(x: Tensor): [number, number, number] {
    const C = this.numFeatures;
    this.expectInput(x.rank === 4 && x.dim(1) === C, `[N, ${C}, H, W]`, x);
    return [x.dim(0), C, x.dim(2) * x.dim(3)];
  }
}

export interface LayerNormOptions {
  eps?: number;
  affine?: boolean;
}

export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  readonly weight: Parameter | null;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private readonly xhatBuf = { buf: new Float32Array(0) };
  private invStd = new Float64Array(0);

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    expectInteger('normalizedShape', normalizedShape, 1);
    const eps = options.eps ?? 1e-5, affine = options.affine ?? true;
    expectFinite('eps', eps, { min: 0, exclusiveMin: true });
    expectBoolean('affine', affine);
    this.normalizedShape = normalizedShape;
    this.eps = eps;
    this.weight = affine ? this.registerParameter('weight', [normalizedShape]) : null;
    this.bias = affine ? this.registerParameter('bias', [normalizedShape]) : null;
    this.weight?.data.fill(1);
  }

  forward(x: Tensor): Tensor {
    const D = this.normalizedShape;
    this.expectInput(x.rank >= 1 && x.dim(-1) === D, `[*, ${D}]`, x);
    const rows = x.size / D;
    const y = scratch(this.yBuf, x.shape);
    const xhat = scratch(this.xhatBuf, x.shape).data;
    if (this.invStd.length < rows) this.invStd = new Float64Array(rows);
    const xd = x.data, yd = y.data, w = this.weight?.data, b = this.bias?.data;
    for (let r = 0; r < rows; r++) {
      const o = r * D;
      let s = 0;
      for (let i = 0; i < D; i++) s += xd[o + i]!;
      const mean = s / D;
      let v = 0;
      for (let i = 0; i < D; i++) {
        const d = xd[o + i]! - mean;
        v += d * d;
      }
      const inv = 1 / Math.sqrt(v / D + this.eps);
      this.invStd[r] = inv;
      for (let i = 0; i < D; i++) {
        const h = (xd[o + i]! - mean) * inv;
        xhat[o + i] = h;
        yd[o + i] = w && b ? w[i]! * h + b[i]! : h;
      }
    }
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    const D = this.normalizedShape;
    const rows = dy.size / D;
    const xhat = this.xhatBuf.buf, g = dy.data, w = this.weight?.data;
    const dx = needInputGrad ? scratch(this.dxBuf, dy.shape).data : null;
    const wg = this.weight?.grad, bg = this.bias?.grad;
    for (let r = 0; r < rows; r++) {
      const o = r * D;
      let s1 = 0, s2 = 0;
      for (let i = 0; i < D; i++) {
        const gi = g[o + i]!, h = xhat[o + i]!;
        if (wg && bg) {
          wg[i] = wg[i]! + gi * h;
          bg[i] = bg[i]! + gi;
        }
        const dh = w ? gi * w[i]! : gi;
        s1 += dh;
        s2 += dh * h;
      }
      if (!dx) continue;
      const m1 = s1 / D, m2 = s2 / D, inv = this.invStd[r]!;
      for (let i = 0; i < D; i++) {
        const dh = w ? g[o + i]! * w[i]! : g[o + i]!;
        dx[o + i] = inv * (dh - m1 - xhat[o + i]! * m2);
      }
    }
    return dx ? new Tensor(dx, dy.shape) : NO_GRAD;
  }

  config(): ModuleConfig {
    return { type: 'LayerNorm', normalizedShape: this.normalizedShape, eps: this.eps, affine: this.weight !== null };
  }
}
