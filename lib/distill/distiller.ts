/**
 * Distiller: the knowledge-distillation training loop (docs/distillation.md).
 *
 * Per optimizer step: a batch from a seeded DataLoader (its dataset indices go to the teacher, so a cached teacher
 * can look its rows up), the teacher's outputs (sync or async; checked: width, finiteness), the student forward in
 * training mode, the objective α·T²·KL + (1 − α)·CE (native fused kernel) plus the weighted extra terms, one
 * backward, optional gradient clipping, the optimizer step and the per-step LR scheduler. T, α and term weights may
 * be Schedules over optimizer steps. After every epoch: evaluation on `val` (accuracy, agreement with the teacher's
 * argmax, loss and its parts), early stopping, checkpoint.
 *
 * Label-free: a `SampleSource` train set has no labels at all; the loop then requires α = 1 at every step and never
 * calls a label accessor (it reads inputs through `gatherX` only).
 *
 * Determinism: the batch order comes from `seed`; everything else is the student's own (seeded) state. A checkpoint
 * (lib/io/model-file.ts, atomic) holds the student, the loss terms' projectors, the optimizer, the scheduler, every
 * random stream and the loop position (including a position inside an epoch), so a resumed run produces the same
 * weights, bit for bit, as an uninterrupted one.
 */
import * as fs from 'node:fs';

import { DataLoader, type Batch, type Dataset } from '../data/dataset';
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { loadCheckpoint, saveCheckpoint, type CheckpointParts } from '../io/model-file';
import { Module, type Parameter } from '../nn/module';
import { clipGradNorm, Optimizer } from '../nn/optim/optimizer';
import { LRScheduler } from '../nn/optim/schedule';
import type { RngState } from '../tensor/random';
import { formatShape } from '../tensor/shape';
import { scratch, Tensor } from '../tensor/tensor';
import { describe, expectBoolean, expectFinite, expectInteger, expectOneOf } from '../validate';
import { expectLossTerms, HintonKD, type DistillBatch, type LossTerm } from './kd-loss';
import { ProgressBar } from './progress';
import { describeSetting, expectSetting, valueAt, type Schedule } from './schedule';
import { expectOptions } from './options';
import { DistillState } from './state';
import { checkTeacherOutput, expectTeacher, ModelTeacher, teacherLabel, type Teacher, type TeacherOutput } from './teacher';
import { hasLabels, isSampleSource, type SampleSource } from './unlabeled';

/** The teacher side of the loop: the `Teacher` of lib/distill/teacher.ts. */
export type DistillTeacher = Teacher;

/** Options of `new Distiller(...)`: what is trained, from which teacher, with which objective and optimizer. */
export interface DistillerOptions {
  /** The model trained: any distiq Module producing logits `[rows, classes]`. */
  student: Module;
  /** Where the soft targets come from: modelTeacher(model), functionTeacher(fn, …), cachedTeacher(soft labels), … */
  teacher: DistillTeacher;
  /** Softmax temperature T > 0 of the KD term, constant or per-step Schedule (default 1). */
  temperature?: number | Schedule;
  /** Weight α ∈ [0, 1] of the KD term; 1 − α weighs the hard-label cross-entropy (default 1: labels unused). */
  alpha?: number | Schedule;
  /** Extra weighted terms (reverseKL(), logitMSE(), hiddenState()). */
  losses?: LossTerm[];
  /**
   * The optimizer, or a factory given every trainable parameter (the student's, then the loss terms' projectors).
   * With a projector term (hiddenState), use the factory: the projector is created when the Distiller binds the term,
   * and an optimizer instance that does not update its parameters is refused.
   */
  optimizer: Optimizer | ((params: Parameter[]) => Optimizer);
  /** Stepped after every optimizer step; or a factory given the optimizer. */
  scheduler?: LRScheduler | ((optimizer: Optimizer) => LRScheduler);
  /** Clip the global gradient norm (student + projectors) to this value before each step (the name `fit` uses). */
  clipGradNorm?: number;
  /** Same as `clipGradNorm` (the Distiller's first name for it; giving both with different values is an error). */
  clipNorm?: number;
  /** Seed of the batch order (default 0). */
  seed?: number;
  /**
   * Teacher used by `evaluate` / the per-epoch validation (its indices are those of the evaluated data). Default:
   * the training teacher, unless its kind is 'cache' (cached outputs belong to the training set): then null, and
   * evaluation reports no agreement and no KD part.
   */
  evalTeacher?: DistillTeacher | null;
}

/** The epoch metric early stopping watches (a field of DistillEpochMetrics). */
export type EarlyStoppingMetric = 'valLoss' | 'valAccuracy' | 'valAgreement' | 'trainLoss' | 'trainAccuracy' | 'trainAgreement';

/** `fit({ earlyStopping })`: stop after `patience` epochs without improvement of `metric`. */
export interface EarlyStoppingOptions {
  /** Default 'valLoss' with a val set, else 'trainLoss'. */
  metric?: EarlyStoppingMetric;
  /** Epochs without improvement before stopping (≥ 1). */
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Default: 'min' for losses, 'max' for accuracy/agreement. */
  mode?: 'min' | 'max';
  /** Put the weights of the best epoch back at the end (default true). */
  restoreBest?: boolean;
}

/** `fit({ checkpoint })`: atomic checkpoints of the whole run (student, projectors, optimizer, scheduler, RNGs, loop position). */
export interface CheckpointOptions {
  /** The checkpoint file (written atomically). */
  path: string;
  /** Write after every this many epochs (default 1) and at the end. */
  everyEpochs?: number;
  /** Also write after every this many optimizer steps (mid-epoch positions resume exactly too). */
  everySteps?: number;
  /** Continue from `path` when it exists (default false). */
  resume?: boolean;
}

/** Options of `Distiller.fit`. */
export interface DistillFitOptions {
  /** Training data: a labelled Dataset, or a SampleSource (no labels: α must be 1). */
  train: Dataset | SampleSource;
  /** Evaluated after every `evalEvery` epochs and after the last (accuracy needs labels; agreement needs evalTeacher). */
  val?: Dataset | SampleSource;
  /** Epochs, or total optimizer `steps` (the last epoch may be partial). Exactly one of the two. */
  epochs?: number;
  steps?: number;
  /** Rows per optimizer step. */
  batchSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default false). */
  dropLast?: boolean;
  /** Batch size of the validation pass (default max(batchSize, 1000)). */
  evalBatchSize?: number;
  /** Evaluate on `val` every this many epochs (default 1) and after the last one; early stopping on a val metric counts evaluations. */
  evalEvery?: number;
  earlyStopping?: EarlyStoppingOptions;
  checkpoint?: CheckpointOptions;
  /** A checkpoint file to continue from (same student, optimizer and options). */
  resume?: string;
  /** Called after every step and every epoch (see DistillProgressEvent). */
  onProgress?: (event: DistillProgressEvent) => void;
  /** Terminal progress bar on stderr (only drawn when stderr is a TTY; default true). */
  progress?: boolean;
  /**
   * With an async teacher (predict returns a Promise), request batch i + 1 from the teacher before training on batch
   * i, so teacher latency overlaps the student's step (default true; results are identical). Turn it off when the
   * teacher's outputs depend on the student's current weights.
   */
  prefetch?: boolean;
}

/** One epoch of `DistillHistory.epochs` (train figures are over the batches as trained; val figures after the epoch). */
export interface DistillEpochMetrics {
  /** 1-based. */
  epoch: number;
  /** Optimizer steps so far. */
  steps: number;
  trainLoss: number;
  /** Hard-label accuracy of the training batches (absent without labels). */
  trainAccuracy?: number;
  /** Fraction of training rows where the student's argmax equals the teacher's. */
  trainAgreement: number;
  valLoss?: number;
  valAccuracy?: number;
  valAgreement?: number;
  /** Loss parts on val: kd (T²·KL), ce, and each extra term by name (unweighted). */
  valParts?: Record<string, number>;
  lr: number;
  temperature: number;
  alpha: number;
  trainSeconds: number;
  seconds: number;
}

/** What `Distiller.fit` returns. */
export interface DistillHistory {
  epochs: DistillEpochMetrics[];
  /** Optimizer steps done in total. */
  steps: number;
  stoppedEarly: boolean;
  /** Early stopping: the best epoch and its metric value (null without early stopping). */
  bestEpoch: number | null;
  best: number | null;
  metric: EarlyStoppingMetric | null;
  /** Settings, for reports. */
  temperature: number | object;
  alpha: number | object;
}

/** `fit({ onProgress })` events: after every optimizer step, and after every epoch (with its metrics). */
export type DistillProgressEvent =
  | { type: 'step'; epoch: number; epochs: number; step: number; totalSteps: number; loss: number; lr: number }
  | { type: 'epoch'; epochs: number; totalSteps: number; metrics: DistillEpochMetrics };

/** What `Distiller.evaluate` returns. */
export interface DistillEvalResult {
  /** Hard-label accuracy (NaN when the data has no labels). */
  accuracy: number;
  /** Agreement of the student's argmax with the teacher's (NaN without an evaluation teacher). */
  agreement: number;
  /**
   * The objective at the current α and T (with teacher and labels); the KD part plus terms without labels; the CE
   * without a teacher.
   */
  loss: number;
  /** kd (T²·KL), ce, and every extra term by name (unweighted means). */
  parts: Record<string, number>;
}

/** A SampleSource as a Dataset for the DataLoader: inputs through gatherX, labels never touched (left 0). */
class InputsOnly implements Dataset {
  readonly numClasses = 0;
  constructor(private readonly src: SampleSource) {}
  get length(): number {
    return this.src.length;
  }
  get sampleShape(): readonly number[] {
    return this.src.sampleShape;
  }
  gather(indices: ArrayLike<number>, x: Float32Array): void {
    this.src.gatherX(indices, x);
  }
}

function expectData(name: string, d: unknown): { data: Dataset; labelled: boolean } {
  if (hasLabels(d)) return { data: d, labelled: true };
  if (isSampleSource(d)) return { data: new InputsOnly(d), labelled: false };
  throw new DistiqTypeError(`The "${name}" option must be a Dataset or a SampleSource. Received ${describe(d)}`);
}

/**
 * The model whose eval-mode forward on the whole batch has just run inside `teacher.predict` (a ModelTeacher answering
 * synchronously in one chunk), so its layer outputs belong to this batch; else null.
 */
function forwardedModel(teacher: Teacher, pred: unknown, rows: number): Module | null {
  return teacher instanceof ModelTeacher && !isThenable(pred) && rows <= teacher.batchSize ? teacher.model : null;
}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return v !== null && typeof v === 'object' && typeof (v as Promise<T>).then === 'function';
}

/** Index of the largest of `n` values at `off` (first on ties). */
function argmaxRow(d: Float32Array, off: number, n: number): number {
  let best = 0, bv = d[off]!;
  for (let c = 1; c < n; c++) {
    const v = d[off + c]!;
    if (v > bv) {
      bv = v;
      best = c;
    }
  }
  return best;
}

/** Teacher's argmax class of row r. */
function teacherArgmax(t: TeacherOutput, r: number, classes: number): number {
  if (t instanceof Float32Array) return argmaxRow(t, r * classes, classes);
  const k = t.k;
  return t.indices[r * k + argmaxRow(t.logits, r * k, k)]!;
}

const LOSS_METRICS = new Set(['valLoss', 'trainLoss']);
const METRICS: readonly EarlyStoppingMetric[] = ['valLoss', 'valAccuracy', 'valAgreement', 'trainLoss', 'trainAccuracy', 'trainAgreement'];

// The settings of each option bag (the `satisfies` keeps them equal to the interfaces' keys).
const DISTILLER_KEYS = Object.keys({
  student: 1, teacher: 1, temperature: 1, alpha: 1, losses: 1, optimizer: 1, scheduler: 1, clipGradNorm: 1, clipNorm: 1, seed: 1, evalTeacher: 1,
} satisfies Record<keyof DistillerOptions, 1>);
const FIT_KEYS = Object.keys({
  train: 1, val: 1, epochs: 1, steps: 1, batchSize: 1, shuffle: 1, dropLast: 1, evalBatchSize: 1, evalEvery: 1, earlyStopping: 1,
  checkpoint: 1, resume: 1, onProgress: 1, progress: 1, prefetch: 1,
} satisfies Record<keyof DistillFitOptions, 1>);
const EARLY_KEYS = Object.keys({ metric: 1, patience: 1, minDelta: 1, mode: 1, restoreBest: 1 } satisfies Record<keyof EarlyStoppingOptions, 1>);
const CHECKPOINT_KEYS = Object.keys({ path: 1, everyEpochs: 1, everySteps: 1, resume: 1 } satisfies Record<keyof CheckpointOptions, 1>);
const EVALUATE_KEYS = ['teacher', 'batchSize'];

interface LoopState {
  /** Completed epochs. */
  epoch: number;
  /** Batches done in the current (incomplete) epoch. */
  batch: number;
  step: number;
  /** Global step at which this fit run started (its `steps` count from there). */
  startStep: number;
  /** Loader state at the start of the current epoch (replayed on resume inside an epoch). */
  loaderAtEpochStart: RngState | null;
  sums: { loss: number; hits: number; agree: number; rows: number; seconds: number };
  history: DistillEpochMetrics[];
  early: { best: number | null; bestEpoch: number | null; bad: number; stopped: boolean };
}

/**
 * The knowledge-distillation loop: `new Distiller(options)`, then `fit(...)` (returns a DistillHistory) and
 * `evaluate(data)`. See the module comment and docs/distillation.md.
 */
export class Distiller {
  readonly student: Module;
  readonly teacher: DistillTeacher;
  readonly evalTeacher: DistillTeacher | null;
  readonly temperature: number | Schedule;
  readonly alpha: number | Schedule;
  readonly losses: readonly LossTerm[];
  readonly optimizer: Optimizer;
  readonly scheduler: LRScheduler | null;
  /** The gradient-norm clip (clipGradNorm / clipNorm option), or undefined. */
  readonly clipNorm: number | undefined;
  readonly seed: number;
  private readonly kd = new HintonKD();
  private readonly state: DistillState;
  private readonly trainable: Parameter[];
  private readonly gradBuf = { buf: new Float32Array(0) };
  private readonly prefetchBufs: { x: Float32Array; y: Int32Array }[] = [];
  private prefetchSlot = 0;
  /** Steps completed across fit calls (drives schedules). */
  private step = 0;

  constructor(options: DistillerOptions) {
    if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
    expectOptions('new Distiller() options', options, DISTILLER_KEYS);
    const { student, teacher } = options;
    if (!(student instanceof Module)) throw new DistiqTypeError(`The "student" option must be a Module. Received ${describe(student)}`);
    expectTeacher('teacher', teacher, 'option');
    const temperature = options.temperature ?? 1;
    const alpha = options.alpha ?? 1;
    expectSetting('temperature', temperature, (t) => Number.isFinite(t) && t > 0, 'a finite number > 0');
    expectSetting('alpha', alpha, (a) => a >= 0 && a <= 1, 'in [0, 1]');
    const losses = options.losses ?? [];
    expectLossTerms(losses);
    if (options.clipGradNorm !== undefined) expectFinite('clipGradNorm', options.clipGradNorm, { min: 0, exclusiveMin: true });
    if (options.clipNorm !== undefined) expectFinite('clipNorm', options.clipNorm, { min: 0, exclusiveMin: true });
    if (options.clipGradNorm !== undefined && options.clipNorm !== undefined && options.clipGradNorm !== options.clipNorm) {
      throw new DistiqRangeError(`The "clipGradNorm" (${options.clipGradNorm}) and "clipNorm" (${options.clipNorm}) options name the same setting; give one`);
    }
    const seed = options.seed ?? 0;
    expectInteger('seed', seed, 0, 0xffffffff);
    let evalTeacher: DistillTeacher | null;
    if (options.evalTeacher === undefined) evalTeacher = teacher.kind === 'cache' ? null : teacher;
    else {
      evalTeacher = options.evalTeacher;
      if (evalTeacher !== null) expectTeacher('evalTeacher', evalTeacher, 'option');
    }

    this.student = student;
    this.teacher = teacher;
    this.evalTeacher = evalTeacher;
    this.temperature = temperature;
    this.alpha = alpha;
    this.losses = Object.freeze(losses.slice());
    this.clipNorm = options.clipGradNorm ?? options.clipNorm;
    this.seed = seed;
    let opt: Optimizer, sch: LRScheduler | null;
    try {
      for (const t of this.losses) t.bind?.(student);
      this.trainable = [...student.parameters(), ...this.losses.flatMap((t) => t.parameters())];
      opt = typeof options.optimizer === 'function' && !(options.optimizer instanceof Optimizer)
        ? (options.optimizer as (p: Parameter[]) => Optimizer)(this.trainable.slice())
        : options.optimizer;
      if (!(opt instanceof Optimizer)) throw new DistiqTypeError(`The "optimizer" option must be an Optimizer or a function returning one. Received ${describe(opt)}`);
      const covered = new Set(opt.params);
      this.losses.forEach((t, i) => {
        if (t.parameters().some((p) => !covered.has(p))) {
          throw new DistiqRangeError(
            `The "optimizer" option does not update the parameters of losses[${i}] ('${t.name}', its projector); pass a factory ` +
              '(optimizer: (params) => new AdamW(params, ...)): it receives the student\'s parameters and the projectors\'',
          );
        }
      });
      sch = typeof options.scheduler === 'function' && !(options.scheduler instanceof LRScheduler)
        ? (options.scheduler as (o: Optimizer) => LRScheduler)(opt)
        : options.scheduler ?? null;
      if (sch !== null && !(sch instanceof LRScheduler)) throw new DistiqTypeError(`The "scheduler" option must be an LRScheduler or a function returning one. Received ${describe(sch)}`);
      if (sch !== null && sch.optimizer !== opt) throw new DistiqRangeError('The "scheduler" option drives a different optimizer than the "optimizer" option');
    } catch (err) {
      for (const t of this.losses) t.unbind?.(); // a refused Distiller leaves no layer tap behind
      throw err;
    }
    this.optimizer = opt;
    this.scheduler = sch;
    this.state = new DistillState(student, this.losses);
  }

  /** Every trainable parameter: the student's, then the loss terms' (projectors). */
  parameters(): Parameter[] {
    return this.trainable.slice();
  }

  /** Removes what the loss terms installed on the student (layer taps). */
  dispose(): void {
    for (const t of this.losses) t.unbind?.();
  }

  private settingsAt(step: number): { temperature: number; alpha: number } {
    const temperature = valueAt(this.temperature, step), alpha = valueAt(this.alpha, step);
    if (!(temperature > 0) || !Number.isFinite(temperature)) {
      throw new DistiqRangeError(`The "temperature" setting must be a finite number > 0; at step ${step} it is ${temperature}`);
    }
    if (!(alpha >= 0 && alpha <= 1)) throw new DistiqRangeError(`The "alpha" setting must be in [0, 1]; at step ${step} it is ${alpha}`);
    return { temperature, alpha };
  }

  private studentLogits(out: Tensor, rows: number, labels: Int32Array | null): number {
    if (out.rank !== 2) {
      throw new DistiqRangeError(`The student must output logits of shape [rows, classes]; it returned ${formatShape(out.shape)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    const n = out.dim(0), classes = out.dim(1);
    if (labels !== null && n !== labels.length) {
      throw new DistiqRangeError(
        `Label/logit count mismatch: the batch has ${labels.length} labels but the student returned ${n} rows of logits`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    if (n !== rows) {
      throw new DistiqRangeError(`The student returned ${n} rows of logits for a batch of ${rows} samples`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    return classes;
  }

  private expectClasses(teacher: DistillTeacher, classes: number): void {
    if (teacher.classes !== classes) {
      throw new DistiqRangeError(
        `The ${teacherLabel(teacher)} has ${teacher.classes} classes (teacher.classes) but the student outputs ${classes} logits per sample`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
  }

  /** Copy of a loader batch into one of two alternating buffers (the loader reuses its own for the next batch). */
  private prefetchCopy(b: Batch): Batch {
    const slot = (this.prefetchSlot ^= 1);
    const n = b.x.size;
    let bufs = this.prefetchBufs[slot];
    if (bufs === undefined || bufs.x.length < n || bufs.y.length < b.size) {
      bufs = { x: new Float32Array(n), y: new Int32Array(b.size) };
      this.prefetchBufs[slot] = bufs;
    }
    const x = bufs.x.length === n ? bufs.x : bufs.x.subarray(0, n);
    x.set(b.x.data);
    const y = bufs.y.subarray(0, b.size);
    y.set(b.y);
    // indices view the loader's epoch order, which does not change until the next epoch.
    return { x: new Tensor(x, b.x.shape), y, size: b.size, indices: b.indices };
  }

  /** One optimizer step on the batch with the teacher's (possibly pending) output. Returns the loss; counts into `acc`. */
  private async trainStep(b: Batch, pred: TeacherOutput | Promise<TeacherOutput>, labelled: boolean, acc: LoopState['sums']): Promise<number> {
    const { temperature, alpha } = this.settingsAt(this.step);
    const rows = b.size;
    const labels = labelled ? b.y : null;
    const raw = isThenable(pred) ? await pred : pred;
    const student = this.student;
    student.train();
    this.optimizer.zeroGrad();
    const out = student.forward(b.x);
    const classes = this.studentLogits(out, rows, labels);
    this.expectClasses(this.teacher, classes);
    const teacher = checkTeacherOutput(this.teacher, raw, rows, b.indices);
    const grad = scratch(this.gradBuf, [rows, classes]);
    let loss = this.kd.compute(out.data, rows, classes, teacher, labels, temperature, alpha, grad.data);
    loss += this.extraTerms(b.x, out.data, rows, classes, teacher, temperature, grad.data, null, forwardedModel(this.teacher, pred, rows));
    if (!Number.isFinite(loss)) {
      throw new DistiqRangeError(`The distillation loss is ${loss} at step ${this.step} (diverging student? lower the learning rate)`, 'ERR_DISTIQ_NON_FINITE');
    }
    // Metrics of the batch as trained (the student's output before the update).
    const out32 = out.data;
    let hits = 0, agree = 0;
    for (let r = 0; r < rows; r++) {
      const p = argmaxRow(out32, r * classes, classes);
      if (labels !== null && p === labels[r]) hits++;
      if (p === teacherArgmax(teacher, r, classes)) agree++;
    }
    acc.loss += loss * rows;
    acc.hits += hits;
    acc.agree += agree;
    acc.rows += rows;
    student.backward(grad, false);
    if (this.clipNorm !== undefined) clipGradNorm(this.optimizer.params, this.clipNorm);
    this.optimizer.step();
    this.scheduler?.step();
    this.step++;
    return loss;
  }

  /** Σ weight·term over the extra terms; adds gradients when `grad`; records unweighted values in `parts`. */
  private extraTerms(
    x: Tensor, student: Float32Array, rows: number, classes: number, teacher: TeacherOutput, temperature: number,
    grad: Float32Array | null, parts: Record<string, number> | null, teacherModel: Module | null,
  ): number {
    if (this.losses.length === 0) return 0;
    const batch: DistillBatch = { rows, classes, x, student, teacher, temperature, step: this.step, teacherModel };
    let total = 0;
    for (const t of this.losses) {
      const w = valueAt(t.weight, this.step);
      if (!(w >= 0) || !Number.isFinite(w)) throw new DistiqRangeError(`The weight of loss '${t.name}' must be a finite number >= 0; at step ${this.step} it is ${w}`);
      if (w === 0 && parts === null) continue;
      const v = t.compute(batch, w, grad);
      if (parts !== null) parts[t.name] = (parts[t.name] ?? 0) + v * rows;
      total += w * v;
    }
    return total;
  }

  /**
   * Accuracy, agreement with the teacher's argmax, the objective and its parts on `data` (student in eval mode; its
   * mode is restored). `teacher` defaults to the distiller's evaluation teacher (see DistillerOptions.evalTeacher).
   */
  async evaluate(data: Dataset | SampleSource, options: { teacher?: DistillTeacher | null; batchSize?: number } = {}): Promise<DistillEvalResult> {
    const { data: ds, labelled } = expectData('data', data);
    if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
    expectOptions('Distiller.evaluate() options', options, EVALUATE_KEYS);
    const teacher = options.teacher === undefined ? this.evalTeacher : options.teacher;
    if (teacher !== null) expectTeacher('teacher', teacher, 'option');
    const batchSize = options.batchSize ?? 1000;
    expectInteger('batchSize', batchSize, 1);
    const { temperature, alpha } = this.settingsAt(this.step);
    const was = this.student.training;
    this.student.eval();
    let hits = 0, agree = 0, n = 0;
    const parts: Record<string, number> = {};
    try {
      for (const b of new DataLoader(ds, { batchSize })) {
        const rows = b.size;
        const labels = labelled ? b.y : null;
        let raw: unknown = null, forwarded: Module | null = null;
        if (teacher !== null) {
          const pred = teacher.predict({ x: b.x, indices: b.indices });
          forwarded = forwardedModel(teacher, pred, rows);
          raw = isThenable(pred) ? await pred : pred;
        }
        const out = this.student.forward(b.x);
        const classes = this.studentLogits(out, rows, labels);
        const t = teacher === null ? null : (this.expectClasses(teacher, classes), checkTeacherOutput(teacher, raw, rows, b.indices));
        const p = this.kd.parts(out.data, rows, classes, t, labels, temperature);
        if (p.kd !== undefined) parts.kd = (parts.kd ?? 0) + p.kd * rows;
        if (p.ce !== undefined) parts.ce = (parts.ce ?? 0) + p.ce * rows;
        if (t !== null) this.extraTerms(b.x, out.data, rows, classes, t, temperature, null, parts, forwarded);
        for (let r = 0; r < rows; r++) {
          const c = argmaxRow(out.data, r * classes, classes);
          if (labels !== null && c === labels[r]) hits++;
          if (t !== null && c === teacherArgmax(t, r, classes)) agree++;
        }
        n += rows;
      }
    } finally {
      this.student.train(was);
    }
    for (const k of Object.keys(parts)) parts[k] = parts[k]! / n;
    let loss: number;
    if (parts.kd !== undefined) {
      loss = parts.ce !== undefined ? alpha * parts.kd + (1 - alpha) * parts.ce : parts.kd;
      for (const t of this.losses) if (parts[t.name] !== undefined) loss += valueAt(t.weight, this.step) * parts[t.name]!;
    } else {
      loss = parts.ce ?? NaN;
    }
    return { accuracy: labelled ? hits / n : NaN, agreement: teacher !== null ? agree / n : NaN, loss, parts };
  }

  /** Trains the student; see the module comment and docs/distillation.md. */
  async fit(options: DistillFitOptions): Promise<DistillHistory> {
    if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
    expectOptions('Distiller.fit() options', options, FIT_KEYS);
    const { data: train, labelled } = expectData('train', options.train);
    const val = options.val === undefined ? null : options.val;
    if (val !== null) expectData('val', val);
    if (!labelled) {
      // Label-free: α must be 1 at every step (checked again per step by the kernel wrapper).
      expectSetting('alpha', this.alpha, (a) => a === 1, '1 when the training data has no labels (a SampleSource)');
    }
    expectInteger('batchSize', options.batchSize, 1);
    const shuffle = options.shuffle ?? true, dropLast = options.dropLast ?? false;
    expectBoolean('shuffle', shuffle);
    const loader = new DataLoader(train, { batchSize: options.batchSize, shuffle, dropLast, seed: this.seed });
    const perEpoch = loader.length;
    if ((options.epochs === undefined) === (options.steps === undefined)) {
      throw new DistiqTypeError(`Give exactly one of the "epochs" and "steps" options. Received epochs ${describe(options.epochs)} and steps ${describe(options.steps)}`);
    }
    let epochs: number, totalSteps: number;
    if (options.epochs !== undefined) {
      expectInteger('epochs', options.epochs, 0);
      epochs = options.epochs;
      totalSteps = epochs * perEpoch;
    } else {
      expectInteger('steps', options.steps, 0);
      totalSteps = options.steps!;
      epochs = Math.ceil(totalSteps / perEpoch);
    }
    const es = options.earlyStopping;
    let metric: EarlyStoppingMetric | null = null, mode: 'min' | 'max' = 'min', minDelta = 0, restoreBest = true;
    if (es !== undefined) {
      if (es === null || typeof es !== 'object') throw new DistiqTypeError(`The "earlyStopping" option must be an object { patience, metric?, minDelta?, mode?, restoreBest? }. Received ${describe(es)}`);
      expectOptions('The "earlyStopping" settings', es, EARLY_KEYS);
      metric = es.metric ?? (val !== null ? 'valLoss' : 'trainLoss');
      expectOneOf('earlyStopping.metric', metric, METRICS);
      if (metric.startsWith('val') && val === null) throw new DistiqRangeError(`The "earlyStopping.metric" setting is '${metric}' but no "val" data is given`);
      expectInteger('earlyStopping.patience', es.patience, 1);
      minDelta = es.minDelta ?? 0;
      expectFinite('earlyStopping.minDelta', minDelta, { min: 0 });
      mode = es.mode ?? (LOSS_METRICS.has(metric) ? 'min' : 'max');
      expectOneOf('earlyStopping.mode', mode, ['min', 'max'] as const);
      restoreBest = es.restoreBest ?? true;
      expectBoolean('earlyStopping.restoreBest', restoreBest);
    }
    const ck = options.checkpoint;
    if (ck !== undefined) {
      if (ck === null || typeof ck !== 'object') throw new DistiqTypeError(`The "checkpoint" option must be an object { path, everyEpochs?, everySteps?, resume? }. Received ${describe(ck)}`);
      expectOptions('The "checkpoint" settings', ck, CHECKPOINT_KEYS);
      if (typeof ck.path !== 'string' || ck.path === '') throw new DistiqTypeError(`The "checkpoint.path" option must be a file path. Received ${describe(ck.path)}`);
      if (ck.everyEpochs !== undefined) expectInteger('checkpoint.everyEpochs', ck.everyEpochs, 1);
      if (ck.everySteps !== undefined) expectInteger('checkpoint.everySteps', ck.everySteps, 1);
    }
    const prefetch = options.prefetch ?? true;
    expectBoolean('prefetch', prefetch);
    let prefetching = false;
    const evalBatch = options.evalBatchSize ?? Math.max(options.batchSize, 1000);
    expectInteger('evalBatchSize', evalBatch, 1);
    const evalEvery = options.evalEvery ?? 1;
    expectInteger('evalEvery', evalEvery, 1);
    if (metric === 'trainAccuracy' && !labelled) throw new DistiqRangeError(`The "earlyStopping.metric" setting is 'trainAccuracy' but the training data has no labels`);
    if (metric === 'valAccuracy' && val !== null && !hasLabels(val)) throw new DistiqRangeError(`The "earlyStopping.metric" setting is 'valAccuracy' but the "val" data has no labels`);
    if (metric === 'valAgreement' && this.evalTeacher === null) {
      throw new DistiqRangeError(`The "earlyStopping.metric" setting is 'valAgreement' but there is no evaluation teacher (a cache teacher does not evaluate other data: pass "evalTeacher")`);
    }
    if (metric === 'valLoss' && val !== null && this.evalTeacher === null && !hasLabels(val)) {
      throw new DistiqRangeError(`The "earlyStopping.metric" setting is 'valLoss' but the "val" data has no labels and there is no evaluation teacher (pass "evalTeacher", or labelled val data)`);
    }

    // Best weights for early stopping live in the checkpointed state as "best.<name>".
    const keepBest = es !== undefined && restoreBest;
    this.state.extra.clear();
    if (keepBest) for (const [n, t] of this.state.coreState()) this.state.extra.set(`best.${n}`, Tensor.zeros(t.shape));
    const parts: CheckpointParts = { model: this.state, optimizer: this.optimizer, rngs: { loader: loader.rng } };
    if (this.scheduler) parts.scheduler = this.scheduler;

    let st: LoopState = {
      epoch: 0, batch: 0, step: this.step, startStep: this.step, loaderAtEpochStart: null,
      sums: { loss: 0, hits: 0, agree: 0, rows: 0, seconds: 0 }, history: [],
      early: { best: null, bestEpoch: null, bad: 0, stopped: false },
    };
    const resumeFrom = options.resume ?? (ck?.resume && fs.existsSync(ck.path) ? ck.path : undefined);
    if (resumeFrom !== undefined) {
      if (!fs.existsSync(resumeFrom)) throw new DistiqRangeError(`The "resume" checkpoint "${resumeFrom}" does not exist`);
      st = (loadCheckpoint(resumeFrom, parts) as { distill?: LoopState }).distill ?? st;
      if (st.loaderAtEpochStart !== null) loader.rng.setState(st.loaderAtEpochStart);
    }
    this.step = st.step;
    const startStep = st.startStep;
    const bar = ProgressBar.forStderr(options.progress);
    const onProgress = options.onProgress;
    const save = (): void => {
      if (ck !== undefined) saveCheckpoint(ck.path, parts, { distill: st });
    };

    while (st.epoch < epochs && !st.early.stopped && st.step - startStep < totalSteps) {
      const t0 = performance.now();
      st.loaderAtEpochStart = loader.rng.getState();
      let b = 0, queued = 0;
      let pending: { batch: Batch; pred: TeacherOutput | Promise<TeacherOutput> } | null = null;
      // Trains on the pending batch, then the step's bookkeeping (progress, mid-epoch checkpoint).
      const flush = async (): Promise<void> => {
        if (pending === null) return;
        const { batch, pred } = pending;
        pending = null;
        const loss = await this.trainStep(batch, pred, labelled, st.sums);
        st.step = this.step;
        st.batch = ++b;
        bar?.step(st.epoch + 1, epochs, st.step - startStep, totalSteps, loss);
        onProgress?.({ type: 'step', epoch: st.epoch + 1, epochs, step: st.step - startStep, totalSteps, loss, lr: this.optimizer.lr });
        if (ck?.everySteps !== undefined && (st.step - startStep) % ck.everySteps === 0 && st.step - startStep < totalSteps && b < perEpoch) {
          const prior = st.sums.seconds;
          st.sums.seconds = prior + (performance.now() - t0) / 1000;
          save();
          st.sums.seconds = prior;
        }
      };
      for (const batch of loader) {
        if (queued < st.batch) { // resuming inside this epoch: replay the order, skip what was done
          queued++;
          b++;
          continue;
        }
        if (st.step - startStep + (pending === null ? 0 : 1) >= totalSteps) break;
        queued++;
        if (prefetching) {
          // The teacher works on this batch while the student trains on the previous one.
          const own = this.prefetchCopy(batch);
          const pred = this.teacher.predict({ x: own.x, indices: own.indices });
          if (isThenable(pred)) pred.catch(() => undefined); // awaited in flush; never an unhandled rejection
          await flush();
          pending = { batch: own, pred };
        } else {
          pending = { batch, pred: this.teacher.predict({ x: batch.x, indices: batch.indices }) };
          const async = isThenable(pending.pred);
          await flush();
          if (async && prefetch) prefetching = true;
        }
      }
      await flush();
      const tTrain = performance.now();
      const trainSeconds = st.sums.seconds + (tTrain - t0) / 1000;
      const { temperature, alpha } = this.settingsAt(Math.max(this.step - 1, 0));
      const s = st.sums;
      const m: DistillEpochMetrics = {
        epoch: st.epoch + 1, steps: st.step - startStep, trainLoss: s.loss / s.rows, trainAgreement: s.agree / s.rows,
        lr: this.optimizer.lr, temperature, alpha, trainSeconds, seconds: 0,
      };
      if (labelled) m.trainAccuracy = s.hits / s.rows;
      const finalEpoch = st.epoch + 1 >= epochs || st.step - startStep >= totalSteps;
      const evaluated = val !== null && ((st.epoch + 1) % evalEvery === 0 || finalEpoch);
      if (evaluated) {
        const v = await this.evaluate(val!, { batchSize: evalBatch });
        if (!Number.isNaN(v.loss)) m.valLoss = v.loss;
        if (!Number.isNaN(v.accuracy)) m.valAccuracy = v.accuracy;
        if (!Number.isNaN(v.agreement)) m.valAgreement = v.agreement;
        m.valParts = v.parts;
      }
      m.seconds = trainSeconds + (performance.now() - tTrain) / 1000;
      st.history.push(m);
      st.epoch++;
      st.batch = 0;
      st.sums = { loss: 0, hits: 0, agree: 0, rows: 0, seconds: 0 };
      st.loaderAtEpochStart = null;
      if (metric !== null && (evaluated || !metric.startsWith('val'))) {
        const value = m[metric];
        if (value === undefined) throw new DistiqRangeError(`The early-stopping metric '${metric}' is not available (no labels or no evaluation teacher?)`);
        const e = st.early;
        const better = e.best === null || (mode === 'min' ? value < e.best - minDelta : value > e.best + minDelta);
        if (better) {
          e.best = value;
          e.bestEpoch = m.epoch;
          e.bad = 0;
          if (keepBest) for (const [n, t] of this.state.coreState()) this.state.extra.get(`best.${n}`)!.data.set(t.data);
        } else if (++e.bad >= es!.patience) {
          e.stopped = true;
        }
      }
      const last = st.epoch >= epochs || st.early.stopped || st.step - startStep >= totalSteps;
      if (ck !== undefined && (last || st.epoch % (ck.everyEpochs ?? 1) === 0)) save();
      bar?.epoch(epochSummary(m, epochs));
      onProgress?.({ type: 'epoch', epochs, totalSteps, metrics: m });
    }
    if (keepBest && st.early.bestEpoch !== null) {
      for (const [n, t] of this.state.coreState()) t.data.set(this.state.extra.get(`best.${n}`)!.data);
    }
    this.state.extra.clear();
    return {
      epochs: st.history, steps: st.step - startStep, stoppedEarly: st.early.stopped, bestEpoch: st.early.bestEpoch,
      best: st.early.best, metric, temperature: describeSetting(this.temperature), alpha: describeSetting(this.alpha),
    };
  }
}

function epochSummary(m: DistillEpochMetrics, epochs: number): string {
  const f = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(4));
  return `epoch ${m.epoch}/${epochs}  loss ${f(m.trainLoss)}  acc ${f(m.trainAccuracy)}  agree ${f(m.trainAgreement)}` +
    `  val loss ${f(m.valLoss)}  val acc ${f(m.valAccuracy)}  val agree ${f(m.valAgreement)}  ${m.seconds.toFixed(2)} s`;
}
