/**
 * The description of one runtime step (what a quantized model file stores per layer in its metadata) and the tensors
 * it names, and `buildStep`, which turns both into the executable step. `quantize` (lib/quant/ptq.ts) and
 * `loadQuantized` build their models through the same function, so a model and its reload run the same code on the
 * same bytes (bit-identical outputs).
 *
 * Tensors of a step at path p (docs/formats.md, "Quantized model file"):
 *   p.weight             int8 codes I8 [n, k] | 4-bit codes U8 [n, ⌈k/2⌉] (logical shape in `weightShape`) |
 *                        kmeans uint8 indices U8 [n, k] | F32 weight (fp32 layers, module shape)
 *   p.weight_scale       F32 [slots] (F16 for int4-runtime weights by default)           p.weight_zero_point  I32 [slots]    p.weight_codebook  F32 [slots·levels]
 *   p.bias               F32 [n]  (with any folded BatchNorm)
 *   p.input_scale        F32 [1]               p.input_zero_point   I32 [1]        (static int8 layers)
 *   p.<state>            F32  (other layers: their parameters and buffers, e.g. a BatchNorm's running_mean)
 */
import { DistiqRangeError } from '../../errors';
import { f16ToF32, type SafeTensor } from '../../io/safetensors';
import { buildModule } from '../../nn/build';
import { Dropout } from '../../nn/dropout';
import type { Module, ModuleConfig } from '../../nn/module';
import { MaxPool2d } from '../../nn/pool';
import { Flatten } from '../../nn/sequential';
import { Tensor } from '../../tensor/tensor';
import { QuantScheme, toInt4Weights, type QuantizedTensor, type QuantSchemeJSON } from '../scheme';
import { F32Gemm, Int4Gemm, Int8Gemm } from './gemm-core';
import { QConv2d } from './qconv2d';
import type { RuntimeStep } from './qlayer';
import { QLinear } from './qlinear';
import { maxPoolCodes } from './qmaxpool';
import { actParams, QTensor, type Value } from './qtensor';

/** How a Linear / Conv2d layer was quantized. */
export type LayerMode = 'static' | 'dynamic' | 'weight-only' | 'fp32';
/** What executes a step: the int8 GEMM, the int4 GEMM, or float32 (kept, or weights dequantized on load). */
export type LayerRuntime = 'int8' | 'int4' | 'fp32';

export interface LayerRecord {
  /** Dotted path of the layer in the float model ("0", "features.3"). */
  path: string;
  /** The float layer's `config()` (geometry of a Linear / Conv2d; the whole description of any other layer). */
  module: ModuleConfig;
  runtime: LayerRuntime;
  /** Linear / Conv2d only. */
  mode?: LayerMode;
  /** The weight scheme (quantized layers). */
  weights?: QuantSchemeJSON;
  /** Logical shape of the stored weight codes, [n, k] (k = Cin·kh·kw for a convolution). */
  weightShape?: number[];
  /** static / dynamic: the per-tensor activation scheme. */
  activations?: QuantSchemeJSON;
  /** A following ReLU is applied in this layer's epilogue. */
  relu?: boolean;
  /** Paths of the layers folded into this one (a BatchNorm, a ReLU). */
  fused?: string[];
}

export type TensorMap = Map<string, SafeTensor>;

function tensor(tensors: TensorMap, name: string, where: string): SafeTensor {
  const t = tensors.get(name);
  if (t === undefined) throw new DistiqRangeError(`${where}: missing tensor "${name}"`);
  return t;
}

function typed<T>(t: SafeTensor, ctor: new (...a: never[]) => T, name: string, where: string): T {
  if (!(t.data instanceof ctor)) throw new DistiqRangeError(`${where}: tensor "${name}" has dtype ${t.dtype}, expected ${ctor.name}`);
  return t.data as T;
}

/** The QuantizedTensor of a quantized layer's weight, from its stored parts. */
export function storedWeight(r: LayerRecord, tensors: TensorMap, where: string): QuantizedTensor {
  const scheme = QuantScheme.fromJSON(r.weights);
  const p = r.path;
  const data = tensor(tensors, `${p}.weight`, where).data;
  if (!(data instanceof Int8Array) && !(data instanceof Uint8Array)) throw new DistiqRangeError(`${where}: tensor "${p}.weight" must be I8 or U8 codes`);
  const opt = <T>(name: string, ctor: new (...a: never[]) => T): T | null => {
    const t = tensors.get(`${p}.${name}`);
    return t === undefined ? null : typed(t, ctor, `${p}.${name}`, where);
  };
  const st = tensors.get(`${p}.weight_scale`);
  const scale = st?.dtype === 'F16' ? f16ToF32(st.data as Uint16Array) : opt('weight_scale', Float32Array);
  const q: QuantizedTensor = {
    scheme,
    shape: Object.freeze([...(r.weightShape ?? [])]),
    data,
    scale,
    zeroPoint: opt('weight_zero_point', Int32Array),
    codebook: opt('weight_codebook', Float32Array),
  };
  return q;
}

function biasOf(r: LayerRecord, tensors: TensorMap, where: string): Float32Array | null {
  const t = tensors.get(`${r.path}.bias`);
  return t === undefined ? null : typed(t, Float32Array, `${r.path}.bias`, where);
}

/** A float layer (kept fp32, dequantized weights, or any non-quantized layer), run in eval mode. */
export class FloatStep implements RuntimeStep {
  constructor(
    readonly record: LayerRecord,
    readonly module: Module,
  ) {
    module.eval();
    module.path = record.path; // errors name the layer as in the float model
  }

  forward(v: Value): Value {
    if (this.module instanceof Flatten && v.shape.length >= 1) {
      // [N, d1, d2, …] → [N, d1·d2·…] from the shape (also for an empty batch); codes pass through (static chains).
      const flat = [v.shape[0]!, v.shape.slice(1).reduce((a, b) => a * b, 1)];
      return v.reshape(flat);
    }
    if (v instanceof QTensor) {
      if (this.module instanceof Dropout) return v; // eval mode: the identity, on codes too
      if (this.module instanceof MaxPool2d) {
        const pooled = maxPoolCodes(v, this.module);
        if (pooled !== null) return pooled;
      }
      v = v.dequantize();
    }
    return this.module.forward(v);
  }
}

/** Loads the module's own tensors (`path.<name>`) into a module rebuilt from the record. */
function floatModule(r: LayerRecord, tensors: TensorMap, where: string): Module {
  const m = buildModule(r.module);
  const state = new Map<string, Tensor>();
  for (const [name, t] of m.stateDict()) {
    const st = tensor(tensors, `${r.path}.${name}`, where);
    state.set(name, new Tensor(typed(st, Float32Array, `${r.path}.${name}`, where), t.shape));
  }
  m.loadStateDict(state);
  return m;
}

/** The executable step of a record (`where` names the file or call in errors). */
export function buildStep(r: LayerRecord, tensors: TensorMap, where: string): RuntimeStep {
  const cfg = r.module;
  const isConv = cfg.type === 'Conv2d';
  if (r.mode === undefined || r.mode === 'fp32') return new FloatStep(r, floatModule(r, tensors, where));
  const bias = biasOf(r, tensors, where);
  const q = storedWeight(r, tensors, where);
  const [n, k] = q.shape as [number, number];
  const relu = r.relu ?? false;
  let core;
  if (r.runtime === 'fp32') {
    // Weight-only with a mapping the integer kernels do not run: dequantized on load, packed fp32 GEMM.
    core = new F32Gemm({ n, k, weight: q.scheme.dequantize(q), bias, relu });
  } else if (r.runtime === 'int4') {
    const w = toInt4Weights(q);
    core = new Int4Gemm({ n, k, weights: w.weights, groupSize: w.groupSize, bias, relu });
  } else {
    const act = QuantScheme.fromJSON(r.activations);
    let input = null;
    if (r.mode === 'static') {
      const s = typed(tensor(tensors, `${r.path}.input_scale`, where), Float32Array, `${r.path}.input_scale`, where);
      const z = typed(tensor(tensors, `${r.path}.input_zero_point`, where), Int32Array, `${r.path}.input_zero_point`, where);
      input = actParams(act, s[0]!, z[0]!);
    }
    core = new Int8Gemm({
      n, k, codes: q.data as Int8Array, wScale: q.scale!, wZeroPoint: q.zeroPoint?.[0] ?? 0, bias, relu,
      input, dynamic: r.mode === 'dynamic' ? act : null,
    });
  }
  if (!isConv) return new QLinear(r, core);
  return new QConv2d(r, core, {
    inChannels: cfg.inChannels as number, kernelSize: cfg.kernelSize as number,
    stride: (cfg.stride as number | undefined) ?? 1, padding: (cfg.padding as number | undefined) ?? 0,
  });
}

