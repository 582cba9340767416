/**
 * Folding an eval-mode BatchNorm into the Linear / Conv2d before it: with inv[o] = γ[o] / √(var[o] + ε),
 *   W'[o, :] = W[o, :]·inv[o],   b'[o] = (b[o] − mean[o])·inv[o] + β[o]   (b = 0 without a bias; γ = 1, β = 0 without affine)
 * computed in float64 and rounded once to float32. The folded layer equals the pair up to float32 rounding (not
 * bit-identical to running both: the pair rounds twice).
 */
import type { BatchNorm1d, BatchNorm2d } from '../nn/norm';

export function foldBatchNorm(w: Float32Array, b: Float32Array | null, n: number, bn: BatchNorm1d | BatchNorm2d): { weight: Float32Array; bias: Float32Array } {
  const k = w.length / n;
  const weight = new Float32Array(w.length), bias = new Float32Array(n);
  const mean = bn.runningMean.data, variance = bn.runningVar.data;
  const gamma = bn.weight?.data ?? null, beta = bn.bias?.data ?? null;
  for (let o = 0; o < n; o++) {
    const inv = (gamma === null ? 1 : gamma[o]!) / Math.sqrt(variance[o]! + bn.eps);
    for (let j = 0, r = o * k; j < k; j++) weight[r + j] = w[r + j]! * inv;
    bias[o] = ((b === null ? 0 : b[o]!) - mean[o]!) * inv + (beta === null ? 0 : beta[o]!);
  }
  return { weight, bias };
}
