/**
 * Model files and checkpoints, both single safetensors files written atomically (lib/io/atomic.ts).
 *
 * Model file (`saveModel`): the model's parameters and buffers under their dotted names ("0.weight",
 * "2.running_mean"), F32; `__metadata__` = { "format": "distiq-model", "distiq_version", "config": the JSON of
 * `model.config()` } plus caller metadata. `loadModel(file)` rebuilds the architecture from "config"; `loadModel(file,
 * model)` loads into an existing model (names and shapes must match exactly).
 *
 * Checkpoint (`saveCheckpoint`): the model tensors as "model.<name>", the optimizer buffers as
 * "optimizer.<index>.<buffer>", and `__metadata__` = { "format": "distiq-checkpoint", "config", "optimizer" (JSON: type,
 * lr, step), "scheduler" (JSON: t), "rng" (JSON: the model's random streams and any extra named generators, e.g. the
 * data loader's), "loop" (JSON: caller state such as epoch and step) }. `loadCheckpoint` restores all of that into
 * fresh objects, so training resumes with the same numbers.
 */
import { DistiqRangeError } from '../errors';
import { buildModule } from '../nn/build';
import { Module, type ModuleConfig } from '../nn/module';
import type { Optimizer } from '../nn/optim/optimizer';
import type { LRScheduler } from '../nn/optim/schedule';
import type { Rng, RngState } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import { describe } from '../validate';
import { writeFileAtomic } from './atomic';
import { encodeSafetensors, readSafetensors, type SafeTensor } from './safetensors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = (require('../../package.json') as { version: string }).version;

function expectModule(model: unknown): asserts model is Module {
  if (!(model instanceof Module)) throw new DistiqRangeError(`The "model" argument must be a Module. Received ${describe(model)}`);
}

function modelTensors(model: Module, prefix: string, out: Map<string, SafeTensor>): void {
  for (const [n, t] of model.stateDict()) out.set(prefix + n, { dtype: 'F32', shape: [...t.shape], data: t.data });
}

function parseJson<T>(file: string, key: string, text: string | undefined): T {
  if (text === undefined) throw new DistiqRangeError(`"${file}": the metadata has no "${key}" entry`);
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DistiqRangeError(`"${file}": metadata "${key}" is not valid JSON (${(err as Error).message})`);
  }
}

function stateFrom(file: string, tensors: Map<string, SafeTensor>, prefix: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (!name.startsWith(prefix)) continue;
    if (!(t.data instanceof Float32Array)) throw new DistiqRangeError(`"${file}": tensor "${name}" is ${t.dtype}, expected F32`);
    out.set(name.slice(prefix.length), new Tensor(t.data, t.shape));
  }
  return out;
}

export function saveModel(file: string, model: Module, metadata: Record<string, string> = {}): void {
  expectModule(model);
  const tensors = new Map<string, SafeTensor>();
  modelTensors(model, '', tensors);
  const meta = { ...metadata, format: 'distiq-model', distiq_version: VERSION, config: JSON.stringify(model.config()) };
  writeFileAtomic(file, encodeSafetensors(tensors, meta));
}

/** Loads a model file: into `model` when given, else into a module rebuilt from the stored config. */
export function loadModel(file: string, model?: Module): Module {
  const { tensors, metadata } = readSafetensors(file);
  const m = model ?? buildModule(parseJson<ModuleConfig>(file, 'config', metadata.config));
  expectModule(m);
  m.loadStateDict(stateFrom(file, tensors, ''));
  return m;
}

export interface CheckpointParts {
  model: Module;
  optimizer?: Optimizer;
  scheduler?: LRScheduler;
  /** Extra generators saved by name (e.g. { loader: trainLoader.rng }). */
  rngs?: Record<string, Rng>;
}

export function saveCheckpoint(file: string, parts: CheckpointParts, loop: Record<string, unknown> = {}): void {
  expectModule(parts.model);
  const tensors = new Map<string, SafeTensor>();
  modelTensors(parts.model, 'model.', tensors);
  const meta: Record<string, string> = {
    format: 'distiq-checkpoint',
    distiq_version: VERSION,
    config: JSON.stringify(parts.model.config()),
    loop: JSON.stringify(loop),
  };
  if (parts.optimizer) {
    const s = parts.optimizer.stateDict();
    for (const [n, b] of s.buffers) tensors.set(`optimizer.${n}`, { dtype: 'F32', shape: [b.length], data: b });
    meta.optimizer = JSON.stringify({ type: s.type, lr: s.lr, step: s.step });
  }
  if (parts.scheduler) meta.scheduler = JSON.stringify({ t: parts.scheduler.t });
  const rng: { model: Record<string, RngState>; extra: Record<string, RngState> } = { model: parts.model.rngState(), extra: {} };
  for (const [n, r] of Object.entries(parts.rngs ?? {})) rng.extra[n] = r.getState();
  meta.rng = JSON.stringify(rng);
  writeFileAtomic(file, encodeSafetensors(tensors, meta));
}

/** Restores a checkpoint into the given parts (same architecture and optimizer type); returns the saved loop state. */
export function loadCheckpoint(file: string, parts: CheckpointParts): Record<string, unknown> {
  expectModule(parts.model);
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== 'distiq-checkpoint') throw new DistiqRangeError(`"${file}" is not a distiq checkpoint (format ${describe(metadata.format)})`);
  parts.model.loadStateDict(stateFrom(file, tensors, 'model.'));
  if (parts.optimizer) {
    const o = parseJson<{ type: string; lr: number; step: number }>(file, 'optimizer', metadata.optimizer);
    const buffers = new Map<string, Float32Array>();
    for (const [n, t] of stateFrom(file, tensors, 'optimizer.')) buffers.set(n, t.data);
    parts.optimizer.loadStateDict({ type: o.type, lr: o.lr, step: o.step, buffers });
  }
  if (parts.scheduler) parts.scheduler.setStep(parseJson<{ t: number }>(file, 'scheduler', metadata.scheduler).t);
  const rng = parseJson<{ model: Record<string, RngState>; extra: Record<string, RngState> }>(file, 'rng', metadata.rng);
  parts.model.setRngState(rng.model);
  for (const [n, r] of Object.entries(parts.rngs ?? {})) {
    const s = rng.extra[n];
    if (s === undefined) throw new DistiqRangeError(`"${file}": no saved state for the generator "${n}"`);
    r.setState(s);
  }
  return parseJson<Record<string, unknown>>(file, 'loop', metadata.loop);
}
