/**
 * MinMaxObserver: the smallest and largest value seen over all batches, per slot.
 * MovingAverageMinMaxObserver: per batch min/max, averaged over batches with `momentum`:
 *   run = momentum·run + (1 − momentum)·batch     (the first batch sets run)
 * (PyTorch's MovingAverageMinMaxObserver calls 1 − momentum its averaging_constant.)
 */
import { expectFinite } from '../../validate';
import { Observer, viewMinMax, type BatchView, type ObservedRange, type ObserverOptions } from './observer';

export class MinMaxObserver extends Observer {
  protected min: Float64Array | null = null;
  protected max: Float64Array | null = null;

  protected accumulate(v: BatchView): void {
    const b = viewMinMax(v);
    if (this.min === null || this.max === null) {
      this.min = Float64Array.from(b.min);
      this.max = Float64Array.from(b.max);
    } else {
      this.merge(this.min, this.max, b.min, b.max);
    }
  }

  /** Folds a later batch's per-slot min/max into the running ones. */
  protected merge(min: Float64Array, max: Float64Array, bmin: Float32Array, bmax: Float32Array): void {
    for (let c = 0; c < min.length; c++) {
      if (bmin[c]! < min[c]!) min[c] = bmin[c]!;
      if (bmax[c]! > max[c]!) max[c] = bmax[c]!;
    }
  }

  protected computeRange(): ObservedRange {
    return { min: Float32Array.from(this.min!), max: Float32Array.from(this.max!) };
  }

  protected hasData(): boolean {
    return this.min !== null;
  }

  protected clear(): void {
    this.min = this.max = null;
  }
}

export interface MovingAverageOptions extends ObserverOptions {
  /** Weight of the running value, in [0, 1); default 0.9. */
  momentum?: number;
}

export class MovingAverageMinMaxObserver extends MinMaxObserver {
  readonly momentum: number;

  constructor(opts: MovingAverageOptions = {}) {
    super(opts);
    const m = opts.momentum ?? 0.9;
    expectFinite('momentum', m, { min: 0 });
    if (!(m < 1)) expectFinite('momentum', m, { max: 0.999999 });
    this.momentum = m;
  }

  protected override merge(min: Float64Array, max: Float64Array, bmin: Float32Array, bmax: Float32Array): void {
    const m = this.momentum;
    for (let c = 0; c < min.length; c++) {
      min[c] = m * min[c]! + (1 - m) * bmin[c]!;
      max[c] = m * max[c]! + (1 - m) * bmax[c]!;
    }
  }
}
