/**
 * Client for the C++ peer drivers (wire protocol: bench/peers/README.md and the bench protocol notes).
 *
 * `startPeer(name)` builds the driver if missing or stale (build.ts), spawns it with the environment of that peer,
 * asks `info`, and returns a `Peer` — or `{ skipped: reason }` when the library (or compiler) is not installed.
 *
 * Environment per peer (the parent's environment is never modified):
 * - every peer: OMP_NUM_THREADS is removed (threads are set per case by the driver);
 * - `onednn`      : ONEDNN_MAX_CPU_ISA=DNNL_MAX_CPU_ISA=AVX512_CORE_VNNI — the best ISA distiq also targets. AMX is
 *                   out of scope for distiq (issue 3), and oneDNN 2.6 would otherwise dispatch int8 to AMX tiles;
 * - `onednn-amx`  : oneDNN's own choice (no cap; AMX int8 where available) — informational;
 * - `onednn-avx2` : ONEDNN_MAX_CPU_ISA=DNNL_MAX_CPU_ISA=AVX2 (note: oneDNN's AVX2 int8 path saturates int16 pair
 *                   sums, so its checksum can differ from the exact result);
 * - `openblas`    : OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed (auto-detected kernel);
 * - `machine`     : nothing else.
 *
 * Requests are answered in order, one at a time; each has a timeout. If the driver dies, every pending and later
 * request rejects with an error naming the peer, its exit code/signal and the tail of its stderr.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as readline from 'node:readline';

import { buildPeer, type PeerProgram, type Skipped } from './build';

export type { Skipped } from './build';

export type PeerName = 'onednn' | 'onednn-avx2' | 'onednn-amx' | 'openblas' | 'machine';

export type PeerKind =
  | 'gemm_u8s8'
  | 'gemm_s8s8'
  | 'gemm_f32'
  | 'peak_vnni_zmm'
  | 'peak_vnni_ymm'
  | 'peak_fma_zmm'
  | 'peak_fma_ymm'
  | 'copy';

export interface PeerCase {
  kind: PeerKind;
  m?: number;
  n?: number;
  k?: number;
  /** copy only: bytes copied per iteration. */
  bytes?: number;
  /** copy only: 'memcpy' (default, what STREAM copy compiles to), 'nt' (streaming stores) or 'store'. */
  mode?: 'memcpy' | 'nt' | 'store';
  threads: number;
}

/** The setup reply beyond the handle. */
export interface SetupDetails {
  handle: string;
  /** gemm kinds: sum of all elements of C after one execution (exact; see README). */
  checksum?: number;
  /** peak kinds: operations per iteration, all threads together (GOPS = ops_per_iter / ns_per_iter). */
  ops_per_iter?: number;
  /** What actually ran, e.g. "brg:avx512_core_vnni", "sgemm NT, core SkylakeX", "glibc memcpy". */
  impl?: string;
  [field: string]: unknown;
}

export interface Peer {
  name: PeerName;
  /** The driver's `info` reply without `ok`, values as strings (lib, isa, runtime, ...). */
  info: Record<string, string>;
  /** Prepares a case (allocation, fill, weight pre-packing, one warm execution); returns its handle. */
  setup(c: PeerCase): Promise<string>;
  /** Times `iters` back-to-back executions inside the driver; returns ns per iteration. */
  run(handle: string, iters: number): Promise<number>;
  free(handle: string): Promise<void>;
  /** Asks the driver to quit; kills it if it does not exit within 2 s. Idempotent. */
  close(): Promise<void>;
  /** The full setup reply of a live handle (checksum, ops_per_iter, impl...). */
  details(handle: string): SetupDetails | undefined;
  /** gemm kinds: recomputes the checksum from the C left by the last run. */
  check(handle: string): Promise<number>;
  /** The driver's process id. */
  pid: number;
}

export interface StartOptions {
  /** Timeout of one request in ms (default 120 000; `run` gets this or 4× the longest `run` seen, if larger). */
  timeoutMs?: number;
  /** Extra environment for the driver (applied after the peer's own changes). */
  env?: Record<string, string | undefined>;
}

type Reply = { ok: true; [field: string]: unknown } | { ok: false; error: string };

const PROGRAM: Record<PeerName, PeerProgram> = {
  onednn: 'onednn_peer',
  'onednn-avx2': 'onednn_peer',
  'onednn-amx': 'onednn_peer',
  openblas: 'openblas_peer',
  machine: 'machine_peer',
};

export function isSkipped(x: unknown): x is Skipped {
  return typeof x === 'object' && x !== null && typeof (x as { skipped?: unknown }).skipped === 'string';
}

/** The environment the driver of `name` runs with (exported for tests and for printing in reports). */
export function peerEnv(name: PeerName, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.OMP_NUM_THREADS;
  delete env.ONEDNN_MAX_CPU_ISA;
  delete env.DNNL_MAX_CPU_ISA;
  if (name === 'onednn') {
    env.ONEDNN_MAX_CPU_ISA = 'AVX512_CORE_VNNI';
    env.DNNL_MAX_CPU_ISA = 'AVX512_CORE_VNNI';
  } else if (name === 'onednn-avx2') {
    env.ONEDNN_MAX_CPU_ISA = 'AVX2';
    env.DNNL_MAX_CPU_ISA = 'AVX2';
  } else if (name === 'openblas') {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  return env;
}

function checkInt(what: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, received ${String(v)}`);
  }
  return v;
}

class PeerProcess implements Peer {
  info: Record<string, string> = {};
  readonly pid: number;
  private readonly queue: Array<{
    resolve: (r: Reply) => void;
    reject: (e: Error) => void;
    timer: NodeJS.Timeout;
  }> = [];
  private readonly setups = new Map<string, SetupDetails>();
  private stderrTail = '';
  private dead: Error | undefined;
  private exited: Promise<void>;
  private longestRunMs = 0;

  constructor(
    readonly name: PeerName,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly timeoutMs: number,
  ) {
    this.pid = child.pid ?? -1;
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => this.onLine(line));
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000);
    });
    child.stdin.on('error', () => {
      /* EPIPE when the driver died: reported through 'exit' */
    });
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        const how = signal ? `killed by ${signal}` : `exited with code ${String(code)}`;
        this.fail(new Error(`peer "${this.name}" (pid ${this.pid}) ${how}${this.stderrSuffix()}`));
        resolve();
      });
      child.on('error', (err) => {
        this.fail(new Error(`peer "${this.name}" process error: ${err.message}${this.stderrSuffix()}`));
        resolve();
      });
    });
  }

  private stderrSuffix(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; stderr: ${tail}` : '';
  }

  private fail(err: Error): void {
    if (!this.dead) this.dead = err;
    for (const p of this.queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    const pending = this.queue.shift();
    if (!pending) {
      this.fail(new Error(`peer "${this.name}" sent an unexpected line: ${line.slice(0, 200)}`));
      return;
    }
    clearTimeout(pending.timer);
    let reply: Reply;
    try {
      reply = JSON.parse(line) as Reply;
    } catch {
      pending.reject(new Error(`peer "${this.name}" sent a line that is not JSON: ${line.slice(0, 200)}`));
      return;
    }
    pending.resolve(reply);
  }

  /** Sends one request; resolves with the reply's fields when ok, rejects with the driver's error otherwise. */
  request(req: Record<string, unknown>, timeoutMs = this.timeoutMs): Promise<Record<string, unknown>> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error(
          `peer "${this.name}" did not answer ${JSON.stringify(req)} within ${timeoutMs} ms; killing it`,
        );
        this.fail(err);
        this.child.kill('SIGKILL');
      }, timeoutMs);
      this.queue.push({ resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify(req)}\n`);
    }).then((reply) => {
      if (!reply.ok) {
        throw new Error(`peer "${this.name}" refused ${JSON.stringify(req)}: ${reply.error}`);
      }
      return reply;
    });
  }

  async setup(c: PeerCase): Promise<string> {
    const req: Record<string, unknown> = { op: 'setup', kind: c.kind, threads: checkInt('threads', c.threads, 1) };
    for (const key of ['m', 'n', 'k', 'bytes'] as const) {
      if (c[key] !== undefined) req[key] = checkInt(key, c[key], 1);
    }
    if (c.mode !== undefined) req.mode = c.mode;
    const reply = await this.request(req);
    const handle = reply.handle;
    if (typeof handle !== 'string') throw new Error(`peer "${this.name}" setup reply has no handle`);
    const details: SetupDetails = { handle };
    for (const [key, value] of Object.entries(reply)) if (key !== 'ok') details[key] = value;
    this.setups.set(handle, details);
    return handle;
  }

  async run(handle: string, iters: number): Promise<number> {
    checkInt('iters', iters, 1);
    const timeout = Math.max(this.timeoutMs, 4 * this.longestRunMs);
    const t0 = performance.now();
    const reply = await this.request({ op: 'run', handle, iters }, timeout);
    this.longestRunMs = Math.max(this.longestRunMs, performance.now() - t0);
    const ns = reply.ns_per_iter;
    if (typeof ns !== 'number' || !(ns > 0)) {
      throw new Error(`peer "${this.name}" run reply has no valid ns_per_iter: ${JSON.stringify(reply)}`);
    }
    return ns;
  }

  async check(handle: string): Promise<number> {
    const reply = await this.request({ op: 'check', handle });
    if (typeof reply.checksum !== 'number') throw new Error(`peer "${this.name}" check reply has no checksum`);
    return reply.checksum;
  }

  details(handle: string): SetupDetails | undefined {
    return this.setups.get(handle);
  }

  async free(handle: string): Promise<void> {
    await this.request({ op: 'free', handle });
    this.setups.delete(handle);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && !this.dead) {
      this.dead = new Error(`peer "${this.name}" (pid ${this.pid}) was closed`);
      this.child.stdin.write('{"op":"quit"}\n');
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    } else if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/**
 * Builds (if needed) and starts the driver of `name`. Resolves to `{ skipped }` when its library or the compiler
 * is missing; rejects on a compile error or when the driver cannot start or answer `info`.
 */
export async function startPeer(name: PeerName, options: StartOptions = {}): Promise<Peer | Skipped> {
  const program = PROGRAM[name];
  if (!program) throw new Error(`unknown peer "${String(name)}" (expected ${Object.keys(PROGRAM).join(', ')})`);
  const built = await buildPeer(program);
  if (isSkipped(built)) return built;

  const env = peerEnv(name);
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const child = spawn(built.path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const peer = new PeerProcess(name, child, options.timeoutMs ?? 120_000);
  try {
    const info = await peer.request({ op: 'info' }, 30_000);
    for (const [key, value] of Object.entries(info)) if (key !== 'ok') peer.info[key] = String(value);
  } catch (err) {
    await peer.close();
    const message = err instanceof Error ? err.message : String(err);
    if (message.includes('error while loading shared libraries')) {
      const pkg = program === 'onednn_peer' ? 'libdnnl-dev' : program === 'openblas_peer' ? 'libopenblas-dev' : '';
      return { skipped: `${name}: shared library missing at run time${pkg ? `: apt-get install ${pkg}` : ''}` };
    }
    throw err;
  }
  return peer;
}
