/**
 * int8 GEMM behaviour: the `ref` level against the independent TS reference (test/helpers/ref-gemm-s8.ts), every
 * other ISA level against `ref` bit for bit (all output kinds, u8×s8 and s8×s8, misaligned views, guarded outputs),
 * the K = 65536 extremes, thread-count independence, the async form, and PackedWeights metadata.
 */
import { afterAll, describe, expect, it } from 'vitest';

import {
  gemmS8,
  gemmS8Async,
  GEMM_S8_MAX_K,
  getNumThreads,
  PackedWeights,
  packWeights,
  setNumThreads,
  type GemmS8Options,
} from '../../lib/index';
import { native } from '../../lib/native';
import { guarded, misaligned } from '../helpers/guard';
import { simdLevels, withIsa, withIsaAsync } from '../helpers/isa';
import { refGemmS8, type RefEpilogue, type RefOutput } from '../helpers/ref-gemm-s8';
import { Rng, seedNote } from '../helpers/rng';

type Output = RefOutput;
const OUTPUTS: readonly Output[] = ['int32', 'float32', 'uint8', 'int8'];
const CTORS = { int32: Int32Array, float32: Float32Array, uint8: Uint8Array, int8: Int8Array } as const;
const SENTINEL = { int32: -0x5a5a5a5b, float32: Number.NaN, uint8: 0xa5, int8: -91 } as const;

interface Case {
  m: number;
  n: number;
  k: number;
  signed: boolean;
  a: Uint8Array | Int8Array;
  lda: number;
  w: Int8Array;
  ldw: number;
  za: number;
  zw: number;
  ldc: number;
  epi: RefEpilogue;
}

function makeCase(rng: Rng, m: number, n: number, k: number, signed: boolean, pad = 0): Case {
  const lda = k + pad, ldw = k + (pad > 0 ? 1 : 0), ldc = n + pad;
  const aLen = m === 0 ? 0 : (m - 1) * lda + k;
  const a = signed ? rng.int8Array(aLen) : Uint8Array.from({ length: aLen }, () => rng.int(0, 255));
  const w = rng.int8Array(n === 0 ? 0 : (n - 1) * ldw + k);
  const perChannel = rng.next() < 0.5;
  const aScale = Math.fround(rng.uniform(0.01, 0.1));
  const wScale = perChannel
    ? Float32Array.from({ length: n }, () => rng.uniform(0.005, 0.05))
    : Float32Array.of(rng.uniform(0.005, 0.05));
  const typical = Math.sqrt(Math.max(k, 1)) * 100 * aScale * 0.02;
  return {
    m, n, k, signed, a, lda, w, ldw, ldc,
    za: signed ? rng.int(-128, 127) : rng.int(0, 255),
    zw: rng.next() < 0.25 ? 0 : rng.int(-128, 127),
    epi: {
      aScale,
      wScale,
      bias: rng.next() < 0.5 ? Float32Array.from({ length: n }, () => rng.uniform(-20, 20)) : null,
      relu: rng.next() < 0.5,
      outScale: Math.fround(typical / 100 + 1e-3),
      outZp: rng.int(0, 20), // valid for both uint8 and int8 outputs
    },
  };
}

function options(c: Case, output: Output): GemmS8Options {
  const base = { aZeroPoint: c.za, wZeroPoint: c.zw, lda: c.lda, ldc: c.ldc };
  if (output === 'int32') return { ...base, output };
  const scaled = {
    ...base,
    aScale: c.epi.aScale,
    wScale: c.epi.wScale.length === 1 ? c.epi.wScale[0]! : c.epi.wScale,
    relu: c.epi.relu,
    ...(c.epi.bias ? { bias: c.epi.bias } : {}),
  };
  if (output === 'float32') return { ...scaled, output };
  return { ...scaled, output, outScale: c.epi.outScale, outZeroPoint: c.epi.outZp };
}

/** Runs the active level on a misaligned copy of A into a guarded output; checks guards; returns dense [m, n]. */
function runActive(c: Case, output: Output): number[] {
  const a = c.signed ? misaligned(Int8Array, c.a) : misaligned(Uint8Array, c.a);
  const cLen = c.m === 0 ? 0 : (c.m - 1) * c.ldc + c.n;
  const g = guarded(CTORS[output] as never, cLen, SENTINEL[output]) as ReturnType<typeof guarded<Int32Array>>;
  const packed = packWeights(c.w, c.n, c.k, { ldw: c.ldw });
  const result = gemmS8(a, c.m, packed, { ...options(c, output), out: g.view } as never) as unknown;
  expect(result).toBe(g.view);
  g.checkGuards();
  const dense: number[] = [];
  for (let i = 0; i < c.m; i++) {
    for (let j = 0; j < c.n; j++) dense.push(g.view[i * c.ldc + j]!);
  }
  // Row padding between n and ldc is never written.
  for (let i = 0; i + 1 < c.m; i++) {
    for (let j = c.n; j < c.ldc; j++) {
      const v = g.view[i * c.ldc + j]!;
      expect(Object.is(v, SENTINEL[output]) || (Number.isNaN(v) && Number.isNaN(SENTINEL[output]))).toBe(true);
    }
  }
  return dense;
}

function sameBits(got: number[], want: number[], what: string): void {
  for (let e = 0; e < want.length; e++) {
    const g = got[e]!, w = want[e]!;
    if (!(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)) || (g === 0 && w === 0 && Object.is(g, w)))) {
      throw new Error(`${what}: element ${e} is ${g}, expected ${w} (${seedNote()})`);
    }
  }
}

const DIMS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 97];

describe('gemmS8: ref level vs the TS reference', () => {
  it('matches bit for bit on every output kind (u8s8 and s8s8, strided)', () => {
    const rng = new Rng(201);
    withIsa('ref', () => {
      for (let t = 0; t < 36; t++) {
        const c = makeCase(rng, rng.pick(DIMS.slice(0, 12)), rng.pick(DIMS), rng.pick(DIMS), t % 2 === 1, t % 3);
        for (const output of OUTPUTS) {
          const want = refGemmS8(
            { m: c.m, n: c.n, k: c.k, a: c.a, lda: c.lda, za: c.za, w: c.w, ldw: c.ldw, zw: c.zw },
            output,
            c.epi,
          );
          sameBits(runActive(c, output), want, `ref m=${c.m} n=${c.n} k=${c.k} signed=${c.signed} ${output}`);
        }
      }
    });
  });
});

describe.each(simdLevels)('gemmS8: level %s vs ref', (level) => {
  it('is bit-identical for shapes around every tile edge, all outputs, misaligned A, guarded C', () => {
    const rng = new Rng(202);
    for (let t = 0; t < 40; t++) {
      const c = makeCase(rng, rng.pick(DIMS), rng.pick(DIMS), rng.pick([...DIMS, 127, 128, 129, 300]), t % 2 === 0, t % 4);
      for (const output of OUTPUTS) {
        const want = withIsa('ref', () => runActive(c, output));
        const got = withIsa(level, () => runActive(c, output));
        sameBits(got, want, `${level} m=${c.m} n=${c.n} k=${c.k} signed=${c.signed} ${output}`);
      }
    }
  });

  it('gives the exact value at K = 65536 with all products at their extremes', () => {
    const k = GEMM_S8_MAX_K;
    for (const [signed, aVal, wVal, expected] of [
      [false, 255, -128, -2139095040],
      [true, -128, -128, 1073741824],
    ] as const) {
      const a = signed ? new Int8Array(2 * k).fill(aVal) : new Uint8Array(2 * k).fill(aVal);
      const w = new Int8Array(19 * k).fill(wVal);
      for (const lvl of ['ref', level]) {
        const c = withIsa(lvl, () => gemmS8(a, 2, packWeights(w, 19, k)));
        expect(c.length).toBe(2 * 19);
        expect(Array.from(c).every((v) => v === expected), `${lvl} signed=${signed}`).toBe(true);
      }
    }
  });

  it('wraps identically at K = 65536 with zero points at the ends', () => {
    const rng = new Rng(203);
    for (const signed of [false, true]) {
      const c = makeCase(rng, 2, 17, GEMM_S8_MAX_K, signed);
      c.za = signed ? 127 : 255;
      c.zw = -128;
      const want = withIsa('ref', () => runActive(c, 'int32'));
      sameBits(withIsa(level, () => runActive(c, 'int32')), want, `${level} K=65536 wrap signed=${signed}`);
    }
  });

  it('packs for the active kernel and reports its metadata', () => {
    const w = new Int8Array(37 * 19);
    const packed = withIsa(level, () => packWeights(w, 37, 19));
    expect(packed).toBeInstanceOf(PackedWeights);
    expect(packed.n).toBe(37);
    expect(packed.k).toBe(19);
    expect(packed.layout).toBe(level); // every SIMD level has its own int8 GEMM kernel and layout
    expect(native._kernelsFor(level).gemm_u8s8.endsWith(`_${packed.layout}`)).toBe(true);
    expect(packed.byteLength).toBeGreaterThanOrEqual(37 * 19 + 37 * 4);
    expect(packed.byteLength % 64).toBe(0);
  });
});

describe('gemmS8: threads and async', () => {
  const saved = getNumThreads();
  afterAll(() => setNumThreads(saved));

  it('gives identical bits for 1, 2 and 3 threads', () => {
    const rng = new Rng(204);
    for (const signed of [false, true]) {
      const c = makeCase(rng, 67, 133, 1031, signed, 2); // 9.2M MACs: above the driver's serial cutoff (8M)
      for (const output of OUTPUTS) {
        setNumThreads(1);
        const one = runActive(c, output);
        setNumThreads(2);
        const two = runActive(c, output);
        setNumThreads(3);
        const three = runActive(c, output);
        sameBits(two, one, `threads 2 vs 1 ${output}`);
        sameBits(three, one, `threads 3 vs 1 ${output}`);
      }
    }
  });

  it('async form gives the same bits as the sync form on every level', async () => {
    const rng = new Rng(205);
    for (const level of ['ref', ...simdLevels]) {
      await withIsaAsync(level, async () => {
        const c = makeCase(rng, 23, 45, 77, level.length % 2 === 0, 1);
        const packed = packWeights(c.w, c.n, c.k, { ldw: c.ldw });
        for (const output of OUTPUTS) {
          const sync = gemmS8(c.a, c.m, packed, options(c, output) as never) as unknown as ArrayLike<number>;
          const asyncOut = (await gemmS8Async(c.a, c.m, packed, options(c, output) as never)) as unknown as ArrayLike<number>;
          expect(asyncOut.constructor).toBe(sync.constructor);
          sameBits(Array.from(asyncOut), Array.from(sync), `${level} async ${output}`);
        }
      });
    }
  });

  it('returns the output type named by `output` and allocates m·ldc elements', () => {
    const w = new Int8Array(5 * 3).fill(1);
    const packed = packWeights(w, 5, 3);
    const a = new Uint8Array(2 * 3).fill(2);
    const i32: Int32Array = gemmS8(a, 2, packed);
    const f32: Float32Array = gemmS8(a, 2, packed, { output: 'float32', aScale: 0.5, wScale: 0.25 });
    const u8: Uint8Array = gemmS8(a, 2, packed, { output: 'uint8', outScale: 1, outZeroPoint: 3 });
    const s8: Int8Array = gemmS8(a, 2, packed, { output: 'int8', outScale: 2, outZeroPoint: -3, ldc: 7 });
    expect(Array.from(i32)).toEqual(new Array(10).fill(6));
    expect(Array.from(f32)).toEqual(new Array(10).fill(0.75));
    expect(Array.from(u8)).toEqual(new Array(10).fill(9));
    expect(s8.length).toBe(14);
    expect(Array.from(s8.subarray(0, 5))).toEqual(new Array(5).fill(0));
  });

  it('zero-sized products are no-ops', () => {
    const packed = packWeights(new Int8Array(0), 0, 4);
    expect(gemmS8(new Uint8Array(8), 2, packed).length).toBe(0);
    const p2 = packWeights(new Int8Array(0), 3, 0);
    const out = new Int32Array(6).fill(7);
    gemmS8(new Uint8Array(0), 2, p2, { aZeroPoint: 200, wZeroPoint: -5, out });
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]); // K = 0: an empty sum, written
    expect(gemmS8(new Uint8Array(0), 0, packWeights(new Int8Array(12), 3, 4)).length).toBe(0);
  });
});
