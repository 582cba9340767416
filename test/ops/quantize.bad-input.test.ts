/**
 * Bad input for the quantization family: through the TS API (DistiqTypeError / DistiqRangeError with friendly
 * messages) and straight into the natives (the non-negotiable re-check: TypeError / RangeError with the same codes).
 * Every case asserts the class, the code, and that the message names the argument, the expectation and what was
 * received. Guarded outputs prove that a rejected call writes nothing.
 */
import { describe, expect, it } from 'vitest';

import {
  affineParams,
  dequantize,
  DistiqRangeError,
  DistiqTypeError,
  fakeQuantize,
  minMax,
  packInt4,
  quantize,
  quantizeAsync,
  unpackInt4,
} from '../../lib/index';
import { native, QTypeCode } from '../../lib/native';
import { expectError } from '../helpers/expect-error';
import { guarded } from '../helpers/guard';

const x12 = (): Float32Array => new Float32Array(12).fill(0.5);

describe('quantize family: bad input through the TS API', () => {
  it('NaN in x', () => {
    const x = x12();
    x[7] = Number.NaN;
    const out = guarded(Int8Array, 12, 99);
    expectError(() => quantize(x, { shape: [12], dtype: 'int8', scale: 1, out: out.view }), RangeError,
      'ERR_DISTIQ_NON_FINITE', /"x"/, /NaN/);
    out.checkGuards();
    expectError(() => fakeQuantize(x, { shape: [3, 4], scale: 1 }), RangeError, 'ERR_DISTIQ_NON_FINITE', /"x"/, /NaN/);
  });

  it('NaN, 0, negative, Infinity and float32-underflowing scales', () => {
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: Number.NaN }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"scale"/, /finite/, /Received NaN/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: 0 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"scale"/, /> 0/, /Received 0/);
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-channel', dtype: 'int8', scale: new Float32Array([1, -2, 1]) }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"scale\[1\]"/, /> 0/, /Received -2/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: Infinity }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"scale"/, /Received Infinity/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: 1e-50 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"scale"/, /float32/, /Received 1e-50/);
  });

  it('zero point outside [qmin, qmax], or non-integer', () => {
    expectError(() => quantize(x12(), { shape: [12], dtype: 'uint8', scale: 1, zeroPoint: 300 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"zeroPoint"/, /\[0, 255\]/, /Received 300/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int4', scale: 1, zeroPoint: new Int32Array([-9]) }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"zeroPoint\[0\]"/, /\[-8, 7\]/, /Received -9/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: 1, zeroPoint: 1.5 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"zeroPoint"/, /integer/, /Received 1.5/);
  });

  it('q array type must match the dtype', () => {
    expectError(() => dequantize(new Int8Array(12), { shape: [12], dtype: 'uint8', scale: 1 }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"q"/, /Uint8Array/, /Received Int8Array/);
    expectError(() => dequantize(new Uint8Array(12), { shape: [12], dtype: 'int8', scale: 1 }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"q"/, /Int8Array/, /Received Uint8Array/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int4', scale: 1, out: new Int8Array(6) as unknown as Uint8Array }),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"out"/, /Uint8Array/, /Received Int8Array/);
  });

  it('short outputs and inputs (int4 rows padded to a byte)', () => {
    const out = guarded(Uint8Array, 5, 0xa5);
    // [4, 3] int4: 4 rows × ceil(3/2) = 8 bytes
    expectError(() => quantize(x12(), { shape: [4, 3], dtype: 'uint4', scale: 1, out: out.view }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/, /equal 8/, /received 5/);
    out.checkGuards();
    expectError(() => dequantize(new Uint8Array(7), { shape: [4, 3], dtype: 'int4', scale: 1 }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /q\.length/, /equal 8/, /received 7/);
    expectError(() => fakeQuantize(x12(), { shape: [12], scale: 1, out: new Float32Array(11) }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/, /equal 12/, /received 11/);
  });

  it('group size 0, above the row length, or groups off the last axis', () => {
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-group', groupSize: 0, dtype: 'int8', scale: 1 }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"groupSize"/, /\[1, 4\]/, /Received 0/);
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-group', groupSize: 5, dtype: 'int8', scale: 1 }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"groupSize"/, /\[1, 4\]/, /Received 5/);
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-group', groupSize: 2, axis: 0, dtype: 'int8', scale: 1 }),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"axis"/, /last axis/, /Received 0/);
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-group', dtype: 'int8', scale: 1 }),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"groupSize"/, /integer/, /Received undefined/);
  });

  it('axis out of range', () => {
    expectError(() => minMax(x12(), { shape: [3, 4], granularity: 'per-channel', axis: 2 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"axis"/, /\[-2, 1\]/, /Received 2/);
    expectError(() => minMax(x12(), { shape: [3, 4], granularity: 'per-channel', axis: -3 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"axis"/, /Received -3/);
  });

  it('shape product does not match x.length; bad shape entries', () => {
    expectError(() => quantize(x12(), { shape: [5, 2], dtype: 'int8', scale: 1 }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /x\.length/, /equal 10/, /received 12/);
    expectError(() => quantize(x12(), { shape: [3, -4], dtype: 'int8', scale: 1 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"shape\[1\]"/, /integer/, /Received -4/);
    expectError(() => minMax(x12(), { shape: 12 as unknown as number[] }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"shape"/, /array/, /Received number 12/);
  });

  it('qmin > qmax, qmin/qmax outside the dtype', () => {
    expectError(() => fakeQuantize(x12(), { shape: [12], dtype: 'int4', scale: 1, qmax: 100 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmax"/, /\[-8, 7\]/, /Received 100/);
    expectError(() => fakeQuantize(x12(), { shape: [12], scale: 1, qmin: -129, qmax: 0 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmin"/, /\[-128, 255\]/, /Received -129/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int8', scale: 1, qmin: 5, qmax: 4 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmin"/, /<= qmax \(4\)/, /Received 5/);
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int4', scale: 1, qmax: 8 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmax"/, /\[-8, 7\]/, /Received 8/);
  });

  it('unknown dtype / granularity, wrong scale length, wrong x type', () => {
    expectError(() => quantize(x12(), { shape: [12], dtype: 'int2' as 'int8', scale: 1 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"dtype"/, /"int8", "uint8", "int4", "uint4"/, /Received string "int2"/);
    expectError(() => minMax(x12(), { shape: [12], granularity: 'per-row' as 'per-tensor' }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"granularity"/, /Received string "per-row"/);
    expectError(() => quantize(x12(), { shape: [3, 4], granularity: 'per-channel', dtype: 'int8', scale: new Float32Array(4) }),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /scale\.length/, /equal 3/, /received 4/);
    expectError(() => quantize(new Float64Array(12) as unknown as Float32Array, { shape: [12], dtype: 'int8', scale: 1 }),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"x"/, /Float32Array/, /Received Float64Array/);
  });

  it('outputs that share memory with the input', () => {
    const buf = new ArrayBuffer(64);
    const x = new Float32Array(buf, 0, 12);
    expectError(() => quantize(x, { shape: [12], dtype: 'uint8', scale: 1, out: new Uint8Array(buf, 8, 12) }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /share memory/, /"x"/);
    expectError(() => fakeQuantize(x, { shape: [12], scale: 1, out: x }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"out"/, /share memory/);
  });

  it('min/max rejects ±Infinity; affineParams rejects min > max and non-finite ranges', () => {
    const x = x12();
    x[3] = -Infinity;
    expectError(() => minMax(x, { shape: [12] }), RangeError, 'ERR_DISTIQ_NON_FINITE', /"x"/, /finite/);
    expectError(() => affineParams(2, 1, { dtype: 'int8' }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /min\[0\] <= max\[0\]/, /received 2 > 1/);
    expectError(() => affineParams(Number.NaN, 1, { dtype: 'int8' }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE',
      /min\[0\]/, /finite/, /received NaN/);
  });

  it('packInt4 / unpackInt4 reject out-of-range values and row lengths that do not divide', () => {
    expectError(() => packInt4(new Int8Array([1, 8]), 2), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"values"/, /\[-8, 7\]/, /values\[1\] is 8/);
    expectError(() => packInt4(new Uint8Array(6), 4), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"rowLen"/,
      /divide/, /Received 4/);
    expectError(() => unpackInt4(new Uint8Array(3), 6, 3, true), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /packed\.length/, /equal 4/, /received 3/);
    expectError(() => packInt4(new Int16Array(2) as unknown as Int8Array, 2), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"values"/, /Int8Array, Uint8Array/, /Received Int16Array/);
  });

  it('async form rejects synchronously-checked arguments and NaN alike', async () => {
    await expect(quantizeAsync(x12(), { shape: [12], dtype: 'int8', scale: -1 })).rejects.toMatchObject({
      code: 'ERR_DISTIQ_INVALID_ARG_VALUE',
    });
    const x = x12();
    x[0] = Number.NaN;
    await expect(quantizeAsync(x, { shape: [12], dtype: 'int8', scale: 1 })).rejects.toMatchObject({ code: 'ERR_DISTIQ_NON_FINITE' });
  });
});

// Valid native argument lists for a [3, 4] tensor, per-channel on axis 0 (outer 1, channels 3, inner 4).
type QArgs = Parameters<typeof native.quantize>;
type DArgs = Parameters<typeof native.dequantize>;
const scales3 = (): Float32Array => new Float32Array([0.5, 0.25, 1]);
const goodQ = (): QArgs => [x12(), 1, 3, 4, 0, 4, scales3(), null, QTypeCode.S8, -128, 127, new Int8Array(12)];
const goodD = (): DArgs => [new Uint8Array(6), QTypeCode.U4, 1, 3, 4, 0, 4, scales3(), null, new Float32Array(12)];
function withArg<T extends unknown[]>(args: T, i: number, value: unknown): T {
  const a = args.slice() as unknown[];
  a[i] = value;
  return a as T;
}

describe('quantize family: the natives re-check everything', () => {
  it('baseline calls succeed', () => {
    expect(() => native.quantize(...goodQ())).not.toThrow();
    expect(() => native.dequantize(...goodD())).not.toThrow();
  });

  it('wrong q array type for qtype', () => {
    expectError(() => native.quantize(...withArg(withArg(withArg(goodQ(), 8, QTypeCode.U4), 9, 0), 10, 15)), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"q"/, /Uint8Array for qtype uint4/, /Received Int8Array/);
    expectError(() => native.dequantize(...withArg(goodD(), 1, QTypeCode.S8)), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"q"/, /Int8Array/, /Received Uint8Array/);
    expectError(() => native.quantize(...withArg(goodQ(), 0, new Float64Array(12))), TypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"x"/, /Float32Array/, /Received Float64Array/);
  });

  it('short q, x, scales, zero points', () => {
    expectError(() => native.quantize(...withArg(goodQ(), 11, new Int8Array(11))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /q\.length/, /equal 12/, /received 11/);
    // u4 with rowLen 4: 3 rows of 2 bytes
    expectError(() => native.dequantize(...withArg(goodD(), 0, new Uint8Array(5))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /q\.length/, /equal 6/, /received 5/);
    expectError(() => native.quantize(...withArg(goodQ(), 0, new Float32Array(11))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /x\.length/, /equal 12/, /received 11/);
    expectError(() => native.quantize(...withArg(goodQ(), 6, new Float32Array(2))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /scales\.length/, /equal 3/, /received 2/);
    expectError(() => native.quantize(...withArg(goodQ(), 7, new Int32Array(4))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /zeroPoints\.length/, /equal 3/, /received 4/);
  });

  it('rowLen must divide the count for int4', () => {
    expectError(() => native.dequantize(...withArg(goodD(), 6, 5)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"rowLen"/,
      /divide/, /Received 5/);
  });

  it('NaN / 0 scales and zero points out of range', () => {
    expectError(() => native.quantize(...withArg(goodQ(), 6, new Float32Array([0.5, Number.NaN, 1]))), RangeError,
      'ERR_DISTIQ_NON_FINITE', /scales\[1\]/, /positive finite/, /NaN/);
    expectError(() => native.quantize(...withArg(goodQ(), 6, new Float32Array([0.5, 0, 1]))), RangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /scales\[1\]/, /positive finite/, /is 0/);
    expectError(() => native.quantize(...withArg(goodQ(), 7, new Int32Array([0, 200, 0]))), RangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /zeroPoints\[1\]/, /\[-128, 127\]/, /is 200/);
  });

  it('qtype, qmin, qmax out of range', () => {
    expectError(() => native.quantize(...withArg(goodQ(), 8, 4)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"qtype"/,
      /\[0, 3\]/, /Received 4/);
    expectError(() => native.quantize(...withArg(goodQ(), 9, -129)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmin"/,
      /\[-128, 127\]/, /Received -129/);
    expectError(() => native.quantize(...withArg(withArg(goodQ(), 9, 3), 10, 2)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"qmin"/, /<= qmax \(2\)/, /Received 3/);
  });

  it('geometry: negative / fractional dims, group with inner > 1, group > channels', () => {
    expectError(() => native.quantize(...withArg(goodQ(), 1, -1)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"outer"/,
      /integer/, /Received -1/);
    expectError(() => native.quantize(...withArg(goodQ(), 3, 1.5)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"inner"/,
      /integer/, /Received 1.5/);
    expectError(() => native.quantize(...withArg(goodQ(), 4, 2)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"inner"/,
      /must be 1 when group > 0/, /Received 4/);
    const perGroup: QArgs = [x12(), 3, 4, 1, 5, 4, new Float32Array(3), null, QTypeCode.S8, -128, 127, new Int8Array(12)];
    expectError(() => native.quantize(...perGroup), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"group"/,
      /\[1, channels\]/, /Received 5/);
  });

  it('argument count and outputs overlapping inputs', () => {
    expectError(() => (native.quantize as (...a: unknown[]) => void)(...goodQ().slice(0, 11)), TypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /quantize expects 12 arguments, received 11/);
    const buf = new ArrayBuffer(64);
    const x = new Float32Array(buf, 0, 12);
    expectError(() => native.quantize(...withArg(withArg(goodQ(), 0, x), 11, new Int8Array(buf, 4, 12))), RangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"q"/, /share memory/, /"x"/);
    const y = new Float32Array(12);
    expectError(() => native.fakeQuantize(y, 1, 3, 4, 0, scales3(), null, -128, 127, y, null), RangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"y"/, /share memory/, /"x"/);
  });

  it('NaN in x, non-finite min/max input, short mins, fake-quant range', () => {
    const x = x12();
    x[5] = Number.NaN;
    const q = guarded(Int8Array, 12, 99);
    expectError(() => native.quantize(...withArg(withArg(goodQ(), 0, x), 11, q.view)), RangeError, 'ERR_DISTIQ_NON_FINITE',
      /"x"/, /NaN/);
    q.checkGuards();
    x[5] = Infinity;
    expectError(() => native.minMax(x, 1, 3, 4, 0, new Float32Array(3), new Float32Array(3)), RangeError,
      'ERR_DISTIQ_NON_FINITE', /"x"/, /finite/);
    expectError(() => native.minMax(x12(), 1, 3, 4, 0, new Float32Array(2), new Float32Array(3)), RangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /mins\.length/, /equal 3/, /received 2/);
    expectError(() => native.fakeQuantize(x12(), 1, 3, 4, 0, scales3(), null, -129, 127, new Float32Array(12), null),
      RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"qmin"/, /\[-128, 255\]/, /Received -129/);
    expectError(() => native.fakeQuantize(x12(), 1, 3, 4, 0, scales3(), null, 0, 255, new Float32Array(12), new Uint8Array(3)),
      RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /mask\.length/, /equal 12/, /received 3/);
  });
});
