/**
 * Float64 reference of the distillation loss, softmax and log-softmax (the spec in docs/softmax-kl.md), plus the
 * magnitudes the tolerances are built from. Written for clarity: a log-sum-exp per stream, then the formulas.
 *
 *   rowLoss = α·T²·KL(q ‖ p) + (1−α)·CE(p₁, y)     p = softmax(s/T), q = softmax(t/T), p₁ = softmax(s)
 *   grad    = gradScale·(α·T·(p − q) + (1−α)·(p₁ − onehot(y)))
 *
 * A term is absent without its input (teacher / labels) or with weight 0. A top-k teacher is the softmax over its
 * k logits, 0 elsewhere.
 */

export interface RefTopK {
  indices: ArrayLike<number>;
  logits: ArrayLike<number>;
  k: number;
}

export interface RefLossInput {
  student: ArrayLike<number>;
  rows: number;
  cols: number;
  teacher?: ArrayLike<number> | RefTopK;
  labels?: ArrayLike<number>;
  temperature: number;
  alpha: number;
  gradScale: number;
  /**
   * true (default): scale logits as the kernels do, a = fround(s · fround(1/T)), so only exp/log/sum errors remain
   * between the kernels and this reference. false: exact s/T, a smooth function for finite differences.
   */
  float32Scaling?: boolean;
}

export interface RefLossOutput {
  rowLoss: Float64Array;
  grad: Float64Array;
  /** Per row: the magnitudes that cancel inside the row loss (see lossTolerance). */
  lossMag: Float64Array;
  /** Per element: the probabilities the gradient element is built from, each times (1 + |x − max|). */
  gradMag: Float64Array;
}

export const FLOAT32_EPS = 2 ** -23;

/**
 * The tolerance factor shared with native/test/test_softmax_kl.cc: 16·eps·(1 + log2 cols). A loss may differ from
 * the reference by factor·lossMag, a gradient element by factor·gradMag + 1e-37.
 */
export function toleranceFactor(cols: number): number {
  return 16 * FLOAT32_EPS * (1 + Math.log2(Math.max(cols, 1)));
}

function isTopK(t: ArrayLike<number> | RefTopK): t is RefTopK {
  return (t as RefTopK).indices !== undefined;
}

/** max and log Σ exp(v − max) of v (max = −Infinity when every entry is −Infinity). */
export function logSumExp(v: ArrayLike<number>): { max: number; logZ: number } {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i]!);
  let z = 0;
  for (let i = 0; i < v.length; i++) z += Math.exp(v[i]! - max);
  return { max, logZ: Math.log(z) };
}

export function refDistillationLoss(input: RefLossInput): RefLossOutput {
  const { student, rows, cols, teacher, labels, temperature: T, alpha, gradScale } = input;
  const f32 = input.float32Scaling ?? true;
  const invT = Math.fround(1 / T);
  const scale = (v: number): number => (f32 ? Math.fround(v * invT) : v / T);
  const useKl = teacher !== undefined && alpha > 0;
  const useCe = labels !== undefined && alpha < 1;
  const out: RefLossOutput = {
    rowLoss: new Float64Array(rows),
    grad: new Float64Array(rows * cols),
    lossMag: new Float64Array(rows),
    gradMag: new Float64Array(rows * cols),
  };
  for (let r = 0; r < rows; r++) {
    const s = Array.from({ length: cols }, (_, i) => student[r * cols + i]!);
    const a = s.map(scale);
    const la = logSumExp(a);
    const l1 = logSumExp(s);
    const q = new Float64Array(cols);
    const b = new Float64Array(cols).fill(-Infinity);
    let lb = { max: 0, logZ: 0 };
    if (teacher !== undefined && !isTopK(teacher)) {
      for (let i = 0; i < cols; i++) b[i] = scale(teacher[r * cols + i]!);
      lb = logSumExp(b);
      for (let i = 0; i < cols; i++) q[i] = Math.exp(b[i]! - lb.max - lb.logZ);
    } else if (teacher !== undefined) {
      const bk = Array.from({ length: teacher.k }, (_, j) => scale(teacher.logits[r * teacher.k + j]!));
      lb = logSumExp(bk);
      for (let j = 0; j < teacher.k; j++) {
        const c = teacher.indices[r * teacher.k + j]!;
        b[c] = bk[j]!;
        q[c] = q[c]! + Math.exp(bk[j]! - lb.max - lb.logZ);
      }
    }
    let loss = 0;
    let mag = 0;
    if (useKl) {
      let kl = 0;
      let cross = 0;
      for (let i = 0; i < cols; i++) {
        if (q[i] === 0) continue;  // teacher probability 0 contributes 0
        kl += q[i]! * (Math.log(q[i]!) - (a[i]! - la.max - la.logZ));
        cross += q[i]! * Math.abs(b[i]! - a[i]!);
      }
      loss += alpha * T * T * kl;
      mag += alpha * T * T * (1 + cross + Math.abs(la.max) + Math.abs(lb.max) + Math.abs(la.logZ) + Math.abs(lb.logZ));
    }
    const y = labels !== undefined ? labels[r]! : -1;
    if (useCe) {
      loss += (1 - alpha) * (l1.max + l1.logZ - s[y]!);
      mag += (1 - alpha) * (1 + Math.abs(l1.max) + Math.abs(s[y]!) + Math.abs(l1.logZ));
    }
    out.rowLoss[r] = loss;
    out.lossMag[r] = mag;
    // exp(d)/Z with d = x − max rounded to float also carries the conditioning of exp: about |d|·eps relative.
    const cond = (prob: number, d: number): number => (prob > 0 ? prob * (1 + Math.abs(d)) : 0);
    for (let i = 0; i < cols; i++) {
      const p = Math.exp(a[i]! - la.max - la.logZ);
      const p1 = Math.exp(s[i]! - l1.max - l1.logZ);
      const onehot = i === y ? 1 : 0;
      let g = 0;
      let gm = 0;
      if (useKl) {
        g += alpha * T * (p - q[i]!);
        gm += alpha * T * (cond(p, a[i]! - la.max) + cond(q[i]!, b[i]! - lb.max));
      }
      if (useCe) {
        g += (1 - alpha) * (p1 - onehot);
        gm += (1 - alpha) * (cond(p1, s[i]! - l1.max) + onehot);
      }
      out.grad[r * cols + i] = gradScale * g;
      out.gradMag[r * cols + i] = Math.abs(gradScale) * gm;
    }
  }
  return out;
}

/** Row-wise softmax (or log-softmax) in float64. */
export function refSoftmax(x: ArrayLike<number>, rows: number, cols: number, log: boolean): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = Array.from({ length: cols }, (_, i) => x[r * cols + i]!);
    const { max, logZ } = logSumExp(row);
    for (let i = 0; i < cols; i++) {
      const v = row[i]! - max - logZ;
      out[r * cols + i] = log ? v : Math.exp(v);
    }
  }
  return out;
}
