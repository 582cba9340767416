/**
 * Schemes (lib/quant/scheme.ts): validation (typed errors naming the setting), JSON round-trip, and the property
 * tests of issue 6 acceptance item 5: for every scheme, quantize → dequantize stays within the mapping's documented
 * bound on seeded random inputs, checked both through `errorBound` and against closed forms computed here from the
 * per-slot min/max (so a wrong errorBound cannot hide a wrong quantizer); per-group with a short last group;
 * all-equal inputs (zero range) without NaN; the non-linear mappings' own properties (log2 levels are powers of
 * two, nf4 values are table entries, kmeans picks the nearest level and beats the uniform grid).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { gemmS4, packWeightsS4, quantizeWeightsS4 } from '../../lib/ops/gemm-s4';
import { quantGeometry } from '../../lib/ops/quantize';
import { NF4_TABLE } from '../../lib/quant/mapping/nf4';
import { QuantScheme, quantizedTensorBytes, toInt4Weights, type QuantSchemeSpec } from '../../lib/quant/scheme';
import { Tensor } from '../../lib/tensor/tensor';
import { paramIndex } from '../helpers/ref-quant';
import { Rng, baseSeed, seedNote } from '../helpers/rng';

const fcOpts = { numRuns: 60, seed: baseSeed | 0 };

/** Every combination the schemes accept, over the three granularities. */
function allSpecs(gran: 'per-tensor' | 'per-channel' | 'per-group', groupSize: number, axis: number): QuantSchemeSpec[] {
  const g: Partial<QuantSchemeSpec> = gran === 'per-group' ? { granularity: gran, groupSize } : gran === 'per-channel' ? { granularity: gran, axis } : { granularity: gran };
  const out: QuantSchemeSpec[] = [];
  for (const dtype of ['int8', 'uint8', 'int4', 'uint4'] as const) {
    out.push({ ...g, dtype, mapping: 'linear', symmetric: false });
    // 4-bit linear defaults to clip 'mse'; the min/max range (clip 'none') is checked too
    if (dtype === 'int4' || dtype === 'uint4') out.push({ ...g, dtype, mapping: 'linear', symmetric: false, clip: 'none' });
    if (dtype === 'int4') out.push({ ...g, dtype, mapping: 'linear', symmetric: true, clip: 'none' });
    if (dtype === 'int8' || dtype === 'int4') {
      out.push({ ...g, dtype, mapping: 'linear', symmetric: true });
      out.push({ ...g, dtype, mapping: 'log2' });
    }
  }
  out.push({ ...g, mapping: 'nf4' });
  out.push({ ...g, mapping: 'kmeans', dtype: 'uint4', levels: 16 });
  out.push({ ...g, mapping: 'kmeans', dtype: 'uint4', levels: 5, init: 'kmeans++', seed: 7 });
  out.push({ ...g, mapping: 'kmeans', dtype: 'uint8', levels: 100 });
  return out;
}

/** Per-slot min and max (reference, from paramIndex of the test helpers). */
function slotMinMax(x: Float32Array, s: QuantScheme, shape: number[]): { min: number[]; max: number[]; slot: (e: number) => number } {
  const geo = quantGeometry({ shape, granularity: s.granularity, axis: s.axis, groupSize: s.groupSize });
  const g = { ...geo, rowLen: geo.rowLen };
  const min = new Array<number>(geo.params).fill(Infinity), max = new Array<number>(geo.params).fill(-Infinity);
  for (let e = 0; e < x.length; e++) {
    const k = paramIndex(g, e);
    min[k] = Math.min(min[k]!, x[e]!);
    max[k] = Math.max(max[k]!, x[e]!);
  }
  return { min, max, slot: (e) => paramIndex(g, e) };
}

/** The closed-form bound of each mapping (docs/quantization.md), from the slot's min/max only. */
function closedFormBound(s: QuantScheme, v: number, lo: number, hi: number): number {
  const absmax = Math.max(Math.abs(lo), Math.abs(hi));
  const slack = 2 ** -21 * (Math.abs(v) + absmax + 1e-30);
  switch (s.mapping) {
    case 'linear': {
      const [qmin, qmax] = s.codeRange;
      const step = Math.max(s.symmetric ? absmax / qmax : (Math.max(hi, 0) - Math.min(lo, 0)) / (qmax - qmin), 2 ** -23);
      // clip 'mse' (ratio r ≥ 0.5, lib/quant/mapping/clip.ts): a smaller step, and saturation at most (1 − r)·absmax
      return step / 2 + slack + 2 ** -21 * step + (s.clip === 'mse' ? absmax / 2 : 0);
    }
    case 'log2': // s = absmax, at least MIN_SCALE
      return Math.max(Math.abs(v) / 3, Math.max(absmax, 2 ** -23) * 2 ** -(s.dtype === 'int8' ? 127 : 7)) + slack + 2 ** -21 * 2 ** -23;
    case 'nf4':
      return Math.max(absmax, 2 ** -23) * 0.15191 + slack + 2 ** -21 * 2 ** -23;
    case 'kmeans':
      return hi - lo; // trivial; the real kmeans checks are below
  }
}

function checkRoundTrip(spec: QuantSchemeSpec, x: Float32Array, shape: number[], label: string): void {
  const s = new QuantScheme(spec);
  const q = s.quantize(x, { shape });
  const y = s.dequantize(q);
  const bound = s.errorBound(q, x);
  const { min, max, slot } = slotMinMax(x, s, shape);
  for (let e = 0; e < x.length; e++) {
    const err = Math.abs(x[e]! - y[e]!);
    const k = slot(e);
    if (!(err <= bound[e]!) || !(bound[e]! <= closedFormBound(s, x[e]!, min[k]!, max[k]!))) {
      expect.fail(`${label} ${JSON.stringify(s.toJSON())} shape [${shape}] e=${e} x=${x[e]} x̂=${y[e]} err=${err} bound=${bound[e]} closed=${closedFormBound(s, x[e]!, min[k]!, max[k]!)} ${seedNote()}`);
    }
  }
  if (s.mapping === 'kmeans') checkKmeans(s, x, y, q.codebook!, slot, min.length);
  if (s.mapping === 'nf4') {
    for (let e = 0; e < x.length; e++) {
      const sc = q.scale![slot(e)]!;
      expect(NF4_TABLE.some((t) => Math.fround(t * sc) === y[e])).toBe(true);
    }
  }
  if (s.mapping === 'log2') {
    for (let e = 0; e < x.length; e++) {
      const r = Math.abs(y[e]!) / q.scale![slot(e)]!;
      expect(r === 0 || Number.isInteger(Math.log2(r))).toBe(true);
    }
  }
}

/** kmeans: each element decodes to its nearest level, and each slot's squared error ≤ the uniform grid's. */
function checkKmeans(s: QuantScheme, x: Float32Array, y: Float32Array, book: Float32Array, slot: (e: number) => number, params: number): void {
  const K = s.levels!;
  const sse = new Float64Array(params), uni = new Float64Array(params);
  const { min, max } = { min: new Array<number>(params).fill(Infinity), max: new Array<number>(params).fill(-Infinity) };
  for (let e = 0; e < x.length; e++) {
    const k = slot(e);
    min[k] = Math.min(min[k]!, x[e]!);
    max[k] = Math.max(max[k]!, x[e]!);
  }
  for (let e = 0; e < x.length; e++) {
    const k = slot(e), v = x[e]!;
    let best = Infinity;
    for (let j = 0; j < K; j++) best = Math.min(best, Math.abs(v - book[k * K + j]!));
    expect(Math.abs(v - y[e]!)).toBe(best);
    sse[k] = sse[k]! + (v - y[e]!) ** 2;
    const step = (max[k]! - min[k]!) / (K - 1);
    const u = step > 0 ? min[k]! + Math.round((v - min[k]!) / step) * step : v;
    uni[k] = uni[k]! + (v - u) ** 2;
  }
  for (let k = 0; k < params; k++) expect(sse[k]!).toBeLessThanOrEqual(uni[k]! * (1 + 1e-5) + 1e-12 * (max[k]! - min[k]!) ** 2);
}

describe('scheme round trip within the documented bound (property, every scheme)', () => {
  it('per-tensor, per-channel (every axis), per-group with a short last group', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 16 }),
        fc.constantFrom('per-tensor', 'per-channel', 'per-group') as fc.Arbitrary<'per-tensor' | 'per-channel' | 'per-group'>,
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom('uniform', 'normal', 'heavy', 'positive'),
        (rows, cols, gIn, gran, seed, dist) => {
          const rng = new Rng(seed);
          const shape = [rows, cols];
          const x = new Float32Array(rows * cols);
          const scale = 10 ** rng.int(-3, 3);
          for (let i = 0; i < x.length; i++) {
            const n = rng.normal();
            x[i] = scale * (dist === 'uniform' ? rng.uniform(-1, 1) : dist === 'normal' ? n : dist === 'heavy' ? n * n * n : Math.abs(n));
          }
          const groupSize = Math.min(gIn, cols);
          for (const spec of allSpecs(gran, groupSize, rng.int(-2, 1))) checkRoundTrip(spec, x, shape, `${dist} seed ${seed}`);
        },
      ),
      fcOpts,
    );
  });

  it('a rank-3 tensor, per-channel on the middle axis, and a scalar', () => {
    const rng = new Rng(3);
    const x = new Float32Array(4 * 5 * 6).map(() => rng.normal());
    for (const spec of allSpecs('per-channel', 1, 1)) checkRoundTrip(spec, x, [4, 5, 6], 'rank 3');
    for (const spec of allSpecs('per-tensor', 1, 0)) checkRoundTrip(spec, Float32Array.of(-2.5), [], 'scalar');
  });
});

describe('per-group with a short last group', () => {
  it('groups of 4 over rows of 10: slots 4, 4, 2 per row, the short group scaled by its own 2 elements', () => {
    const x = new Float32Array(30);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 10; c++) x[r * 10 + c] = c < 8 ? 100 * (r + 1) * (c % 2 ? 1 : -1) : (r + 1) * 0.01 * (c - 8.5);
    for (const dtype of ['int4', 'int8'] as const) {
      const s = new QuantScheme({ dtype, symmetric: true, groupSize: 4 });
      expect(s.granularity).toBe('per-group');
      expect(s.paramCount([3, 10])).toBe(9);
      const q = s.quantize(x, { shape: [3, 10] });
      expect(q.scale!.length).toBe(9);
      const qmax = dtype === 'int4' ? 7 : 127;
      for (let r = 0; r < 3; r++) expect(q.scale![r * 3 + 2]).toBe(Math.fround(((r + 1) * 0.005) / qmax));
      const y = s.dequantize(q);
      for (let r = 0; r < 3; r++) {
        for (const c of [8, 9]) expect(Math.abs(y[r * 10 + c]! - x[r * 10 + c]!)).toBeLessThanOrEqual(q.scale![r * 3 + 2]! / 2 + 1e-9);
      }
    }
    // asymmetric int4 per-group with a non-dividing group size is supported (acceptance 6: no error needed)
    const a = new QuantScheme({ dtype: 'uint4', groupSize: 3 });
    checkRoundTrip(a.toJSON(), x, [3, 10], 'uint4 g3');
    checkRoundTrip({ dtype: 'int4', groupSize: 7 }, x, [3, 10], 'int4 asym g7');
    checkRoundTrip({ mapping: 'nf4', groupSize: 4 }, x, [3, 10], 'nf4 g4');
  });
});

describe('all-equal inputs (zero range)', () => {
  it('every scheme decodes constants without NaN, within the bound', () => {
    for (const c of [0, 3.25, -7, 1e-30, -1e-38]) {
      const x = new Float32Array(24).fill(c);
      for (const gran of ['per-tensor', 'per-channel', 'per-group'] as const) {
        for (const spec of allSpecs(gran, 5, 0)) {
          const s = new QuantScheme(spec);
          const q = s.quantize(x, { shape: [4, 6] });
          const y = s.dequantize(q);
          for (let i = 0; i < y.length; i++) {
            expect(Number.isNaN(y[i]!), `${JSON.stringify(spec)} c=${c}`).toBe(false);
            expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(s.errorBound(q, x)[i]!);
          }
          if (c === 0 || s.mapping === 'kmeans') expect(Array.from(y)).toEqual(Array.from(x));
        }
      }
    }
  });
});

describe('JSON round trip', () => {
  const specs = [...allSpecs('per-tensor', 1, 0), ...allSpecs('per-channel', 1, -1), ...allSpecs('per-group', 32, 0), { mapping: 'nf4' } as QuantSchemeSpec];
  it('fromJSON(toJSON) gives an equal scheme that quantizes identically', () => {
    const rng = new Rng(11);
    const x = new Float32Array(2 * 80).map(() => rng.normal());
    for (const spec of specs) {
      const s = new QuantScheme(spec);
      const text = JSON.stringify({ layer: { scheme: s } });
      const back = QuantScheme.fromJSON(JSON.parse(text).layer.scheme);
      expect(back.toJSON()).toEqual(s.toJSON());
      expect(back.equals(s)).toBe(true);
      expect(QuantScheme.fromJSON(JSON.stringify(s)).toJSON()).toEqual(s.toJSON());
      const a = s.quantize(x, { shape: [2, 80] }), b = back.quantize(x, { shape: [2, 80] });
      expect(Array.from(b.data)).toEqual(Array.from(a.data));
      expect(back.dequantize(a)).toEqual(s.dequantize(a));
    }
  });

  it('the defaults are written out explicitly', () => {
    expect(new QuantScheme({ mapping: 'nf4' }).toJSON()).toEqual({ version: 1, mapping: 'nf4', dtype: 'uint4', symmetric: true, granularity: 'per-group', groupSize: 64 });
    expect(new QuantScheme({ mapping: 'kmeans' }).toJSON()).toEqual({
      version: 1, mapping: 'kmeans', dtype: 'uint4', symmetric: false, granularity: 'per-tensor', levels: 16, iterations: 30, init: 'quantile', seed: 0,
    });
    expect(new QuantScheme({ dtype: 'int8', symmetric: true, granularity: 'per-channel' }).toJSON()).toEqual({
      version: 1, mapping: 'linear', dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 0,
    });
  });

  it('rejects a wrong version or malformed JSON', () => {
    expect(() => QuantScheme.fromJSON({ mapping: 'linear', dtype: 'int8' })).toThrow(/scheme\.version.*1.*undefined/);
    expect(() => QuantScheme.fromJSON({ version: 2, dtype: 'int8' })).toThrow(/scheme\.version/);
    expect(() => QuantScheme.fromJSON('{')).toThrow(/not valid JSON/);
  });
});

describe('validation: typed errors naming the setting', () => {
  const bad: [unknown, RegExp, string][] = [
    [null, /"scheme" argument must be an object/, 'ERR_DISTIQ_INVALID_ARG_TYPE'],
    [{ mapping: 'linear' }, /"scheme\.dtype".*Received undefined/, 'ERR_DISTIQ_INVALID_ARG_TYPE'],
    [{ dtype: 'int16' }, /"scheme\.dtype".*"int8".*Received string "int16"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'uint8', symmetric: true }, /"scheme\.symmetric".*int8 or int4.*Received boolean/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', symmetric: 'yes' }, /"scheme\.symmetric".*boolean/, 'ERR_DISTIQ_INVALID_ARG_TYPE'],
    [{ dtype: 'int8', mapping: 'cubic' }, /"scheme\.mapping".*"linear", "log2", "kmeans", "nf4"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', granularity: 'per-row' }, /"scheme\.granularity"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', granularity: 'per-group' }, /"scheme\.groupSize".*Received undefined/, 'ERR_DISTIQ_INVALID_ARG_TYPE'],
    [{ dtype: 'int8', groupSize: 0 }, /"scheme\.groupSize".*\[1, .*Received 0/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', groupSize: 2.5 }, /"scheme\.groupSize"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', granularity: 'per-tensor', groupSize: 32 }, /"scheme\.groupSize".*absent.*per-tensor.*Received number 32/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', axis: 1 }, /"scheme\.axis".*absent/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', granularity: 'per-channel', axis: 0.5 }, /"scheme\.axis".*integer/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', groupsize: 32 }, /"scheme\.groupsize" is not a scheme setting/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'log2', dtype: 'uint8' }, /"scheme\.dtype".*"int8" or "int4" for the log2 mapping/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'log2', dtype: 'int8', symmetric: false }, /"scheme\.symmetric".*true for the log2 mapping/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'nf4', dtype: 'int4' }, /"scheme\.dtype".*"uint4" for the nf4 mapping/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'nf4', symmetric: false }, /"scheme\.symmetric"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', dtype: 'int8' }, /"scheme\.dtype".*"uint4" or "uint8" for the kmeans mapping/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', dtype: 'uint4', levels: 17 }, /"scheme\.levels".*\[2, 16\].*Received 17/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', levels: 1 }, /"scheme\.levels"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', iterations: -1 }, /"scheme\.iterations"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', init: 'random' }, /"scheme\.init"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ mapping: 'kmeans', seed: -1 }, /"scheme\.seed"/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
    [{ dtype: 'int8', levels: 16 }, /"scheme\.levels".*kmeans only/, 'ERR_DISTIQ_INVALID_ARG_VALUE'],
  ];
  it.each(bad)('%j', (spec, msg, code) => {
    let err: unknown;
    try {
      new QuantScheme(spec as QuantSchemeSpec);
    } catch (e) {
      err = e;
    }
    expect(err, 'no error').toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(msg);
    expect((err as { code: string }).code).toBe(code);
  });

  it('quantize checks its input', () => {
    const s = new QuantScheme({ dtype: 'int8', symmetric: true, granularity: 'per-channel' });
    expect(() => s.quantize(new Float32Array(6), { shape: [2, 4] })).toThrow(/x\.length to equal 8/);
    expect(() => s.quantize([1, 2] as unknown as Float32Array)).toThrow(/"x" argument must be a Tensor or a Float32Array/);
    expect(() => s.quantize(new Float32Array(4), { shape: [2, 2], range: { min: new Float32Array(3), max: new Float32Array(3) } })).toThrow(/range\.min\.length to equal 2/);
    expect(() => s.quantize(Tensor.zeros([2, 2]), { shape: [4] })).toThrow(/"shape" option must be absent/);
    expect(() => s.quantize(new Float32Array(4), { shape: 4 as unknown as number[] })).toThrow(/"shape" option must be an array/);
    const g = new QuantScheme({ dtype: 'int4', groupSize: 64 });
    expect(() => g.quantize(new Float32Array(32), { shape: [1, 32] })).toThrow(/"groupSize" argument must be an integer in \[1, 32\]/);
    for (const spec of allSpecs('per-tensor', 1, 0)) {
      const t = new QuantScheme(spec);
      let err: unknown;
      try {
        t.quantize(Float32Array.of(1, Number.NaN, 2));
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string })?.code, JSON.stringify(spec)).toBe('ERR_DISTIQ_NON_FINITE');
    }
    const k = new QuantScheme({ mapping: 'kmeans' });
    expect(() => k.quantize(new Float32Array(4), { range: { min: -1, max: 1 } })).toThrow(/"scheme\.mapping" setting "kmeans".*no observed range/);
    expect(() => k.paramsFromRange(0, 1)).toThrow(/kmeans/);
    const other = new QuantScheme({ dtype: 'int8' });
    expect(() => other.dequantize(s.quantize(new Float32Array(4), { shape: [2, 2] }))).toThrow(/another scheme/);
  });
});

describe('observed ranges and sizes', () => {
  it('a range clips: elements outside saturate and the bound grows by the distance', () => {
    const x = Float32Array.of(-3, -1, 0, 0.5, 1, 4);
    for (const spec of [{ dtype: 'int8' as const, symmetric: true }, { dtype: 'uint8' as const }, { mapping: 'log2' as const, dtype: 'int4' as const }, { mapping: 'nf4' as const, granularity: 'per-tensor' as const }]) {
      const s = new QuantScheme(spec);
      const q = s.quantize(x, { range: { min: -1, max: 1 } });
      const y = s.dequantize(q), b = s.errorBound(q, x);
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThanOrEqual(b[i]!);
      const step = q.scale![0]!; // the end of an asymmetric grid is within half a step of the range's end
      expect(y[5]!).toBeLessThanOrEqual(1 + step / 2 + 1e-6);
      expect(y[5]!).toBeGreaterThanOrEqual(1 - step / 2);
      expect(b[5]!).toBeGreaterThanOrEqual(3 - step / 2);
    }
  });

  it('params from paramsFromRange give the same codes as the range', () => {
    const s = new QuantScheme({ dtype: 'uint8' });
    const x = Float32Array.of(-1, 0.2, 3);
    const p = s.paramsFromRange(-1, 3);
    expect(Array.from(s.quantize(x, { params: p }).data)).toEqual(Array.from(s.quantize(x, { range: { min: -1, max: 3 } }).data));
    expect(() => s.paramsFromRange(2, 1)).toThrow(/min\[0\] <= max\[0\]/);
    expect(() => s.paramsFromRange(Number.NaN, 1)).toThrow(/finite/);
  });

  it('storage: 4-bit codes packed per row, parameters counted', () => {
    const x = new Float32Array(3 * 65).fill(1);
    const nf4 = new QuantScheme({ mapping: 'nf4' }).quantize(x, { shape: [3, 65] });
    expect(nf4.data.length).toBe(3 * 33);
    expect(quantizedTensorBytes(nf4)).toBe(3 * 33 + 3 * 2 * 4);
    const km = new QuantScheme({ mapping: 'kmeans', granularity: 'per-channel' }).quantize(x, { shape: [3, 65] });
    expect(km.data.length).toBe(3 * 33);
    expect(km.codebook!.length).toBe(3 * 16);
    expect(new QuantScheme({ mapping: 'kmeans', levels: 100 }).dtype).toBe('uint8');
  });
});

describe('bridge to the int4 GEMM', () => {
  it('toInt4Weights feeds packWeightsS4: gemmS4 equals the float product with the dequantized weights', () => {
    const rng = new Rng(21);
    const n = 5, k = 70, m = 3;
    const w = new Float32Array(n * k).map(() => rng.normal());
    // activations on the int8 grid of their row (max |a| = 127/16 in every row), so gemmS4's per-row int8
    // quantization of them (docs/int4.md) is exact and only the weights' quantization remains
    const a = new Float32Array(m * k).map((_, i) => (i % k === 0 ? 127 : rng.int(-127, 127)) / 16);
    for (const spec of [
      { dtype: 'int4', symmetric: true, groupSize: 32 },
      { dtype: 'uint4', groupSize: 16 },
      { dtype: 'int4', symmetric: true, granularity: 'per-channel' },
      { dtype: 'int4', granularity: 'per-tensor' },
    ] as const) {
      const s = new QuantScheme(spec);
      const q = s.quantize(w, { shape: [n, k] });
      const { weights, groupSize } = toInt4Weights(q);
      const y = gemmS4(a, m, packWeightsS4(weights, n, k, { groupSize }));
      const wd = s.dequantize(q);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let ref = 0, mag = 0;
          for (let t = 0; t < k; t++) {
            ref += a[i * k + t]! * wd[j * k + t]!;
            mag += Math.abs(a[i * k + t]! * wd[j * k + t]!);
          }
          expect(Math.abs(y[i * n + j]! - ref), JSON.stringify(spec)).toBeLessThanOrEqual(1e-5 * mag + 1e-6);
        }
      }
    }
    // symmetric int4 per-group without clipping: the same codes as the kernel family's own RTN quantizer
    const q = new QuantScheme({ dtype: 'int4', symmetric: true, groupSize: 32, clip: 'none' }).quantize(w, { shape: [n, k] });
    const rtn = quantizeWeightsS4(w, n, k, { groupSize: 32 });
    expect(Array.from(q.data)).toEqual(Array.from(rtn.codes));
    expect(Array.from(q.scale!)).toEqual(Array.from(rtn.scales));
    expect(() => toInt4Weights(new QuantScheme({ dtype: 'int8', symmetric: true }).quantize(w, { shape: [n, k] }))).toThrow(/linear int4\/uint4/);
    expect(() => toInt4Weights(new QuantScheme({ mapping: 'nf4' }).quantize(w.subarray(0, 64), { shape: [1, 64] }))).toThrow(/mapping "nf4"/);
  });
});
