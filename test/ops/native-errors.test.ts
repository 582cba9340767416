/**
 * Errors raised by the native re-checks reach the caller as the public classes (lib/errors.ts fromNative): every
 * family, sync and async, keeps the ERR_DISTIQ_* code and the native message, and the stack shows the caller. The
 * TS pre-checks are bypassed by corrupting the arguments between the wrapper and the binding (test/helpers/
 * native-bypass.ts); a few errors only the native side can detect (NaN input, weights packed for another kernel) are
 * also raised for real.
 */
import { describe, expect, it } from 'vitest';

import {
  DistiqError,
  DistiqRangeError,
  DistiqTypeError,
  dequantize,
  dequantizeAsync,
  distillationLoss,
  distillationLossAsync,
  fakeQuantize,
  gemmF32,
  gemmF32Async,
  gemmS8,
  gemmS8Async,
  logSoftmax,
  minMax,
  packWeights,
  packWeightsF32,
  packWeightsS4,
  gemmS4,
  quantize,
  quantizeAsync,
  setNumThreads,
  getNumThreads,
  softmax,
} from '../../lib';
import { fromNative, withCallerStack } from '../../lib/errors';
import type { NativeBinding } from '../../lib/native';
import { levels, withIsa, withIsaAsync } from '../helpers/isa';
import { caught, replaceArg, withCorruptedArgs } from '../helpers/native-bypass';

type ErrorClass = abstract new (...args: never[]) => Error;
const THIS_FILE = 'native-errors.test.ts';

/** The error is `cls` with `code`, its message matches every pattern, and its stack names this test file. */
function expectMapped(err: unknown, cls: ErrorClass, code: string, ...patterns: RegExp[]): void {
  expect(err).toBeInstanceOf(cls);
  const e = err as Error & { code?: string };
  expect(e.code).toBe(code);
  for (const p of patterns) expect(e.message).toMatch(p);
  expect(e.stack).toContain(THIS_FILE);
}

const f32 = (n: number, v = 1): Float32Array => new Float32Array(n).fill(v);

describe('int8 GEMM and packWeights', () => {
  const W = new Int8Array(4 * 3).fill(1);
  const a = () => new Uint8Array(6).fill(1);

  it('gemmS8: a native TypeError and RangeError arrive as DistiqTypeError / DistiqRangeError', async () => {
    const p = packWeights(W, 4, 3);
    expectMapped(
      await withCorruptedArgs('gemmS8', replaceArg(7, new Float32Array(8)), () => caught(() => gemmS8(a(), 2, p))),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"c"/, /Int32Array/, /Received Float32Array/,
    );
    expectMapped(
      await withCorruptedArgs('gemmS8', replaceArg(7, new Int32Array(7)), () => caught(() => gemmS8(a(), 2, p))),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /c\.length/, /at least 8/, /received 7/,
    );
  });

  it('gemmS8Async: the same, as rejections with the caller stack', async () => {
    const p = packWeights(W, 4, 3);
    expectMapped(
      await withCorruptedArgs('gemmS8Async', replaceArg(3, 300), () => caught(() => gemmS8Async(a(), 2, p))),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"za"/, /Received 300/,
    );
  });

  it('weights packed for another kernel: a native-only check, sync and async', async () => {
    expect(levels.length).toBeGreaterThan(1);
    const p = withIsa(levels[0]!, () => packWeights(W, 4, 3));
    await withIsaAsync(levels[levels.length - 1]!, async () => {
      expectMapped(await caught(() => gemmS8(a(), 2, p)), DistiqRangeError, 'ERR_DISTIQ_PACKED_MISMATCH', /pack the weights again/);
      expectMapped(await caught(() => gemmS8Async(a(), 2, p)), DistiqRangeError, 'ERR_DISTIQ_PACKED_MISMATCH');
    });
  });

  it('packWeights', async () => {
    expectMapped(
      await withCorruptedArgs('packWeightsS8', replaceArg(0, new Uint8Array(12)), () => caught(() => packWeights(W, 4, 3))),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"w"/, /Int8Array/, /Received Uint8Array/,
    );
  });
});

describe('fp32 GEMM', () => {
  it('gemmF32 and gemmF32Async', async () => {
    expectMapped(
      await withCorruptedArgs('gemmF32', replaceArg(8, f32(11)), () => caught(() => gemmF32(f32(6), f32(12), 2, 4, 3))),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /b\.length/, /received 11/,
    );
    expectMapped(
      await withCorruptedArgs('gemmF32Async', replaceArg(0, 1), () => caught(() => gemmF32Async(f32(6), f32(12), 2, 4, 3))),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"transA"/, /boolean/,
    );
  });
});

describe('packed-weights handles (args.cc unwrap_tagged / unwrap_handle, shared by the S8, F32 and S4 classes)', () => {
  const s8 = () => packWeights(new Int8Array(12).fill(1), 4, 3);
  const f32h = () => packWeightsF32(f32(12), { k: 3, n: 4 });
  const s4 = () => packWeightsS4(f32(12), 4, 3, { groupSize: 3 });
  // Per op: the native, the handle's argument index, a valid call, the expected text, the class named in the message
  // and a handle of another class.
  const ops = [
    ['gemmF32Packed', 5, () => gemmF32(f32(6), f32h(), 2, 4, 3), 'a PackedWeightsF32 (from packWeightsF32())', 'PackedWeightsF32', s4],
    ['gemmS4', 3, () => gemmS4(f32(3), 1, s4()), 'a PackedWeightsS4 (from packWeightsS4())', 'PackedWeightsS4', f32h],
    ['gemmS8', 4, () => gemmS8(new Uint8Array(6).fill(1), 2, s8()), 'a PackedWeights object (from packWeights())', 'PackedWeights', f32h],
  ] as const;
  const escape = (t: string): string => t.replace(/[()]/g, '\\$&');

  it.each(ops)('%s: another class\'s handle, a plain object, null', async (name, index, call, expected, cls, other) => {
    const foreign: [unknown, string][] = [[other(), `an object that is not a ${cls}`], [{}, `an object that is not a ${cls}`], [null, 'null']];
    for (const [value, received] of foreign) {
      expectMapped(
        await withCorruptedArgs(name as keyof NativeBinding, replaceArg(index, value), () => caught(call)),
        DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
        new RegExp(`^The "packed" argument must be ${escape(expected)}\\. Received ${received}$`),
      );
    }
  });
});

describe('quantization', () => {
  const layout = { dtype: 'int8' as const, shape: [4], scale: 0.5 };

  it('quantize: NaN input is found by the kernel only, sync and async', async () => {
    const x = Float32Array.of(1, Number.NaN, 2, 3);
    expectMapped(await caught(() => quantize(x, layout)), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /NaN/);
    expectMapped(await caught(() => quantizeAsync(x, layout)), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE');
  });

  it('quantize / dequantize / minMax / fakeQuantize with corrupted arguments', async () => {
    expectMapped(
      await withCorruptedArgs('quantize', replaceArg(11, new Int8Array(3)), () => caught(() => quantize(f32(4), layout))),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /q\.length/,
    );
    expectMapped(
      await withCorruptedArgs('dequantize', replaceArg(7, f32(1, -1)), () => caught(() => dequantize(new Int8Array(4), layout))),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"scales"/,
    );
    expectMapped(
      await withCorruptedArgs('dequantizeAsync', replaceArg(9, new Int32Array(4)), () =>
        caught(() => dequantizeAsync(new Int8Array(4), layout)),
      ),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"x"/, /Float32Array/,
    );
    expectMapped(
      await withCorruptedArgs('minMax', replaceArg(5, f32(0)), () => caught(() => minMax(f32(4), { shape: [4] }))),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
    );
    expectMapped(
      await withCorruptedArgs('fakeQuantize', replaceArg(2, 1.5), () => caught(() => fakeQuantize(f32(4), { shape: [4], scale: 0.5 }))),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"channels"/, /integer/,
    );
  });
});

describe('softmax / distillation loss', () => {
  const student = Float32Array.of(1, 2, 3, 4, 5, 6);
  const teacher = Float32Array.of(6, 5, 4, 3, 2, 1);

  it('distillationLoss and its async form', async () => {
    expectMapped(
      await withCorruptedArgs('softmaxKl', replaceArg(10, f32(1)), () =>
        caught(() => distillationLoss(student, { rows: 2, cols: 3, teacher })),
      ),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /loss\.length/,
    );
    expectMapped(
      await withCorruptedArgs('softmaxKlAsync', replaceArg(8, 0), () =>
        caught(() => distillationLossAsync(student, { rows: 2, cols: 3, teacher })),
      ),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/,
    );
  });

  it('non-finite logits (found by the kernel) still name the element', async () => {
    const bad = Float32Array.of(1, Number.NaN, 3, 4, 5, 6);
    expectMapped(await caught(() => distillationLoss(bad, { rows: 2, cols: 3, teacher })), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /student\[1\] is NaN/);
    expectMapped(await caught(() => distillationLossAsync(bad, { rows: 2, cols: 3, teacher })), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /student\[1\] is NaN/);
  });

  it('softmax and logSoftmax', async () => {
    expectMapped(
      await withCorruptedArgs('softmax', replaceArg(4, 'yes'), () => caught(() => softmax(student, 2, 3))),
      DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"log"/, /boolean/,
    );
    expectMapped(
      await withCorruptedArgs('softmax', replaceArg(3, f32(5)), () => caught(() => logSoftmax(student, 2, 3))),
      DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/,
    );
  });
});

describe('cpu', () => {
  it('setNumThreads', async () => {
    const before = getNumThreads();
    expectMapped(
      await withCorruptedArgs('setNumThreads', replaceArg(0, 0), () => caught(() => setNumThreads(2))),
      DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"n"/,
    );
    expect(getNumThreads()).toBe(before);
  });
});

describe('fromNative', () => {
  it('maps by class and code, keeps Distiq errors and foreign values, wraps uncoded errors as internal', () => {
    const range = Object.assign(new RangeError('r'), { code: 'ERR_DISTIQ_LIMIT_EXCEEDED' });
    expect(fromNative(range)).toBeInstanceOf(DistiqRangeError);
    expect((fromNative(range) as DistiqRangeError).code).toBe('ERR_DISTIQ_LIMIT_EXCEEDED');
    const type = Object.assign(new TypeError('t'), { code: 'ERR_DISTIQ_INVALID_ARG_TYPE' });
    expect(fromNative(type)).toBeInstanceOf(DistiqTypeError);
    const oom = Object.assign(new Error('out of memory'), { code: 'ERR_DISTIQ_OUT_OF_MEMORY' });
    const mappedOom = fromNative(oom) as DistiqError;
    expect(mappedOom).toBeInstanceOf(DistiqError);
    expect(mappedOom.code).toBe('ERR_DISTIQ_OUT_OF_MEMORY');
    expect(mappedOom.cause).toBe(oom);
    const plain = new Error('napi failure');
    const internal = fromNative(plain) as DistiqError;
    expect(internal).toBeInstanceOf(DistiqError);
    expect(internal.code).toBe('ERR_DISTIQ_INTERNAL');
    expect(internal.message).toBe('napi failure');
    const already = new DistiqRangeError('x', 'ERR_DISTIQ_SHAPE_MISMATCH');
    expect(fromNative(already)).toBe(already);
    expect(fromNative('not an error')).toBe('not an error');
  });

  it('withCallerStack accepts a stack string or an Error call site', () => {
    const site = new Error('site');
    const e = withCallerStack(new DistiqRangeError('boom'), site) as Error;
    expect(e.stack!.split('\n')[0]).toBe('DistiqRangeError: boom');
    expect(e.stack).toContain(THIS_FILE);
    const s = withCallerStack(new DistiqRangeError('boom'), 'Error\n    at somewhere (x.js:1:1)') as Error;
    expect(s.stack).toBe('DistiqRangeError: boom\n    at somewhere (x.js:1:1)');
  });
});
