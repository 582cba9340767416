/**
 * Students built from a teacher.
 *
 * - `narrowMlp(teacher, { hidden, seed })`: an MLP with the teacher's input and output widths, its activation
 *   (the first ReLU/GELU/Tanh found, else ReLU) and a leading Flatten when the teacher has one, and the given hidden
 *   widths (fewer and/or narrower layers; `[]` is a single Linear). Fresh PyTorch-default init from `new Rng(seed)`
 *   (default 0), layer by layer in order, so the same seed gives the same student.
 * - `initFromTeacher(student, teacher, mapping)`: copies the parameters and buffers of teacher layers into student
 *   layers, `mapping` = { studentLayer: teacherLayer } by dotted name. Every pair must hold tensors of the same names
 *   and shapes; everything is checked before anything is copied, so a failed call changes nothing.
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { GELU, ReLU, Tanh } from '../nn/activations';
import { Dropout } from '../nn/dropout';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { Flatten, Sequential } from '../nn/sequential';
import { Rng } from '../tensor/random';
import { formatShape } from '../tensor/shape';
import { describe, expectInteger } from '../validate';
import { findLayer } from './layers';
import { expectOptions } from './options';

/** Options of `narrowMlp`. */
export interface NarrowMlpOptions {
  /** Hidden layer widths of the student (each ≥ 1; may be empty). */
  hidden: number[];
  /** Seed of the initialization (default 0). */
  seed?: number;
}

/** A narrower/shallower MLP student of an MLP teacher (see the module comment). */
export function narrowMlp(teacher: Sequential, options: NarrowMlpOptions): Sequential {
  if (!(teacher instanceof Sequential)) throw new DistiqTypeError(`The "teacher" argument must be a Sequential MLP. Received ${describe(teacher)}`);
  if (options === null || typeof options !== 'object' || !Array.isArray(options.hidden)) {
    throw new DistiqTypeError(`The "options.hidden" setting must be an array of layer widths. Received ${describe(options?.hidden)}`);
  }
  expectOptions('narrowMlp() options', options, ['hidden', 'seed']);
  options.hidden.forEach((h, i) => expectInteger(`hidden[${i}]`, h, 1));
  const seed = options.seed ?? 0;
  expectInteger('seed', seed, 0, 0xffffffff);
  const linears: Linear[] = [];
  let act: (new () => Module) | null = null;
  let flatten = false;
  teacher.layers.forEach((m, i) => {
    if (m instanceof Linear) linears.push(m);
    else if (m instanceof ReLU || m instanceof GELU || m instanceof Tanh) act ??= m.constructor as new () => Module;
    else if (m instanceof Flatten && i === 0) flatten = true;
    else if (!(m instanceof Dropout)) {
      throw new DistiqRangeError(
        `narrowMlp: the teacher must be an MLP (Linear layers, activations, Dropout, a leading Flatten); its layer "${i}" is a ${m.constructor.name}`,
      );
    }
  });
  if (linears.length === 0) throw new DistiqRangeError('narrowMlp: the teacher has no Linear layer');
  const Act = act ?? ReLU;
  const widths = [linears[0]!.inFeatures, ...options.hidden, linears[linears.length - 1]!.outFeatures];
  const rng = new Rng(seed);
  const layers: Module[] = flatten ? [new Flatten()] : [];
  for (let i = 0; i + 1 < widths.length; i++) {
    if (i > 0) layers.push(new Act());
    layers.push(new Linear(widths[i]!, widths[i + 1]!, { rng }));
  }
  return new Sequential(...layers);
}

/** Copies teacher layers' tensors into student layers (see the module comment). Returns the student. */
export function initFromTeacher<M extends Module>(student: M, teacher: Module, mapping: Record<string, string>): M {
  if (!(student instanceof Module)) throw new DistiqTypeError(`The "student" argument must be a Module. Received ${describe(student)}`);
  if (!(teacher instanceof Module)) throw new DistiqTypeError(`The "teacher" argument must be a Module. Received ${describe(teacher)}`);
  if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) {
    throw new DistiqTypeError(`The "mapping" argument must be an object { studentLayer: teacherLayer }. Received ${describe(mapping)}`);
  }
  const copies: [Float32Array, Float32Array][] = [];
  for (const [sName, tName] of Object.entries(mapping)) {
    const s = findLayer(student, sName, `mapping["${sName}"] (student layer)`, 'student').module;
    const t = findLayer(teacher, tName, `mapping["${sName}"] = "${tName}" (teacher layer)`, 'teacher').module;
    const sd = s.stateDict(), td = t.stateDict();
    if (sd.size === 0) throw new DistiqRangeError(`mapping["${sName}"]: student layer "${sName}" (${s.constructor.name}) has no parameters to initialize`);
    for (const [n, st] of sd) {
      const tt = td.get(n);
      if (tt === undefined || !tt.sameShape(st)) {
        throw new DistiqRangeError(
          `mapping["${sName}"] = "${tName}": student ${s.constructor.name} "${sName}" ${n} ${formatShape(st.shape)} does not match teacher ${t.constructor.name} "${tName}" ` +
            (tt === undefined ? `(no tensor "${n}")` : `${n} ${formatShape(tt.shape)}`),
          'ERR_DISTIQ_SHAPE_MISMATCH',
        );
      }
      copies.push([st.data, tt.data]);
    }
    for (const n of td.keys()) {
      if (!sd.has(n)) {
        throw new DistiqRangeError(`mapping["${sName}"] = "${tName}": teacher ${t.constructor.name} has tensor "${n}", which student ${s.constructor.name} lacks`, 'ERR_DISTIQ_SHAPE_MISMATCH');
      }
    }
  }
  for (const [dst, src] of copies) dst.set(src);
  return student;
}
