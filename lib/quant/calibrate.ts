/**
 * Calibration: runs a float model (a lib/nn Module, in eval mode) over batches and lets an observer per layer see
 * that layer's input, batch after batch, so static quantization can fix the activation ranges.
 *
 * Which input a layer gets is found from the model's Sequential structure: the first child of a Sequential reads the
 * Sequential's own input (the model input at the root), child i > 0 reads child i − 1's output, which a Sequential
 * tap (`Sequential.setTap`, shared with hidden-state distillation) reports. calibrate installs its taps for the
 * duration of the call and removes them afterwards (so a model must not be calibrated while another tap is set on the
 * same children). Layers inside a non-Sequential container are not reachable; the container itself is.
 *
 * Errors: no batches at all, a batch that is not a Tensor / { x: Tensor }, a `layers` entry naming no layer, and
 * anything the model throws for a batch (e.g. the wrong input width), prefixed with the batch number; NaN/±Inf in
 * what an observer sees is the observer's error (it names the layer and the batch).
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { Conv2d } from '../nn/conv2d';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Tensor } from '../tensor/tensor';
import { describe, expectInteger } from '../validate';
import { createObserver, type AnyObserverOptions, type ObserverKind } from './observers/index';
import type { Observer } from './observers/observer';

export interface CalibrateOptions {
  /** The observer of each layer input: a kind (configured by `observerOptions`) or a factory. Default `minmax`. */
  observer?: ObserverKind | ((path: string, layer: Module) => Observer);
  /** Options of the observers created from a kind (granularity, axis, percentile, scheme, …). */
  observerOptions?: AnyObserverOptions;
  /** Dotted paths of the layers whose input is observed (e.g. ["0", "2"]). Default: every Linear and Conv2d. */
  layers?: readonly string[];
  /** Use at most this many batches (default: all the data gives). */
  maxBatches?: number;
}

export interface Calibration {
  /** Batches run. */
  batches: number;
  /** The observer of each layer's input, by layer path, in model order. */
  observers: Map<string, Observer>;
}

/** Where a layer's input comes from: the model input, or the output of child `index` of `seq`. */
type Source = { seq: Sequential; index: number } | null;

interface Site {
  module: Module;
  source: Source;
}

function findSites(m: Module, source: Source, out: Map<string, Site>): Map<string, Site> {
  out.set(m.path, { module: m, source });
  if (m instanceof Sequential) m.layers.forEach((c, i) => findSites(c, i === 0 ? source : { seq: m, index: i - 1 }, out));
  return out;
}

function batchTensor(item: unknown, b: number): Tensor {
  if (item instanceof Tensor) return item;
  const x = item !== null && typeof item === 'object' ? (item as { x?: unknown }).x : undefined;
  if (x instanceof Tensor) return x;
  throw new DistiqTypeError(`calibrate: batch ${b} must be a Tensor or an object with a Tensor "x" (a DataLoader Batch). Received ${describe(item)}`);
}

function withBatch(err: unknown, b: number): unknown {
  if (err instanceof DistiqRangeError) return new DistiqRangeError(`calibrate: batch ${b}: ${err.message}`, err.code);
  if (err instanceof DistiqTypeError) return new DistiqTypeError(`calibrate: batch ${b}: ${err.message}`, err.code);
  return err;
}

/** Runs `model` over `data` and returns an observer per layer input (see the module doc). */
export function calibrate(model: Module, data: Iterable<Tensor | { x: Tensor }>, opts: CalibrateOptions = {}): Calibration {
  if (!(model instanceof Module)) throw new DistiqTypeError(`The "model" argument must be a Module. Received ${describe(model)}`);
  if (data === null || typeof data !== 'object' || typeof (data as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new DistiqTypeError(`The "data" argument must be an iterable of batches (Tensor or { x: Tensor }). Received ${describe(data)}`);
  }
  if (opts === null || typeof opts !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
  const maxBatches = opts.maxBatches ?? Infinity;
  if (maxBatches !== Infinity) expectInteger('maxBatches', maxBatches, 1);

  const sites = findSites(model, null, new Map());
  let paths: string[];
  if (opts.layers !== undefined) {
    if (!Array.isArray(opts.layers)) throw new DistiqTypeError(`The "layers" option must be an array of layer paths. Received ${describe(opts.layers)}`);
    for (const p of opts.layers) {
      if (!sites.has(p)) {
        const known = [...sites.keys()].filter((k) => k !== '').join(', ');
        throw new DistiqRangeError(`The "layers" option names ${JSON.stringify(p)}, but the model has no such layer (layers: ${known})`);
      }
    }
    paths = [...opts.layers];
  } else {
    paths = [...sites].filter(([, s]) => s.module instanceof Linear || s.module instanceof Conv2d).map(([p]) => p);
    if (paths.length === 0) throw new DistiqRangeError('calibrate: the model has no Linear or Conv2d layer; name the layers to observe with the "layers" option');
  }

  const kind = opts.observer ?? 'minmax';
  const observers = new Map<string, Observer>();
  for (const p of paths) {
    const m = sites.get(p)!.module;
    const obs = typeof kind === 'function' ? kind(p, m) : createObserver(kind, { ...opts.observerOptions, name: `${m.label()} input` });
    if (obs === null || typeof obs !== 'object' || typeof (obs as Observer).observe !== 'function') {
      throw new DistiqTypeError(`The "observer" factory must return an Observer for layer ${JSON.stringify(p)}. Received ${describe(obs)}`);
    }
    observers.set(p, obs);
  }

  // Group the observers by source: the model input, or one tap per (Sequential, child).
  const atInput: Observer[] = [];
  const taps = new Map<Sequential, Map<number, Observer[]>>();
  for (const p of paths) {
    const src = sites.get(p)!.source, obs = observers.get(p)!;
    if (src === null) {
      atInput.push(obs);
      continue;
    }
    const bySeq = taps.get(src.seq) ?? new Map<number, Observer[]>();
    taps.set(src.seq, bySeq);
    bySeq.set(src.index, [...(bySeq.get(src.index) ?? []), obs]);
  }

  let observerError: unknown = null;
  const see = (list: Observer[], y: Tensor): void => {
    try {
      for (const o of list) o.observe(y);
    } catch (err) {
      observerError = err;
      throw err;
    }
  };
  const wasTraining = model.training;
  let b = 0;
  try {
    for (const [seq, byIndex] of taps) {
      for (const [i, list] of byIndex) seq.setTap(i, { output: (y) => see(list, y), grad: (dy) => dy });
    }
    model.eval();
    for (const item of data) {
      if (b >= maxBatches) break;
      const x = batchTensor(item, b);
      try {
        see(atInput, x);
        model.forward(x);
      } catch (err) {
        throw err === observerError ? err : withBatch(err, b);
      }
      b++;
    }
  } finally {
    for (const [seq, byIndex] of taps) for (const i of byIndex.keys()) seq.setTap(i, null);
    model.train(wasTraining);
  }
  if (b === 0) throw new DistiqRangeError('The "data" argument gave no calibration batches (expected at least 1)');
  return { batches: b, observers };
}
