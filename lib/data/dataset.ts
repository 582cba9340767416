/**
 * Datasets and the DataLoader.
 *
 * A `Dataset` is indexable samples of a fixed shape with an integer label each; `gather(indices, x, y)` copies a batch
 * into caller-owned buffers. `TensorDataset` holds everything in one Float32Array [N, ...sampleShape] + Int32Array [N].
 *
 * `DataLoader` cuts an epoch into batches: order 0..N−1, or (shuffle) a permutation drawn at the start of each epoch
 * by Fisher–Yates on the identity with the loader's own seeded Rng — so an epoch's order depends only on the
 * generator state at its start, which checkpoints save (`rng.getState()`). The last short batch is dropped with
 * `dropLast`. Batches are written into buffers the loader reuses: a yielded batch is valid until the next one.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { Rng } from '../tensor/random';
import { formatShape, shapeSize } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { describe, expectBoolean, expectInteger, expectTypedArray } from '../validate';

export interface Dataset {
  readonly length: number;
  /** Shape of one sample (e.g. [784] or [1, 28, 28]). */
  readonly sampleShape: readonly number[];
  /** Number of classes, when labels are class indices. */
  readonly numClasses: number;
  /** Copies samples `indices` into x (rows) and their labels into y. */
  gather(indices: ArrayLike<number>, x: Float32Array, y: Int32Array): void;
  /** Copies samples `indices` into x without reading any label (lib/distill SampleSource); optional. */
  gatherX?(indices: ArrayLike<number>, x: Float32Array): void;
}

export class TensorDataset implements Dataset {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  private readonly stride: number;

  /**
   * `x`: [N, ...sampleShape] values; `y`: N labels in [0, numClasses) (numClasses defaults to max(y) + 1).
   * Throws on an empty dataset, a length mismatch or a label out of range.
   */
  constructor(x: Float32Array, y: Int32Array, sampleShape: readonly number[], numClasses?: number) {
    expectTypedArray('x', x, Float32Array);
    expectTypedArray('y', y, Int32Array);
    if (y.length === 0) throw new DistiqRangeError('The dataset is empty (0 samples)');
    const stride = shapeSize(sampleShape, 'sampleShape');
    if (x.length !== y.length * stride) {
      throw new DistiqRangeError(
        `Expected x.length to equal ${y.length * stride} (${y.length} labels × sample shape ${formatShape(sampleShape)}), received ${x.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    let max = 0;
    for (let i = 0; i < y.length; i++) {
      const v = y[i]!;
      if (v < 0) throw new DistiqRangeError(`Expected labels >= 0; y[${i}] is ${v}`);
      if (v > max) max = v;
    }
    const classes = numClasses ?? max + 1;
    expectInteger('numClasses', classes, 1);
    if (max >= classes) throw new DistiqRangeError(`Expected labels in [0, ${classes - 1}] (numClasses = ${classes}); found label ${max}`);
    this.x = x;
    this.y = y;
    this.sampleShape = Object.freeze(sampleShape.slice());
    this.numClasses = classes;
    this.stride = stride;
  }

  get length(): number {
    return this.y.length;
  }

  gather(indices: ArrayLike<number>, x: Float32Array, y: Int32Array): void {
    const s = this.stride, src = this.x, lab = this.y;
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      x.set(src.subarray(i * s, (i + 1) * s), b * s);
      y[b] = lab[i]!;
    }
  }

  gatherX(indices: ArrayLike<number>, x: Float32Array): void {
    const s = this.stride, src = this.x;
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b]!;
      x.set(src.subarray(i * s, (i + 1) * s), b * s);
    }
  }

  /** Samples [start, end) as a new dataset sharing memory (e.g. a validation split). */
  subset(start: number, end: number): TensorDataset {
    expectInteger('start', start, 0, this.length);
    expectInteger('end', end, start, this.length);
    return new TensorDataset(this.x.subarray(start * this.stride, end * this.stride), this.y.subarray(start, end), this.sampleShape, this.numClasses);
  }
}

export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Seed of the shuffling generator (default 0). */
  seed?: number;
}

export interface Batch {
  /** [size, ...sampleShape] */
  x: Tensor;
  /** [size] labels. */
  y: Int32Array;
  size: number;
  /** [size] dataset indices of the rows (a view of the epoch order, valid until the next batch). */
  indices: Int32Array;
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** The shuffling generator (its state at an epoch start determines that epoch's order). */
  readonly rng: Rng;
  private readonly order: Int32Array;
  private xBuf = new Float32Array(0);
  private yBuf = new Int32Array(0);

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    if (dataset === null || typeof dataset !== 'object' || typeof (dataset as Dataset).gather !== 'function') {
      throw new DistiqTypeError(`The "dataset" argument must be a Dataset. Received ${describe(dataset)}`);
    }
    if (!(dataset.length > 0)) throw new DistiqRangeError('The "dataset" argument is empty (0 samples)');
    const { batchSize } = options;
    const shuffle = options.shuffle ?? false, dropLast = options.dropLast ?? false;
    expectInteger('batchSize', batchSize, 1);
    expectBoolean('shuffle', shuffle);
    expectBoolean('dropLast', dropLast);
    if (dropLast && batchSize > dataset.length) {
      throw new DistiqRangeError(`The "batchSize" (${batchSize}) exceeds the dataset size (${dataset.length}) with dropLast: no batch would be produced`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.rng = new Rng(options.seed ?? 0);
    this.order = new Int32Array(dataset.length);
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const n = this.dataset.length, bs = this.batchSize, order = this.order;
    for (let i = 0; i < n; i++) order[i] = i;
    if (this.shuffle) this.rng.shuffle(order);
    const stride = shapeSize(this.dataset.sampleShape);
    if (this.xBuf.length < bs * stride) this.xBuf = new Float32Array(bs * stride);
    if (this.yBuf.length < bs) this.yBuf = new Int32Array(bs);
    const batches = this.length;
    for (let b = 0; b < batches; b++) {
      const start = b * bs, size = Math.min(bs, n - start);
      const x = size === bs ? this.xBuf.subarray(0, bs * stride) : this.xBuf.subarray(0, size * stride);
      const y = this.yBuf.subarray(0, size);
      const indices = order.subarray(start, start + size);
      this.dataset.gather(indices, x, y);
      yield { x: new Tensor(x, [size, ...this.dataset.sampleShape]), y, size, indices };
    }
  }
}
