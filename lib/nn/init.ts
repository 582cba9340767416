/**
 * Seeded initializers (PyTorch's formulas; fan_in/fan_out as for a Linear weight [out, in] or a Conv2d weight
 * [out, in, kh, kw]: fan_in = in·kh·kw, fan_out = out·kh·kw).
 *
 * - `kaimingUniform(p, rng, fanIn, gain)`: U(−b, b), b = gain·√(3/fan_in); gain defaults to √2 (ReLU).
 * - `kaimingNormal`: N(0, (gain/√fan_in)²).
 * - `xavierUniform(p, rng, fanIn, fanOut, gain = 1)`: U(−b, b), b = gain·√(6/(fan_in+fan_out)); `xavierNormal`:
 *   N(0, gain²·2/(fan_in+fan_out)).
 * - `torchDefaultInit(weight, bias, rng, fanIn)`: what torch.nn.Linear/Conv2d do at construction
 *   (kaiming_uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in), for the weight, and the same bound for the bias).
 * Values are drawn with `rng.uniform()` / `rng.normal()` in storage order.
 */
import type { Rng } from '../tensor/random';

export function uniformInit(data: Float32Array, rng: Rng, bound: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.uniform() - 1) * bound;
}

export function normalInit(data: Float32Array, rng: Rng, std: number): void {
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
}

export function kaimingUniform(data: Float32Array, rng: Rng, fanIn: number, gain = Math.SQRT2): void {
  uniformInit(data, rng, gain * Math.sqrt(3 / Math.max(fanIn, 1)));
}

export function kaimingNormal(data: Float32Array, rng: Rng, fanIn: number, gain = Math.SQRT2): void {
  normalInit(data, rng, gain / Math.sqrt(Math.max(fanIn, 1)));
}

export function xavierUniform(data: Float32Array, rng: Rng, fanIn: number, fanOut: number, gain = 1): void {
  uniformInit(data, rng, gain * Math.sqrt(6 / Math.max(fanIn + fanOut, 1)));
}

export function xavierNormal(data: Float32Array, rng: Rng, fanIn: number, fanOut: number, gain = 1): void {
  normalInit(data, rng, gain * Math.sqrt(2 / Math.max(fanIn + fanOut, 1)));
}

/** torch.nn.Linear / Conv2d construction-time init: weight and bias ~ U(−1/√fan_in, 1/√fan_in). */
export function torchDefaultInit(weight: Float32Array, bias: Float32Array | null, rng: Rng, fanIn: number): void {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniformInit(weight, rng, bound);
  if (bias) uniformInit(bias, rng, bound);
}
