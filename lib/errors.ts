/**
 * Error classes with stable `code`s. The native addon throws the same codes, so a caller can branch on
 * `err.code` whether the TypeScript check or the native re-check caught the problem.
 */

export type DistiqErrorCode =
  | 'ERR_DISTIQ_INVALID_ARG_TYPE'
  | 'ERR_DISTIQ_INVALID_ARG_VALUE'
  | 'ERR_DISTIQ_SHAPE_MISMATCH'
  | 'ERR_DISTIQ_LIMIT_EXCEEDED'
  | 'ERR_DISTIQ_NON_FINITE'
  | 'ERR_DISTIQ_PACKED_MISMATCH'
  | 'ERR_DISTIQ_ISA'
  | 'ERR_DISTIQ_OUT_OF_MEMORY'
  | 'ERR_DISTIQ_NATIVE_LOAD'
  | 'ERR_DISTIQ_INTERNAL';

/** A wrong JavaScript type (e.g. a Float32Array where an Int8Array is required). */
export class DistiqTypeError extends TypeError {
  readonly code: DistiqErrorCode;
  constructor(message: string, code: DistiqErrorCode = 'ERR_DISTIQ_INVALID_ARG_TYPE') {
    super(message);
    this.name = 'DistiqTypeError';
    this.code = code;
  }
}

/** A value of the right type but outside what the operation accepts (shape, range, finiteness, limits). */
export class DistiqRangeError extends RangeError {
  readonly code: DistiqErrorCode;
  constructor(message: string, code: DistiqErrorCode = 'ERR_DISTIQ_INVALID_ARG_VALUE') {
    super(message);
    this.name = 'DistiqRangeError';
    this.code = code;
  }
}

/** Anything else: native load failures, out of memory, internal errors. */
export class DistiqError extends Error {
  readonly code: DistiqErrorCode;
  constructor(message: string, code: DistiqErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DistiqError';
    this.code = code;
  }
}

/**
 * Re-throws an error from an async native call with the caller's stack appended, so a rejected Promise points at
 * user code rather than at the libuv callback.
 */
export function withCallerStack(err: unknown, callerStack: string | undefined): unknown {
  if (err instanceof Error && callerStack) {
    const lines = callerStack.split('\n').slice(1).join('\n');
    err.stack = `${err.name}: ${err.message}\n${lines}`;
  }
  return err;
}
