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

/** An entry point's own options (those parseArgs leaves in `rest`): boolean flags and integer-valued options. */
export interface OwnOptionSpec {
  /** Flags without a value, e.g. '--skip-torch'. */
  flags?: readonly string[];
  /** Options taking an integer, with its range, e.g. { '--seeds': { min: 1, max: 20 } }. */
  ints?: Readonly<Record<string, { min: number; max: number }>>;
}

export interface OwnOptions {
  /** The flags given. */
  flags: Set<string>;
  /** The integer options given (absent when not given: the entry point applies its default). */
  ints: Map<string, number>;
}

/** The usage text of an entry point's own options: "[--seeds <n>] [--fresh-teacher]". */
export function ownUsage(spec: OwnOptionSpec): string {
  return [...Object.keys(spec.ints ?? {}).map((f) => `[${f} <n>]`), ...(spec.flags ?? []).map((f) => `[${f}]`)].join(' ');
}

/** Parses BenchArgs.rest by `spec` (`--opt v` or `--opt=v`); throws UsageError for an unknown argument or a bad value. */
export function parseOwnOptions(rest: readonly string[], spec: OwnOptionSpec): OwnOptions {
  const out: OwnOptions = { flags: new Set(), ints: new Map() };
  const ints = spec.ints ?? {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (eq < 0 && spec.flags?.includes(a)) {
      out.flags.add(a);
    } else if (Object.hasOwn(ints, flag)) {
      const { min, max } = ints[flag]!;
      const text = eq > 0 ? a.slice(eq + 1) : rest[++i];
      const v = Number(text);
      if (text === undefined || text === '' || !(Number.isInteger(v) && v >= min && v <= max)) {
        throw new UsageError(`${flag} needs an integer in [${min}, ${max}]${text === undefined ? '' : `, got "${text}"`}`);
      }
      out.ints.set(flag, v);
    } else {
      throw new UsageError(`unknown argument: ${a}`);
    }
  }
  return out;
}

/**
 * The command line of a bench entry point: the shared options (parseArgs) and its own (`spec`). `--threads` defaults
 * to `defaultThreads` when not given. `--help` prints the usage and gives { exit: 0 }; bad input prints the message
 * and the usage on stderr and gives { exit: 2 }.
 */
export function parseEntryArgs(
  entry: string, argv: readonly string[], spec: OwnOptionSpec, defaultThreads?: number[],
): { args: BenchArgs; own: OwnOptions } | { exit: number } {
  const text = `${usage(entry)}\n  also: ${ownUsage(spec)}\n`;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(text);
    return { exit: 0 };
  }
  try {
    const args = parseArgs(argv);
    const own = parseOwnOptions(args.rest, spec);
    if (defaultThreads !== undefined && !argv.some((a) => a === '--threads' || a.startsWith('--threads='))) args.threads = defaultThreads;
    return { args, own };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${text}`);
    return { exit: 2 };
  }
}
