/**
 * Distillation losses on a batch of student logits s `[rows, classes]` and teacher outputs t (dense logits, or a
 * top-k teacher), all means over rows. docs/distillation.md has every formula and gradient.
 *
 * - The main objective (`hintonKD`), the native fused kernel of lib/ops/softmax-kl.ts:
 *     α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(softmax(s), y)
 *   Dense or top-k teachers (sparse top-k KD: the teacher distribution is the softmax over its k logits). Labels are
 *   passed to the kernel only when α < 1, so α = 1 never reads them.
 * - Extra terms (`LossTerm`), each with a weight (constant or Schedule), added to the objective:
 *   `reverseKL()`  T²·KL(softmax(s/T) ‖ softmax(t/T))       (dense teacher; T = the Distiller's unless given)
 *   `logitMSE()`   mean over rows·classes of (s − t)²        (dense teacher)
 *   `hiddenState()` (hidden-state.ts) MSE or cosine between a student layer's output (through a learned projector
 *                   when widths differ) and a teacher layer's output.
 * Terms add `weight·∂term/∂s` into the caller's logit gradient; buffers are reused from batch to batch.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import type { Module, Parameter } from '../nn/module';
import { distillationLoss, logSoftmax, type DistillationLossOptions } from '../ops/softmax-kl';
import type { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
import { expectOptions } from './options';
import { expectSetting, type Schedule } from './schedule';
import type { TeacherOutput } from './teacher';

/** What a teacher returns for a batch: the `TeacherOutput` of teacher.ts (dense logits or the top-k per row), under the name the loss API uses. */
export type TeacherLogits = TeacherOutput;

/** One batch as the loss terms see it. */
export interface DistillBatch {
  rows: number;
  classes: number;
  /** The batch inputs `[rows, ...sampleShape]`. */
  x: Tensor;
  /** Student logits `[rows·classes]`. */
  student: Float32Array;
  /** Teacher outputs for the same rows (validated). */
  teacher: TeacherLogits;
  /** Current temperature of the main objective. */
  temperature: number;
  /** Completed optimizer steps. */
  step: number;
  /**
   * The teacher model whose eval-mode forward on exactly `x` has just run (a synchronous model teacher), so its layer
   * outputs are current and a hidden-state term need not run it again; null/absent otherwise.
   */
  teacherModel?: Module | null;
}

/** An extra loss term of the Distiller (`losses` option): reverseKL(), logitMSE(), hiddenState(), or your own. */
export interface LossTerm {
  /** Short name used in loss parts and errors ("reverseKL", "hidden:2->3"). */
  readonly name: string;
  /** Weight of the term in the objective (constant or Schedule over optimizer steps). */
  readonly weight: number | Schedule;
  /** Trainable parameters of the term (a projector), optimized together with the student. */
  parameters(): Parameter[];
  /** Called once by the Distiller with the student (e.g. to install a layer tap); throws on a bad layer name. */
  bind?(student: Module): void;
  /** Undoes `bind` (removes taps). */
  unbind?(): void;
  /**
   * The term's unweighted value on `batch`. With `grad` (`[rows·classes]`), adds `weight·∂term/∂student` into it
   * (and stages any gradient the term injects elsewhere, e.g. at a hidden layer, scaled by `weight`).
   */
  compute(batch: DistillBatch, weight: number, grad: Float32Array | null): number;
}

/** Throws a typed error unless `t` is a dense teacher output (the terms below need every logit). */
function denseTeacher(term: string, t: TeacherLogits): Float32Array {
  if (t instanceof Float32Array) return t;
  throw new DistiqRangeError(
    `The "${term}" loss needs dense teacher logits (every class); the teacher returned top-k outputs (k = ${t.k})`,
  );
}

/** Float32Array of at least n elements (grown, never shrunk), viewed as exactly n. */
function sized(buf: Float32Array, n: number): Float32Array {
  return buf.length === n ? buf : buf.subarray(0, n);
}

abstract class LogitTerm implements LossTerm {
  abstract readonly name: string;
  readonly weight: number | Schedule;

  constructor(weight: number | Schedule) {
    expectSetting('weight', weight, (w) => Number.isFinite(w) && w >= 0, 'a finite number >= 0');
    this.weight = weight;
  }

  parameters(): Parameter[] {
    return [];
  }

  abstract compute(batch: DistillBatch, weight: number, grad: Float32Array | null): number;
}

/** Options of `reverseKL(...)`. */
export interface ReverseKLOptions {
  /** Term weight (default 1). */
  weight?: number | Schedule;
  /** Temperature of this term (default: the Distiller's current temperature). */
  temperature?: number | Schedule;
}

/**
 * Reverse KL, T²·KL(p ‖ q) with p = softmax(s/T), q = softmax(t/T); mode-seeking (the student concentrates on the
 * teacher's main modes). ∂/∂s_j = T·p_j·(log p_j − log q_j − KL(p ‖ q)).
 */
class ReverseKL extends LogitTerm {
  readonly name = 'reverseKL';
  private readonly temperature: number | Schedule | undefined;
  private a = new Float32Array(0);
  private b = new Float32Array(0);

  constructor(options: ReverseKLOptions) {
    super(options.weight ?? 1);
    if (options.temperature !== undefined) {
      expectSetting('temperature', options.temperature, (x) => Number.isFinite(x) && x > 0, 'a finite number > 0');
    }
    this.temperature = options.temperature;
  }

  compute(batch: DistillBatch, weight: number, grad: Float32Array | null): number {
    const t = denseTeacher(this.name, batch.teacher);
    const { rows, classes, student } = batch;
    const n = rows * classes;
    const T = this.temperature === undefined ? batch.temperature
      : typeof this.temperature === 'number' ? this.temperature : this.temperature.at(batch.step);
    if (this.a.length < n) {
      this.a = new Float32Array(n);
      this.b = new Float32Array(n);
    }
    const la = sized(this.a, n), lb = sized(this.b, n);
    const inv = Math.fround(1 / T);
    for (let i = 0; i < n; i++) {
      la[i] = student[i]! * inv;
      lb[i] = t[i]! * inv;
    }
    logSoftmax(la, rows, classes, la);
    logSoftmax(lb, rows, classes, lb);
    let total = 0;
    const g = grad === null ? 0 : (weight * T) / rows;
    for (let r = 0; r < rows; r++) {
      const o = r * classes;
      let kl = 0;
      for (let c = o; c < o + classes; c++) {
        const lp = la[c]!;
        if (lp === -Infinity) continue;
        kl += Math.exp(lp) * (lp - lb[c]!);
      }
      total += kl;
      if (grad !== null && g !== 0) {
        for (let c = o; c < o + classes; c++) {
          const lp = la[c]!;
          if (lp === -Infinity) continue;
          grad[c] = grad[c]! + g * Math.exp(lp) * (lp - lb[c]! - kl);
        }
      }
    }
    return (T * T * total) / rows;
  }
}

/** Reverse KL term (dense teachers). */
export function reverseKL(options: ReverseKLOptions = {}): LossTerm {
  if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
  expectOptions('reverseKL() options', options, ['weight', 'temperature']);
  return new ReverseKL(options);
}

/** Mean squared error between student and teacher logits, over rows·classes: ∂/∂s = 2(s − t)/(rows·classes). */
class LogitMSE extends LogitTerm {
  readonly name = 'logitMSE';

  compute(batch: DistillBatch, weight: number, grad: Float32Array | null): number {
    const t = denseTeacher(this.name, batch.teacher);
    const { rows, classes, student } = batch;
    const n = rows * classes;
    const k = (2 * weight) / n;
    let s = 0;
    if (grad === null) {
      for (let i = 0; i < n; i++) {
        const d = student[i]! - t[i]!;
        s += d * d;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const d = student[i]! - t[i]!;
        s += d * d;
        grad[i] = grad[i]! + k * d;
      }
    }
    return s / n;
  }
}

/** MSE-on-logits term (dense teachers). */
export function logitMSE(options: { weight?: number | Schedule } = {}): LossTerm {
  if (options === null || typeof options !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(options)}`);
  expectOptions('logitMSE() options', options, ['weight']);
  return new LogitMSE(options.weight ?? 1);
}

/** Throws unless every entry of `terms` is a LossTerm. */
export function expectLossTerms(terms: unknown): asserts terms is LossTerm[] {
  if (!Array.isArray(terms)) throw new DistiqTypeError(`The "losses" option must be an array of loss terms. Received ${describe(terms)}`);
  terms.forEach((t, i) => {
    if (t === null || typeof t !== 'object' || typeof (t as LossTerm).compute !== 'function' || typeof (t as LossTerm).parameters !== 'function') {
      throw new DistiqTypeError(`The "losses[${i}]" option must be a loss term (reverseKL(), logitMSE(), hiddenState()). Received ${describe(t)}`);
    }
  });
}

/**
 * The main objective on one batch, on reused buffers: α·T²·KL + (1 − α)·CE through the native fused kernel,
 * writing (not adding) `∂/∂student` into `grad` when given. Labels are used only when α < 1.
 */
export class HintonKD {
  private rowLoss = new Float32Array(0);
  // One options object reused for every call (no per-batch allocation beyond the kernel's result).
  private readonly opts: DistillationLossOptions = { rows: 0, cols: 0 };

  compute(
    student: Float32Array,
    rows: number,
    classes: number,
    teacher: TeacherLogits,
    labels: Int32Array | null,
    temperature: number,
    alpha: number,
    grad: Float32Array | null,
  ): number {
    if (this.rowLoss.length !== rows) this.rowLoss = new Float32Array(rows);
    const useLabels = alpha < 1;
    if (useLabels && labels === null) {
      throw new DistiqRangeError(`The "alpha" setting must be 1 when the data has no labels (the hard-label term needs labels). Received ${alpha}`);
    }
    const o = this.opts;
    o.rows = rows;
    o.cols = classes;
    o.teacher = teacher;
    o.labels = useLabels ? labels! : undefined;
    o.temperature = temperature;
    o.alpha = alpha;
    o.rowLoss = this.rowLoss;
    o.grad = grad ?? undefined;
    return distillationLoss(student, o).loss;
  }

  /** The two parts separately (no gradient): T²·KL and CE (CE only with labels). */
  parts(student: Float32Array, rows: number, classes: number, teacher: TeacherLogits | null, labels: Int32Array | null, temperature: number): { kd?: number; ce?: number } {
    if (this.rowLoss.length !== rows) this.rowLoss = new Float32Array(rows);
    const out: { kd?: number; ce?: number } = {};
    if (teacher !== null) out.kd = distillationLoss(student, { rows, cols: classes, teacher, temperature, alpha: 1, rowLoss: this.rowLoss }).loss;
    if (labels !== null) out.ce = distillationLoss(student, { rows, cols: classes, labels, alpha: 0, rowLoss: this.rowLoss }).loss;
    return out;
  }
}
