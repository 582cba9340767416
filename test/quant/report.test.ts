/**
 * quantReport (lib/quant/report.ts): the figures are what they claim — accuracies from the user's function on each
 * model's predict, sizes equal to the files saveModel / saveQuantized write, a latency per batch size, per-layer
 * SQNR and weight errors recomputed here from the models (with a folded BatchNorm); the table renders every figure.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DistiqRangeError, DistiqTypeError } from '../../lib/errors';
import { saveModel } from '../../lib/io/model-file';
import { ReLU } from '../../lib/nn/activations';
import { Linear } from '../../lib/nn/linear';
import { BatchNorm1d } from '../../lib/nn/norm';
import { Sequential } from '../../lib/nn/sequential';
import { quantize } from '../../lib/quant/ptq';
import { formatQuantReport, quantReport } from '../../lib/quant/report';
import { saveQuantized } from '../../lib/quant/runtime/quantized-file';
import { QuantScheme } from '../../lib/quant/scheme';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { Tensor } from '../../lib/tensor/tensor';
import { expectError } from '../helpers/expect-error';
import { Rng } from '../helpers/rng';

function randn(rng: Rng, shape: number[]): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal();
  return t;
}

describe('quantReport', () => {
  const rng = new Rng(41);
  const trng = new TensorRng(42);
  const bn = new BatchNorm1d(16);
  bn.runningVar.data.fill(2);
  bn.runningMean.data.fill(0.1);
  const model = new Sequential(new Linear(24, 16, { rng: trng }), bn, new ReLU(), new Linear(16, 5, { rng: trng }));
  const sample = randn(rng, [10, 24]);
  const cal = [randn(rng, [32, 24])];

  it('reports accuracy, sizes, latencies and per-layer errors that match the models', () => {
    const q = quantize(model.eval(), {
      calibration: cal, int4Scales: 'float32', overrides: { '3': { weights: { dtype: 'int4', symmetric: true, groupSize: 8 }, activations: 'float' } },
    });
    model.train();
    const seen: string[] = [];
    const labels = Int32Array.from({ length: 10 }, (_, i) => i % 5);
    const evaluate = (predict: (x: Tensor) => Tensor): number => {
      const p = predict(sample).argmax();
      seen.push(String(p.length));
      return p.reduce((c, v, i) => c + (v === labels[i] ? 1 : 0), 0) / p.length;
    };
    const r = quantReport(model, q, { sample, evaluate, batchSizes: [1, 7, 33], repeats: 3, warmup: 1 });
    expect(model.training).toBe(true); // restored
    expect(seen).toEqual(['10', '10']);
    model.eval();
    expect(r.float.accuracy).toBe(evaluate((x) => model.forward(x)));
    expect(r.quantized.accuracy).toBe(evaluate((x) => q.predict(x)));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-rep-'));
    saveModel(path.join(dir, 'f'), model);
    saveQuantized(path.join(dir, 'q'), q);
    expect(r.float.bytes).toBe(fs.statSync(path.join(dir, 'f')).size);
    expect(r.quantized.bytes).toBe(fs.statSync(path.join(dir, 'q')).size);
    fs.rmSync(dir, { recursive: true });
    expect(r.sizeRatio).toBeCloseTo(r.quantized.bytes / r.float.bytes, 12);
    for (const m of [r.float, r.quantized]) {
      expect(Object.keys(m.latencyMs)).toEqual(['1', '7', '33']);
      for (const v of Object.values(m.latencyMs)) expect(v).toBeGreaterThan(0);
    }
    expect(r.layers.map((l) => [l.path, l.runtime, l.mode, l.scheme])).toEqual([
      ['0', 'int8', 'static', 'int8 pc / uint8'],
      ['3', 'int4', 'weight-only', 'int4 g8'],
    ]);
    // SQNR of layer 0 (BatchNorm and ReLU folded in) against the float model's ReLU output, recomputed here.
    const ref = model.layers[2]!.forward(model.layers[1]!.forward(model.layers[0]!.forward(sample))).data;
    const got = q.trace(sample).get('2')!.data;
    let sig = 0, err = 0;
    for (let i = 0; i < ref.length; i++) {
      sig += ref[i]! ** 2;
      err += (ref[i]! - got[i]!) ** 2;
    }
    expect(r.layers[0]!.sqnrDb).toBeCloseTo(10 * Math.log10(sig / err), 9);
    expect(r.layers[0]!.sqnrDb).toBeGreaterThan(25);
    // Weight error of layer 3 (no BatchNorm): the int4 g=8 dequantized weight vs the float one.
    const l3 = model.layers[3] as Linear;
    const s = new QuantScheme({ dtype: 'int4', symmetric: true, groupSize: 8 });
    const wq = s.dequantize(s.quantize(l3.weight.value.reshape([5, 16])));
    let se = 0, sw = 0, mx = 0;
    for (let i = 0; i < wq.length; i++) {
      se += (l3.weight.data[i]! - wq[i]!) ** 2;
      sw += l3.weight.data[i]! ** 2;
      mx = Math.max(mx, Math.abs(l3.weight.data[i]! - wq[i]!));
    }
    expect(r.layers[1]!.weightRelError).toBeCloseTo(Math.sqrt(se / sw), 9);
    expect(r.layers[1]!.weightMaxError).toBe(mx);
    // Layer 0's weight error is against the BatchNorm-folded weight: small (int8), though W itself differs a lot.
    expect(r.layers[0]!.weightRelError).toBeLessThan(0.01);

    const text = formatQuantReport(r);
    expect(text).toMatch(/^model\s+accuracy\s+bytes\s+size\s+ms b=1\s+ms b=7\s+ms b=33/);
    expect(text).toContain(`${r.quantized.bytes}`);
    expect(text).toMatch(/\n0\s+int8\s+static\s+int8 pc \/ uint8\s+\d+\.\d/);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('bad options', () => {
    const q = quantize(model, { activations: 'dynamic' });
    expectError(() => quantReport(model, q, { sample: Tensor.zeros([0, 24]) }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /"sample" option/);
    expectError(() => quantReport(model, {} as never, { sample }), DistiqTypeError, 'ERR_DISTIQ_INVALID_ARG_TYPE', /"quantized" argument/);
    expectError(() => quantReport(model, q, { sample, batchSizes: [0] }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /batchSizes\[0\]/);
    const other = new Sequential(new Linear(24, 16), new ReLU(), new Linear(16, 5));
    expectError(() => quantReport(other, q, { sample, repeats: 1 }), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /the float model has no layer "3"/);
  });
});
