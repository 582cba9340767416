/**
 * Observers (lib/quant/observers/*) against straightforward references: min/max and the moving average by loops,
 * percentiles against sorting, the MSE search against a brute-force search over the raw data, the entropy search
 * against a literal transcription of the TensorRT description and on known distributions; the streaming histogram's
 * exact merging; and the bad-input errors (NaN naming the observer and batch, zero batches, channel changes).
 */
import { describe, expect, it } from 'vitest';

import {
  createObserver,
  EntropyObserver,
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  MseObserver,
  PercentileObserver,
} from '../../lib/quant/observers/index';
import { DistiqRangeError } from '../../lib/errors';
import { entropyBins } from '../../lib/quant/observers/entropy';
import { Histogram } from '../../lib/quant/observers/histogram';
import { QuantScheme } from '../../lib/quant/scheme';
import { Tensor } from '../../lib/tensor/tensor';
import { expectError } from '../helpers/expect-error';
import { Rng, seedNote } from '../helpers/rng';

function normalBatch(rng: Rng, n: number, sigma = 1, mean = 0): Float32Array {
  return new Float32Array(n).map(() => mean + sigma * rng.normal());
}

/** Per-channel values of [N, C] data (axis 1). */
function column(x: Float32Array, C: number, c: number): number[] {
  const out: number[] = [];
  for (let i = c; i < x.length; i += C) out.push(x[i]!);
  return out;
}

function sse(scheme: QuantScheme, x: Float32Array, lo: number, hi: number): number {
  const y = scheme.dequantize(scheme.quantize(x, { range: { min: lo, max: hi } }));
  let t = 0;
  for (let i = 0; i < x.length; i++) t += (x[i]! - y[i]!) ** 2;
  return t;
}

describe('MinMax and moving average', () => {
  it('per-tensor and per-channel (axis 1 of [N, C], axis 1 of [N, C, H, W], axis 0) over several batches', () => {
    const rng = new Rng(1);
    const batches = [0, 1, 2].map((b) => normalBatch(rng, 6 * 4, 1 + b));
    const pt = new MinMaxObserver(), pc = new MinMaxObserver({ granularity: 'per-channel' }), p0 = new MinMaxObserver({ granularity: 'per-channel', axis: 0 });
    for (const x of batches) {
      pt.observe(x);
      pc.observe(new Tensor(x, [6, 4]));
      p0.observe(x, [6, 4]);
    }
    const all = batches.flatMap((x) => Array.from(x));
    expect(Array.from(pt.range().min)).toEqual([Math.min(...all)]);
    expect(Array.from(pt.range().max)).toEqual([Math.max(...all)]);
    for (let c = 0; c < 4; c++) {
      const col = batches.flatMap((x) => column(x, 4, c));
      expect(pc.range().min[c]).toBe(Math.min(...col));
      expect(pc.range().max[c]).toBe(Math.max(...col));
    }
    for (let r = 0; r < 6; r++) {
      const row = batches.flatMap((x) => Array.from(x.subarray(r * 4, r * 4 + 4)));
      expect(p0.range().max[r]).toBe(Math.max(...row));
    }
    const img = new MinMaxObserver({ granularity: 'per-channel' });
    const x4 = normalBatch(rng, 2 * 3 * 2 * 2);
    img.observe(x4, [2, 3, 2, 2]);
    for (let c = 0; c < 3; c++) {
      const vals = [0, 1].flatMap((n) => Array.from(x4.subarray((n * 3 + c) * 4, (n * 3 + c) * 4 + 4)));
      expect(img.range().min[c]).toBe(Math.min(...vals));
    }
  });

  it('moving average follows run = m·run + (1 − m)·batch', () => {
    const rng = new Rng(2);
    const obs = new MovingAverageMinMaxObserver({ momentum: 0.8 });
    let lo = 0, hi = 0;
    for (let b = 0; b < 5; b++) {
      const x = normalBatch(rng, 50, b + 1);
      obs.observe(x);
      const bl = Math.min(...x), bh = Math.max(...x);
      lo = b === 0 ? bl : 0.8 * lo + 0.2 * bl;
      hi = b === 0 ? bh : 0.8 * hi + 0.2 * bh;
    }
    expect(obs.range().min[0]).toBe(Math.fround(lo));
    expect(obs.range().max[0]).toBe(Math.fround(hi));
    expect(() => new MovingAverageMinMaxObserver({ momentum: 1 })).toThrow(/"momentum"/);
  });

  it('params(scheme) are the scheme\'s parameters for the range', () => {
    const obs = new MinMaxObserver({ granularity: 'per-channel', axis: -1 }).observe(Float32Array.of(-1, 2, 3, -4), [2, 2]);
    const s = new QuantScheme({ dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 1 });
    expect(obs.params(s)).toEqual(s.paramsFromRange(obs.range().min, obs.range().max));
    expect(() => obs.params(new QuantScheme({ dtype: 'int8', granularity: 'per-channel', axis: 0 }))).toThrow(/"scheme\.axis".*-1/);
    expect(() => obs.params(new QuantScheme({ dtype: 'int8' }))).toThrow(/"scheme\.granularity".*"per-channel"/);
    expect(() => new MinMaxObserver().observe(Float32Array.of(1)).params(new QuantScheme({ dtype: 'int4', groupSize: 32 }))).toThrow(/per-group is for weights/);
  });
});

describe('streaming histogram', () => {
  it('growing by an integer factor merges bins exactly', () => {
    const rng = new Rng(3);
    const h = new Histogram(64);
    const all: number[] = [];
    for (const sigma of [1, 2.5, 7, 7.2]) {
      const x = normalBatch(rng, 500, sigma);
      let lo = Infinity, hi = -Infinity;
      for (const v of x) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        all.push(v);
      }
      h.extend(lo, hi, x.length);
      h.bin(x, 0, x.length, 1);
    }
    const ref = new Float64Array(128);
    const w = h.binWidth;
    let nearEdge = 0; // values within float rounding of a bin edge may land on either side
    for (const v of all) {
      const b = Math.min(127, Math.max(0, Math.floor(v / w) + 64));
      ref[b] = ref[b]! + 1;
      const f = v / w - Math.floor(v / w);
      if (f < 1e-9 || f > 1 - 1e-9) nearEdge++;
    }
    let diff = 0;
    for (let b = 0; b < 128; b++) diff += Math.abs(h.counts[b]! - ref[b]!);
    expect(diff, seedNote()).toBeLessThanOrEqual(2 * nearEdge);
    expect(nearEdge).toBeLessThan(5);
    expect(h.total).toBe(2000);
  });
});

describe('percentile', () => {
  it('matches the sorted order statistic within the bin width (several batches, growing range)', () => {
    const rng = new Rng(4);
    for (const p of [99.99, 99.9, 99, 90]) {
      const obs = new PercentileObserver({ percentile: p });
      const all: number[] = [];
      for (let b = 0; b < 4; b++) {
        const x = normalBatch(rng, 5000, 1 + b, 0.3);
        x[b] = 40 * (b + 1) * (b % 2 ? -1 : 1); // outliers that grow the histogram
        obs.observe(x);
        all.push(...x);
      }
      all.sort((a, b) => a - b);
      const n = all.length, q = p / 100;
      const hiRef = all[Math.ceil(q * n) - 1]!, loRef = all[Math.ceil((1 - q) * n) - 1]!;
      const w = obs.histograms()[0]!.binWidth;
      const r = obs.range();
      expect(Math.abs(r.max[0]! - hiRef), `p=${p} ${seedNote()}`).toBeLessThanOrEqual(2 * w);
      expect(Math.abs(r.min[0]! - loRef), `p=${p} ${seedNote()}`).toBeLessThanOrEqual(2 * w);
      expect(r.max[0]!).toBeLessThan(40);
    }
  });

  it('per-channel, and 100 gives the exact extremes', () => {
    const rng = new Rng(5);
    const x = normalBatch(rng, 300 * 3);
    const obs = new PercentileObserver({ granularity: 'per-channel', percentile: 100 }).observe(x, [300, 3]);
    for (let c = 0; c < 3; c++) {
      expect(obs.range().max[c]).toBe(Math.max(...column(x, 3, c)));
      expect(obs.range().min[c]).toBe(Math.min(...column(x, 3, c)));
    }
  });
});

describe('MSE clipping', () => {
  it('chooses a range whose exact error is within 2 % of a brute-force search on the raw data', () => {
    const rng = new Rng(6);
    for (const spec of [{ dtype: 'int8', symmetric: true }, { dtype: 'int4', symmetric: true }, { dtype: 'uint8' }, { dtype: 'uint4' }, { mapping: 'nf4', granularity: 'per-tensor' }, { mapping: 'log2', dtype: 'int4' }] as const) {
      const scheme = new QuantScheme(spec);
      const x = normalBatch(rng, 3000, 1, spec.dtype === 'uint8' ? 1 : 0);
      for (let i = 0; i < 6; i++) x[i * 100] = (i % 2 ? -1 : 1) * (8 + i);
      const obs = new MseObserver({ scheme, candidates: 100 }).observe(x.subarray(0, 1500)).observe(x.subarray(1500));
      const lo = Math.min(...x), hi = Math.max(...x);
      let best = Infinity;
      for (let k = 100; k >= 1; k--) best = Math.min(best, sse(scheme, x, (k / 100) * lo, (k / 100) * hi));
      const r = obs.range();
      const chosen = sse(scheme, x, r.min[0]!, r.max[0]!);
      expect(chosen, `${JSON.stringify(spec)} ${seedNote()}`).toBeLessThanOrEqual(best * 1.02);
      if (scheme.mapping === 'linear' && scheme.bits === 4) {
        expect(chosen, JSON.stringify(spec)).toBeLessThan(sse(scheme, x, lo, hi)); // clipping the outliers helps
        expect(obs.ratios()[0]).toBeLessThan(1);
      }
    }
  });

  it('per-channel: each channel searched on its own', () => {
    const rng = new Rng(7);
    const x = new Float32Array(4000 * 2);
    for (let i = 0; i < 4000; i++) {
      x[2 * i] = rng.normal();
      x[2 * i + 1] = rng.uniform(-1, 1);
    }
    x[0] = 30;
    const obs = new MseObserver({ scheme: { dtype: 'int4', symmetric: true, granularity: 'per-channel', axis: 1 }, granularity: 'per-channel' }).observe(x, [4000, 2]);
    const r = obs.ratios();
    expect(r[0]).toBeLessThan(0.5); // the outlier channel clips
    expect(r[1]).toBeGreaterThan(0.8); // the uniform channel barely does
  });
});

/** The TensorRT description transcribed literally: explicit P and Q arrays per candidate. */
function refEntropyBins(H: number[], L: number): number {
  const nb = H.length;
  let best = nb, bestKl = Infinity;
  for (let i = L; i <= nb; i++) {
    const P = H.slice(0, i);
    P[i - 1] = P[i - 1]! + H.slice(i).reduce((a, b) => a + b, 0);
    const Q = new Array<number>(i).fill(0);
    for (let j = 0; j < L; j++) {
      const start = Math.floor((j * i) / L), end = j === L - 1 ? i : Math.floor(((j + 1) * i) / L);
      const chunk = H.slice(start, end);
      const total = chunk.reduce((a, b) => a + b, 0);
      const nz = P.slice(start, end).filter((v) => v !== 0).length;
      for (let k = start; k < end; k++) Q[k] = P[k] !== 0 ? total / nz : 0;
    }
    const sp = P.reduce((a, b) => a + b, 0), sq = Q.reduce((a, b) => a + b, 0);
    if (sq === 0) continue;
    let kl = 0;
    for (let k = 0; k < i; k++) {
      if (P[k] === 0) continue;
      const q = Q[k]! / sq > 0 ? Q[k]! / sq : 1e-4;
      kl += (P[k]! / sp) * Math.log(P[k]! / sp / q);
    }
    if (kl < bestKl - 1e-12) {
      bestKl = kl;
      best = i;
    }
  }
  return best;
}

describe('entropy (KL) calibration', () => {
  it('entropyBins equals a literal transcription of the algorithm on random histograms', () => {
    const rng = new Rng(8);
    for (let t = 0; t < 300; t++) {
      const nb = rng.int(16, 96), L = rng.int(2, 12);
      const H = Array.from({ length: nb }, (_, k) => (rng.next() < 0.2 ? 0 : Math.floor(1000 * Math.exp(-k / rng.int(3, 30)) * rng.next())));
      expect(entropyBins(Float64Array.from(H), L), `nb=${nb} L=${L} ${seedNote()}`).toBe(refEntropyBins(H, L));
    }
  });

  it('clips the outliers of a Gaussian with a few far values; keeps the range of a uniform distribution', () => {
    const rng = new Rng(9);
    const g = new EntropyObserver();
    for (let b = 0; b < 4; b++) {
      const x = normalBatch(rng, 20000);
      x[b] = 60 * (b % 2 ? -1 : 1);
      g.observe(x);
    }
    const t = g.thresholds()[0]!;
    expect(t).toBeGreaterThan(2.5);
    expect(t).toBeLessThan(12);
    expect(g.range().max[0]).toBe(Math.fround(t));
    const u = new EntropyObserver().observe(new Float32Array(50000).map(() => rng.uniform(-1, 1)));
    expect(u.thresholds()[0]!).toBeGreaterThan(0.95);
    // int4: 8 levels of |x|, and the search still clips a far outlier
    const gauss = normalBatch(rng, 40000);
    gauss[0] = 60;
    const g4 = new EntropyObserver({ scheme: { dtype: 'int4', symmetric: true } }).observe(gauss);
    expect(g4.levelsFor(-1)).toBe(8);
    expect(g4.thresholds()[0]!).toBeGreaterThan(1);
    expect(g4.thresholds()[0]!).toBeLessThan(12);
  });
});

describe('bad input', () => {
  for (const kind of ['minmax', 'moving-average', 'percentile', 'mse', 'entropy'] as const) {
    it(`${kind}: NaN names the observer and the batch; zero batches; channel change`, () => {
      const mk = (granularity: 'per-tensor' | 'per-channel' = 'per-tensor') =>
        createObserver(kind, { name: `obs-${kind}`, granularity, scheme: { dtype: 'int8', symmetric: true, granularity: granularity === 'per-channel' ? 'per-channel' : 'per-tensor', ...(granularity === 'per-channel' ? { axis: 1 } : {}) } });
      const o = mk();
      o.observe(Float32Array.of(1, 2)).observe(Float32Array.of(3));
      expectError(() => o.observe(Float32Array.of(0, 1, Number.NaN)), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE',
        new RegExp(`obs-${kind}: calibration batch 2 has a non-finite value \\(x\\[2\\] = NaN\\)`));
      expect(() => mk().observe(Float32Array.of(Infinity))).toThrow(/non-finite/);
      expect(() => mk().range()).toThrow(new RegExp(`obs-${kind}: no calibration batches were observed`));
      const pc = mk('per-channel').observe(new Float32Array(6), [2, 3]);
      expect(() => pc.observe(new Float32Array(8), [2, 4])).toThrow(/batch 1 has 4 channels on axis 1, earlier batches had 3/);
      expect(() => pc.observe(new Float32Array(6))).toThrow(/"shape" argument is required/);
      expect(() => pc.observe(new Float32Array(5), [2, 3])).toThrow(/x\.length to equal 6/);
      pc.reset();
      expect(pc.batches).toBe(0);
      expect(() => pc.range()).toThrow(/no calibration batches/);
    });
  }
  it('options are checked', () => {
    expect(() => createObserver('median' as 'minmax')).toThrow(/"observer" argument must be one of/);
    expect(() => new MseObserver({} as never)).toThrow(/"scheme" option of MseObserver/);
    expect(() => new MseObserver({ scheme: { mapping: 'kmeans' } })).toThrow(/kmeans/);
    expect(() => new PercentileObserver({ percentile: 40 })).toThrow(/"percentile"/);
    expect(() => new MinMaxObserver({ axis: 0 })).toThrow(/"axis".*per-channel/);
    expect(() => new PercentileObserver({ binsPerSide: 3 })).toThrow(/"binsPerSide"/);
  });
});
