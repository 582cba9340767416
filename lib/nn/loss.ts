/**
 * Losses: `forward(prediction, target)` returns the mean loss (a number) and keeps what `backward()` needs;
 * `backward()` returns ∂loss/∂prediction in a reused buffer.
 *
 * - CrossEntropyLoss: softmax cross-entropy of logits [N, C] against labels (Int32Array [N], in [0, C)), mean over
 *   rows; the native fused kernel computes loss and gradient (softmax − onehot)/N in one pass.
 * - MSELoss: mean over all elements of (y − t)²; ∂/∂y = 2(y − t)/n.
 * - CosineLoss: mean over rows of 1 − cos(y_r, t_r), cos = y·t / (max(‖y‖, eps)·max(‖t‖, eps)), eps = 1e-8;
 *   ∂/∂y_r = −(t_r/(‖y‖‖t‖) − cos·y_r/‖y‖²)/N (with the clamped norms; the ‖y‖ term drops when ‖y‖ < eps).
 * A non-finite loss is an error (ERR_DISTIQ_NON_FINITE) naming the loss.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { distillationLoss } from '../ops/softmax-kl';
import { formatShape } from '../tensor/shape';
import { scratch, Tensor } from '../tensor/tensor';
import { describe } from '../validate';

function expectFiniteLoss(name: string, loss: number): number {
  if (!Number.isFinite(loss)) {
    throw new DistiqRangeError(`${name}: the loss is ${loss} (non-finite predictions or targets?)`, 'ERR_DISTIQ_NON_FINITE');
  }
  return loss;
}

function expectTensor(name: string, loss: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new DistiqTypeError(`${loss}: the "${name}" argument must be a Tensor. Received ${describe(t)}`);
}

export interface Loss<T> {
  forward(prediction: Tensor, target: T): number;
  backward(): Tensor;
}

export class CrossEntropyLoss implements Loss<Int32Array> {
  private readonly gradBuf = { buf: new Float32Array(0) };
  private rowLoss = new Float32Array(0);
  private grad: Tensor | null = null;

  forward(logits: Tensor, labels: Int32Array): number {
    expectTensor('logits', 'CrossEntropyLoss', logits);
    if (logits.rank !== 2) {
      throw new DistiqRangeError(`CrossEntropyLoss expects logits of shape [N, C], received ${formatShape(logits.shape)}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    const [N, C] = logits.shape as [number, number];
    if (N === 0) throw new DistiqRangeError('CrossEntropyLoss: the batch is empty (0 rows)');
    if (labels instanceof Int32Array && labels.length !== N) {
      throw new DistiqRangeError(`CrossEntropyLoss: expected ${N} labels (one per row of logits), received ${labels.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    const grad = scratch(this.gradBuf, [N, C]);
    if (this.rowLoss.length !== N) this.rowLoss = new Float32Array(N);
    let loss: number;
    try {
      ({ loss } = distillationLoss(logits.data, { rows: N, cols: C, labels, alpha: 0, grad: grad.data, rowLoss: this.rowLoss }));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ERR_DISTIQ_NON_FINITE') throw err;
      throw new DistiqRangeError(`CrossEntropyLoss: the logits are not finite (${(err as Error).message.replace(/"student"/g, '"logits"')})`, 'ERR_DISTIQ_NON_FINITE');
    }
    this.grad = grad;
    return expectFiniteLoss('CrossEntropyLoss', loss);
  }

  backward(): Tensor {
    if (this.grad === null) throw new DistiqRangeError('CrossEntropyLoss: backward called before forward');
    return this.grad;
  }
}

function expectSameShape(loss: string, y: Tensor, t: Tensor): void {
  expectTensor('prediction', loss, y);
  expectTensor('target', loss, t);
  if (!y.sameShape(t)) {
    throw new DistiqRangeError(
      `${loss}: prediction shape ${formatShape(y.shape)} and target shape ${formatShape(t.shape)} differ`,
      'ERR_DISTIQ_SHAPE_MISMATCH',
    );
  }
  if (y.size === 0) throw new DistiqRangeError(`${loss}: the prediction is empty`);
}

export class MSELoss implements Loss<Tensor> {
  private readonly gradBuf = { buf: new Float32Array(0) };
  private grad: Tensor | null = null;

  forward(y: Tensor, t: Tensor): number {
    expectSameShape('MSELoss', y, t);
    const n = y.size, yd = y.data, td = t.data;
    const grad = scratch(this.gradBuf, y.shape);
    const g = grad.data, k = 2 / n;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = yd[i]! - td[i]!;
      s += d * d;
      g[i] = k * d;
    }
    this.grad = grad;
    return expectFiniteLoss('MSELoss', s / n);
  }

  backward(): Tensor {
    if (this.grad === null) throw new DistiqRangeError('MSELoss: backward called before forward');
    return this.grad;
  }
}

export class CosineLoss implements Loss<Tensor> {
  static readonly EPS = 1e-8;
  private readonly gradBuf = { buf: new Float32Array(0) };
  private grad: Tensor | null = null;

  /** y, t: [N, D] (or [D], one row). */
  forward(y: Tensor, t: Tensor): number {
    expectSameShape('CosineLoss', y, t);
    const D = y.dim(-1), N = y.size / D, yd = y.data, td = t.data, eps = CosineLoss.EPS;
    const grad = scratch(this.gradBuf, y.shape);
    const g = grad.data;
    let total = 0;
    for (let r = 0; r < N; r++) {
      const o = r * D;
      let yy = 0, tt = 0, yt = 0;
      for (let i = 0; i < D; i++) {
        const a = yd[o + i]!, b = td[o + i]!;
        yy += a * a;
        tt += b * b;
        yt += a * b;
      }
      const ny = Math.sqrt(yy), nt = Math.sqrt(tt);
      const cy = Math.max(ny, eps), ct = Math.max(nt, eps);
      const cos = yt / (cy * ct);
      total += 1 - cos;
      const a = 1 / (cy * ct) / N, b = ny >= eps ? cos / (cy * cy) / N : 0;
      for (let i = 0; i < D; i++) g[o + i] = -(td[o + i]! * a - yd[o + i]! * b);
    }
    this.grad = grad;
    return expectFiniteLoss('CosineLoss', total / N);
  }

  backward(): Tensor {
    if (this.grad === null) throw new DistiqRangeError('CosineLoss: backward called before forward');
    return this.grad;
  }
}
