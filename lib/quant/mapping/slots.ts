/**
 * Parameter slots of a layout (docs/quantization.md, "Granularity and geometry"): which elements share one scale /
 * zero point / codebook. The non-linear mappings work slot by slot, so they need each slot's elements together;
 * `slotIndex` lists them with a counting sort (elements of a slot in increasing order).
 */
import { quantGeometry, type QuantGeometry, type QuantLayout } from '../../ops/quantize';

export interface SlotIndex {
  geo: QuantGeometry;
  /** Slot of each element. */
  slotOf: Int32Array;
  /** Elements of slot k: order[offsets[k] .. offsets[k+1]). */
  offsets: Int32Array;
  order: Int32Array;
}

/** The slot of every element and the elements of every slot, for a validated layout. */
export function slotIndex(layout: QuantLayout): SlotIndex {
  const geo = quantGeometry(layout);
  const { count, channels, inner, group, params } = geo;
  const slotOf = new Int32Array(count);
  if (group > 0) {
    const perRow = Math.ceil(channels / group);
    for (let e = 0; e < count; e++) {
      const o = Math.floor(e / channels), c = e - o * channels;
      slotOf[e] = o * perRow + Math.floor(c / group);
    }
  } else if (channels > 1) {
    for (let e = 0; e < count; e++) slotOf[e] = Math.floor(e / inner) % channels;
  }
  const offsets = new Int32Array(params + 1);
  for (let e = 0; e < count; e++) offsets[slotOf[e]! + 1] = offsets[slotOf[e]! + 1]! + 1;
  for (let k = 0; k < params; k++) offsets[k + 1] = offsets[k + 1]! + offsets[k]!;
  const fill = offsets.slice(0, params);
  const order = new Int32Array(count);
  for (let e = 0; e < count; e++) order[fill[slotOf[e]!]!++] = e;
  return { geo, slotOf, offsets, order };
}

/** The values of slot `k` (a copy, in element order). */
export function slotValues(x: Float32Array, idx: SlotIndex, k: number): Float32Array {
  const a = idx.offsets[k]!, b = idx.offsets[k + 1]!;
  const out = new Float32Array(b - a);
  for (let i = a; i < b; i++) out[i - a] = x[idx.order[i]!]!;
  return out;
}

/** Largest |x| per slot (0 for an empty slot). x must be finite (checked by the caller). */
export function slotAbsMax(x: Float32Array, idx: SlotIndex): Float32Array {
  const out = new Float32Array(idx.geo.params);
  for (let e = 0; e < x.length; e++) {
    const k = idx.slotOf[e]!, a = Math.abs(x[e]!);
    if (a > out[k]!) out[k] = a;
  }
  return out;
}
