/**
 * PercentileObserver: clips the tails. The range of a slot is [Q(1 − p/100), Q(p/100)], where Q is the quantile of
 * the slot's streaming histogram (lib/quant/observers/histogram.ts) with linear interpolation inside a bin, clamped
 * to the exact min/max seen; it is within one bin width (R/binsPerSide) of the exact order statistic.
 */
import { expectFinite } from '../../validate';
import { HistogramObserver, type HistogramObserverOptions } from './histogram-observer';
import type { ObservedRange } from './observer';

export interface PercentileOptions extends HistogramObserverOptions {
  /** In (50, 100]; default 99.99. */
  percentile?: number;
}

export class PercentileObserver extends HistogramObserver {
  readonly percentile: number;

  constructor(opts: PercentileOptions = {}) {
    super(opts);
    const p = opts.percentile ?? 99.99;
    expectFinite('percentile', p, { min: 50, max: 100, exclusiveMin: true });
    this.percentile = p;
  }

  protected computeRange(): ObservedRange {
    const n = this.hists.length, q = this.percentile / 100;
    const min = new Float32Array(n), max = new Float32Array(n);
    for (let c = 0; c < n; c++) {
      const h = this.hists[c]!;
      min[c] = h.quantile(1 - q);
      max[c] = h.quantile(q);
      if (min[c]! > max[c]!) min[c] = max[c]!;
    }
    return { min, max };
  }
}
