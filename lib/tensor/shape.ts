/** Shape helpers: element counts, validation and formatting of row-major shapes. */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { describe } from '../validate';

export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar `[]`). Throws on a dimension that is not a safe integer ≥ 0. */
export function shapeSize(shape: Shape, name = 'shape'): number {
  if (!Array.isArray(shape)) throw new DistiqTypeError(`The "${name}" argument must be an array of integers. Received ${describe(shape)}`);
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new DistiqRangeError(`The "${name}" argument must hold integers >= 0; ${name}[${i}] is ${describe(d)}`);
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new DistiqRangeError(`The "${name}" [${shape.join(', ')}] is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  return n;
}

export function shapeEquals(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Row-major strides of a contiguous tensor of `shape`. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * Resolves a reshape target with at most one −1 (inferred) against `size` elements. Throws
 * ERR_DISTIQ_SHAPE_MISMATCH when the element counts differ.
 */
export function resolveShape(target: Shape, size: number, from: Shape): number[] {
  let infer = -1;
  let known = 1;
  const out = target.slice();
  for (let i = 0; i < target.length; i++) {
    const d = target[i]!;
    if (d === -1) {
      if (infer >= 0) throw new DistiqRangeError(`A reshape target may hold one -1 at most. Received ${formatShape(target)}`);
      infer = i;
    } else {
      if (!Number.isSafeInteger(d) || d < 0) throw new DistiqRangeError(`Reshape dimensions must be integers >= 0 or -1. Received ${formatShape(target)}`);
      known *= d;
    }
  }
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new DistiqRangeError(`Cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(target)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new DistiqRangeError(`Cannot reshape ${formatShape(from)} (${size} elements) to ${formatShape(target)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }
  return out;
}
