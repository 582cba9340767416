/**
 * int4 weight-only GEMM behaviour: the `ref` level against the independent TS reference of the exact expression
 * (test/helpers/ref-gemm-s4.ts), every other ISA level against `ref` bit for bit (signed/unsigned codes, zero points,
 * short last groups, per-channel groups, strides, guarded outputs), the RTN quantizer, code extremes and all-zero
 * rows, thread-count independence, the async form, packed-layout mismatch, and the PackedWeightsS4 metadata.
 */
import { afterAll, describe, expect, it } from 'vitest';

import {
  gemmS4,
  gemmS4Async,
  getNumThreads,
  PackedWeightsS4,
  packWeightsS4,
  quantizeWeightsS4,
  setNumThreads,
  type Int4Weights,
} from '../../lib/index';
import { native } from '../../lib/native';
import { guarded } from '../helpers/guard';
import { defaultLevel, simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import { refGemmS4, refQuantizeS4, type RefS4Weights } from '../helpers/ref-gemm-s4';
import { Rng, seedNote } from '../helpers/rng';

type Kind = 'signed' | 'signed-zp' | 'unsigned' | 'unsigned-zp';
const KINDS: readonly Kind[] = ['signed', 'signed-zp', 'unsigned', 'unsigned-zp'];

function makeWeights(rng: Rng, n: number, k: number, groupSize: number, kind: Kind, extreme = false): RefS4Weights {
  const signed = kind.startsWith('signed');
  const lo = signed ? -8 : 0, hi = signed ? 7 : 15;
  const groups = k === 0 ? 0 : Math.ceil(k / groupSize);
  const rowBytes = Math.ceil(k / 2);
  const codes = new Uint8Array(n * rowBytes);
  for (let j = 0; j < n; j++) {
    for (let e = 0; e < k; e++) {
      const v = extreme ? (rng.next() < 0.5 ? lo : hi) : rng.int(lo, hi);
      const b = j * rowBytes + (e >> 1);
      codes[b] = codes[b]! | ((v & 0x0f) << ((e & 1) * 4));
    }
  }
  const scales = Float32Array.from({ length: n * groups }, () => rng.uniform(0.001, 0.1) * (rng.next() < 0.1 ? -1 : 1));
  const zeroPoints = kind.endsWith('-zp') ? Int32Array.from({ length: n * groups }, () => rng.int(lo, hi)) : null;
  return { n, k, groupSize, codes, scales, zeroPoints, signed };
}

function asInt4(w: RefS4Weights): Int4Weights {
  return { codes: w.codes, scales: w.scales, zeroPoints: w.zeroPoints, signed: w.signed };
}

/** Activations with some special rows: all zero, huge, tiny, a single spike, many rounding ties. */
function makeX(rng: Rng, m: number, k: number, lda: number): Float32Array {
  const x = new Float32Array(m === 0 ? 0 : (m - 1) * lda + k).fill(-77.5);
  for (let i = 0; i < m; i++) {
    const kind = rng.int(0, 7);
    for (let e = 0; e < k; e++) {
      let v = rng.normal();
      if (kind === 0) v = 0;
      if (kind === 1) v *= 1e30;
      if (kind === 2) v *= 1e-38;
      if (kind === 3) v = e === k >> 1 ? -3.5 : 0;
      if (kind === 4) v = Math.round(v * 2) * 63.5;
      x[i * lda + e] = v;
    }
  }
  return x;
}

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function run(
  x: Float32Array,
  m: number,
  w: RefS4Weights,
  bias: Float32Array | null,
  lda: number,
  ldc: number,
): Float32Array {
  const packed = packWeightsS4(asInt4(w), w.n, w.k, { groupSize: w.groupSize });
  const g = guarded(Float32Array, m === 0 ? 0 : (m - 1) * ldc + w.n, Number.NaN);
  gemmS4(x, m, packed, { out: g.view, lda, ldc, ...(bias === null ? {} : { bias }) });
  g.checkGuards();
  return g.view;
}

/** The dense [m, n] part of a strided output. */
function dense(y: Float32Array, m: number, n: number, ldc: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) out.set(y.subarray(i * ldc, i * ldc + n), i * n);
  return out;
}

const savedThreads = getNumThreads();
afterAll(() => {
  setNumThreads(savedThreads);
  native._setIsa(defaultLevel);
});

describe('gemmS4 ref level vs the TypeScript reference', () => {
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 32], [3, 5, 33, 32], [2, 17, 100, 32], [4, 9, 130, 128], [5, 3, 77, 1000], [2, 4, 64, 5], [1, 7, 0, 32],
    [17, 20, 96, 64],
  ];
  for (const kind of KINDS) {
    it(`${kind}: bit-exact on every shape`, () => {
      const rng = new Rng(4100 + KINDS.indexOf(kind));
      withIsa('ref', () => {
        for (const [m, n, k, g] of shapes) {
          const w = makeWeights(rng, n, k, g, kind);
          const x = makeX(rng, m, k, k);
          const bias = rng.next() < 0.5 ? rng.float32Array(n, -2, 2) : null;
          const want = refGemmS4(x, m, k, w, bias);
          const got = run(x, m, w, bias, k, n);
          expect(bitsOf(got), `m=${m} n=${n} k=${k} g=${g} ${seedNote()}`).toEqual(bitsOf(want));
        }
      });
    });
  }

  it('is close to the float product of the dequantized weights', () => {
    const rng = new Rng(4110);
    const n = 16, k = 256, g = 32;
    const wf = rng.float32Array(n * k, -1, 1);
    const q = quantizeWeightsS4(wf, n, k, { groupSize: g });
    const x = rng.float32Array(k, -1, 1);
    const y = gemmS4(x, 1, packWeightsS4(q, n, k, { groupSize: g }));
    for (let j = 0; j < n; j++) {
      let exact = 0, mag = 0;
      for (let e = 0; e < k; e++) {
        exact += x[e]! * wf[j * k + e]!;
        mag += Math.abs(x[e]! * wf[j * k + e]!);
      }
      // int4 weights (error ≤ s/2 = max|w|/14) and int8 activations: a few percent of Σ|x·w|.
      expect(Math.abs(y[j]! - exact)).toBeLessThan(0.1 * mag);
    }
  });
});

describe('gemmS4 every ISA level vs ref', () => {
  const ms = [1, 2, 3, 4, 5, 17];
  const ns = [1, 15, 16, 17, 33, 64, 65];
  const kgs: [number, number][] = [[1, 32], [31, 32], [33, 32], [95, 32], [130, 64], [200, 128], [100, 24], [61, 5], [784, 784], [300, 4096]];
  for (const level of simdLevels) {
    it(`${level}: bit-exact over the shape grid`, () => {
      const rng = new Rng(4200);
      for (const [k, g] of kgs) {
        for (const n of ns) {
          const w = makeWeights(rng, n, k, g, KINDS[rng.int(0, 3)]!, rng.next() < 0.2);
          for (const m of ms) {
            const lda = k + (rng.next() < 0.5 ? 3 : 0), ldc = n + (rng.next() < 0.5 ? 2 : 0);
            const x = makeX(rng, m, k, lda);
            const bias = rng.next() < 0.5 ? rng.float32Array(n, -2, 2) : null;
            const want = withIsa('ref', () => run(x, m, w, bias, lda, ldc));
            const got = withIsa(level, () => run(x, m, w, bias, lda, ldc));
            const where = `${level} m=${m} n=${n} k=${k} g=${g} ${seedNote()}`;
            expect(bitsOf(dense(got, m, n, ldc)), where).toEqual(bitsOf(dense(want, m, n, ldc)));
          }
        }
      }
    });
  }

  it('code extremes, all-zero and huge rows: every level equals the reference', () => {
    const rng = new Rng(4210);
    const m = 4, n = 21, k = 4096 + 9, g = 4096;
    for (const kind of KINDS) {
      const w = makeWeights(rng, n, k, g, kind, true);
      const x = new Float32Array(m * k);
      for (let e = 0; e < k; e++) {
        x[e] = e % 2 === 1 ? 1 : -1;
        x[k + e] = 3e38;
        x[2 * k + e] = 0;
        x[3 * k + e] = -1;
      }
      const bias = rng.float32Array(n, -2, 2);
      const want = refGemmS4(x, m, k, w, bias);
      expect(bitsOf(want.subarray(2 * n, 3 * n))).toEqual(bitsOf(bias));  // zero row → bias
      for (const level of ['ref', ...simdLevels]) {
        const got = withIsa(level, () => run(x, m, w, bias, k, n));
        expect(bitsOf(got), `${level} ${kind}`).toEqual(bitsOf(want));
      }
    }
  });
});

describe('quantizeWeightsS4 / packWeightsS4 from float weights', () => {
  it('RTN codes and scales match the reference, pad nibbles are 0, strided input', () => {
    const rng = new Rng(4300);
    const n = 7, k = 77, ldw = 80, g = 32;
    const wf = rng.float32Array((n - 1) * ldw + k, -3, 3);
    for (let e = 32; e < 64; e++) wf[2 * ldw + e] = 0;  // an all-zero group: scale 1, codes 0
    const q = quantizeWeightsS4(wf, n, k, { groupSize: g, ldw });
    const want = refQuantizeS4(wf, n, k, ldw, g);
    expect(q.codes).toEqual(want.codes);
    expect(bitsOf(q.scales)).toEqual(bitsOf(want.scales));
    expect(q.signed).toBe(true);
    expect(q.scales[2 * 3 + 1]).toBe(1);
  });

  it("scaleFormat 'float16': scales are float16 values nearest max|w|/7, the packed layout is smaller, results match ref", () => {
    const rng = new Rng(4305);
    const n = 48, k = 256, g = 32;
    const wf = rng.float32Array(n * k, -2, 2);
    const q = quantizeWeightsS4(wf, n, k, { groupSize: g, scaleFormat: 'float16' });
    const u = new Uint32Array(q.scales.buffer);
    for (let i = 0; i < q.scales.length; i++) {
      const j = Math.floor(i / (k / g)), gi = i % (k / g);
      let amax = 0;
      for (let e = gi * g; e < (gi + 1) * g; e++) amax = Math.max(amax, Math.abs(wf[j * k + e]!));
      const s32 = Math.fround(amax / 7);
      expect(u[i]! & 0x1fff, `scale ${i} has a float16 significand`).toBe(0);
      expect(Math.abs(q.scales[i]! - s32)).toBeLessThanOrEqual(2 ** (Math.floor(Math.log2(s32)) - 11));
    }
    const x = rng.float32Array(2 * k);
    const want = withIsa('ref', () => gemmS4(x, 2, packWeightsS4(q, n, k, { groupSize: g })));
    for (const level of simdLevels) {
      withIsa(level, () => {
        const p16 = packWeightsS4(wf, n, k, { groupSize: g, scaleFormat: 'float16' });
        const p32 = packWeightsS4(wf, n, k, { groupSize: g });
        expect(p16.byteLength).toBeLessThan(p32.byteLength);
        expect(bitsOf(gemmS4(x, 2, p16))).toEqual(bitsOf(want));
      });
    }
  });

  it('packing floats equals packing their RTN codes, on every level', () => {
    const rng = new Rng(4310);
    const n = 40, k = 200, g = 64;
    const wf = rng.float32Array(n * k, -1, 1);
    const x = rng.float32Array(3 * k, -1, 1);
    for (const level of ['ref', ...simdLevels]) {
      withIsa(level, () => {
        const a = gemmS4(x, 3, packWeightsS4(wf, n, k, { groupSize: g }));
        const b = gemmS4(x, 3, packWeightsS4(quantizeWeightsS4(wf, n, k, { groupSize: g }), n, k, { groupSize: g }));
        expect(bitsOf(a)).toEqual(bitsOf(b));
      });
    }
  });

  it('PackedWeightsS4 metadata, default group 32, layout of the active level', () => {
    const rng = new Rng(4320);
    for (const level of ['ref', ...simdLevels]) {
      const p = withIsa(level, () => packWeightsS4(rng.float32Array(33 * 70), 33, 70));
      expect(p).toBeInstanceOf(PackedWeightsS4);
      // The layout is that of the level's int4 kernel (a level without its own, e.g. amx, uses the one below it).
      const kernel = (native._kernelsFor(level) as unknown as Record<string, string>).gemm_s4!;
      const layout = kernel.slice('gemm_s4_'.length);
      expect([p.n, p.k, p.groupSize, p.signed, p.hasZeroPoints, p.layout]).toEqual([33, 70, 32, true, false, layout]);
      expect(p.byteLength).toBeGreaterThan(0);
      expect(Object.isFrozen(p)).toBe(true);
    }
    const w = makeWeights(rng, 5, 9, 4, 'unsigned-zp');
    const p = packWeightsS4(asInt4(w), 5, 9, { groupSize: 4 });
    expect([p.signed, p.hasZeroPoints, p.groupSize]).toEqual([false, true, 4]);
  });
});

describe('gemmS4 threads, async, packed layout', () => {
  it('results do not depend on the thread count', () => {
    const rng = new Rng(4400);
    for (const [m, n, k, g] of [[1, 4096 + 53, 2048, 32], [5, 700, 4096, 128]] as const) {
      const w = makeWeights(rng, n, k, g, KINDS[rng.int(0, 3)]!);
      const x = makeX(rng, m, k, k);
      const packed = packWeightsS4(asInt4(w), n, k, { groupSize: g });
      setNumThreads(1);
      const one = gemmS4(x, m, packed);
      for (const t of [2, 3]) {
        setNumThreads(t);
        expect(bitsOf(gemmS4(x, m, packed)), `threads=${t} m=${m}`).toEqual(bitsOf(one));
      }
    }
    setNumThreads(savedThreads);
  });

  it('gemmS4Async equals the synchronous form on every level', async () => {
    const rng = new Rng(4410);
    const w = makeWeights(rng, 300, 1000, 32, 'signed');
    const x = makeX(rng, 3, 1000, 1000);
    const bias = rng.float32Array(300);
    for (const level of ['ref', ...simdLevels]) {
      await withIsaAsync(level, async () => {
        const packed = packWeightsS4(asInt4(w), 300, 1000, { groupSize: 32 });
        const sync = gemmS4(x, 3, packed, { bias });
        const out = new Float32Array(900);
        const got = await gemmS4Async(x, 3, packed, { bias, out });
        expect(got).toBe(out);
        expect(bitsOf(got)).toEqual(bitsOf(sync));
      });
    }
  });

  it('weights packed under another level are ERR_DISTIQ_PACKED_MISMATCH', async () => {
    if (simdLevels.length === 0) return;
    const rng = new Rng(4420);
    const packed = withIsa('ref', () => packWeightsS4(rng.float32Array(16 * 32), 16, 32));
    await withIsaAsync(simdLevels[0]!, async () => {
      expect(() => gemmS4(new Float32Array(32), 1, packed)).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_PACKED_MISMATCH' }));
      await expect(gemmS4Async(new Float32Array(32), 1, packed)).rejects.toMatchObject({ code: 'ERR_DISTIQ_PACKED_MISMATCH' });
    });
  });

  it('m = 0 and n = 0 are empty products; k = 0 gives the bias', () => {
    const p0 = packWeightsS4(new Float32Array(0), 3, 0);
    expect(gemmS4(new Float32Array(0), 2, p0, { bias: Float32Array.of(1, 2, 3) })).toEqual(Float32Array.of(1, 2, 3, 1, 2, 3));
    const p = packWeightsS4(new Float32Array(8 * 32).fill(0.5), 8, 32);
    expect(gemmS4(new Float32Array(0), 0, p).length).toBe(0);
    expect(gemmS4(new Float32Array(0), 2, packWeightsS4(new Float32Array(0), 0, 32)).length).toBe(0);
  });

  it('cpuInfo lists the int4 kernel of every level', () => {
    expect(native.cpuInfo().kernels).toHaveProperty('gemm_s4');
    for (const level of ['ref', ...simdLevels]) {
      expect((native._kernelsFor(level) as unknown as Record<string, string>).gemm_s4).toMatch(/^gemm_s4_/);
    }
  });
});
