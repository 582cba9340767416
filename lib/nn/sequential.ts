/**
 * Sequential: children applied in order; backward runs them in reverse. Children get paths "0", "1", … (nested:
 * "features.0"), which name them in errors and in saved tensors ("1.weight").
 *
 * Input gradients are computed only where needed: when the caller passes `needInputGrad = false` (fit does, for
 * the model input), children before the first one with parameters, and that one, skip their dX.
 *
 * A ReLU directly followed by an active Dropout is computed in one pass by the Dropout (`forwardAfterReLU`): same
 * draws and results as the two layers, half the element passes. A Conv2d directly followed by a ReLU is computed by the
 * Conv2d (`forwardReLU`: the ReLU in its output pass, the mask in its backward), same bits as the two layers. A
 * Linear (with bias) → ReLU → active Dropout triple runs the GEMM without the bias pre-fill and adds the bias inside the
 * dropout pass (`Linear.forwardDeferBias`, `Dropout.forwardAfterReLU(x, bias)`), same bits as the three layers.
 * After a fused stride-1 Conv2d → ReLU, a MaxPool2d with kernelSize = stride and no padding has its backward done by
 * the Conv2d (`backwardThroughMaxPool`: the gradient routed to the window maxima inside the conv's gradient spread).
 *
 * Taps (hidden-state distillation, lib/distill): `setTap(i, tap)` makes forward report child i's output to
 * `tap.output(y)` and backward pass the gradient arriving at child i's output through `tap.grad(dy)` (which may add
 * an extra gradient) before child i's backward. A tapped ReLU is never fused with a following Dropout.
 *
 * Flatten: [N, d1, d2, …] → [N, d1·d2·…] (a view; backward reshapes dy back).
 */
import { DistiqTypeError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
import { ReLU } from './activations';
import { Conv2d } from './conv2d';
import { Dropout } from './dropout';
import { Linear } from './linear';
import { MaxPool2d } from './pool';
import { Module, NO_GRAD, type ModuleConfig } from './module';

/** Hooks on one child of a Sequential (see `Sequential.setTap`). */
export interface SequentialTap {
  /** Receives the child's output after each forward (valid until the child's next forward). */
  output(y: Tensor): void;
  /** Receives ∂loss/∂(child output) in backward and returns the gradient to pass into the child (e.g. dy + extra). */
  grad(dy: Tensor): Tensor;
}

export class Sequential extends Module {
  readonly layers: readonly Module[];
  private readonly taps = new Map<number, SequentialTap>();

  /** Installs (or, with null, removes) the tap on child `index`. */
  setTap(index: number, tap: SequentialTap | null): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.layers.length) {
      throw new DistiqTypeError(`Sequential.setTap: index must be an integer in [0, ${this.layers.length - 1}]. Received ${describe(index)}`);
    }
    if (tap === null) this.taps.delete(index);
    else this.taps.set(index, tap);
  }

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new DistiqTypeError(`Sequential argument ${i} must be a Module. Received ${describe(m)}`);
      this.registerModule(String(i), m);
    });
    this.layers = Object.freeze(layers.slice());
  }

  /**
   * fused[i]: layer i is a ReLU computed by a neighbour in the last forward (Dropout i + 1, or Conv2d i − 1), so its
   * backward is skipped (the neighbour's backward applies the ReLU mask).
   */
  private readonly fused: boolean[] = [];

  forward(x: Tensor): Tensor {
    let h = x;
    const ls = this.layers;
    for (let i = 0; i < ls.length; i++) {
      const m = ls[i]!, next = ls[i + 1];
      const after = ls[i + 2];
      if (m instanceof Linear && m.bias !== null && next instanceof ReLU && after instanceof Dropout && after.active()
        && !this.taps.has(i) && !this.taps.has(i + 1)) {
        // Linear → ReLU → Dropout in training: the GEMM without the bias pre-fill, then bias + ReLU + dropout in one
        // pass (same bits: the bias is added to the float32 product, as a β = 1 GEMM over pre-filled rows does).
        const z = m.forwardDeferBias(h);
        next.fusedInto(z);
        h = after.forwardAfterReLU(z, m.bias.data);
        this.fused[i] = false;
        this.fused[i + 1] = true;
        this.fused[i + 2] = false;
        i += 2;
        this.taps.get(i)?.output(h);
        continue;
      }
      if (m instanceof ReLU && next instanceof Dropout && next.active() && !this.taps.has(i)) {
        // ReLU → Dropout in training: one pass instead of two (same draws, same results).
        m.fusedInto(h);
        h = next.forwardAfterReLU(h);
        this.fused[i] = true;
        this.fused[i + 1] = false;
        i++;
        this.taps.get(i)?.output(h);
        continue;
      }
      if (m instanceof Conv2d && next instanceof ReLU && !this.taps.has(i)) {
        // Conv2d → ReLU: the ReLU is applied in the convolution's output pass, its mask in the conv's backward.
        next.fusedInto(h);
        h = m.forwardReLU(h);
        this.fused[i] = false;
        this.fused[i + 1] = true;
        i++;
        this.taps.get(i)?.output(h);
        continue;
      }
      this.fused[i] = false;
      // Conv2d (stride 1) → ReLU (fused above) → MaxPool2d with disjoint windows: the conv's backward routes the pool's
      // gradient itself (Conv2d.backwardThroughMaxPool), unless the ReLU's output is tapped.
      const c = ls[i - 2];
      this.poolFused[i] = m instanceof MaxPool2d && m.kernelSize === m.stride && m.padding === 0 && this.fused[i - 1] === true
        && c instanceof Conv2d && c.stride === 1 && !this.taps.has(i - 1);
      h = m.forward(h);
      this.taps.get(i)?.output(h);
    }
    return h;
  }

  /** poolFused[i]: layer i is a MaxPool2d whose backward is done by Conv2d i − 2 (see forward). */
  private readonly poolFused: boolean[] = [];

  backward(dy: Tensor, needInputGrad = true): Tensor {
    let first = 0;
    if (!needInputGrad) {
      while (first < this.layers.length && this.layers[first]!.parameterCount() === 0) first++;
    }
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const need = needInputGrad || i > first;
      const tap = this.taps.get(i);
      if (tap !== undefined) g = tap.grad(g);
      if (this.fused[i]) {
        if (!need) return NO_GRAD;
        continue;
      }
      if (this.poolFused[i]) {
        const needConv = needInputGrad || i - 2 > first;
        g = (this.layers[i - 2] as Conv2d).backwardThroughMaxPool(g, this.layers[i] as MaxPool2d, needConv);
        if (!needConv) return NO_GRAD;
        i -= 2;
        continue;
      }
      g = this.layers[i]!.backward(g, need);
      if (!need) return NO_GRAD;
    }
    return g;
  }

  config(): ModuleConfig {
    return { type: 'Sequential', layers: this.layers.map((m) => m.config()) };
  }
}

export class Flatten extends Module {
  private inShape: readonly number[] | null = null;
  private y: Tensor | null = null;

  forward(x: Tensor): Tensor {
    this.expectInput(x.rank >= 1, '[N, ...]', x);
    this.inShape = x.shape;
    const n = x.dim(0);
    this.y = x.reshape([n, n === 0 ? 0 : x.size / n]);
    return this.y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    return needInputGrad ? dy.reshape(this.inShape!) : NO_GRAD;
  }

  config(): ModuleConfig {
    return { type: 'Flatten' };
  }
}
