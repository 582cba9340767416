/**
 * The terminal progress bar of `Distiller.fit`: one line on stderr, redrawn at most 10 times a second, finished
 * with a summary line per epoch. Only when stderr is a TTY (or when forced with a stream, for tests); silent
 * otherwise, so logs and pipes get nothing.
 */

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** The one-line progress bar (see the module comment). */
export class ProgressBar {
  private last = 0;
  private readonly stream: ProgressStream;
  private readonly now: () => number;

  /** `now` (milliseconds) paces the redraws; tests pass their own clock. */
  constructor(stream: ProgressStream, now: () => number = () => performance.now()) {
    this.stream = stream;
    this.now = now;
  }

  /** A bar on process.stderr when it is a TTY and `enabled` is not false; else null. */
  static forStderr(enabled: boolean | undefined): ProgressBar | null {
    if (enabled === false || process.stderr.isTTY !== true) return null;
    return new ProgressBar(process.stderr);
  }

  /** Redraws the bar after a step (at most every 100 ms, and always at the last step). */
  step(epoch: number, epochs: number, step: number, totalSteps: number, loss: number): void {
    const now = this.now();
    if (now - this.last < 100 && step !== totalSteps) return;
    this.last = now;
    const width = Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 60));
    const done = totalSteps > 0 ? Math.min(1, step / totalSteps) : 0;
    const fill = Math.round(done * width);
    const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
    this.stream.write(`\r[${bar}] epoch ${epoch}/${epochs} step ${step}/${totalSteps} loss ${loss.toFixed(4)}\x1b[K`);
  }

  /** Replaces the bar by an epoch summary line. */
  epoch(summary: string): void {
    this.stream.write(`\r${summary}\x1b[K\n`);
    this.last = 0;
  }
}
