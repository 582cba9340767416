/**
 * Adam and AdamW, torch.optim semantics (amsgrad off). Step t (from 1), per element:
 *   AdamW: p = p·(1 − lr·wd)                 (decoupled decay, before the Adam step)
 *   Adam:  g = g + wd·p                       (L2 decay folded into the gradient)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   p = p − (lr/(1 − β1^t)) · m / (√v/√(1 − β2^t) + eps)
 * Arithmetic in float64 per element, stored as float32 (PyTorch computes in float32, so values agree to rounding,
 * not bit for bit). Candidate native op: this loop (one fused pass over p, g, m, v).
 */
import { expectFinite } from '../../validate';
import type { Parameter } from '../module';
import { Optimizer } from './optimizer';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

function adamStep(
  p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, b1: number, b2: number, eps: number,
  t: number, decoupled: number, l2: number,
): void {
  const bc1 = 1 - Math.pow(b1, t), invBc2 = 1 / Math.sqrt(1 - Math.pow(b2, t));
  const stepSize = lr / bc1, decay = 1 - decoupled, c1 = 1 - b1, c2 = 1 - b2;
  for (let i = 0, n = p.length; i < n; i++) {
    let pi = p[i]! * decay;
    const gi = g[i]! + l2 * pi;
    const mi = b1 * m[i]! + c1 * gi;
    const vi = b2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    pi -= (stepSize * mi) / (Math.sqrt(vi) * invBc2 + eps);
    p[i] = pi;
  }
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
    const decoupled = this.decoupled ? this.lr * this.weightDecay : 0;
    const l2 = this.decoupled ? 0 : this.weightDecay;
    this.params.forEach((prm, i) => {
      // exp_avg / exp_avg_sq: PyTorch's state names.
      adamStep(prm.data, prm.grad, this.buffer(i, 'exp_avg'), this.buffer(i, 'exp_avg_sq'), this.lr, this.beta1, this.beta2,
        this.eps, t, decoupled, l2);
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
