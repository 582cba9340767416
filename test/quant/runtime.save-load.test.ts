/**
 * saveQuantized / loadQuantized (acceptance 4): a quantized model saved, reloaded in a fresh process without the
 * float model (test/quant/runtime.reload-child.js on dist/), once per ISA level (DISTIQ_ISA), and run gives bit-identical outputs, for every runtime
 * (int8 static chained / dynamic, int4 with zero points, float32 dequantized on load, kept fp32, a CNN with a folded
 * BatchNorm2d). The file is one safetensors file whose metadata documents every layer's scheme; its tensors have the
 * documented dtypes and shapes; it is a quarter (int8) / a sixth (int4 g=32) of the float model file.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { encodeSafetensors, readSafetensors } from '../../lib/io/safetensors';
import { saveModel } from '../../lib/io/model-file';
import { ReLU } from '../../lib/nn/activations';
import { Conv2d } from '../../lib/nn/conv2d';
import { Linear } from '../../lib/nn/linear';
import { BatchNorm2d } from '../../lib/nn/norm';
import { MaxPool2d } from '../../lib/nn/pool';
import { Flatten, Sequential } from '../../lib/nn/sequential';
import { quantize, type QuantizeConfig } from '../../lib/quant/ptq';
import { loadQuantized, saveQuantized } from '../../lib/quant/runtime/quantized-file';
import { Rng as TensorRng } from '../../lib/tensor/random';
import { Tensor } from '../../lib/tensor/tensor';
import { expectError } from '../helpers/expect-error';
import { DistiqRangeError } from '../../lib/errors';
import { levels } from '../helpers/isa';
import { Rng } from '../helpers/rng';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-qsave-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function randn(rng: Rng, shape: number[], scale = 1): Tensor {
  const t = Tensor.zeros(shape);
  for (let i = 0; i < t.size; i++) t.data[i] = rng.normal() * scale;
  return t;
}

function cnn(): Sequential {
  const rng = new TensorRng(21);
  const bn = new BatchNorm2d(4);
  for (let i = 0; i < 4; i++) {
    bn.runningMean.data[i] = 0.1 * i;
    bn.runningVar.data[i] = 1 + 0.2 * i;
  }
  return new Sequential(new Conv2d(1, 4, 3, { rng, padding: 1 }), bn, new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 10, { rng }));
}

describe('quantized model files', () => {
  const rng = new Rng(31);
  const mlp = (() => {
    const r = new TensorRng(20);
    return new Sequential(new Linear(64, 32, { rng: r }), new ReLU(), new Linear(32, 10, { rng: r }));
  })();
  const mlpX = randn(rng, [9, 64]);
  const cal = [randn(rng, [32, 64]), randn(rng, [32, 64])];
  const cnnX = randn(rng, [5, 1, 8, 8]);
  const cases: [string, Sequential, QuantizeConfig, Tensor][] = [
    ['int8-static', mlp, { calibration: cal }, mlpX],
    ['int8-dynamic', mlp, { activations: 'dynamic' }, mlpX],
    ['uint4-asym-g12', mlp, { weights: { dtype: 'uint4', groupSize: 12 } }, mlpX],
    ['int4-g32', mlp, { weights: { dtype: 'int4', symmetric: true, groupSize: 32 } }, mlpX],
    ['int4-g32-f32-scales', mlp, { weights: { dtype: 'int4', symmetric: true, groupSize: 32 }, int4Scales: 'float32' }, mlpX],
    ['nf4', mlp, { weights: { mapping: 'nf4', groupSize: 16 } }, mlpX],
    ['kmeans', mlp, { weights: { mapping: 'kmeans', levels: 16, granularity: 'per-channel' } }, mlpX],
    ['log2', mlp, { weights: { mapping: 'log2', dtype: 'int4', granularity: 'per-channel' } }, mlpX],
    ['mixed', mlp, { calibration: cal, overrides: { '2': 'fp32' } }, mlpX],
    ['cnn-static', cnn(), { calibration: [randn(rng, [8, 1, 8, 8])] }, cnnX],
    ['cnn-int4', cnn(), { weights: { dtype: 'int4', symmetric: true, groupSize: 8 } }, cnnX],
  ];

  it('reloads in a fresh process (every ISA level) with bit-identical outputs (predict and predictAsync)', () => {
    const dist = path.resolve(__dirname, '../../dist/index.js');
    expect(fs.existsSync(dist), 'the child process runs the compiled library: npm run compile first').toBe(true);
    for (const shape of [[9, 64], [5, 1, 8, 8]]) {
      const group = cases.filter((c) => c[3].shape.length === shape.length);
      const x = group[0]![3];
      const inFile = path.join(tmp, `x-${shape.length}.f32`);
      fs.writeFileSync(inFile, Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength));
      const files = group.map(([name, model, cfg]) => {
        const q = quantize(model, cfg);
        const f = path.join(tmp, `${name}.safetensors`);
        saveQuantized(f, q);
        return { f, want: q.predict(x) };
      });
      // A fresh process per ISA level this CPU runs (the kernels' contracts make every level give the same bits).
      for (const isa of levels) {
        const out = execFileSync(process.execPath, [path.join(__dirname, 'runtime.reload-child.js'), dist, inFile, JSON.stringify(shape), ...files.map((e) => e.f)], {
          encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISTIQ_ISA: isa },
        });
        expect(out).toContain('done');
        for (const { f, want } of files) {
          const wantBytes = Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength);
          expect(fs.readFileSync(`${f}.sync.out`).equals(wantBytes), `${path.basename(f)} predict, DISTIQ_ISA=${isa}`).toBe(true);
          expect(fs.readFileSync(`${f}.async.out`).equals(wantBytes), `${path.basename(f)} predictAsync, DISTIQ_ISA=${isa}`).toBe(true);
        }
      }
      for (const { f, want } of files) {
        // and in this process too
        const again = loadQuantized(f).predict(group[0]![3]);
        expect(Buffer.from(again.data.buffer).equals(Buffer.from(want.data.buffer))).toBe(true);
      }
    }
  });

  it('stores the documented tensors and every layer scheme in the metadata', () => {
    const f = path.join(tmp, 'layout.safetensors');
    saveQuantized(f, quantize(mlp, { calibration: cal, overrides: { '2': { weights: { dtype: 'uint4', groupSize: 12 }, activations: 'float' } } }), { note: 'kept' });
    const { tensors, metadata } = readSafetensors(f);
    expect(metadata).toMatchObject({ format: 'distiq-quantized', version: '1', note: 'kept' });
    const layers = JSON.parse(metadata.layers!) as Record<string, unknown>[];
    expect(layers).toEqual([
      {
        path: '0', module: { type: 'Linear', inFeatures: 64, outFeatures: 32, bias: true }, runtime: 'int8', mode: 'static',
        weights: { version: 1, mapping: 'linear', dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 0 }, weightShape: [32, 64],
        activations: { version: 1, mapping: 'linear', dtype: 'uint8', symmetric: false, granularity: 'per-tensor' }, relu: true, fused: ['1'],
      },
      {
        path: '2', module: { type: 'Linear', inFeatures: 32, outFeatures: 10, bias: true }, runtime: 'int4', mode: 'weight-only',
        weights: { version: 1, mapping: 'linear', dtype: 'uint4', symmetric: false, granularity: 'per-group', groupSize: 12, clip: 'mse' }, weightShape: [10, 32],
      },
    ]);
    const desc = (n: string) => ({ dtype: tensors.get(n)!.dtype, shape: tensors.get(n)!.shape });
    expect(desc('0.weight')).toEqual({ dtype: 'I8', shape: [32, 64] });
    expect(desc('0.weight_scale')).toEqual({ dtype: 'F32', shape: [32] });
    expect(desc('0.input_scale')).toEqual({ dtype: 'F32', shape: [1] });
    expect(desc('0.input_zero_point')).toEqual({ dtype: 'I32', shape: [1] });
    expect(desc('2.weight')).toEqual({ dtype: 'U8', shape: [10, 16] });
    expect(desc('2.weight_scale')).toEqual({ dtype: 'F16', shape: [30] });
    expect(desc('2.weight_zero_point')).toEqual({ dtype: 'I32', shape: [30] });
    expect(desc('2.bias')).toEqual({ dtype: 'F32', shape: [10] });
    expect([...tensors.keys()].sort()).toEqual(['0.bias', '0.input_scale', '0.input_zero_point', '0.weight', '0.weight_scale',
      '2.bias', '2.weight', '2.weight_scale', '2.weight_zero_point']);
  });

  it('int8 is ≤ 0.27× and int4 g=32 ≤ 0.16× of the float model file', () => {
    const r = new TensorRng(22);
    const big = new Sequential(new Linear(784, 256, { rng: r }), new ReLU(), new Linear(256, 10, { rng: r }));
    const ff = path.join(tmp, 'float.safetensors'), f8 = path.join(tmp, 'i8.safetensors'), f4 = path.join(tmp, 'i4.safetensors');
    saveModel(ff, big);
    saveQuantized(f8, quantize(big, { calibration: [randn(rng, [16, 784])] }));
    saveQuantized(f4, quantize(big, { weights: { dtype: 'int4', symmetric: true, groupSize: 32 } }));
    const size = (f: string) => fs.statSync(f).size;
    expect(size(f8) / size(ff)).toBeLessThanOrEqual(0.27);
    expect(size(f4) / size(ff)).toBeLessThanOrEqual(0.16);
  });

  it('names the problem in a file that is not a valid quantized model', () => {
    const ff = path.join(tmp, 'plain.safetensors');
    saveModel(ff, mlp);
    expectError(() => loadQuantized(ff), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /is not a distiq quantized model/);
    const good = path.join(tmp, 'good.safetensors');
    const q = quantize(mlp, { calibration: cal });
    saveQuantized(good, q);
    const { tensors, metadata } = readSafetensors(good);
    const write = (name: string, t: typeof tensors, m: Record<string, string>) => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, encodeSafetensors(t, m));
      return f;
    };
    const noScale = new Map(tensors);
    noScale.delete('0.input_scale');
    expectError(() => loadQuantized(write('a.safetensors', noScale, metadata)), DistiqRangeError, 'ERR_DISTIQ_INVALID_ARG_VALUE', /missing tensor "0\.input_scale"/);
    expectError(() => loadQuantized(write('b.safetensors', tensors, { ...metadata, layers: '[{"path": 1}]' })), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /metadata "layers"\[0\] is not a layer record/);
    expectError(() => loadQuantized(write('c.safetensors', tensors, { ...metadata, layers: '{' })), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /metadata "layers" is not valid JSON/);
    expectError(() => loadQuantized(write('d.safetensors', tensors, { ...metadata, version: '9' })), DistiqRangeError,
      'ERR_DISTIQ_INVALID_ARG_VALUE', /unsupported quantized model version string "9" \(expected "1"\)/);
  });
});
