/**
 * int4 GEMM bad input: every argument of packWeightsS4 / quantizeWeightsS4 / gemmS4 / gemmS4Async rejected with a
 * typed error and code naming it — through the TS checks and, called directly, through the native re-checks — and
 * never a crash or a write outside the output.
 */
import { describe, expect, it } from 'vitest';

import { gemmS4, gemmS4Async, packWeights, packWeightsS4, quantizeWeightsS4, type Int4Weights } from '../../lib/index';
import { native } from '../../lib/native';
import { expectError } from '../helpers/expect-error';

const n = 4, k = 10, g = 4, groups = 3;
const codes = (): Int4Weights => ({
  codes: new Uint8Array(n * 5),
  scales: new Float32Array(n * groups).fill(0.1),
  zeroPoints: null,
  signed: true,
});
const packed = packWeightsS4(new Float32Array(n * k).fill(0.25), n, k, { groupSize: g });

/** Any Error subclass with `code` (and a message matching `message`, when given). */
function expectCode(fn: () => unknown, code: string, message?: RegExp): void {
  expectError(fn, Error, code, ...(message ? [message] : []));
}

describe('packWeightsS4 / quantizeWeightsS4 bad input', () => {
  it('types', () => {
    expectCode(() => packWeightsS4(new Float64Array(40) as unknown as Float32Array, n, k), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"w"/);
    expectCode(() => packWeightsS4(null as unknown as Float32Array, n, k), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"w"/);
    expectCode(() => packWeightsS4({ ...codes(), codes: new Int8Array(20) as unknown as Uint8Array }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"codes"/);
    expectCode(() => packWeightsS4({ ...codes(), scales: new Float64Array(12) as unknown as Float32Array }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"scales"/);
    expectCode(() => packWeightsS4({ ...codes(), zeroPoints: new Uint8Array(12) as unknown as Int32Array }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"zeroPoints"/);
    expectCode(() => packWeightsS4({ ...codes(), signed: 1 as unknown as boolean }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"signed"/);
    expectCode(() => packWeightsS4(new Float32Array(40), n, k, 'x' as never), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"opts"/);
    expectCode(() => packWeightsS4(new Float32Array(40), '4' as unknown as number, k), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"n"/);
  });

  it('values and shapes', () => {
    expectCode(() => packWeightsS4(new Float32Array(40), n, k, { groupSize: 0 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"groupSize"/);
    expectCode(() => packWeightsS4(new Float32Array(40), n, k, { groupSize: 2.5 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"groupSize"/);
    expectCode(() => packWeightsS4(new Float32Array(40), -1, k), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"n"/);
    expectCode(() => packWeightsS4(new Float32Array(39), n, k), 'ERR_DISTIQ_SHAPE_MISMATCH', /w\.length/);
    expectCode(() => packWeightsS4(new Float32Array(40), n, k, { ldw: 9 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldw"/);
    expectCode(() => packWeightsS4(codes(), n, k, { groupSize: g, ldw: 12 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldw"/);
    expectCode(() => packWeightsS4(codes(), n, k, { groupSize: g, scaleFormat: 'float16' }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"scaleFormat"/);
    expectCode(() => packWeightsS4(new Float32Array(40), n, k, { scaleFormat: 'bf16' as never }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"scaleFormat"/);
    expectCode(() => packWeightsS4(new Float32Array(40).fill(1e6), n, k, { scaleFormat: 'float16' }), 'ERR_DISTIQ_NON_FINITE', /float16/);
    expectCode(() => packWeightsS4({ ...codes(), codes: new Uint8Array(19) }, n, k, { groupSize: g }), 'ERR_DISTIQ_SHAPE_MISMATCH', /codes\.length/);
    expectCode(() => packWeightsS4({ ...codes(), scales: new Float32Array(8) }, n, k, { groupSize: g }), 'ERR_DISTIQ_SHAPE_MISMATCH', /scales\.length/);
    expectCode(() => packWeightsS4({ ...codes(), zeroPoints: new Int32Array(11) }, n, k, { groupSize: g }), 'ERR_DISTIQ_SHAPE_MISMATCH', /zeroPoints\.length/);
    const big = 2 ** 20 + 1;
    expectCode(() => packWeightsS4(new Float32Array(big), 1, big, { groupSize: big }), 'ERR_DISTIQ_LIMIT_EXCEEDED', /"groupSize"/);
  });

  it('scales, zero points and weights', () => {
    const bad = codes();
    bad.scales[5] = Number.NaN;
    expectCode(() => packWeightsS4(bad, n, k, { groupSize: g }), 'ERR_DISTIQ_NON_FINITE', /scales\[5\]/);
    const inf = codes();
    inf.scales[0] = Number.POSITIVE_INFINITY;
    expectCode(() => packWeightsS4(inf, n, k, { groupSize: g }), 'ERR_DISTIQ_NON_FINITE', /scales\[0\]/);
    expectCode(() => packWeightsS4({ ...codes(), zeroPoints: new Int32Array(12).fill(8) }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /\[-8, 7\].*zeroPoints\[0\]/);
    expectCode(() => packWeightsS4({ ...codes(), signed: false, zeroPoints: new Int32Array(12).fill(-1) }, n, k, { groupSize: g }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /\[0, 15\]/);
    const w = new Float32Array(40).fill(1);
    w[17] = Number.NaN;
    expectCode(() => quantizeWeightsS4(w, n, k, { groupSize: g }), 'ERR_DISTIQ_NON_FINITE', /"w"/);
    expectCode(() => packWeightsS4(w, n, k, { groupSize: g }), 'ERR_DISTIQ_NON_FINITE', /"w"/);
  });
});

describe('gemmS4 bad input', () => {
  it('types', () => {
    expectCode(() => gemmS4(new Float64Array(10) as unknown as Float32Array, 1, packed), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"a"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, {} as never), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"packed"/);
    const s8 = packWeights(new Int8Array(40), n, k);
    expectCode(() => gemmS4(new Float32Array(10), 1, s8 as never), 'ERR_DISTIQ_INVALID_ARG_TYPE', /PackedWeightsS4/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { bias: new Float64Array(4) as unknown as Float32Array }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"bias"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { out: new Int32Array(4) as unknown as Float32Array }), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"out"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, null as never), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"opts"/);
  });

  it('shapes, strides, overlap', () => {
    expectCode(() => gemmS4(new Float32Array(9), 1, packed), 'ERR_DISTIQ_SHAPE_MISMATCH', /a\.length/);
    expectCode(() => gemmS4(new Float32Array(20), 1.5, packed), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"m"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { lda: 9 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"lda"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { ldc: 3 }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldc"/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { bias: new Float32Array(3) }), 'ERR_DISTIQ_SHAPE_MISMATCH', /bias\.length/);
    expectCode(() => gemmS4(new Float32Array(10), 1, packed, { out: new Float32Array(3) }), 'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/);
    const buf = new Float32Array(20);
    expectCode(() => gemmS4(buf.subarray(0, 10), 1, packed, { out: buf.subarray(8, 12) }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /share memory with "a"/);
    expectCode(() => gemmS4(buf.subarray(0, 10), 1, packed, { bias: buf.subarray(12, 16), out: buf.subarray(14, 18) }), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"bias"/);
  });

  it('NaN / Infinity in a: ERR_DISTIQ_NON_FINITE naming "a", sync and async; out outside the rows untouched', async () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const a = new Float32Array(20).fill(0.5);
      a[13] = v;
      expectCode(() => gemmS4(a, 2, packed), 'ERR_DISTIQ_NON_FINITE', /"a"/);
      await expect(gemmS4Async(a, 2, packed)).rejects.toMatchObject({ code: 'ERR_DISTIQ_NON_FINITE', message: expect.stringMatching(/"a"/) });
    }
  });

  it('the native bindings re-check when called directly', () => {
    const nb = native as unknown as Record<string, (...args: unknown[]) => unknown>;
    expectCode(() => nb.gemmS4!(new Float32Array(10), 1, 10, packed, null, new Float32Array(4), 4), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"packed"/);
    expectCode(() => nb.packWeightsS4!(new Uint8Array(20), n, k, 0, true, new Float32Array(12), null), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"group"/);
    expectCode(() => nb.packWeightsS4!(new Uint8Array(20), n, k, g, true, new Float32Array(11), null), 'ERR_DISTIQ_SHAPE_MISMATCH', /scales/);
    expectCode(() => nb.packWeightsS4!(new Uint8Array(21), n, k, g, true, new Float32Array(12), null), 'ERR_DISTIQ_SHAPE_MISMATCH', /codes/);
    expectCode(() => nb.packWeightsS4!(new Uint8Array(20), n, k, g, 'yes', new Float32Array(12), null), 'ERR_DISTIQ_INVALID_ARG_TYPE', /"signed"/);
    expectCode(() => nb.quantizeWeightsS4!(new Float32Array(40), n, k, k, g, new Uint8Array(20), new Float32Array(11), false), 'ERR_DISTIQ_SHAPE_MISMATCH', /scales/);
    expectCode(() => nb.gemmS4!(new Float32Array(10), 1), 'ERR_DISTIQ_INVALID_ARG_TYPE');
    const h = nb.packWeightsS4!(new Uint8Array(20), n, k, g, true, new Float32Array(12).fill(0.1), null);
    expectCode(() => nb.gemmS4!(new Float32Array(9), 1, 10, h, null, new Float32Array(4), 4), 'ERR_DISTIQ_SHAPE_MISMATCH', /a\.length/);
    expectCode(() => nb.gemmS4!(new Float32Array(10), 1, 9, h, null, new Float32Array(4), 4), 'ERR_DISTIQ_INVALID_ARG_VALUE', /"lda"/);
    expectCode(() => nb.gemmS4!(new Float32Array(10), 1, 10, h, null, new Float32Array(3), 4), 'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/);
    expectCode(() => nb.gemmS4!(new Float32Array(10), 1, 10, h, new Float32Array(5), new Float32Array(4), 4), 'ERR_DISTIQ_SHAPE_MISMATCH', /bias/);
    const shared = new Float32Array(16);
    expectCode(() => nb.gemmS4!(shared.subarray(0, 10), 1, 10, h, null, shared.subarray(6, 10), 4), 'ERR_DISTIQ_INVALID_ARG_VALUE', /overlap|share/);
    const bad = new Float32Array(10);
    bad[3] = Number.NaN;
    expectCode(() => nb.gemmS4!(bad, 1, 10, h, null, new Float32Array(4), 4), 'ERR_DISTIQ_NON_FINITE', /"a"/);
  });
});
