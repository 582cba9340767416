/**
 * bench/quant.ts's door to distiq's PTQ (lib/quant/ptq.ts, exported as `quantizeModel`): the QuantizeConfig of each
 * scheme of the table, and quantize → save → load without the float model.
 */
import { loadQuantized, quantizeModel, saveQuantized, type Module, type QuantizeConfig, type QuantizedModel, type Tensor } from 'distiq';

import type { SchemeDef } from './schemes';

/** The PTQ config of one scheme. */
export function ptqConfig(def: SchemeDef, calibration: readonly Tensor[]): QuantizeConfig {
  if (def.weights === undefined) throw new Error(`${def.id} is the float model, not a PTQ scheme`);
  switch (def.kind) {
    case 'int8-static':
      // Activations: the default linear uint8 asymmetric per-tensor scheme, ranges from the observer.
      return { weights: def.weights, activations: { mode: 'static', observer: def.observer ?? 'minmax' }, calibration };
    case 'int8-dynamic':
      return { weights: def.weights, activations: 'dynamic' };
    default:
      return { weights: def.weights, activations: 'float' };
  }
}

/** Quantizes `model` with `def`, saves it to `file` and returns the model loaded back from that file. */
export function quantizeSaveLoad(model: Module, def: SchemeDef, calibration: readonly Tensor[], file: string): QuantizedModel {
  saveQuantized(file, quantizeModel(model, ptqConfig(def, calibration)));
  return loadQuantized(file);
}
