/**
 * Learning-rate schedules: a factor function of the step count t (0-based: the factor for the update after t
 * completed scheduler steps), and `LRScheduler`, which sets `optimizer.lr = baseLr · factor(t)`.
 *
 * - `stepLR(stepSize, gamma = 0.1)`: γ^⌊t/stepSize⌋ (torch StepLR).
 * - `cosineLR(total, minFactor = 0)`: minFactor + (1 − minFactor)·½(1 + cos(π·min(t, total)/total))
 *   (torch CosineAnnealingLR's closed form with η_min = minFactor·baseLr; per-step when stepped every batch).
 * - `linearWarmup(warmup, after = () => 1)`: (t + 1)/warmup for t < warmup, then after(t − warmup).
 * Call `scheduler.step()` once per optimizer step (or per epoch, for epoch schedules); its counter is saved in
 * checkpoints.
 */
import { DistiqTypeError } from '../../errors';
import { describe, expectFinite, expectInteger } from '../../validate';
import type { Optimizer } from './optimizer';

export type LRFactor = (t: number) => number;

export function stepLR(stepSize: number, gamma = 0.1): LRFactor {
  expectInteger('stepSize', stepSize, 1);
  expectFinite('gamma', gamma, { min: 0 });
  return (t) => Math.pow(gamma, Math.floor(t / stepSize));
}

export function cosineLR(total: number, minFactor = 0): LRFactor {
  expectInteger('total', total, 1);
  expectFinite('minFactor', minFactor, { min: 0, max: 1 });
  return (t) => minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos((Math.PI * Math.min(t, total)) / total));
}

export function linearWarmup(warmup: number, after: LRFactor = () => 1): LRFactor {
  expectInteger('warmup', warmup, 1);
  return (t) => (t < warmup ? (t + 1) / warmup : after(t - warmup));
}

export class LRScheduler {
  readonly optimizer: Optimizer;
  readonly baseLr: number;
  readonly factor: LRFactor;
  /** Completed scheduler steps. */
  t = 0;

  /** Sets the optimizer's lr to baseLr·factor(0) right away. `baseLr` defaults to the optimizer's current lr. */
  constructor(optimizer: Optimizer, factor: LRFactor, baseLr: number = optimizer.lr) {
    if (typeof factor !== 'function') throw new DistiqTypeError(`The "factor" argument must be a function. Received ${describe(factor)}`);
    expectFinite('baseLr', baseLr, { min: 0 });
    this.optimizer = optimizer;
    this.factor = factor;
    this.baseLr = baseLr;
    this.apply();
  }

  step(): void {
    this.t++;
    this.apply();
  }

  /** Jumps to step t (used when resuming). */
  setStep(t: number): void {
    expectInteger('t', t, 0);
    this.t = t;
    this.apply();
  }

  private apply(): void {
    this.optimizer.lr = this.baseLr * this.factor(this.t);
  }
}
