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

const isCode = (code: unknown): code is DistiqErrorCode => typeof code === 'string' && code.startsWith('ERR_DISTIQ_');

/**
 * The one mapping from what the native addon throws (plain TypeError / RangeError / Error carrying an ERR_DISTIQ_*
 * `code`) to the Distiq classes, so a caller sees the same class and code whichever layer caught a problem. Every
 * wrapper in lib/ops calls it around its native call, sync and async. TypeError → DistiqTypeError, RangeError →
 * DistiqRangeError, anything else → DistiqError; an error without a distiq code (an N-API failure) becomes a
 * DistiqError ERR_DISTIQ_INTERNAL with the original as `cause`. The new error's stack starts at the wrapper that
 * called into native code, i.e. it shows the caller. Distiq errors pass through unchanged.
 */
export function fromNative(err: unknown): unknown {
  if (err instanceof DistiqTypeError || err instanceof DistiqRangeError || err instanceof DistiqError) return err;
  if (!(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  let mapped: Error;
  if (!isCode(code)) mapped = new DistiqError(err.message, 'ERR_DISTIQ_INTERNAL', { cause: err });
  else if (err instanceof TypeError) mapped = new DistiqTypeError(err.message, code);
  else if (err instanceof RangeError) mapped = new DistiqRangeError(err.message, code);
  else mapped = new DistiqError(err.message, code, { cause: err });
  Error.captureStackTrace(mapped, fromNative);
  return mapped;
}

/**
 * The call site of an async op, taken before its first await. Cheap: V8 formats the stack only if it is read, which
 * withCallerStack does on the error path alone.
 */
export function callSite(): Error {
  const site = new Error();
  Error.captureStackTrace(site, callSite);
  return site;
}

/**
 * Re-throws an error from an async native call with the caller's stack appended, so a rejected Promise points at
 * user code rather than at the libuv callback. `caller` is a callSite() (or a stack string).
 */
export function withCallerStack(err: unknown, caller: Error | string | undefined): unknown {
  const callerStack = typeof caller === 'string' ? caller : caller?.stack;
  if (err instanceof Error && callerStack) {
    const lines = callerStack.split('\n').slice(1).join('\n');
    err.stack = `${err.name}: ${err.message}\n${lines}`;
  }
  return err;
}

/** fromNative, then withCallerStack: what every async wrapper does with a rejection. */
export function fromNativeAsync(err: unknown, caller: Error | string | undefined): unknown {
  return withCallerStack(fromNative(err), caller);
}
