/**
 * EntropyObserver: TensorRT-style calibration (S. Migacz, "8-bit Inference with TensorRT", GTC 2017), written from
 * the algorithm's description. The threshold T of a slot minimises the KL divergence between the distribution of
 * |x| and its quantized version:
 *
 *   H = histogram of |x| in `bins` (2048) bins of width w (the observer's histogram folded at 0)
 *   for i = L … bins (L = quantization levels, 128 for int8):
 *     P = H[0 .. i), with the outliers Σ H[i ..] added to P[i − 1]
 *     Q = H[0 .. i) merged into L groups (group j = bins ⌊j·i/L⌋ … ⌊(j+1)·i/L⌋ − 1), each group's total spread
 *         evenly over the group's bins where P is non-zero (bins where P is zero stay zero in Q)
 *     divergence[i] = KL(P/ΣP ‖ Q/ΣQ)   (a bin with P > 0 and Q = 0 gets Q = 10⁻⁴ after normalising)
 *   m = argmin divergence (the smallest i on ties), T = min((m + ½)·w, max|x|)
 *
 * The range is then [max(min, −T), min(max, T)]. L comes from the target scheme: qmax + 1 for a symmetric signed
 * scheme (128 for int8, 8 for int4); for asymmetric schemes, the number of codes when the slot is non-negative
 * (256 / 16) and half of it otherwise. Cost: O(bins·L) per slot with prefix sums (see entropyBins).
 */
import { quantScheme, type QuantScheme, type QuantSchemeSpec } from '../scheme';
import { HistogramObserver, type HistogramObserverOptions } from './histogram-observer';
import type { ObservedRange } from './observer';

export interface EntropyOptions extends HistogramObserverOptions {
  /** The target scheme (decides the number of levels); default int8 symmetric linear. */
  scheme?: QuantScheme | QuantSchemeSpec;
}

const Q_FLOOR = 1e-4;

const xlogx = (v: number): number => (v > 0 ? v * Math.log(v) : 0);

/**
 * The number of bins m (in [levels, H.length]) that minimises the divergence; H = |x| histogram.
 *
 * With N = ΣH, S_j = Σ_{k∈g_j} P_k and q_j the normalised Q value of group j's non-zero bins,
 *   KL = Σ_k (P_k/N)·ln((P_k/N)/q_j) = (Σ_k P_k ln P_k − N ln N − Σ_j S_j ln q_j) / N,
 * and P differs from H only in bin i − 1, so prefix sums of H, H ln H and of the non-zero count make each candidate
 * O(levels) instead of O(i): O(bins·levels) per slot.
 */
export function entropyBins(H: Float64Array, levels: number): number {
  const nb = H.length;
  if (nb <= levels) return nb;
  const C = new Float64Array(nb + 1), A = new Float64Array(nb + 1), Z = new Int32Array(nb + 1);
  for (let k = 0; k < nb; k++) {
    C[k + 1] = C[k]! + H[k]!;
    A[k + 1] = A[k]! + xlogx(H[k]!);
    Z[k + 1] = Z[k]! + (H[k] !== 0 ? 1 : 0);
  }
  const N = C[nb]!;
  if (N === 0) return nb;
  const NlnN = xlogx(N);
  let best = nb, bestKl = Infinity;
  for (let i = levels; i <= nb; i++) {
    const outliers = N - C[i]!;
    const sumQ = N - outliers;
    if (sumQ === 0) continue;
    const last = H[i - 1]! + outliers; // P[i − 1]
    let t = A[i - 1]! + xlogx(last) - NlnN;
    for (let j = 0; j < levels; j++) {
      const start = Math.floor((j * i) / levels), end = j === levels - 1 ? i : Math.floor(((j + 1) * i) / levels);
      const total = C[end]! - C[start]!;
      let nonzero = Z[end]! - Z[start]!, S = total;
      if (end === i) {
        S += outliers;
        if (H[i - 1] === 0 && last !== 0) nonzero++;
      }
      if (nonzero === 0) continue;
      const qBin = total / nonzero / sumQ;
      t -= S * Math.log(qBin > 0 ? qBin : Q_FLOOR);
    }
    const kl = t / N;
    if (kl < bestKl) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

export class EntropyObserver extends HistogramObserver {
  readonly scheme: QuantScheme;

  constructor(opts: EntropyOptions = {}) {
    super(opts);
    this.scheme = quantScheme(opts.scheme ?? { dtype: 'int8', symmetric: true });
    this.scheme.paramsFromRange(0, 0); // throws for kmeans (no range)
  }

  /** Quantization levels of |x| for a slot (see the module doc). */
  levelsFor(min: number): number {
    const s = this.scheme;
    if (s.mapping === 'nf4') return 8;
    const [qmin, qmax] = s.codeRange;
    if (s.symmetric) return qmax + 1;
    const codes = qmax - qmin + 1;
    return min >= 0 ? codes : Math.ceil(codes / 2);
  }

  /** The clipping threshold T per slot. */
  thresholds(): Float64Array {
    this.expectObserved();
    return Float64Array.from(this.hists, (h) => {
      const absmax = Math.max(Math.abs(h.min), Math.abs(h.max));
      if (h.halfRange === 0) return 0;
      const m = entropyBins(h.absCounts(), Math.min(this.levelsFor(h.min), this.binsPerSide));
      return Math.min((m + 0.5) * h.binWidth, absmax);
    });
  }

  protected computeRange(): ObservedRange {
    const t = this.thresholds();
    return {
      min: Float32Array.from(this.hists, (h, c) => Math.max(h.min, -t[c]!)),
      max: Float32Array.from(this.hists, (h, c) => Math.min(h.max, t[c]!)),
    };
  }
}
