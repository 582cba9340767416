/**
 * Optimizer base: a list of parameters, a learning rate `lr` (changed by schedulers), a step counter and named
 * per-parameter state buffers (momentum, Adam moments) that checkpoints save and restore.
 */
import { DistiqRangeError, DistiqTypeError } from '../../errors';
import { describe, expectFinite } from '../../validate';
import { Parameter } from '../module';

export interface OptimizerState {
  /** Optimizer class name, checked on load. */
  type: string;
  lr: number;
  step: number;
  /** Per-parameter buffers by name `<param index>.<buffer>` (e.g. "3.exp_avg"). */
  buffers: Map<string, Float32Array>;
}

export abstract class Optimizer {
  readonly params: readonly Parameter[];
  lr: number;
  /** Completed steps. */
  stepCount = 0;

  constructor(params: readonly Parameter[], lr: number) {
    if (!Array.isArray(params) || params.some((p) => !(p instanceof Parameter))) {
      throw new DistiqTypeError(`The "params" argument must be an array of Parameters (model.parameters()). Received ${describe(params)}`);
    }
    expectFinite('lr', lr, { min: 0 });
    this.params = Object.freeze(params.slice());
    this.lr = lr;
  }

  /** Applies one update from the accumulated gradients. */
  abstract step(): void;

  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** The per-parameter buffers of this optimizer (created lazily by subclasses). */
  protected abstract namedBuffers(): [string, Float32Array][];

  /** The buffer `name` of parameter i, created (zeros) when missing. */
  protected readonly state = new Map<string, Float32Array>();

  protected buffer(i: number, name: string): Float32Array {
    const key = `${i}.${name}`;
    let b = this.state.get(key);
    if (b === undefined) {
      b = new Float32Array(this.params[i]!.size);
      this.state.set(key, b);
    }
    return b;
  }

  stateDict(): OptimizerState {
    const buffers = new Map<string, Float32Array>();
    for (const [n, b] of this.namedBuffers()) buffers.set(n, b.slice());
    return { type: this.constructor.name, lr: this.lr, step: this.stepCount, buffers };
  }

  loadStateDict(s: OptimizerState): void {
    if (s.type !== this.constructor.name) {
      throw new DistiqRangeError(`Cannot load ${s.type} optimizer state into ${this.constructor.name}`);
    }
    for (const [name, b] of s.buffers) {
      const i = Number.parseInt(name, 10);
      const p = this.params[i];
      if (p === undefined || !/^\d+\.\w+$/.test(name)) throw new DistiqRangeError(`Optimizer state "${name}" names no parameter (the optimizer has ${this.params.length})`);
      if (b.length !== p.size) {
        throw new DistiqRangeError(`Optimizer state "${name}" has ${b.length} elements, parameter ${i} has ${p.size}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
    }
    this.state.clear();
    for (const [name, b] of s.buffers) this.state.set(name, b.slice());
    this.lr = s.lr;
    this.stepCount = s.step;
  }
}

/**
 * Scales all gradients so their global L2 norm is at most `maxNorm` (PyTorch's clip_grad_norm_: factor
 * maxNorm/(norm + 1e-6) when the norm exceeds maxNorm). Returns the norm before clipping (sum of squares in float64).
 */
export function clipGradNorm(params: readonly Parameter[], maxNorm: number): number {
  expectFinite('maxNorm', maxNorm, { min: 0, exclusiveMin: true });
  let ss = 0;
  for (const p of params) {
    const g = p.grad;
    for (let i = 0; i < g.length; i++) ss += g[i]! * g[i]!;
  }
  const norm = Math.sqrt(ss);
  if (!Number.isFinite(norm)) throw new DistiqRangeError(`clipGradNorm: the gradient norm is ${norm}`, 'ERR_DISTIQ_NON_FINITE');
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const p of params) {
      const g = p.grad;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
    }
  }
  return norm;
}
