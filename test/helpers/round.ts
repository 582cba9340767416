/** Round half to even, the one rounding rule of distiq (C++ nearbyintf, SIMD, and this TS reference). */
export function roundHalfEven(x: number): number {
  if (!Number.isFinite(x)) return x;
  const r = Math.round(x); // rounds .5 towards +Infinity
  if (Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
