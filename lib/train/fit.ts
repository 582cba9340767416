/**
 * fit: a minimal supervised training loop over the layers, losses and optimizers of lib/nn.
 *
 * Per epoch: model.train(); for each batch of the (seeded, shuffled) loader: zeroGrad, forward, loss, backward
 * (no input gradient), optional gradient clipping, optimizer.step(), scheduler.step() when it is per step; then, with
 * a `val` set, model.eval() and a pass over it. Metrics per epoch: mean train loss and accuracy (over the batches as
 * they were trained), val loss and accuracy, learning rate at the end, seconds.
 *
 * Checkpoints: with `checkpoint: { path }` a checkpoint is written (atomically) after every `every` epochs (default 1),
 * holding the model, optimizer, scheduler, every random stream (dropout, the loader's shuffle) and the loop state;
 * `resume: path` restores one and continues with the next epoch, producing the same weights, bit for bit, as an
 * uninterrupted run.
 */
import * as fs from 'node:fs';

import { DataLoader, type Dataset } from '../data/dataset';
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { loadCheckpoint, saveCheckpoint } from '../io/model-file';
import { CrossEntropyLoss, type Loss } from '../nn/loss';
import { Module } from '../nn/module';
import { clipGradNorm, Optimizer } from '../nn/optim/optimizer';
import type { LRScheduler } from '../nn/optim/schedule';
import type { Tensor } from '../tensor/tensor';
import { describe, expectInteger } from '../validate';

export interface EpochMetrics {
  /** 1-based epoch number. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate after the epoch's last step. */
  lr: number;
  /** Optimizer steps so far (all epochs). */
  steps: number;
  /** Wall time of the training part of the epoch. */
  trainSeconds: number;
  seconds: number;
}

export interface FitOptions {
  train: Dataset;
  val?: Dataset;
  /** Default: cross-entropy on the labels. */
  loss?: Loss<Int32Array>;
  optimizer: Optimizer;
  epochs: number;
  batchSize: number;
  /** Stepped after every optimizer step (default) or every epoch (`schedulerInterval: 'epoch'`). */
  scheduler?: LRScheduler;
  schedulerInterval?: 'step' | 'epoch';
  /** Clip the global gradient norm to this value before each step. */
  clipGradNorm?: number;
  shuffle?: boolean;
  dropLast?: boolean;
  /** Seed of the shuffling generator (default 0). */
  seed?: number;
  /** Batch size of the validation pass (default max(batchSize, 1000)). */
  evalBatchSize?: number;
  checkpoint?: { path: string; every?: number };
  /** A checkpoint to continue from (written by fit with the same model, optimizer and options). */
  resume?: string;
  onProgress?: (m: EpochMetrics) => void;
}

export interface FitResult {
  history: EpochMetrics[];
}

export interface EvalResult {
  loss: number;
  accuracy: number;
}

function correct(logits: Tensor, y: Int32Array): number {
  const pred = logits.argmax();
  let c = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) c++;
  return c;
}

/** Mean loss and accuracy of `model` (in eval mode; its mode is restored) over `data`. */
export function evaluate(model: Module, data: Dataset, options: { batchSize?: number; loss?: Loss<Int32Array> } = {}): EvalResult {
  const was = model.training;
  model.eval();
  const loss = options.loss ?? new CrossEntropyLoss();
  let total = 0, hits = 0;
  try {
    for (const b of new DataLoader(data, { batchSize: options.batchSize ?? 1000 })) {
      const out = model.forward(b.x);
      total += loss.forward(out, b.y) * b.size;
      hits += correct(out, b.y);
    }
  } finally {
    model.train(was);
  }
  return { loss: total / data.length, accuracy: hits / data.length };
}

export function fit(model: Module, options: FitOptions): FitResult {
  if (!(model instanceof Module)) throw new DistiqTypeError(`The "model" argument must be a Module. Received ${describe(model)}`);
  const { optimizer, epochs, batchSize, scheduler } = options;
  if (!(optimizer instanceof Optimizer)) throw new DistiqTypeError(`The "optimizer" option must be an Optimizer. Received ${describe(optimizer)}`);
  expectInteger('epochs', epochs, 0);
  const every = options.checkpoint?.every ?? 1;
  expectInteger('checkpoint.every', every, 1);
  const interval = options.schedulerInterval ?? 'step';
  const loss = options.loss ?? new CrossEntropyLoss();
  const loader = new DataLoader(options.train, {
    batchSize, shuffle: options.shuffle ?? true, dropLast: options.dropLast ?? false, seed: options.seed ?? 0,
  });
  const parts = { model, optimizer, ...(scheduler ? { scheduler } : {}), rngs: { loader: loader.rng } };
  let history: EpochMetrics[] = [];
  let start = 0;
  if (options.resume !== undefined) {
    if (!fs.existsSync(options.resume)) throw new DistiqRangeError(`The "resume" checkpoint "${options.resume}" does not exist`);
    const loop = loadCheckpoint(options.resume, parts) as { epoch?: number; history?: EpochMetrics[] };
    start = loop.epoch ?? 0;
    history = loop.history ?? [];
  }
  for (let e = start; e < epochs; e++) {
    const t0 = performance.now();
    model.train();
    let total = 0, hits = 0, seen = 0;
    for (const b of loader) {
      model.zeroGrad();
      const out = model.forward(b.x);
      const l = loss.forward(out, b.y);
      model.backward(loss.backward(), false);
      if (options.clipGradNorm !== undefined) clipGradNorm(optimizer.params, options.clipGradNorm);
      optimizer.step();
      if (scheduler && interval === 'step') scheduler.step();
      total += l * b.size;
      hits += correct(out, b.y);
      seen += b.size;
    }
    if (scheduler && interval === 'epoch') scheduler.step();
    const t1 = performance.now();
    const m: EpochMetrics = {
      epoch: e + 1, trainLoss: total / seen, trainAccuracy: hits / seen, lr: optimizer.lr, steps: optimizer.stepCount,
      trainSeconds: (t1 - t0) / 1000, seconds: 0,
    };
    if (options.val) {
      const v = evaluate(model, options.val, { batchSize: options.evalBatchSize ?? Math.max(batchSize, 1000), loss });
      m.valLoss = v.loss;
      m.valAccuracy = v.accuracy;
    }
    m.seconds = (performance.now() - t0) / 1000;
    history.push(m);
    if (options.checkpoint && ((e + 1) % every === 0 || e + 1 === epochs)) {
      saveCheckpoint(options.checkpoint.path, parts, { epoch: e + 1, history });
    }
    options.onProgress?.(m);
  }
  return { history };
}
