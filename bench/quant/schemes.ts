import type { ObserverKind, QuantSchemeSpec } from 'distiq';

/**
 * The schemes of issue 6's table, as bench/quant.ts runs them through distiq's PTQ, with PyTorch's figures on the
 * issue's reference teacher and student (the brackets) and the bench/quant_torch.py scheme measured on the same
 * weights in the same run.
 */

export type SchemeId =
  | 'fp32' | 'int8_static_pt_minmax' | 'int8_static_pc_minmax' | 'int8_static_pc_percentile' | 'int8_static_pc_mse'
  | 'int8_static_pc_entropy' | 'int8_dynamic' | 'int4_g32' | 'int4_g128' | 'int4_pc' | 'int4_pt'
  | 'int4_g32_rtn' | 'int4_g128_rtn' | 'int4_pc_rtn' | 'int4_pt_rtn' | 'nf4_g64'
  | 'kmeans16' | 'log2_4bit';

export type ModelName = 'teacher' | 'student';

export interface SchemeDef {
  id: SchemeId;
  /** What it is, for the notes. */
  text: string;
  kind: 'fp32' | 'int8-static' | 'int8-dynamic' | 'weight-only';
  /** The weight scheme (a lib/quant QuantSchemeSpec); absent for fp32. */
  weights?: QuantSchemeSpec;
  /** Static int8: the activation observer. */
  observer?: ObserverKind;
  /** bench/quant_torch.py's scheme with the same meaning (same id, or `torchAs`), when PyTorch has one. */
  torch?: boolean;
  /** The PyTorch scheme id compared with (default: this id). */
  torchAs?: SchemeId;
  /** Not in the table (an extra row, e.g. int4 per-tensor, which has a bracket). */
  extra?: boolean;
}

const W8_PC: QuantSchemeSpec = { mapping: 'linear', dtype: 'int8', symmetric: true, granularity: 'per-channel', axis: 0 };
const W8_PT: QuantSchemeSpec = { mapping: 'linear', dtype: 'int8', symmetric: true, granularity: 'per-tensor' };
/**
 * int4 symmetric weights. The table's int4 rows use the library default (`clip: 'mse'`: per group / channel /
 * tensor the clipping ratio with the least squared weight error); the `_rtn` rows (`clip: 'none'`) are plain
 * round-to-nearest on the min/max range, PyTorch's scheme, shown next to them.
 */
const W4 = (g: number | 'pc' | 'pt', rtn = false): QuantSchemeSpec => ({
  ...(g === 'pc' ? { mapping: 'linear', dtype: 'int4', symmetric: true, granularity: 'per-channel', axis: 0 }
    : g === 'pt' ? { mapping: 'linear', dtype: 'int4', symmetric: true, granularity: 'per-tensor' }
      : { mapping: 'linear', dtype: 'int4', symmetric: true, granularity: 'per-group', groupSize: g }),
  ...(rtn ? { clip: 'none' } : {}),
});

export const SCHEMES: readonly SchemeDef[] = [
  { id: 'fp32', text: 'float32', kind: 'fp32', torch: true },
  { id: 'int8_static_pt_minmax', text: 'int8 static, weights per-tensor, activations MinMax', kind: 'int8-static', weights: W8_PT, observer: 'minmax', torch: true },
  { id: 'int8_static_pc_minmax', text: 'int8 static, weights per-channel, activations MinMax', kind: 'int8-static', weights: W8_PC, observer: 'minmax', torch: true },
  { id: 'int8_static_pc_percentile', text: 'int8 static per-channel, activations Percentile', kind: 'int8-static', weights: W8_PC, observer: 'percentile' },
  { id: 'int8_static_pc_mse', text: 'int8 static per-channel, activations MSE clipping', kind: 'int8-static', weights: W8_PC, observer: 'mse' },
  { id: 'int8_static_pc_entropy', text: 'int8 static per-channel, activations Entropy (KL)', kind: 'int8-static', weights: W8_PC, observer: 'entropy' },
  { id: 'int8_dynamic', text: 'int8 dynamic (activation range per batch), weights per-channel', kind: 'int8-dynamic', weights: W8_PC, torch: true },
  { id: 'int4_g32', text: 'int4 weight-only, symmetric, groups of 32, MSE clipping (PyTorch: RTN)', kind: 'weight-only', weights: W4(32), torch: true },
  { id: 'int4_g128', text: 'int4 weight-only, symmetric, groups of 128, MSE clipping (PyTorch: RTN)', kind: 'weight-only', weights: W4(128), torch: true },
  { id: 'int4_pc', text: 'int4 weight-only, symmetric, per-channel, MSE clipping (PyTorch: RTN)', kind: 'weight-only', weights: W4('pc'), torch: true },
  { id: 'int4_pt', text: 'int4 weight-only, symmetric, per-tensor, MSE clipping (PyTorch: RTN; not in the table; has a bracket)', kind: 'weight-only', weights: W4('pt'), torch: true, extra: true },
  { id: 'int4_g32_rtn', text: 'int4 weight-only, symmetric, groups of 32, round-to-nearest (clip none)', kind: 'weight-only', weights: W4(32, true), torch: true, torchAs: 'int4_g32', extra: true },
  { id: 'int4_g128_rtn', text: 'int4 weight-only, symmetric, groups of 128, round-to-nearest (clip none)', kind: 'weight-only', weights: W4(128, true), torch: true, torchAs: 'int4_g128', extra: true },
  { id: 'int4_pc_rtn', text: 'int4 weight-only, symmetric, per-channel, round-to-nearest (clip none)', kind: 'weight-only', weights: W4('pc', true), torch: true, torchAs: 'int4_pc', extra: true },
  { id: 'int4_pt_rtn', text: 'int4 weight-only, symmetric, per-tensor, round-to-nearest (clip none)', kind: 'weight-only', weights: W4('pt', true), torch: true, torchAs: 'int4_pt', extra: true },
  { id: 'nf4_g64', text: 'NF4, groups of 64', kind: 'weight-only', weights: { mapping: 'nf4', dtype: 'uint4', granularity: 'per-group', groupSize: 64 } },
  { id: 'kmeans16', text: 'k-means codebook, 16 levels per output channel', kind: 'weight-only', weights: { mapping: 'kmeans', dtype: 'uint4', levels: 16, granularity: 'per-channel', axis: 0 } },
  { id: 'log2_4bit', text: 'power-of-two levels, int4, per-channel', kind: 'weight-only', weights: { mapping: 'log2', dtype: 'int4', granularity: 'per-channel', axis: 0 } },
];

/** PyTorch's accuracies in the issue (brackets), on its reference teacher / student. */
export const BRACKETS: Record<ModelName, Partial<Record<SchemeId, number>>> = {
  teacher: {
    fp32: 0.8986, int8_static_pc_minmax: 0.8978, int8_static_pt_minmax: 0.8968, int8_dynamic: 0.8982,
    int4_pt: 0.8913, int4_pc: 0.8995, int4_g128: 0.8983, int4_g32: 0.8988,
  },
  student: {
    fp32: 0.8856, int8_static_pc_minmax: 0.884, int8_static_pt_minmax: 0.885, int8_dynamic: 0.885,
    int4_pt: 0.771, int4_pc: 0.8442, int4_g128: 0.8638, int4_g32: 0.8671,
  },
};

export function schemeById(id: string): SchemeDef | undefined {
  return SCHEMES.find((s) => s.id === id);
}
