/**
 * The knowledge-distillation loss (Hinton et al.), fused with its gradient, plus softmax, log-softmax and
 * cross-entropy on the same native kernels. docs/softmax-kl.md has the math, the top-k rule and the accuracy.
 *
 * For each row of student logits s (one example, `cols` classes), teacher logits t, temperature T, weight α and
 * label y:
 *
 *   rowLoss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE(softmax(s), y)
 *   ∂rowLoss/∂s = α·T·(softmax(s/T) − softmax(t/T)) + (1−α)·(softmax(s) − onehot(y))
 *
 * The T² keeps the soft-target gradients on the same scale as the hard-label ones when T changes.
 *
 * - The teacher is dense logits `[rows, cols]`, or a top-k teacher `{ indices, logits, k }` (`[rows, k]` each): its
 *   distribution is the softmax over the k given logits, and every other class gets probability 0 (the missing
 *   mass is not spread; this equals a dense teacher whose other logits are −Infinity).
 * - −Infinity logits are masked classes (probability 0). NaN and +Infinity are errors (ERR_DISTIQ_NON_FINITE), and
 *   so is a row whose logits are all −Infinity.
 * - alpha: with a teacher and labels it balances the two terms (default 1: labels are used only when α < 1);
 *   with a teacher and no labels it must be 1; with labels and no teacher it must be 0 (plain cross-entropy).
 * - reduction `'mean'` (default) returns the mean row loss and the gradient of that mean (every gradient row is
 *   scaled by 1/rows inside the kernel); `'sum'` the sum and its gradient; `'none'` leaves the result to `rowLoss`,
 *   returns the sum as `loss`, and each gradient row is that row's own gradient. Row losses are summed in float64,
 *   in row order, so the total does not depend on threads or ISA beyond the row values themselves.
 */
import { callSite, DistiqRangeError, DistiqTypeError, fromNative, fromNativeAsync } from '../errors';
import { native } from '../native';
import { describe, expectFinite, expectInteger, expectLength, expectOneOf, expectTypedArray } from '../validate';

/** A sparse teacher: the k largest logits of each row and their class indices (distinct within a row). */
export interface TopKTeacher {
  /** `[rows, k]` class indices in [0, cols). */
  indices: Int32Array;
  /** `[rows, k]` teacher logits for those classes. */
  logits: Float32Array;
  /** Entries per row, in [1, cols]. */
  k: number;
}

export type LossReduction = 'mean' | 'sum' | 'none';

export interface DistillationLossOptions {
  /** Examples (rows of `student`). */
  rows: number;
  /** Classes per example (≥ 1 when rows > 0). */
  cols: number;
  /** Teacher logits: dense `[rows, cols]`, or a top-k teacher. Without one, the loss is plain cross-entropy. */
  teacher?: Float32Array | TopKTeacher;
  /** Hard labels `[rows]` in [0, cols). */
  labels?: Int32Array;
  /** Softmax temperature T > 0 for the distillation term (default 1). The cross-entropy term always uses T = 1. */
  temperature?: number;
  /** Weight α ∈ [0, 1] of the distillation term (default 1 with a teacher, 0 without; see the module comment). */
  alpha?: number;
  /** Default `'mean'`. */
  reduction?: LossReduction;
  /** `true` to compute ∂loss/∂student, or a Float32Array `[rows, cols]` to write it into (default false). */
  grad?: boolean | Float32Array;
  /** Where to write the per-row losses (`[rows]`); allocated when absent. */
  rowLoss?: Float32Array;
}

export interface DistillationLossResult {
  /** The reduced loss: mean or sum of `rowLoss` (the sum for `'none'`); NaN for a mean over 0 rows. */
  loss: number;
  /** Per-row losses, before reduction. */
  rowLoss: Float32Array;
  /** ∂loss/∂student `[rows, cols]` when requested. */
  grad?: Float32Array;
}

export interface CrossEntropyOptions {
  /** Default `'mean'`. */
  reduction?: LossReduction;
  /** `true` to compute ∂loss/∂logits, or a Float32Array `[rows, cols]` to write it into (default false). */
  grad?: boolean | Float32Array;
  /** Where to write the per-row losses (`[rows]`); allocated when absent. */
  rowLoss?: Float32Array;
}

const REDUCTIONS: readonly LossReduction[] = ['mean', 'sum', 'none'];

/** A checked call: the native arguments by name, plus what the result needs. */
interface Prepared {
  student: Float32Array;
  rows: number;
  cols: number;
  dense: Float32Array | null;
  topk: TopKTeacher | null;
  labels: Int32Array | null;
  temperature: number;
  alpha: number;
  rowLoss: Float32Array;
  grad: Float32Array | undefined;
  gradScale: number;
  reduction: LossReduction;
}

function sharesMemory(x: ArrayBufferView, y: ArrayBufferView | null | undefined): boolean {
  if (y === null || y === undefined) return false;
  if (x.byteLength === 0 || y.byteLength === 0 || x.buffer !== y.buffer) return false;
  return x.byteOffset < y.byteOffset + y.byteLength && y.byteOffset < x.byteOffset + x.byteLength;
}

/** Throws unless output `out` is apart from every input of the call (and from `grad`, for rowLoss). */
function expectApartFromInputs(outName: string, out: ArrayBufferView, p: Prepared, grad?: Float32Array): void {
  const clash =
    sharesMemory(out, p.student) ? 'student'
    : sharesMemory(out, p.dense) ? 'teacher'
    : sharesMemory(out, p.topk?.indices) ? 'teacher.indices'
    : sharesMemory(out, p.topk?.logits) ? 'teacher.logits'
    : sharesMemory(out, p.labels) ? 'labels'
    : sharesMemory(out, grad) ? 'grad'
    : undefined;
  if (clash !== undefined) throw new DistiqRangeError(`The "${outName}" argument must not share memory with "${clash}"`);
}

function elementCount(rows: number, cols: number, what: string): number {
  const n = rows * cols;
  if (!Number.isSafeInteger(n)) {
    throw new DistiqRangeError(`The size of "${what}" (${rows} x ${cols}) is too large`, 'ERR_DISTIQ_LIMIT_EXCEEDED');
  }
  return n;
}

function expectIndices(name: string, values: Int32Array, cols: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < 0 || v >= cols) {
      throw new DistiqRangeError(
        `Expected every element of "${name}" to be an integer in [0, ${cols - 1}] (cols = ${cols}); ${name}[${i}] is ${v}`,
      );
    }
  }
}

// Scratch of expectDistinctRows: seen[c] holds the stamp of the last row that used class c. Stamps grow across
// calls, so the array is refilled only when it must grow or the stamps would overflow (no per-call allocation).
let seen = new Int32Array(0);
let stampBase = 0;

/** Throws unless each row's k indices are distinct (a repeated class would count its probability twice). */
function expectDistinctRows(name: string, indices: Int32Array, rows: number, k: number, cols: number): void {
  if (k < 2) return;
  if (seen.length < cols || stampBase + rows >= 0x7fffffff) {
    seen = new Int32Array(Math.max(cols, seen.length)).fill(-1);
    stampBase = 0;
  }
  const base = stampBase;
  stampBase += rows;
  for (let r = 0; r < rows; r++) {
    const stamp = base + r;
    for (let j = 0; j < k; j++) {
      const c = indices[r * k + j]!;
      if (seen[c] === stamp) {
        throw new DistiqRangeError(
          `Expected the indices of each row of "${name}" to be distinct; row ${r} repeats class ${c} (${name}[${r * k + j}])`,
        );
      }
      seen[c] = stamp;
    }
  }
}

function expectOptionsObject(name: string, opts: unknown): asserts opts is Record<string, unknown> {
  if (opts === null || typeof opts !== 'object' || ArrayBuffer.isView(opts) || Array.isArray(opts)) {
    throw new DistiqTypeError(`The "${name}" argument must be an object. Received ${describe(opts)}`);
  }
}

/** Finite, > 0 and still so as a float32. */
function expectTemperature(value: unknown): number {
  expectFinite('temperature', value, { min: 0, exclusiveMin: true });
  const f = Math.fround(value);
  if (!(f > 0) || !Number.isFinite(f)) {
    throw new DistiqRangeError(`The "temperature" argument must be a float32 in (0, 3.4e38]. Received ${value}`);
  }
  return value;
}

function gradOutput(grad: unknown, n: number): Float32Array | undefined {
  if (grad === undefined || grad === false) return undefined;
  if (grad === true) return new Float32Array(n);
  if (!(grad instanceof Float32Array)) {
    throw new DistiqTypeError(`The "grad" option must be a boolean or a Float32Array. Received ${describe(grad)}`);
  }
  expectLength('grad', grad.length, n, 'rows*cols');
  return grad;
}

function prepare(student: unknown, opts: unknown): Prepared {
  if (!(student instanceof Float32Array)) expectTypedArray('student', student, Float32Array);
  expectOptionsObject('options', opts);
  const { rows, cols } = opts;
  expectInteger('rows', rows);
  expectInteger('cols', cols, rows > 0 ? 1 : 0);
  const n = elementCount(rows, cols, 'student');
  expectLength('student', student.length, n, 'rows*cols');

  // The teacher: dense, top-k, or none.
  const teacher = opts.teacher;
  let dense: Float32Array | null = null;
  let topk: TopKTeacher | null = null;
  if (teacher instanceof Float32Array) {
    dense = teacher;
    expectLength('teacher', dense.length, n, 'rows*cols');
  } else if (teacher !== undefined) {
    if (teacher === null || typeof teacher !== 'object' || ArrayBuffer.isView(teacher)) {
      throw new DistiqTypeError(
        `The "teacher" option must be a Float32Array or { indices: Int32Array, logits: Float32Array, k: number }. Received ${describe(teacher)}`,
      );
    }
    const t = teacher as Partial<TopKTeacher>;
    expectTypedArray('teacher.indices', t.indices, Int32Array);
    expectTypedArray('teacher.logits', t.logits, Float32Array);
    expectInteger('teacher.k', t.k, rows > 0 ? 1 : 0, rows > 0 ? cols : Number.MAX_SAFE_INTEGER);
    const nk = elementCount(rows, t.k, 'teacher.logits');
    expectLength('teacher.indices', t.indices.length, nk, 'rows*k');
    expectLength('teacher.logits', t.logits.length, nk, 'rows*k');
    expectIndices('teacher.indices', t.indices, cols);
    expectDistinctRows('teacher.indices', t.indices, rows, t.k, cols);
    topk = { indices: t.indices, logits: t.logits, k: t.k };
  }
  const hasTeacher = dense !== null || topk !== null;

  const labels = opts.labels;
  if (labels !== undefined) {
    if (!(labels instanceof Int32Array)) expectTypedArray('labels', labels, Int32Array);
    expectLength('labels', labels.length, rows, 'rows');
    expectIndices('labels', labels, cols);
  }
  if (!hasTeacher && labels === undefined) {
    throw new DistiqTypeError('The "teacher" or "labels" option must be given (there is nothing to compare the student with). Received neither');
  }

  const temperature = expectTemperature(opts.temperature ?? 1);
  const alpha = opts.alpha ?? (hasTeacher ? 1 : 0);
  expectFinite('alpha', alpha, { min: 0, max: 1 });
  if (labels === undefined && alpha !== 1) {
    throw new DistiqRangeError(
      `The "alpha" option must be 1 when no "labels" are given (the cross-entropy term needs labels). Received ${alpha}`,
    );
  }
  if (!hasTeacher && alpha !== 0) {
    throw new DistiqRangeError(
      `The "alpha" option must be 0 when no "teacher" is given (the distillation term needs a teacher). Received ${alpha}`,
    );
  }
  const reduction = opts.reduction ?? 'mean';
  expectOneOf('reduction', reduction, REDUCTIONS);

  const grad = gradOutput(opts.grad, n);
  let rowLoss: Float32Array;
  if (opts.rowLoss === undefined) {
    rowLoss = new Float32Array(rows);
  } else {
    if (!(opts.rowLoss instanceof Float32Array)) expectTypedArray('rowLoss', opts.rowLoss, Float32Array);
    rowLoss = opts.rowLoss;
    expectLength('rowLoss', rowLoss.length, rows, 'rows');
  }
  const gradScale = reduction === 'mean' && rows > 0 ? 1 / rows : 1;
  const p: Prepared = { student, rows, cols, dense, topk, labels: labels ?? null, temperature, alpha, rowLoss, grad, gradScale, reduction };
  if (grad !== undefined) expectApartFromInputs('grad', grad, p);
  expectApartFromInputs('rowLoss', rowLoss, p, grad);
  return p;
}

function callSoftmaxKl(p: Prepared, sync: boolean): Promise<void> | void {
  const f = sync ? native.softmaxKl : native.softmaxKlAsync;
  return f(p.student, p.rows, p.cols, p.dense, p.topk?.indices ?? null, p.topk?.logits ?? null, p.topk?.k ?? 0, p.labels,
    p.temperature, p.alpha, p.rowLoss, p.grad ?? null, p.gradScale);
}

/** The float inputs a non-finite error may come from, in the order they are searched. */
function floatInputs(p: Prepared): { name: string; value: Float32Array }[] {
  const inputs = [{ name: 'student', value: p.student }];
  if (p.dense) inputs.push({ name: 'teacher', value: p.dense });
  if (p.topk) inputs.push({ name: 'teacher.logits', value: p.topk.logits });
  return inputs;
}

/**
 * Turns the kernel's generic non-finite error into one that names the argument, the row and the element.
 * Only runs on the error path, so valid calls never pay for a JS scan of the logits.
 */
function explainNonFinite(err: unknown, inputs: { name: string; value: Float32Array }[], rowLen: (name: string) => number): unknown {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== 'ERR_DISTIQ_NON_FINITE') return fromNative(err);
  for (const { name, value } of inputs) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i]!;
      if (Number.isNaN(v) || v === Infinity) {
        return new DistiqRangeError(
          `Expected every element of "${name}" to be a finite number or -Infinity; ${name}[${i}] is ${v}`,
          'ERR_DISTIQ_NON_FINITE',
        );
      }
    }
    const len = rowLen(name);
    for (let r = 0; len > 0 && r * len < value.length; r++) {
      let any = false;
      for (let i = r * len; i < (r + 1) * len && !any; i++) any = value[i]! > -Infinity;
      if (!any) {
        return new DistiqRangeError(
          `Expected every row of "${name}" to hold at least one logit above -Infinity; row ${r} is all -Infinity`,
          'ERR_DISTIQ_NON_FINITE',
        );
      }
    }
  }
  return new DistiqRangeError(
    `${err.message} (a logit divided by the temperature overflows float32)`,
    'ERR_DISTIQ_NON_FINITE',
  );
}

function rowLengthOf(p: Prepared): (name: string) => number {
  return (name) => (name === 'teacher.logits' ? (p.topk?.k ?? 0) : p.cols);
}

function finish(p: Prepared): DistillationLossResult {
  let total = 0;
  for (let r = 0; r < p.rows; r++) total += p.rowLoss[r]!;
  const loss = p.reduction === 'mean' ? total / p.rows : total;
  return p.grad === undefined ? { loss, rowLoss: p.rowLoss } : { loss, rowLoss: p.rowLoss, grad: p.grad };
}

/**
 * The distillation loss of a batch of student logits `[rows, cols]` against a teacher (dense or top-k) and/or
 * hard labels, with its gradient with respect to the student logits when `grad` is set. See the module comment
 * for the formula, the alpha rules and the reductions.
 *
 * @example
 * const { loss, grad } = distillationLoss(studentLogits, {
 *   rows: 32, cols: 10, teacher: teacherLogits, labels, temperature: 4, alpha: 0.9, grad: true,
 * });
 */
export function distillationLoss(student: Float32Array, options: DistillationLossOptions): DistillationLossResult {
  const p = prepare(student, options);
  try {
    callSoftmaxKl(p, true);
  } catch (err) {
    throw explainNonFinite(err, floatInputs(p), rowLengthOf(p));
  }
  return finish(p);
}

/**
 * The Promise form of {@link distillationLoss}, computed on the libuv pool (for large vocabularies). Do not modify
 * or transfer the inputs or outputs until it settles. Results equal the synchronous form's, bit for bit.
 */
export async function distillationLossAsync(student: Float32Array, options: DistillationLossOptions): Promise<DistillationLossResult> {
  const p = prepare(student, options);
  const site = callSite();
  try {
    await callSoftmaxKl(p, false);
  } catch (err) {
    throw fromNativeAsync(explainNonFinite(err, floatInputs(p), rowLengthOf(p)), site);
  }
  return finish(p);
}

/**
 * Softmax cross-entropy of logits `[rows, cols]` against hard labels: the distillation kernel with no teacher and
 * α = 0. Returns the reduced loss, the per-row losses and, when `grad` is set, ∂loss/∂logits = softmax − onehot
 * (scaled by 1/rows for the mean).
 */
export function crossEntropy(
  logits: Float32Array,
  rows: number,
  cols: number,
  labels: Int32Array,
  options: CrossEntropyOptions = {},
): DistillationLossResult {
  expectOptionsObject('options', options);
  expectTypedArray('labels', labels, Int32Array);
  return distillationLoss(logits, { ...options, rows, cols, labels, alpha: 0 });
}

function softmaxInto(x: unknown, rows: unknown, cols: unknown, out: unknown, log: boolean): Float32Array {
  expectTypedArray('x', x, Float32Array);
  expectInteger('rows', rows);
  expectInteger('cols', cols, rows > 0 ? 1 : 0);
  const n = elementCount(rows, cols, 'x');
  expectLength('x', x.length, n, 'rows*cols');
  let o: Float32Array;
  if (out === undefined) {
    o = new Float32Array(n);
  } else {
    expectTypedArray('out', out, Float32Array);
    o = out;
    expectLength('out', o.length, n, 'rows*cols');
    const inPlace = o.buffer === x.buffer && o.byteOffset === x.byteOffset;
    if (!inPlace && sharesMemory(o, x)) {
      throw new DistiqRangeError('The "out" argument must be "x" itself (in place) or not share memory with "x"');
    }
  }
  try {
    native.softmax(x, rows, cols, o, log);
  } catch (err) {
    throw explainNonFinite(err, [{ name: 'x', value: x }], () => cols);
  }
  return o;
}

/**
 * Row-wise softmax of `x` `[rows, cols]` (max-subtracted, so large logits are safe; −Infinity entries get 0).
 * `out` may be `x` itself for an in-place softmax. Returns `out` (allocated when absent).
 */
export function softmax(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  return softmaxInto(x, rows, cols, out, false);
}

/**
 * Row-wise log-softmax of `x` `[rows, cols]`: `x − max − log Σ exp(x − max)`. `out` may be `x` itself. Returns
 * `out` (allocated when absent).
 */
export function logSoftmax(x: Float32Array, rows: number, cols: number, out?: Float32Array): Float32Array {
  return softmaxInto(x, rows, cols, out, true);
}
