/**
 * Command-line options shared by the benchmark entry points:
 *   --quick            a representative subset with fewer repetitions (a few minutes)
 *   --only <regex>     run only the cases whose row id (or group id) matches
 *   --reps <n>         repetitions per contender (>= 7, the default)
 *   --threads <list>   comma-separated thread counts (default 1,2)
 *   --no-write         print only: do not write bench/results/*.json nor bench/RESULTS.md
 *   --help
 */
export interface BenchArgs {
  quick: boolean;
  only: RegExp | null;
  reps: number;
  threads: number[];
  write: boolean;
  /** Arguments the entry point handles itself (not recognised here), in order. */
  rest: string[];
}

export const MIN_REPS = 7;

export class UsageError extends Error {}

export function usage(entry: string): string {
  return [
    `usage: npm run ${entry} -- [--quick] [--only <regex>] [--reps <n>=${MIN_REPS}+] [--threads 1,2] [--no-write]`,
    '  --quick     representative subset, fewer repetitions',
    '  --only      run the cases whose id matches the regular expression',
    '  --reps      timed repetitions per contender, median reported (at least 7)',
    '  --threads   thread counts to measure (comma-separated)',
    '  --no-write  do not write bench/results/*.json or bench/RESULTS.md',
  ].join('\n');
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { quick: false, only: null, reps: 0, threads: [1, 2], write: true, rest: [] };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i++;
      return v;
    };
    switch (flag) {
      case '--quick':
        out.quick = true;
        break;
      case '--no-write':
        out.write = false;
        break;
      case '--only': {
        const src = take();
        try {
          out.only = new RegExp(src);
        } catch {
          throw new UsageError(`--only: not a regular expression: ${src}`);
        }
        break;
      }
      case '--reps': {
        const n = Number(take());
        if (!Number.isInteger(n) || n < MIN_REPS) throw new UsageError(`--reps must be an integer >= ${MIN_REPS}`);
        out.reps = n;
        break;
      }
      case '--threads': {
        const list = take().split(',').map((s) => Number(s.trim()));
        if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) {
          throw new UsageError('--threads must be a comma-separated list of integers in [1, 256]');
        }
        out.threads = [...new Set(list)];
        break;
      }
      default:
        out.rest.push(a);
    }
  }
  if (out.reps === 0) out.reps = MIN_REPS;
  return out;
}
