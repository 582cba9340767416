/**
 * Quantized model files (docs/formats.md, "Quantized model file"): one safetensors file with every step's tensors
 * (int8 codes I8, 4-bit codes packed two per byte as U8, scales F32, zero points I32, biases and float layers F32)
 * and `__metadata__` = { format: "distiq-quantized", version: "1", distiq_version, layers: JSON of the layer records
 * (path, float layer config, mode, runtime, weight scheme, activation scheme, fused layers) }. Loading needs no float
 * model: the records rebuild every step, and the same tensors give the same bits.
 */
import { DistiqRangeError, DistiqTypeError } from '../../errors';
import { writeFileAtomic } from '../../io/atomic';
import { encodeSafetensors, readSafetensors } from '../../io/safetensors';
import { describe } from '../../validate';
import { QuantizedModel } from './quantized-model';
import type { LayerRecord } from './record';

export const QUANTIZED_FORMAT = 'distiq-quantized';
export const QUANTIZED_VERSION = '1';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const DISTIQ_VERSION: string = (require('../../../package.json') as { version: string }).version;

/** The file's bytes (what saveQuantized writes). */
export function encodeQuantized(model: QuantizedModel, metadata: Record<string, string> = {}): Buffer {
  if (!(model instanceof QuantizedModel)) throw new DistiqTypeError(`The "model" argument must be a QuantizedModel. Received ${describe(model)}`);
  const meta = {
    ...metadata,
    format: QUANTIZED_FORMAT,
    version: QUANTIZED_VERSION,
    distiq_version: DISTIQ_VERSION,
    layers: JSON.stringify(model.layers),
  };
  return encodeSafetensors(model.tensors, meta);
}

/** Writes `model` to `file` atomically (one safetensors file). */
export function saveQuantized(file: string, model: QuantizedModel, metadata: Record<string, string> = {}): void {
  if (typeof file !== 'string' || file === '') throw new DistiqTypeError(`The "file" argument must be a non-empty string. Received ${describe(file)}`);
  writeFileAtomic(file, encodeQuantized(model, metadata));
}

function checkRecords(file: string, v: unknown): LayerRecord[] {
  if (!Array.isArray(v) || v.length === 0) throw new DistiqRangeError(`"${file}": metadata "layers" must be a non-empty array of layer records`);
  v.forEach((r: unknown, i) => {
    const o = r as Partial<LayerRecord> | null;
    if (o === null || typeof o !== 'object' || typeof o.path !== 'string' || o.module === null || typeof o.module !== 'object'
      || !['int8', 'int4', 'fp32'].includes(o.runtime as string)) {
      throw new DistiqRangeError(`"${file}": metadata "layers"[${i}] is not a layer record (path, module, runtime). Received ${describe(r)}`);
    }
  });
  return v as LayerRecord[];
}

/** Reads a quantized model file; no float model needed. */
export function loadQuantized(file: string): QuantizedModel {
  if (typeof file !== 'string' || file === '') throw new DistiqTypeError(`The "file" argument must be a non-empty string. Received ${describe(file)}`);
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== QUANTIZED_FORMAT) {
    throw new DistiqRangeError(`"${file}" is not a distiq quantized model (metadata format ${describe(metadata.format)}, expected "${QUANTIZED_FORMAT}")`);
  }
  if (metadata.version !== QUANTIZED_VERSION) throw new DistiqRangeError(`"${file}": unsupported quantized model version ${describe(metadata.version)} (expected "${QUANTIZED_VERSION}")`);
  let layers: unknown;
  try {
    layers = JSON.parse(metadata.layers ?? '');
  } catch (err) {
    throw new DistiqRangeError(`"${file}": metadata "layers" is not valid JSON (${(err as Error).message})`);
  }
  return new QuantizedModel(checkRecords(file, layers), tensors, `"${file}"`);
}
