/**
 * im2col for the quantized convolution: x [N, C, H, W] (row-major, any element type) → rows [N·Ho·Wo, K] with
 * K = C·kh·kw in (c, i, j) order — the order of a Conv2d weight [Cout, Cin, kh, kw] seen as [Cout, K] — so that
 * `rows · Wᵀ` is the convolution in NHWC order. Positions in the zero padding get `padValue` (the activation's zero
 * point for codes: the code of 0.0).
 */
export interface ConvGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  k: number;
  stride: number;
  pad: number;
  Ho: number;
  Wo: number;
}

type Arr = Float32Array | Uint8Array | Int8Array;

export function im2col<T extends Arr>(x: T, g: ConvGeometry, padValue: number, out: T): T {
  const { N, C, H, W, k, stride, pad, Ho, Wo } = g;
  const K = C * k * k;
  let r = 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++, r++) {
        let d = r * K;
        const h0 = oh * stride - pad, w0 = ow * stride - pad;
        const inside = w0 >= 0 && w0 + k <= W;
        for (let c = 0; c < C; c++) {
          const plane = (n * C + c) * H * W;
          for (let i = 0; i < k; i++) {
            const ih = h0 + i;
            if (ih < 0 || ih >= H) {
              out.fill(padValue, d, d + k);
              d += k;
              continue;
            }
            const src = plane + ih * W + w0;
            if (inside) {
              for (let j = 0; j < k; j++) out[d + j] = x[src + j]!;
            } else {
              for (let j = 0; j < k; j++) {
                const iw = w0 + j;
                out[d + j] = iw >= 0 && iw < W ? x[src + j]! : padValue;
              }
            }
            d += k;
          }
        }
      }
    }
  }
  return out;
}

/** [N, P, Co] (NHWC rows of the GEMM) → [N, Co, P] (NCHW). */
export function nhwcToNchw<T extends Arr>(c: T, N: number, P: number, Co: number, out: T): T {
  for (let n = 0; n < N; n++) {
    const src = n * P * Co, dst = n * Co * P;
    for (let p = 0; p < P; p++) {
      const row = src + p * Co;
      for (let o = 0; o < Co; o++) out[dst + o * P + p] = c[row + o]!;
    }
  }
  return out;
}
