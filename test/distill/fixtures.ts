/** Shared fixtures of the distiller tests: a small trained digits teacher and a model-teacher adapter. */
import { AdamW, Linear, ReLU, Rng, Sequential, digits, fit, type Module, type TensorDataset } from '../../lib';
import type { DistillTeacher } from '../../lib/distill/distiller';

/** A teacher over a distiq model (eval mode), copying its logits out. */
export function localTeacher(model: Module, classes = 10): DistillTeacher {
  return {
    classes,
    kind: 'model',
    predict: ({ x }) => {
      const was = model.training;
      model.eval();
      try {
        return model.forward(x).data.slice();
      } finally {
        model.train(was);
      }
    },
  };
}

/** Linear/ReLU MLP with the given widths, seeded. */
export function mlp(sizes: number[], seed: number): Sequential {
  const rng = new Rng(seed);
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    if (i > 0) layers.push(new ReLU());
    layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { rng }));
  }
  return new Sequential(...layers);
}

export interface DigitsTeacher {
  model: Sequential;
  train: TensorDataset;
  val: TensorDataset;
}

let cached: DigitsTeacher | null = null;

/** A teacher MLP 64-128-10 trained on digits[0:1400] (once per test file). */
export function trainedTeacher(): DigitsTeacher {
  if (cached) return cached;
  const d = digits();
  const train = d.subset(0, 1400), val = d.subset(1400, 1797);
  const model = mlp([64, 128, 10], 7);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 1e-4 });
  fit(model, { train, optimizer, epochs: 8, batchSize: 32, seed: 3 });
  cached = { model, train, val };
  return cached;
}

export function weights(m: Module): Float32Array[] {
  return m.parameters().map((p) => p.data.slice());
}
