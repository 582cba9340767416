/** The observers, and `createObserver(kind, options)` for code that picks one by name (calibrate, PTQ configs). */
import { DistiqTypeError } from '../../errors';
import { describe, expectOneOf } from '../../validate';
import { EntropyObserver, type EntropyOptions } from './entropy';
import { MinMaxObserver, MovingAverageMinMaxObserver, type MovingAverageOptions } from './minmax';
import { MseObserver, type MseOptions } from './mse';
import type { Observer, ObserverOptions } from './observer';
import { PercentileObserver, type PercentileOptions } from './percentile';

export type ObserverKind = 'minmax' | 'moving-average' | 'percentile' | 'mse' | 'entropy';
export const OBSERVER_KINDS: readonly ObserverKind[] = ['minmax', 'moving-average', 'percentile', 'mse', 'entropy'];

/** Options of every kind together (each kind reads its own; `scheme` is required for `mse`). */
export type AnyObserverOptions = ObserverOptions & Partial<MovingAverageOptions & PercentileOptions & EntropyOptions & Omit<MseOptions, 'scheme'>> & {
  scheme?: MseOptions['scheme'];
};

export function createObserver(kind: ObserverKind, opts: AnyObserverOptions = {}): Observer {
  expectOneOf('observer', kind, OBSERVER_KINDS);
  if (opts === null || typeof opts !== 'object') throw new DistiqTypeError(`The "options" argument must be an object. Received ${describe(opts)}`);
  const base: ObserverOptions = {};
  if (opts.granularity !== undefined) base.granularity = opts.granularity;
  if (opts.axis !== undefined) base.axis = opts.axis;
  if (opts.name !== undefined) base.name = opts.name;
  const hist = opts.binsPerSide === undefined ? base : { ...base, binsPerSide: opts.binsPerSide };
  switch (kind) {
    case 'minmax':
      return new MinMaxObserver(base);
    case 'moving-average':
      return new MovingAverageMinMaxObserver(opts.momentum === undefined ? base : { ...base, momentum: opts.momentum });
    case 'percentile':
      return new PercentileObserver(opts.percentile === undefined ? hist : { ...hist, percentile: opts.percentile });
    case 'mse':
      return new MseObserver({ ...hist, scheme: opts.scheme!, ...(opts.candidates === undefined ? {} : { candidates: opts.candidates }) });
    case 'entropy':
      return new EntropyObserver(opts.scheme === undefined ? hist : { ...hist, scheme: opts.scheme });
  }
}

export { EntropyObserver, MinMaxObserver, MovingAverageMinMaxObserver, MseObserver, PercentileObserver };
export { Observer } from './observer';
export type { ObservedRange, ObserverGranularity, ObserverOptions } from './observer';
export type { EntropyOptions, MovingAverageOptions, MseOptions, PercentileOptions };
export type { HistogramObserverOptions } from './histogram-observer';
