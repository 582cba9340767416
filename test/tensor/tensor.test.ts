import { describe, expect, it } from 'vitest';

import { Rng, Tensor, resolveShape, shapeSize, stridesOf } from '../../lib';
import { scratch } from '../../lib/tensor/tensor';

describe('Tensor', () => {
  it('wraps data without copying and checks the size', () => {
    const d = new Float32Array(6);
    const t = new Tensor(d, [2, 3]);
    expect(t.data).toBe(d);
    expect(t.size).toBe(6);
    expect(t.rank).toBe(2);
    expect(t.dim(-1)).toBe(3);
    expect(() => new Tensor(d, [4, 2])).toThrow(/Expected data.length to equal 8/);
    expect(() => new Tensor(d, [2, -3])).toThrow(/integers >= 0/);
    expect(() => new Tensor([1, 2] as unknown as Float32Array, [2])).toThrow(/must be a Float32Array/);
  });

  it('reshape and slice are views', () => {
    const t = Tensor.from([0, 1, 2, 3, 4, 5], [2, 3]);
    const r = t.reshape([3, -1]);
    expect(r.shape).toEqual([3, 2]);
    r.data[5] = 42;
    expect(t.data[5]).toBe(42);
    const s = t.slice(1, 2);
    expect(s.shape).toEqual([1, 3]);
    s.data[0] = -1;
    expect(t.data[3]).toBe(-1);
    expect(() => t.reshape([4, -1])).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_SHAPE_MISMATCH' }));
    expect(() => t.reshape([-1, -1])).toThrow(/one -1/);
    expect(() => t.slice(1, 3)).toThrow(/end <= 2/);
    expect(t.clone().data).not.toBe(t.data);
  });

  it('argmax picks the first maximum of each row', () => {
    expect(Array.from(Tensor.from([1, 3, 3, -1, -5, -2], [2, 3]).argmax())).toEqual([1, 0]);
  });

  it('shape helpers', () => {
    expect(shapeSize([])).toBe(1);
    expect(shapeSize([2, 0, 5])).toBe(0);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(resolveShape([-1], 12, [3, 4])).toEqual([12]);
    expect(() => shapeSize([2 ** 30, 2 ** 30, 2 ** 30])).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_LIMIT_EXCEEDED' }));
  });

  it('scratch reuses a large enough buffer', () => {
    const cache = { buf: new Float32Array(0) };
    const a = scratch(cache, [4, 5]);
    const b = scratch(cache, [2, 5]);
    expect(b.data.buffer).toBe(a.data.buffer);
    expect(b.size).toBe(10);
    expect(scratch(cache, [2, 5])).toBe(b);
    expect(scratch(cache, [5, 2])).not.toBe(b);
    const c = scratch(cache, [5, 5]);
    expect(c.data.buffer).not.toBe(a.data.buffer);
  });
});

describe('Rng (xoshiro128**)', () => {
  it('matches the reference algorithm from state {1, 2, 3, 4}', () => {
    // Worked by hand from the reference C code: out = rotl(s1·5, 7)·9, then the state update.
    const r = new Rng(0).setState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4], spare: null });
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([11520, 0, 5927040]);
  });

  it('is deterministic per seed, and different across seeds', () => {
    const a = new Rng(7), b = new Rng(7), c = new Rng(8);
    const xa = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xa);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xa);
  });

  it('state round-trips, including a pending normal', () => {
    const r = new Rng(123);
    r.normal();
    const st = JSON.parse(JSON.stringify(r.getState()));
    const want = [r.normal(), r.normal(), r.uniform(), r.below(10)];
    const q = new Rng(0).setState(st);
    expect([q.normal(), q.normal(), q.uniform(), q.below(10)]).toEqual(want);
    expect(() => q.setState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0], spare: null })).toThrow(/all be 0/);
    expect(() => q.setState({ s: [1] } as never)).toThrow(/RngState/);
  });

  it('uniform, below and normal have the right moments', () => {
    const r = new Rng(99);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0;
    const counts = new Array<number>(7).fill(0);
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      if (!(u >= 0 && u < 1)) outside++;
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
      counts[r.below(7)]!++;
    }
    expect(outside).toBe(0);
    expect(Math.abs(su / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(sn / n)).toBeLessThan(0.01);
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(0.02);
    for (const c of counts) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.005);
  });

  it('shuffle is a permutation', () => {
    const a = Int32Array.from({ length: 100 }, (_, i) => i);
    new Rng(5).shuffle(a);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
