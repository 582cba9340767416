/**
 * Post-training quantization: `quantize(model, config)` turns a float Sequential model (Linear, Conv2d, ReLU, Tanh,
 * GELU, Flatten, Dropout, MaxPool2d, AvgPool2d, BatchNorm1d/2d, LayerNorm; nested Sequentials) into a
 * QuantizedModel. Per Linear / Conv2d layer (docs/ptq.md has the full rules):
 *
 * | weights                                   | activations | runs on                                            |
 * | ----------------------------------------- | ----------- | -------------------------------------------------- |
 * | linear int8, per-tensor or per-channel 0  | `static`    | int8 GEMM; input scale/zero point from calibration |
 * | linear int8, per-tensor or per-channel 0  | `dynamic`   | int8 GEMM; input parameters from each batch        |
 * | linear int4 / uint4 (any granularity)     | `float`     | int4 GEMM (rows quantized to int8 by the kernel)   |
 * | any other scheme (int8 per-group, nf4,    | `float`     | fp32 GEMM on weights dequantized when the model is |
 * |   kmeans, log2, uint8)                    |             |   built or loaded; the file keeps the codes        |
 * | `'fp32'`                                  | —           | the float layer, unchanged                         |
 *
 * Defaults: weights int8 symmetric per-channel; activations `static` when `calibration` is given, else `dynamic`
 * (`float` for weight schemes the int8 GEMM cannot run). Activation schemes are linear 8-bit per-tensor (default
 * uint8 asymmetric). An eval-mode BatchNorm right after a quantized layer is folded into it (`foldBatchNorm: false`
 * keeps it as a float layer), and a ReLU right after a quantized layer runs in its epilogue (or one pass after).
 *
 * Errors (DistiqRangeError / DistiqTypeError, naming the setting and the layer): an unsupported layer type, an
 * override naming no layer (or a layer without weights), a weight / activation combination the kernels do not run,
 * static activations without calibration data; calibration errors come from `calibrate` (no batches, wrong input
 * width prefixed with the batch number, NaN naming the layer and batch).
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { f16ToF32, f32ToF16, type SafeTensor } from '../io/safetensors';
import { Conv2d } from '../nn/conv2d';
import { Dropout } from '../nn/dropout';
import { GELU, ReLU, Tanh } from '../nn/activations';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from '../nn/norm';
import { AvgPool2d, MaxPool2d } from '../nn/pool';
import { Flatten, Sequential } from '../nn/sequential';
import type { Tensor } from '../tensor/tensor';
import { describe, expectInteger, expectOneOf } from '../validate';
import { calibrate } from './calibrate';
import { foldBatchNorm } from './fold-batchnorm';
import { createObserver, OBSERVER_KINDS, type AnyObserverOptions, type ObserverKind } from './observers/index';
import type { Observer } from './observers/observer';
import { QuantizedModel } from './runtime/quantized-model';
import type { LayerMode, LayerRecord, LayerRuntime } from './runtime/record';
import { QuantScheme, quantScheme, type QuantizedTensor, type QuantSchemeSpec } from './scheme';

export type ActivationMode = 'static' | 'dynamic' | 'float';

export interface ActivationConfig {
  mode: ActivationMode;
  /** Linear 8-bit per-tensor scheme of the activations (default `{ dtype: 'uint8' }`, asymmetric). */
  scheme?: QuantSchemeSpec | QuantScheme;
  /** static: the calibration observer (default `minmax`). */
  observer?: ObserverKind;
  /** static: options of the observer (percentile, bins, …; `mse`/`entropy` get the activation scheme). */
  observerOptions?: AnyObserverOptions;
}

export interface LayerQuantConfig {
  /** The weight scheme, or `'fp32'` to keep the layer in float. Default int8 symmetric per-channel. */
  weights?: QuantSchemeSpec | QuantScheme | 'fp32';
  /** `static`, `dynamic`, `float` (weight-only), or a full ActivationConfig. */
  activations?: ActivationMode | ActivationConfig;
}

export type CalibrationData = Iterable<Tensor | { x: Tensor }>;

export interface QuantizeConfig extends LayerQuantConfig {
  /** Calibration batches for static layers, or `{ data, maxBatches }`. */
  calibration?: CalibrationData | { data: CalibrationData; maxBatches?: number };
  /** Per-layer settings by layer path ("0", "features.3"); `'fp32'` keeps that layer in float. */
  overrides?: Record<string, LayerQuantConfig | 'fp32'>;
  /** Fold an eval-mode BatchNorm into the quantized layer before it (default true). */
  foldBatchNorm?: boolean;
  /**
   * Scales of linear 4-bit weights (the int4 runtime): `'float16'` (default, llama.cpp Q4 / GGUF style) rounds each
   * scale up to the next float16 and quantizes the codes with those scales, stored F16 (a quarter less file per group
   * of 32, and the int4 kernel streams 2-byte scales); `'float32'` keeps the scheme's float32 scales. A tensor whose
   * scales do not fit float16's normal range keeps float32.
   */
  int4Scales?: 'float16' | 'float32';
}

const DEFAULT_WEIGHTS: QuantSchemeSpec = { dtype: 'int8', symmetric: true, granularity: 'per-channel' };
const DEFAULT_ACTIVATIONS: QuantSchemeSpec = { dtype: 'uint8' };
const MODES: readonly ActivationMode[] = ['static', 'dynamic', 'float'];
const FLOAT_LEAVES = [ReLU, Tanh, GELU, Flatten, Dropout, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm];

/** Settings of one Linear / Conv2d layer after defaults and overrides. */
interface LayerPlan {
  weights: QuantScheme | 'fp32';
  mode: ActivationMode;
  act: QuantScheme;
  observer: ObserverKind;
  observerOptions: AnyObserverOptions;
}

function leaves(m: Module, out: Module[]): Module[] {
  if (m instanceof Sequential) {
    for (const c of m.layers) leaves(c, out);
    return out;
  }
  if (!(m instanceof Linear) && !(m instanceof Conv2d) && !FLOAT_LEAVES.some((C) => m instanceof C)) {
    throw new DistiqRangeError(
      `quantize: ${m.label()} is not supported (supported layers: Linear, Conv2d, ${FLOAT_LEAVES.map((C) => C.name).join(', ')}, nested in Sequential)`,
    );
  }
  out.push(m);
  return out;
}

function where(path: string, m: Module): string {
  return `quantize: layer "${path}" (${m.constructor.name})`;
}

function expectObject(name: string, v: unknown): void {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new DistiqTypeError(`The "${name}" option must be an object. Received ${describe(v)}`);
}

function schemeOf(name: string, spec: unknown): QuantScheme {
  if (spec instanceof QuantScheme) return spec;
  expectObject(name, spec);
  try {
    return quantScheme(spec as QuantSchemeSpec);
  } catch (err) {
    const e = err as Error & { code?: string };
    const msg = e.message.replace(/"scheme\./g, `"${name}.`);
    throw e instanceof DistiqTypeError ? new DistiqTypeError(msg, e.code as never) : new DistiqRangeError(msg, e.code as never);
  }
}

/** Merges the global config and an override into one layer's plan, and checks the combination. */
function planLayer(path: string, m: Module, base: LayerQuantConfig, override: LayerQuantConfig | 'fp32' | undefined, hasCalibration: boolean): LayerPlan {
  const o: LayerQuantConfig = override === 'fp32' ? { weights: 'fp32' } : (override ?? {});
  const opt = override === undefined ? 'weights' : `overrides["${path}"].weights`;
  const wSpec = o.weights ?? base.weights ?? DEFAULT_WEIGHTS;
  const weights = wSpec === 'fp32' ? 'fp32' : schemeOf(o.weights !== undefined ? opt : 'weights', wSpec);
  const aName = o.activations !== undefined ? `overrides["${path}"].activations` : 'activations';
  const aSpec = o.activations ?? base.activations;
  const ac: Partial<ActivationConfig> = typeof aSpec === 'string' ? { mode: aSpec } : (aSpec ?? {});
  if (aSpec !== undefined && typeof aSpec !== 'string') expectObject(aName, aSpec);
  const int8Runnable = weights !== 'fp32' && weights.mapping === 'linear' && weights.dtype === 'int8' && weights.granularity !== 'per-group';
  const mode = ac.mode ?? (int8Runnable ? (hasCalibration ? 'static' : 'dynamic') : 'float');
  expectOneOf(typeof aSpec === 'string' ? aName : `${aName}.mode`, mode, MODES);
  const act = schemeOf(`${aName}.scheme`, ac.scheme ?? DEFAULT_ACTIVATIONS);
  const observer = ac.observer ?? 'minmax';
  expectOneOf(`${aName}.observer`, observer, OBSERVER_KINDS);
  const observerOptions = ac.observerOptions ?? {};
  expectObject(`${aName}.observerOptions`, observerOptions);
  const plan: LayerPlan = { weights, mode, act, observer, observerOptions };
  if (weights === 'fp32' || mode === 'float') return plan;

  const at = where(path, m);
  const unsupported = (setting: string, expected: string, received: unknown): never => {
    throw new DistiqRangeError(`${at}: the "${setting}" setting must be ${expected} with activations "${mode}". Received ${describe(received)}`);
  };
  const wn = o.weights !== undefined ? opt : 'weights';
  if (weights.mapping !== 'linear') unsupported(`${wn}.mapping`, '"linear" (other mappings run weight-only: activations "float")', weights.mapping);
  if (weights.dtype !== 'int8') {
    unsupported(`${wn}.dtype`, weights.bits === 4 ? '"int8" (4-bit weights run on the int4 kernel with activations "float")' : '"int8" (the int8 GEMM takes int8 weights)', weights.dtype);
  }
  if (weights.granularity === 'per-group') unsupported(`${wn}.granularity`, '"per-tensor" or "per-channel" (per-group int8 weights run weight-only: activations "float")', 'per-group');
  if (weights.granularity === 'per-channel') {
    if (weights.axis !== 0 && weights.axis !== -2) unsupported(`${wn}.axis`, '0 (the output channel)', weights.axis);
    if (!weights.symmetric) unsupported(`${wn}.symmetric`, 'true for per-channel weights (the int8 GEMM takes one weight zero point)', false);
  }
  if (act.mapping !== 'linear' || act.bits !== 8 || act.granularity !== 'per-tensor') {
    throw new DistiqRangeError(`${at}: the "${aName}.scheme" setting must be a linear 8-bit per-tensor scheme (the int8 GEMM takes one activation scale). Received ${JSON.stringify(act.toJSON())}`);
  }
  if (mode === 'static' && !hasCalibration) {
    throw new DistiqRangeError(`${at}: activations "static" need calibration data; the "calibration" option is missing (or use activations "dynamic")`);
  }
  return plan;
}

function calibrationOf(c: QuantizeConfig['calibration']): { data: CalibrationData; maxBatches?: number } | null {
  if (c === undefined) return null;
  if (c !== null && typeof c === 'object' && typeof (c as Iterable<unknown>)[Symbol.iterator] === 'function') return { data: c as CalibrationData };
  expectObject('calibration', c);
  const o = c as { data?: unknown; maxBatches?: unknown };
  if (o.data === null || typeof o.data !== 'object' || typeof (o.data as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new DistiqTypeError(`The "calibration.data" option must be an iterable of batches (Tensor or { x: Tensor }). Received ${describe(o.data)}`);
  }
  if (o.maxBatches !== undefined) expectInteger('calibration.maxBatches', o.maxBatches, 1);
  return { data: o.data as CalibrationData, ...(o.maxBatches !== undefined ? { maxBatches: o.maxBatches as number } : {}) };
}

/**
 * Each scale rounded up to the next float16 (so no element moves past the code range), as float16 bits; null when a
 * scale is outside float16's normal range (≥ 2⁻¹⁴, finite) and not exactly representable.
 */
function float16Up(scale: Float32Array): Uint16Array | null {
  const h = f32ToF16(scale);
  const back = f16ToF32(h);
  for (let i = 0; i < h.length; i++) {
    if (back[i]! === scale[i]!) continue;
    if (!(scale[i]! >= 2 ** -14) || !Number.isFinite(back[i]!)) return null;
    if (back[i]! < scale[i]!) h[i] = h[i]! + 1; // positive: the next float16 up
    if (!Number.isFinite(f16ToF32(h.subarray(i, i + 1))[0]!)) return null;
  }
  return h;
}

const f32 = (data: Float32Array, shape: number[]): SafeTensor => ({ dtype: 'F32', shape, data: data.slice() });

/** Quantizes `model` (see the module comment). The model is not modified. */
export function quantize(model: Module, config: QuantizeConfig = {}): QuantizedModel {
  if (!(model instanceof Module)) throw new DistiqTypeError(`The "model" argument must be a Module. Received ${describe(model)}`);
  expectObject('config', config);
  const known = ['weights', 'activations', 'calibration', 'overrides', 'foldBatchNorm', 'int4Scales'];
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) throw new DistiqRangeError(`"${key}" is not a quantize option (expected one of ${known.join(', ')})`);
  }
  const fold = config.foldBatchNorm ?? true;
  if (typeof fold !== 'boolean') throw new DistiqTypeError(`The "foldBatchNorm" option must be a boolean. Received ${describe(fold)}`);
  const int4Scales = config.int4Scales ?? 'float16';
  expectOneOf('int4Scales', int4Scales, ['float16', 'float32'] as const);
  const cal = calibrationOf(config.calibration);
  const list = leaves(model, []);
  const weighted = list.filter((m) => m instanceof Linear || m instanceof Conv2d);
  const overrides = config.overrides ?? {};
  expectObject('overrides', overrides);
  for (const p of Object.keys(overrides)) {
    const m = list.find((l) => l.path === p);
    if (m === undefined || !(m instanceof Linear || m instanceof Conv2d)) {
      const names = weighted.map((l) => `"${l.path}"`).join(', ');
      throw new DistiqRangeError(
        m === undefined
          ? `The "overrides" option names layer "${p}", but the model has no such layer (Linear / Conv2d layers: ${names})`
          : `The "overrides" option names layer "${p}", a ${m.constructor.name}; only Linear / Conv2d layers take a quantization setting (${names})`,
      );
    }
  }
  const plans = new Map<Module, LayerPlan>();
  for (const m of weighted) plans.set(m, planLayer(m.path, m, config, overrides[m.path], cal !== null));

  // Calibrate the inputs of the static layers.
  const statics = weighted.filter((m) => plans.get(m)!.mode === 'static' && plans.get(m)!.weights !== 'fp32');
  let observers = new Map<string, Observer>();
  if (statics.length > 0) {
    const byPath = new Map(statics.map((m) => [m.path, plans.get(m)!]));
    const factory = (path: string, layer: Module): Observer => {
      const p = byPath.get(path)!;
      const withScheme = p.observer === 'mse' || p.observer === 'entropy' ? { scheme: p.act } : {};
      return createObserver(p.observer, { ...p.observerOptions, ...withScheme, name: `${layer.label()} input` });
    };
    const opts = { layers: statics.map((m) => m.path), observer: factory, ...(cal!.maxBatches !== undefined ? { maxBatches: cal!.maxBatches } : {}) };
    observers = calibrate(model, cal!.data, opts).observers;
  }

  const records: LayerRecord[] = [];
  const tensors = new Map<string, SafeTensor>();
  for (let i = 0; i < list.length; i++) {
    const m = list[i]!;
    const plan = plans.get(m);
    if (plan === undefined || plan.weights === 'fp32') {
      records.push({ path: m.path, module: m.config(), ...(plan ? { runtime: 'fp32' as const, mode: 'fp32' as const } : { runtime: 'fp32' as const }) });
      for (const [name, t] of m.stateDict()) tensors.set(`${m.path}.${name}`, f32(t.data, [...t.shape]));
      continue;
    }
    const layer = m as Linear | Conv2d;
    const n = layer.weight.shape[0]!, k = layer.weight.size / n;
    // A group longer than the row is one group per row (the scheme stored for the layer says so).
    const scheme = plan.weights.granularity === 'per-group' && plan.weights.groupSize! > k
      ? new QuantScheme({ ...plan.weights.toJSON(), groupSize: k })
      : plan.weights;
    let w = layer.weight.data, bias = layer.bias?.data ?? null;
    const fused: string[] = [];
    const next = list[i + 1];
    if (fold && ((layer instanceof Linear && next instanceof BatchNorm1d) || (layer instanceof Conv2d && next instanceof BatchNorm2d)) && next.numFeatures === n) {
      ({ weight: w, bias } = foldBatchNorm(w, bias, n, next));
      fused.push(next.path);
      i++;
    }
    const runtime: LayerRuntime = plan.mode !== 'float' ? 'int8' : scheme.mapping === 'linear' && scheme.bits === 4 ? 'int4' : 'fp32';
    let relu = false;
    if (list[i + 1] instanceof ReLU) {
      relu = true;
      fused.push(list[i + 1]!.path);
      i++;
    }
    let q: QuantizedTensor;
    try {
      q = scheme.quantize(w, { shape: [n, k] });
    } catch (err) {
      const e = err as Error & { code?: string };
      throw new DistiqRangeError(`${where(layer.path, layer)}: cannot quantize the weight: ${e.message}`, (e.code ?? 'ERR_DISTIQ_INVALID_ARG_VALUE') as never);
    }
    let scaleF16: Uint16Array | null = null;
    if (runtime === 'int4' && int4Scales === 'float16') {
      scaleF16 = float16Up(q.scale!);
      if (scaleF16 !== null) q = scheme.quantize(w, { shape: [n, k], params: { scale: f16ToF32(scaleF16), zeroPoint: q.zeroPoint } });
    }
    const mode: LayerMode = plan.mode === 'float' ? 'weight-only' : plan.mode;
    const rec: LayerRecord = { path: layer.path, module: { ...layer.config(), bias: bias !== null }, runtime, mode, weights: scheme.toJSON(), weightShape: [n, k] };
    if (mode === 'static' || mode === 'dynamic') rec.activations = plan.act.toJSON();
    if (relu) rec.relu = true;
    if (fused.length > 0) rec.fused = fused;
    records.push(rec);
    const p = layer.path;
    const codesShape = scheme.bits === 4 ? [n, Math.ceil(k / 2)] : [n, k];
    tensors.set(`${p}.weight`, { dtype: q.data instanceof Int8Array ? 'I8' : 'U8', shape: codesShape, data: q.data });
    if (scaleF16 !== null) tensors.set(`${p}.weight_scale`, { dtype: 'F16', shape: [scaleF16.length], data: scaleF16 });
    else if (q.scale !== null) tensors.set(`${p}.weight_scale`, { dtype: 'F32', shape: [q.scale.length], data: q.scale });
    if (q.zeroPoint !== null) tensors.set(`${p}.weight_zero_point`, { dtype: 'I32', shape: [q.zeroPoint.length], data: q.zeroPoint });
    if (q.codebook !== null) tensors.set(`${p}.weight_codebook`, { dtype: 'F32', shape: [q.codebook.length], data: q.codebook });
    if (bias !== null) tensors.set(`${p}.bias`, f32(bias, [n]));
    if (mode === 'static') {
      const params = observers.get(p)!.params(plan.act);
      tensors.set(`${p}.input_scale`, { dtype: 'F32', shape: [1], data: Float32Array.of(params.scale[0]!) });
      tensors.set(`${p}.input_zero_point`, { dtype: 'I32', shape: [1], data: Int32Array.of(params.zeroPoint?.[0] ?? 0) });
    }
  }
  return new QuantizedModel(records, tensors, 'quantize');
}
