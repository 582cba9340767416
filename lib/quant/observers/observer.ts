/**
 * Observers: accumulate statistics of a tensor stream (calibration batches) and turn them into a range, then into
 * quantization parameters for a scheme. Per-tensor, or per-channel along `axis` (default 1: the feature / channel
 * axis of [N, C] and [N, C, H, W] activations; use 0 for a weight's output channels).
 *
 * `observe(x, shape?)` takes a Tensor or a Float32Array (with its shape; per-tensor needs none). Every value must
 * be finite: NaN or ±Infinity throws ERR_DISTIQ_NON_FINITE naming the observer, the batch and the element. The
 * channel count must not change between batches. `range()` with no batch observed throws.
 */
import { DistiqRangeError, DistiqTypeError } from '../../errors';
import { minMax, quantGeometry } from '../../ops/quantize';
import { Tensor } from '../../tensor/tensor';
import { describe, expectOneOf } from '../../validate';
import type { QuantScheme, RangeParams } from '../scheme';

export type ObserverGranularity = 'per-tensor' | 'per-channel';

export interface ObserverOptions {
  /** Default `per-tensor`. */
  granularity?: ObserverGranularity;
  /** per-channel: the channel axis (negative counts from the end); default 1. */
  axis?: number;
  /** Used in error messages (calibrate names observers after their layer). Default: the class name. */
  name?: string;
}

/** Observed range per slot (length 1 per-tensor, one per channel per-channel). */
export interface ObservedRange {
  min: Float32Array;
  max: Float32Array;
}

/** A batch seen as [outer, channels, inner] (per-tensor: [1, 1, count]). */
export interface BatchView {
  data: Float32Array;
  outer: number;
  channels: number;
  inner: number;
}

export abstract class Observer {
  readonly granularity: ObserverGranularity;
  readonly axis: number;
  name: string;
  /** Batches observed so far. */
  batches = 0;
  /** Slots (1, or the channel count fixed by the first batch); 0 before the first batch. */
  protected slots = 0;
  private rank = -1;

  constructor(opts: ObserverOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
    const granularity = opts.granularity ?? 'per-tensor';
    expectOneOf('granularity', granularity, ['per-tensor', 'per-channel'] as const);
    this.granularity = granularity;
    const axis = opts.axis ?? 1;
    if (typeof axis !== 'number' || !Number.isSafeInteger(axis)) throw new DistiqRangeError(`The "axis" argument must be an integer. Received ${describe(axis)}`);
    if (granularity === 'per-tensor' && opts.axis !== undefined) throw new DistiqRangeError(`The "axis" argument is only valid with granularity "per-channel". Received ${axis}`);
    this.axis = axis;
    this.name = opts.name ?? this.constructor.name;
  }

  /** Adds one batch. Returns this. */
  observe(x: Tensor | Float32Array, shape?: readonly number[]): this {
    let data: Float32Array, shp: readonly number[];
    if (x instanceof Tensor) {
      data = x.data;
      shp = shape ?? x.shape;
    } else if (x instanceof Float32Array) {
      data = x;
      if (shape === undefined && this.granularity === 'per-channel') {
        throw new DistiqTypeError(`${this.name}: the "shape" argument is required for a per-channel observer. Received undefined`);
      }
      shp = shape ?? [x.length];
    } else {
      throw new DistiqTypeError(`${this.name}: the "x" argument must be a Tensor or a Float32Array. Received ${describe(x)}`);
    }
    const batch = this.batches;
    let view: BatchView;
    if (this.granularity === 'per-tensor') {
      const geo = quantGeometry({ shape: shp });
      if (geo.count !== data.length) {
        throw new DistiqRangeError(`${this.name}: expected x.length to equal ${geo.count} (the product of shape), received ${data.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
      view = { data, outer: 1, channels: 1, inner: data.length };
    } else {
      const geo = quantGeometry({ shape: shp, granularity: 'per-channel', axis: this.axis });
      if (geo.count !== data.length) {
        throw new DistiqRangeError(`${this.name}: expected x.length to equal ${geo.count} (the product of shape), received ${data.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
      if (this.slots !== 0 && geo.channels !== this.slots) {
        throw new DistiqRangeError(
          `${this.name}: batch ${batch} has ${geo.channels} channels on axis ${this.axis}, earlier batches had ${this.slots}`,
          'ERR_DISTIQ_SHAPE_MISMATCH',
        );
      }
      view = { data, outer: geo.outer, channels: geo.channels, inner: geo.inner };
    }
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (!(v - v === 0)) {
        throw new DistiqRangeError(`${this.name}: calibration batch ${batch} has a non-finite value (x[${i}] = ${v})`, 'ERR_DISTIQ_NON_FINITE');
      }
    }
    if (this.rank < 0) this.rank = shp.length;
    this.slots = view.channels;
    if (data.length > 0) this.accumulate(view, batch);
    this.batches++;
    return this;
  }

  /** The observed range (after clipping, for the observers that clip). */
  range(): ObservedRange {
    this.expectObserved();
    return this.computeRange();
  }

  /** Quantization parameters of `scheme` for the observed range (see QuantScheme.paramsFromRange). */
  params(scheme: QuantScheme): RangeParams {
    this.expectCompatible(scheme);
    const r = this.range();
    return scheme.paramsFromRange(r.min, r.max);
  }

  /** Forgets every batch. */
  reset(): void {
    this.batches = 0;
    this.slots = 0;
    this.rank = -1;
    this.clear();
  }

  /** Adds a finite, non-empty batch. */
  protected abstract accumulate(v: BatchView, batch: number): void;
  protected abstract computeRange(): ObservedRange;
  protected abstract clear(): void;

  protected expectObserved(): void {
    if (this.batches === 0) {
      throw new DistiqRangeError(`${this.name}: no calibration batches were observed (expected at least 1)`);
    }
    if (!this.hasData()) throw new DistiqRangeError(`${this.name}: the observed batches were all empty (expected at least one element)`);
  }

  protected abstract hasData(): boolean;

  /** The scheme's granularity (and axis) must be the observer's. */
  protected expectCompatible(scheme: QuantScheme): void {
    const g = scheme.granularity;
    if (g === 'per-group') {
      throw new DistiqRangeError(`${this.name}: the "scheme.granularity" setting must be "${this.granularity}" to use this observer's ranges (per-group is for weights). Received "per-group"`);
    }
    if (g !== this.granularity) {
      throw new DistiqRangeError(`${this.name}: the "scheme.granularity" setting must be "${this.granularity}" (the observer's). Received "${g}"`);
    }
    if (g === 'per-channel' && this.rank >= 0) {
      const norm = (a: number): number => (a < 0 ? a + this.rank : a);
      if (norm(scheme.axis ?? 0) !== norm(this.axis)) {
        throw new DistiqRangeError(`${this.name}: the "scheme.axis" setting must be ${this.axis} (the observer's channel axis). Received ${scheme.axis}`);
      }
    }
  }
}

/** Per-slot min/max of a batch view (native reduction; a zero is +0). */
export function viewMinMax(v: BatchView): { min: Float32Array; max: Float32Array } {
  return minMax(v.data, { shape: [v.outer, v.channels, v.inner], granularity: 'per-channel', axis: 1 });
}
