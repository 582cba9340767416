/**
 * MaxPool2d on quantized activations: quantization `q(x) = clamp(roundHalfEven(x / s) + z)` is non-decreasing, so the
 * maximum of codes is the code of the maximum — pooling the codes gives the bits of pooling the floats and quantizing
 * afterwards. A static int8 chain can therefore run Conv2d → ReLU → MaxPool2d → Conv2d without leaving the codes (the
 * windows are clipped to the image: zero-padding windows never win, like the float pool's −∞ padding).
 */
import { windowOut } from '../../nn/conv2d';
import type { MaxPool2d } from '../../nn/pool';
import { QTensor } from './qtensor';

/** The pooled codes, or null when the shape does not fit (the float layer then reports the error). */
export function maxPoolCodes(v: QTensor, pool: MaxPool2d): QTensor | null {
  if (v.shape.length !== 4) return null;
  const [N, C, H, W] = v.shape as [number, number, number, number];
  const k = pool.kernelSize, s = pool.stride, pad = pool.padding;
  const Ho = windowOut(H, k, s, pad), Wo = windowOut(W, k, s, pad);
  if (Ho < 1 || Wo < 1) return null;
  const x = v.data;
  const y = x instanceof Uint8Array ? new Uint8Array(N * C * Ho * Wo) : new Int8Array(N * C * Ho * Wo);
  let o = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const p0 = plane * H * W;
    for (let oh = 0; oh < Ho; oh++) {
      const i0 = Math.max(0, oh * s - pad), i1 = Math.min(H, oh * s - pad + k);
      for (let ow = 0; ow < Wo; ow++, o++) {
        const j0 = Math.max(0, ow * s - pad), j1 = Math.min(W, ow * s - pad + k);
        let best = x[p0 + i0 * W + j0]!;
        for (let ih = i0; ih < i1; ih++) {
          for (let idx = p0 + ih * W + j0, end = p0 + ih * W + j1; idx < end; idx++) if (x[idx]! > best) best = x[idx]!;
        }
        y[o] = best;
      }
    }
  }
  return new QTensor(y, [N, C, Ho, Wo], v.params);
}
