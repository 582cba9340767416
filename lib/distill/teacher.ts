/**
 * Teachers: one interface, `predict({ x, indices }) → logits` (sync or async), and three adapters.
 *
 * - `modelTeacher(model)`: a distiq Module run in eval mode (dropout off, BatchNorm running statistics) in chunks of
 *   `batchSize` rows. Each module's own `training` flag is restored after every call, so the teacher can be a model
 *   that is still being trained elsewhere. The output is copied out of the layer's reused buffer.
 * - `functionTeacher(fn, { classes })`: any function of the input batch (e.g. a call to a remote model server),
 *   returning a Float32Array `[rows, classes]` or a Tensor of that shape, directly or through a Promise.
 * - `cachedTeacher(softLabels)`: rows of a soft-label cache (lib/distill/soft-labels.ts) looked up by the batch's
 *   dataset indices.
 *
 * Every adapter validates what it returns (`checkTeacherOutput`): a dense output must have rows × classes values, all
 * finite; a top-k output k ∈ [1, classes] entries per row, indices in [0, classes) and distinct within the row, finite
 * logits. A wrong width is a DistiqRangeError ERR_DISTIQ_SHAPE_MISMATCH naming the teacher and the expected and
 * received columns; a NaN/±Infinity logit is ERR_DISTIQ_NON_FINITE naming the teacher, the batch row and its dataset
 * index. `kind` is a free string ('model', 'function', 'cache'; an ONNX teacher will be 'onnx'), used in reports,
 * error messages and the soft-label manifest.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import type { TopKTeacher } from '../ops/softmax-kl';
import { formatShape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';
import { describe, expectInteger } from '../validate';
import { expectOptions } from './options';
import type { SoftLabels } from './soft-labels';

/** A top-k teacher output: `k` class indices and their logits per row (lib/ops/softmax-kl.ts). */
export type { TopKTeacher } from '../ops/softmax-kl';

/** Dense logits `[rows, classes]` row-major, or the top-k entries of each row. */
export type TeacherOutput = Float32Array | TopKTeacher;

/** What a teacher is asked for: a batch of inputs and their dataset indices. */
export interface TeacherBatch {
  /** `[rows, ...sampleShape]` */
  x: Tensor;
  /** Dataset index of each row (cached teachers look their outputs up by index). */
  indices: Int32Array;
}

/** The teacher interface (see the module comment): the adapters below, or any object of this shape. */
export interface Teacher {
  /** Logits per sample. */
  readonly classes: number;
  /** 'model' | 'function' | 'cache' | … (reports, errors, the soft-label manifest). */
  readonly kind: 'model' | 'function' | 'cache' | string;
  /** Optional human-readable name for messages (e.g. "Sequential", "resnet-server"). */
  readonly name?: string;
  /** Logits for the batch's rows, in order: dense `[rows, classes]` or top-k; directly or as a Promise. */
  predict(batch: TeacherBatch): TeacherOutput | Promise<TeacherOutput>;
}

/** "model teacher 'Sequential'": how errors name a teacher. */
export function teacherLabel(teacher: Teacher): string {
  const kind = typeof teacher.kind === 'string' ? teacher.kind : 'custom';
  return teacher.name ? `${kind} teacher '${teacher.name}'` : `${kind} teacher`;
}

/**
 * Throws a typed error unless `teacher` has the Teacher shape (classes ≥ 1, a kind string, a predict function).
 * `what` is how the message calls `name` ("argument" of a function, "option" of an options object). A Module given
 * where a Teacher belongs gets the hint to wrap it with modelTeacher().
 */
export function expectTeacher(name: string, teacher: unknown, what: 'argument' | 'option' = 'argument'): asserts teacher is Teacher {
  const t = teacher as Teacher;
  if (teacher instanceof Module) {
    throw new DistiqTypeError(`The "${name}" ${what} must be a Teacher; wrap a model with modelTeacher(model). Received ${describe(teacher)}`);
  }
  if (t === null || typeof t !== 'object' || typeof t.predict !== 'function') {
    throw new DistiqTypeError(`The "${name}" ${what} must be a Teacher (an object with classes, kind and predict(batch)). Received ${describe(teacher)}`);
  }
  if (typeof t.kind !== 'string') throw new DistiqTypeError(`The "${name}.kind" property must be a string. Received ${describe(t.kind)}`);
  expectInteger(`${name}.classes`, t.classes, 1);
}

function isTopK(out: unknown): out is TopKTeacher {
  return out !== null && typeof out === 'object' && !ArrayBuffer.isView(out) && 'indices' in (out as object);
}

function nonFinite(teacher: Teacher, what: string, row: number, indices: Int32Array | undefined, col: number, v: number): never {
  const at = indices !== undefined && row < indices.length ? ` (dataset index ${indices[row]})` : '';
  throw new DistiqRangeError(
    `The ${teacherLabel(teacher)} returned a non-finite logit ${v} at row ${row}${at}, ${what} ${col}`,
    'ERR_DISTIQ_NON_FINITE',
  );
}

/**
 * Validates a teacher's output for a batch of `rows` rows (see the module comment) and returns it unchanged.
 * `indices` (the batch's dataset indices) only improve the messages.
 */
export function checkTeacherOutput(teacher: Teacher, out: unknown, rows: number, indices?: Int32Array): TeacherOutput {
  const classes = teacher.classes, label = teacherLabel(teacher);
  if (out instanceof Float32Array) {
    if (out.length !== rows * classes) {
      const cols = rows > 0 ? out.length / rows : out.length;
      throw new DistiqRangeError(
        `The ${label} returned ${Number.isInteger(cols) ? cols : `${out.length} values, ${cols.toFixed(2)}`} columns per row; expected ${classes} (` +
          `${rows} rows × ${classes} classes = ${rows * classes} values, received ${out.length})`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      if (v - v !== 0) nonFinite(teacher, 'class', Math.floor(i / classes), indices, i % classes, v);
    }
    return out;
  }
  if (isTopK(out)) {
    const { k } = out;
    if (!(out.indices instanceof Int32Array) || !(out.logits instanceof Float32Array)) {
      throw new DistiqTypeError(`The ${label} returned a top-k output whose indices/logits are not Int32Array/Float32Array. Received ${describe(out.indices)}, ${describe(out.logits)}`);
    }
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > classes) {
      throw new DistiqRangeError(`The ${label} returned a top-k output with k = ${describe(k)}; expected an integer in [1, ${classes}]`);
    }
    if (out.indices.length !== rows * k || out.logits.length !== rows * k) {
      throw new DistiqRangeError(
        `The ${label} returned top-k arrays of ${out.indices.length} indices and ${out.logits.length} logits; expected ${rows * k} each (${rows} rows × k = ${k})`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    const seen = new Int32Array(classes).fill(-1);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < k; j++) {
        const c = out.indices[r * k + j]!, v = out.logits[r * k + j]!;
        if (c < 0 || c >= classes) {
          throw new DistiqRangeError(`The ${label} returned class index ${c} at row ${r}, entry ${j}; expected [0, ${classes - 1}]`);
        }
        if (seen[c] === r) throw new DistiqRangeError(`The ${label} returned class ${c} twice in row ${r}`);
        seen[c] = r;
        if (v - v !== 0) nonFinite(teacher, 'top-k entry', r, indices, j, v);
      }
    }
    return out;
  }
  throw new DistiqTypeError(`The ${label} must return a Float32Array [rows, classes] or a top-k { indices, logits, k }. Received ${describe(out)}`);
}

function lastLinear(m: Module): Linear | null {
  let found: Linear | null = m instanceof Linear ? m : null;
  for (const [, c] of m.namedChildren()) found = lastLinear(c) ?? found;
  return found;
}

function modules(m: Module, out: Module[] = []): Module[] {
  out.push(m);
  for (const [, c] of m.namedChildren()) modules(c, out);
  return out;
}

/** Options of `modelTeacher`. */
export interface ModelTeacherOptions {
  /** Rows per forward pass (default 256): bounds the activation memory of large batches. */
  batchSize?: number;
  /** Logits per sample; default: the output width of the model's last Linear layer. */
  classes?: number;
  /** For messages and the manifest; default the model's class name. */
  name?: string;
}

/** The teacher `modelTeacher` returns; `model` and `batchSize` let generateSoftLabels run it in worker threads. */
export class ModelTeacher implements Teacher {
  readonly kind = 'model';
  readonly classes: number;
  readonly name: string;
  readonly model: Module;
  readonly batchSize: number;

  constructor(model: Module, options: ModelTeacherOptions = {}) {
    if (!(model instanceof Module)) throw new DistiqTypeError(`The "model" argument must be a Module. Received ${describe(model)}`);
    if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
    expectOptions('modelTeacher() options', options, ['batchSize', 'classes', 'name']);
    const batchSize = options.batchSize ?? 256;
    expectInteger('batchSize', batchSize, 1);
    let classes = options.classes;
    if (classes === undefined) {
      const lin = lastLinear(model);
      if (lin === null) {
        throw new DistiqRangeError(`modelTeacher: ${model.label()} has no Linear layer to take the class count from; pass the "classes" option`);
      }
      classes = lin.outFeatures;
    }
    expectInteger('classes', classes, 1);
    this.model = model;
    this.batchSize = batchSize;
    this.classes = classes;
    this.name = options.name ?? model.constructor.name;
  }

  predict(batch: TeacherBatch): Float32Array {
    const x = batchInput(this, batch);
    const rows = x.shape[0]!, stride = rows > 0 ? x.size / rows : 0, classes = this.classes;
    const out = new Float32Array(rows * classes);
    const all = modules(this.model);
    const flags = all.map((m) => m.training);
    try {
      for (const m of all) m.training = false;
      for (let r0 = 0; r0 < rows; r0 += this.batchSize) {
        const r1 = Math.min(rows, r0 + this.batchSize);
        const xs = new Tensor(x.data.subarray(r0 * stride, r1 * stride), [r1 - r0, ...x.shape.slice(1)]);
        const y = this.model.forward(xs);
        if (y.size !== (r1 - r0) * classes) {
          throw new DistiqRangeError(
            `The ${teacherLabel(this)} produced output of shape ${formatShape(y.shape)} for ${r1 - r0} rows; expected ${classes} columns (${formatShape([r1 - r0, classes])})`,
            'ERR_DISTIQ_SHAPE_MISMATCH',
          );
        }
        out.set(y.data, r0 * classes);
      }
    } finally {
      for (let i = 0; i < all.length; i++) all[i]!.training = flags[i]!;
    }
    return checkTeacherOutput(this, out, rows, batch.indices) as Float32Array;
  }
}

function batchInput(teacher: Teacher, batch: TeacherBatch): Tensor {
  if (batch === null || typeof batch !== 'object' || !(batch.x instanceof Tensor)) {
    throw new DistiqTypeError(`The ${teacherLabel(teacher)} expects a batch { x: Tensor, indices: Int32Array }. Received ${describe(batch)}${batch && typeof batch === 'object' ? ` with x = ${describe(batch.x)}` : ''}`);
  }
  if (batch.x.rank < 1) throw new DistiqRangeError(`The ${teacherLabel(teacher)} expects x of shape [rows, ...], received ${formatShape(batch.x.shape)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  const { indices } = batch;
  if (indices !== undefined && !(indices instanceof Int32Array)) {
    throw new DistiqTypeError(`The "batch.indices" argument must be an Int32Array. Received ${describe(indices)}`);
  }
  if (indices !== undefined && indices.length !== batch.x.shape[0]) {
    throw new DistiqRangeError(`batch.indices has ${indices.length} entries for ${batch.x.shape[0]} rows of x`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }
  return batch.x;
}

/** A distiq model as a teacher (eval mode for each call, no state change visible after it). */
export function modelTeacher(model: Module, options?: ModelTeacherOptions): ModelTeacher {
  return new ModelTeacher(model, options);
}

/** The function of a `functionTeacher`: the batch input and its dataset indices → logits `[rows, classes]`. */
export type TeacherFunction = (x: Tensor, indices: Int32Array) => Float32Array | Tensor | Promise<Float32Array | Tensor>;

/** Any function as a teacher. It receives the batch input (and, additionally, the rows' dataset indices). */
export function functionTeacher(fn: TeacherFunction, options: { classes: number; name?: string }): Teacher {
  if (typeof fn !== 'function') throw new DistiqTypeError(`The "fn" argument must be a function. Received ${describe(fn)}`);
  if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object with "classes". Received ${describe(options)}`);
  expectOptions('functionTeacher() options', options, ['classes', 'name']);
  expectInteger('classes', options.classes, 1);
  if (options.name !== undefined && typeof options.name !== 'string') throw new DistiqTypeError(`The "name" option must be a string. Received ${describe(options.name)}`);
  const teacher: Teacher = {
    kind: 'function',
    classes: options.classes,
    name: options.name ?? (fn.name || undefined),
    predict(batch: TeacherBatch): TeacherOutput | Promise<TeacherOutput> {
      const x = batchInput(teacher, batch);
      const rows = x.shape[0]!;
      const indices = batch.indices ?? new Int32Array(0);
      const finish = (y: unknown): TeacherOutput => {
        if (y instanceof Tensor) {
          if (y.rank !== 2 || y.shape[0] !== rows || y.shape[1] !== teacher.classes) {
            throw new DistiqRangeError(
              `The ${teacherLabel(teacher)} returned a tensor of shape ${formatShape(y.shape)}; expected ${teacher.classes} columns (${formatShape([rows, teacher.classes])})`,
              'ERR_DISTIQ_SHAPE_MISMATCH',
            );
          }
          y = y.data;
        }
        if (!(y instanceof Float32Array)) {
          throw new DistiqTypeError(`The ${teacherLabel(teacher)} must return a Float32Array or a Tensor. Received ${describe(y)}`);
        }
        return checkTeacherOutput(teacher, y, rows, indices);
      };
      const y = fn(x, indices);
      return y instanceof Promise ? y.then(finish) : finish(y);
    },
  };
  return Object.freeze(teacher);
}

/**
 * Cached soft labels as a teacher: rows looked up by `batch.indices` (the batch input is not read). The rows were
 * validated when the cache was loaded (loadSoftLabels); an index outside the cache is a DistiqRangeError naming it.
 */
export function cachedTeacher(cache: SoftLabels): Teacher {
  if (cache === null || typeof cache !== 'object' || typeof (cache as SoftLabels).gather !== 'function') {
    throw new DistiqTypeError(`The "cache" argument must be SoftLabels (from loadSoftLabels). Received ${describe(cache)}`);
  }
  const teacher: Teacher = {
    kind: 'cache',
    classes: cache.classes,
    name: cache.manifest?.teacher?.name ?? undefined,
    predict(batch: TeacherBatch): TeacherOutput {
      if (batch === null || typeof batch !== 'object' || !(batch.indices instanceof Int32Array)) {
        throw new DistiqTypeError(`The cache teacher looks rows up by dataset index: the batch needs "indices" (an Int32Array). Received ${describe(batch?.indices)}`);
      }
      const { indices } = batch;
      if (batch.x instanceof Tensor && batch.x.shape[0] !== indices.length) {
        throw new DistiqRangeError(`batch.indices has ${indices.length} entries for ${batch.x.shape[0]} rows of x`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
      for (let i = 0; i < indices.length; i++) {
        const r = indices[i]!;
        if (r < 0 || r >= cache.length) {
          throw new DistiqRangeError(
            `The ${teacherLabel(teacher)} holds soft labels for dataset indices [0, ${cache.length - 1}]; batch row ${i} asks for index ${r} ` +
              '(is this the dataset the soft labels were generated for?)',
          );
        }
      }
      return cache.gather(indices);
    },
  };
  return Object.freeze(teacher);
}
