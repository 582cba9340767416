/** Rebuilds a module from its `config()` (the JSON stored in a model file's metadata). */
import { DistiqRangeError } from '../errors';
import { describe } from '../validate';
import { GELU, ReLU, Tanh } from './activations';
import { Conv2d } from './conv2d';
import { Dropout } from './dropout';
import { Linear } from './linear';
import type { Module, ModuleConfig } from './module';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from './norm';
import { AvgPool2d, MaxPool2d } from './pool';
import { Flatten, Sequential } from './sequential';

type Cfg = Record<string, unknown>;
const num = (c: Cfg, k: string): number => c[k] as number;
const opt = <T>(c: Cfg, k: string): T | undefined => c[k] as T | undefined;

const BUILDERS: Record<string, (c: Cfg) => Module> = {
  Linear: (c) => new Linear(num(c, 'inFeatures'), num(c, 'outFeatures'), { bias: opt(c, 'bias') }),
  Conv2d: (c) => new Conv2d(num(c, 'inChannels'), num(c, 'outChannels'), num(c, 'kernelSize'), {
    stride: opt(c, 'stride'), padding: opt(c, 'padding'), bias: opt(c, 'bias'),
  }),
  ReLU: () => new ReLU(),
  Tanh: () => new Tanh(),
  GELU: () => new GELU(),
  Dropout: (c) => new Dropout(num(c, 'p')),
  Flatten: () => new Flatten(),
  MaxPool2d: (c) => new MaxPool2d(num(c, 'kernelSize'), opt(c, 'stride'), opt(c, 'padding')),
  AvgPool2d: (c) => new AvgPool2d(num(c, 'kernelSize'), opt(c, 'stride'), opt(c, 'padding')),
  BatchNorm1d: (c) => new BatchNorm1d(num(c, 'numFeatures'), { eps: opt(c, 'eps'), momentum: opt(c, 'momentum'), affine: opt(c, 'affine') }),
  BatchNorm2d: (c) => new BatchNorm2d(num(c, 'numFeatures'), { eps: opt(c, 'eps'), momentum: opt(c, 'momentum'), affine: opt(c, 'affine') }),
  LayerNorm: (c) => new LayerNorm(num(c, 'normalizedShape'), { eps: opt(c, 'eps'), affine: opt(c, 'affine') }),
  Sequential: (c) => {
    const layers = c.layers;
    if (!Array.isArray(layers)) throw new DistiqRangeError(`Sequential config needs a "layers" array. Received ${describe(layers)}`);
    return new Sequential(...layers.map((l) => buildModule(l as ModuleConfig)));
  },
};

/** A fresh module (default-initialized weights) of the architecture `config` describes. */
export function buildModule(config: ModuleConfig): Module {
  if (config === null || typeof config !== 'object' || typeof config.type !== 'string') {
    throw new DistiqRangeError(`A module config must be an object with a "type". Received ${describe(config)}`);
  }
  const b = BUILDERS[config.type];
  if (b === undefined) throw new DistiqRangeError(`Unknown module type ${JSON.stringify(config.type)} (known: ${Object.keys(BUILDERS).join(', ')})`);
  return b(config);
}
