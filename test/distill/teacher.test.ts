import { describe, expect, it } from 'vitest';

import {
  BatchNorm1d, DistiqRangeError, DistiqTypeError, Dropout, Linear, ReLU, Rng, Sequential, Tensor,
  cachedTeacher, checkTeacherOutput, functionTeacher, modelTeacher, type SoftLabels, type Teacher, type TopKTeacher,
} from '../../lib';
import { Rng as TestRng } from '../helpers/rng';
import { expectError } from '../helpers/expect-error';

function mlp(seed: number, dims = [6, 12, 4]): Sequential {
  const rng = new Rng(seed);
  return new Sequential(new Linear(dims[0]!, dims[1]!, { rng }), new BatchNorm1d(dims[1]!), new ReLU(), new Dropout(0.5), new Linear(dims[1]!, dims[2]!, { rng }));
}

function batch(rows: number, cols: number, seed = 5, first = 0): { x: Tensor; indices: Int32Array } {
  const r = new TestRng(seed);
  return { x: new Tensor(r.float32Array(rows * cols, -2, 2), [rows, cols]), indices: Int32Array.from({ length: rows }, (_, i) => first + i) };
}

/** What eval-mode forward gives, row by row on a fresh copy of the model (reference). */
function evalRows(model: Sequential, x: Tensor): Float32Array {
  const rows = x.shape[0]!, cols = x.shape[1]!;
  const out: number[] = [];
  model.eval();
  for (let r = 0; r < rows; r++) out.push(...model.forward(new Tensor(x.data.slice(r * cols, (r + 1) * cols), [1, cols])).data);
  return Float32Array.from(out);
}

describe('modelTeacher', () => {
  it('runs the model in eval mode, in chunks, and restores every training flag', () => {
    const model = mlp(1);
    // Non-trivial running statistics so eval mode differs from training mode.
    model.train();
    for (let i = 0; i < 3; i++) model.forward(batch(16, 6, 10 + i).x);
    const b = batch(37, 6);
    // Reference: a copy with the same state, evaluated row by row.
    const ref = mlp(99);
    ref.loadStateDict(model.stateDict());
    const want = evalRows(ref, b.x);

    model.train();
    (model.namedChildren()[3]![1] as Dropout).training = false; // a mixed state must come back as it was
    const before = [model, ...model.namedChildren().map(([, c]) => c)].map((m) => m.training);
    const t = modelTeacher(model, { batchSize: 8 });
    expect(t.kind).toBe('model');
    expect(t.classes).toBe(4);
    expect(t.name).toBe('Sequential');
    const y = t.predict(b);
    expect(y).toBeInstanceOf(Float32Array);
    expect(Buffer.from(y.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    expect([model, ...model.namedChildren().map(([, c]) => c)].map((m) => m.training)).toEqual(before);
    // The output is a copy: a second call does not change the first result.
    const y2 = t.predict(batch(5, 6, 77));
    expect(Buffer.from(y.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    expect(y2.length).toBe(20);
  });

  it('takes classes from the last Linear, or the option; bad options are typed errors', () => {
    expect(modelTeacher(mlp(2, [3, 5, 7])).classes).toBe(7);
    expectError(() => modelTeacher(new Sequential(new ReLU())), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /no Linear layer.*"classes"/);
    expectError(() => modelTeacher({} as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"model" argument must be a Module/);
    expectError(() => modelTeacher(mlp(2), { batchSize: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"batchSize".*\[1,/);
    // classes option that disagrees with the model: the output width is checked.
    const t = modelTeacher(mlp(2), { classes: 5, name: 'big' });
    expectError(() => t.predict(batch(3, 6)), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /model teacher 'big'.*\[3, 4\].*expected 5 columns/);
  });

  it('NaN logits name the teacher, the batch row and the dataset index', () => {
    const model = new Sequential(new Linear(6, 4, { rng: new Rng(3) })); // no ReLU: NaN input rows stay NaN
    const b = batch(4, 6, 8, 100);
    b.x.data[2 * 6 + 1] = NaN;
    expectError(() => modelTeacher(model).predict(b), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /model teacher 'Sequential'.*non-finite logit NaN at row 2 \(dataset index 102\)/);
    expect(model.training).toBe(true); // restored after the throw too
  });
});

describe('functionTeacher', () => {
  const classes = 3;
  const fnSync = (x: Tensor): Float32Array => {
    const rows = x.shape[0]!, out = new Float32Array(rows * classes);
    for (let r = 0; r < rows; r++) for (let c = 0; c < classes; c++) out[r * classes + c] = x.data[r * x.shape[1]! + c]! * 2;
    return out;
  };

  it('accepts sync and async functions returning Float32Array or Tensor, and passes the indices', async () => {
    const b = batch(6, 4, 3, 40);
    const want = fnSync(b.x);
    expect(functionTeacher(fnSync, { classes }).predict(b)).toEqual(want);
    let seen: Int32Array | null = null;
    const asyncT = functionTeacher(async (x, idx) => { seen = idx; return new Tensor(fnSync(x), [x.shape[0]!, classes]); }, { classes, name: 'server' });
    expect(asyncT.kind).toBe('function');
    expect(asyncT.name).toBe('server');
    const p = asyncT.predict(b);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toEqual(want);
    expect(Array.from(seen!)).toEqual([40, 41, 42, 43, 44, 45]);
  });

  it('wrong width, wrong type and non-finite outputs are typed errors naming the teacher', async () => {
    const b = batch(4, 4, 3, 10);
    const wide = functionTeacher((x) => new Float32Array(x.shape[0]! * 5), { classes, name: 'wide' });
    expectError(() => wide.predict(b), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /function teacher 'wide' returned 5 columns per row; expected 3/);
    const tensorWide = functionTeacher((x) => Tensor.zeros([x.shape[0]!, 2]), { classes, name: 'tw' });
    expectError(() => tensorWide.predict(b), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /'tw' returned a tensor of shape \[4, 2\]; expected 3 columns/);
    const wrongType = functionTeacher(() => [1, 2, 3] as never, { classes, name: 'arr' });
    expectError(() => wrongType.predict(b), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /'arr' must return a Float32Array or a Tensor. Received Array/);
    const inf = functionTeacher(async (x) => { const o = fnSync(x); o[3 * classes + 2] = -Infinity; return o; }, { classes, name: 'inf' });
    await expect(inf.predict(b)).rejects.toThrow(/function teacher 'inf' returned a non-finite logit -Infinity at row 3 \(dataset index 13\), class 2/);
    await expect(inf.predict(b)).rejects.toMatchObject({ code: 'ERR_DISTIQ_NON_FINITE', name: 'DistiqRangeError' });
    expectError(() => functionTeacher(fnSync, { classes: 0 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"classes"/);
    expectError(() => functionTeacher('f' as never, { classes: 2 }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"fn" argument must be a function/);
    expectError(() => functionTeacher(fnSync, { classes }).predict({ x: new Float32Array(3) } as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /expects a batch \{ x: Tensor/);
  });
});

describe('checkTeacherOutput (top-k) and cachedTeacher', () => {
  const t: Teacher = { kind: 'onnx', classes: 5, name: 'm', predict: () => new Float32Array(0) };

  it('validates top-k outputs: k range, lengths, class indices, duplicates, finiteness', () => {
    const ok: TopKTeacher = { k: 2, indices: Int32Array.of(4, 0, 1, 2), logits: Float32Array.of(3, 1, 2, 2) };
    expect(checkTeacherOutput(t, ok, 2)).toBe(ok);
    expectError(() => checkTeacherOutput(t, { ...ok, k: 6 }, 2), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /onnx teacher 'm'.*k = number 6; expected an integer in \[1, 5\]/);
    expectError(() => checkTeacherOutput(t, ok, 3), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /expected 6 each/);
    expectError(() => checkTeacherOutput(t, { ...ok, indices: Int32Array.of(4, 5, 1, 2) }, 2), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /class index 5 at row 0, entry 1; expected \[0, 4\]/);
    expectError(() => checkTeacherOutput(t, { ...ok, indices: Int32Array.of(4, 0, 2, 2) }, 2), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /class 2 twice in row 1/);
    expectError(() => checkTeacherOutput(t, { ...ok, logits: Float32Array.of(3, 1, NaN, 2) }, 2, Int32Array.of(7, 8)), DistiqRangeError, 'ERR_DISTIQ_NON_FINITE', /at row 1 \(dataset index 8\), top-k entry 0/);
    expectError(() => checkTeacherOutput(t, 'x', 2), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /must return a Float32Array/);
  });

  it('cachedTeacher looks rows up by dataset index and ignores x', () => {
    const table = Float32Array.from({ length: 4 * 3 }, (_, i) => i);
    const cache: SoftLabels = {
      length: 4, classes: 3, topK: null, temperature: 2,
      manifest: { teacher: { kind: 'model', name: 'big' } } as never,
      gather: (idx) => Float32Array.from(Array.from(idx).flatMap((r) => Array.from(table.subarray(r * 3, r * 3 + 3)))),
    };
    const ct = cachedTeacher(cache);
    expect(ct.kind).toBe('cache');
    expect(ct.classes).toBe(3);
    expect(ct.predict({ x: Tensor.zeros([2, 9]), indices: Int32Array.of(3, 1) })).toEqual(Float32Array.of(9, 10, 11, 3, 4, 5));
    // An index the cache does not hold names the teacher, the row and the index (wrong dataset for this cache?).
    expectError(() => ct.predict({ x: Tensor.zeros([2, 9]), indices: Int32Array.of(1, 4) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /cache teacher 'big' holds soft labels for dataset indices \[0, 3\]; batch row 1 asks for index 4 \(is this the dataset/);
    expectError(() => ct.predict({ x: Tensor.zeros([2, 9]) } as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /needs "indices"/);
    expectError(() => cachedTeacher({} as never), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /must be SoftLabels/);
  });
});
