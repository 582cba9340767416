import { describe, expect, it } from 'vitest';

import { DistiqRangeError, DistiqTypeError, gemmF32, gemmF32Async } from '../../lib';
import { native } from '../../lib/native';
import { expectError } from '../helpers/expect-error';

const f32 = (n: number): Float32Array => new Float32Array(n).fill(1);
// A valid 2×3 · 3×4 problem: the native argument list (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc).
const good = (): Parameters<typeof native.gemmF32> => [false, false, 2, 4, 3, 1, f32(6), 3, f32(12), 4, 0, f32(8), 4];
function nativeWith(i: number, value: unknown): Parameters<typeof native.gemmF32> {
  const args = good() as unknown[];
  args[i] = value;
  return args as Parameters<typeof native.gemmF32>;
}

describe('gemmF32: bad input through the TS API', () => {
  it('wrong array type for a', () => {
    expectError(() => gemmF32(new Float64Array(6) as unknown as Float32Array, f32(12), 2, 4, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/, /Float32Array/, /Received Float64Array/);
  });

  it('plain Array for b', () => {
    expectError(() => gemmF32(f32(6), [1, 2, 3] as unknown as Float32Array, 2, 4, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"b"/, /Float32Array/, /Received Array/);
  });

  it('short a, b and out', () => {
    expectError(() => gemmF32(f32(5), f32(12), 2, 4, 3), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /a\.length/, /at least 6/, /received 5/);
    expectError(() => gemmF32(f32(6), f32(11), 2, 4, 3), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /b\.length/, /at least 12/, /received 11/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { out: f32(7) }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/, /at least 8/, /received 7/);
    // Transposed storage: A is [k, m] with lda = m + 1 → (k−1)·lda + m = 2·3 + 2 = 8 elements.
    expectError(() => gemmF32(f32(7), f32(12), 2, 4, 3, { transA: true, lda: 3 }), DistiqRangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /a\.length/, /at least 8/, /\(k-1\)\*lda\+m/, /received 7/);
  });

  it('negative, fractional and non-number dims', () => {
    expectError(() => gemmF32(f32(6), f32(12), -1, 4, 3), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"m"/, /integer/, /Received -1/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 2.5), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"k"/, /integer/, /Received 2\.5/);
    expectError(() => gemmF32(f32(6), f32(12), 2, '4' as unknown as number, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"n"/, /integer/, /Received string/);
  });

  it('leading dimensions shorter than the stored row', () => {
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { lda: 2 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"lda"/, />= 3 \(k\)/, /Received 2/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { transB: true, ldb: 2 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldb"/, />= 3 \(k, since transB\)/, /Received 2/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { ldc: 3 }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldc"/, />= 4 \(n\)/, /Received 3/);
  });

  it('NaN alpha, infinite beta, and an alpha that overflows float32', () => {
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { alpha: Number.NaN }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"alpha"/, /finite/, /Received NaN/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { beta: Infinity, out: f32(8) }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"beta"/, /finite/, /Received Infinity/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { alpha: 1e39 }), DistiqRangeError,
      'ERR_DISTIQ_NON_FINITE', /"alpha"/, /float32/, /Received 1e\+39/);
  });

  it('beta ≠ 0 without out', () => {
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { beta: 0.5 }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"out"/, /Float32Array when beta is not 0/, /Received undefined/);
  });

  it('out sharing memory with a or b', () => {
    const whole = f32(40);
    const a = whole.subarray(0, 6);
    expectError(() => gemmF32(a, f32(12), 2, 4, 3, { out: whole.subarray(4, 12) }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /must not share memory with "a"/);
    const b = whole.subarray(20, 32);
    expectError(() => gemmF32(f32(6), b, 2, 4, 3, { out: whole.subarray(31, 39) }), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /must not share memory with "b"/);
    // Adjacent but disjoint views of one buffer are fine.
    expect(gemmF32(a, b, 2, 4, 3, { out: whole.subarray(6, 14) })[0]).toBe(3);
  });

  it('booleans given as numbers, and a non-object options bag', () => {
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, { transA: 1 as unknown as boolean }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"transA"/, /boolean/, /Received number 1/);
    expectError(() => gemmF32(f32(6), f32(12), 2, 4, 3, null as unknown as object), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"opts"/, /object/, /Received null/);
  });

  it('the async form rejects with the same error', async () => {
    await expect(gemmF32Async(f32(6), f32(12), 2, 4, 3, { lda: 1 })).rejects.toBeInstanceOf(DistiqRangeError);
    await expect(gemmF32Async(f32(6), f32(12), 2, 4, 3, { lda: 1 })).rejects.toMatchObject({
      code: 'ERR_DISTIQ_INVALID_ARG_VALUE',
      message: expect.stringMatching(/"lda"/),
    });
  });
});

describe('gemmF32: the native binding re-checks everything', () => {
  it('accepts the valid baseline call', () => {
    const args = good();
    native.gemmF32(...args);
    expect(Array.from(args[11])).toEqual(new Array(8).fill(3));
  });

  it('wrong TypedArray type', () => {
    expectError(() => native.gemmF32(...nativeWith(6, new Float64Array(6))), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"a"/, /Float32Array/, /Received Float64Array/);
    expectError(() => native.gemmF32(...nativeWith(11, new Int32Array(8))), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"c"/, /Float32Array/, /Received Int32Array/);
  });

  it('short arrays', () => {
    expectError(() => native.gemmF32(...nativeWith(8, f32(11))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /b\.length/, /at least 12/, /received 11/);
    expectError(() => native.gemmF32(...nativeWith(11, f32(7))), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /c\.length/, /at least 8/, /received 7/);
    // A stride that makes the stored A longer than the array.
    expectError(() => native.gemmF32(...nativeWith(7, 5)), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /a\.length/, /at least 8/, /received 6/);
  });

  it('negative and fractional dims', () => {
    expectError(() => native.gemmF32(...nativeWith(3, -4)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"n"/, /integer/, /Received -4/);
    expectError(() => native.gemmF32(...nativeWith(2, 1.5)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"m"/, /integer/, /Received 1\.5/);
  });

  it('leading dimension below the row length', () => {
    expectError(() => native.gemmF32(...nativeWith(12, 3)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"ldc"/, />= 4/, /Received 3/);
    const t = nativeWith(0, true); // transA: A stored [k, lda] needs lda >= m = 2
    (t as unknown[])[7] = 1;
    expectError(() => native.gemmF32(...t), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"lda"/, />= 2/, /Received 1/);
  });

  it('NaN beta and a float32-overflowing alpha', () => {
    expectError(() => native.gemmF32(...nativeWith(10, Number.NaN)), RangeError, 'ERR_DISTIQ_NON_FINITE',
      /"beta"/, /finite/, /Received nan/i);
    expectError(() => native.gemmF32(...nativeWith(5, 1e39)), RangeError, 'ERR_DISTIQ_NON_FINITE',
      /"alpha"/, /float32/, /Received 1e\+39/);
  });

  it('booleans given as numbers', () => {
    expectError(() => native.gemmF32(...nativeWith(1, 0)), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
      /"transB"/, /boolean/, /Received number 0/);
  });

  it('c overlapping a or b', () => {
    const whole = f32(64);
    const overA = nativeWith(6, whole.subarray(0, 6));
    (overA as unknown[])[11] = whole.subarray(5, 13);
    expectError(() => native.gemmF32(...overA), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"c"/,
      /must not share memory with "a"/);
    const overB = nativeWith(8, whole.subarray(20, 32));
    (overB as unknown[])[11] = whole.subarray(16, 24);
    expectError(() => native.gemmF32(...overB), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"c"/,
      /must not share memory with "b"/);
  });

  it('wrong argument count, and the async form checks before queueing', () => {
    expectError(() => (native.gemmF32 as unknown as (...a: unknown[]) => void)(...good().slice(0, 12)), TypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /gemmF32 expects 13 arguments, received 12/);
    expectError(() => native.gemmF32Async(...nativeWith(6, new Uint8Array(6))), TypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/, /Received Uint8Array/);
  });
});
