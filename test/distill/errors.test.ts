/**
 * Issue 5 item 7: bad distillation settings give typed errors naming the setting — teacher output of the wrong
 * width, NaN logits, T ≤ 0, α outside [0, 1], label/logit count mismatch, a layer mapping naming a missing layer.
 */
import { describe, expect, it, vi } from 'vitest';

import * as fs from 'node:fs';

import {
  AdamW, Linear, Module, ReLU, Sequential, Tensor, TensorDataset, functionTeacher, generateSoftLabels, modelTeacher, narrowMlp, reverseKL,
  type ModuleConfig,
} from '../../lib';
import { Distiller, type DistillTeacher } from '../../lib/distill/distiller';
import { hiddenState } from '../../lib/distill/hidden-state';
import { linearSchedule } from '../../lib/distill/schedule';
import { initFromTeacher } from '../../lib/distill/student';
import { withoutLabels } from '../../lib/distill/unlabeled';
import { mlp } from './fixtures';

const data = new TensorDataset(Float32Array.from({ length: 8 * 4 }, (_, i) => (i % 7) / 7), Int32Array.of(0, 1, 2, 0, 1, 2, 0, 1), [4], 3);

function teacherOf(predict: DistillTeacher['predict'], classes = 3): DistillTeacher {
  return { classes, kind: 'function', predict };
}

const goodTeacher = teacherOf(({ x }) => new Float32Array(x.dim(0) * 3).fill(0.5));

function distiller(over: Partial<ConstructorParameters<typeof Distiller>[0]> = {}): Distiller {
  return new Distiller({ student: mlp([4, 5, 3], 1), teacher: goodTeacher, optimizer: (p) => new AdamW(p), ...over });
}

const err = (name: string, code: string, message: RegExp): unknown => expect.objectContaining({ name, code, message: expect.stringMatching(message) });

/** Doubles the rows of its input's logits: [N, 3] → [2N, 3] (a broken student). */
class DoubleRows extends Module {
  forward(x: Tensor): Tensor {
    const n = x.dim(0);
    return new Tensor(new Float32Array(2 * n * 3), [2 * n, 3]);
  }
  backward(dy: Tensor): Tensor {
    return dy;
  }
  config(): ModuleConfig {
    return { type: 'DoubleRows' };
  }
}

describe('distillation errors', () => {
  it('teacher output of the wrong width', async () => {
    const d = distiller({ teacher: teacherOf(({ x }) => new Float32Array(x.dim(0) * 4)) });
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4 })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_SHAPE_MISMATCH', /The function teacher returned 4 columns per row; expected 3 \(4 rows × 3 classes = 12 values, received 16\)/),
    );
    // teacher.classes disagreeing with the student's output width
    const d2 = distiller({ teacher: teacherOf(({ x }) => new Float32Array(x.dim(0) * 4), 4) });
    await expect(d2.fit({ train: data, epochs: 1, batchSize: 4 })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_SHAPE_MISMATCH', /The function teacher has 4 classes \(teacher.classes\) but the student outputs 3 logits/),
    );
  });

  it('NaN teacher logits name the row and its dataset index; a diverging student is reported', async () => {
    const d = distiller({
      teacher: teacherOf(({ x, indices }) => {
        const out = new Float32Array(x.dim(0) * 3);
        for (let r = 0; r < indices.length; r++) if (indices[r] === 6) out[r * 3 + 1] = NaN;
        return out;
      }),
    });
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4, shuffle: false })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_NON_FINITE', /The function teacher returned a non-finite logit NaN at row 2 \(dataset index 6\), class 1/),
    );
    const student = mlp([4, 5, 3], 1);
    student.parameters()[0]!.data[0] = NaN;
    const d2 = distiller({ student });
    await expect(d2.fit({ train: data, epochs: 1, batchSize: 4 })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_NON_FINITE', /"student"/),
    );
  });

  it('T <= 0 and alpha outside [0, 1], constant or scheduled', () => {
    for (const temperature of [0, -1, NaN, Infinity]) {
      expect(() => distiller({ temperature })).toThrow(err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature" setting must be a finite number > 0. Received/));
    }
    expect(() => distiller({ temperature: linearSchedule(4, 0, 10) })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"temperature" setting must be a finite number > 0 at every step; its schedule end value is 0/),
    );
    for (const alpha of [-0.1, 1.5, NaN]) {
      expect(() => distiller({ alpha })).toThrow(err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha" setting must be in \[0, 1\]. Received/));
    }
    expect(() => distiller({ alpha: linearSchedule(0.5, 2, 10) })).toThrow(/"alpha" setting must be in \[0, 1\] at every step; its schedule end value is 2/);
    expect(() => distiller({ alpha: '0.5' as never })).toThrow(err('DistiqTypeError', 'ERR_DISTIQ_INVALID_ARG_TYPE', /"alpha" setting must be a number or a Schedule/));
    // A hand-made schedule that leaves the range is caught at the step where it does.
    const bad = { kind: 'linear' as const, from: 1, to: 1, steps: 1, at: (t: number) => (t >= 1 ? 3 : 1) };
    const d = distiller({ alpha: bad });
    return expect(d.fit({ train: data, epochs: 1, batchSize: 4 })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"alpha" setting must be in \[0, 1\]; at step 1 it is 3/),
    );
  });

  it('label/logit count mismatch', async () => {
    const d = distiller({ student: new DoubleRows(), alpha: 0.5 });
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4 })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_SHAPE_MISMATCH', /Label\/logit count mismatch: the batch has 4 labels but the student returned 8 rows of logits/),
    );
  });

  it('a layer mapping naming a missing layer (initFromTeacher, hiddenState)', () => {
    const student = mlp([4, 5, 3], 1), teacher = mlp([4, 6, 3], 2);
    expect(() => initFromTeacher(student, teacher, { 7: '0' })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"mapping\["7"\] \(student layer\)" setting names layer "7", which the student does not have \(its layers: 0 Linear, 1 ReLU, 2 Linear\)/),
    );
    expect(() => initFromTeacher(student, teacher, { 2: 'head' })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"mapping\["2"\] = "head" \(teacher layer\)" setting names layer "head", which the teacher does not have/),
    );
    expect(() => hiddenState({ studentLayer: '1', teacher, teacherLayer: '9' })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"teacherLayer" setting names layer "9", which the teacher does not have/),
    );
    const term = hiddenState({ studentLayer: '0.1', teacher, teacherLayer: '1' });
    expect(() => distiller({ student, losses: [term] })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"studentLayer" setting names layer "0.1", which the student does not have/),
    );
    // Shapes that do not match are a shape error naming both layers; nothing is copied.
    const before = student.parameters()[0]!.data.slice();
    expect(() => initFromTeacher(student, teacher, { 2: '2', 0: '0' })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_SHAPE_MISMATCH', /mapping\["0"\] = "0": student Linear "0" weight \[5, 4\] does not match teacher Linear "0" weight \[6, 4\]/),
    );
    expect(student.parameters()[0]!.data).toEqual(before);
  });

  it('unknown settings in an option bag are refused, naming the closest known one (a typo must not fall back to a default)', async () => {
    const unknown = (where: string, key: string, near: string): unknown => err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', new RegExp(`^${where} have no setting "${key}" \\(did you mean "${near}"\\?\\)`));
    expect(() => distiller({ temprature: 2 } as never)).toThrow(unknown('new Distiller\\(\\) options', 'temprature', 'temperature'));
    expect(() => distiller({ clip: 1 } as never)).toThrow(unknown('new Distiller\\(\\) options', 'clip', 'clipGradNorm'));
    const d = distiller();
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4, batch_size: 4 } as never)).rejects.toEqual(unknown('Distiller.fit\\(\\) options', 'batch_size', 'batchSize'));
    // The training engine's fit() spells the checkpoint interval "every"; here it is everyEpochs / everySteps.
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4, checkpoint: { path: '/tmp/x', every: 2 } as never })).rejects.toEqual(unknown('The "checkpoint" settings', 'every', 'everyEpochs'));
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4, earlyStopping: { patience: 1, metrics: 'valLoss' } as never })).rejects.toEqual(unknown('The "earlyStopping" settings', 'metrics', 'metric'));
    await expect(d.fit({ train: data, epochs: 1, batchSize: 4, earlyStopping: { patience: 1, metric: 'loss' as never } })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"earlyStopping.metric"/),
    );
    await expect(d.evaluate(data, { batch: 4 } as never)).rejects.toEqual(unknown('Distiller.evaluate\\(\\) options', 'batch', 'batchSize'));
    const model = mlp([4, 3], 1);
    expect(() => modelTeacher(model, { batchsize: 8 } as never)).toThrow(unknown('modelTeacher\\(\\) options', 'batchsize', 'batchSize'));
    expect(() => functionTeacher(() => new Float32Array(0), { classes: 3, nam: 'x' } as never)).toThrow(unknown('functionTeacher\\(\\) options', 'nam', 'name'));
    await expect(generateSoftLabels(goodTeacher, data, { out: '/tmp/never-created', topk: 2 } as never)).rejects.toEqual(unknown('generateSoftLabels\\(\\) options', 'topk', 'topK'));
    expect(() => hiddenState({ studentLayer: '1', teacher: model, teacherLayer: '0', metrc: 'mse' } as never)).toThrow(unknown('hiddenState\\(\\) options', 'metrc', 'metric'));
    expect(() => reverseKL({ T: 2 } as never)).toThrow(unknown('reverseKL\\(\\) options', 'T', 'temperature'));
    expect(() => narrowMlp(mlp([4, 5, 3], 1), { hidden: [2], sed: 1 } as never)).toThrow(unknown('narrowMlp\\(\\) options', 'sed', 'seed'));
    expect(fs.existsSync('/tmp/never-created')).toBe(false);
  });

  it('other settings: teacher type, data type, epochs/steps, clipGradNorm, optimizer coverage, SampleSource with alpha < 1', async () => {
    expect(() => distiller({ clipGradNorm: 0 })).toThrow(err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"clipGradNorm"/));
    expect(() => distiller({ clipGradNorm: 1, clipNorm: 2 })).toThrow(err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"clipGradNorm" \(1\) and "clipNorm" \(2\) options name the same setting/));
    expect(distiller({ clipNorm: 3 }).clipNorm).toBe(3);
    expect(distiller({ clipGradNorm: 3 }).clipNorm).toBe(3);
    expect(() => distiller({ teacher: mlp([4, 3], 1) as never })).toThrow(err('DistiqTypeError', 'ERR_DISTIQ_INVALID_ARG_TYPE', /wrap a model with modelTeacher/));
    expect(() => distiller({ teacher: { classes: 0, kind: 'x', predict: () => new Float32Array(0) } })).toThrow(/"teacher.classes"/);
    const d = distiller();
    await expect(d.fit({ train: {} as never, epochs: 1, batchSize: 4 })).rejects.toEqual(err('DistiqTypeError', 'ERR_DISTIQ_INVALID_ARG_TYPE', /"train" option must be a Dataset or a SampleSource/));
    await expect(d.fit({ train: data, batchSize: 4 })).rejects.toThrow(/exactly one of the "epochs" and "steps"/);
    await expect(d.fit({ train: data, epochs: 1, steps: 3, batchSize: 4 })).rejects.toThrow(/exactly one of the "epochs" and "steps"/);
    // Early stopping on a val metric that cannot be computed is refused before any training step.
    let steps = 0;
    const noEval = distiller({ evalTeacher: null });
    const onProgress = (): void => { steps++; };
    await expect(noEval.fit({ train: data, val: data, epochs: 1, batchSize: 4, onProgress, earlyStopping: { metric: 'valAgreement', patience: 1 } })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /'valAgreement' but there is no evaluation teacher/),
    );
    await expect(noEval.fit({ train: data, val: withoutLabels(data), epochs: 1, batchSize: 4, onProgress, earlyStopping: { patience: 1 } })).rejects.toEqual(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /'valLoss' but the "val" data has no labels and there is no evaluation teacher/),
    );
    expect(steps).toBe(0);
    const student = new Sequential(new Linear(4, 5), new ReLU(), new Linear(5, 3));
    const term = hiddenState({ studentLayer: '1', teacher: mlp([4, 6, 3], 2), teacherLayer: '1' });
    const taps = vi.spyOn(student, 'setTap');
    expect(() => new Distiller({ student, teacher: goodTeacher, losses: [term], optimizer: new AdamW(student.parameters()) })).toThrow(
      err('DistiqRangeError', 'ERR_DISTIQ_INVALID_ARG_VALUE', /"optimizer" option does not update the parameters of losses\[0\] \('hidden:1->1', its projector\)/),
    );
    // The refused Distiller removed the tap its term had installed on the student.
    expect(taps.mock.calls.map(([i, tap]) => [i, tap === null])).toEqual([[1, false], [1, true]]);
    taps.mockRestore();
  });
});
