/**
 * Prepacked fp32 B (packWeightsF32 → PackedWeightsF32 passed to gemmF32 as b): the same bits as the unpacked B and
 * as the ref on every level, for every transpose, odd shapes and strides, sync and async, 1 and 2 threads; and the
 * bad-input surface (wrong handle, shape mismatch, options that packing fixed, a handle from another level).
 */
import { describe, expect, it } from 'vitest';

import {
  DistiqRangeError,
  DistiqTypeError,
  PackedWeightsF32,
  cpuInfo,
  gemmF32,
  gemmF32Async,
  getNumThreads,
  packWeights,
  packWeightsF32,
  setNumThreads,
} from '../../lib';
import { native } from '../../lib/native';
import { expectError } from '../helpers/expect-error';
import { COMBOS, catalogue, describeCase, expectIdentical, makeCase, run, type Case } from '../helpers/gemm-f32-cases';
import { levels, simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import { Rng } from '../helpers/rng';

/** Packs the case's B (with its transB and ldb) for the active kernel. */
function pack(c: Case): PackedWeightsF32 {
  return packWeightsF32(c.b, { k: c.k, n: c.n, transB: c.opts.transB, ldb: c.opts.ldb });
}

/** The case's product with its B prepacked (ldb dropped: packing consumed it; transB repeated, as allowed). */
function runPacked(c: Case, packed: PackedWeightsF32 = pack(c)): Float32Array {
  const { ldb: _ldb, ...opts } = c.opts;
  return gemmF32(c.a, packed, c.m, c.n, c.k, { ...opts, out: c.c0.slice() });
}

describe.each(levels)('gemmF32 with packed B on %s: bit-identical to ref with unpacked B', (level) => {
  for (const { transA, transB } of COMBOS) {
    it(`transA=${transA} transB=${transB}, shape catalogue, strides, alpha/beta`, () => {
      const cases = catalogue(transA, transB, 301 + Number(transA) * 2 + Number(transB));
      const rng = new Rng(17);
      // Past one K block (784 = 4 × 196), one AVX-512 N block (1024 columns + a partial strip), and short tiles.
      cases.push(makeCase(rng, 70, 1061, 784, transA, transB, 3, 0.7, -0.3));
      cases.push(makeCase(rng, 20, 300, 520, transA, transB, 0, 1, 0));
      const want = withIsa('ref', () => cases.map(run));
      withIsa(level, () => {
        cases.forEach((c, i) => {
          const packed = pack(c);
          expectIdentical(runPacked(c, packed), want[i]!, `${level} packed ${describeCase(c)}`);
          // The handle is reusable: a second product gives the same bits.
          expectIdentical(runPacked(c, packed), want[i]!, `${level} packed, second use ${describeCase(c)}`);
        });
      });
    });
  }
});

describe('PackedWeightsF32', () => {
  it('describes the packing: k, n, transB, layout of the active kernel, byteLength; frozen', () => {
    const rng = new Rng(3);
    const c = makeCase(rng, 4, 37, 5, false, true, 2, 1, 0);
    for (const level of levels) {
      withIsa(level, () => {
        const p = pack(c);
        expect(p).toBeInstanceOf(PackedWeightsF32);
        expect([p.k, p.n, p.transB]).toEqual([5, 37, true]);
        expect(p.layout).toBe(cpuInfo().kernels.gemm_f32.replace(/^gemm_f32_/, ''));
        expect(p.byteLength).toBeGreaterThanOrEqual(5 * 37 * 4);
        expect(Object.isFrozen(p)).toBe(true);
      });
    }
  });

  it('the async form gives the sync bits; 1 and 2 threads give the same bits', async () => {
    const before = getNumThreads();
    const rng = new Rng(43);
    try {
      for (const level of ['ref', ...simdLevels]) {
        for (const { transA, transB } of COMBOS) {
          const c = makeCase(rng, 150, 170, 260, transA, transB, 2, 0.7, 0.25);
          const want = withIsa('ref', () => run(c));
          const packed = withIsa(level, () => pack(c));
          setNumThreads(1);
          const one = withIsa(level, () => runPacked(c, packed));
          setNumThreads(2);
          const two = withIsa(level, () => runPacked(c, packed));
          const out = c.c0.slice();
          const { ldb: _ldb, ...opts } = c.opts;
          const async = await withIsaAsync(level, () => gemmF32Async(c.a, packed, c.m, c.n, c.k, { ...opts, out }));
          expect(async).toBe(out);
          expectIdentical(one, want, `1 thread on ${level} ${describeCase(c)}`);
          expectIdentical(two, want, `2 threads on ${level} ${describeCase(c)}`);
          expectIdentical(async, want, `async on ${level} ${describeCase(c)}`);
        }
      }
    } finally {
      setNumThreads(before);
    }
  });

  it('k = 0 and n = 0 pack to empty handles that still multiply by the contract', () => {
    const empty = new Float32Array(0);
    const p = packWeightsF32(empty, { k: 0, n: 4 });
    expect(p.byteLength).toBe(0);
    const c = Float32Array.from({ length: 12 }, (_, i) => i - 5);
    const scaled = gemmF32(empty, p, 3, 4, 0, { beta: 0.25, out: c.slice() });
    expect(Array.from(scaled)).toEqual(Array.from(c, (v) => v * 0.25 + 0));
    expect(gemmF32(new Float32Array(6), packWeightsF32(empty, { k: 2, n: 0 }), 3, 0, 2).length).toBe(0);
  });
});

describe('packWeightsF32 / gemmF32 with packed B: bad input', () => {
  const b = new Float32Array(12).fill(1); // [k=3, n=4], or [n=4, k=3] transposed
  const a = new Float32Array(6).fill(1); // [m=2, k=3]

  it('packWeightsF32 checks b, opts, k, n, transB, ldb and the length of b', () => {
    expectError(() => packWeightsF32(new Float64Array(12) as unknown as Float32Array, { k: 3, n: 4 }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"b"/, /Float32Array/);
    expectError(() => packWeightsF32(b, undefined as unknown as { k: number; n: number }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"opts"/);
    expectError(() => packWeightsF32(b, { k: 1.5, n: 4 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"k"/);
    expectError(() => packWeightsF32(b, { k: 3 } as { k: number; n: number }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"n"/);
    expectError(() => packWeightsF32(b, { k: 3, n: 4, transB: 1 as unknown as boolean }), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"transB"/);
    expectError(() => packWeightsF32(b, { k: 3, n: 4, ldb: 3 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"ldb"/, />= 4/);
    expectError(() => packWeightsF32(b, { k: 4, n: 4 }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /b\.length/, /16/);
    expectError(() => packWeightsF32(b, { k: 5, n: 3, transB: true }), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH',
      /b\.length/, /\(n-1\)\*ldb\+k/);
  });

  it('gemmF32 rejects a packed B of another shape, a repacked ldb, a contradicting transB', () => {
    const p = packWeightsF32(b, { k: 3, n: 4 });
    expectError(() => gemmF32(a, p, 2, 5, 3), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /\[3, 4\]/, /\[3, 5\]/);
    expectError(() => gemmF32(a, p, 3, 4, 2), DistiqRangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /\[3, 4\]/, /\[2, 4\]/);
    expectError(() => gemmF32(a, p, 2, 4, 3, { ldb: 4 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"ldb"/);
    expectError(() => gemmF32(a, p, 2, 4, 3, { transB: true }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE',
      /"transB"/, /false/);
    expect(gemmF32(a, p, 2, 4, 3, { transB: false })).toEqual(new Float32Array(8).fill(3));
  });

  it('gemmF32 rejects objects that are not a PackedWeightsF32 (an int8 PackedWeights, a look-alike)', () => {
    const s8 = packWeights(new Int8Array(12), 4, 3);
    expectError(() => gemmF32(a, s8 as unknown as Float32Array, 2, 4, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"b"/, /PackedWeightsF32/);
    const fake = Object.create(PackedWeightsF32.prototype) as PackedWeightsF32;
    expectError(() => gemmF32(a, fake, 2, 4, 3), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"b"/);
    expectError(() => gemmF32(a, { k: 3, n: 4 } as unknown as Float32Array, 2, 4, 3), DistiqTypeError,
      'ERR_DISTIQ_INVALID_ARG_TYPE', /"b"/);
  });

  it('a handle packed on another level is ERR_DISTIQ_PACKED_MISMATCH (sync and async)', async () => {
    const kernelOf = (level: string): string => native._kernelsFor(level).gemm_f32;
    const pairs = levels.flatMap((x) => levels.map((y) => [x, y] as const)).filter(([x, y]) => kernelOf(x) !== kernelOf(y));
    expect(pairs.length).toBeGreaterThan(0); // ref and at least one SIMD kernel on every supported CPU
    for (const [from, to] of pairs) {
      const p = withIsa(from, () => packWeightsF32(b, { k: 3, n: 4 }));
      expectError(() => withIsa(to, () => gemmF32(a, p, 2, 4, 3)), DistiqRangeError, 'ERR_DISTIQ_PACKED_MISMATCH',
        new RegExp(`"${p.layout}"`), /pack them again/);
      await expect(withIsaAsync(to, () => gemmF32Async(a, p, 2, 4, 3))).rejects.toMatchObject({
        code: 'ERR_DISTIQ_PACKED_MISMATCH',
      });
    }
  });

  it('the native layer re-checks: wrong handle, bad counts, foreign objects, direct construction', () => {
    const handle = PackedWeightsF32.handleOf(packWeightsF32(b, { k: 3, n: 4 }))!;
    const nat = native as unknown as {
      gemmF32Packed(...args: unknown[]): void;
      packWeightsF32(...args: unknown[]): unknown;
    };
    const c = new Float32Array(8);
    nat.gemmF32Packed(false, 2, 1, a, 3, handle, 0, c, 4);
    expect(Array.from(c)).toEqual(new Array(8).fill(3));
    const s8 = PackedWeightsF32.handleOf(packWeights(new Int8Array(12), 4, 3));
    expect(s8).toBeUndefined();
    for (const bad of [{}, null, b, { k: 3, n: 4 }]) {
      expectError(() => nat.gemmF32Packed(false, 2, 1, a, 3, bad, 0, c, 4), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE',
        /"packed"/, /PackedWeightsF32/);
    }
    expectError(() => nat.gemmF32Packed(false, 2, 1, a, 3, handle, 0, new Float32Array(7), 4), RangeError,
      'ERR_DISTIQ_SHAPE_MISMATCH', /c\.length/);
    expectError(() => nat.gemmF32Packed(false, 2, 1, a, 3, handle, 0, c), TypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE');
    expectError(() => nat.packWeightsF32(b, 4, 4, 4, false), RangeError, 'ERR_DISTIQ_SHAPE_MISMATCH', /b\.length/);
    const Ctor = (handle as object).constructor as new () => unknown;
    expect(() => new Ctor()).toThrow(TypeError);
  });
});
