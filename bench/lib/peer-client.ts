/**
 * The harness side of the C++ peer drivers (bench/peers/peer.ts): starts each peer once per process, hands out the
 * setup reply's details (checksum, ops per iteration, implementation) with the handle, and closes them all at the end.
 * A peer that cannot start (library missing, build failure) becomes `{ skipped: reason }` and the bench goes on.
 */
import { isSkipped, startPeer, type Peer, type PeerCase, type PeerName } from '../peers/peer';

export type { PeerCase, PeerKind, PeerName } from '../peers/peer';

export interface PeerHandle {
  handle: string;
  /** sum(C) after the first execution (gemm kinds). */
  checksum?: number;
  /** Operations per iteration, all threads together (peak kinds). */
  opsPerIter?: number;
  /** What actually ran, as the driver reports it. */
  impl?: string;
}

export interface PeerClient {
  name: string;
  info: Record<string, string>;
  setup(c: PeerCase): Promise<PeerHandle>;
  run(handle: string, iters: number): Promise<number>;
  /** sum(C) left by the last run, or undefined when the peer cannot tell. */
  check(handle: string): Promise<number | undefined>;
  free(handle: string): Promise<void>;
  close(): Promise<void>;
}

function finite(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function wrap(p: Peer): PeerClient {
  return {
    name: p.name,
    info: p.info,
    async setup(c) {
      const handle = await p.setup(c);
      const d = p.details(handle);
      const out: PeerHandle = { handle };
      const checksum = finite(d?.checksum);
      if (checksum !== undefined) out.checksum = checksum;
      const ops = finite(d?.ops_per_iter);
      if (ops !== undefined) out.opsPerIter = ops;
      if (typeof d?.impl === 'string') out.impl = d.impl;
      return out;
    },
    run: (h, iters) => p.run(h, iters),
    check: (h) => p.check(h).catch(() => undefined),
    free: (h) => p.free(h),
    close: () => p.close(),
  };
}

async function start(name: PeerName): Promise<PeerClient | { skipped: string }> {
  try {
    const p = await startPeer(name);
    return isSkipped(p) ? p : wrap(p);
  } catch (err) {
    return { skipped: `${name} peer failed to start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/** Starts each peer once per process and closes them all at the end. */
export class PeerPool {
  private readonly started = new Map<PeerName, Promise<PeerClient | { skipped: string }>>();

  get(name: PeerName): Promise<PeerClient | { skipped: string }> {
    let p = this.started.get(name);
    if (!p) {
      p = start(name);
      this.started.set(name, p);
    }
    return p;
  }

  /** The `info` of every peer that started (library, ISA, runtime...). */
  async infos(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [name, p] of this.started) {
      const c = await p;
      if (!('skipped' in c)) out[name] = c.info;
    }
    return out;
  }

  async closeAll(): Promise<void> {
    for (const p of this.started.values()) {
      const c = await p;
      if (!('skipped' in c)) await c.close().catch(() => undefined);
    }
  }
}
