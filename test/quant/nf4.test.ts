/**
 * The NF4 table, computed in lib/quant/mapping/nf4.ts from its definition (QLoRA, arXiv:2305.14314), against the
 * values published with the paper's reference implementation (bitsandbytes), bit for bit; the normal quantile it
 * uses against known values.
 */
import { describe, expect, it } from 'vitest';

import { NF4_MAX_HALF_GAP, NF4_TABLE, nf4Code, normalQuantile } from '../../lib/quant/mapping/nf4';

// As published (float32 values printed to float64 precision).
const PUBLISHED = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635, -0.18477343022823334,
  -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

describe('NF4', () => {
  it('the derived table equals the published one bit for bit', () => {
    expect(Array.from(NF4_TABLE)).toEqual(PUBLISHED);
  });

  it('normalQuantile matches known quantiles of N(0, 1)', () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 14);
    expect(normalQuantile(0.8413447460685429)).toBeCloseTo(1, 13);
    expect(normalQuantile(0.9986501019683699)).toBeCloseTo(3, 12);
  });

  it('codes are the nearest level; the bound is half the widest gap', () => {
    expect(NF4_MAX_HALF_GAP).toBeCloseTo((1 - 0.6961928009986877) / 2, 7);
    for (let v = -1.2; v <= 1.2; v += 0.001) {
      let best = 0;
      for (let j = 1; j < 16; j++) if (Math.abs(v - NF4_TABLE[j]!) < Math.abs(v - NF4_TABLE[best]!)) best = j;
      expect(nf4Code(v)).toBe(best);
    }
    expect(nf4Code(0)).toBe(7);
    expect(NF4_TABLE[7]).toBe(0);
  });
});
