/**
 * An independent TypeScript reference of the int4 weight-only GEMM contract (native/include/distiq/gemm_s4.h),
 * evaluated from the unpacked codes in float64 with an exactly rounded float32 FMA, so it must match the native
 * `ref` level bit for bit. Also the symmetric RTN weight quantizer (quantize_s4_rtn).
 */
import { roundHalfEven } from './round';

const f64 = new Float64Array(1);
const bits = new BigInt64Array(f64.buffer);

/**
 * fmaf(a, b, c) for float32 a, b, c when a·b is exact in float64 (|a| an integer < 2^29, or both float32): the sum is
 * rounded to double with round-to-odd (TwoSum error decides the sticky bit), then to float32 — correct because
 * double carries more than 24 + 2 bits.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  if (!Number.isFinite(s)) return Math.fround(s);
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0) return Math.fround(s);
  f64[0] = s;
  if ((bits[0]! & 1n) === 0n) bits[0] = bits[0]! + ((err > 0) === (s > 0) ? 1n : -1n);  // towards the exact value
  return Math.fround(f64[0]!);
}

/** Code e of row j (DESIGN §3 storage) as an integer: signed [−8, 7] or unsigned [0, 15]. */
export function codeAt(codes: Uint8Array, k: number, j: number, e: number, signed: boolean): number {
  const byte = codes[j * Math.ceil(k / 2) + (e >> 1)]!;
  const nib = (e & 1) === 1 ? byte >> 4 : byte & 0x0f;
  return signed && nib >= 8 ? nib - 16 : nib;
}

/** Per-row symmetric int8 of x [m, k] (row stride lda): values and scales, exactly as the kernels quantize. */
export function quantizeRows(x: Float32Array, m: number, k: number, lda: number): { a: Int32Array; scale: Float32Array } {
  const a = new Int32Array(m * k);
  const scale = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    let amax = 0;
    for (let e = 0; e < k; e++) amax = Math.max(amax, Math.abs(x[i * lda + e]!));
    const s = Math.fround(amax / 127);
    scale[i] = s;
    if (s > 0) {
      for (let e = 0; e < k; e++) a[i * k + e] = Math.min(127, Math.max(-127, roundHalfEven(Math.fround(x[i * lda + e]! / s))));
    }
  }
  return { a, scale };
}

export interface RefS4Weights {
  n: number;
  k: number;
  groupSize: number;
  codes: Uint8Array;
  scales: Float32Array;
  zeroPoints: Int32Array | null;
  signed: boolean;
}

/** y [m, n] (dense) of the contract. */
export function refGemmS4(x: Float32Array, m: number, lda: number, w: RefS4Weights, bias: Float32Array | null): Float32Array {
  const { n, k, groupSize } = w;
  const groups = k === 0 ? 0 : Math.ceil(k / groupSize);
  const { a, scale } = quantizeRows(x, m, k, lda);
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let g = 0; g < groups; g++) {
        const z = w.zeroPoints === null ? 0 : w.zeroPoints[j * groups + g]!;
        let dot = 0;
        for (let e = g * groupSize; e < Math.min(k, (g + 1) * groupSize); e++) {
          dot += a[i * k + e]! * (codeAt(w.codes, k, j, e, w.signed) - z);
        }
        acc = fmaf(Math.fround(dot), w.scales[j * groups + g]!, acc);
      }
      y[i * n + j] = fmaf(acc, scale[i]!, bias === null ? 0 : bias[j]!);
    }
  }
  return y;
}

/** Symmetric RTN int4 per group (quantize_s4_rtn): codes (pad nibble 0) and scales. */
export function refQuantizeS4(w: Float32Array, n: number, k: number, ldw: number, groupSize: number): { codes: Uint8Array; scales: Float32Array } {
  const groups = k === 0 ? 0 : Math.ceil(k / groupSize);
  const rowBytes = Math.ceil(k / 2);
  const codes = new Uint8Array(n * rowBytes);
  const scales = new Float32Array(n * groups);
  for (let j = 0; j < n; j++) {
    for (let g = 0; g < groups; g++) {
      const e1 = Math.min(k, (g + 1) * groupSize);
      let amax = 0;
      for (let e = g * groupSize; e < e1; e++) amax = Math.max(amax, Math.abs(w[j * ldw + e]!));
      const s = amax > 0 && Math.fround(amax / 7) > 0 ? Math.fround(amax / 7) : 1;
      scales[j * groups + g] = s;
      for (let e = g * groupSize; e < e1; e++) {
        const q = Math.min(7, Math.max(-7, roundHalfEven(Math.fround(w[j * ldw + e]! / s))));
        const b = j * rowBytes + (e >> 1);
        codes[b] = codes[b]! | ((q & 0x0f) << ((e & 1) * 4));
      }
    }
  }
  return { codes, scales };
}
