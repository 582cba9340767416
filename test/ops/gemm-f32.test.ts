import { describe, expect, it } from 'vitest';

import { gemmF32, gemmF32Async, getNumThreads, setNumThreads } from '../../lib';
import { COMBOS, catalogue, describeCase, expectIdentical, makeCase, randomF32, run, type Case } from '../helpers/gemm-f32-cases';
import { guarded, misaligned } from '../helpers/guard';
import { simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import { gemmF32Tolerance, refGemmF32 } from '../helpers/ref-gemm-f32';
import { Rng } from '../helpers/rng';

function expectNearExact(got: Float32Array, c: Case): void {
  const ldc = c.opts.ldc ?? c.n;
  const exact = refGemmF32(c.a, c.b, c.m, c.n, c.k, { ...c.opts, c: c.c0 });
  const tol = gemmF32Tolerance(exact, c.k);
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) {
      const d = Math.abs(got[i * ldc + j]! - exact[i * c.n + j]!);
      if (!(d <= tol)) throw new Error(`C[${i},${j}] off by ${d} > ${tol} (${describeCase(c)})`);
    }
  }
}

describe('gemmF32: the ref level against a float64 product', () => {
  for (const { transA, transB } of COMBOS) {
    it(`transA=${transA} transB=${transB}: within 64·2^-23·max|exact|·sqrt(K)`, () => {
      withIsa('ref', () => {
        for (const c of catalogue(transA, transB, 11 + Number(transA) * 2 + Number(transB))) {
          expectNearExact(run(c), c);
        }
      });
    });
  }
});

describe.each(simdLevels)('gemmF32 on %s: bit-identical to ref', (level) => {
  for (const { transA, transB } of COMBOS) {
    it(`transA=${transA} transB=${transB}, shape catalogue, strides, alpha/beta`, () => {
      const cases = catalogue(transA, transB, 101 + Number(transA) * 2 + Number(transB));
      const want = withIsa('ref', () => cases.map(run));
      withIsa(level, () => {
        cases.forEach((c, i) => expectIdentical(run(c), want[i]!, `${level} ${describeCase(c)}`));
      });
    });
  }
});

describe('gemmF32: Linear-layer training shapes (W is [out, in])', () => {
  const batch = 37, inF = 45, outF = 29;
  const rng = new Rng(7);
  const x = randomF32(rng, batch * inF);
  const w = randomF32(rng, outF * inF);
  const dy = randomF32(rng, batch * outF);

  // Each product written out explicitly with its own indexing, not through refGemmF32's transpose options.
  const forward = (i: number, o: number): number => {
    let s = 0;
    for (let q = 0; q < inF; q++) s += x[i * inF + q]! * w[o * inF + q]!;
    return s;
  };
  const gradX = (i: number, q: number): number => {
    let s = 0;
    for (let o = 0; o < outF; o++) s += dy[i * outF + o]! * w[o * inF + q]!;
    return s;
  };
  const gradW = (o: number, q: number): number => {
    let s = 0;
    for (let i = 0; i < batch; i++) s += dy[i * outF + o]! * x[i * inF + q]!;
    return s;
  };
  const products = [
    { name: 'y = x·Wᵀ', rows: batch, cols: outF, k: inF, f: forward, call: () => gemmF32(x, w, batch, outF, inF, { transB: true }) },
    { name: 'dX = dY·W', rows: batch, cols: inF, k: outF, f: gradX, call: () => gemmF32(dy, w, batch, inF, outF) },
    { name: 'dW = dYᵀ·x', rows: outF, cols: inF, k: batch, f: gradW, call: () => gemmF32(dy, x, outF, inF, batch, { transA: true }) },
  ];
  for (const p of products) {
    it(`${p.name}: near the float64 product, same bits on every level`, () => {
      const want = withIsa('ref', p.call);
      expect(want.length).toBe(p.rows * p.cols);
      const exact = new Float64Array(p.rows * p.cols);
      for (let i = 0; i < p.rows; i++) for (let j = 0; j < p.cols; j++) exact[i * p.cols + j] = p.f(i, j);
      const tol = gemmF32Tolerance(exact, p.k);
      for (let e = 0; e < exact.length; e++) {
        if (!(Math.abs(want[e]! - exact[e]!) <= tol)) throw new Error(`${p.name}: element ${e} is ${want[e]}, exact ${exact[e]}`);
      }
      for (const level of simdLevels) expectIdentical(withIsa(level, p.call), want, `${p.name} on ${level}`);
    });
  }
});

describe('gemmF32: memory safety and options', () => {
  it('reads misaligned views, writes every element of a guarded out and nothing else (beta = 0 ignores NaN)', () => {
    const rng = new Rng(21);
    for (const { transA, transB } of COMBOS) {
      const m = 19, n = 37, k = 23, ldc = n + 2;
      const a = misaligned(Float32Array, randomF32(rng, m * k));
      const b = misaligned(Float32Array, randomF32(rng, k * n));
      expect(a.byteOffset % 8).not.toBe(0);
      const want = withIsa('ref', () => gemmF32(a.slice(), b.slice(), m, n, k, { transA, transB, ldc }));
      for (const level of ['ref', ...simdLevels]) {
        const out = guarded(Float32Array, m * ldc, Number.NaN, 3);
        const got = withIsa(level, () => gemmF32(a, b, m, n, k, { transA, transB, ldc, out: out.view }));
        expect(got).toBe(out.view);
        out.checkGuards();
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < ldc; j++) {
            const v = got[i * ldc + j]!;
            // Inside C: written (finite, equal to ref); stride gaps: the NaN sentinel left alone.
            if (j < n ? !Object.is(v, want[i * ldc + j]) : !Number.isNaN(v)) {
              throw new Error(`${level}: C[${i},${j}] = ${v} (transA=${transA} transB=${transB})`);
            }
          }
        }
      }
    }
  });

  it('beta ≠ 0 updates out in place; the default out is a fresh m·ldc array', () => {
    const rng = new Rng(5);
    const m = 6, n = 10, k = 4;
    const a = randomF32(rng, m * k), b = randomF32(rng, k * n), c = randomF32(rng, m * n);
    const exact = refGemmF32(a, b, m, n, k, { alpha: 0.5, beta: -0.3, c });
    const out = c.slice();
    expect(gemmF32(a, b, m, n, k, { alpha: 0.5, beta: -0.3, out })).toBe(out);
    const tol = gemmF32Tolerance(exact, k);
    for (let e = 0; e < exact.length; e++) expect(Math.abs(out[e]! - exact[e]!)).toBeLessThanOrEqual(tol);
    const fresh = gemmF32(a, b, m, n, k, { ldc: 13 });
    expect(fresh.length).toBe(m * 13);
  });

  it('k = 0 gives alpha·0 (C not read) or beta·C', () => {
    const empty = new Float32Array(0);
    const zero = gemmF32(empty, empty, 3, 4, 0, { out: new Float32Array(12).fill(Number.NaN) });
    expect(Array.from(zero)).toEqual(new Array(12).fill(0));
    const c = Float32Array.from({ length: 12 }, (_, i) => i - 5);
    const scaled = gemmF32(empty, empty, 3, 4, 0, { beta: 0.25, out: c.slice() });
    expect(Array.from(scaled)).toEqual(Array.from(c, (v) => v * 0.25 + 0));
  });
});

describe('gemmF32Async and threads', () => {
  it('the Promise form gives the same bits as the synchronous form on every level', async () => {
    const rng = new Rng(31);
    for (const level of ['ref', ...simdLevels]) {
      for (const { transA, transB } of COMBOS) {
        const c = makeCase(rng, 70, 45, 90, transA, transB, 1, -2, -0.3);
        const sync = withIsa(level, () => run(c));
        const out = c.c0.slice();
        const got = await withIsaAsync(level, () => gemmF32Async(c.a, c.b, c.m, c.n, c.k, { ...c.opts, out }));
        expect(got).toBe(out);
        expectIdentical(got, sync, `async on ${level} ${describeCase(c)}`);
      }
    }
  });

  it('rejects (does not throw) on bad arguments', async () => {
    await expect(gemmF32Async(new Float32Array(3), new Float32Array(4), 2, 2, 2)).rejects.toMatchObject({
      code: 'ERR_DISTIQ_SHAPE_MISMATCH',
    });
  });

  it('setNumThreads(1) and setNumThreads(2) give identical results', () => {
    const before = getNumThreads();
    const rng = new Rng(41);
    try {
      for (const level of ['ref', ...simdLevels]) {
        for (const { transA, transB } of COMBOS) {
          const c = makeCase(rng, 150, 170, 260, transA, transB, 2, 0.7, 0.25);
          setNumThreads(1);
          const one = withIsa(level, () => run(c));
          setNumThreads(2);
          const two = withIsa(level, () => run(c));
          expectIdentical(two, one, `threads on ${level} ${describeCase(c)}`);
        }
      }
    } finally {
      setNumThreads(before);
    }
  });
});
