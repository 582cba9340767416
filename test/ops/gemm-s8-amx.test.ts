/**
 * int8 GEMM through the public API at the edges of the AMX kernel (16-row tiles, 32 × 32 micro-tiles, K in tiles of
 * 64 bytes): every M from 1 to 17 and around 32, N around one and two 16-column tiles, K around 64, u8×s8 and s8×s8,
 * each level this CPU runs (the `amx` level where the CPU has AMX tiles) against `ref`, bit for bit, int32 and
 * requantized outputs. The broader random grid is in gemm-s8.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { cpuInfo, gemmS8, packWeights } from '../../lib/index';
import { native } from '../../lib/native';
import { simdLevels, withIsa } from '../helpers/isa';
import { Rng, seedNote } from '../helpers/rng';

function data(rng: Rng, m: number, n: number, k: number, signed: boolean) {
  const a = signed ? rng.int8Array(m * k) : Uint8Array.from({ length: m * k }, () => rng.int(0, 255));
  const w = rng.int8Array(n * k);
  return { a, w, za: signed ? rng.int(-128, 127) : rng.int(0, 255), zw: rng.int(-128, 127) };
}

function run(level: string, d: ReturnType<typeof data>, m: number, n: number, k: number, requant: boolean) {
  return withIsa(level, () => {
    const packed = packWeights(d.w, n, k);
    const opts = { aZeroPoint: d.za, wZeroPoint: d.zw };
    if (!requant) return gemmS8(d.a, m, packed, { ...opts, output: 'int32' as const });
    return gemmS8(d.a, m, packed, { ...opts, output: 'int8' as const, aScale: 0.02, wScale: 0.01, outScale: 0.5 + k / 100 });
  });
}

describe('gemmS8 at the AMX tile edges', () => {
  it('offers the amx level exactly when the CPU reports AMX-TILE and AMX-INT8 (OS permission granted)', () => {
    const info = cpuInfo();
    const amx = info.features.includes('amx_tile') && info.features.includes('amx_int8');
    expect(info.available.includes('amx')).toBe(amx && info.available.includes('avx512vnni'));
    if (info.available.includes('amx')) {
      expect(native._kernelsFor('amx').gemm_u8s8).toBe('gemm_u8s8s32_amx');
      expect(native._kernelsFor('amx').gemm_s8s8).toBe('gemm_s8s8s32_amx');
      // other ops fall back per op to the level below
      expect(native._kernelsFor('amx').gemm_f32).toBe(native._kernelsFor('avx512vnni').gemm_f32);
    }
  });

  for (const level of simdLevels) {
    it(`${level}: M 1..17 and 31..33, N 1/15/16/17/31/32/33/48, K around 64 equal ref`, () => {
      const rng = new Rng(7301);
      const ms = [...Array.from({ length: 17 }, (_, i) => i + 1), 31, 32, 33];
      const ns = [1, 15, 16, 17, 31, 32, 33, 48];
      const ks = [1, 4, 63, 64, 65, 127, 128, 129];
      let cases = 0;
      for (const m of ms) {
        const n = ns[m % ns.length]!;
        const k = ks[m % ks.length]!;
        for (const signed of [false, true]) {
          const d = data(rng, m, n, k, signed);
          for (const requant of [false, true]) {
            const want = run('ref', d, m, n, k, requant);
            const got = run(level, d, m, n, k, requant);
            expect(Array.from(got), `${level} m=${m} n=${n} k=${k} signed=${signed} requant=${requant} ${seedNote()}`).toEqual(Array.from(want));
            cases++;
          }
        }
      }
      expect(cases).toBe(ms.length * 4);
    });
  }
});
