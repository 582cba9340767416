/**
 * Sequential: children applied in order; backward runs them in reverse. Children get paths "0", "1", … (nested:
 * "features.0"), which name them in errors and in saved tensors ("1.weight").
 *
 * Input gradients are computed only where needed: when the caller passes `needInputGrad = false` (fit does, for
 * the model input), children before the first one with parameters, and that one, skip their dX.
 *
 * A ReLU directly followed by an active Dropout is computed in one pass by the Dropout (`forwardAfterReLU`): same
 * draws and results as the two layers, half the element passes.
 *
 * Flatten: [N, d1, d2, …] → [N, d1·d2·…] (a view; backward reshapes dy back).
 */
import { DistiqTypeError } from '../errors';
import type { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
import { ReLU } from './activations';
import { Dropout } from './dropout';
import { Module, NO_GRAD, type ModuleConfig } from './module';

export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new DistiqTypeError(`Sequential argument ${i} must be a Module. Received ${describe(m)}`);
      this.registerModule(String(i), m);
    });
    this.layers = Object.freeze(layers.slice());
  }

  /** fused[i]: layer i is a ReLU computed by Dropout i + 1 in the last forward (so its backward is skipped). */
  private readonly fused: boolean[] = [];

  forward(x: Tensor): Tensor {
    let h = x;
    const ls = this.layers;
    for (let i = 0; i < ls.length; i++) {
      const m = ls[i]!, next = ls[i + 1];
      if (m instanceof ReLU && next instanceof Dropout && next.active()) {
        // ReLU → Dropout in training: one pass instead of two (same draws, same results).
        m.fusedInto(h);
        h = next.forwardAfterReLU(h);
        this.fused[i] = true;
        this.fused[i + 1] = false;
        i++;
        continue;
      }
      this.fused[i] = false;
      h = m.forward(h);
    }
    return h;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    let first = 0;
    if (!needInputGrad) {
      while (first < this.layers.length && this.layers[first]!.parameterCount() === 0) first++;
    }
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const need = needInputGrad || i > first;
      if (this.fused[i]) {
        if (!need) return NO_GRAD;
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
