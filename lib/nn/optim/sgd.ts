/**
 * SGD with momentum, Nesterov and (L2) weight decay, torch.optim.SGD semantics (dampening 0):
 *   g = grad + wd·p;  b = μ·b + g (b = g on the first step);  g = nesterov ? g + μ·b : b;  p = p − lr·g.
 */
import { DistiqRangeError } from '../../errors';
import { expectBoolean, expectFinite } from '../../validate';
import type { Parameter } from '../module';
import { Optimizer } from './optimizer';

export interface SGDOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(params: readonly Parameter[], options: SGDOptions) {
    super(params, options.lr);
    const momentum = options.momentum ?? 0, nesterov = options.nesterov ?? false, wd = options.weightDecay ?? 0;
    expectFinite('momentum', momentum, { min: 0 });
    expectBoolean('nesterov', nesterov);
    expectFinite('weightDecay', wd, { min: 0 });
    if (nesterov && momentum === 0) throw new DistiqRangeError('The "nesterov" option needs momentum > 0');
    this.momentum = momentum;
    this.nesterov = nesterov;
    this.weightDecay = wd;
  }

  step(): void {
    const lr = this.lr, mu = this.momentum, wd = this.weightDecay, nest = this.nesterov;
    const first = this.stepCount === 0;
    this.params.forEach((prm, idx) => {
      const p = prm.data, g = prm.grad, n = p.length;
      if (mu === 0) {
        for (let i = 0; i < n; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
        return;
      }
      const b = this.buffer(idx, 'momentum_buffer');
      for (let i = 0; i < n; i++) {
        const gi = g[i]! + wd * p[i]!;
        const bi = first ? gi : mu * b[i]! + gi;
        b[i] = bi;
        p[i] = p[i]! - lr * (nest ? gi + mu * bi : bi);
      }
    });
    this.stepCount++;
  }

  protected namedBuffers(): [string, Float32Array][] {
    return [...this.state];
  }
}
