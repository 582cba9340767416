/**
 * Module: the base of every layer. A layer is a forward/backward pair (STYLE §9.6.9): `forward(x)` computes the
 * output and caches what `backward` needs; `backward(dy)` accumulates parameter gradients into `param.grad` (they
 * add up until `zeroGrad()`) and returns ∂loss/∂x.
 *
 * Buffers: outputs and input gradients live in buffers owned by the layer and reused from step to step, so a
 * tensor returned by `forward`/`backward` is valid until the next call of the same method on the same layer (copy
 * it with `clone()` to keep it). Inputs are not copied either: do not modify a layer's input between its forward and
 * its backward.
 */
import { DistiqRangeError } from '../errors';
import { Rng, type RngState } from '../tensor/random';
import { formatShape, shapeSize, type Shape } from '../tensor/shape';
import { Tensor } from '../tensor/tensor';

/**
 * A trainable tensor with its gradient (same shape, accumulated by backward passes).
 *
 * `zeroGrad()` is lazy: it marks the gradient as zero without touching memory; the next reader of `grad` gets it
 * zero-filled, and a layer about to overwrite the whole gradient asks `gradBeta()` instead (0 when the gradient is
 * marked zero, so a GEMM can write it with β = 0 and skip both the memset and the read of the old values; else 1).
 */
export class Parameter {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  private readonly g: Float32Array;
  private zeroed = false;

  constructor(shape: Shape) {
    const n = shapeSize(shape);
    this.data = new Float32Array(n);
    this.g = new Float32Array(n);
    this.shape = Object.freeze(shape.slice());
  }

  /** The accumulated gradient (zero-filled first if `zeroGrad()` marked it). */
  get grad(): Float32Array {
    if (this.zeroed) {
      this.g.fill(0);
      this.zeroed = false;
    }
    return this.g;
  }

  /** Marks the gradient as zero (O(1)). */
  zeroGrad(): void {
    this.zeroed = true;
  }

  /**
   * For a writer that overwrites every element of the gradient with `β·grad + update`: returns 0 when the gradient is
   * marked zero (and clears the mark, so the caller must write all of it), else 1.
   */
  gradBeta(): 0 | 1 {
    if (this.zeroed) {
      this.zeroed = false;
      return 0;
    }
    return 1;
  }

  get size(): number {
    return this.data.length;
  }

  /** The value as a Tensor (shares memory). */
  get value(): Tensor {
    return new Tensor(this.data, this.shape);
  }
}

/** A JSON description of a module, enough to rebuild it with `buildModule` (weights are stored separately). */
export interface ModuleConfig {
  type: string;
  [key: string]: unknown;
}

export abstract class Module {
  /** Training mode (dropout active, batch statistics); `eval()` switches it off. */
  training = true;
  /** Dotted path inside the enclosing model ('' for the root), used in error messages. */
  path = '';
  private readonly params = new Map<string, Parameter>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  private readonly rngs = new Map<string, Rng>();

  abstract forward(x: Tensor): Tensor;

  /**
   * Accumulates parameter gradients and returns ∂loss/∂input. `needInputGrad = false` lets a layer skip computing
   * the input gradient (the first layers of a model); it then returns an empty tensor.
   */
  abstract backward(dy: Tensor, needInputGrad?: boolean): Tensor;

  /** The description `buildModule` rebuilds this module from. */
  abstract config(): ModuleConfig;

  /** "Linear 'layers.1'": the class and path, for error messages. */
  label(): string {
    return this.path === '' ? this.constructor.name : `${this.constructor.name} '${this.path}'`;
  }

  protected registerParameter(name: string, shape: Shape): Parameter {
    const p = new Parameter(shape);
    this.params.set(name, p);
    return p;
  }

  protected registerBuffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, t);
    return t;
  }

  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    m.setPath(this.path === '' ? name : `${this.path}.${name}`);
    return m;
  }

  /** Registers a random stream whose state is part of a checkpoint (e.g. a dropout mask generator). */
  protected registerRng(name: string, rng: Rng): Rng {
    this.rngs.set(name, rng);
    return rng;
  }

  private setPath(path: string): void {
    this.path = path;
    for (const [name, c] of this.children) c.setPath(`${path}.${name}`);
  }

  /** [name, child] pairs in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  private walk<T>(own: (m: Module) => Map<string, T>, prefix: string, out: [string, T][]): [string, T][] {
    for (const [n, v] of own(this)) out.push([prefix + n, v]);
    for (const [n, c] of this.children) c.walk(own, `${prefix}${n}.`, out);
    return out;
  }

  /** Every parameter with its dotted name ("0.weight", "0.bias", …), in a stable order. */
  namedParameters(): [string, Parameter][] {
    return this.walk((m) => m.params, '', []);
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Non-trainable state (BatchNorm running statistics). */
  namedBuffers(): [string, Tensor][] {
    return this.walk((m) => m.buffers, '', []);
  }

  namedRngs(): [string, Rng][] {
    return this.walk((m) => m.rngs, '', []);
  }

  /** Parameters and buffers by name (tensors share memory with the module). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this.namedParameters()) out.set(n, p.value);
    for (const [n, b] of this.namedBuffers()) out.set(n, b);
    return out;
  }

  /**
   * Copies tensors into the parameters and buffers of the same names. Every name of the module must be present with
   * its exact shape, and (when `strict`, the default) no other name may be given.
   */
  loadStateDict(state: Map<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    for (const [name, t] of own) {
      const src = state.get(name);
      if (src === undefined) throw new DistiqRangeError(`Missing tensor "${name}" (shape ${formatShape(t.shape)}) for ${this.label()}`);
      if (!src.sameShape(t)) {
        throw new DistiqRangeError(
          `Tensor "${name}" has shape ${formatShape(src.shape)}, but the model expects ${formatShape(t.shape)}`,
          'ERR_DISTIQ_SHAPE_MISMATCH',
        );
      }
    }
    if (strict) {
      for (const name of state.keys()) {
        if (!own.has(name)) throw new DistiqRangeError(`Unexpected tensor "${name}": the model has no parameter or buffer of that name`);
      }
    }
    for (const [name, t] of own) t.data.set(state.get(name)!.data);
  }

  rngState(): Record<string, RngState> {
    const out: Record<string, RngState> = {};
    for (const [n, r] of this.namedRngs()) out[n] = r.getState();
    return out;
  }

  setRngState(state: Record<string, RngState>): void {
    for (const [n, r] of this.namedRngs()) {
      const s = state[n];
      if (s === undefined) throw new DistiqRangeError(`Missing random state "${n}" for ${this.label()}`);
      r.setState(s);
    }
  }

  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Number of trainable scalars. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /** Throws ERR_DISTIQ_SHAPE_MISMATCH naming this layer unless `ok`. */
  protected expectInput(ok: boolean, expected: string, x: Tensor): void {
    if (!ok) {
      throw new DistiqRangeError(
        `${this.label()} expects input of shape ${expected}, received ${formatShape(x.shape)}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
  }

  /** Throws unless `dy` has the shape of the last forward output (and a forward happened). */
  protected expectGrad(dy: Tensor, y: Tensor | null): asserts y is Tensor {
    if (y === null) throw new DistiqRangeError(`${this.label()}: backward called before forward`);
    if (!dy.sameShape(y)) {
      throw new DistiqRangeError(
        `${this.label()}: the output gradient has shape ${formatShape(dy.shape)}, but the last output had shape ${formatShape(y.shape)}`,
        'ERR_DISTIQ_SHAPE_MISMATCH',
      );
    }
  }
}

/** The empty tensor layers return for a skipped input gradient. */
export const NO_GRAD: Tensor = new Tensor(new Float32Array(0), [0]);
