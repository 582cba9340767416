/**
 * The trainable state of a distillation run as one Module for lib/io checkpoints: the student's tensors under their
 * own names, the loss terms' parameters (projectors) as "loss<i>.<j>", and optional extra tensors (the best weights
 * kept for early stopping) as "<prefix>.<name>". It does not adopt the student as a child, so the student's layer
 * paths (and its error messages) are unchanged.
 */
import { DistiqRangeError } from '../errors';
import { Module, type ModuleConfig, type Parameter } from '../nn/module';
import type { RngState } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import type { LossTerm } from './kd-loss';

/** The checkpoint container of a Distiller run (see the module comment). */
export class DistillState extends Module {
  readonly student: Module;
  private readonly termParams: [string, Parameter][];
  /** Extra named tensors saved alongside (e.g. "best.0.weight"); set by the Distiller. */
  extra = new Map<string, Tensor>();

  constructor(student: Module, terms: readonly LossTerm[]) {
    super();
    this.student = student;
    this.termParams = [];
    terms.forEach((t, i) => t.parameters().forEach((p, j) => this.termParams.push([`loss${i}.${j}`, p])));
  }

  forward(): Tensor {
    throw new DistiqRangeError('DistillState is a checkpoint container, not a layer');
  }

  backward(): Tensor {
    throw new DistiqRangeError('DistillState is a checkpoint container, not a layer');
  }

  config(): ModuleConfig {
    return { type: 'DistillState', student: this.student.config(), terms: this.termParams.length };
  }

  /** The student's tensors and the loss terms' parameters (sharing memory), without the extra tensors. */
  coreState(): Map<string, Tensor> {
    const out = this.student.stateDict();
    for (const [n, p] of this.termParams) out.set(n, p.value);
    return out;
  }

  override stateDict(): Map<string, Tensor> {
    const out = this.coreState();
    for (const [n, t] of this.extra) out.set(n, t);
    return out;
  }

  override loadStateDict(state: Map<string, Tensor>, strict = true): void {
    const student = new Map<string, Tensor>();
    const own = new Map(this.termParams.map(([n, p]) => [n, p.value] as const));
    for (const [n, t] of state) {
      if (own.has(n) || this.extra.has(n)) continue;
      student.set(n, t);
    }
    for (const [n, t] of [...own, ...this.extra]) {
      const src = state.get(n);
      if (src === undefined) throw new DistiqRangeError(`Missing tensor "${n}" in the distillation checkpoint`);
      if (!src.sameShape(t)) throw new DistiqRangeError(`Tensor "${n}" has ${src.size} elements, expected ${t.size}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    this.student.loadStateDict(student, strict);
    for (const [n, t] of [...own, ...this.extra]) t.data.set(state.get(n)!.data);
  }

  override rngState(): Record<string, RngState> {
    return this.student.rngState();
  }

  override setRngState(state: Record<string, RngState>): void {
    this.student.setRngState(state);
  }
}
