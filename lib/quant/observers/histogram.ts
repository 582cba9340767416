/**
 * A streaming histogram of one slot's values over [−R, R]: `binsPerSide` bins of width w = R/binsPerSide on each
 * side of 0 (bin edges k·w). The first non-zero batch sets R to its largest |x| (zeros seen before are kept and
 * added to the bin [0, w) then). When a later batch exceeds R, R grows by the smallest integer factor f that covers
 * it and every f consecutive bins (counted from 0 outwards) merge into one: the edges stay multiples of the old
 * ones, so merging is exact and the result depends only on the data and its order, never on timing.
 *
 * The exact min and max are tracked too, so quantiles can be clamped to what was seen.
 */
export class Histogram {
  readonly binsPerSide: number;
  /** counts[binsPerSide + k] counts [k·w, (k+1)·w) for k ≥ 0, counts[binsPerSide − 1 − k] counts [−(k+1)·w, −k·w). */
  readonly counts: Float64Array;
  /** Half-range R (0 until a non-zero value arrives). */
  halfRange = 0;
  total = 0;
  min = Infinity;
  max = -Infinity;
  private pendingZeros = 0;

  constructor(binsPerSide: number) {
    this.binsPerSide = binsPerSide;
    this.counts = new Float64Array(2 * binsPerSide);
  }

  get binWidth(): number {
    return this.halfRange / this.binsPerSide;
  }

  /**
   * Announces n values with this min and max (finite) before they are binned: sets or grows the range. Returns
   * false when every value so far is 0 (then the values are only counted; `bin` must not be called).
   */
  extend(min: number, max: number, n: number): boolean {
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    this.total += n;
    const absmax = Math.max(Math.abs(min), Math.abs(max));
    if (this.halfRange === 0) {
      if (absmax === 0) {
        this.pendingZeros += n;
        return false;
      }
      this.halfRange = absmax;
      this.counts[this.binsPerSide] = this.counts[this.binsPerSide]! + this.pendingZeros;
      this.pendingZeros = 0;
    } else if (absmax > this.halfRange) {
      this.grow(Math.ceil(absmax / this.halfRange));
    }
    return true;
  }

  /** Bins data[start + j·stride] for j < n (announced by `extend`). */
  bin(data: Float32Array, start: number, n: number, stride: number): void {
    const B = this.binsPerSide, top = 2 * B - 1, inv = B / this.halfRange, c = this.counts;
    for (let j = 0, e = start; j < n; j++, e += stride) {
      let b = Math.floor(data[e]! * inv) + B;
      if (b > top) b = top;
      else if (b < 0) b = 0;
      c[b] = c[b]! + 1;
    }
  }

  /** Multiplies R by the integer f, merging bins f by f from 0 outwards. */
  private grow(f: number): void {
    if (f <= 1) return;
    const B = this.binsPerSide, c = this.counts;
    const merged = new Float64Array(2 * B);
    for (let k = 0; k < B; k++) {
      const t = Math.floor(k / f);
      merged[B + t] = merged[B + t]! + c[B + k]!;
      merged[B - 1 - t] = merged[B - 1 - t]! + c[B - 1 - k]!;
    }
    c.set(merged);
    this.halfRange *= f;
  }

  /** Bin counts of |x|: abs[k] counts |x| in [k·w, (k+1)·w). */
  absCounts(): Float64Array {
    const B = this.binsPerSide, out = new Float64Array(B);
    for (let k = 0; k < B; k++) out[k] = this.counts[B + k]! + this.counts[B - 1 - k]!;
    return out;
  }

  /** The value below which a fraction q of the samples lies (linear inside the bin), clamped to [min, max]. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    if (this.halfRange === 0) return 0;
    const target = q * this.total, c = this.counts, w = this.binWidth, B = this.binsPerSide;
    let cum = 0;
    for (let b = 0; b < 2 * B; b++) {
      const n = c[b]!;
      if (n > 0 && cum + n >= target) {
        const v = (b - B + (target - cum) / n) * w;
        return Math.min(Math.max(v, this.min), this.max);
      }
      cum += n;
    }
    return this.max;
  }

  /** Centre of every bin (index b → (b − B + ½)·w). */
  centers(): Float64Array {
    const B = this.binsPerSide, w = this.binWidth;
    return Float64Array.from({ length: 2 * B }, (_, b) => (b - B + 0.5) * w);
  }
}
