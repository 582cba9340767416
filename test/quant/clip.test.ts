/**
 * MSE-optimal clipping of linear weight schemes (`clip: 'mse'`, lib/quant/mapping/clip.ts): the chosen ratio
 * minimises each slot's squared error over the documented grid (checked against a brute force through the native
 * quantize/dequantize), `clip: 'none'` reproduces the min/max codes bit for bit, the JSON form (old files without
 * `clip` read as `none`), the defaults (mse for 4-bit linear, none for 8-bit), validation naming the setting, and
 * the error bound with clipping.
 */
import { describe, expect, it } from 'vitest';

import { Linear } from '../../lib/nn/linear';
import { ReLU } from '../../lib/nn/activations';
import { Sequential } from '../../lib/nn/sequential';
import { affineParams, quantGeometry } from '../../lib/ops/quantize';
import { CLIP_RATIOS } from '../../lib/quant/mapping/clip';
import { quantize as ptqQuantize } from '../../lib/quant/ptq';
import { QuantScheme, type QuantSchemeSpec } from '../../lib/quant/scheme';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { paramIndex } from '../helpers/ref-quant';
import { Rng, seedNote } from '../helpers/rng';

/** Heavy-tailed weights (a few outliers per row), where clipping pays. */
function weights(rng: Rng, n: number, k: number): Float32Array {
  return new Float32Array(n * k).map(() => {
    const v = rng.normal();
    return 0.05 * (rng.uniform(0, 1) < 0.03 ? v * 6 : v);
  });
}

function slots(s: QuantScheme, shape: number[], x: Float32Array): { slot: Int32Array; min: Float32Array; max: Float32Array } {
  const geo = quantGeometry({ shape, granularity: s.granularity, axis: s.axis, groupSize: s.groupSize });
  const slot = new Int32Array(x.length);
  const min = new Float32Array(geo.params).fill(Infinity), max = new Float32Array(geo.params).fill(-Infinity);
  for (let e = 0; e < x.length; e++) {
    const k = paramIndex({ ...geo, rowLen: geo.rowLen }, e);
    slot[e] = k;
    min[k] = Math.min(min[k]!, x[e]!);
    max[k] = Math.max(max[k]!, x[e]!);
  }
  return { slot, min, max };
}

/** Per-slot Σ (x − dequantize(quantize(x)))² in float64. */
function slotSse(s: QuantScheme, x: Float32Array, y: Float32Array, slot: Int32Array, params: number): Float64Array {
  const out = new Float64Array(params);
  for (let e = 0; e < x.length; e++) out[slot[e]!] = out[slot[e]!]! + (x[e]! - y[e]!) ** 2;
  void s;
  return out;
}

const CASES: [QuantSchemeSpec, number[]][] = [
  [{ dtype: 'int4', symmetric: true, granularity: 'per-group', groupSize: 32 }, [24, 100]], // short last group (4)
  [{ dtype: 'int4', symmetric: true, granularity: 'per-channel', axis: 0 }, [16, 130]],
  [{ dtype: 'int4', symmetric: true, granularity: 'per-tensor' }, [20, 64]],
  [{ dtype: 'uint4', symmetric: false, granularity: 'per-group', groupSize: 16 }, [12, 40]],
  [{ dtype: 'int4', symmetric: false, granularity: 'per-channel', axis: 1 }, [30, 6]],
  [{ dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 0, clip: 'mse' }, [8, 200]],
  [{ dtype: 'uint8', granularity: 'per-group', groupSize: 64, clip: 'mse' }, [6, 128]],
];

describe('clip "mse": the chosen ratio minimises the slot squared error over the grid (brute force)', () => {
  it('grid: 1.00, 0.99, …, 0.50', () => {
    expect(CLIP_RATIOS.length).toBe(51);
    expect(CLIP_RATIOS[0]).toBe(1);
    expect(CLIP_RATIOS[50]).toBe(0.5);
    for (let i = 1; i < CLIP_RATIOS.length; i++) expect(CLIP_RATIOS[i - 1]! - CLIP_RATIOS[i]!).toBeCloseTo(0.01, 12);
  });

  it.each(CASES)('%j %j', (spec, shape) => {
    const rng = new Rng(shape[0]! * 1000 + shape[1]!);
    const x = weights(rng, shape[0]!, shape[1]!);
    const s = new QuantScheme(spec);
    expect(s.clip).toBe('mse');
    const rtn = new QuantScheme({ ...spec, clip: 'none' });
    const { slot, min, max } = slots(s, shape, x);
    const P = min.length;
    // Brute force: every ratio's parameters (affineParams of the shrunk range) through the native quantize.
    const errs: Float64Array[] = [];
    const cands = CLIP_RATIOS.map((r) => affineParams(Float32Array.from(min, (v) => r * v), Float32Array.from(max, (v) => r * v), { dtype: s.dtype, symmetric: s.symmetric }));
    for (const c of cands) {
      const q = rtn.quantize(x, { shape, params: { scale: c.scale, zeroPoint: s.symmetric ? null : c.zeroPoint } });
      errs.push(slotSse(rtn, x, rtn.dequantize(q), slot, P));
    }
    const q = s.quantize(x, { shape });
    const got = slotSse(s, x, s.dequantize(q), slot, P);
    let clipped = 0;
    for (let k = 0; k < P; k++) {
      let best = Infinity, bj = -1;
      for (let j = 0; j < cands.length; j++) {
        if (errs[j]![k]! < best) {
          best = errs[j]![k]!;
          bj = j;
        }
      }
      if (q.scale![k] !== cands[bj]!.scale[k] || got[k] !== best) {
        expect.fail(`slot ${k}: scale ${q.scale![k]} err ${got[k]}, brute force r=${CLIP_RATIOS[bj]} scale ${cands[bj]!.scale[k]} err ${best} ${seedNote()}`);
      }
      if (!s.symmetric) expect(q.zeroPoint![k]).toBe(cands[bj]!.zeroPoint[k]);
      if (bj > 0) clipped++;
      expect(got[k]!).toBeLessThanOrEqual(errs[0]![k]!); // never worse than round-to-nearest (r = 1)
    }
    // 4-bit: outliers make clipping pay in some slot; 8-bit: 255 levels, r = 1 wins on this data (why int8 stays 'none').
    if (s.bits === 4) expect(clipped, 'some slot clips (the test data has outliers)').toBeGreaterThan(0);
    // The error bound still holds, element by element.
    const y = s.dequantize(q), b = s.errorBound(q, x);
    for (let e = 0; e < x.length; e++) expect(Math.abs(x[e]! - y[e]!)).toBeLessThanOrEqual(b[e]!);
  });

  it('all-equal and all-zero slots keep r = 1 (no NaN), an empty tensor quantizes', () => {
    const s = new QuantScheme({ dtype: 'int4', symmetric: true, groupSize: 4 });
    const x = Float32Array.of(0, 0, 0, 0, 2, 2, 2, 2, -3, 1, 0.5, 0.25);
    const q = s.quantize(x, { shape: [1, 12] });
    expect(q.scale![0]).toBe(2 ** -23);
    expect(q.scale![1]).toBe(Math.fround(2 / 7));
    expect(Array.from(s.dequantize(q)).every(Number.isFinite)).toBe(true);
    const a = new QuantScheme({ dtype: 'uint4', groupSize: 4 });
    const qa = a.quantize(Float32Array.of(5, 5, 5, 5), { shape: [1, 4] });
    expect(Array.from(a.dequantize(qa)).every(Number.isFinite)).toBe(true);
    expect(a.quantize(new Float32Array(0), { shape: [0, 8] }).scale!.length).toBe(0);
  });
});

describe('clip "none" is the min/max quantizer, bit for bit', () => {
  it.each(CASES)('%j %j', (spec, shape) => {
    const rng = new Rng(7 + shape[1]!);
    const x = weights(rng, shape[0]!, shape[1]!);
    const s = new QuantScheme({ ...spec, clip: 'none' });
    const { min, max } = slots(s, shape, x);
    const q = s.quantize(x, { shape });
    const ref = s.quantize(x, { shape, range: { min, max } }); // the observed-range path: never clipped
    expect(Buffer.from(q.data.buffer, q.data.byteOffset, q.data.byteLength).equals(Buffer.from(ref.data.buffer, ref.data.byteOffset, ref.data.byteLength))).toBe(true);
    expect(q.scale).toEqual(ref.scale);
    expect(q.zeroPoint).toEqual(ref.zeroPoint);
    const p = affineParams(min, max, { dtype: s.dtype, symmetric: s.symmetric });
    expect(q.scale).toEqual(p.scale);
    // A JSON written before the setting existed (no clip) reads as none and gives the same codes.
    const { clip: _c, ...old } = s.toJSON();
    const fromOld = QuantScheme.fromJSON(old);
    expect(fromOld.clip).toBe('none');
    expect(Array.from(fromOld.quantize(x, { shape }).data)).toEqual(Array.from(q.data));
  });
});

describe('defaults and JSON', () => {
  it('mse for 4-bit linear, none for 8-bit; non-linear mappings have no clip', () => {
    expect(new QuantScheme({ dtype: 'int4', symmetric: true }).clip).toBe('mse');
    expect(new QuantScheme({ dtype: 'uint4', groupSize: 32 }).clip).toBe('mse');
    expect(new QuantScheme({ dtype: 'int8', symmetric: true }).clip).toBe('none');
    expect(new QuantScheme({ dtype: 'uint8' }).clip).toBe('none');
    expect(new QuantScheme({ mapping: 'nf4' }).clip).toBeUndefined();
    expect(new QuantScheme({ mapping: 'log2', dtype: 'int4' }).clip).toBeUndefined();
  });

  it('round trip: 4-bit writes clip explicitly, 8-bit only when mse; no version → spec defaults', () => {
    const specs: QuantSchemeSpec[] = [
      { dtype: 'int4', symmetric: true, groupSize: 32 },
      { dtype: 'int4', symmetric: true, groupSize: 32, clip: 'none' },
      { dtype: 'int8', symmetric: true, granularity: 'per-channel' },
      { dtype: 'int8', symmetric: true, granularity: 'per-channel', clip: 'mse' },
      { dtype: 'uint4', granularity: 'per-tensor', clip: 'none' },
    ];
    const rng = new Rng(5);
    const x = weights(rng, 4, 64);
    for (const spec of specs) {
      const s = new QuantScheme(spec);
      const j = s.toJSON();
      if (s.bits === 4 || s.clip === 'mse') expect(j.clip).toBe(s.clip);
      else expect('clip' in j).toBe(false);
      const back = QuantScheme.fromJSON(JSON.parse(JSON.stringify(s)));
      expect(back.equals(s)).toBe(true);
      expect(back.clip).toBe(s.clip);
      const { version: _v, ...spec2 } = j;
      expect(new QuantScheme(spec2).clip).toBe(s.clip);
      expect(Array.from(back.quantize(x, { shape: [4, 64] }).data)).toEqual(Array.from(s.quantize(x, { shape: [4, 64] }).data));
    }
    expect(new QuantScheme({ dtype: 'int4', symmetric: true, groupSize: 32 }).toJSON()).toEqual({
      version: 1, mapping: 'linear', dtype: 'int4', symmetric: true, granularity: 'per-group', groupSize: 32, clip: 'mse',
    });
    expect(QuantScheme.fromJSON({ version: 1, mapping: 'linear', dtype: 'int4', symmetric: true, granularity: 'per-group', groupSize: 32 }).clip).toBe('none');
  });
});

describe('validation names the setting', () => {
  const bad: [unknown, RegExp][] = [
    [{ dtype: 'int4', clip: 'mse2' }, /"scheme\.clip".*"none", "mse".*"mse2"/],
    [{ dtype: 'int4', clip: true }, /"scheme\.clip"/],
    [{ mapping: 'nf4', clip: 'mse' }, /"scheme\.clip".*absent for the nf4 mapping/],
    [{ mapping: 'kmeans', clip: 'none' }, /"scheme\.clip".*absent for the kmeans mapping/],
    [{ mapping: 'log2', dtype: 'int4', clip: 'mse' }, /"scheme\.clip".*absent for the log2 mapping/],
  ];
  it.each(bad)('%j', (spec, msg) => {
    expect(() => new QuantScheme(spec as QuantSchemeSpec)).toThrow(msg);
    expect(() => QuantScheme.fromJSON({ version: 1, mapping: 'linear', ...(spec as object) })).toThrow(/"scheme\.clip"/);
  });

  it('PTQ names the config path', () => {
    const model = new Sequential(new Linear(16, 8, { rng: new TensorRng(1) }), new ReLU(), new Linear(8, 4, { rng: new TensorRng(2) }));
    expect(() => ptqQuantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 8, clip: 'max' as never } })).toThrow(/"weights\.clip"/);
  });
});

describe('PTQ stores the clip and the chosen scales', () => {
  it('int4 weight-only: the layer scheme says clip mse; clip none gives the min/max scales', () => {
    const model = new Sequential(new Linear(64, 16, { rng: new TensorRng(3) }), new ReLU(), new Linear(16, 4, { rng: new TensorRng(4) }));
    const a = ptqQuantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 32 }, int4Scales: 'float32' });
    const b = ptqQuantize(model, { weights: { dtype: 'int4', symmetric: true, groupSize: 32, clip: 'none' }, int4Scales: 'float32' });
    const la = a.layers[0]!, lb = b.layers[0]!;
    expect(la.weights?.clip).toBe('mse');
    expect(lb.weights?.clip).toBe('none');
    const w = model.stateDict().get('0.weight')!.data;
    for (const [m, clip] of [[a, 'mse'], [b, 'none']] as const) {
      const s = new QuantScheme({ dtype: 'int4', symmetric: true, groupSize: 32, clip });
      const q = s.quantize(w, { shape: [16, 64] });
      expect(m.tensors.get('0.weight_scale')!.data).toEqual(q.scale);
      expect(Array.from(m.tensors.get('0.weight')!.data)).toEqual(Array.from(q.data));
    }
  });
});
