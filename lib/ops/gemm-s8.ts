/**
 * int8 GEMM: `C[i, j] = Σ_k (A[i, k] − z_a)·(W[j, k] − z_w)` exactly in int32, with fused epilogues.
 *
 * A is [m, k] row-major (row stride `lda`): a Uint8Array (u8×s8, z_a in [0, 255]) or an Int8Array (s8×s8, z_a in
 * [−128, 127]). W is an int8 weight [n, k] (a Linear weight, one row per output channel) packed once by
 * {@link packWeights}; z_w is in [−128, 127]. C is [m, n] with row stride `ldc`. k ≤ 65536, so with zero points 0
 * the int32 result is always exact; with zero points the result is the exact value modulo 2^32 (identical on every
 * ISA path and thread count).
 *
 * Outputs (`output`):
 * - `'int32'` (default): the accumulator.
 * - `'float32'`: `y = fma(float(acc), aScale·wScale[j], bias[j])`, then `max(y, 0)` when `relu`.
 * - `'uint8'` / `'int8'`: `clamp(roundHalfEven(y / outScale) + outZeroPoint)` to the type's range.
 * `wScale` is one number (per-tensor) or a Float32Array of n (per-channel); every path gives the same bits.
 */
import { DistiqRangeError, DistiqTypeError, withCallerStack, type DistiqErrorCode } from '../errors';
import { GemmOutKind, native } from '../native';
import { describe, expectAllFinite, expectBoolean, expectFinite, expectInteger, expectLength, expectTypedArray } from '../validate';
import { nativeHandle, PackedWeights } from './packed-weights';

export type GemmS8Output = 'int32' | 'float32' | 'uint8' | 'int8';

/** Options every output kind accepts. */
export interface GemmS8BaseOptions {
  /** Zero point of A: [0, 255] for a Uint8Array, [−128, 127] for an Int8Array (default 0). */
  aZeroPoint?: number;
  /** Zero point of W, in [−128, 127] (default 0: symmetric weights). */
  wZeroPoint?: number;
  /** Row stride of A in elements (default k). */
  lda?: number;
  /** Row stride of C in elements (default n). */
  ldc?: number;
}

/** Options of the float and requantized epilogues. */
export interface GemmS8ScaleOptions extends GemmS8BaseOptions {
  /** Scale of A (default 1); finite and > 0. */
  aScale?: number;
  /** Scale of W: one number (per-tensor) or n numbers (per output channel); finite and > 0 (default 1). */
  wScale?: number | Float32Array;
  /** Added per output channel (n elements) before ReLU. */
  bias?: Float32Array;
  /** Apply max(y, 0) (default false). */
  relu?: boolean;
}

export interface GemmS8Int32Options extends GemmS8BaseOptions {
  output?: 'int32';
  /** C: written in place and returned; allocated (m·ldc elements) when absent. Must not share memory with a. */
  out?: Int32Array;
}

export interface GemmS8Float32Options extends GemmS8ScaleOptions {
  output: 'float32';
  /** C: written in place and returned; allocated (m·ldc elements) when absent. Must not share memory with inputs. */
  out?: Float32Array;
}

export interface GemmS8Uint8Options extends GemmS8ScaleOptions {
  output: 'uint8';
  /** Scale of the requantized output (default 1); finite and > 0. */
  outScale?: number;
  /** Zero point of the output, in [0, 255] (default 0). */
  outZeroPoint?: number;
  out?: Uint8Array;
}

export interface GemmS8Int8Options extends GemmS8ScaleOptions {
  output: 'int8';
  /** Scale of the requantized output (default 1); finite and > 0. */
  outScale?: number;
  /** Zero point of the output, in [−128, 127] (default 0). */
  outZeroPoint?: number;
  out?: Int8Array;
}

export type GemmS8Options = GemmS8Int32Options | GemmS8Float32Options | GemmS8Uint8Options | GemmS8Int8Options;

type NativeGemmS8Args = Parameters<typeof native.gemmS8>;
type OutArray = Int32Array | Float32Array | Uint8Array | Int8Array;

const OUTPUTS: Record<GemmS8Output, { kind: GemmOutKind; ctor: { new (n: number): OutArray; name: string } }> = {
  int32: { kind: GemmOutKind.S32, ctor: Int32Array },
  float32: { kind: GemmOutKind.F32, ctor: Float32Array },
  uint8: { kind: GemmOutKind.U8, ctor: Uint8Array },
  int8: { kind: GemmOutKind.S8, ctor: Int8Array },
};

/** A scale: finite and > 0, and still so once rounded to float32. */
function expectScale(name: string, value: unknown): number {
  expectFinite(name, value, { min: 0, exclusiveMin: true });
  const f = Math.fround(value);
  if (!(f > 0) || !Number.isFinite(f)) {
    throw new DistiqRangeError(`The "${name}" argument must be a finite number > 0 as a float32. Received ${value}`);
  }
  return f;
}

function sharesMemory(x: ArrayBufferView, xBytes: number, y: ArrayBufferView, yBytes: number): boolean {
  if (x.buffer !== y.buffer || xBytes === 0 || yBytes === 0) return false;
  const x0 = x.byteOffset, y0 = y.byteOffset;
  return x0 < y0 + yBytes && y0 < x0 + xBytes;
}

function extent(name: string, rows: number, cols: number, ld: number): number {
  if (rows === 0 || cols === 0) return 0;
  const e = (rows - 1) * ld + cols;
  if (!Number.isSafeInteger(e)) {
    throw new DistiqRangeError(`The size of "${name}" (${rows} rows of stride ${ld}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  return e;
}

/**
 * Native errors carry the same codes as the TS checks; give them the TS classes too, so callers see one error type
 * whichever layer caught the problem (e.g. ERR_DISTIQ_PACKED_MISMATCH is only known natively).
 */
function fromNative(err: unknown): unknown {
  if (err instanceof DistiqRangeError || err instanceof DistiqTypeError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !code.startsWith('ERR_DISTIQ_')) return err;
  const message = (err as Error).message;
  if (err instanceof RangeError) return new DistiqRangeError(message, code as DistiqErrorCode);
  if (err instanceof TypeError) return new DistiqTypeError(message, code as DistiqErrorCode);
  return err;
}

function prepare(a: unknown, m: unknown, packed: unknown, opts: unknown): NativeGemmS8Args {
  expectTypedArray<Uint8Array | Int8Array>('a', a, Uint8Array, Int8Array);
  expectInteger('m', m);
  const handle = nativeHandle('packed', packed);
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts)) {
    throw new DistiqTypeError(`The "opts" argument must be an object. Received ${describe(opts)}`);
  }
  const o = opts as GemmS8Uint8Options & { output?: unknown; out?: unknown; outZeroPoint?: unknown };
  const { n, k } = handle;
  const signed = a instanceof Int8Array;

  const requested: unknown = o.output ?? 'int32';
  if (typeof requested !== 'string' || !Object.prototype.hasOwnProperty.call(OUTPUTS, requested)) {
    throw new DistiqRangeError(
      `The "output" option must be one of "int32", "float32", "uint8", "int8". Received ${describe(requested)}`,
    );
  }
  const output = requested as GemmS8Output;
  const { kind, ctor } = OUTPUTS[output];

  const za = o.aZeroPoint ?? 0;
  expectInteger('aZeroPoint', za, signed ? -128 : 0, signed ? 127 : 255);
  const zw = o.wZeroPoint ?? 0;
  expectInteger('wZeroPoint', zw, -128, 127);
  const lda = o.lda ?? k;
  expectInteger('lda', lda, k);
  const ldc = o.ldc ?? n;
  expectInteger('ldc', ldc, n);

  const readsA = m > 0 && n > 0 && k > 0;
  const aNeed = readsA ? extent('a', m, k, lda) : 0;
  expectLength('a', a.length, aNeed, '(m-1)*lda+k', true);

  // Epilogue options (ignored by 'int32', but still checked when given).
  const aScale = expectScale('aScale', o.aScale ?? 1);
  let wScale: Float32Array;
  const ws = o.wScale ?? 1;
  if (typeof ws === 'number') {
    wScale = Float32Array.of(expectScale('wScale', ws));
  } else {
    expectTypedArray('wScale', ws, Float32Array);
    if (ws.length !== 1 && ws.length !== n) {
      throw new DistiqRangeError(
        `Expected wScale.length to equal 1 (per-tensor) or ${n} (n, per-channel), received ${ws.length}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    expectAllFinite('wScale', ws, true);
    wScale = ws;
  }
  let bias: Float32Array | null = null;
  if (o.bias !== undefined) {
    expectTypedArray('bias', o.bias, Float32Array);
    expectLength('bias', o.bias.length, n, 'n');
    bias = o.bias;
  }
  const relu = o.relu ?? false;
  expectBoolean('relu', relu);
  const outScale = expectScale('outScale', o.outScale ?? 1);
  const outZp = o.outZeroPoint ?? 0;
  if (output === 'uint8') expectInteger('outZeroPoint', outZp, 0, 255);
  else if (output === 'int8') expectInteger('outZeroPoint', outZp, -128, 127);
  else expectInteger('outZeroPoint', outZp, -(2 ** 31), 2 ** 31 - 1);

  const cNeed = extent('out', m, n, ldc);
  let c: OutArray;
  if (o.out === undefined) {
    const size = m * ldc;
    if (!Number.isSafeInteger(size)) {
      throw new DistiqRangeError(`The size of "out" (${m} x ${ldc}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
    }
    c = new ctor(size);
  } else {
    expectTypedArray('out', o.out, ctor as unknown as { new (n: number): OutArray; name: string });
    c = o.out as OutArray;
    expectLength('out', c.length, cNeed, '(m-1)*ldc+n', true);
    const cBytes = cNeed * c.BYTES_PER_ELEMENT;
    if (sharesMemory(c, cBytes, a, aNeed)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "a"');
    }
    if (output !== 'int32' && sharesMemory(c, cBytes, wScale, wScale.length * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "wScale"');
    }
    if (output !== 'int32' && bias !== null && sharesMemory(c, cBytes, bias, bias.length * 4)) {
      throw new DistiqRangeError('The "out" argument must not share memory with "bias"');
    }
  }
  return [a, m, lda, za, handle, zw, kind, c, ldc, aScale, wScale, bias, relu, outScale, outZp];
}

/**
 * int8 GEMM `C = (A − z_a)·(W − z_w)ᵀ` with an optional fused epilogue (see the module comment). `a` is a
 * Uint8Array (u8×s8) or an Int8Array (s8×s8) of m rows of `packed.k` (stride `lda`); the result has m rows of
 * `packed.n` (stride `ldc`). Returns C, typed by `output` (`opts.out` when given). Throws DistiqTypeError /
 * DistiqRangeError on bad arguments, and ERR_DISTIQ_PACKED_MISMATCH when `packed` was made for another kernel.
 */
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts?: GemmS8Int32Options): Int32Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Float32Options): Float32Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Uint8Options): Uint8Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Int8Options): Int8Array;
export function gemmS8(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Options = {}): OutArray {
  const args = prepare(a, m, packed, opts);
  try {
    native.gemmS8(...args);
  } catch (err) {
    throw fromNative(err);
  }
  return args[7];
}

/**
 * The Promise form of {@link gemmS8}: runs on the libuv pool so the event loop stays free. Do not modify or transfer
 * a, out, wScale or bias until it settles. Resolves with C; the bits equal the synchronous form's.
 */
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts?: GemmS8Int32Options): Promise<Int32Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Float32Options): Promise<Float32Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Uint8Options): Promise<Uint8Array>;
export function gemmS8Async(a: Uint8Array | Int8Array, m: number, packed: PackedWeights, opts: GemmS8Int8Options): Promise<Int8Array>;
export async function gemmS8Async(
  a: Uint8Array | Int8Array,
  m: number,
  packed: PackedWeights,
  opts: GemmS8Options = {},
): Promise<OutArray> {
  const args = prepare(a, m, packed, opts);
  const stack = new Error().stack;
  try {
    await native.gemmS8Async(...args);
  } catch (err) {
    throw withCallerStack(fromNative(err), stack);
  }
  return args[7];
}
