/**
 * Tensor: a row-major, contiguous float32 array with a shape. `data` may be a view into a larger buffer (layers
 * reuse their output buffers between steps, see docs/training.md); `reshape` and `view` never copy.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { describe } from '../validate';
import { formatShape, resolveShape, shapeEquals, shapeSize, type Shape } from './shape';

export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];

  /** Wraps `data` (not copied) with `shape`; `data.length` must equal the shape's element count. */
  constructor(data: Float32Array, shape: Shape) {
    if (!(data instanceof Float32Array)) {
      throw new DistiqTypeError(`The "data" argument must be a Float32Array. Received ${describe(data)}`);
    }
    const n = shapeSize(shape);
    if (data.length !== n) {
      throw new DistiqRangeError(
        `Expected data.length to equal ${n} (the size of shape ${formatShape(shape)}), received ${data.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    this.data = data;
    this.shape = Object.freeze(shape.slice());
  }

  static zeros(shape: Shape): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape);
  }

  static full(shape: Shape, value: number): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)).fill(value), shape);
  }

  /** Copies `values` (any array-like of numbers) into a new tensor of `shape` (default: 1-D). */
  static from(values: ArrayLike<number>, shape: Shape = [values.length]): Tensor {
    return new Tensor(Float32Array.from(values), shape);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Dimension `i` (negative counts from the end). */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new DistiqRangeError(`Dimension ${i} is out of range for a tensor of shape ${formatShape(this.shape)}`);
    return d;
  }

  /** Same data, new shape (one −1 may be inferred). Never copies. */
  reshape(shape: Shape): Tensor {
    return new Tensor(this.data, resolveShape(shape, this.data.length, this.shape));
  }

  /** Rows [start, end) along the first dimension, sharing the data. */
  slice(start: number, end: number): Tensor {
    const rows = this.shape[0] ?? 0;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > rows) {
      throw new DistiqRangeError(`Expected 0 <= start <= end <= ${rows}, received start ${start} and end ${end}`);
    }
    const inner = rows === 0 ? 0 : this.data.length / rows;
    return new Tensor(this.data.subarray(start * inner, end * inner), [end - start, ...this.shape.slice(1)]);
  }

  clone(): Tensor {
    return new Tensor(this.data.slice(), this.shape);
  }

  sameShape(other: Tensor): boolean {
    return shapeEquals(this.shape, other.shape);
  }

  /** Index of the largest element of each row of a 2-D tensor (first one on ties). */
  argmax(): Int32Array {
    if (this.shape.length !== 2) throw new DistiqRangeError(`argmax expects a 2-D tensor, received shape ${formatShape(this.shape)}`);
    const rows = this.shape[0]!, cols = this.shape[1]!;
    const out = new Int32Array(rows);
    const d = this.data;
    for (let r = 0; r < rows; r++) {
      let best = 0, bv = -Infinity;
      for (let c = 0, o = r * cols; c < cols; c++) {
        const v = d[o + c]!;
        if (v > bv) { bv = v; best = c; }
      }
      out[r] = best;
    }
    return out;
  }

  toString(): string {
    return `Tensor${formatShape(this.shape)}`;
  }
}

/** A layer's reusable buffer and the last tensor handed out from it. */
export interface ScratchCache {
  buf: Float32Array;
  last?: Tensor;
}

/**
 * Returns a tensor of `shape` backed by `cache` when it is large enough (a view of its first elements), or a new
 * buffer. Layers use it to reuse their output and gradient buffers from step to step; when the shape repeats, the
 * same Tensor object is returned (no allocation in steady state).
 */
export function scratch(cache: ScratchCache, shape: Shape): Tensor {
  const last = cache.last;
  if (last !== undefined && last.data.buffer === cache.buf.buffer && shapeEquals(last.shape, shape)) return last;
  const n = shapeSize(shape);
  if (cache.buf.length < n) cache.buf = new Float32Array(n);
  const t = new Tensor(n === cache.buf.length ? cache.buf : cache.buf.subarray(0, n), shape);
  cache.last = t;
  return t;
}
