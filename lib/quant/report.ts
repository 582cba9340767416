/**
 * Float vs quantized: `quantReport(float, quantized, options)` measures
 * - accuracy: the user's `evaluate(predict)` called with each model's predict function (optional);
 * - size on disk: the float model's `saveModel` file and the quantized model's `saveQuantized` file, in bytes;
 * - latency per batch size: the median of `repeats` timed `predict` calls (after `warmup` untimed ones) on a batch
 *   of that many rows of `sample` (cycled when the sample is shorter), float and quantized interleaved;
 * - per quantized layer: SQNR (dB) of the layer's output in the quantized model against the float model's output at
 *   the same place, both run on `sample` from the model input (so quantization errors of earlier layers count, as in
 *   a deployed model), 10·log10(Σ ref² / Σ (ref − q)²); and the weight error: ‖W − Ŵ‖ / ‖W‖ and max |W − Ŵ| between
 *   the float weight (with any folded BatchNorm) and the dequantized stored weight.
 * The result is plain data (JSON.stringify it) and `formatQuantReport` renders it as text tables.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DistiqRangeError, DistiqTypeError } from '../errors';
import { saveModel } from '../io/model-file';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { BatchNorm1d, BatchNorm2d } from '../nn/norm';
import { Sequential } from '../nn/sequential';
import { Tensor } from '../tensor/tensor';
import { describe, expectInteger } from '../validate';
import { foldBatchNorm } from './fold-batchnorm';
import { encodeQuantized } from './runtime/quantized-file';
import { QuantizedModel } from './runtime/quantized-model';
import { storedWeight } from './runtime/record';

export interface QuantReportOptions {
  /** Input rows for the per-layer comparison and the latency batches ([N, ...]). */
  sample: Tensor;
  /** Accuracy (or any score) of a model given its predict function. */
  evaluate?: (predict: (x: Tensor) => Tensor) => number;
  /** Batch sizes timed (default [1, 256]). */
  batchSizes?: number[];
  /** Timed calls per batch size and model (default 20); the median is reported. */
  repeats?: number;
  /** Untimed calls first (default 3). */
  warmup?: number;
}

export interface ModelFigures {
  /** `evaluate`'s result, when given. */
  accuracy?: number;
  /** File size in bytes. */
  bytes: number;
  /** Median milliseconds per predict call, by batch size. */
  latencyMs: Record<string, number>;
}

export interface LayerFigures {
  path: string;
  runtime: string;
  mode: string;
  /** "int8 per-channel / uint8", "int4 per-group 32", … */
  scheme: string;
  sqnrDb: number;
  weightRelError: number;
  weightMaxError: number;
}

export interface QuantReport {
  float: ModelFigures;
  quantized: ModelFigures;
  /** quantized.bytes / float.bytes */
  sizeRatio: number;
  layers: LayerFigures[];
}

function leaves(m: Module, out: Map<string, Module>): Map<string, Module> {
  if (m instanceof Sequential) for (const c of m.layers) leaves(c, out);
  else out.set(m.path, m);
  return out;
}

function batchOf(sample: Tensor, rows: number): Tensor {
  const n = sample.shape[0]!, inner = sample.size / n;
  const out = new Float32Array(rows * inner);
  for (let r = 0; r < rows; r++) out.set(sample.data.subarray((r % n) * inner, (r % n + 1) * inner), r * inner);
  return new Tensor(out, [rows, ...sample.shape.slice(1)]);
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

function sqnr(ref: Float32Array, q: Float32Array): number {
  let sig = 0, err = 0;
  for (let i = 0; i < ref.length; i++) {
    sig += ref[i]! ** 2;
    err += (ref[i]! - q[i]!) ** 2;
  }
  return err === 0 ? Infinity : 10 * Math.log10(sig / err);
}

function schemeText(r: QuantizedModel['layers'][number]): string {
  const w = r.weights;
  if (w === undefined) return 'fp32';
  const g = w.granularity === 'per-group' ? `g${w.groupSize}` : w.granularity === 'per-channel' ? 'pc' : 'pt';
  const map = w.mapping === 'linear' ? `${w.dtype}${w.symmetric ? '' : ' asym'}` : w.mapping === 'kmeans' ? `kmeans${w.levels}` : `${w.mapping} ${w.dtype}`;
  return r.activations ? `${map} ${g} / ${r.activations.dtype}` : `${map} ${g}`;
}

function fileBytes(write: (file: string) => void): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-report-'));
  try {
    const f = path.join(dir, 'model.safetensors');
    write(f);
    return fs.statSync(f).size;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Float vs quantized figures (see the module comment). `float` is put in eval mode during the call, then restored. */
export function quantReport(float: Module, quantized: QuantizedModel, opts: QuantReportOptions): QuantReport {
  if (!(float instanceof Module)) throw new DistiqTypeError(`The "float" argument must be a Module. Received ${describe(float)}`);
  if (!(quantized instanceof QuantizedModel)) throw new DistiqTypeError(`The "quantized" argument must be a QuantizedModel. Received ${describe(quantized)}`);
  if (opts === null || typeof opts !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
  const sample = opts.sample;
  if (!(sample instanceof Tensor) || sample.shape.length < 1 || sample.shape[0] === 0) {
    throw new DistiqRangeError(`The "sample" option must be a Tensor with at least one row. Received ${describe(sample)}`);
  }
  if (opts.evaluate !== undefined && typeof opts.evaluate !== 'function') throw new DistiqTypeError(`The "evaluate" option must be a function. Received ${describe(opts.evaluate)}`);
  const sizes = opts.batchSizes ?? [1, 256];
  if (!Array.isArray(sizes) || sizes.length === 0) throw new DistiqTypeError(`The "batchSizes" option must be a non-empty array. Received ${describe(sizes)}`);
  sizes.forEach((b, i) => expectInteger(`batchSizes[${i}]`, b, 1));
  const repeats = opts.repeats ?? 20, warmup = opts.warmup ?? 3;
  expectInteger('repeats', repeats, 1);
  expectInteger('warmup', warmup, 0);

  const wasTraining = float.training;
  float.eval();
  try {
    const floatPredict = (x: Tensor): Tensor => float.forward(x).clone();
    const qPredict = (x: Tensor): Tensor => quantized.predict(x);
    const f: ModelFigures = { bytes: fileBytes((file) => saveModel(file, float)), latencyMs: {} };
    const q: ModelFigures = { bytes: encodeQuantized(quantized).length, latencyMs: {} };
    if (opts.evaluate) {
      f.accuracy = opts.evaluate(floatPredict);
      q.accuracy = opts.evaluate(qPredict);
    }
    for (const b of sizes) {
      const x = batchOf(sample, b);
      for (let i = 0; i < warmup; i++) {
        float.forward(x);
        quantized.predict(x);
      }
      const tf: number[] = [], tq: number[] = [];
      for (let i = 0; i < repeats; i++) {
        let t0 = process.hrtime.bigint();
        float.forward(x);
        tf.push(Number(process.hrtime.bigint() - t0) / 1e6);
        t0 = process.hrtime.bigint();
        quantized.predict(x);
        tq.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      f.latencyMs[String(b)] = median(tf);
      q.latencyMs[String(b)] = median(tq);
    }

    // Per-layer comparison on the sample.
    const mods = leaves(float, new Map());
    const floatOut = new Map<string, Float32Array>();
    let h = sample;
    for (const [p, m] of mods) {
      h = m.forward(h);
      floatOut.set(p, h.data.slice());
    }
    const qOut = quantized.trace(sample);
    const layers: LayerFigures[] = [];
    for (const r of quantized.layers) {
      if (r.mode === undefined || r.mode === 'fp32' || r.weights === undefined) continue;
      const at = r.fused?.length ? r.fused[r.fused.length - 1]! : r.path;
      const ref = floatOut.get(at), got = qOut.get(at);
      const layer = mods.get(r.path);
      if (ref === undefined || got === undefined || !(layer instanceof Linear || layer instanceof Conv2d)) {
        throw new DistiqRangeError(`quantReport: the float model has no layer "${r.path}" like the quantized model's (was it quantized from this model?)`);
      }
      const n = layer.weight.shape[0]!;
      let w = layer.weight.data;
      const bn = r.fused?.map((p) => mods.get(p)).find((m) => m instanceof BatchNorm1d || m instanceof BatchNorm2d) as BatchNorm1d | BatchNorm2d | undefined;
      if (bn !== undefined) w = foldBatchNorm(w, layer.bias?.data ?? null, n, bn).weight;
      const qt = storedWeight(r, quantized.tensors, 'quantReport');
      const wq = qt.scheme.dequantize(qt);
      let se = 0, sw = 0, mx = 0;
      for (let i = 0; i < w.length; i++) {
        const d = Math.abs(w[i]! - wq[i]!);
        se += d * d;
        sw += w[i]! ** 2;
        mx = Math.max(mx, d);
      }
      layers.push({
        path: r.path, runtime: r.runtime, mode: r.mode, scheme: schemeText(r), sqnrDb: sqnr(ref, got.data),
        weightRelError: sw === 0 ? Math.sqrt(se) : Math.sqrt(se / sw), weightMaxError: mx,
      });
    }
    return { float: f, quantized: q, sizeRatio: q.bytes / f.bytes, layers };
  } finally {
    float.train(wasTraining);
  }
}

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

/** The report as two text tables (models, then layers). */
export function formatQuantReport(r: QuantReport): string {
  const sizes = Object.keys(r.float.latencyMs);
  const acc = (m: ModelFigures): string => (m.accuracy === undefined ? '-' : `${(m.accuracy * 100).toFixed(2)}%`);
  const model = (name: string, m: ModelFigures): string[] => [
    name, acc(m), String(m.bytes), (m.bytes / r.float.bytes).toFixed(3), ...sizes.map((b) => m.latencyMs[b]!.toFixed(3)),
  ];
  const models = table(['model', 'accuracy', 'bytes', 'size', ...sizes.map((b) => `ms b=${b}`)], [model('fp32', r.float), model('quantized', r.quantized)]);
  const layers = table(
    ['layer', 'runtime', 'mode', 'scheme', 'SQNR dB', 'W rel err', 'W max err'],
    r.layers.map((l) => [l.path, l.runtime, l.mode, l.scheme, l.sqnrDb.toFixed(1), l.weightRelError.toExponential(2), l.weightMaxError.toExponential(2)]),
  );
  return `${models}\n\n${layers}\n`;
}
