/**
 * bench/quant.ts's door to distiq's PTQ (lib/quant/ptq.ts): quantize a float model with one of the table's schemes,
 * save it, load it back without the float model, predict. Everything that depends on the PTQ API's exact names and
 * option shapes is in this file.
 */
import * as distiq from 'distiq';
import type { Module, Tensor } from 'distiq';

import type { SchemeDef } from './schemes';

export interface QModel {
  predict(x: Tensor): Tensor;
}

export interface Ptq {
  quantize(model: Module, def: SchemeDef, calibration: readonly Tensor[]): Promise<QModel>;
  save(file: string, q: QModel): Promise<void>;
  load(file: string): Promise<QModel>;
}

type AnyFn = (...args: unknown[]) => unknown;

function pick(names: readonly string[]): AnyFn | null {
  const lib = distiq as unknown as Record<string, unknown>;
  for (const n of names) if (typeof lib[n] === 'function') return lib[n] as AnyFn;
  return null;
}

/** The PTQ options of one scheme (lib/quant/ptq.ts QuantizeConfig). */
export function ptqOptions(def: SchemeDef, calibration: readonly Tensor[]): Record<string, unknown> {
  switch (def.kind) {
    case 'int8-static':
      // Activations: the default linear uint8 asymmetric per-tensor scheme, ranges from the observer.
      return { weights: def.weights, activations: { mode: 'static', observer: def.observer }, calibration };
    case 'int8-dynamic':
      return { weights: def.weights, activations: 'dynamic' };
    case 'weight-only':
      return { weights: def.weights, activations: 'float' };
    case 'fp32':
      throw new Error('fp32 is the float model, not a PTQ scheme');
  }
}

/** distiq's PTQ API, or the reason it is not there yet. */
export function ptqApi(): Ptq | string {
  const quantize = pick(['quantizeModel', 'ptqQuantize', 'ptq', 'quantizePtq', 'postTrainingQuantize']);
  const load = pick(['loadQuantized', 'loadQuantizedModel']);
  const save = pick(['saveQuantized', 'saveQuantizedModel']);
  if (quantize === null) return 'distiq exports no PTQ quantize (lib/quant/ptq.ts not landed yet)';
  if (load === null) return 'distiq exports no loadQuantized';
  return {
    async quantize(model, def, calibration) {
      return (await quantize(model, ptqOptions(def, calibration))) as QModel;
    },
    async save(file, q) {
      const own = (q as unknown as { save?: AnyFn }).save;
      if (save !== null) await save(file, q);
      else if (typeof own === 'function') await own.call(q, file);
      else throw new Error('neither saveQuantized nor QuantizedModel.save exists');
    },
    async load(file) {
      return (await load(file)) as QModel;
    },
  };
}
