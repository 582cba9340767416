/**
 * Dropout (inverted): in training each element is kept with probability 1 − p and scaled by 1/(1 − p), else zeroed;
 * in eval mode (or p = 0) it is the identity and returns its input. The decision for element i uses one 32-bit draw
 * r of the layer's own xoshiro128** stream: keep ⇔ (r >>> 8) ≥ round(p·2^24), i.e. the uniform 24-bit draw of
 * `Rng.uniform()` compared with p (p is rounded to a multiple of 2^-24). Draws are taken in element order, one per
 * element per training forward, so a run is reproducible from the seed and the stream is checkpointed (`rng`).
 */
import { DistiqRangeError } from '../errors';
import { Rng } from '../tensor/random';
import { formatShape } from '../tensor/shape';
import { scratch, type Tensor } from '../tensor/tensor';
import { expectFinite } from '../validate';
import { relu as reluOf } from './activations';
import { Module, NO_GRAD, type ModuleConfig } from './module';

export interface DropoutOptions {
  /** The stream is forked from this generator (default: `new Rng(seed ?? 0)`). */
  rng?: Rng;
  seed?: number;
}

export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Rng;
  private readonly threshold: number;
  private readonly scale: number;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private readonly maskBuf = { buf: new Float32Array(0) };
  private y: Tensor | null = null;
  /**
   * The last training mask: 0 or 1/(1 − p) per element (0 also where x ≤ 0 after a fused ReLU → Dropout forward); null
   * after an identity forward.
   */
  mask: Float32Array | null = null;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    expectFinite('p', p, { min: 0 });
    if (!(p < 1)) throw new DistiqRangeError(`The "p" argument must be < 1. Received ${p}`);
    this.p = p;
    this.threshold = Math.round(p * 16777216);
    this.scale = 1 / (1 - p);
    this.rng = this.registerRng('rng', options.rng ? options.rng.fork() : new Rng(options.seed ?? 0));
  }

  forward(x: Tensor): Tensor {
    if (!this.active()) {
      this.mask = null;
      this.y = x;
      return x;
    }
    return this.run(x, false);
  }

  /** True when forward draws a mask (training mode and p > 0). */
  active(): boolean {
    return this.training && this.threshold !== 0;
  }

  /**
   * ReLU followed by this dropout in one pass (used by Sequential for a ReLU → Dropout pair in training): y =
   * max(x, 0)·k and mask = k·(x > 0), k the dropout factor. The same draws are taken, so outputs and input
   * gradients equal the two separate layers' bit for bit (for finite gradients); the ReLU's backward is then skipped.
   * With `bias` (one value per index of the last dimension), the ReLU's input is round(x + bias) (Linear's deferred
   * bias, see `Linear.forwardDeferBias`).
   */
  forwardAfterReLU(x: Tensor, bias?: Float32Array): Tensor {
    if (bias !== undefined && bias.length !== x.dim(-1)) {
      throw new DistiqRangeError(`${this.label()}: the bias must have ${x.dim(-1)} elements (the last dimension of ${formatShape(x.shape)}). Received ${bias.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    return this.run(x, true, bias ?? null);
  }

  private run(x: Tensor, relu: boolean, bias: Float32Array | null = null): Tensor {
    const n = x.size;
    const y = scratch(this.yBuf, x.shape);
    const mask = scratch(this.maskBuf, x.shape).data;
    const xd = x.data, yd = y.data;
    const th = this.threshold, scale = this.scale;
    const g = this.rng;
    // xoshiro128** inlined (same sequence as Rng.nextU32).
    let s0 = g.s0, s1 = g.s1, s2 = g.s2, s3 = g.s3;
    // With a bias (ReLU's input is z + b, b per last-dimension index): v = round(z + b) below.
    const cols = bias === null ? n : bias.length;
    for (let i = 0, c = 0; i < n; i++, c++) {
      if (c === cols) c = 0;
      const m5 = Math.imul(s1, 5);
      const r = Math.imul((m5 << 7) | (m5 >>> 25), 9) >>> 8;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      // Branch-free (random keep decisions and activation signs would mispredict): k = keep ? scale : 0.
      const k = scale * +(r >= th);
      const v = bias === null ? xd[i]! : Math.fround(xd[i]! + bias[c]!);
      if (relu) {
        mask[i] = k * +(v > 0);
        yd[i] = reluOf(v) * k;
      } else {
        mask[i] = k;
        yd[i] = v * k;
      }
    }
    g.s0 = s0;
    g.s1 = s1;
    g.s2 = s2;
    g.s3 = s3;
    this.mask = mask;
    this.y = y;
    return y;
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    if (!needInputGrad) return NO_GRAD;
    const mask = this.mask;
    if (mask === null) return dy;
    const dx = scratch(this.dxBuf, dy.shape);
    const d = dx.data, g = dy.data;
    for (let i = 0, n = d.length; i < n; i++) d[i] = g[i]! * mask[i]!;
    return dx;
  }

  config(): ModuleConfig {
    return { type: 'Dropout', p: this.p };
  }
}
