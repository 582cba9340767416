/**
 * The distillation loss, cross-entropy, softmax and log-softmax: the ref kernel against the float64 reference, every
 * SIMD level against ref, properties (finite-difference gradients, KL ≥ 0, KL(p‖p) = 0, gradient rows summing to 0),
 * hand-derived values, top-k vs dense, misaligned views, guarded outputs and async = sync.
 *
 * Tolerances (docs/softmax-kl.md §Accuracy): with c = 16·eps·(1 + log2 cols), a row loss may differ by c·lossMag and
 * a gradient element by c·gradMag + 1e-37, where lossMag / gradMag (test/helpers/ref-softmax-kl.ts) are the
 * magnitudes that cancel inside each value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  crossEntropy,
  distillationLoss,
  distillationLossAsync,
  logSoftmax,
  softmax,
  type DistillationLossOptions,
  type DistillationLossResult,
  type TopKTeacher,
} from '../../lib';
import { guarded, misaligned } from '../helpers/guard';
import { simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import { refDistillationLoss, refSoftmax, toleranceFactor, type RefLossOutput } from '../helpers/ref-softmax-kl';
import { Rng, seedNote } from '../helpers/rng';

type TeacherKind = 'dense' | 'topk' | 'none';

interface Problem {
  student: Float32Array;
  opts: DistillationLossOptions & { temperature: number; alpha: number };
  label: string;
}

function logits(rng: Rng, n: number, kind: 'normal' | 'huge' | 'equal' | 'cauchy' | 'onehot' = 'normal'): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'normal') x[i] = 2 * rng.normal();
    else if (kind === 'huge') x[i] = rng.uniform(-1e4, 1e4);
    else if (kind === 'equal') x[i] = -7.5;
    else if (kind === 'cauchy') x[i] = Math.max(-1e4, Math.min(1e4, Math.tan(Math.PI * (rng.next() - 0.5))));
    else x[i] = 0;
  }
  if (kind === 'onehot') x[rng.int(0, n - 1)] = 40;
  return x;
}

function topkTeacher(rng: Rng, rows: number, cols: number, k: number, kind: 'normal' | 'huge' = 'normal'): TopKTeacher {
  const indices = new Int32Array(rows * k);
  const perm = new Int32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) perm[i] = i;
    for (let j = 0; j < k; j++) {
      const c = rng.int(j, cols - 1);
      [perm[j], perm[c]] = [perm[c]!, perm[j]!];
      indices[r * k + j] = perm[j]!;
    }
  }
  return { indices, logits: logits(rng, rows * k, kind), k };
}

function makeProblem(
  rng: Rng,
  rows: number,
  cols: number,
  temperature: number,
  alpha: number,
  teacher: TeacherKind,
  withLabels: boolean,
  kind: 'normal' | 'huge' | 'equal' | 'cauchy' | 'onehot' = 'normal',
  k = Math.min(cols, 5),
): Problem {
  const student = logits(rng, rows * cols, kind);
  const labels = withLabels ? Int32Array.from({ length: rows }, () => rng.int(0, cols - 1)) : undefined;
  const t =
    teacher === 'dense' ? logits(rng, rows * cols, kind) : teacher === 'topk' ? topkTeacher(rng, rows, cols, k, kind === 'huge' ? 'huge' : 'normal') : undefined;
  const opts = { rows, cols, temperature, alpha, teacher: t, labels, grad: true, reduction: 'mean' as const };
  const label = `rows=${rows} cols=${cols} T=${temperature} alpha=${alpha} teacher=${teacher}${teacher === 'topk' ? `(k=${k})` : ''} labels=${withLabels} ${kind} ${seedNote()}`;
  return { student, opts, label };
}

function reference(p: Problem): RefLossOutput {
  const t = p.opts.teacher;
  return refDistillationLoss({
    student: p.student,
    rows: p.opts.rows,
    cols: p.opts.cols,
    teacher: t,
    labels: p.opts.labels,
    temperature: p.opts.temperature,
    alpha: p.opts.alpha,
    gradScale: p.opts.rows > 0 ? 1 / p.opts.rows : 1,
  });
}

/** Asserts `got` is within tolerance of `want` (a float64 reference or another level's float32 result). */
function expectClose(
  got: DistillationLossResult,
  want: { rowLoss: ArrayLike<number>; grad: ArrayLike<number> },
  mags: RefLossOutput,
  cols: number,
  what: string,
): void {
  const c = toleranceFactor(cols);
  for (let r = 0; r < got.rowLoss.length; r++) {
    const d = Math.abs(got.rowLoss[r]! - want.rowLoss[r]!);
    const tol = c * mags.lossMag[r]!;
    if (!(d <= tol)) expect.fail(`${what}: rowLoss[${r}] = ${got.rowLoss[r]} vs ${want.rowLoss[r]} (|d| ${d} > tol ${tol})`);
  }
  const g = got.grad!;
  for (let i = 0; i < g.length; i++) {
    const d = Math.abs(g[i]! - want.grad[i]!);
    const tol = c * mags.gradMag[i]! + 1e-37;
    if (!(d <= tol)) expect.fail(`${what}: grad[${i}] = ${g[i]} vs ${want.grad[i]} (|d| ${d} > tol ${tol})`);
  }
}

const COLS = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 1000, 32000];

/** A compact matrix of problems: every cols, rows ∈ {1, 3, 17}, T and α cycling, every teacher/label kind. */
function catalogue(seed: number): Problem[] {
  const rng = new Rng(seed);
  const temps = [0.5, 1, 2, 4, 10];
  const alphas = [0, 0.3, 1];
  const out: Problem[] = [];
  let i = 0;
  for (const cols of COLS) {
    for (const rows of cols >= 1000 ? [1, 3] : [1, 3, 17]) {
      const T = temps[i % temps.length]!;
      const a = alphas[i % alphas.length]!;
      i++;
      out.push(makeProblem(rng, rows, cols, T, a, 'dense', true));
      out.push(makeProblem(rng, rows, cols, temps[(i + 2) % 5]!, alphas[(i + 1) % 3]!, 'topk', true, 'normal', Math.min(cols, [1, 5, 20][i % 3]!)));
      out.push(makeProblem(rng, rows, cols, T, 1, 'dense', false));
      out.push(makeProblem(rng, rows, cols, 1, 0, 'none', true));
    }
  }
  for (const kind of ['huge', 'equal', 'cauchy', 'onehot'] as const) {
    for (const T of [0.5, 1, 10]) {
      out.push(makeProblem(rng, 3, 33, T, 0.3, 'dense', true, kind));
      out.push(makeProblem(rng, 2, 1000, T, 0.6, 'topk', true, kind, 7));
    }
  }
  return out;
}

// One large problem shared by every level (its float64 magnitudes are computed once).
let large: { problem: Problem; mags: RefLossOutput } | undefined;
function largeProblem(): { problem: Problem; mags: RefLossOutput } {
  if (large === undefined) {
    const problem = makeProblem(new Rng(9), 131, 32003, 2, 0.5, 'dense', true);
    large = { problem, mags: reference(problem) };
  }
  return large;
}

describe('distillationLoss: ref kernel vs float64 reference', () => {
  it('agrees within tolerance on the catalogue (shapes, T, alpha, dense / top-k / no teacher, labels, extremes)', () => {
    withIsa('ref', () => {
      for (const p of catalogue(1)) {
        const got = distillationLoss(p.student, p.opts);
        const want = reference(p);
        expectClose(got, want, want, p.opts.cols, `ref ${p.label}`);
        let mean = 0;
        for (let r = 0; r < p.opts.rows; r++) mean += got.rowLoss[r]!;
        expect(got.loss).toBe(mean / p.opts.rows);
      }
    });
  });
});

describe.each(simdLevels)('distillationLoss: level %s vs ref', (level) => {
  it('agrees with ref within tolerance on the catalogue', () => {
    for (const p of catalogue(2)) {
      const want = withIsa('ref', () => distillationLoss(p.student, p.opts));
      const got = withIsa(level, () => distillationLoss(p.student, p.opts));
      expectClose(got, { rowLoss: want.rowLoss, grad: want.grad! }, reference(p), p.opts.cols, `${level} ${p.label}`);
    }
  });

  it('large outputs (>= 4 Mi floats: non-temporal stores) agree with ref, into a guarded misaligned gradient', () => {
    const { problem: p, mags } = largeProblem();
    const want = withIsa('ref', () => distillationLoss(p.student, p.opts));
    const grad = guarded(Float32Array, p.opts.rows * p.opts.cols, NaN);
    const got = withIsa(level, () => distillationLoss(p.student, { ...p.opts, grad: grad.view }));
    grad.checkGuards();
    expectClose(got, { rowLoss: want.rowLoss, grad: want.grad! }, mags, p.opts.cols, `${level} ${p.label}`);
  });

  it('a top-k teacher equals a dense teacher with -Infinity outside the top-k', () => {
    const rng = new Rng(3);
    for (const cols of [1, 9, 100, 32000]) {
      for (const k of [1, 4, 20].filter((v) => v <= cols)) {
        const p = makeProblem(rng, 3, cols, 2, 0.5, 'topk', true, 'normal', k);
        const tk = p.opts.teacher as TopKTeacher;
        const dense = new Float32Array(3 * cols).fill(-Infinity);
        for (let r = 0; r < 3; r++) for (let j = 0; j < k; j++) dense[r * cols + tk.indices[r * k + j]!] = tk.logits[r * k + j]!;
        withIsa(level, () => {
          const a = distillationLoss(p.student, p.opts);
          const b = distillationLoss(p.student, { ...p.opts, teacher: dense });
          expectClose(a, { rowLoss: b.rowLoss, grad: b.grad! }, reference(p), cols, `${level} top-k vs dense ${p.label}`);
        });
      }
    }
  });

  it('softmax and logSoftmax agree with ref and float64, also in place', () => {
    const rng = new Rng(4);
    for (const cols of COLS) {
      for (const kind of ['normal', 'huge', 'equal'] as const) {
        const rows = cols >= 1000 ? 2 : 5;
        const x = logits(rng, rows * cols, kind);
        for (const fn of [softmax, logSoftmax]) {
          const log = fn === logSoftmax;
          const want = refSoftmax(x, rows, cols, log);
          const ref = withIsa('ref', () => fn(x, rows, cols));
          const got = withIsa(level, () => fn(x, rows, cols));
          const inPlace = x.slice();
          withIsa(level, () => fn(inPlace, rows, cols, inPlace));
          const c = toleranceFactor(cols);
          for (let i = 0; i < x.length; i++) {
            // softmax: p·(1 + |x − max|) (exp error + conditioning); log-softmax: the error of log Z plus a rounding.
            const mag = log ? 1 + Math.abs(want[i]!) : Math.abs(want[i]!) * (1 - Math.log(Math.max(want[i]!, 1e-300)));
            const tol = c * mag + 1e-37;
            for (const [name, v] of [['level', got[i]!], ['in place', inPlace[i]!], ['ref', ref[i]!]] as const) {
              if (!(Math.abs(v - want[i]!) <= tol)) expect.fail(`${level} ${name} ${log ? 'log' : ''}softmax cols=${cols} ${kind} [${i}]: ${v} vs ${want[i]} (tol ${tol}) ${seedNote()}`);
            }
          }
        }
      }
    }
  });
});

describe('distillationLoss: properties (fast-check, float64 reference)', () => {
  const shape = fc.record({
    rows: fc.integer({ min: 1, max: 3 }),
    cols: fc.integer({ min: 1, max: 12 }),
    temperature: fc.constantFrom(0.5, 1, 2, 4, 10),
    alpha: fc.double({ min: 0, max: 1, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  const seeded = { seed: 20261129 ^ 0x5eed, numRuns: 60 };

  it('the gradient matches central finite differences of the float64 loss', () => {
    fc.assert(
      fc.property(shape, ({ rows, cols, temperature, alpha, seed }) => {
        const rng = new Rng(seed);
        const p = makeProblem(rng, rows, cols, temperature, alpha, 'dense', true);
        const got = distillationLoss(p.student, { ...p.opts, reduction: 'sum' });
        const s = Float64Array.from(p.student);
        const total = (x: Float64Array): number => {
          const o = refDistillationLoss({ ...p.opts, student: x, teacher: p.opts.teacher as Float32Array, gradScale: 1, float32Scaling: false });
          return o.rowLoss.reduce((acc, v) => acc + v, 0);
        };
        const h = 1e-5;
        for (let i = 0; i < s.length; i++) {
          const x0 = s[i]!;
          s[i] = x0 + h;
          const up = total(s);
          s[i] = x0 - h;
          const down = total(s);
          s[i] = x0;
          const fd = (up - down) / (2 * h);
          const g = got.grad![i]!;
          if (!(Math.abs(g - fd) <= 2e-5 + 1e-4 * Math.abs(fd))) {
            throw new Error(`grad[${i}] = ${g}, finite difference ${fd} (${p.label})`);
          }
        }
      }),
      seeded,
    );
  });

  it('KL ≥ 0 (within rounding), KL(p‖p) = 0 exactly, and gradient rows sum to ≈ 0', () => {
    fc.assert(
      fc.property(shape, ({ rows, cols, temperature, seed }) => {
        const rng = new Rng(seed);
        const p = makeProblem(rng, rows, cols, temperature, 1, 'dense', false);
        for (const level of ['ref', ...simdLevels]) {
          withIsa(level, () => {
            const r = distillationLoss(p.student, p.opts);
            const ref = reference(p);
            const c = toleranceFactor(cols);
            for (let row = 0; row < rows; row++) {
              expect(ref.rowLoss[row]!).toBeGreaterThanOrEqual(-1e-12);
              expect(r.rowLoss[row]!).toBeGreaterThanOrEqual(-c * ref.lossMag[row]!);
              let sum = 0;
              let mag = 0;
              for (let i = 0; i < cols; i++) {
                sum += r.grad![row * cols + i]!;
                mag += ref.gradMag[row * cols + i]!;
              }
              expect(Math.abs(sum)).toBeLessThanOrEqual(c * mag + 1e-37);
            }
            const same = distillationLoss(p.student, { ...p.opts, teacher: p.student.slice() });
            expect(Array.from(same.rowLoss)).toEqual(new Array(rows).fill(0));
            expect(same.grad!.every((v) => v === 0)).toBe(true);
          });
        }
      }),
      seeded,
    );
  });
});

describe('distillationLoss: hand-derived values', () => {
  // s = (0, ln 3) → p = (¼, ¾); t = (0, 0) → q = (½, ½).
  const s = new Float32Array([0, Math.log(3)]);
  const t = new Float32Array([0, 0]);

  it.each(['ref', ...simdLevels])('%s: KL, CE, the temperature and the mix', (level) => {
    withIsa(level, () => {
      const kl = distillationLoss(s, { rows: 1, cols: 2, teacher: t, grad: true });
      expect(kl.loss).toBeCloseTo(0.5 * Math.log(4 / 3), 6);
      expect(kl.grad![0]).toBeCloseTo(-0.25, 6);
      expect(kl.grad![1]).toBeCloseTo(0.25, 6);

      const ce = crossEntropy(s, 1, 2, new Int32Array([1]), { grad: true });
      expect(ce.loss).toBeCloseTo(-Math.log(0.75), 6);
      expect(Array.from(ce.grad!).map((v) => Number(v.toFixed(6)))).toEqual([0.25, -0.25]);

      // T = 2: p_T = softmax(s/2) = (1/(1+√3), √3/(1+√3)); loss = T²·KL, grad = T·(p_T − q).
      const p0 = 1 / (1 + Math.sqrt(3));
      const klT = 0.5 * Math.log(0.5 / p0) + 0.5 * Math.log(0.5 / (1 - p0));
      const hot = distillationLoss(s, { rows: 1, cols: 2, teacher: t, temperature: 2, grad: true });
      expect(hot.loss).toBeCloseTo(4 * klT, 6);
      expect(hot.grad![0]).toBeCloseTo(2 * (p0 - 0.5), 6);

      // α = 0.25 mixes them: 0.25·T²·KL + 0.75·CE, and the same for the gradient.
      const mix = distillationLoss(s, { rows: 1, cols: 2, teacher: t, labels: new Int32Array([1]), temperature: 2, alpha: 0.25, grad: true });
      expect(mix.loss).toBeCloseTo(0.25 * 4 * klT - 0.75 * Math.log(0.75), 6);
      expect(mix.grad![0]).toBeCloseTo(0.25 * 2 * (p0 - 0.5) + 0.75 * 0.25, 6);

      // A top-k teacher with k = 1 is one-hot: KL = −log p_y.
      const one = distillationLoss(s, { rows: 1, cols: 2, teacher: { indices: new Int32Array([0]), logits: new Float32Array([5]), k: 1 } });
      expect(one.loss).toBeCloseTo(-Math.log(0.25), 6);
    });
  });

  it('reductions: mean = sum / rows for the loss and the gradient; none leaves row gradients unscaled', () => {
    const p = makeProblem(new Rng(5), 7, 13, 2, 0.4, 'dense', true);
    const mean = distillationLoss(p.student, { ...p.opts, reduction: 'mean' });
    const sum = distillationLoss(p.student, { ...p.opts, reduction: 'sum' });
    const none = distillationLoss(p.student, { ...p.opts, reduction: 'none' });
    expect(Array.from(none.rowLoss)).toEqual(Array.from(sum.rowLoss));
    expect(none.loss).toBe(sum.loss);
    expect(Array.from(none.grad!)).toEqual(Array.from(sum.grad!));
    expect(mean.loss).toBeCloseTo(sum.loss / 7, 12);
    for (let i = 0; i < sum.grad!.length; i++) expect(mean.grad![i]!).toBeCloseTo(sum.grad![i]! / 7, 7);
    // Loss only: no gradient computed or returned.
    const lossOnly = distillationLoss(p.student, { ...p.opts, grad: false });
    expect(lossOnly.grad).toBeUndefined();
    expect(Array.from(lossOnly.rowLoss)).toEqual(Array.from(mean.rowLoss));
    // Zero rows: an empty result, NaN mean (0/0), 0 sum.
    expect(distillationLoss(new Float32Array(0), { rows: 0, cols: 0, labels: new Int32Array(0) }).loss).toBeNaN();
    expect(distillationLoss(new Float32Array(0), { rows: 0, cols: 5, labels: new Int32Array(0), reduction: 'sum' }).loss).toBe(0);
  });

  it('crossEntropy is the kernel with no teacher and alpha = 0', () => {
    const p = makeProblem(new Rng(6), 4, 50, 1, 0, 'none', true);
    const ce = crossEntropy(p.student, 4, 50, p.opts.labels!, { grad: true });
    const want = reference(p);
    expectClose(ce, want, want, 50, 'crossEntropy');
  });

  it('masked classes (-Infinity) get probability 0 and a zero gradient where both sides mask them', () => {
    const s = new Float32Array([1, -Infinity, 2, 0.5]);
    const t = new Float32Array([0, -Infinity, 1, -Infinity]);
    for (const level of ['ref', ...simdLevels]) {
      withIsa(level, () => {
        const r = distillationLoss(s, { rows: 1, cols: 4, teacher: t, grad: true });
        expect(r.grad![1]).toBe(0);
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(softmax(s, 1, 4)[1]).toBe(0);
        expect(logSoftmax(s, 1, 4)[1]).toBe(-Infinity);
      });
    }
  });
});

describe('distillationLoss: memory safety and async', () => {
  it.each(['ref', ...simdLevels])('%s: misaligned inputs, guarded outputs written exactly', (level) => {
    const rng = new Rng(7);
    for (const cols of [1, 7, 17, 33, 1000]) {
      const rows = 3;
      const p = makeProblem(rng, rows, cols, 2, 0.3, 'dense', true);
      const want = withIsa(level, () => distillationLoss(p.student, p.opts));
      const tk = topkTeacher(rng, rows, cols, Math.min(cols, 3));
      const wantTopk = withIsa(level, () => distillationLoss(p.student, { ...p.opts, teacher: tk }));
      const grad = guarded(Float32Array, rows * cols, NaN);
      const rowLoss = guarded(Float32Array, rows, NaN);
      const student = misaligned(Float32Array, p.student);
      const teacher = misaligned(Float32Array, p.opts.teacher as Float32Array);
      const labels = misaligned(Int32Array, p.opts.labels!);
      const got = withIsa(level, () =>
        distillationLoss(student, { ...p.opts, teacher, labels, grad: grad.view, rowLoss: rowLoss.view }),
      );
      grad.checkGuards();
      rowLoss.checkGuards();
      expect(got.grad).toBe(grad.view);
      expect(got.rowLoss).toBe(rowLoss.view);
      expect(Array.from(got.rowLoss)).toEqual(Array.from(want.rowLoss));
      expect(Array.from(got.grad!)).toEqual(Array.from(want.grad!));
      // Top-k inputs misaligned too.
      const tkm = { indices: misaligned(Int32Array, tk.indices), logits: misaligned(Float32Array, tk.logits), k: tk.k };
      const g2 = guarded(Float32Array, rows * cols, NaN);
      const gotTopk = withIsa(level, () => distillationLoss(student, { ...p.opts, teacher: tkm, labels, grad: g2.view }));
      g2.checkGuards();
      expect(Array.from(gotTopk.grad!)).toEqual(Array.from(wantTopk.grad!));
      // softmax into a guarded, misaligned output.
      const sm = guarded(Float32Array, rows * cols, NaN);
      withIsa(level, () => softmax(student, rows, cols, sm.view));
      sm.checkGuards();
      expect(Array.from(sm.view)).toEqual(Array.from(withIsa(level, () => softmax(p.student, rows, cols))));
    }
  });

  it.each(['ref', ...simdLevels])('%s: async equals sync bit for bit, and rejects like sync', async (level) => {
    const rng = new Rng(8);
    for (const [teacher, cols] of [['dense', 32000], ['topk', 517], ['none', 64]] as const) {
      const p = makeProblem(rng, 5, cols, 4, teacher === 'none' ? 0 : 0.7, teacher, true, 'normal', 11);
      const sync = withIsa(level, () => distillationLoss(p.student, p.opts));
      const async = await withIsaAsync(level, () => distillationLossAsync(p.student, p.opts));
      expect(async.loss).toBe(sync.loss);
      expect(Array.from(async.rowLoss)).toEqual(Array.from(sync.rowLoss));
      expect(Array.from(async.grad!)).toEqual(Array.from(sync.grad!));
    }
    const bad = makeProblem(rng, 2, 10, 1, 1, 'dense', false);
    bad.student[13] = NaN;
    await expect(withIsaAsync(level, () => distillationLossAsync(bad.student, bad.opts))).rejects.toMatchObject({
      code: 'ERR_DISTIQ_NON_FINITE',
      message: expect.stringContaining('student[13] is NaN'),
    });
  });
});
