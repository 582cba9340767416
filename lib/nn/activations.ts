/**
 * Element-wise activations, each a forward/backward pair on reused buffers.
 * - ReLU: y = max(x, 0); dx = dy where y > 0, else 0 (the gradient at 0 is 0, as in PyTorch); NaN propagates.
 * - Tanh: y = tanh(x); dx = dy·(1 − y²).
 * - GELU: the exact (erf) form, PyTorch's default: y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2));
 *   dx = dy·(Φ(x) + x·φ(x)), φ the standard normal density. erf: see `erf` below.
 */
import { scratch, type Tensor } from '../tensor/tensor';
import { Module, NO_GRAD, type ModuleConfig } from './module';

/**
 * max(v, 0) without a branch: (v + |v|)·½ is exact in float64 for a float32 v (v > 0 → v, v ≤ 0 → +0; NaN stays NaN).
 * The sign of real activations is random, so the `v > 0 ? v : 0` branch mispredicts half the time (3× slower).
 * The masks are branch-free too: dy·(y > 0) (a ±0 where the ternary gave +0; the same values otherwise).
 */
export function relu(v: number): number {
  return (v + Math.abs(v)) * 0.5;
}

/** Shared state of the element-wise layers: the cached input/output and the reused buffers. */
abstract class Elementwise extends Module {
  protected x: Tensor | null = null;
  protected y: Tensor | null = null;
  protected readonly yBuf = { buf: new Float32Array(0) };
  protected readonly dxBuf = { buf: new Float32Array(0) };

  forward(x: Tensor): Tensor {
    const y = scratch(this.yBuf, x.shape);
    this.apply(x.data, y.data);
    this.x = x;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    if (!needInputGrad) return NO_GRAD;
    const dx = scratch(this.dxBuf, dy.shape);
    this.applyGrad(this.x!.data, this.y.data, dy.data, dx.data);
    return dx;
  }

  config(): ModuleConfig {
    return { type: this.constructor.name };
  }

  protected abstract apply(x: Float32Array, y: Float32Array): void;
  protected abstract applyGrad(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void;
}

export class ReLU extends Elementwise {
  /** Marks this ReLU as computed inside the following Dropout (Sequential's fused pair): its backward is skipped. */
  fusedInto(x: Tensor): void {
    this.x = x;
    this.y = null;
  }

  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0, n = x.length; i < n; i++) y[i] = relu(x[i]!);
  }

  protected applyGrad(_x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0, n = y.length; i < n; i++) dx[i] = dy[i]! * +(y[i]! > 0);
  }
}

export class Tanh extends Elementwise {
  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0, n = x.length; i < n; i++) y[i] = Math.tanh(x[i]!);
  }

  protected applyGrad(_x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0, n = y.length; i < n; i++) {
      const t = y[i]!;
      dx[i] = dy[i]! * (1 - t * t);
    }
  }
}

/**
 * erf(x) for float32 work: erfc by the Chebyshev-fitted exponential of Numerical Recipes (`erfcc`, fractional
 * error < 1.2e-7 everywhere), erf = 1 − erfc, odd symmetry.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 +
        t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export class GELU extends Elementwise {
  protected apply(x: Float32Array, y: Float32Array): void {
    for (let i = 0, n = x.length; i < n; i++) {
      const v = x[i]!;
      y[i] = 0.5 * v * (1 + erf(v * INV_SQRT2));
    }
  }

  protected applyGrad(x: Float32Array, _y: Float32Array, dy: Float32Array, dx: Float32Array): void {
    for (let i = 0, n = x.length; i < n; i++) {
      const v = x[i]!;
      const cdf = 0.5 * (1 + erf(v * INV_SQRT2));
      dx[i] = dy[i]! * (cdf + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
    }
  }
}
