/**
 * The seeded random generator of distiq: xoshiro128** 1.1 (Blackman & Vigna, 2018; 32-bit output, period 2^128 − 1)
 * with its 128-bit state filled from the seed by splitmix32 (the 32-bit variant of SplitMix, increment 0x9e3779b9
 * and the murmur3 finalizer). Derived draws:
 * - `uniform()`: the top 24 bits of one output × 2^-24, in [0, 1) (exactly representable as float32);
 * - `below(n)`: an unbiased integer in [0, n) by rejection (n ≤ 2^32);
 * - `normal()`: Box–Muller on two 32-bit draws, u1 = (a + 0.5)·2^-32 ∈ (0, 1), u2 = b·2^-32; the second value of each
 *   pair is kept in the state and returned by the next call.
 * `getState()`/`setState()` capture everything (the four words and the pending normal), so a checkpointed run
 * continues with the same numbers.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { describe, expectInteger } from '../validate';

export interface RngState {
  algorithm: 'xoshiro128**';
  /** The four state words, uint32. */
  s: [number, number, number, number];
  /** The pending second normal of a Box–Muller pair, or null. */
  spare: number | null;
}

function splitmix32(seed: number): () => number {
  let z = seed >>> 0;
  return () => {
    z = (z + 0x9e3779b9) >>> 0;
    let x = z;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return (x ^ (x >>> 16)) >>> 0;
  };
}

export class Rng {
  /** State words, exposed for hot loops that inline the generator (see Dropout); treat as private otherwise. */
  s0 = 0;
  s1 = 0;
  s2 = 0;
  s3 = 0;
  private spare: number | null = null;

  /** `seed`: an integer in [0, 2^32). */
  constructor(seed = 0) {
    expectInteger('seed', seed, 0, 0xffffffff);
    const next = splitmix32(seed);
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s3 = 1;
  }

  /** Uniform uint32. */
  nextU32(): number {
    const s1 = this.s1;
    const m = Math.imul(s1, 5);
    const r = Math.imul((m << 7) | (m >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return r;
  }

  /** Uniform in [0, 1) with 24 random bits. */
  uniform(): number {
    return (this.nextU32() >>> 8) * 5.9604644775390625e-8;
  }

  /** Unbiased integer in [0, n), 1 ≤ n ≤ 2^32. */
  below(n: number): number {
    if (!(n >= 1 && n <= 4294967296) || !Number.isInteger(n)) {
      throw new DistiqRangeError(`The "n" argument must be an integer in [1, 4294967296]. Received ${n}`);
    }
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /** Standard normal N(0, 1) (Box–Muller, see the module comment). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const u1 = (this.nextU32() + 0.5) * 2.3283064365386963e-10;
    const u2 = this.nextU32() * 2.3283064365386963e-10;
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Fills `out` with uniform values in [lo, hi). */
  fillUniform(out: Float32Array, lo = 0, hi = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /** Fills `out` with normal values of mean `mean` and standard deviation `std`. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Shuffles `a` in place (Fisher–Yates, from the end, with `below`). */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** An independent generator seeded from this one's next output (for giving each layer its own stream). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }

  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare };
  }

  setState(state: RngState): this {
    if (state === null || typeof state !== 'object' || state.algorithm !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new DistiqTypeError(`The "state" argument must be an RngState of xoshiro128**. Received ${describe(state)}`);
    }
    for (let i = 0; i < 4; i++) expectInteger(`state.s[${i}]`, state.s[i], 0, 0xffffffff);
    if (state.spare !== null && typeof state.spare !== 'number') {
      throw new DistiqTypeError(`The "state.spare" argument must be a number or null. Received ${describe(state.spare)}`);
    }
    if ((state.s[0] | state.s[1] | state.s[2] | state.s[3]) === 0) {
      throw new DistiqRangeError('The "state.s" words must not all be 0 (xoshiro128** would stay at 0)');
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s;
    this.spare = state.spare;
    return this;
  }
}
