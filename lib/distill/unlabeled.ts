/**
 * Data without labels: the input side of a dataset, for distillation from teacher outputs alone (the privacy use
 * case: the labelled data never reaches the student's training).
 *
 * A `SampleSource` has no label access at all: no `gather`, no `y`, no `numClasses`. `withoutLabels(ds)` is a view of
 * a labelled Dataset that holds it in a private field (unreachable from outside) and only ever calls its `gatherX`
 * (or, for a Dataset without `gatherX`, its `gather` into a private scratch label buffer that is never read).
 * Every `TensorDataset` is also a SampleSource (it has `gatherX`).
 */
import type { Dataset } from '../data/dataset';
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { formatShape, shapeSize } from '../tensor/shape';
import { describe, expectTypedArray } from '../validate';

/** Inputs without labels (see the module comment); every Dataset with `gatherX` is one too. */
export interface SampleSource {
  readonly length: number;
  /** Shape of one sample (e.g. [784]). */
  readonly sampleShape: readonly number[];
  /** Copies samples `indices` into `x` (rows of the sample size). */
  gatherX(indices: ArrayLike<number>, x: Float32Array): void;
}

/** True for an object with the SampleSource members (a Dataset with `gatherX` is one too). */
export function isSampleSource(v: unknown): v is SampleSource {
  return v !== null && typeof v === 'object' && typeof (v as SampleSource).gatherX === 'function'
    && typeof (v as SampleSource).length === 'number' && Array.isArray((v as SampleSource).sampleShape);
}

/** True for a labelled dataset (it has `gather(indices, x, y)`). */
export function hasLabels(v: unknown): v is Dataset {
  return v !== null && typeof v === 'object' && typeof (v as Dataset).gather === 'function';
}

/** Samples in one Float32Array `[N, ...sampleShape]`, with no labels. */
export class UnlabeledDataset implements SampleSource {
  readonly x: Float32Array;
  readonly sampleShape: readonly number[];
  readonly length: number;
  private readonly stride: number;

  constructor(x: Float32Array, sampleShape: readonly number[]) {
    expectTypedArray('x', x, Float32Array);
    const stride = shapeSize(sampleShape, 'sampleShape');
    if (stride === 0 || x.length === 0 || x.length % stride !== 0) {
      throw new DistiqRangeError(
        `Expected x.length to be a positive multiple of ${stride} (the size of sample shape ${formatShape(sampleShape)}), received ${x.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    this.x = x;
    this.sampleShape = Object.freeze(sampleShape.slice());
    this.length = x.length / stride;
    this.stride = stride;
  }

  gatherX(indices: ArrayLike<number>, x: Float32Array): void {
    const s = this.stride, src = this.x, n = this.length;
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new DistiqRangeError(`indices[${b}] must be an integer in [0, ${n - 1}] (the dataset has ${n} samples). Received ${describe(i)}`);
      x.set(src.subarray(i * s, (i + 1) * s), b * s);
    }
  }
}

/** The input side of a labelled dataset; the labels cannot be reached through it. */
class LabelFreeView implements SampleSource {
  readonly #data: Dataset;
  #scratchY = new Int32Array(0);
  readonly sampleShape: readonly number[];

  constructor(data: Dataset) {
    this.#data = data;
    this.sampleShape = Object.freeze(data.sampleShape.slice());
  }

  get length(): number {
    return this.#data.length;
  }

  gatherX(indices: ArrayLike<number>, x: Float32Array): void {
    const d = this.#data;
    if (typeof d.gatherX === 'function') {
      d.gatherX(indices, x);
      return;
    }
    if (this.#scratchY.length < indices.length) this.#scratchY = new Int32Array(indices.length);
    d.gather(indices, x, this.#scratchY.subarray(0, indices.length));
  }
}

/** A SampleSource view of `data` that cannot reach its labels. */
export function withoutLabels(data: Dataset): SampleSource {
  if (!hasLabels(data) && !isSampleSource(data)) {
    throw new DistiqTypeError(`The "data" argument must be a Dataset. Received ${describe(data)}`);
  }
  return new LabelFreeView(data);
}
