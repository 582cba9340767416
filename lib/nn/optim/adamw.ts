/**
 * Adam and AdamW, torch.optim semantics (amsgrad off). Step t (from 1), per element:
 *   AdamW: p = p·(1 − lr·wd)                 (decoupled decay, before the Adam step)
 *   Adam:  g = g + wd·p                       (L2 decay folded into the gradient)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   p = p − (lr/(1 − β1^t)) · m / (√v/√(1 − β2^t) + eps)
 * One fused native pass per parameter tensor (lib/ops/optim.ts, native/include/distiq/optim.h): the per-step
 * constants are computed in float64 and rounded to float32 once, then every element follows one float32 sequence,
 * bit-identical on every ISA level and thread count (PyTorch also computes in float32; the two agree to rounding).
 */
import { expectFinite } from '../../validate';
import { adamScalars, adamStepUnchecked } from '../../ops/optim';
import type { Parameter } from '../module';
import { Optimizer } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly decoupled: boolean = false;

  constructor(params: readonly Parameter[], options: AdamOptions = {}, defaultWeightDecay = 0) {
    super(params, options.lr ?? 1e-3);
    const [b1, b2] = options.betas ?? [0.9, 0.999];
    const eps = options.eps ?? 1e-8, wd = options.weightDecay ?? defaultWeightDecay;
    expectFinite('betas[0]', b1, { min: 0, max: 1 });
    expectFinite('betas[1]', b2, { min: 0, max: 1 });
    expectFinite('eps', eps, { min: 0 });
    expectFinite('weightDecay', wd, { min: 0 });
    this.beta1 = b1;
    this.beta2 = b2;
    this.eps = eps;
    this.weightDecay = wd;
  }

  step(): void {
    const t = this.stepCount + 1;
    const k = adamScalars({ lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps,
      weightDecay: this.weightDecay, step: t, decoupled: this.decoupled });
    this.params.forEach((prm, i) => {
      // exp_avg / exp_avg_sq: PyTorch's state names.
      adamStepUnchecked(prm.data, prm.grad, this.buffer(i, 'exp_avg'), this.buffer(i, 'exp_avg_sq'), k);
    });
    this.stepCount = t;
  }

  protected namedBuffers(): [string, Float32Array][] {
    return [...this.state];
  }
}

/** AdamW: Adam with decoupled weight decay (default 0.01, as torch.optim.AdamW). */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: readonly Parameter[], options: AdamOptions = {}) {
    super(params, options, 0.01);
  }
}
