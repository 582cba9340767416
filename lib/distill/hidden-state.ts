/**
 * Hidden-state distillation (FitNets-style): the output h_s of a named student layer is mapped by a learned linear
 * projector P (when the widths differ, or on request) and compared with the output h_t of a named teacher layer:
 *
 *   mse:    mean over rows·width of (P(h_s) − h_t)²
 *   cosine: mean over rows of 1 − cos(P(h_s), h_t)
 *
 * The teacher is a distiq model run forward in eval mode on the batch (its layer output is read through a
 * Sequential tap); the term's gradient w.r.t. h_s, times the term weight, is injected into the student's backward
 * at that layer (Sequential.setTap), and the projector's parameters are trained by the Distiller's optimizer.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { Linear } from '../nn/linear';
import { CosineLoss, MSELoss } from '../nn/loss';
import { Module, type Parameter } from '../nn/module';
import type { Sequential, SequentialTap } from '../nn/sequential';
import { Rng } from '../tensor/random';
import { formatShape } from '../tensor/shape';
import { scratch, Tensor } from '../tensor/tensor';
import { describe, expectInteger, expectOneOf } from '../validate';
import type { DistillBatch, LossTerm } from './kd-loss';
import { findTappable, outputWidth } from './layers';
import { expectOptions } from './options';
import { expectSetting, type Schedule } from './schedule';
import { ModelTeacher } from './teacher';

/** Options of `hiddenState(...)`. */
export interface HiddenStateOptions {
  /** Dotted name of the student layer whose output is distilled (e.g. "1"). */
  studentLayer: string;
  /**
   * The teacher model whose layer output is the target: a distiq Module, or the `modelTeacher(model)` given to the
   * Distiller as its teacher (its model is used).
   */
  teacher: Module | ModelTeacher;
  /** Dotted name of the teacher layer (e.g. "3"). */
  teacherLayer: string;
  /** 'mse' (default) or 'cosine'. */
  metric?: 'mse' | 'cosine';
  /** Term weight (default 1). */
  weight?: number | Schedule;
  /** 'auto' (default): a projector only when the widths differ; true: always; false: never (widths must match). */
  projector?: boolean | 'auto';
  /** Output width of the student layer (default: inferred from the layer, e.g. a Linear's outFeatures). */
  studentWidth?: number;
  /** Output width of the teacher layer (default: inferred). */
  teacherWidth?: number;
  /** Seed of the projector's initialization (default 0). */
  seed?: number;
}

const METRICS = ['mse', 'cosine'] as const;
const HIDDEN_KEYS = Object.keys({
  studentLayer: 1, teacher: 1, teacherLayer: 1, metric: 1, weight: 1, projector: 1, studentWidth: 1, teacherWidth: 1, seed: 1,
} satisfies Record<keyof HiddenStateOptions, 1>);

/**
 * The hidden-state terms listening at each tapped layer. A Sequential holds one tap per child, so every tapped child
 * gets one fan-out tap calling its listeners in order: several terms may read the same student or teacher layer
 * (e.g. an mse and a cosine term, or terms of two Distillers sharing a teacher), and their gradients add up.
 */
const LISTENERS = new WeakMap<Sequential, Map<number, Set<SequentialTap>>>();

function listen(parent: Sequential, index: number, tap: SequentialTap): void {
  let byIndex = LISTENERS.get(parent);
  if (byIndex === undefined) LISTENERS.set(parent, (byIndex = new Map()));
  let set = byIndex.get(index);
  if (set === undefined) {
    const all = new Set<SequentialTap>();
    set = all;
    byIndex.set(index, all);
    parent.setTap(index, {
      output: (y) => {
        for (const t of all) t.output(y);
      },
      grad: (dy) => {
        let g = dy;
        for (const t of all) g = t.grad(g);
        return g;
      },
    });
  }
  set.add(tap);
}

function unlisten(parent: Sequential, index: number, tap: SequentialTap): void {
  const byIndex = LISTENERS.get(parent), set = byIndex?.get(index);
  if (set === undefined || !set.delete(tap) || set.size > 0) return;
  byIndex!.delete(index);
  parent.setTap(index, null);
}

class HiddenState implements LossTerm {
  readonly name: string;
  readonly weight: number | Schedule;
  private readonly opts: HiddenStateOptions;
  private readonly teacher: Module;
  private readonly teacherTap: { parent: Sequential; index: number };
  private readonly teacherWidth: number | null;
  private readonly loss: MSELoss | CosineLoss;
  private projector: Linear | null = null;
  private bound: { student: Module; parent: Sequential; index: number; width: number } | null = null;
  private readonly studentListener: SequentialTap = {
    output: (y) => {
      this.hs = y;
      this.staged = null;
    },
    grad: (dy) => this.inject(dy),
  };
  private readonly teacherListener: SequentialTap = { output: (y) => { this.ht = y; }, grad: (dy) => dy };
  private hs: Tensor | null = null;
  private ht: Tensor | null = null;
  private staged: Tensor | null = null;
  private readonly sumBuf = { buf: new Float32Array(0) };

  constructor(options: HiddenStateOptions) {
    if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
    expectOptions('hiddenState() options', options, HIDDEN_KEYS);
    const teacher = options.teacher instanceof ModelTeacher ? options.teacher.model : options.teacher;
    if (!(teacher instanceof Module)) {
      throw new DistiqTypeError(`The "teacher" setting of hiddenState must be the teacher model (a Module, or a modelTeacher(model)). Received ${describe(options.teacher)}`);
    }
    const metric = options.metric ?? 'mse';
    expectOneOf('metric', metric, METRICS);
    const weight = options.weight ?? 1;
    expectSetting('weight', weight, (w) => Number.isFinite(w) && w >= 0, 'a finite number >= 0');
    const projector = options.projector ?? 'auto';
    if (projector !== 'auto' && typeof projector !== 'boolean') {
      throw new DistiqTypeError(`The "projector" setting must be true, false or 'auto'. Received ${describe(projector)}`);
    }
    if (options.studentWidth !== undefined) expectInteger('studentWidth', options.studentWidth, 1);
    if (options.teacherWidth !== undefined) expectInteger('teacherWidth', options.teacherWidth, 1);
    if (options.seed !== undefined) expectInteger('seed', options.seed, 0, 0xffffffff);
    const t = findTappable(teacher, options.teacherLayer, 'teacherLayer', 'teacher');
    this.teacher = teacher;
    this.teacherTap = t;
    this.teacherWidth = options.teacherWidth ?? outputWidth(t);
    this.opts = options;
    this.weight = weight;
    this.loss = metric === 'mse' ? new MSELoss() : new CosineLoss();
    this.name = `hidden:${options.studentLayer}->${options.teacherLayer}`;
  }

  parameters(): Parameter[] {
    return this.projector === null ? [] : this.projector.parameters();
  }

  bind(student: Module): void {
    if (this.bound !== null) {
      if (this.bound.student === student) return;
      throw new DistiqRangeError(`The loss term '${this.name}' is already bound to another student`);
    }
    const s = findTappable(student, this.opts.studentLayer, 'studentLayer', 'student');
    const sw = this.opts.studentWidth ?? outputWidth(s);
    if (sw === null) {
      throw new DistiqRangeError(`hiddenState: the width of student layer "${this.opts.studentLayer}" (${s.module.constructor.name}) cannot be inferred; pass the "studentWidth" setting`);
    }
    const tw = this.teacherWidth;
    if (tw === null) {
      throw new DistiqRangeError(`hiddenState: the width of teacher layer "${this.opts.teacherLayer}" cannot be inferred; pass the "teacherWidth" setting`);
    }
    const mode = this.opts.projector ?? 'auto';
    if (mode === false && sw !== tw) {
      throw new DistiqRangeError(
        `hiddenState: student layer "${this.opts.studentLayer}" has width ${sw} and teacher layer "${this.opts.teacherLayer}" width ${tw}; they differ, so "projector" cannot be false`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    if (mode === true || sw !== tw) this.projector = new Linear(sw, tw, { rng: new Rng(this.opts.seed ?? 0) });
    this.bound = { student, parent: s.parent, index: s.index, width: sw };
    listen(s.parent, s.index, this.studentListener);
    listen(this.teacherTap.parent, this.teacherTap.index, this.teacherListener);
  }

  unbind(): void {
    if (this.bound === null) return;
    unlisten(this.bound.parent, this.bound.index, this.studentListener);
    unlisten(this.teacherTap.parent, this.teacherTap.index, this.teacherListener);
    this.bound = null;
  }

  /** dy + the staged gradient (into a reused buffer), or dy when nothing is staged. */
  private inject(dy: Tensor): Tensor {
    const g = this.staged;
    if (g === null) return dy;
    this.staged = null;
    if (g.size !== dy.size) {
      throw new DistiqRangeError(`hiddenState '${this.name}': the staged gradient has ${g.size} values, the layer output ${dy.size}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    const out = scratch(this.sumBuf, dy.shape), o = out.data, a = dy.data, b = g.data;
    for (let i = 0; i < o.length; i++) o[i] = a[i]! + b[i]!;
    return out;
  }

  compute(batch: DistillBatch, weight: number, grad: Float32Array | null): number {
    const bound = this.bound;
    if (bound === null) throw new DistiqRangeError(`The loss term '${this.name}' is not bound to a student (use it through a Distiller)`);
    const hs = this.hs;
    if (hs === null) throw new DistiqRangeError(`hiddenState '${this.name}': the student layer "${this.opts.studentLayer}" produced no output in this forward`);
    const rows = batch.rows;
    if (hs.size !== rows * bound.width) {
      throw new DistiqRangeError(
        `hiddenState: student layer "${this.opts.studentLayer}" output ${formatShape(hs.shape)} is not ${rows} rows of width ${bound.width} (the "studentWidth")`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    // The teacher layer output for this batch: captured by the tap during the model teacher's own forward when the
    // Distiller says that forward ran on exactly this batch, else from a forward in eval mode here.
    const tw = this.projector?.outFeatures ?? bound.width;
    const fresh = batch.teacherModel === this.teacher && this.ht !== null && this.ht.size === rows * tw;
    if (!fresh) {
      const t = this.teacher, was = t.training;
      if (was) t.eval();
      this.ht = null;
      try {
        t.forward(batch.x);
      } finally {
        if (was) t.train(true);
      }
    }
    const ht = this.ht as Tensor | null;
    this.ht = null;
    if (ht === null || ht.size !== rows * tw) {
      throw new DistiqRangeError(
        `hiddenState: teacher layer "${this.opts.teacherLayer}" output ${ht === null ? 'is missing' : formatShape(ht.shape)}; expected ${rows} rows of width ${tw}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
    const hs2 = hs.rank === 2 ? hs : hs.reshape([rows, bound.width]);
    const ht2 = ht.rank === 2 ? ht : ht.reshape([rows, tw]);
    const p = this.projector === null ? hs2 : this.projector.forward(hs2);
    const value = this.loss.forward(p, ht2);
    if (grad !== null && weight !== 0) {
      const dp = this.loss.backward(), d = dp.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i]! * weight;
      this.staged = this.projector === null ? dp : this.projector.backward(dp, true);
    }
    return value;
  }
}

/** A hidden-state distillation term (see the module comment). */
export function hiddenState(options: HiddenStateOptions): LossTerm {
  return new HiddenState(options);
}
