/**
 * The integer runtime (lib/quant/runtime/*) against an independent TypeScript reference of the same quantized math,
 * evaluated from the model's own stored tensors (codes, scales, zero points, calibrated input parameters):
 * activation quantization (refQuantizeValue), exact integer accumulation, the documented float epilogue
 * (refEpilogue), the int4 contract (refGemmS4). Every comparison is bit for bit. The reference always makes float
 * outputs and quantizes them again at the next layer, so it also checks that a static chain's requantizing epilogue
 * equals "float, then quantize".
 */
import { describe, expect, it } from 'vitest';

import { ReLU } from '../../lib/nn/activations';
import { f16ToF32 } from '../../lib/io/safetensors';
import { Conv2d } from '../../lib/nn/conv2d';
import { getNumThreads, setNumThreads } from '../../lib/ops/cpu';
import { Linear } from '../../lib/nn/linear';
import type { Module } from '../../lib/nn/module';
import { BatchNorm1d } from '../../lib/nn/norm';
import { MaxPool2d } from '../../lib/nn/pool';
import { Flatten, Sequential } from '../../lib/nn/sequential';
import { quantize, type QuantizeConfig } from '../../lib/quant/ptq';
import { QuantizedModel } from '../../lib/quant/runtime/quantized-model';
import type { LayerRecord } from '../../lib/quant/runtime/record';
import { QuantScheme } from '../../lib/quant/scheme';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { Tensor } from '../../lib/tensor/tensor';
import { refEpilogue } from '../helpers/ref-gemm-s8';
import { refGemmS4 } from '../helpers/ref-gemm-s4';
import { refQuantizeValue } from '../helpers/ref-quant';
import { Rng } from '../helpers/rng';
import { roundHalfEven } from '../helpers/round';

function randn(rng: Rng, shape: number[], scale = 1, shift = 0): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * scale + shift;
  return t;
}

function mlp(seed: number, sizes: number[], bias = true): Sequential {
  const rng = new TensorRng(seed);
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { rng, bias }));
    if (i + 2 < sizes.length) layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

function cnn(seed: number, stride: number): Sequential {
  const rng = new TensorRng(seed);
  const conv = new Conv2d(2, 4, 3, { rng, padding: 1, stride });
  const side = stride === 1 ? 6 : 3; // 6x6 input: stride 1 keeps 6x6, stride 2 gives 3x3
  const pooled = Math.floor(side / 2);
  return new Sequential(conv, new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * pooled * pooled, 5, { rng }));
}

// ---------------------------------------------------------------------------------------------------------------
// The reference interpreter
// ---------------------------------------------------------------------------------------------------------------

interface RefAct {
  scale: number;
  zp: number;
  qmin: number;
  qmax: number;
}

function actRange(scheme: QuantScheme): [number, number] {
  const [lo, hi] = scheme.dtype === 'uint8' ? [0, 255] : [-128, 127];
  return [scheme.symmetric ? lo + 1 : lo, hi];
}

/** PyTorch / ONNX DynamicQuantizeLinear parameters of a batch, written out (affineParams' formula). */
function refDynamic(x: Float32Array, scheme: QuantScheme): RefAct {
  let lo = Infinity, hi = -Infinity;
  for (const v of x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (x.length === 0) lo = hi = 0;
  const [qmin, qmax] = actRange(scheme);
  if (scheme.symmetric) {
    return { scale: Math.max(Math.fround(Math.max(Math.abs(lo), Math.abs(hi)) / qmax), 2 ** -23), zp: 0, qmin, qmax };
  }
  const lo0 = Math.min(lo, 0), hi0 = Math.max(hi, 0);
  const s = Math.max(Math.fround((hi0 - lo0) / (qmax - qmin)), 2 ** -23);
  const z = Math.min(Math.max(qmin - roundHalfEven(lo0 / s), qmin), qmax);
  return { scale: s, zp: z, qmin, qmax };
}

function refCodes(x: Float32Array, p: RefAct): number[] {
  return Array.from(x, (v) => refQuantizeValue(v, p.scale, p.zp, p.qmin, p.qmax).v);
}

function unpackCodes(r: LayerRecord, data: Int8Array | Uint8Array): { codes: number[]; n: number; k: number } {
  const [n, k] = r.weightShape as [number, number];
  return { codes: Array.from(data as ArrayLike<number>), n, k };
}

/** y [rows, n] = epilogue(Σ (a − z_a)·w) for code rows [rows, k]. */
function refInt8Rows(a: number[], za: number, rows: number, w: number[], n: number, k: number, e: Parameters<typeof refEpilogue>[3]): Float32Array {
  const y = new Float32Array(rows * n);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += (a[i * k + t]! - za) * w[j * k + t]!;
      y[i * n + j] = refEpilogue(acc, j, 'float32', e);
    }
  }
  return y;
}

/** Rows of im2col (float or code values; padding = pad) for x [N, C, H, W]. */
function refIm2col(x: ArrayLike<number>, shape: number[], kk: number, stride: number, pad: number, padValue: number): { rows: number[]; Ho: number; Wo: number } {
  const [N, C, H, W] = shape as [number, number, number, number];
  const Ho = Math.floor((H + 2 * pad - kk) / stride) + 1, Wo = Math.floor((W + 2 * pad - kk) / stride) + 1;
  const rows: number[] = [];
  for (let n = 0; n < N; n++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
    for (let c = 0; c < C; c++) for (let i = 0; i < kk; i++) for (let j = 0; j < kk; j++) {
      const h = oh * stride + i - pad, w = ow * stride + j - pad;
      rows.push(h >= 0 && h < H && w >= 0 && w < W ? x[((n * C + c) * H + h) * W + w]! : padValue);
    }
  }
  return { rows, Ho, Wo };
}

function nchw(y: Float32Array, N: number, P: number, Co: number): Float32Array {
  const out = new Float32Array(y.length);
  for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) for (let o = 0; o < Co; o++) out[(n * Co + o) * P + p] = y[(n * P + p) * Co + o]!;
  return out;
}

/** Runs the quantized model from its records and tensors with the reference math; float modules from `floatLayers`. */
function refPredict(q: QuantizedModel, floatLayers: Map<string, Module>, x: Tensor): Tensor {
  let h = x;
  for (const r of q.layers) {
    const t = (name: string) => {
      const st = q.tensors.get(`${r.path}.${name}`);
      return st?.dtype === 'F16' ? f16ToF32(st.data as Uint16Array) : st?.data;
    };
    if (r.runtime === 'fp32' || r.mode === undefined) {
      h = floatLayers.get(r.path)!.forward(h).clone();
      continue;
    }
    const isConv = r.module.type === 'Conv2d';
    const kk = (r.module.kernelSize as number) ?? 1, stride = (r.module.stride as number) ?? 1, pad = (r.module.padding as number) ?? 0;
    const bias = (t('bias') as Float32Array | undefined) ?? null;
    const { codes: w, n, k } = unpackCodes(r, t('weight') as Int8Array | Uint8Array);
    let rowsIn: Float32Array, rows: number, outShape: number[], N = 0, P = 0;
    if (isConv) {
      const [NN, , H, W] = h.shape as [number, number, number, number];
      N = NN;
      const Ho = Math.floor((H + 2 * pad - kk) / stride) + 1, Wo = Math.floor((W + 2 * pad - kk) / stride) + 1;
      P = Ho * Wo;
      rows = N * P;
      outShape = [N, n, Ho, Wo];
      rowsIn = h.data; // im2col below, after quantization
    } else {
      rows = h.size / k;
      outShape = [...h.shape.slice(0, -1), n];
      rowsIn = h.data;
    }
    let y: Float32Array;
    if (r.runtime === 'int8') {
      const act = QuantScheme.fromJSON(r.activations);
      const [qmin, qmax] = actRange(act);
      const p: RefAct = r.mode === 'static'
        ? { scale: (t('input_scale') as Float32Array)[0]!, zp: (t('input_zero_point') as Int32Array)[0]!, qmin, qmax }
        : refDynamic(h.data, act);
      let a = refCodes(rowsIn, p);
      if (isConv) a = refIm2col(a, [...h.shape], kk, stride, pad, p.zp).rows;
      const ws = t('weight_scale') as Float32Array;
      y = refInt8Rows(a, p.zp, rows, w.map((v) => v - ((t('weight_zero_point') as Int32Array | undefined)?.[0] ?? 0)), n, k, {
        aScale: p.scale, wScale: ws, bias, relu: r.relu ?? false, outScale: 1, outZp: 0,
      });
    } else {
      const a = isConv ? Float32Array.from(refIm2col(h.data, [...h.shape], kk, stride, pad, 0).rows) : rowsIn;
      const s = QuantScheme.fromJSON(r.weights);
      const groups = s.granularity === 'per-group' ? Math.ceil(k / s.groupSize!) : 1;
      const scales = t('weight_scale') as Float32Array;
      const zps = (t('weight_zero_point') as Int32Array | undefined) ?? null;
      y = refGemmS4(a, rows, k, {
        n, k, groupSize: s.granularity === 'per-group' ? s.groupSize! : k, codes: t('weight') as Uint8Array,
        scales: s.granularity === 'per-tensor' ? new Float32Array(n * groups).fill(scales[0]!) : scales,
        zeroPoints: zps === null ? null : s.granularity === 'per-tensor' ? new Int32Array(n * groups).fill(zps[0]!) : zps,
        signed: s.dtype === 'int4',
      }, bias);
      if (r.relu) for (let i = 0; i < y.length; i++) y[i] = y[i]! > 0 ? y[i]! : 0;
    }
    h = new Tensor(isConv ? nchw(y, N, P, n) : y, outShape);
  }
  return h;
}

function floatLayersOf(model: Sequential): Map<string, Module> {
  model.eval();
  return new Map(model.layers.map((m) => [m.path, m]));
}

function expectSameBits(a: Tensor, b: Tensor): void {
  expect(a.shape).toEqual(b.shape);
  const ua = new Uint32Array(a.data.buffer, a.data.byteOffset, a.size), ub = new Uint32Array(b.data.buffer, b.data.byteOffset, b.size);
  let diff = -1;
  for (let i = 0; i < ua.length && diff < 0; i++) if (ua[i] !== ub[i]) diff = i;
  expect(diff, diff < 0 ? '' : `element ${diff}: ${a.data[diff]} vs ${b.data[diff]}`).toBe(-1);
}

// ---------------------------------------------------------------------------------------------------------------

describe('runtime: QLinear int8', () => {
  const rng = new Rng(11);
  const model = mlp(3, [20, 12, 9, 7]);
  const cal = Array.from({ length: 3 }, () => randn(rng, [16, 20]));
  const x = randn(rng, [5, 20], 1.5); // beyond the calibrated range: saturation
  const floats = floatLayersOf(model);

  const cases: [string, QuantizeConfig][] = [
    ['static, per-channel weights, uint8 activations (chained)', { calibration: cal }],
    ['static, per-tensor weights', { calibration: cal, weights: { dtype: 'int8', symmetric: true } }],
    ['static, asymmetric per-tensor weights (weight zero point)', { calibration: cal, weights: { dtype: 'int8', symmetric: false } }],
    ['static, int8 symmetric activations (not chained)', { calibration: cal, activations: { mode: 'static', scheme: { dtype: 'int8', symmetric: true } } }],
    ['static, int8 asymmetric activations (chained, s8xs8)', { calibration: cal, activations: { mode: 'static', scheme: { dtype: 'int8' } } }],
    ['static, percentile observer', { calibration: cal, activations: { mode: 'static', observer: 'percentile', observerOptions: { percentile: 99 } } }],
    ['dynamic', { activations: 'dynamic' }],
    ['dynamic, int8 symmetric activations', { activations: { mode: 'dynamic', scheme: { dtype: 'int8', symmetric: true } } }],
    ['mixed: static, dynamic, fp32', { calibration: cal, overrides: { '2': { activations: 'dynamic' }, '4': 'fp32' } }],
  ];
  for (const [name, cfg] of cases) {
    it(`${name}: bit-identical to the reference`, () => {
      const q = quantize(model, cfg);
      expectSameBits(q.predict(x), refPredict(q, floats, x));
      // rows of one (GEMV path) and an empty batch
      expectSameBits(q.predict(x.slice(2, 3)), refPredict(q, floats, x.slice(2, 3)));
      expect(q.predict(Tensor.zeros([0, 20])).shape).toEqual([0, 7]);
    });
  }

  it('records the fused ReLUs and the runtime of each layer', () => {
    const q = quantize(model, { calibration: cal, overrides: { '4': 'fp32' } });
    expect(q.layers.map((r) => [r.path, r.runtime, r.mode, r.relu ?? false, r.fused ?? []])).toEqual([
      ['0', 'int8', 'static', true, ['1']],
      ['2', 'int8', 'static', true, ['3']],
      ['4', 'fp32', 'fp32', false, []],
    ]);
    expect(q.layers[0]!.weights).toMatchObject({ dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 0 });
    expect(q.layers[0]!.activations).toMatchObject({ dtype: 'uint8', symmetric: false, granularity: 'per-tensor' });
  });

  it('the int8 path is the quantized model, not the float one: output changes when a weight code changes', () => {
    const q = quantize(model, { calibration: cal });
    const before = q.predict(x);
    const w = q.tensors.get('4.weight')!.data as Int8Array;
    w[0] = w[0]! === 127 ? 126 : w[0]! + 1;
    const q2 = new QuantizedModel(q.layers, q.tensors);
    expect(Array.from(q2.predict(x).data)).not.toEqual(Array.from(before.data));
    expectSameBits(q2.predict(x), refPredict(q2, floats, x));
  });

  it('dynamic parameters follow each batch (same rows in two batches can differ)', () => {
    const q = quantize(model, { activations: 'dynamic' });
    const big = new Tensor(x.data.slice(), x.shape);
    big.data[0] = 40; // widens the batch range of the first layer
    const a = q.predict(x), b = q.predict(big);
    expect(Array.from(a.data.subarray(7, 14))).not.toEqual(Array.from(b.data.subarray(7, 14)));
    expectSameBits(b, refPredict(q, floats, big));
    // A batch large enough for the native min/max reduction (> 4096 elements), both activation schemes.
    const many = randn(rng, [300, 20], 2, -0.3);
    expectSameBits(q.predict(many), refPredict(q, floats, many));
    const qs = quantize(model, { activations: { mode: 'dynamic', scheme: { dtype: 'int8', symmetric: true } } });
    expectSameBits(qs.predict(many), refPredict(qs, floats, many));
  });
});

describe('runtime: int4 weight-only', () => {
  const rng = new Rng(12);
  const model = mlp(4, [20, 16, 6]);
  const x = randn(rng, [4, 20]);
  const floats = floatLayersOf(model);
  const cases: [string, Record<string, unknown>][] = [
    ['int4 symmetric per-group g=8 (short last group of 4)', { dtype: 'int4', symmetric: true, groupSize: 8 }],
    ['uint4 asymmetric per-group g=6 (zero points, short last group)', { dtype: 'uint4', symmetric: false, groupSize: 6 }],
    ['int4 per-channel', { dtype: 'int4', symmetric: true, granularity: 'per-channel' }],
    ['int4 per-tensor', { dtype: 'int4', symmetric: true }],
  ];
  for (const [name, weights] of cases) {
    it(`${name}: bit-identical to the int4 contract, close to the dequantized float product`, () => {
      const q = quantize(model, { weights });
      expect(q.layers.map((r) => r.runtime)).toEqual(['int4', 'int4']);
      const y = q.predict(x);
      expectSameBits(y, refPredict(q, floats, x));
      // vs float64 x·dequant(W)ᵀ + b: the only other error is the kernel's int8 rounding of each row of x.
      const r0 = q.layers[0]!;
      const s = QuantScheme.fromJSON(r0.weights);
      const t = (n: string) => {
        const st = q.tensors.get(`0.${n}`);
        return st?.dtype === 'F16' ? f16ToF32(st.data as Uint16Array) : st?.data;
      };
      const wq = s.dequantize({ scheme: s, shape: [16, 20], data: t('weight') as Uint8Array, scale: t('weight_scale') as Float32Array,
        zeroPoint: (t('weight_zero_point') as Int32Array | undefined) ?? null, codebook: null });
      const h = quantize(new Sequential(model.layers[0]!), { weights }).predict(x);
      const b = t('bias') as Float32Array;
      for (let i = 0; i < 4; i++) {
        let amax = 0;
        for (let e = 0; e < 20; e++) amax = Math.max(amax, Math.abs(x.data[i * 20 + e]!));
        for (let j = 0; j < 16; j++) {
          let ref = b[j]!, wsum = 0;
          for (let e = 0; e < 20; e++) {
            ref += x.data[i * 20 + e]! * wq[j * 20 + e]!;
            wsum += Math.abs(wq[j * 20 + e]!);
          }
          const bound = (amax / 127 / 2) * wsum * 1.001 + 1e-5 * (Math.abs(ref) + 1);
          expect(Math.abs(h.data[i * 16 + j]! - ref)).toBeLessThanOrEqual(bound);
        }
      }
    });
  }
});

describe('runtime: int4 scales', () => {
  it('float16 by default: each scale rounded up to a float16 (≥ the float32 one, within 2⁻¹⁰), codes from those scales; float32 on request', () => {
    const model = mlp(4, [20, 16, 6]);
    const weights = { dtype: 'int4', symmetric: true, groupSize: 8 } as const;
    const h = quantize(model, { weights }), f = quantize(model, { weights, int4Scales: 'float32' });
    const s16 = h.tensors.get('0.weight_scale')!, s32 = f.tensors.get('0.weight_scale')!;
    expect([s16.dtype, s32.dtype]).toEqual(['F16', 'F32']);
    const a = f16ToF32(s16.data as Uint16Array), b = s32.data as Float32Array;
    for (let i = 0; i < b.length; i++) {
      expect(a[i]!).toBeGreaterThanOrEqual(b[i]!);
      expect((a[i]! - b[i]!) / b[i]!).toBeLessThanOrEqual(2 ** -10);
    }
    const s = new QuantScheme(weights);
    const want = s.quantize(model.layers[0]!.stateDict().get('weight')!.data, { shape: [16, 20], params: { scale: a, zeroPoint: null } });
    expect(h.tensors.get('0.weight')!.data).toEqual(want.data);
    expect(() => quantize(model, { weights, int4Scales: 'half' as never })).toThrow(/"int4Scales"/);
  });
});

describe('runtime: QConv2d', () => {
  const rng = new Rng(13);
  for (const stride of [1, 2]) {
    const model = cnn(5, stride);
    const floats = floatLayersOf(model);
    const cal = Array.from({ length: 2 }, () => randn(rng, [3, 2, 6, 6]));
    const x = randn(rng, [2, 2, 6, 6], 1.3, 0.2);
    const cases: [string, QuantizeConfig][] = [
      ['static', { calibration: cal }],
      ['dynamic', { activations: 'dynamic' }],
      ['int4 g=8', { weights: { dtype: 'int4', symmetric: true, groupSize: 8 } }],
    ];
    for (const [name, cfg] of cases) {
      it(`stride ${stride}, ${name}: bit-identical to the reference (im2col with zero-point padding)`, () => {
        const q = quantize(model, cfg);
        expect(q.layers[0]!.relu).toBe(true);
        expectSameBits(q.predict(x), refPredict(q, floats, x));
      });
    }
  }

  it('an empty batch gives an empty output; a wrong input shape names the runtime layer', () => {
    const model = cnn(6, 1);
    for (const cfg of [{ calibration: [randn(rng, [2, 2, 6, 6])] }, { activations: 'dynamic' as const }, { weights: { dtype: 'int4' as const, symmetric: true, groupSize: 6 } }]) {
      const q = quantize(model, cfg);
      expect(q.predict(Tensor.zeros([0, 2, 6, 6])).shape).toEqual([0, 5]);
      expect(() => q.predict(Tensor.zeros([1, 3, 6, 6]))).toThrow(/QConv2d '0' expects input of shape \[N, 2, H, W\], received \[1, 3, 6, 6\]/);
      expect(() => q.predict(Tensor.zeros([1, 2, 0, 6]))).toThrow(/QConv2d '0' expects input of shape \[N, 2, H, W\] with H \+ 2·1 >= 3/);
      expect(() => q.predict(Tensor.zeros([1, 2, 1, 6]))).toThrow(/MaxPool2d '2' expects input of shape/);
    }
  });

  it('static chain through MaxPool2d on codes (padding, stride) and Flatten: same bits as pooling floats', () => {
    const r2 = new TensorRng(12);
    for (const pool of [new MaxPool2d(2), new MaxPool2d(3, 2, 1)]) {
      const model = new Sequential(new Conv2d(2, 3, 3, { rng: r2, padding: 1 }), new ReLU(), pool, new Conv2d(3, 4, 3, { rng: r2 }), new ReLU(),
        new Flatten(), new Linear(pool.kernelSize === 2 ? 4 : 4 * 4 * 4, 3, { rng: r2 }));
      const side = pool.kernelSize === 2 ? 6 : 11; // 6 → 3 → 1; 11 → 6 → 4
      const q = quantize(model, { calibration: [randn(rng, [3, 2, side, side])] });
      const steps = (q as unknown as { steps: { requant?: unknown }[] }).steps;
      expect(steps.map((st) => (st.requant ?? null) !== null)).toEqual([true, false, true, false, false]);
      const x = randn(rng, [2, 2, side, side], 1.4);
      expectSameBits(q.predict(x), refPredict(q, floatLayersOf(model), x));
    }
  });

  it('static chain Conv2d → Flatten → Linear requantizes into the Linear input codes', () => {
    const rng2 = new TensorRng(9);
    const model = new Sequential(new Conv2d(2, 3, 3, { rng: rng2 }), new ReLU(), new Flatten(), new Linear(3 * 4 * 4, 4, { rng: rng2 }));
    const cal = [randn(rng, [4, 2, 6, 6])];
    const x = randn(rng, [3, 2, 6, 6]);
    const q = quantize(model, { calibration: cal });
    expectSameBits(q.predict(x), refPredict(q, floatLayersOf(model), x));
  });
});

describe('runtime: float layers, BatchNorm folding, non-linear weights', () => {
  const rng = new Rng(14);
  const x = randn(rng, [6, 20]);

  it('every layer fp32: the float model bit for bit', () => {
    const model = mlp(6, [20, 12, 5]);
    const q = quantize(model, { overrides: { '0': 'fp32', '2': 'fp32' } });
    expectSameBits(q.predict(x), model.eval().forward(x));
  });

  it('nf4 / kmeans / log2 / int8 per-group run float32 with the dequantized weights', () => {
    const model = mlp(7, [20, 12, 5]);
    for (const weights of [{ mapping: 'nf4', groupSize: 8 }, { mapping: 'kmeans', levels: 16, granularity: 'per-channel' },
      { mapping: 'log2', dtype: 'int4', granularity: 'per-channel' }, { dtype: 'int8', symmetric: true, groupSize: 8 }] as const) {
      const q = quantize(model, { weights });
      expect(q.layers.map((r) => [r.runtime, r.mode, r.relu ?? false])).toEqual([['fp32', 'weight-only', true], ['fp32', 'weight-only', false]]);
      const ref = mlp(7, [20, 12, 5]);
      for (const i of [0, 2]) {
        const l = ref.layers[i] as Linear;
        const s = new QuantScheme(weights);
        l.weight.data.set(s.dequantize(s.quantize(l.weight.value)));
      }
      expectSameBits(q.predict(x), ref.eval().forward(x));
    }
  });

  it('a CNN with nf4 weights: the float CNN with the dequantized weights, bit for bit (im2col keeps the k order)', () => {
    for (const stride of [1, 2]) {
      const model = cnn(8, stride);
      const weights = { mapping: 'nf4', groupSize: 6 } as const;
      const q = quantize(model, { weights });
      const ref = cnn(8, stride);
      for (const i of [0, 4]) {
        const l = ref.layers[i] as Linear | Conv2d;
        const n = l.weight.shape[0]!, k = l.weight.size / n;
        const s = new QuantScheme({ ...weights, groupSize: Math.min(6, k) }); // a group longer than the row: one per row
        l.weight.data.set(s.dequantize(s.quantize(l.weight.data, { shape: [n, k] })));
      }
      const x = randn(rng, [3, 2, 6, 6]);
      expectSameBits(q.predict(x), ref.eval().forward(x));
    }
  });

  it('folds an eval-mode BatchNorm1d into the Linear before it (and fuses the ReLU after)', () => {
    const trng = new TensorRng(8);
    const bn = new BatchNorm1d(12);
    for (let i = 0; i < 12; i++) {
      bn.runningMean.data[i] = 0.1 * i - 0.4;
      bn.runningVar.data[i] = 0.5 + 0.1 * i;
      bn.weight!.data[i] = 1 + 0.05 * i;
      bn.bias!.data[i] = 0.02 * i;
    }
    const model = new Sequential(new Linear(20, 12, { rng: trng, bias: false }), bn, new ReLU(), new Linear(12, 5, { rng: trng }));
    model.eval();
    const q = quantize(model, { weights: 'fp32', overrides: { '0': { weights: { dtype: 'int8', symmetric: true, granularity: 'per-channel' }, activations: 'dynamic' } } });
    expect(q.layers[0]).toMatchObject({ path: '0', fused: ['1', '2'], relu: true, runtime: 'int8' });
    expect(q.layers.length).toBe(2);
    const want = model.forward(x), got = q.predict(x);
    let err = 0, ref = 0;
    for (let i = 0; i < want.size; i++) {
      err += (want.data[i]! - got.data[i]!) ** 2;
      ref += want.data[i]! ** 2;
    }
    expect(10 * Math.log10(ref / err)).toBeGreaterThan(30); // SQNR of an int8 layer
    const kept = quantize(model, { foldBatchNorm: false, activations: 'dynamic' });
    expect(kept.layers.map((r) => r.path)).toEqual(['0', '1', '2', '3']);
  });
});

describe('runtime: predictAsync', () => {
  it('gives the bits of predict; concurrent calls are queued; predict during a pending call is an error', async () => {
    const rng = new Rng(15);
    const model = cnn(10, 1);
    const cal = [randn(rng, [4, 2, 6, 6])];
    const xs = [randn(rng, [3, 2, 6, 6]), randn(rng, [1, 2, 6, 6]), randn(rng, [5, 2, 6, 6])];
    for (const cfg of [{ calibration: cal }, { activations: 'dynamic' as const }, { weights: { dtype: 'int4' as const, symmetric: true, groupSize: 6 } }]) {
      const q = quantize(model, cfg);
      const sync = xs.map((x) => q.predict(x));
      const pending = xs.map((x) => q.predictAsync(x));
      expect(() => q.predict(xs[0]!)).toThrow(/predictAsync call on this model is still running/);
      const got = await Promise.all(pending);
      got.forEach((g, i) => expectSameBits(g, sync[i]!));
      expectSameBits(q.predict(xs[0]!), sync[0]!); // idle again
    }
  });

  it('rejects a bad input with the layer named', async () => {
    const q = quantize(mlp(1, [8, 4]), { activations: 'dynamic' });
    await expect(q.predictAsync(Tensor.zeros([2, 9]))).rejects.toThrow(/QLinear '0' expects input of shape \[\*, 8\], received \[2, 9\]/);
    expect(() => q.predict(Tensor.zeros([2, 9]))).toThrow(/QLinear '0' expects input of shape/);
    expectSameBits(await q.predictAsync(Tensor.zeros([1, 8])), q.predict(Tensor.zeros([1, 8])));
  });
});

describe('runtime: thread count', () => {
  it('gives the same bits at 1, 2 and 3 threads (shapes large enough to use the pool)', () => {
    const rng = new Rng(16);
    const model = mlp(17, [256, 512, 384, 10]);
    const x = randn(rng, [96, 256]);
    const before = getNumThreads();
    try {
      for (const cfg of [{ calibration: [x] }, { activations: 'dynamic' as const }, { weights: { dtype: 'int4' as const, symmetric: true, groupSize: 32 } }]) {
        const q = quantize(model, cfg);
        setNumThreads(1);
        const want = q.predict(x);
        for (const t of [2, 3]) {
          setNumThreads(t);
          expectSameBits(q.predict(x), want);
        }
      }
    } finally {
      setNumThreads(before);
    }
  });
});

