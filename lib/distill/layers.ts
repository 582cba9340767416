/**
 * Layer names for distillation settings: a layer is named by its dotted child path inside a model ("2",
 * "features.0"), the names `Module.namedChildren()` and saved tensors use ("2.weight" is a parameter of layer "2").
 * A name that does not exist is a DistiqRangeError naming the setting, the model and the layers it has.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { BatchNorm1d, LayerNorm } from '../nn/norm';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { describe } from '../validate';

/** Every named layer of `model` (depth first), with its class: "0 Linear, 1 ReLU, 2 Linear". */
export function layerList(model: Module): string {
  const out: string[] = [];
  const walk = (m: Module, prefix: string): void => {
    for (const [n, c] of m.namedChildren()) {
      out.push(`${prefix}${n} ${c.constructor.name}`);
      walk(c, `${prefix}${n}.`);
    }
  };
  walk(model, '');
  return out.length === 0 ? '(none)' : out.join(', ');
}

/** A layer found by `findLayer`. */
export interface ResolvedLayer {
  module: Module;
  /** The Sequential holding it, and its index there (null for a child of another container). */
  parent: Module;
  index: number;
}

/**
 * The layer of `model` at dotted `path`. `setting` names the option the path came from (for the error), `role`
 * the model ("student" / "teacher").
 */
export function findLayer(model: Module, path: unknown, setting: string, role: string): ResolvedLayer {
  if (typeof path !== 'string' || path === '') {
    throw new DistiqTypeError(`The "${setting}" setting must be a non-empty layer name such as "1" or "features.0". Received ${describe(path)}`);
  }
  let cur: Module = model, parent: Module = model, index = -1;
  for (const part of path.split('.')) {
    const children = cur.namedChildren();
    const at = children.findIndex(([n]) => n === part);
    if (at < 0) {
      throw new DistiqRangeError(
        `The "${setting}" setting names layer "${path}", which the ${role} does not have (its layers: ${layerList(model)})`,
      );
    }
    parent = cur;
    index = at;
    cur = children[at]![1];
  }
  return { module: cur, parent, index };
}

/** `findLayer` for a layer whose output can be tapped: its parent must be a Sequential. */
export function findTappable(model: Module, path: unknown, setting: string, role: string): ResolvedLayer & { parent: Sequential } {
  const r = findLayer(model, path, setting, role);
  if (!(r.parent instanceof Sequential)) {
    throw new DistiqRangeError(
      `The "${setting}" setting names layer "${path as string}" of the ${role}, whose container is a ${r.parent.constructor.name}; hidden states can be read only from children of a Sequential`,
    );
  }
  return r as ResolvedLayer & { parent: Sequential };
}

const WIDTH_KEEPING = new Set(['ReLU', 'GELU', 'Tanh', 'Dropout']);

/**
 * Output features of the layer at `r` when they can be known without running it: a Linear's outFeatures, a
 * BatchNorm1d's / LayerNorm's width, or (for an activation or dropout) that of the nearest such layer before it in
 * the same Sequential. Null when unknown.
 */
export function outputWidth(r: ResolvedLayer): number | null {
  const m = r.module;
  if (m instanceof Linear) return m.outFeatures;
  if (m instanceof BatchNorm1d) return m.numFeatures;
  if (m instanceof LayerNorm && m.normalizedShape !== undefined) return m.normalizedShape;
  if (WIDTH_KEEPING.has(m.constructor.name) && r.parent instanceof Sequential && r.index > 0) {
    return outputWidth({ module: r.parent.layers[r.index - 1]!, parent: r.parent, index: r.index - 1 });
  }
  return null;
}
