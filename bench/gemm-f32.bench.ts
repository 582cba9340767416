/**
 * fp32 GEMM on the Linear-layer training shapes (batch 128, 784 → 256): distiq at every ISA level this CPU runs,
 * against a straightforward TypeScript triple loop (the peer).
 *   npx vitest bench --run bench/gemm-f32.bench.ts
 * (The native comparison against OpenBLAS lives outside the test/bench suite: it needs a BLAS library.)
 */
import { bench, describe } from 'vitest';

import { gemmF32 } from '../lib';
import { native } from '../lib/native';
import { Rng } from '../test/helpers/rng';

const batch = 128, inF = 784, outF = 256;
const rng = new Rng(3);
const x = new Float32Array(batch * inF).map(() => rng.uniform(-1, 1));
const w = new Float32Array(outF * inF).map(() => rng.uniform(-1, 1));
const dy = new Float32Array(batch * outF).map(() => rng.uniform(-1, 1));
const y = new Float32Array(batch * outF);
const dx = new Float32Array(batch * inF);
const dw = new Float32Array(outF * inF);

/** The peer: y = x·Wᵀ with a plain loop (float64 accumulation, the obvious TypeScript). */
function forwardTs(): void {
  for (let i = 0; i < batch; i++) {
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let q = 0; q < inF; q++) s += x[i * inF + q]! * w[o * inF + q]!;
      y[i * outF + o] = s;
    }
  }
}

const gflop = (2 * batch * inF * outF) / 1e9;
describe(`fp32 GEMM, ${gflop.toFixed(3)} GFLOP each, ${native.getNumThreads()} threads`, () => {
  for (const level of native.cpuInfo().available) {
    bench(`distiq ${level}: y = x·Wᵀ`, () => {
      native._setIsa(level);
      gemmF32(x, w, batch, outF, inF, { transB: true, out: y });
    });
    bench(`distiq ${level}: dX = dY·W`, () => {
      native._setIsa(level);
      gemmF32(dy, w, batch, inF, outF, { out: dx });
    });
    bench(`distiq ${level}: dW = dYᵀ·x`, () => {
      native._setIsa(level);
      gemmF32(dy, x, outF, inF, batch, { transA: true, out: dw });
    });
  }
  bench('plain TypeScript: y = x·Wᵀ', forwardTs, { iterations: 3 });
});
