/**
 * Schedules for the distillation temperature T, the weight α and the weights of extra loss terms: a value as a
 * function of the optimizer step t (0-based: the value used by the update after t completed steps).
 *
 * - `constantSchedule(v)`: v.
 * - `linearSchedule(from, to, steps)`: from + (to − from)·min(t, steps)/steps.
 * - `cosineSchedule(from, to, steps)`: to + (from − to)·½(1 + cos(π·min(t, steps)/steps)).
 * Both ramps start at `from` (t = 0), reach `to` at t = steps and stay there; they are monotone, so a schedule's
 * values all lie between `from` and `to` (which is what the Distiller validates once, up front).
 */
import { DistiqRangeError, DistiqTypeError } from '../errors';
import { describe, expectFinite, expectInteger } from '../validate';

/** The shape of a Schedule. */
export type ScheduleKind = 'constant' | 'linear' | 'cosine';

/** A value as a function of the optimizer step (T, α, term weights); see the module comment. */
export interface Schedule {
  readonly kind: ScheduleKind;
  /** Value at step 0. */
  readonly from: number;
  /** Value from step `steps` on. */
  readonly to: number;
  /** Length of the ramp in optimizer steps (0 for a constant). */
  readonly steps: number;
  /** The value after `t` completed optimizer steps. */
  at(t: number): number;
}

/** The same value at every step. */
export function constantSchedule(value: number): Schedule {
  expectFinite('value', value);
  return Object.freeze({ kind: 'constant' as const, from: value, to: value, steps: 0, at: () => value });
}

function ramp(kind: 'linear' | 'cosine', from: number, to: number, steps: number): Schedule {
  expectFinite('from', from);
  expectFinite('to', to);
  expectInteger('steps', steps, 1);
  const d = to - from;
  const at = kind === 'linear'
    ? (t: number) => (t >= steps ? to : from + (d * Math.max(t, 0)) / steps)
    : (t: number) => (t >= steps ? to : to - d * 0.5 * (1 + Math.cos((Math.PI * Math.max(t, 0)) / steps)));
  return Object.freeze({ kind, from, to, steps, at });
}

/** A linear ramp from `from` (step 0) to `to` (step `steps` and after). */
export function linearSchedule(from: number, to: number, steps: number): Schedule {
  return ramp('linear', from, to, steps);
}

/** A half-cosine ramp from `from` (step 0) to `to` (step `steps` and after). */
export function cosineSchedule(from: number, to: number, steps: number): Schedule {
  return ramp('cosine', from, to, steps);
}

/** True for an object with the Schedule members used here (`at`, `from`, `to`). */
export function isSchedule(v: unknown): v is Schedule {
  return v !== null && typeof v === 'object' && typeof (v as Schedule).at === 'function'
    && typeof (v as Schedule).from === 'number' && typeof (v as Schedule).to === 'number';
}

/** The value of a constant-or-schedule setting after `t` steps. */
export function valueAt(v: number | Schedule, t: number): number {
  return typeof v === 'number' ? v : v.at(t);
}

/**
 * Checks a constant-or-schedule setting once: every value it can take (the endpoints, as schedules are monotone)
 * must satisfy `ok`. The error names the setting and the offending value.
 */
export function expectSetting(
  name: string,
  v: unknown,
  ok: (x: number) => boolean,
  expected: string,
): asserts v is number | Schedule {
  if (typeof v === 'number') {
    if (!ok(v)) throw new DistiqRangeError(`The "${name}" setting must be ${expected}. Received ${v}`);
    return;
  }
  if (!isSchedule(v)) {
    throw new DistiqTypeError(`The "${name}" setting must be a number or a Schedule (constantSchedule, linearSchedule, cosineSchedule). Received ${describe(v)}`);
  }
  for (const [end, x] of [['start', v.from], ['end', v.to]] as const) {
    if (!ok(x)) throw new DistiqRangeError(`The "${name}" setting must be ${expected} at every step; its schedule ${end} value is ${x}`);
  }
}

/** A schedule or constant as JSON, for history/checkpoint metadata. */
export function describeSetting(v: number | Schedule): number | { kind: ScheduleKind; from: number; to: number; steps: number } {
  return typeof v === 'number' ? v : { kind: v.kind, from: v.from, to: v.to, steps: v.steps };
}
