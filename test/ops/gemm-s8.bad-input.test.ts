/**
 * int8 GEMM bad input: every case asserts the error class, its `code`, and that the message names the argument and
 * what was expected vs received, first through the TS API, then straight through `native.*` to prove the native
 * re-check (the TS layer is not the only guard).
 */
import { describe, expect, it } from 'vitest';

import { DistiqRangeError, DistiqTypeError, gemmS8, gemmS8Async, packWeights } from '../../lib';
import { native } from '../../lib/native';
import { expectError, expectRejection } from '../helpers/expect-error';
import { levels, withIsa } from '../helpers/isa';

const W = new Int8Array(4 * 3).fill(1); // n = 4, k = 3
const packed = () => packWeights(W, 4, 3);
const u8 = (n: number) => new Uint8Array(n).fill(1);

describe('gemmS8 / packWeights: bad input through the TS API', () => {
  it('wrong element type for a, and a plain Array', () => {
    expectError(() => gemmS8(new Float32Array(6) as unknown as Uint8Array, 2, packed()), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/, /Uint8Array, Int8Array/, /Received Float32Array/);
    expectError(() => gemmS8(new Uint8ClampedArray(6) as unknown as Uint8Array, 2, packed()), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/, /Received Uint8ClampedArray/);
    expectError(() => gemmS8([1, 2, 3, 4, 5, 6] as unknown as Uint8Array, 2, packed()), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/, /Received Array/);
  });

  it('short a', () => {
    expectError(() => gemmS8(u8(5), 2, packed()), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /a\.length/, /at least 6/, /\(m-1\)\*lda\+k/, /received 5/);
    expectError(() => gemmS8(u8(6), 2, packed(), { lda: 4 }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /a\.length/, /at least 7/, /received 6/);
  });

  it('negative, fractional and non-number m; lda and ldc below the row length', () => {
    expectError(() => gemmS8(u8(6), -1, packed()), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"m"/, /integer/, /Received -1/);
    expectError(() => gemmS8(u8(6), 1.5, packed()), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"m"/, /integer/, /Received 1\.5/);
    expectError(() => gemmS8(u8(6), '2' as unknown as number, packed()), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"m"/, /integer/, /Received string/);
    expectError(() => gemmS8(u8(6), 2, packed(), { lda: 2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"lda"/, /\[3, /, /Received 2/);
    expectError(() => gemmS8(u8(6), 2, packed(), { ldc: 3 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"ldc"/, /\[4, /, /Received 3/);
  });

  it('K above 65536 when packing, bad w, bad dims', () => {
    expectError(() => packWeights(new Int8Array(65537), 1, 65537), DistiqRangeError, 'ERR_DISTIQ_LIMIT_EXCEEDED',
      /"k"/, /<= 65536/, /Received 65537/);
    expectError(() => packWeights(new Uint8Array(12) as unknown as Int8Array, 4, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"w"/, /Int8Array/, /Received Uint8Array/);
    expectError(() => packWeights(new Int8Array(11), 4, 3), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /w\.length/, /at least 12/, /received 11/);
    expectError(() => packWeights(new Int8Array(12), -4, 3), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"n"/, /Received -4/);
    expectError(() => packWeights(new Int8Array(12), 4, 3, { ldw: 2 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldw"/, /\[3, /, /Received 2/);
  });

  it('NaN, infinite and non-positive scales', () => {
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', aScale: Number.NaN }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"aScale"/, /finite/, /Received NaN/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'uint8', outScale: Infinity }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"outScale"/, /Received Infinity/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', wScale: 0 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"wScale"/, /> 0/, /Received 0/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', wScale: Float32Array.of(1, Number.NaN, 1, 1) }),
      DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /wScale\[1\]/, /NaN/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', aScale: 1e-50 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"aScale"/, /float32/, /Received 1e-50/);
  });

  it('zero points out of range', () => {
    expectError(() => gemmS8(u8(6), 2, packed(), { aZeroPoint: 256 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"aZeroPoint"/, /\[0, 255\]/, /Received 256/);
    expectError(() => gemmS8(new Int8Array(6), 2, packed(), { aZeroPoint: 128 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"aZeroPoint"/, /\[-128, 127\]/, /Received 128/);
    expectError(() => gemmS8(u8(6), 2, packed(), { aZeroPoint: -1 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"aZeroPoint"/, /Received -1/);
    expectError(() => gemmS8(u8(6), 2, packed(), { wZeroPoint: -129 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"wZeroPoint"/, /\[-128, 127\]/, /Received -129/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'uint8', outZeroPoint: 256 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"outZeroPoint"/, /\[0, 255\]/, /Received 256/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'int8', outZeroPoint: -129 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"outZeroPoint"/, /\[-128, 127\]/, /Received -129/);
  });

  it('wScale and bias of the wrong length or type', () => {
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', wScale: new Float32Array(3) }),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /wScale\.length/, /1 \(per-tensor\) or 4/, /received 3/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', bias: new Float32Array(5) }),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /bias\.length/, /equal 4/, /received 5/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', bias: new Float64Array(4) as never }),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"bias"/, /Float32Array/, /Received Float64Array/);
  });

  it('an out array of the wrong type or length for the output kind; an unknown output kind', () => {
    expectError(() => gemmS8(u8(6), 2, packed(), { out: new Float32Array(8) as never }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"out"/, /Int32Array/, /Received Float32Array/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'uint8', out: new Int8Array(8) as never }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"out"/, /Uint8Array/, /Received Int8Array/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', out: new Float32Array(7) }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/, /at least 8/, /received 7/);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float16' as never }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"output"/, /"int32", "float32", "uint8", "int8"/, /Received string "float16"/);
  });

  it('an out array that shares memory with a, wScale or bias', () => {
    const buf = new ArrayBuffer(64);
    const a = new Uint8Array(buf, 0, 6).fill(1);
    expectError(() => gemmS8(a, 2, packed(), { output: 'uint8', out: new Uint8Array(buf, 4, 8) }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /share memory/, /"a"/);
    const f = new ArrayBuffer(64);
    const bias = new Float32Array(f, 0, 4);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', bias, out: new Float32Array(f, 8, 8) }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /share memory/, /"bias"/);
    const wScale = new Float32Array(f, 32, 4).fill(1);
    expectError(() => gemmS8(u8(6), 2, packed(), { output: 'float32', wScale, out: new Float32Array(f, 24, 8) }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /share memory/, /"wScale"/);
  });

  it('something that is not a PackedWeights', () => {
    const fake = { n: 4, k: 3, layout: 'avx2', byteLength: 64 };
    expectError(() => gemmS8(u8(6), 2, fake as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"packed"/, /PackedWeights/, /Received an instance of Object/);
    expectError(() => gemmS8(u8(6), 2, W as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"packed"/, /PackedWeights/, /Received Int8Array/);
  });

  it('weights packed for another ISA level must be packed again', () => {
    expect(levels.length).toBeGreaterThan(1);
    const other = levels[0]!; // 'ref'
    const p = withIsa(other, () => packWeights(W, 4, 3));
    const active = levels[levels.length - 1]!;
    withIsa(active, () => {
      expectError(() => gemmS8(u8(6), 2, p), DistiqRangeError, 'ERR_DISTIQ_PACKED_MISMATCH',
        /"packed"/, new RegExp(`"${other}"`), new RegExp(`"${active}"`), /pack the weights again/);
    });
  });

  it('the async form rejects with the same errors', async () => {
    await expectRejection(gemmS8Async(u8(5), 2, packed()), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /a\.length/, /at least 6/, /received 5/);
    await expectRejection(gemmS8Async(u8(6), 2, {} as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"packed"/);
  });
});

// Native argument list of a valid 2×3 · (4×3)ᵀ product:
// (a, m, lda, za, packed, zw, outKind, c, ldc, aScale, wScale, bias, relu, outScale, outZp)
type NativeArgs = Parameters<typeof native.gemmS8>;
const handle = () => native.packWeightsS8(W, 4, 3, 3);
const good = (): NativeArgs => [u8(6), 2, 3, 0, handle(), 0, 0, new Int32Array(8), 4, 1, null, null, false, 1, 0];
function nativeWith(changes: Record<number, unknown>): NativeArgs {
  const args = good() as unknown[];
  for (const [i, v] of Object.entries(changes)) args[Number(i)] = v;
  return args as NativeArgs;
}
const TYPE = 'ERR_DISTIQ_INVALID_ARG_TYPE', VALUE = 'ERR_DISTIQ_INVALID_ARG_VALUE', SHAPE = 'ERR_DISTIQ_SHAPE_MISMATCH';

describe('gemmS8: the native re-check (straight through native.*)', () => {
  it('accepts the baseline call', () => {
    const args = good();
    native.gemmS8(...args);
    expect(Array.from(args[7] as Int32Array)).toEqual(new Array(8).fill(3));
  });

  it('rejects wrong array types for a and c', () => {
    expectError(() => native.gemmS8(...nativeWith({ 0: new Float32Array(6) })), TypeError, TYPE,
      /"a"/, /Uint8Array/, /Int8Array/, /Received Float32Array/);
    expectError(() => native.gemmS8(...nativeWith({ 0: [1, 2, 3, 4, 5, 6] })), TypeError, TYPE, /"a"/, /Received Array/);
    expectError(() => native.gemmS8(...nativeWith({ 7: new Float32Array(8) })), TypeError, TYPE,
      /"c"/, /an Int32Array for outKind 0/, /Received Float32Array/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 2, 7: new Int8Array(8), 10: Float32Array.of(1) })), TypeError,
      TYPE, /"c"/, /a Uint8Array for outKind 2/, /Received Int8Array/);
  });

  it('rejects short a and c, bad dims and strides', () => {
    expectError(() => native.gemmS8(...nativeWith({ 0: u8(5) })), RangeError, SHAPE, /a\.length/, /at least 6/, /received 5/);
    expectError(() => native.gemmS8(...nativeWith({ 7: new Int32Array(7) })), RangeError, SHAPE,
      /c\.length/, /at least 8/, /received 7/);
    expectError(() => native.gemmS8(...nativeWith({ 1: -1 })), RangeError, VALUE, /"m"/, /integer/, /Received -1/);
    expectError(() => native.gemmS8(...nativeWith({ 1: 1.5 })), RangeError, VALUE, /"m"/, /Received 1\.5/);
    expectError(() => native.gemmS8(...nativeWith({ 2: 2 })), RangeError, VALUE, /"lda"/, />= 3/, /Received 2/);
    expectError(() => native.gemmS8(...nativeWith({ 8: 3 })), RangeError, VALUE, /"ldc"/, />= 4/, /Received 3/);
    expectError(() => native.gemmS8(...(good().slice(0, 14) as unknown as NativeArgs)), TypeError, TYPE,
      /gemmS8/, /15 arguments/, /received 14/);
  });

  it('rejects zero points and output kinds out of range', () => {
    expectError(() => native.gemmS8(...nativeWith({ 3: 256 })), RangeError, VALUE, /"za"/, /\[0, 255\]/, /Received 256/);
    expectError(() => native.gemmS8(...nativeWith({ 0: new Int8Array(6), 3: -129 })), RangeError, VALUE,
      /"za"/, /\[-128, 127\]/, /Received -129/);
    expectError(() => native.gemmS8(...nativeWith({ 5: 128 })), RangeError, VALUE, /"zw"/, /\[-128, 127\]/, /Received 128/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 4 })), RangeError, VALUE, /"outKind"/, /\[0, 3\]/, /Received 4/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 3, 7: new Int8Array(8), 10: Float32Array.of(1), 14: 200 })),
      RangeError, VALUE, /"outZp"/, /\[-128, 127\]/, /Received 200/);
  });

  it('rejects NaN / non-positive scales and bad wScale / bias', () => {
    expectError(() => native.gemmS8(...nativeWith({ 9: Number.NaN })), RangeError, 'ERR_DISTIQ_NON_FINITE',
      /"aScale"/, /finite/, /Received nan/i);
    expectError(() => native.gemmS8(...nativeWith({ 13: 0 })), RangeError, VALUE, /"outScale"/, /> 0/, /Received 0/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 1, 7: new Float32Array(8) })), TypeError, TYPE,
      /"wScale"/, /Float32Array/, /Received null/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 1, 7: new Float32Array(8), 10: new Float32Array(2).fill(1) })),
      RangeError, SHAPE, /wScale\.length/, /1 \(per-tensor\) or 4/, /received 2/);
    expectError(() => native.gemmS8(...nativeWith({ 6: 1, 7: new Float32Array(8), 10: Float32Array.of(-1) })),
      RangeError, VALUE, /wScale\[0\]/, /-1/);
    expectError(() => native.gemmS8(...nativeWith({ 11: new Float32Array(3) })), RangeError, SHAPE,
      /bias\.length/, /equal 4/, /received 3/);
    expectError(() => native.gemmS8(...nativeWith({ 12: 1 })), TypeError, TYPE, /"relu"/, /boolean/);
  });

  it('rejects anything but a PackedWeightsS8 handle, including prototype look-alikes', () => {
    expectError(() => native.gemmS8(...nativeWith({ 4: { n: 4, k: 3, layout: 'avx2', byteLength: 0 } })), TypeError,
      TYPE, /"packed"/, /PackedWeights/);
    const proto = Object.getPrototypeOf(handle()) as object;
    expectError(() => native.gemmS8(...nativeWith({ 4: Object.create(proto) })), TypeError, TYPE, /"packed"/);
    expectError(() => native.gemmS8(...nativeWith({ 4: null })), TypeError, TYPE, /"packed"/, /Received null/);
    const Ctor = (proto as { constructor: new () => unknown }).constructor;
    expectError(() => new Ctor(), TypeError, TYPE, /cannot be constructed directly/);
  });

  it('rejects an output sharing memory with a', () => {
    const buf = new ArrayBuffer(64);
    const a = new Uint8Array(buf, 0, 6).fill(1);
    expectError(() => native.gemmS8(...nativeWith({ 0: a, 6: 2, 7: new Uint8Array(buf, 5, 8), 10: Float32Array.of(1) })),
      RangeError, VALUE, /"c"/, /share memory/, /"a"/);
  });

  it('rejects weights packed for another level, and bad packWeightsS8 arguments', () => {
    const p = withIsa(levels[0]!, () => native.packWeightsS8(W, 4, 3, 3));
    withIsa(levels[levels.length - 1]!, () => {
      expectError(() => native.gemmS8(...nativeWith({ 4: p })), RangeError, 'ERR_DISTIQ_PACKED_MISMATCH',
        /"packed"/, /pack the weights again/);
      expectError(() => native.gemmS8Async(...nativeWith({ 4: p })), RangeError, 'ERR_DISTIQ_PACKED_MISMATCH',
        /"packed"/);
    });
    expectError(() => native.packWeightsS8(new Int8Array(65537), 1, 65537, 65537), RangeError,
      'ERR_DISTIQ_LIMIT_EXCEEDED', /"k"/, /<= 65536/, /Received 65537/);
    expectError(() => native.packWeightsS8(new Uint8Array(12) as never, 4, 3, 3), TypeError, TYPE,
      /"w"/, /Int8Array/, /Received Uint8Array/);
    expectError(() => native.packWeightsS8(W, 4, 3, 2), RangeError, VALUE, /"ldw"/, />= 3/, /Received 2/);
    expectError(() => native.packWeightsS8(new Int8Array(11), 4, 3, 3), RangeError, SHAPE,
      /w\.length/, /at least 12/, /received 11/);
  });
});
