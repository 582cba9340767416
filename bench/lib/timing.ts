/**
 * Interleaved timing of several contenders doing the same work, built for a noisy shared machine.
 *
 * - Each contender is a function that runs `iters` back-to-back executions and returns nanoseconds per execution
 *   (timed in-process with a monotonic clock, or inside a peer process).
 * - Calibration: one warm-up call, then `iters` is chosen so that one sample lasts about `targetMs`; one more
 *   warm-up sample at that count.
 * - Rounds: every round takes one sample of every contender, the starting contender rotating from round to round,
 *   so slow drifts of the machine (other jobs, frequency) hit every contender alike.
 * - A short pause after every sample (outside timing) lets the thread pool of the contender that just ran go idle.
 * - At least `reps` rounds (>= 7); while the spread is large (interquartile range above `maxRelIqr` of the median
 *   for some contender) more rounds are added, up to `extraReps` more. The median sample is the reported value.
 */

export interface Contender {
  name: string;
  /** Runs `iters` executions back to back; returns ns per execution. */
  run(iters: number): Promise<number>;
}

export interface TimingOptions {
  reps: number;
  /** Target duration of one sample (default 60 ms). */
  targetMs?: number;
  /** Upper bound on executions per sample (default 100000). */
  maxIters?: number;
  /** Spread above which more rounds are taken (default 0.1). */
  maxRelIqr?: number;
  /** Rounds that may be added while the spread is too large (default reps). */
  extraReps?: number;
  /**
   * Pause after every sample, outside timing (default 3 ms): lets the threads of the contender that just ran go
   * idle (thread pools spin for a while after a parallel region) before the next contender starts.
   */
  settleMs?: number;
}

export interface Stats {
  /** Median ns per execution. */
  median: number;
  min: number;
  max: number;
  /** Interquartile range / median. */
  relIqr: number;
  /** Samples taken (rounds). */
  samples: number;
  /** Executions per sample. */
  iters: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[], iters: number): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const median = quantile(s, 0.5);
  return {
    median,
    min: s[0] ?? NaN,
    max: s[s.length - 1] ?? NaN,
    relIqr: (quantile(s, 0.75) - quantile(s, 0.25)) / median,
    samples: s.length,
    iters,
  };
}

/** ns per execution of a synchronous function, timed with process.hrtime over `iters` calls. */
export function timeSync(fn: () => unknown): (iters: number) => Promise<number> {
  return async (iters) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) fn();
    return Number(process.hrtime.bigint() - t0) / iters;
  };
}

/** ns per execution of an async function, awaited one after the other. */
export function timeAsync(fn: () => Promise<unknown>): (iters: number) => Promise<number> {
  return async (iters) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iters; i++) await fn();
    return Number(process.hrtime.bigint() - t0) / iters;
  };
}

/** Measures every contender, interleaved; the result is keyed by contender name. */
export async function measure(contenders: readonly Contender[], opts: TimingOptions): Promise<Map<string, Stats>> {
  const targetNs = (opts.targetMs ?? 60) * 1e6;
  const maxIters = opts.maxIters ?? 100000;
  const maxRelIqr = opts.maxRelIqr ?? 0.1;
  const settleMs = opts.settleMs ?? 3;
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, settleMs));
  const iters: number[] = [];
  for (const c of contenders) {
    const first = await c.run(1); // warm-up: first call after setup (page faults, lazy init, thread wake-up)
    let t = Math.max(await c.run(1), 1);
    if (first < t) t = Math.max(first, 1);
    let n = Math.min(maxIters, Math.max(1, Math.round(targetNs / t)));
    // Re-calibrate once at that count: single calls of tiny ops are dominated by timer and loop overhead.
    const tn = await c.run(n);
    n = Math.min(maxIters, Math.max(1, Math.round(targetNs / Math.max(tn, 1))));
    iters.push(n);
  }
  const samples: number[][] = contenders.map(() => []);
  const spreadOk = (): boolean =>
    samples.every((s) => {
      const sorted = [...s].sort((a, b) => a - b);
      return (quantile(sorted, 0.75) - quantile(sorted, 0.25)) / quantile(sorted, 0.5) <= maxRelIqr;
    });
  const maxRounds = opts.reps + (opts.extraReps ?? opts.reps);
  for (let round = 0; round < maxRounds; round++) {
    if (round >= opts.reps && spreadOk()) break;
    for (let j = 0; j < contenders.length; j++) {
      const idx = (round + j) % contenders.length;
      samples[idx]!.push(await contenders[idx]!.run(iters[idx]!));
      if (settleMs > 0) await settle();
    }
  }
  const out = new Map<string, Stats>();
  contenders.forEach((c, i) => out.set(c.name, summarize(samples[i]!, iters[i]!)));
  return out;
}
