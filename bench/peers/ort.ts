/**
 * The onnxruntime-node peer: in-memory ONNX models (bench/peers/onnx-model.ts) run in InferenceSessions the way a
 * Node user would run them — CPU execution provider, all graph optimizations, intraOpNumThreads = the thread count
 * under test, interOpNumThreads 1, constant weights as initializers (so ORT prepacks them at session creation).
 *
 * onnxruntime-node is an optional dev/peer dependency: when it cannot be loaded every ORT row is skipped with the
 * reason, and the rest of the benchmark runs.
 */
import type * as OrtModule from 'onnxruntime-node';

import { encodeModel, OnnxType, type OnnxGraph, type OnnxNode } from './onnx-model';

export type Ort = typeof OrtModule;
export type OrtSession = OrtModule.InferenceSession;
export type OrtTensor = OrtModule.Tensor;

export interface OrtPeer {
  ort: Ort;
  version: string;
}

/** Loads onnxruntime-node, or returns why it cannot be used. */
export function loadOrt(): OrtPeer | { skipped: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as Ort;
    const version = (ort.env.versions as { node?: string; common?: string }).node ?? ort.env.versions.common ?? 'unknown';
    return { ort, version };
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { skipped: `onnxruntime-node not available (a devDependency: npm ci installs it): ${msg}` };
  }
}

export async function createSession(p: OrtPeer, graph: OnnxGraph, threads: number): Promise<OrtSession> {
  return p.ort.InferenceSession.create(encodeModel(graph), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
}

/** Transposes W [n, k] into B [k, n] (ONNX MatMul's right operand), outside any timing. */
function transpose<T extends Int8Array | Float32Array>(w: T, n: number, k: number): T {
  const b = new (w.constructor as { new (len: number): T })(n * k);
  for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) b[q * n + j] = w[j * k + q]!;
  return b;
}

/** C = A·Wᵀ: MatMulInteger (u8 or s8 A × int8 initializer → int32) or MatMul (float32), B = Wᵀ [k, n] constant. */
export function gemmGraph(kind: 'u8s8' | 's8s8' | 'f32', m: number, n: number, k: number, w: Int8Array | Float32Array): OnnxGraph {
  const aType = kind === 'u8s8' ? OnnxType.UINT8 : kind === 's8s8' ? OnnxType.INT8 : OnnxType.FLOAT;
  const bType = kind === 'f32' ? OnnxType.FLOAT : OnnxType.INT8;
  const cType = kind === 'f32' ? OnnxType.FLOAT : OnnxType.INT32;
  return {
    name: `gemm_${kind}`,
    nodes: [{ op: kind === 'f32' ? 'MatMul' : 'MatMulInteger', inputs: ['A', 'B'], outputs: ['C'] }],
    initializers: [{ name: 'B', type: bType, dims: [k, n], data: transpose(w, n, k) }],
    inputs: [{ name: 'A', type: aType, dims: [m, k] }],
    outputs: [{ name: 'C', type: cType, dims: [m, n] }],
  };
}

/** QuantizeLinear / DequantizeLinear per-axis (axis 0 of [rows, cols]), constant scales and int8 zero points 0. */
function perAxisGraph(op: 'QuantizeLinear' | 'DequantizeLinear', rows: number, cols: number, scales: Float32Array): OnnxGraph {
  const [inType, outType] = op === 'QuantizeLinear' ? [OnnxType.FLOAT, OnnxType.INT8] : [OnnxType.INT8, OnnxType.FLOAT];
  return {
    name: op,
    nodes: [{ op, inputs: ['X', 'scale', 'zp'], outputs: ['Y'], attrs: { axis: 0 } }],
    initializers: [
      { name: 'scale', type: OnnxType.FLOAT, dims: [rows], data: scales },
      { name: 'zp', type: OnnxType.INT8, dims: [rows], data: new Int8Array(rows) },
    ],
    inputs: [{ name: 'X', type: inType, dims: [rows, cols] }],
    outputs: [{ name: 'Y', type: outType, dims: [rows, cols] }],
  };
}

/** float32 [rows, cols] → int8, one scale per row. */
export function quantizeLinearGraph(rows: number, cols: number, scales: Float32Array): OnnxGraph {
  return perAxisGraph('QuantizeLinear', rows, cols, scales);
}

/** int8 [rows, cols] → float32, one scale per row. */
export function dequantizeLinearGraph(rows: number, cols: number, scales: Float32Array): OnnxGraph {
  return perAxisGraph('DequantizeLinear', rows, cols, scales);
}

/** DynamicQuantizeLinear: per-tensor uint8 asymmetric (range including 0, scale (max−min)/255). */
export function dynamicQuantizeLinearGraph(count: number): OnnxGraph {
  return {
    name: 'dynamic_quantize_linear',
    nodes: [{ op: 'DynamicQuantizeLinear', inputs: ['X'], outputs: ['Y', 'Y_scale', 'Y_zero_point'] }],
    inputs: [{ name: 'X', type: OnnxType.FLOAT, dims: [count] }],
    outputs: [
      { name: 'Y', type: OnnxType.UINT8, dims: [count] },
      { name: 'Y_scale', type: OnnxType.FLOAT, dims: [] },
      { name: 'Y_zero_point', type: OnnxType.UINT8, dims: [] },
    ],
  };
}

/**
 * The distillation loss and its gradient as a graph of unfused ONNX ops (what an ORT user would export), the
 * same math as distiq's distillationLoss with a dense teacher, labels, mean reduction:
 *   rowLoss = α·T²·Σ q·(log q − log p) + (1−α)·(−log p₁[y]),  p = softmax(S/T), q = softmax(T/T), p₁ = softmax(S)
 *   loss = mean(rowLoss);  grad = (α·T·(p − q) + (1−α)·(p₁ − onehot(y))) / B
 * Inputs S, Tt [B, C] float, labels [B] int64; outputs loss [] and grad [B, C].
 */
export function softmaxKlGraph(rows: number, cols: number, temperature: number, alpha: number): OnnxGraph {
  const f = (name: string, v: number) => ({ name, type: OnnxType.FLOAT, dims: [], data: Float32Array.of(v) });
  const node = (op: string, inputs: string[], output: string, attrs?: OnnxNode['attrs']): OnnxNode => ({ op, inputs, outputs: [output], ...(attrs ? { attrs } : {}) });
  return {
    name: 'softmax_kl',
    opset: 17,
    nodes: [
      node('Mul', ['S', 'invT'], 'a'),
      node('Mul', ['Tt', 'invT'], 'b'),
      node('Softmax', ['a'], 'p', { axis: -1 }),
      node('Softmax', ['b'], 'q', { axis: -1 }),
      node('LogSoftmax', ['a'], 'logp', { axis: -1 }),
      node('LogSoftmax', ['b'], 'logq', { axis: -1 }),
      node('Sub', ['logq', 'logp'], 'dlog'),
      node('Mul', ['q', 'dlog'], 'qdlog'),
      node('ReduceSum', ['qdlog', 'axis1'], 'kl', { keepdims: 0 }),
      node('Softmax', ['S'], 'p1', { axis: -1 }),
      node('LogSoftmax', ['S'], 'logp1', { axis: -1 }),
      node('OneHot', ['labels', 'depth', 'onehotValues'], 'onehot', { axis: -1 }),
      node('Mul', ['onehot', 'logp1'], 'picked'),
      node('ReduceSum', ['picked', 'axis1'], 'negce', { keepdims: 0 }),
      node('Mul', ['kl', 'cKl'], 'klw'),
      node('Mul', ['negce', 'cCe'], 'cew'),
      node('Sub', ['klw', 'cew'], 'rowLoss'),
      node('ReduceMean', ['rowLoss'], 'loss', { keepdims: 0 }),
      node('Sub', ['p', 'q'], 'pq'),
      node('Mul', ['pq', 'gKl'], 'gkl'),
      node('Sub', ['p1', 'onehot'], 'p1y'),
      node('Mul', ['p1y', 'gCe'], 'gce'),
      node('Add', ['gkl', 'gce'], 'grad'),
    ],
    initializers: [
      f('invT', 1 / temperature),
      f('cKl', alpha * temperature * temperature),
      f('cCe', 1 - alpha),
      f('gKl', (alpha * temperature) / rows),
      f('gCe', (1 - alpha) / rows),
      { name: 'axis1', type: OnnxType.INT64, dims: [1], data: BigInt64Array.of(1n) },
      { name: 'depth', type: OnnxType.INT64, dims: [], data: BigInt64Array.of(BigInt(cols)) },
      { name: 'onehotValues', type: OnnxType.FLOAT, dims: [2], data: Float32Array.of(0, 1) },
    ],
    inputs: [
      { name: 'S', type: OnnxType.FLOAT, dims: [rows, cols] },
      { name: 'Tt', type: OnnxType.FLOAT, dims: [rows, cols] },
      { name: 'labels', type: OnnxType.INT64, dims: [rows] },
    ],
    outputs: [
      { name: 'loss', type: OnnxType.FLOAT, dims: [] },
      { name: 'grad', type: OnnxType.FLOAT, dims: [rows, cols] },
    ],
  };
}

/**
 * A run function for timing: `session.run(feeds)` with fixed input tensors, ORT allocating its outputs per call —
 * the ordinary way to call it from Node. (onnxruntime-node 1.30 also accepts pre-allocated fetches, but still
 * returns new tensors; the plain form is what users write.)
 */
export function makeRunner(session: OrtSession, feeds: Record<string, OrtTensor>): () => Promise<Record<string, OrtTensor>> {
  return () => session.run(feeds);
}
