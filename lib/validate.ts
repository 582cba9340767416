/**
 * Argument checks for the public API. Messages name the argument, what was expected and what was received, in the
 * form Node uses for its own errors: `The "weights" argument must be an Int8Array. Received Float32Array`.
 */
import { DistiqRangeError, DistiqTypeError } from './errors';

export type AnyTypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayCtor<T> = { new (length: number): T; readonly name: string };

/** A short description of what a caller passed, for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'Array';
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return value.constructor?.name ? `an instance of ${value.constructor.name}` : 'object';
  return typeof value;
}

function article(name: string): string {
  return /^[AEIOU]/.test(name) ? 'an' : 'a';
}

/** Throws unless `value` is an instance of one of `ctors`. */
export function expectTypedArray<T extends AnyTypedArray>(
  name: string,
  value: unknown,
  ...ctors: TypedArrayCtor<T>[]
): asserts value is T {
  for (let i = 0; i < ctors.length; i++) {
    if (value instanceof (ctors[i] as unknown as new () => object)) return;
  }
  throwNotTypedArray(name, value, ctors);
}

function throwNotTypedArray(name: string, value: unknown, ctors: readonly { readonly name: string }[]): never {
  const names = ctors.map((c) => c.name);
  const expected = names.length === 1 ? `${article(names[0]!)} ${names[0]}` : `one of ${names.join(', ')}`;
  throw new DistiqTypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`);
}

/** True when `value` is an integer Number in [min, max] (the check of expectInteger, for hot paths). */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && value >= min && value <= max && Math.floor(value) === value;
}

/** Throws unless `value` is an integer in [min, max]. */
export function expectInteger(name: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  // min/max are within the safe range at every call site, so an in-range integer is a safe integer.
  if (!isIntegerIn(value, min, max) || !Number.isSafeInteger(value)) throwNotInteger(name, value, min, max);
}

function throwNotInteger(name: string, value: unknown, min: number, max: number): never {
  if (typeof value !== 'number') {
    throw new DistiqTypeError(`The "${name}" argument must be an integer. Received ${describe(value)}`);
  }
  throw new DistiqRangeError(`The "${name}" argument must be an integer in [${min}, ${max}]. Received ${value}`);
}

/** Throws unless `value` is a finite number (optionally within [min, max], or > min when `exclusiveMin`). */
export function expectFinite(
  name: string,
  value: unknown,
  opts?: { min?: number; max?: number; exclusiveMin?: boolean },
): asserts value is number {
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (opts === undefined) return;
    const { min, max, exclusiveMin } = opts;
    if ((min === undefined || (exclusiveMin ? value > min : value >= min)) && (max === undefined || value <= max)) return;
  }
  throwNotFinite(name, value, opts ?? {});
}

function throwNotFinite(name: string, value: unknown, opts: { min?: number; max?: number; exclusiveMin?: boolean }): never {
  if (typeof value !== 'number') {
    throw new DistiqTypeError(`The "${name}" argument must be a number. Received ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new DistiqRangeError(`The "${name}" argument must be a finite number. Received ${value}`, 'ERR_DISTIQ_NON_FINITE');
  }
  const { min, max, exclusiveMin } = opts;
  if (min !== undefined && (exclusiveMin ? !(value > min) : !(value >= min))) {
    throw new DistiqRangeError(`The "${name}" argument must be ${exclusiveMin ? '>' : '>='} ${min}. Received ${value}`);
  }
  throw new DistiqRangeError(`The "${name}" argument must be <= ${max}. Received ${value}`);
}

export function expectBoolean(name: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') {
    throw new DistiqTypeError(`The "${name}" argument must be a boolean. Received ${describe(value)}`);
  }
}

export function expectOneOf<T extends string>(name: string, value: unknown, options: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || options.indexOf(value as T) < 0) {
    throw new DistiqRangeError(
      `The "${name}" argument must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}. Received ${describe(value)}`,
    );
  }
}

/** Throws ERR_DISTIQ_SHAPE_MISMATCH unless `actual === expected` (or `>=` when `atLeast`). */
export function expectLength(name: string, actual: number, expected: number, formula: string, atLeast = false): void {
  if (atLeast ? actual >= expected : actual === expected) return;
  throwLength(name, actual, expected, formula, atLeast);
}

function throwLength(name: string, actual: number, expected: number, formula: string, atLeast: boolean): never {
  throw new DistiqRangeError(
    `Expected ${name}.length ${atLeast ? 'to be at least' : 'to equal'} ${expected} (${formula}), received ${actual}`,
    'ERR_DISTIQ_SHAPE_MISMATCH',
  );
}

/** Every element of `values` finite (and > 0 when `positive`); names the first offender. */
export function expectAllFinite(name: string, values: ArrayLike<number>, positive = false): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || (positive && !(v > 0))) {
      throw new DistiqRangeError(
        `Expected every element of "${name}" to be a ${positive ? 'positive ' : ''}finite number; ${name}[${i}] is ${v}`,
        Number.isFinite(v) ? 'ERR_DISTIQ_INVALID_ARG_VALUE' : 'ERR_DISTIQ_NON_FINITE',
      );
    }
  }
}

/** Allocates `ctor` of `length` when `out` is undefined; otherwise checks its type and length. */
export function outputArray<T extends AnyTypedArray>(
  name: string,
  out: unknown,
  ctor: TypedArrayCtor<T>,
  length: number,
  formula: string,
): T {
  if (out === undefined) return new ctor(length);
  expectTypedArray(name, out, ctor);
  expectLength(name, out.length, length, formula);
  return out;
}

/**
 * Elements a row-major matrix of `rows` rows of `cols` with row stride `ld` spans: (rows − 1)·ld + cols, or 0 when
 * empty; ERR_DISTIQ_LIMIT_EXCEEDED naming `name` beyond the safe-integer range.
 */
export function matrixExtent(name: string, rows: number, cols: number, ld: number): number {
  if (rows === 0 || cols === 0) return 0;
  const e = (rows - 1) * ld + cols;
  if (!Number.isSafeInteger(e)) {
    throw new DistiqRangeError(`The size of "${name}" (${rows} rows of stride ${ld}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  return e;
}

/** True when the first xBytes of x and the first yBytes of y overlap in one ArrayBuffer. */
export function sharesMemory(x: ArrayBufferView, xBytes: number, y: ArrayBufferView, yBytes: number): boolean {
  if (xBytes === 0 || yBytes === 0 || x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + yBytes && y.byteOffset < x.byteOffset + xBytes;
}
