/**
 * The fused Adam / AdamW step on the native kernels (native/include/distiq/optim.h): one pass over a parameter
 * tensor p, its gradient g and the two moment buffers m, v, in place. Used by lib/nn/optim/adamw.ts.
 *
 * The per-step scalars come from {@link adamScalars} (float64, then rounded to float32 once); every ISA level then
 * computes the same float32 sequence per element, so results are bit-identical across levels and thread counts:
 *   p1 = p·decay;  gi = l2 = 0 ? g : g + l2·p1;  m = b1·m + c1·gi;  v = b2·v + (c2·gi)·gi
 *   p = p1 − (stepSize·m) / (√v·invBc2 + eps)
 */
import { fromNative } from '../errors';
import { native } from '../native';
import { expectBoolean, expectFinite, expectInteger, expectLength, expectTypedArray } from '../validate';

/** The float32 per-step constants of one Adam / AdamW step. */
export interface AdamScalars {
  decay: number;
  l2: number;
  beta1: number;
  c1: number;
  beta2: number;
  c2: number;
  stepSize: number;
  invBc2: number;
  eps: number;
}

export interface AdamStepOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** The step number t, from 1 (bias corrections 1 − β^t). */
  step: number;
  /** true: AdamW (decoupled decay p·(1 − lr·wd)); false: Adam (L2 decay g + wd·p). */
  decoupled: boolean;
}

const f = Math.fround;

/** Validates the hyper-parameters and returns the step's constants, each rounded to float32. */
export function adamScalars(o: AdamStepOptions): AdamScalars {
  expectFinite('lr', o.lr, { min: 0 });
  expectFinite('beta1', o.beta1, { min: 0, max: 1 });
  expectFinite('beta2', o.beta2, { min: 0, max: 1 });
  expectFinite('eps', o.eps, { min: 0 });
  expectFinite('weightDecay', o.weightDecay, { min: 0 });
  expectInteger('step', o.step, 1);
  expectBoolean('decoupled', o.decoupled);
  const bc1 = 1 - Math.pow(o.beta1, o.step), bc2 = 1 - Math.pow(o.beta2, o.step);
  const s: AdamScalars = {
    decay: f(o.decoupled ? 1 - o.lr * o.weightDecay : 1),
    l2: f(o.decoupled ? 0 : o.weightDecay),
    beta1: f(o.beta1),
    c1: f(1 - o.beta1),
    beta2: f(o.beta2),
    c2: f(1 - o.beta2),
    stepSize: f(o.lr / bc1),
    invBc2: f(1 / Math.sqrt(bc2)),
    eps: f(o.eps),
  };
  for (const [name, v] of Object.entries(s)) {
    if (!Number.isFinite(v)) {
      // e.g. beta1 = 1 (bias correction 0) or a float32 overflow of lr / (1 − β1^t)
      expectFinite(name === 'stepSize' || name === 'invBc2' ? `${name} (from lr, betas and step)` : name, v);
    }
  }
  return s;
}

/** Checks p, g, m, v: Float32Arrays of one length. */
export function expectAdamArrays(p: unknown, g: unknown, m: unknown, v: unknown): void {
  expectTypedArray('p', p, Float32Array);
  expectTypedArray('g', g, Float32Array);
  expectTypedArray('m', m, Float32Array);
  expectTypedArray('v', v, Float32Array);
  expectLength('g', g.length, p.length, 'p.length');
  expectLength('m', m.length, p.length, 'p.length');
  expectLength('v', v.length, p.length, 'p.length');
}

/**
 * One step in place: updates p, m and v from g with constants `s` from {@link adamScalars}. The four arrays must
 * have one length and must not share memory (ERR_DISTIQ_INVALID_ARG_VALUE from the native check).
 */
export function adamStep(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  expectAdamArrays(p, g, m, v);
  adamStepUnchecked(p, g, m, v, s);
}

/** adamStep without the JS-side checks (the native side re-checks every argument); for the optimizer's hot loop. */
export function adamStepUnchecked(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamScalars): void {
  try {
    native.adamStep(p, g, m, v, s.decay, s.l2, s.beta1, s.c1, s.beta2, s.c2, s.stepSize, s.invBc2, s.eps);
  } catch (err) {
    throw fromNative(err);
  }
}
