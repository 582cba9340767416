/**
 * MaxPool2d on quantized activations: quantization `q(x) = clamp(roundHalfEven(x / s) + z)` is non-decreasing, so the
 * maximum of codes is the code of the maximum — pooling the codes gives the bits of pooling the floats and quantizing
 * afterwards. A static int8 chain can therefore run Conv2d → ReLU → MaxPool2d → Conv2d without leaving the codes (the
 * windows are clipped to the image: zero-padding windows never win, like the float pool's −∞ padding).
 */
import { windowOut } from '../../nn/conv2d';
import { maxPoolWindows, type MaxPool2d } from '../../nn/pool';
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
  maxPoolWindows(x, y, null, N * C, H, W, Ho, Wo, k, s, pad);
  return new QTensor(y, [N, C, Ho, Wo], v.params);
}
