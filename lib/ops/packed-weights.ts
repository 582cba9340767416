/**
 * PackedWeights: int8 weights packed once for the active int8 GEMM kernel, multiplied many times by
 * {@link gemmS8}. The packed bytes live in native memory owned by this object and are freed when it is garbage
 * collected (their size is reported to the GC, so large models still trigger collection).
 */
import { native, type NativePackedWeightsS8 } from '../native';
import { DistiqRangeError, DistiqTypeError, fromNative } from '../errors';
import { describe, expectInteger, expectLength, expectTypedArray } from '../validate';

/** The int8 GEMM's K limit: beyond it an int32 sum of 8-bit products could overflow. */
export const GEMM_S8_MAX_K = 65536;

export interface PackWeightsOptions {
  /** Row stride of `w` in elements (default k). */
  ldw?: number;
}

/** Weights W [n, k] (a Linear weight: one row per output channel) packed for one ISA's int8 GEMM kernel. */
export class PackedWeights {
  /** Output channels (rows of W). */
  readonly n: number;
  /** Reduction length (columns of W). */
  readonly k: number;
  /** The ISA level whose kernel layout the packed bytes use, e.g. "avx512vnni". */
  readonly layout: string;
  /** Native bytes held (row sums + panels). */
  readonly byteLength: number;
  // The native handle. A private field rather than a WeakMap: the brand check and the read are a few ns per call.
  readonly #handle: NativePackedWeightsS8;

  private constructor(handle: NativePackedWeightsS8) {
    this.#handle = handle;
    this.n = handle.n;
    this.k = handle.k;
    this.layout = handle.layout;
    this.byteLength = handle.byteLength;
    Object.freeze(this);
  }

  /** @internal Wraps a native handle (used by packWeights). */
  static fromNative(handle: NativePackedWeightsS8): PackedWeights {
    return new PackedWeights(handle);
  }

  /** @internal The native handle of `x`, or undefined when `x` is not a PackedWeights. */
  static handleOf(x: unknown): NativePackedWeightsS8 | undefined {
    return typeof x === 'object' && x !== null && #handle in x ? (x as PackedWeights).#handle : undefined;
  }
}

/** @internal The native handle behind `packed`, or a DistiqTypeError naming `name`. */
export function nativeHandle(name: string, packed: unknown): NativePackedWeightsS8 {
  const handle = PackedWeights.handleOf(packed);
  if (handle === undefined) {
    throw new DistiqTypeError(
      `The "${name}" argument must be a PackedWeights (from packWeights()). Received ${describe(packed)}`,
    );
  }
  return handle;
}

/**
 * Packs int8 weights W [n, k] (row-major, row stride `opts.ldw`, default k) for the int8 GEMM kernel that is active
 * now. Pack once, multiply many times. If the active ISA level changes (the DISTIQ_ISA cap or the test hook), pack
 * again: {@link gemmS8} rejects weights packed for another kernel with ERR_DISTIQ_PACKED_MISMATCH.
 * Throws DistiqTypeError / DistiqRangeError on bad arguments; k must be ≤ 65536.
 */
export function packWeights(w: Int8Array, n: number, k: number, opts: PackWeightsOptions = {}): PackedWeights {
  expectTypedArray('w', w, Int8Array);
  expectInteger('n', n);
  expectInteger('k', k);
  if (k > GEMM_S8_MAX_K) {
    throw new DistiqRangeError(
      `The "k" argument must be <= ${GEMM_S8_MAX_K} (the int8 GEMM limit that keeps int32 sums exact). Received ${k}`,
      'ERR_DISTIQ_LIMIT_EXCEEDED',
    );
  }
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts)) {
    throw new DistiqTypeError(`The "opts" argument must be an object. Received ${describe(opts)}`);
  }
  const ldw = opts.ldw ?? k;
  expectInteger('ldw', ldw, k);
  const need = n === 0 || k === 0 ? 0 : (n - 1) * ldw + k;
  if (!Number.isSafeInteger(need)) {
    throw new DistiqRangeError(`The size of "w" (${n} rows of stride ${ldw}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  expectLength('w', w.length, need, '(n-1)*ldw+k', true);
  let handle: NativePackedWeightsS8;
  try {
    handle = native.packWeightsS8(w, n, k, ldw);
  } catch (err) {
    throw fromNative(err);
  }
  return PackedWeights.fromNative(handle);
}
