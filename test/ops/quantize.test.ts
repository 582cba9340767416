/**
 * Quantization behaviour: the `ref` level against the independent TS reference (test/helpers/ref-quant.ts), every
 * other ISA level against `ref` bit for bit (codes, dequantized values, fake-quant values + STE mask, min/max), for
 * all four dtypes × per-tensor / per-channel (first, middle, last, negative axis) / per-group (short last group) ×
 * symmetric / asymmetric, with misaligned inputs and guarded outputs; extremes (±Inf, huge, ties, denormals);
 * property tests (fast-check) for the round-trip bounds and int4 packing; async = sync; affineParams formulas.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  affineParams,
  dequantize,
  dequantizeAsync,
  fakeQuantize,
  getNumThreads,
  minMax,
  packInt4,
  quantGeometry,
  quantize,
  quantizeAsync,
  quantizedByteLength,
  QUANT_RANGE,
  setNumThreads,
  unpackInt4,
  type QuantDtype,
  type QuantLayout,
} from '../../lib/index';
import { guarded, misaligned } from '../helpers/guard';
import { levels, simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import {
  paramIndex,
  refDequantize,
  refFakeQuantize,
  refMinMax,
  refQuantizeValues,
  refStore,
  type RefGeometry,
} from '../helpers/ref-quant';
import { Rng, baseSeed, seedNote } from '../helpers/rng';

const DTYPES: readonly QuantDtype[] = ['int8', 'uint8', 'int4', 'uint4'];
const LENGTHS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129, 1000];

function layouts(n: number): QuantLayout[] {
  const out: QuantLayout[] = [
    { shape: [n] },
    { shape: [3, n], granularity: 'per-tensor' },
    { shape: [n, 5], granularity: 'per-channel', axis: 0 },
    { shape: [3, n], granularity: 'per-channel', axis: 1 },
    { shape: [2, n, 3], granularity: 'per-channel', axis: -2 },
  ];
  for (const g of [1, 2, 3, 7, 32, 33]) {
    if (g <= n) out.push({ shape: [2, n], granularity: 'per-group', groupSize: g });
  }
  return out;
}

function refGeometry(layout: QuantLayout): RefGeometry & { params: number; count: number } {
  const g = quantGeometry(layout);
  return { outer: g.outer, channels: g.channels, inner: g.inner, group: g.group, rowLen: g.rowLen, params: g.params, count: g.count };
}

interface Problem {
  layout: QuantLayout;
  dtype: QuantDtype;
  x: Float32Array;
  scale: Float32Array;
  zeroPoint: Int32Array | undefined;
  qmin: number;
  qmax: number;
  label: string;
}

/** Inputs mixing in-range values, saturation, exact .5 ties, and the extremes the contract names (no NaN). */
function makeProblem(rng: Rng, layout: QuantLayout, dtype: QuantDtype, asym: boolean): Problem {
  const g = refGeometry(layout);
  const [lo, hi] = QUANT_RANGE[dtype];
  const signed = lo < 0;
  const qmin = !asym && signed ? lo + 1 : lo;
  const qmax = hi;
  const scale = new Float32Array(g.params);
  for (let p = 0; p < g.params; p++) scale[p] = rng.next() < 0.3 ? 2 ** rng.int(-10, 3) : rng.uniform(1e-3, 2);
  const zeroPoint = asym || !signed ? new Int32Array(g.params) : undefined;
  if (zeroPoint && asym) for (let p = 0; p < g.params; p++) zeroPoint[p] = rng.int(qmin, qmax);
  const span = hi - lo;
  const specials = [Infinity, -Infinity, 3e38, -3e38, 1e-40, -1e-40, -0, 0, 1.4e-45, 3.4028234663852886e38];
  const x = new Float32Array(g.count);
  for (let e = 0; e < g.count; e++) {
    const s = scale[paramIndex(g, e)]!;
    const r = rng.int(0, 15);
    if (r === 0) x[e] = rng.pick(specials);
    else if (r <= 3) x[e] = (rng.int(-span, span) + 0.5) * s;
    else if (r <= 5) x[e] = rng.uniform(-2, 2) * span * s;
    else x[e] = rng.uniform(-0.6, 0.6) * span * s;
  }
  const label = `${dtype} ${asym ? 'asym' : 'sym'} ${JSON.stringify(layout)} ${seedNote()}`;
  return { layout, dtype, x, scale, zeroPoint, qmin, qmax, label };
}

function params(p: Problem) {
  return { ...p.layout, dtype: p.dtype, scale: p.scale, zeroPoint: p.zeroPoint, qmin: p.qmin, qmax: p.qmax };
}

interface Outputs {
  q: Int8Array | Uint8Array;
  x: Float32Array;
  y: Float32Array;
  mask: Uint8Array;
  min: Float32Array;
  max: Float32Array;
}

/** Runs every op on misaligned inputs into guarded outputs and checks the guards. */
function runAll(p: Problem): Outputs {
  const g = refGeometry(p.layout);
  const bytes = quantizedByteLength(p.dtype, p.layout);
  const x = misaligned(Float32Array, p.x);
  const qg = p.dtype === 'int8' ? guarded(Int8Array, bytes, -91) : guarded(Uint8Array, bytes, 0xa5);
  const q = quantize(x, { ...params(p), out: qg.view });
  qg.checkGuards();
  const dg = guarded(Float32Array, g.count, Number.NaN);
  dequantize(q, { ...params(p), out: dg.view });
  dg.checkGuards();
  const yg = guarded(Float32Array, g.count, Number.NaN);
  const mg = guarded(Uint8Array, g.count, 0xa5);
  fakeQuantize(x, { ...params(p), out: yg.view, maskOut: mg.view });
  yg.checkGuards();
  mg.checkGuards();
  const finite = p.x.map((v) => (Number.isFinite(v) ? v : 1.5));
  const { min, max } = minMax(misaligned(Float32Array, finite), p.layout);
  return { q, x: dg.view, y: yg.view, mask: mg.view, min, max };
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

function* problems(seed: number): Generator<Problem> {
  const rng = new Rng(seed);
  for (const n of LENGTHS) {
    for (const layout of layouts(n)) {
      for (const dtype of DTYPES) {
        for (const asym of [false, true]) yield makeProblem(rng, layout, dtype, asym);
      }
    }
  }
}

describe('quantize: ref level vs the TS reference (exact)', () => {
  it('codes, dequantized values, fake-quant values + mask, min/max', () => {
    withIsa('ref', () => {
      for (const p of problems(1)) {
        const g = refGeometry(p.layout);
        const out = runAll(p);
        const values = refQuantizeValues(p.x, g, p.scale, p.zeroPoint ?? null, p.qmin, p.qmax);
        const want = refStore(values, p.dtype, g.rowLen);
        expect(Array.from(out.q), `quantize ${p.label}`).toEqual(Array.from(want));
        const deq = refDequantize(want, p.dtype, g.count, g, p.scale, p.zeroPoint ?? null);
        expect(bits(out.x), `dequantize ${p.label}`).toEqual(bits(deq));
        const fq = refFakeQuantize(p.x, g, p.scale, p.zeroPoint ?? null, p.qmin, p.qmax);
        expect(bits(out.y), `fake-quant ${p.label}`).toEqual(bits(fq.y));
        expect(Array.from(out.mask), `mask ${p.label}`).toEqual(Array.from(fq.mask));
        const finite = p.x.map((v) => (Number.isFinite(v) ? v : 1.5));
        const mm = refMinMax(finite, g, g.params);
        expect(bits(out.min), `min ${p.label}`).toEqual(bits(mm.min));
        expect(bits(out.max), `max ${p.label}`).toEqual(bits(mm.max));
      }
    });
  });

  it('known answers: ties to even, zero point, saturation, int4 nibbles and pad', () => {
    withIsa('ref', () => {
      const x = new Float32Array([2.5, -2.5, 3.5, 0.5, -0.5, 1000, -1000, Infinity, -Infinity]);
      expect(Array.from(quantize(x, { shape: [9], dtype: 'int8', scale: 1 }))).toEqual([2, -2, 4, 0, 0, 127, -128, 127, -128]);
      const u = quantize(new Float32Array([0, 1.25, -5, -6, 200]), { shape: [5], dtype: 'uint8', scale: 0.5, zeroPoint: 10 });
      expect(Array.from(u)).toEqual([10, 12, 0, 0, 255]);
      const q4 = quantize(new Float32Array([1, -1, 9, -9, 0, 2.5]), { shape: [2, 3], dtype: 'int4', scale: 1 });
      expect(Array.from(q4)).toEqual([0xf1, 0x07, 0x08, 0x02]);
    });
  });
});

describe.each(simdLevels)('quantize: level %s vs ref (bit-exact)', (level) => {
  it('every dtype × granularity × sym/asym × length', () => {
    for (const p of problems(2)) {
      const want = withIsa('ref', () => runAll(p));
      const got = withIsa(level, () => runAll(p));
      expect(Array.from(got.q), `quantize ${level} ${p.label}`).toEqual(Array.from(want.q));
      expect(bits(got.x), `dequantize ${level} ${p.label}`).toEqual(bits(want.x));
      expect(bits(got.y), `fake-quant ${level} ${p.label}`).toEqual(bits(want.y));
      expect(Array.from(got.mask), `mask ${level} ${p.label}`).toEqual(Array.from(want.mask));
      expect(bits(got.min), `min ${level} ${p.label}`).toEqual(bits(want.min));
      expect(bits(got.max), `max ${level} ${p.label}`).toEqual(bits(want.max));
    }
  });
});

describe('quantize: extremes and NaN policy on every level', () => {
  it.each(levels)('%s: ±Inf and huge values saturate, denormals round to the zero point, NaN throws', (level) => {
    withIsa(level, () => {
      for (const dtype of DTYPES) {
        const [lo, hi] = QUANT_RANGE[dtype];
        const z = lo < 0 ? 0 : 3;
        const x = new Float32Array(40).fill(1e-40);
        x[0] = Infinity;
        x[17] = -Infinity;
        x[33] = 3.4e38;
        x[39] = -3.4e38;
        const q = quantize(x, { shape: [40], dtype, scale: 0.25, zeroPoint: z });
        const y = dequantize(q, { shape: [40], dtype, scale: 0.25, zeroPoint: z });
        expect(y[0]).toBe((hi - z) * 0.25);
        expect(y[17]).toBe((lo - z) * 0.25);
        expect(y[33]).toBe((hi - z) * 0.25);
        expect(y[39]).toBe((lo - z) * 0.25);
        expect(y[5]).toBe(0);
        for (const pos of [0, 16, 39]) {
          const bad = x.slice();
          bad[pos] = Number.NaN;
          expect(() => quantize(bad, { shape: [40], dtype, scale: 0.25, zeroPoint: z }), `${level} ${dtype}`).toThrow(
            expect.objectContaining({ code: 'ERR_DISTIQ_NON_FINITE' }),
          );
          expect(() => fakeQuantize(bad, { shape: [40], dtype, scale: 0.25, zeroPoint: z })).toThrow(
            expect.objectContaining({ code: 'ERR_DISTIQ_NON_FINITE' }),
          );
        }
      }
    });
  });
});

describe('quantize: properties (fast-check)', () => {
  const fcOpts = { numRuns: 150, seed: baseSeed | 0 };

  it('|dequantize(quantize(x)) − x| ≤ s/2 inside the representable range', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DTYPES),
        fc.double({ min: 1e-4, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 70 }),
        (dtype, scaleIn, zRaw, us) => {
          const [lo, hi] = QUANT_RANGE[dtype];
          const s = Math.fround(scaleIn);
          const z = lo + (zRaw % (hi - lo + 1));
          // representable range [(qmin − z)·s, (qmax − z)·s]
          const x = Float32Array.from(us, (u) => ((lo - z) + u * (hi - lo)) * s);
          const opts = { shape: [x.length], dtype, scale: s, zeroPoint: z };
          const back = dequantize(quantize(x, opts), opts);
          for (let i = 0; i < x.length; i++) {
            // s/2 from rounding, plus one float32 rounding each of x/s and (q − z)·s (relative 2^-24).
            const tol = s / 2 + (Math.abs(x[i]!) + Math.abs(back[i]!)) * 2 ** -23;
            if (!(Math.abs(back[i]! - x[i]!) <= tol)) return false;
          }
          return true;
        },
      ),
      fcOpts,
    );
  });

  it('quantize(dequantize(q)) == q for every code', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DTYPES),
        fc.double({ min: 1e-6, max: 1e3, noNaN: true }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 4 }),
        (dtype, scaleIn, zRaw, rowLen, rows) => {
          const [lo, hi] = QUANT_RANGE[dtype];
          const z = lo + (zRaw % (hi - lo + 1));
          const values = Array.from({ length: rowLen * rows }, (_, i) => lo + ((i * 7 + zRaw) % (hi - lo + 1)));
          const q = refStore(values, dtype, rowLen);
          const opts = { shape: [rows, rowLen], dtype, scale: Math.fround(scaleIn), zeroPoint: z };
          const again = quantize(dequantize(q, opts), opts);
          return Array.from(again).every((b, i) => b === q[i]);
        },
      ),
      fcOpts,
    );
  });

  it('packInt4 / unpackInt4 round trip and agree with quantize storage', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 5 }), fc.integer(), (signed, rowLen, rows, salt) => {
        const n = rowLen * rows;
        const values = signed
          ? Int8Array.from({ length: n }, (_, i) => (((i * 31 + salt) % 16) + 16) % 16 - 8)
          : Uint8Array.from({ length: n }, (_, i) => (((i * 31 + salt) % 16) + 16) % 16);
        const packed = packInt4(values, rowLen);
        const back = unpackInt4(packed, n, rowLen, signed);
        if (!(back instanceof (signed ? Int8Array : Uint8Array))) return false;
        if (!Array.from(back).every((v, i) => v === values[i])) return false;
        // quantizing the same integers with scale 1 gives the same bytes
        const q = quantize(Float32Array.from(values), { shape: [rows, rowLen], dtype: signed ? 'int4' : 'uint4', scale: 1 });
        return Array.from(q).every((b, i) => b === packed[i]);
      }),
      fcOpts,
    );
  });

  it('per-group with a short last group matches the TS reference on every level', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom(...DTYPES),
        fc.integer(),
        (rows, cols, gIn, dtype, seed) => {
          const groupSize = Math.min(gIn, cols);
          const rng = new Rng(seed >>> 0);
          const layout: QuantLayout = { shape: [rows, cols], granularity: 'per-group', groupSize };
          const p = makeProblem(rng, layout, dtype, (seed & 1) === 1);
          const g = refGeometry(layout);
          const want = refStore(refQuantizeValues(p.x, g, p.scale, p.zeroPoint ?? null, p.qmin, p.qmax), dtype, g.rowLen);
          return levels.every((level) => {
            const q = withIsa(level, () => quantize(p.x, params(p)));
            return Array.from(q).every((b, i) => b === want[i]);
          });
        },
      ),
      { ...fcOpts, numRuns: 60 },
    );
  });
});

describe('quantize: async = sync, threads, affineParams', () => {
  it.each(levels)('%s: quantizeAsync / dequantizeAsync equal the sync forms', async (level) => {
    const rng = new Rng(9);
    for (const dtype of DTYPES) {
      const p = makeProblem(rng, { shape: [33, 129], granularity: 'per-channel', axis: 0 }, dtype, true);
      const qSync = withIsa(level, () => quantize(p.x, params(p)));
      const qAsync = await withIsaAsync(level, () => quantizeAsync(misaligned(Float32Array, p.x), params(p)));
      expect(Array.from(qAsync)).toEqual(Array.from(qSync));
      const xSync = withIsa(level, () => dequantize(qSync, params(p)));
      const xAsync = await withIsaAsync(level, () => dequantizeAsync(qSync, params(p)));
      expect(bits(xAsync)).toEqual(bits(xSync));
    }
    const bad = new Float32Array([1, Number.NaN]);
    await expect(withIsaAsync(level, () => quantizeAsync(bad, { shape: [2], dtype: 'int8', scale: 1 }))).rejects.toMatchObject({
      code: 'ERR_DISTIQ_NON_FINITE',
    });
  });

  it('results do not depend on the thread count', () => {
    const before = getNumThreads();
    const rng = new Rng(11);
    const layout: QuantLayout = { shape: [257, 1031], granularity: 'per-channel', axis: 0 };
    try {
      for (const dtype of ['int8', 'int4'] as const) {
        const p = makeProblem(rng, layout, dtype, true);
        setNumThreads(1);
        const q1 = quantize(p.x, params(p));
        const m1 = minMax(p.x.map((v) => (Number.isFinite(v) ? v : 0)), { shape: [257, 1031], granularity: 'per-channel', axis: 1 });
        setNumThreads(2);
        const q2 = quantize(p.x, params(p));
        const m2 = minMax(p.x.map((v) => (Number.isFinite(v) ? v : 0)), { shape: [257, 1031], granularity: 'per-channel', axis: 1 });
        expect(Array.from(q2)).toEqual(Array.from(q1));
        expect(bits(m2.min)).toEqual(bits(m1.min));
        expect(bits(m2.max)).toEqual(bits(m1.max));
      }
    } finally {
      setNumThreads(before);
    }
  });

  it('affineParams: symmetric uses [-127, 127] / [-7, 7] and z = 0', () => {
    const a = affineParams(new Float32Array([-2, 0, -0.5]), new Float32Array([1, 0, 3]), { dtype: 'int8', symmetric: true });
    expect(Array.from(a.scale)).toEqual([Math.fround(2 / 127), 2 ** -23, Math.fround(3 / 127)]);
    expect(Array.from(a.zeroPoint)).toEqual([0, 0, 0]);
    expect([a.qmin, a.qmax]).toEqual([-127, 127]);
    const b = affineParams(-1, 0.5, { dtype: 'int4', symmetric: true });
    expect([b.qmin, b.qmax, b.scale[0]]).toEqual([-7, 7, Math.fround(1 / 7)]);
    expect(() => affineParams(-1, 1, { dtype: 'uint8', symmetric: true })).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_INVALID_ARG_VALUE' }));
  });

  it('affineParams: asymmetric widens the range to include 0 and follows the PyTorch/ONNX formula', () => {
    // [-1, 3] on uint8: s = 4/255, z = 0 − round(−1 / s) = round(63.75) = 64
    const a = affineParams(-1, 3, { dtype: 'uint8' });
    expect(a.scale[0]).toBe(Math.fround(4 / 255));
    expect(a.zeroPoint[0]).toBe(64);
    // [2, 5] is widened to [0, 5]: z = qmin
    const b = affineParams(2, 5, { dtype: 'int8' });
    expect(b.scale[0]).toBe(Math.fround(5 / 255));
    expect(b.zeroPoint[0]).toBe(-128);
    // [-6, -1] is widened to [-6, 0]: z = qmax
    const c = affineParams(-6, -1, { dtype: 'uint4' });
    expect(c.scale[0]).toBe(Math.fround(6 / 15));
    expect(c.zeroPoint[0]).toBe(15);
    // 0 is exactly representable: quantize(0) == z and dequantizes to 0
    for (const [lo, hi] of [[-0.7, 2.3], [-3.1, 0.2], [-1e-3, 5]] as const) {
      for (const dtype of DTYPES) {
        const p = affineParams(lo, hi, { dtype });
        const q = quantize(new Float32Array([0, lo, hi]), { shape: [3], dtype, scale: p.scale, zeroPoint: p.zeroPoint });
        const x = dequantize(q, { shape: [3], dtype, scale: p.scale, zeroPoint: p.zeroPoint });
        expect(x[0]).toBe(0);
        expect(Math.abs(x[1]! - lo)).toBeLessThanOrEqual(p.scale[0]! * 0.5001);
        expect(Math.abs(x[2]! - hi)).toBeLessThanOrEqual(p.scale[0]! * 0.5001);
      }
    }
  });

  it('fakeQuantize with an explicit range and no dtype (any range inside [-128, 255]) matches the TS reference', () => {
    const rng = new Rng(21);
    const x = rng.float32Array(301, -40, 300);
    const layout: QuantLayout = { shape: [7, 43], granularity: 'per-channel', axis: 0 };
    const g = refGeometry(layout);
    const scale = Float32Array.from({ length: 7 }, () => rng.uniform(0.5, 2));
    const zeroPoint = Int32Array.from({ length: 7 }, () => rng.int(-20, 200));
    for (const level of levels) {
      const { y, mask } = withIsa(level, () => fakeQuantize(x, { ...layout, scale, zeroPoint, qmin: -20, qmax: 200 }));
      const want = refFakeQuantize(x, g, scale, zeroPoint, -20, 200);
      expect(bits(y), level).toEqual(bits(want.y));
      expect(Array.from(mask), level).toEqual(Array.from(want.mask));
    }
  });

  it('empty tensors: every op returns empty outputs; min/max slots without elements stay ±Infinity', () => {
    const layouts: QuantLayout[] = [
      { shape: [3, 0], granularity: 'per-group', groupSize: 1 },
      { shape: [0, 5], granularity: 'per-channel', axis: 1 },
      { shape: [0] },
    ];
    for (const layout of layouts) {
      for (const dtype of DTYPES) {
        const q = quantize(new Float32Array(0), { ...layout, dtype, scale: 1 });
        expect(q.length).toBe(0);
        expect(dequantize(q, { ...layout, dtype, scale: 1 }).length).toBe(0);
      }
      const { y, mask } = fakeQuantize(new Float32Array(0), { ...layout, scale: 1 });
      expect([y.length, mask.length]).toEqual([0, 0]);
      const { min, max } = minMax(new Float32Array(0), layout);
      expect(Array.from(min).every((v) => v === Infinity) && Array.from(max).every((v) => v === -Infinity)).toBe(true);
      expect(min.length).toBe(quantGeometry(layout).params);
    }
  });

  it('minMax + affineParams + quantize compose per channel', () => {
    const rng = new Rng(3);
    const w = rng.float32Array(16 * 40, -2, 2);
    const layout: QuantLayout = { shape: [16, 40], granularity: 'per-channel', axis: 0 };
    const { min, max } = minMax(w, layout);
    const p = affineParams(min, max, { dtype: 'int8', symmetric: true });
    const q = quantize(w, { ...layout, dtype: 'int8', scale: p.scale, qmin: p.qmin, qmax: p.qmax }) as Int8Array;
    expect(Math.min(...q)).toBeGreaterThanOrEqual(-127);
    const back = dequantize(q, { ...layout, dtype: 'int8', scale: p.scale });
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(p.scale[Math.floor(i / 40)]! * 0.5001);
  });
});
