/**
 * QuantizedModel: the runtime of a quantized Sequential model — a list of steps (QLinear / QConv2d on the integer
 * kernels, float layers for the rest) built from layer records and their tensors (lib/quant/runtime/record.ts).
 *
 * Static int8 chains: when a static int8 layer feeds another static int8 layer directly (only Flatten, Dropout and
 * MaxPool2d in between — they run on the codes, lib/quant/runtime/qmaxpool.ts — and the next layer's activation
 * scheme uses its dtype's full range), the first layer's epilogue writes the second's input codes (`requantize`), so
 * no float tensor is made in between; the bits equal those of a float output quantized afterwards (same float
 * expression, same rounding; pooling commutes with the non-decreasing quantization).
 *
 * `predict(x)` runs synchronously; `predictAsync(x)` runs the GEMMs on the libuv pool (other work stays on the JS
 * thread: activation quantization, im2col, float layers) and resolves with the same bits. Calls of one model run one
 * at a time: async calls are queued, and a `predict` while an async call is in flight is an error (the layers'
 * buffers are shared). Outputs are fresh tensors owned by the caller.
 */
import { DistiqRangeError, DistiqTypeError } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { describe } from '../../validate';
import { QLayer, type RuntimeStep } from './qlayer';
import { QTensor, type Value } from './qtensor';
import { buildStep, FloatStep, type LayerRecord, type TensorMap } from './record';
import { Int8Gemm } from './gemm-core';
import { Dropout } from '../../nn/dropout';
import { MaxPool2d } from '../../nn/pool';
import { Flatten } from '../../nn/sequential';

export class QuantizedModel {
  /** One record per step, in order (what the model file's metadata stores). */
  readonly layers: readonly LayerRecord[];
  /** The stored tensors by name (codes, scales, zero points, biases, float layers' state). */
  readonly tensors: TensorMap;
  private readonly steps: RuntimeStep[];
  private queue: Promise<unknown> = Promise.resolve();
  private inFlight = 0;

  /** Builds the runtime from records and tensors (`where` names the source in errors). */
  constructor(layers: readonly LayerRecord[], tensors: TensorMap, where = 'QuantizedModel') {
    if (!Array.isArray(layers) || layers.length === 0) throw new DistiqRangeError(`${where}: expected a non-empty array of layer records. Received ${describe(layers)}`);
    this.layers = Object.freeze(layers.map((r) => Object.freeze({ ...r })));
    this.tensors = tensors;
    this.steps = this.layers.map((r) => buildStep(r, tensors, where));
    this.planChains();
  }

  /** Sets `requant` on every static int8 layer that directly feeds another one (see the file comment). */
  private planChains(): void {
    const s = this.steps;
    for (let i = 0; i < s.length; i++) {
      const a = s[i]!;
      if (!(a instanceof QLayer) || !(a.core instanceof Int8Gemm) || a.core.input === null) continue;
      let j = i + 1;
      while (j < s.length && s[j] instanceof FloatStep && isShapeOnly((s[j] as FloatStep).module)) j++;
      const b = s[j];
      if (!(b instanceof QLayer) || !(b.core instanceof Int8Gemm) || b.core.input === null) continue;
      const p = b.core.input;
      const [lo, hi] = p.dtype === 'uint8' ? [0, 255] : [-128, 127];
      if (p.qmin === lo && p.qmax === hi) a.requant = p;
    }
  }

  /** Output of the model for input `x` (a fresh tensor). */
  predict(x: Tensor): Tensor {
    this.expectIdle();
    let v: Value = this.expectTensor(x);
    for (const s of this.steps) v = s.forward(v, false) as Value;
    return toOwnedTensor(v);
  }

  /** The Promise form of predict (same bits); calls on one model are queued. */
  predictAsync(x: Tensor): Promise<Tensor> {
    const input = this.expectTensor(x);
    this.inFlight++;
    const run = async (): Promise<Tensor> => {
      try {
        let v: Value = input;
        for (const s of this.steps) v = await s.forward(v, true);
        return toOwnedTensor(v);
      } finally {
        this.inFlight--; // before the caller's await resumes: a predict right after it is allowed
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Each step's output (float, fresh tensors) by the path of the last float-model layer it covers (a fused ReLU's or
   * BatchNorm's path when one is folded in), for layer-by-layer comparisons with the float model.
   */
  trace(x: Tensor): Map<string, Tensor> {
    this.expectIdle();
    const out = new Map<string, Tensor>();
    let v: Value = this.expectTensor(x);
    for (const s of this.steps) {
      v = s.forward(v, false) as Value;
      const r = s.record;
      out.set(r.fused?.length ? r.fused[r.fused.length - 1]! : r.path, toOwnedTensor(v));
    }
    return out;
  }

  /** Bytes of the stored tensors (what the model file holds, without its header). */
  get tensorBytes(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.data.byteLength;
    return n;
  }

  private expectTensor(x: unknown): Tensor {
    if (!(x instanceof Tensor)) throw new DistiqTypeError(`The "x" argument must be a Tensor. Received ${describe(x)}`);
    return x;
  }

  private expectIdle(): void {
    if (this.inFlight > 0) {
      throw new DistiqRangeError('QuantizedModel: a predictAsync call on this model is still running; await it before calling predict or trace');
    }
  }
}

/** Layers that run on codes as they are (static chains pass through them): Flatten, Dropout (eval), MaxPool2d. */
function isShapeOnly(m: unknown): boolean {
  return m instanceof Flatten || m instanceof Dropout || m instanceof MaxPool2d;
}

function toOwnedTensor(v: Value): Tensor {
  return v instanceof QTensor ? v.dequantize() : new Tensor(v.data.slice(), v.shape);
}
