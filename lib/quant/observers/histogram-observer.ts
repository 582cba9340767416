/**
 * The base of the observers that need the distribution, not just the extremes (Percentile, MSE, Entropy): one
 * streaming Histogram per slot (lib/quant/observers/histogram.ts), `binsPerSide` bins on each side of 0
 * (default 2048, so |x| has the 2048 bins of TensorRT's entropy calibration).
 */
import { expectInteger } from '../../validate';
import { Histogram } from './histogram';
import { Observer, viewMinMax, type BatchView, type ObserverOptions } from './observer';

export interface HistogramObserverOptions extends ObserverOptions {
  /** Bins on each side of 0, in [16, 65536]; default 2048. */
  binsPerSide?: number;
}

export abstract class HistogramObserver extends Observer {
  readonly binsPerSide: number;
  protected hists: Histogram[] = [];

  constructor(opts: HistogramObserverOptions = {}) {
    super(opts);
    const bins = opts.binsPerSide ?? 2048;
    expectInteger('binsPerSide', bins, 16, 65536);
    this.binsPerSide = bins;
  }

  /** The histogram of each slot (read-only use). */
  histograms(): readonly Histogram[] {
    return this.hists;
  }

  protected accumulate(v: BatchView): void {
    if (this.hists.length === 0) this.hists = Array.from({ length: v.channels }, () => new Histogram(this.binsPerSide));
    const { min, max } = viewMinMax(v);
    const { data, outer, channels, inner } = v;
    const perSlot = outer * inner;
    for (let c = 0; c < channels; c++) {
      const h = this.hists[c]!;
      if (!h.extend(min[c]!, max[c]!, perSlot)) continue;
      if (inner === 1) h.bin(data, c, outer, channels);
      else for (let o = 0; o < outer; o++) h.bin(data, (o * channels + c) * inner, inner, 1);
    }
  }

  protected hasData(): boolean {
    return this.hists.length > 0 && this.hists[0]!.total > 0;
  }

  protected clear(): void {
    this.hists = [];
  }
}
