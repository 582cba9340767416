/**
 * The harness side of bench/quant_torch.py: its accuracy mode (one subprocess run, JSON lines) and its serve mode (a
 * timing peer kept open for the whole bench, one JSON request per line, replies in order), started with
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE / OMP_NUM_THREADS removed from the environment.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { benchDir } from '../lib/report';
import { PY, torchEnv } from '../lib/torch';

export function torchScript(): string {
  return path.join(benchDir(), 'quant_torch.py');
}

export interface TorchSettings {
  /** model name → distiq model file (safetensors). */
  models: Record<string, string>;
  calibBatches: number;
  calibBatchSize: number;
  threads: number;
}

function commonArgs(s: TorchSettings): string[] {
  const out: string[] = [];
  for (const [name, file] of Object.entries(s.models)) out.push('--model', `${name}=${file}`);
  out.push('--calib-batches', String(s.calibBatches), '--calib-batch-size', String(s.calibBatchSize), '--threads', String(s.threads));
  return out;
}

export interface TorchAccuracy {
  model: string;
  scheme: string;
  accuracy: number;
  state_bytes: number;
}

/** PyTorch's test accuracy per (model, scheme), or the reason it could not run. */
export function torchAccuracies(s: TorchSettings, schemes: readonly string[]): TorchAccuracy[] | string {
  const r = spawnSync(PY, [torchScript(), 'accuracy', ...commonArgs(s), '--schemes', schemes.join(',')], {
    env: torchEnv(), encoding: 'utf8', maxBuffer: 1 << 22,
  });
  if (r.status !== 0) return `quant_torch.py accuracy failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return r.stdout.trim().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as TorchAccuracy);
}

interface Reply {
  ok: boolean;
  error?: string;
  [k: string]: unknown;
}

/** quant_torch.py serve: setup(model, scheme, batch) → handle; run(handle, iters) → ns per forward. */
export class TorchPeer {
  info: Record<string, string> = {};
  private readonly pending: { resolve: (r: Reply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  private stderr = '';
  private exited: string | null = null;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    const rl = readline.createInterface({ input: proc.stdout });
    rl.on('line', (line) => {
      const p = this.pending.shift();
      if (!p) return;
      clearTimeout(p.timer);
      try {
        p.resolve(JSON.parse(line) as Reply);
      } catch {
        p.reject(new Error(`quant_torch.py: not a JSON reply: ${line.slice(0, 200)}`));
      }
    });
    proc.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    proc.on('exit', (code, signal) => {
      this.exited = `quant_torch.py exited (${code ?? signal}): ${this.stderr.trim().split('\n').pop() ?? ''}`;
      for (const p of this.pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(new Error(this.exited));
      }
    });
  }

  /** Starts the peer and asks for its info; a failure becomes `{ skipped }`. */
  static async start(s: TorchSettings): Promise<TorchPeer | { skipped: string }> {
    try {
      const proc = spawn(PY, [torchScript(), 'serve', ...commonArgs(s)], { env: torchEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
      const peer = new TorchPeer(proc);
      const info = await peer.request({ op: 'info' });
      for (const [k, v] of Object.entries(info)) if (k !== 'ok') peer.info[k] = Array.isArray(v) ? v.join(',') : String(v);
      return peer;
    } catch (err) {
      return { skipped: `PyTorch peer failed to start: ${(err as Error).message.split('\n')[0]}` };
    }
  }

  /** One request; a peer that does not answer within `timeoutMs` (default 10 min) is killed and the request fails. */
  private request(req: Record<string, unknown>, timeoutMs = 600_000): Promise<Reply> {
    if (this.exited !== null) return Promise.reject(new Error(this.exited));
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill('SIGKILL'); // 'exit' rejects every pending request, this one included
        reject(new Error(`quant_torch.py did not answer ${JSON.stringify(req)} within ${timeoutMs / 1000} s; killed`));
      }, timeoutMs);
      this.pending.push({ resolve, reject, timer });
      this.proc.stdin.write(`${JSON.stringify(req)}\n`);
    }).then((r) => {
      if (!r.ok) throw new Error(`quant_torch.py ${String(req.op)}: ${r.error ?? 'failed'}`);
      return r;
    });
  }

  async setup(model: string, scheme: string, batch: number): Promise<string> {
    return String((await this.request({ op: 'setup', model, scheme, batch })).handle);
  }

  async run(handle: string, iters: number): Promise<number> {
    return Number((await this.request({ op: 'run', handle, iters })).ns_per_iter);
  }

  async setThreads(n: number): Promise<void> {
    await this.request({ op: 'threads', n });
  }

  async free(handle: string): Promise<void> {
    await this.request({ op: 'free', handle });
  }

  async close(): Promise<void> {
    if (this.exited !== null) return;
    const done = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    await this.request({ op: 'quit' }).catch(() => undefined);
    const timer = setTimeout(() => this.proc.kill(), 5000);
    await done;
    clearTimeout(timer);
  }
}
