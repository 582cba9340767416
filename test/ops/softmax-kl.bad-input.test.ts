/**
 * Bad input for the distillation loss family: every case asserts the error class, its `code`, and that the message
 * names the argument with what was expected and what was received. The second half calls `native.*` directly to
 * prove the addon re-checks everything the TS layer checks (a wrong length there would be an out-of-bounds access).
 */
import { describe, expect, it } from 'vitest';

import { crossEntropy, DistiqRangeError, DistiqTypeError, distillationLoss, distillationLossAsync, logSoftmax, softmax } from '../../lib';
import { native } from '../../lib/native';
import { expectError } from '../helpers/expect-error';

const f32 = (n: number, v = 0.5): Float32Array => new Float32Array(n).fill(v);
const rows = 2;
const cols = 3;
const base = () => ({ rows, cols, teacher: f32(6, 0.1), labels: new Int32Array([0, 2]), temperature: 2, alpha: 0.5 });

describe('distillationLoss: bad input through the TS API', () => {
  it('NaN and +Infinity logits name the argument and element', () => {
    const s = f32(6);
    s[4] = Number.NaN;
    expectError(() => distillationLoss(s, base()), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"student"/, /finite number or -Infinity/, /student\[4\] is NaN/);
    const t = f32(6);
    t[1] = Infinity;
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: t }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"teacher"/, /teacher\[1\] is Infinity/);
    const tl = new Float32Array([1, Number.NaN, 2, 3]);
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: { indices: new Int32Array([0, 1, 1, 2]), logits: tl, k: 2 } }),
      DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"teacher\.logits"/, /teacher\.logits\[1\] is NaN/);
  });

  it('a row of all -Infinity logits', () => {
    const s = new Float32Array([0, 1, 2, -Infinity, -Infinity, -Infinity]);
    expectError(() => distillationLoss(s, base()), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"student"/, /row 1 is all -Infinity/);
    expectError(() => softmax(s, 2, 3), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"x"/, /row 1 is all -Infinity/);
  });

  it('temperature <= 0, NaN, or not a float32', () => {
    expectError(() => distillationLoss(f32(6), { ...base(), temperature: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/, /> 0/, /Received 0/);
    expectError(() => distillationLoss(f32(6), { ...base(), temperature: -1 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/, /Received -1/);
    expectError(() => distillationLoss(f32(6), { ...base(), temperature: Number.NaN }), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /"temperature"/, /finite/, /Received NaN/);
    expectError(() => distillationLoss(f32(6), { ...base(), temperature: 1e-50 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/, /float32/, /Received 1e-50/);
    expectError(() => distillationLoss(f32(6), { ...base(), temperature: '2' as unknown as number }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"temperature"/, /number/, /Received string/);
  });

  it('alpha outside [0, 1], and alpha that contradicts the inputs', () => {
    expectError(() => distillationLoss(f32(6), { ...base(), alpha: 1.5 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/, /<= 1/, /Received 1\.5/);
    expectError(() => distillationLoss(f32(6), { ...base(), alpha: -0.1 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/, />= 0/, /Received -0\.1/);
    expectError(() => distillationLoss(f32(6), { ...base(), labels: undefined }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/, /must be 1 when no "labels"/, /Received 0\.5/);
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: undefined }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/, /must be 0 when no "teacher"/, /Received 0\.5/);
    expectError(() => distillationLoss(f32(6), { rows, cols }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher" or "labels"/, /Received neither/);
  });

  it('labels out of range or of the wrong type', () => {
    expectError(() => distillationLoss(f32(6), { ...base(), labels: new Int32Array([0, 3]) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"labels"/, /\[0, 2\]/, /labels\[1\] is 3/);
    expectError(() => distillationLoss(f32(6), { ...base(), labels: new Int32Array([-1, 0]) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /labels\[0\] is -1/);
    expectError(() => distillationLoss(f32(6), { ...base(), labels: new Uint8Array([0, 1]) as unknown as Int32Array }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"labels"/, /Int32Array/, /Received Uint8Array/);
    expectError(() => crossEntropy(f32(6), 2, 3, new Int32Array([0])), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /labels\.length/, /equal 2/, /received 1/);
  });

  it('top-k: index out of range, k > cols, k = 0, repeated index, wrong lengths', () => {
    const logits = f32(4, 1);
    const topk = (indices: number[], k = 2, l = logits) => ({ ...base(), teacher: { indices: new Int32Array(indices), logits: l, k } });
    expectError(() => distillationLoss(f32(6), topk([0, 1, 2, 3])), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"teacher\.indices"/, /\[0, 2\]/, /teacher\.indices\[3\] is 3/);
    expectError(() => distillationLoss(f32(6), topk([0, 1, 2, 0, 1, 2, 0, 1], 4, f32(8))), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"teacher\.k"/, /\[1, 3\]/, /Received 4/);
    expectError(() => distillationLoss(f32(6), topk([], 0, f32(0))), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"teacher\.k"/, /Received 0/);
    expectError(() => distillationLoss(f32(6), topk([0, 1, 2, 2])), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /distinct/, /row 1 repeats class 2/);
    expectError(() => distillationLoss(f32(6), topk([0, 1, 2])), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /teacher\.indices\.length/, /equal 4/, /received 3/);
    expectError(() => distillationLoss(f32(6), topk([0, 1, 2, 0], 2, f32(5))), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /teacher\.logits\.length/, /received 5/);
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: { indices: [0, 1], logits, k: 2 } as never }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher\.indices"/, /Int32Array/, /Received Array/);
  });

  it('mismatched lengths and bad dims', () => {
    expectError(() => distillationLoss(f32(5), base()), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /student\.length/, /equal 6/, /rows\*cols/, /received 5/);
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: f32(7) }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /teacher\.length/, /received 7/);
    expectError(() => distillationLoss(f32(6), { ...base(), grad: f32(5) }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /grad\.length/, /received 5/);
    expectError(() => distillationLoss(f32(6), { ...base(), rowLoss: f32(3) }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /rowLoss\.length/, /equal 2/, /received 3/);
    expectError(() => distillationLoss(f32(6), { ...base(), rows: -2 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"rows"/, /integer/, /Received -2/);
    expectError(() => distillationLoss(f32(6), { ...base(), cols: 1.5 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"cols"/, /Received 1\.5/);
    expectError(() => distillationLoss(f32(0), { ...base(), cols: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"cols"/, /\[1, /, /Received 0/);
  });

  it('wrong array and option types', () => {
    expectError(() => distillationLoss(new Float64Array(6) as unknown as Float32Array, base()), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"student"/, /Float32Array/, /Received Float64Array/);
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: new Float64Array(6) as unknown as Float32Array }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher"/, /Float32Array or \{ indices/, /Received Float64Array/);
    expectError(() => distillationLoss(f32(6), { ...base(), grad: 1 as unknown as boolean }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"grad"/, /boolean or a Float32Array/, /Received number 1/);
    expectError(() => distillationLoss(f32(6), { ...base(), reduction: 'avg' as never }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"reduction"/, /"mean", "sum", "none"/, /Received string "avg"/);
    expectError(() => distillationLoss(f32(6), null as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"options"/, /object/, /Received null/);
  });

  it('outputs that alias inputs', () => {
    const buf = new Float32Array(12);
    const student = buf.subarray(0, 6);
    expectError(() => distillationLoss(student, { ...base(), grad: buf.subarray(3, 9) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"grad"/, /must not share memory with "student"/);
    const t = base().teacher;
    expectError(() => distillationLoss(f32(6), { ...base(), teacher: t, grad: t }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"grad"/, /"teacher"/);
    const g = f32(6);
    expectError(() => distillationLoss(f32(6), { ...base(), grad: g, rowLoss: g.subarray(4, 6) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"rowLoss"/, /"grad"/);
    const x = f32(6);
    expectError(() => softmax(x, 2, 3, new Float32Array(x.buffer, 4, 6 - 1).subarray(0, 5) as Float32Array), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/);
    const big = f32(8);
    expectError(() => logSoftmax(big.subarray(0, 6), 2, 3, big.subarray(1, 7)), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /in place/, /not share memory with "x"/);
  });

  it('the async form rejects with the same errors', async () => {
    await expect(distillationLossAsync(f32(6), { ...base(), alpha: 2 })).rejects.toMatchObject({ code: 'ERR_DISTIQ_INVALID_ARG_VALUE', message: expect.stringMatching(/"alpha"/) });
    const s = f32(6);
    s[0] = Infinity;
    await expect(distillationLossAsync(s, base())).rejects.toMatchObject({ code: 'ERR_DISTIQ_NON_FINITE', message: expect.stringMatching(/student\[0\] is Infinity/) });
  });
});

// The native argument list of a valid 2×3 call with a dense teacher and labels.
type SoftmaxKlArgs = Parameters<typeof native.softmaxKl>;
const good = (): SoftmaxKlArgs => [f32(6), 2, 3, f32(6), null, null, 0, new Int32Array([0, 1]), 2, 0.5, f32(2), f32(6), 0.5];
function nativeWith(changes: Record<number, unknown>): SoftmaxKlArgs {
  const args = good() as unknown[];
  for (const [i, v] of Object.entries(changes)) args[Number(i)] = v;
  return args as SoftmaxKlArgs;
}

describe('native.softmaxKl / native.softmax re-check everything', () => {
  it('accepts the valid call', () => {
    expect(() => native.softmaxKl(...good())).not.toThrow();
  });

  it('argument count and array types', () => {
    expectError(() => (native.softmaxKl as (...a: unknown[]) => void)(...good().slice(0, 12)), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /softmaxKl expects 13 arguments, received 12/);
    expectError(() => native.softmaxKl(...nativeWith({ 0: new Float64Array(6) })), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"student"/, /Float32Array/, /Received Float64Array/);
    expectError(() => native.softmaxKl(...nativeWith({ 7: new Uint32Array(2) })), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"labels"/, /Int32Array or null/, /Received Uint32Array/);
    expectError(() => native.softmaxKl(...nativeWith({ 10: [0, 0] })), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"loss"/, /Received Array/);
  });

  it('short arrays (would read or write out of bounds)', () => {
    expectError(() => native.softmaxKl(...nativeWith({ 0: f32(5) })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /student\.length/, /equal 6/, /received 5/);
    expectError(() => native.softmaxKl(...nativeWith({ 3: f32(5) })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /teacher\.length/, /received 5/);
    expectError(() => native.softmaxKl(...nativeWith({ 10: f32(1) })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /loss\.length/, /equal 2/, /received 1/);
    expectError(() => native.softmaxKl(...nativeWith({ 11: f32(5) })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /grad\.length/, /received 5/);
    expectError(() => native.softmaxKl(...nativeWith({ 7: new Int32Array(1) })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /labels\.length/, /received 1/);
    expectError(() => native.softmaxKl(...nativeWith({ 3: null, 4: new Int32Array([0, 1, 2]), 5: f32(4), 6: 2 })), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /topkIndex\.length/, /equal 4/, /received 3/);
  });

  it('dims, temperature, alpha and gradScale', () => {
    expectError(() => native.softmaxKl(...nativeWith({ 1: -1 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"rows"/, /integer/, /Received -1/);
    expectError(() => native.softmaxKl(...nativeWith({ 2: 2.5 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"cols"/, /Received 2\.5/);
    expectError(() => native.softmaxKl(...nativeWith({ 8: 0 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/, /> 0/, /Received 0/);
    expectError(() => native.softmaxKl(...nativeWith({ 8: Number.NaN })), RangeError, 'ERR_DISTIQ_NON_FINITE', /"temperature"/, /finite/, /Received nan/i);
    expectError(() => native.softmaxKl(...nativeWith({ 8: 1e-60 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature"/, /float32/);
    expectError(() => native.softmaxKl(...nativeWith({ 9: 1.01 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/, /\[0, 1\]/, /Received 1\.01/);
    expectError(() => native.softmaxKl(...nativeWith({ 12: 1e40 })), RangeError, 'ERR_DISTIQ_NON_FINITE', /"gradScale"/, /float32/);
  });

  it('labels and top-k indices out of range, k outside [1, cols], dense and sparse together', () => {
    expectError(() => native.softmaxKl(...nativeWith({ 7: new Int32Array([0, 3]) })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"labels"/, /\[0, 2\]/, /labels\[1\] is 3/);
    const sparse = (idx: number[], k: number) => nativeWith({ 3: null, 4: new Int32Array(idx), 5: f32(idx.length), 6: k });
    expectError(() => native.softmaxKl(...sparse([0, 1, -1, 2], 2)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topkIndex"/, /topkIndex\[2\] is -1/);
    expectError(() => native.softmaxKl(...sparse([0, 1, 2, 0, 1, 2, 0, 1], 4)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topk"/, /\[1, cols = 3\]/, /Received 4/);
    expectError(() => native.softmaxKl(...sparse([], 0)), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topk"/, /Received 0/);
    expectError(() => native.softmaxKl(...nativeWith({ 4: new Int32Array(4), 5: f32(4), 6: 2 })), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"teacher"/, /must be null when a top-k teacher/);
    expectError(() => native.softmaxKl(...nativeWith({ 3: null, 4: new Int32Array(4), 6: 2 })), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"topkLogits"/, /Received null/);
    expectError(() => native.softmaxKl(...nativeWith({ 6: 1 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"topk"/, /must be 0 without a top-k teacher/);
  });

  it('outputs sharing memory with inputs', () => {
    const buf = new Float32Array(12);
    expectError(() => native.softmaxKl(...nativeWith({ 0: buf.subarray(0, 6), 11: buf.subarray(5, 11) })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"grad"/, /must not share memory with "student"/);
    const t = f32(6);
    expectError(() => native.softmaxKl(...nativeWith({ 3: t, 10: t.subarray(0, 2) })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"loss"/, /"teacher"/);
    const g = f32(8);
    expectError(() => native.softmaxKl(...nativeWith({ 11: g.subarray(0, 6), 10: g.subarray(5, 7) })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"grad"/, /"loss"/);
  });

  it('NaN logits reach the kernel and come back as ERR_DISTIQ_NON_FINITE (sync and async)', async () => {
    const s = f32(6);
    s[2] = Number.NaN;
    expectError(() => native.softmaxKl(...nativeWith({ 0: s })), RangeError, 'ERR_DISTIQ_NON_FINITE', /softmaxKl/, /NaN or \+Infinity/);
    await expect(native.softmaxKlAsync(...nativeWith({ 0: s }))).rejects.toMatchObject({ code: 'ERR_DISTIQ_NON_FINITE' });
    // Argument errors of the async form throw synchronously, before any work is queued.
    expectError(() => native.softmaxKlAsync(...nativeWith({ 9: -1 })), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha"/);
  });

  it('softmax: types, lengths, partial overlap, boolean flag', () => {
    expectError(() => native.softmax(new Float64Array(6) as never, 2, 3, f32(6), false), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"x"/, /Received Float64Array/);
    expectError(() => native.softmax(f32(6), 2, 3, f32(5), false), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /out\.length/, /received 5/);
    expectError(() => native.softmax(f32(6), 2, 3, f32(6), 1 as never), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"log"/, /boolean/);
    const big = f32(8);
    expectError(() => native.softmax(big.subarray(0, 6), 2, 3, big.subarray(2, 8), false), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"out"/, /"x"/);
    const x = f32(6, 2);
    native.softmax(x, 2, 3, x, false);  // exactly in place is allowed
    expect(Array.from(x).every((v) => Math.abs(v - 1 / 3) < 1e-7)).toBe(true);
    expectError(() => native.softmax(f32(6), 2, 0, f32(6), false), RangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"cols"/, />= 1/);
  });
});
