/**
 * The quantized products behind QLinear and QConv2d: `y[m, n] = x[m, k]·Wᵀ + b` (then ReLU when fused) with W
 * quantized, on the native kernels.
 *
 * - `Int8Gemm` (static and dynamic int8): W int8 codes packed once (`packWeights`), per-tensor or per-output-channel
 *   scale, a per-tensor zero point; the activation codes (u8 or s8, per-tensor parameters) times W in exact int32
 *   by `gemmS8`, whose fused epilogue gives `fma(float(acc), s_a·s_w[j], b[j])`, ReLU, and either float32 or the
 *   codes of the next layer's input (`roundHalfEven(y / s_out) + z_out`, clamped), bit-identical to quantizing the
 *   float output afterwards.
 * - `Int4Gemm` (weight-only int4/uint4): W codes and per-group scales (and zero points) packed once
 *   (`packWeightsS4`); `gemmS4` takes float activations and quantizes each row to int8 itself (absmax / 127,
 *   docs/int4.md), so "weight-only" here is the llama.cpp Q4 contract, not a float product; ReLU is one pass after.
 * - `F32Gemm` (weight-only schemes the integer kernels do not run: int8 per-group, nf4, kmeans, log2): the weights
 *   dequantized once and packed for the fp32 GEMM (`packWeightsF32`); the bias pre-filled and added by β = 1 — the
 *   bits of a float Linear with the dequantized weights (and of a float Conv2d: same k order); ReLU one pass after.
 */
import { gemmF32, gemmF32Async, packWeightsF32, type PackedWeightsF32 } from '../../ops/gemm-f32';
import { gemmS4, gemmS4Async, packWeightsS4, type Int4Weights, type PackedWeightsS4 } from '../../ops/gemm-s4';
import { gemmS8, gemmS8Async, type GemmS8Float32Options, type GemmS8Options } from '../../ops/gemm-s8';
import { packWeights, type PackedWeights } from '../../ops/packed-weights';
import type { QuantScheme } from '../scheme';
import { dynamicParams, quantizeActivation, type ActParams } from './qtensor';
import type { Scratch } from './scratch';

export interface Int8GemmInit {
  n: number;
  k: number;
  /** [n, k] int8 codes. */
  codes: Int8Array;
  /** 1 (per-tensor) or n (per output channel) float32 scales. */
  wScale: Float32Array;
  wZeroPoint: number;
  bias: Float32Array | null;
  relu: boolean;
  /** Static: the calibrated input parameters. */
  input: ActParams | null;
  /** Dynamic: the activation scheme whose parameters are taken from each batch. */
  dynamic: QuantScheme | null;
}

type Out8 = Float32Array | Uint8Array | Int8Array;

/** The float output with the fused ReLU pass applied (after the Promise settles for an async call). */
function reluAfter(r: Float32Array | Promise<Float32Array>, fused: boolean): Float32Array | Promise<Float32Array> {
  if (!fused) return r;
  if (r instanceof Promise) return r.then((y) => (relu(y), y));
  relu(r);
  return r;
}

function relu(y: Float32Array): void {
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    y[i] = v > 0 ? v : 0; // NaN-free inputs: max(v, 0), −0 → 0 like the int8 epilogue
  }
}

export class Int8Gemm {
  readonly n: number;
  readonly k: number;
  readonly packed: PackedWeights;
  readonly input: ActParams | null;
  readonly dynamic: QuantScheme | null;
  private readonly opts: GemmS8Options & { output: 'float32' | 'uint8' | 'int8' };

  constructor(init: Int8GemmInit) {
    this.n = init.n;
    this.k = init.k;
    this.packed = packWeights(init.codes, init.n, init.k);
    this.input = init.input;
    this.dynamic = init.dynamic;
    this.opts = {
      output: 'float32',
      wScale: init.wScale.length === 1 ? init.wScale[0]! : init.wScale,
      wZeroPoint: init.wZeroPoint,
      relu: init.relu,
      ...(init.bias !== null ? { bias: init.bias } : {}),
    };
  }

  /** Activation parameters for float input `x`: the static ones, or this batch's. */
  paramsFor(x: Float32Array): ActParams {
    return this.input ?? dynamicParams(x, this.dynamic!);
  }

  /** Codes of float input rows with `p` (into the layer's scratch). */
  quantizeInput(x: Float32Array, p: ActParams, scratch: Scratch): Uint8Array | Int8Array {
    const buf = p.dtype === 'uint8' ? scratch.get('in8', Uint8Array, x.length) : scratch.get('in8s', Int8Array, x.length);
    return quantizeActivation(x, p, buf);
  }

  /**
   * m rows of codes `a` (parameters `p`) times W. `requant` null: float32 out; else the codes of the next layer's
   * input parameters. Returns `out`, or a Promise of it when `async`.
   */
  run(a: Uint8Array | Int8Array, p: ActParams, m: number, requant: ActParams | null, out: Out8, async: boolean): Out8 | Promise<Out8> {
    const o = this.opts;
    o.aScale = p.scale;
    o.aZeroPoint = p.zeroPoint;
    o.out = out as never;
    if (requant === null) o.output = 'float32';
    else {
      o.output = requant.dtype;
      (o as { outScale?: number }).outScale = requant.scale;
      (o as { outZeroPoint?: number }).outZeroPoint = requant.zeroPoint;
    }
    // A copy for the async call (its options are read before the first await, but keep calls independent).
    if (async) return gemmS8Async(a, m, this.packed, { ...o } as GemmS8Float32Options) as Promise<Out8>;
    return gemmS8(a, m, this.packed, o as GemmS8Float32Options) as Out8;
  }
}

export interface Int4GemmInit {
  n: number;
  k: number;
  weights: Int4Weights;
  groupSize: number;
  bias: Float32Array | null;
  relu: boolean;
}

export class Int4Gemm {
  readonly n: number;
  readonly k: number;
  readonly packed: PackedWeightsS4;
  private readonly bias: Float32Array | null;
  private readonly relu: boolean;

  constructor(init: Int4GemmInit) {
    this.n = init.n;
    this.k = init.k;
    this.packed = packWeightsS4(init.weights, init.n, init.k, { groupSize: init.groupSize });
    this.bias = init.bias;
    this.relu = init.relu;
  }

  /** m float rows times W into `out` (float32), then ReLU when fused; a Promise when `async`. */
  run(x: Float32Array, m: number, out: Float32Array, async: boolean): Float32Array | Promise<Float32Array> {
    const opts = this.bias !== null ? { out, bias: this.bias } : { out };
    return reluAfter(async ? gemmS4Async(x, m, this.packed, opts) : gemmS4(x, m, this.packed, opts), this.relu);
  }
}

export interface F32GemmInit {
  n: number;
  k: number;
  /** [n, k] float32 weights (dequantized). */
  weight: Float32Array;
  bias: Float32Array | null;
  relu: boolean;
}

export class F32Gemm {
  readonly n: number;
  readonly k: number;
  readonly packed: PackedWeightsF32;
  private readonly bias: Float32Array | null;
  private readonly relu: boolean;

  constructor(init: F32GemmInit) {
    this.n = init.n;
    this.k = init.k;
    this.packed = packWeightsF32(init.weight, { k: init.k, n: init.n, transB: true });
    this.bias = init.bias;
    this.relu = init.relu;
  }

  /** m float rows times W (+ bias, then ReLU when fused) into `out`; a Promise when `async`. */
  run(x: Float32Array, m: number, out: Float32Array, async: boolean): Float32Array | Promise<Float32Array> {
    const b = this.bias, n = this.n;
    if (b !== null) for (let r = 0; r < m; r++) out.set(b, r * n);
    const opts = { beta: b !== null ? 1 : 0, out };
    return reluAfter(async ? gemmF32Async(x, this.packed, m, n, this.k, opts) : gemmF32(x, this.packed, m, n, this.k, opts), this.relu);
  }
}
