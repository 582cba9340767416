/**
 * Distillation loss + gradient on [256 × 32000] (a language-model vocabulary), dense teacher and labels, T = 2,
 * α = 0.5: distiq at every ISA level this CPU runs, against a straightforward TypeScript implementation (the peer).
 *   npx vitest bench --run bench/softmax-kl.bench.ts
 */
import { bench, describe } from 'vitest';

import { distillationLoss } from '../lib';
import { native } from '../lib/native';
import { Rng } from '../test/helpers/rng';

const rows = 256;
const cols = 32000;
const rng = new Rng(42);
const student = new Float32Array(rows * cols).map(() => 3 * rng.normal());
const teacher = new Float32Array(rows * cols).map(() => 3 * rng.normal());
const labels = Int32Array.from({ length: rows }, () => rng.int(0, cols - 1));
const grad = new Float32Array(rows * cols);
const options = { rows, cols, teacher, labels, temperature: 2, alpha: 0.5, grad };

/** The peer: the same math, one row at a time, in plain TypeScript (float64 scalars, float32 arrays). */
function distillationLossTs(s: Float32Array, t: Float32Array, y: Int32Array, T: number, alpha: number, g: Float32Array): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ms = -Infinity, mt = -Infinity;
    for (let i = 0; i < cols; i++) {
      ms = Math.max(ms, s[o + i]!);
      mt = Math.max(mt, t[o + i]!);
    }
    let za = 0, zb = 0, z1 = 0, w = 0;
    for (let i = 0; i < cols; i++) {
      const a = s[o + i]! / T, b = t[o + i]! / T;
      const eb = Math.exp(b - mt / T);
      za += Math.exp(a - ms / T);
      zb += eb;
      z1 += Math.exp(s[o + i]! - ms);
      w += eb * (b - a);
    }
    const kl = w / zb + (ms - mt) / T + Math.log(za) - Math.log(zb);
    total += alpha * T * T * kl + (1 - alpha) * (ms + Math.log(z1) - s[o + y[r]!]!);
    for (let i = 0; i < cols; i++) {
      const p = Math.exp(s[o + i]! / T - ms / T) / za, q = Math.exp(t[o + i]! / T - mt / T) / zb;
      const p1 = Math.exp(s[o + i]! - ms) / z1 - (i === y[r] ? 1 : 0);
      g[o + i] = (alpha * T * (p - q) + (1 - alpha) * p1) / rows;
    }
  }
  return total / rows;
}

describe(`distillation loss + gradient [${rows} x ${cols}], ${native.getNumThreads()} threads`, () => {
  for (const level of native.cpuInfo().available) {
    bench(`distiq ${level}`, () => {
      native._setIsa(level);
      distillationLoss(student, options);
    });
  }
  bench('plain TypeScript', () => {
    distillationLossTs(student, teacher, labels, 2, 0.5, grad);
  }, { iterations: 3 });
});
