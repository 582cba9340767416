/**
 * What QLinear and QConv2d share: the quantized product core (int8 or int4, lib/quant/runtime/gemm-core.ts), the
 * layer's record, its scratch buffers, and the step interface every runtime layer implements.
 */
import { DistiqRangeError } from '../../errors';
import { formatShape } from '../../tensor/shape';
import { Tensor } from '../../tensor/tensor';
import type { F32Gemm, Int4Gemm, Int8Gemm } from './gemm-core';
import { QTensor, type ActParams, type Value } from './qtensor';
import type { LayerRecord } from './record';
import { Scratch } from './scratch';

/** One step of a QuantizedModel: a value in, a value out (a Promise with `async`). */
export interface RuntimeStep {
  readonly record: LayerRecord;
  forward(v: Value, async: boolean): Value | Promise<Value>;
}

export type GemmCore = Int8Gemm | Int4Gemm | F32Gemm;

export abstract class QLayer implements RuntimeStep {
  /**
   * Static int8 chains: the parameters of the next layer's input when this layer's output feeds it directly (through
   * Flatten / Dropout only); the epilogue then writes that layer's codes instead of floats. Set by the model.
   */
  requant: ActParams | null = null;
  protected readonly scratch = new Scratch();

  constructor(
    readonly record: LayerRecord,
    readonly core: GemmCore,
  ) {}

  abstract forward(v: Value, async: boolean): Value | Promise<Value>;

  /** "QLinear '2'" for messages. */
  label(): string {
    return `${this.constructor.name} '${this.record.path}'`;
  }

  protected expectInput(ok: boolean, expected: string, shape: readonly number[]): void {
    if (!ok) throw new DistiqRangeError(`${this.label()} expects input of shape ${expected}, received ${formatShape(shape)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }

  /** The input as codes for an int8 core: the producer's codes when they carry this layer's parameters, else quantized. */
  protected codesOf(v: Value, core: Int8Gemm): { a: Uint8Array | Int8Array; p: ActParams } {
    if (v instanceof QTensor && core.input !== null && sameParams(v.params, core.input)) return { a: v.data, p: v.params };
    const x = v instanceof QTensor ? v.dequantize().data : v.data;
    const p = core.paramsFor(x);
    return { a: core.quantizeInput(x, p, this.scratch), p };
  }

  /** The input as floats (int4 and fp32 cores). */
  protected floatsOf(v: Value): Float32Array {
    return v instanceof QTensor ? v.dequantize().data : v.data;
  }

  /** The output buffer of the int8 epilogue: requantized codes or floats. */
  protected outBuffer(role: string, n: number): Float32Array | Uint8Array | Int8Array {
    const r = this.requant;
    if (r === null) return this.scratch.get(role, Float32Array, n);
    return r.dtype === 'uint8' ? this.scratch.get(`${role}8`, Uint8Array, n) : this.scratch.get(`${role}8s`, Int8Array, n);
  }

  protected wrap(data: Float32Array | Uint8Array | Int8Array, shape: readonly number[]): Value {
    return data instanceof Float32Array ? new Tensor(data, shape) : new QTensor(data, shape, this.requant!);
  }
}

export function sameParams(a: ActParams, b: ActParams): boolean {
  return a === b || (a.dtype === b.dtype && a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.qmin === b.qmin && a.qmax === b.qmax);
}

/** Resolves `r` (a value or a Promise of one) with `then`, staying synchronous for a value. */
export function after<T, U>(r: T | Promise<T>, then: (v: T) => U): U | Promise<U> {
  return r instanceof Promise ? r.then(then) : then(r);
}
