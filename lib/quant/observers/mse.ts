/**
 * MseObserver: MSE-optimal clipping for a target scheme. For each slot, candidate ranges [α·min, α·max] with
 * α = k/candidates (k = candidates … 1, i.e. 1.00, 0.99, … 0.01 by default) are scored by the squared error of
 * quantize → dequantize with that range's parameters over the slot's histogram (each non-empty bin represented by
 * its centre, weighted by its count; values beyond the range saturate, which is what the clipping trades against
 * rounding). The largest α with the smallest error wins. Works for any mapping with ranges (linear, log2, nf4).
 */
import { DistiqTypeError } from '../../errors';
import { expectInteger } from '../../validate';
import { QuantScheme, quantScheme, type QuantSchemeSpec } from '../scheme';
import { HistogramObserver, type HistogramObserverOptions } from './histogram-observer';
import type { Histogram } from './histogram';
import type { ObservedRange } from './observer';

export interface MseOptions extends HistogramObserverOptions {
  /** The target scheme (its dtype, symmetry and mapping decide the error). Required. */
  scheme: QuantScheme | QuantSchemeSpec;
  /** Number of clipping ratios tried, in [1, 10000]; default 100. */
  candidates?: number;
}

/** The same scheme with one parameter slot (to score one channel at a time). */
export function perTensorScheme(s: QuantScheme): QuantScheme {
  const { version: _v, axis: _a, groupSize: _g, ...rest } = s.toJSON();
  return new QuantScheme({ ...rest, granularity: 'per-tensor' });
}

/** Σ count·(c − Q(c))² over the non-empty bins for the range [lo, hi]. */
export function histogramSse(scheme: QuantScheme, values: Float32Array, weights: Float64Array, lo: number, hi: number): number {
  const q = scheme.quantize(values, { range: { min: lo, max: hi } });
  const y = scheme.dequantize(q);
  let t = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - y[i]!;
    t += weights[i]! * d * d;
  }
  return t;
}

/** Non-empty bins of a histogram: centres (clamped to the seen min/max) and counts. */
export function occupiedBins(h: Histogram): { values: Float32Array; weights: Float64Array } {
  const centers = h.centers(), vals: number[] = [], ws: number[] = [];
  for (let b = 0; b < centers.length; b++) {
    const n = h.counts[b]!;
    if (n > 0) {
      vals.push(Math.min(Math.max(centers[b]!, h.min), h.max));
      ws.push(n);
    }
  }
  if (h.halfRange === 0 && h.total > 0) {
    vals.push(0);
    ws.push(h.total);
  }
  return { values: Float32Array.from(vals), weights: Float64Array.from(ws) };
}

export class MseObserver extends HistogramObserver {
  readonly scheme: QuantScheme;
  readonly candidates: number;

  constructor(opts: MseOptions) {
    super(opts);
    if (opts?.scheme === undefined) throw new DistiqTypeError('The "scheme" option of MseObserver must be a QuantScheme or a scheme spec. Received undefined');
    this.scheme = quantScheme(opts.scheme);
    this.scheme.paramsFromRange(0, 0); // throws for kmeans (no range)
    const n = opts.candidates ?? 100;
    expectInteger('candidates', n, 1, 10000);
    this.candidates = n;
  }

  /** The clipping ratio chosen per slot (1 = no clipping). */
  ratios(): Float64Array {
    this.expectObserved();
    const one = perTensorScheme(this.scheme);
    return Float64Array.from(this.hists, (h) => {
      const { values, weights } = occupiedBins(h);
      let best = 1, bestErr = Infinity;
      for (let k = this.candidates; k >= 1; k--) {
        const a = k / this.candidates;
        const err = histogramSse(one, values, weights, a * h.min, a * h.max);
        if (err < bestErr) {
          bestErr = err;
          best = a;
        }
      }
      return best;
    });
  }

  protected computeRange(): ObservedRange {
    const r = this.ratios();
    return {
      min: Float32Array.from(this.hists, (h, c) => r[c]! * h.min),
      max: Float32Array.from(this.hists, (h, c) => r[c]! * h.max),
    };
  }
}
