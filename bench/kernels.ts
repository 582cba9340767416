/**
 * `npm run bench:kernels [-- --quick]`: distiq's kernels against the peers a user would otherwise pick, measured in
 * one process run, interleaved, median of >= 7 repetitions after warm-up, at 1 and 2 threads. Writes
 * bench/results/kernels.json and regenerates bench/RESULTS.md. docs/benchmarks.md explains every row.
 *
 * Every case is verified once before it is timed: all contenders multiply the same matrices (the fills of
 * bench/peers/README.md) and their sum(C) must equal the closed-form value; element-wise and softmax outputs are
 * compared with distiq's. A peer that is missing is skipped with a one-line reason.
 *
 * The onednn-avx2 rows run in a child process of this script with DISTIQ_ISA=avx2 (distiq picks its ISA at load),
 * against oneDNN capped with ONEDNN_MAX_CPU_ISA=AVX2.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as distiq from 'distiq';

import { checkLine, kernelChecks } from './lib/acceptance';
import { parseArgs, usage, UsageError, type BenchArgs } from './lib/args';
import { floatArray, gemmData, Rand, sumOf, type GemmKind } from './lib/data';
import { busyWarning, loadAverage, machineInfo } from './lib/machine';
import { PeerPool, type PeerClient, type PeerKind, type PeerName } from './lib/peer-client';
import { benchDir, makeRow, Reporter, writeResults, type Metric, type Row } from './lib/report';
import { measure, timeAsync, timeSync, type Contender, type Stats } from './lib/timing';
import {
  createSession,
  dequantizeLinearGraph,
  dynamicQuantizeLinearGraph,
  gemmGraph,
  loadOrt,
  makeRunner,
  quantizeLinearGraph,
  softmaxKlGraph,
  type OrtPeer,
  type OrtSession,
} from './peers/ort';

const { packWeights, packWeightsF32, gemmS8, gemmS8Async, gemmF32, quantize, dequantize, minMax, affineParams, distillationLoss, setNumThreads, cpuInfo } = distiq;

type Shape = readonly [m: number, n: number, k: number];

const GEMM_SHAPES: readonly Shape[] = [
  [1, 4096, 4096],
  [16, 4096, 4096],
  [128, 768, 3072],
  [512, 512, 512],
  [1024, 1024, 1024],
  [256, 1200, 784],
];
const QUICK_GEMM_SHAPES: readonly Shape[] = [
  [1, 4096, 4096],
  [128, 768, 3072],
  [1024, 1024, 1024],
];

interface Ctx {
  args: BenchArgs;
  rep: Reporter;
  ort: OrtPeer | { skipped: string };
  peers: PeerPool;
  /** Measured peaks in GOPS, keyed like `vnni_zmm.t1`. */
  peaks: Map<string, number>;
  /** distiq's 1-thread values, keyed by `<kind>.<shape>`, for the 2-thread rows' speedup. */
  t1: Map<string, number>;
  /** Peer infos reported by the avx2 child. */
  childPeers: Record<string, Record<string, string>>;
  /** Child mode: only the onednn-avx2 int8 rows. */
  avx2Child: boolean;
  targetMs: number;
}

/** A contender's outcome: timing stats, or why it did not run. */
type Outcome = { stats: Stats; verified: boolean | undefined; note?: string } | { skipped: string };

interface Entrant {
  peer: string;
  /** Builds and verifies the contender; returns a skip reason instead when it cannot run. */
  prepare(): Promise<{ contender: Contender; verified?: boolean; note?: string; cleanup?: () => Promise<void> } | { skipped: string }>;
}

const shapeId = (s: Shape): string => `${s[0]}x${s[1]}x${s[2]}`;

function selected(ctx: Ctx, id: string): boolean {
  return ctx.args.only === null || ctx.args.only.test(id);
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

/**
 * Runs distiq and the entrants of one case interleaved; returns distiq's stats and each entrant's outcome.
 * Entrants that fail to prepare are skipped; the rest are timed together.
 */
async function runCase(
  ctx: Ctx,
  distiqContender: Contender,
  entrants: readonly Entrant[],
): Promise<{ distiq: Stats; outcomes: Map<string, Outcome> }> {
  const outcomes = new Map<string, Outcome>();
  const contenders: Contender[] = [distiqContender];
  const prepared: { peer: string; verified?: boolean; note?: string; cleanup?: () => Promise<void> }[] = [];
  for (const e of entrants) {
    let r: Awaited<ReturnType<Entrant['prepare']>>;
    try {
      r = await e.prepare();
    } catch (err) {
      r = { skipped: `${e.peer}: ${errText(err)}` };
    }
    if ('skipped' in r) {
      outcomes.set(e.peer, r);
      continue;
    }
    contenders.push({ name: e.peer, run: r.contender.run });
    prepared.push({ peer: e.peer, ...(r.verified !== undefined ? { verified: r.verified } : {}), ...(r.note ? { note: r.note } : {}), ...(r.cleanup ? { cleanup: r.cleanup } : {}) });
  }
  // A contender that fails while timed (e.g. a peer process died) is dropped with the reason; the rest are re-timed.
  let stats: Map<string, Stats> | undefined;
  while (stats === undefined) {
    const failing = { name: '' };
    const tagged = contenders.map((c) => ({
      name: c.name,
      run: (iters: number) =>
        c.run(iters).catch((err: unknown) => {
          failing.name = c.name;
          throw err;
        }),
    }));
    try {
      stats = await measure(tagged, { reps: ctx.args.reps, targetMs: ctx.targetMs, extraReps: ctx.args.quick ? 2 : 6 });
    } catch (err) {
      if (failing.name === '' || failing.name === distiqContender.name) throw err;
      outcomes.set(failing.name, { skipped: `${failing.name} failed while timed: ${errText(err)}` });
      contenders.splice(contenders.findIndex((c) => c.name === failing.name), 1);
      const dropped = prepared.findIndex((p) => p.peer === failing.name);
      const [gone] = prepared.splice(dropped, 1);
      if (gone?.cleanup) await gone.cleanup().catch(() => undefined);
    }
  }
  for (const p of prepared) {
    outcomes.set(p.peer, { stats: stats.get(p.peer)!, verified: p.verified, ...(p.note ? { note: p.note } : {}) });
    if (p.cleanup) await p.cleanup().catch(() => undefined);
  }
  // Rows in the entrants' order, whatever prepared or was skipped.
  const ordered = new Map<string, Outcome>();
  for (const e of entrants) ordered.set(e.peer, outcomes.get(e.peer)!);
  return { distiq: stats.get(distiqContender.name)!, outcomes: ordered };
}

/** Records distiq's 1-thread value of a case, or returns the 2+-thread speedup over it (rounded). */
function threadScaling(ctx: Ctx, key: string, threads: number, value: number): Record<string, unknown> {
  if (threads === 1) {
    ctx.t1.set(key, value);
    return {};
  }
  const v1 = ctx.t1.get(key);
  return v1 === undefined ? {} : { speedup_vs_t1: Number((value / v1).toFixed(2)) };
}

/** Converts ns per execution to the metric's value. `work` is ops (gops/gflops), bytes (gbps), or unused. */
function toMetric(metric: Metric, ns: number, work: number): number {
  switch (metric) {
    case 'gops':
    case 'gflops':
    case 'gbps':
      return work / ns;
    case 'ms':
      return ns / 1e6;
    case 'us':
      return ns / 1e3;
    case 's':
      return ns / 1e9;
    default:
      throw new Error(`metric ${metric} is not a timing`);
  }
}

/** Emits one row per entrant for a measured case. */
function emitRows(
  ctx: Ctx,
  idBase: string,
  metric: Metric,
  work: number,
  distiqStats: Stats,
  outcomes: Map<string, Outcome>,
  extra: (peer: string) => Record<string, unknown> = () => ({}),
  peerWork: (peer: string) => number = () => work,
): void {
  const value = toMetric(metric, distiqStats.median, work);
  for (const [peer, o] of outcomes) {
    const base = { ...extra(peer), samples: distiqStats.samples };
    if ('skipped' in o) {
      ctx.rep.add(makeRow(`${idBase}.${peer}`, metric, value, peer, null, { ...base, skipped: o.skipped }));
    } else {
      const fields: Record<string, unknown> = { ...base, rel_iqr: Number(Math.max(distiqStats.relIqr, o.stats.relIqr).toFixed(3)) };
      // A case is verified when distiq's own check (in `extra`, when it failed) and the peer's both passed.
      if (o.verified !== undefined && fields.verified !== false) fields.verified = o.verified;
      if (o.note) fields.note = [fields.note, o.note].filter(Boolean).join('; ');
      ctx.rep.add(makeRow(`${idBase}.${peer}`, metric, value, peer, toMetric(metric, o.stats.median, peerWork(peer)), fields));
    }
  }
}

// ---- peers as entrants ------------------------------------------------------------------------------------------

async function peerEntrant(ctx: Ctx, label: string, name: PeerName, c: { kind: PeerKind; m?: number; n?: number; k?: number; bytes?: number; threads: number }, expectedSum?: number): Promise<Entrant> {
  return {
    peer: label,
    async prepare() {
      const client = await ctx.peers.get(name);
      if ('skipped' in client) return { skipped: client.skipped };
      const h = await client.setup(c);
      let verified: boolean | undefined;
      let note: string | undefined;
      if (expectedSum !== undefined) {
        const sum = h.checksum ?? (await client.check(h.handle));
        if (sum === undefined) note = `${label} reports no checksum: unverified`;
        else verified = sum === expectedSum;
        if (verified === false) {
          note = `${label} sum(C) ${sum} != exact ${expectedSum}`;
          // oneDNN's AVX2 int8 path multiplies with vpmaddubsw, which saturates int16 pair sums: not exact.
          if (name === 'onednn-avx2') note += ' (oneDNN AVX2 int8 saturates int16 pair sums; distiq avx2 is exact)';
        }
      }
      return {
        contender: { name: label, run: (iters) => client.run(h.handle, iters) },
        ...(verified !== undefined ? { verified } : {}),
        ...(note ? { note } : {}),
        cleanup: () => client.free(h.handle),
      };
    },
  };
}

function ortEntrant(
  ctx: Ctx,
  build: (ort: OrtPeer) => Promise<{ session: OrtSession; run: () => Promise<unknown>; verify: () => Promise<{ ok: boolean; note?: string }> }>,
): Entrant {
  return {
    peer: 'ort',
    async prepare() {
      if ('skipped' in ctx.ort) return { skipped: ctx.ort.skipped };
      const b = await build(ctx.ort);
      const v = await b.verify();
      return {
        contender: { name: 'ort', run: timeAsync(b.run) },
        verified: v.ok,
        ...(v.note ? { note: v.note } : {}),
        cleanup: () => b.session.release(),
      };
    },
  };
}

// ---- int8 GEMM ----------------------------------------------------------------------------------------------------

async function int8Gemm(ctx: Ctx, kind: 'gemm_u8s8' | 'gemm_s8s8', shape: Shape, threads: number): Promise<void> {
  const idBase = `${kind}.${shapeId(shape)}.t${threads}`;
  // onednn is capped at AVX-512 VNNI; onednn-amx is oneDNN uncapped (AMX tiles where the CPU has them), the honest
  // peer for distiq's amx level.
  const peerNames = ctx.avx2Child ? ['onednn-avx2'] : ['ort', 'onednn', 'onednn-amx'];
  if (!peerNames.some((p) => selected(ctx, `${idBase}.${p}`))) return;
  const [m, n, k] = shape;
  const d = gemmData(kind, m, n, k);
  setNumThreads(threads);
  const packed = packWeights(d.w as Int8Array, n, k);
  const out = new Int32Array(m * n);
  const a = d.a as Uint8Array | Int8Array;
  gemmS8(a, m, packed, { out });
  const distiqOk = sumOf(out) === d.expectedSum;
  const entrants: Entrant[] = [];
  if (ctx.avx2Child) {
    entrants.push(await peerEntrant(ctx, 'onednn-avx2', 'onednn-avx2', { kind, m, n, k, threads }, d.expectedSum));
  } else {
    entrants.push(
      ortEntrant(ctx, async (o) => {
        const session = await createSession(o, gemmGraph(kind === 'gemm_u8s8' ? 'u8s8' : 's8s8', m, n, k, d.w), threads);
        const run = makeRunner(session, { A: new o.ort.Tensor(kind === 'gemm_u8s8' ? 'uint8' : 'int8', a, [m, k]) });
        return {
          session,
          run,
          verify: async () => {
            const c = (await run()).C!.data as Int32Array;
            let diff = 0;
            for (let i = 0; i < c.length; i++) if (c[i] !== out[i]) diff++;
            return diff === 0 && sumOf(c) === d.expectedSum ? { ok: true } : { ok: false, note: `ort C differs from distiq in ${diff} elements` };
          },
        };
      }),
    );
    entrants.push(await peerEntrant(ctx, 'onednn', 'onednn', { kind, m, n, k, threads }, d.expectedSum));
    entrants.push(await peerEntrant(ctx, 'onednn-amx', 'onednn-amx', { kind, m, n, k, threads }, d.expectedSum));
  }
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => gemmS8(a, m, packed, { out })) }, entrants);
  const ops = 2 * m * n * k;
  const peak = ctx.avx2Child ? undefined : ctx.peaks.get(`vnni_zmm.t${threads}`);
  const scaling = threadScaling(ctx, `${kind}.${shapeId(shape)}`, threads, ops / ds.median);
  emitRows(ctx, idBase, 'gops', ops, ds, outcomes, () => {
    const x: Record<string, unknown> = { ...scaling };
    if (peak !== undefined) x.pct_peak = Number(((100 * ops) / ds.median / peak).toFixed(1));
    if (!distiqOk) Object.assign(x, { verified: false, note: `distiq sum(C) ${sumOf(out)} != expected ${d.expectedSum}` });
    return x;
  });
}

/** 1×64×64 u8s8 called from JS: µs per call, distiq vs ORT session.run(). */
async function tinyGemm(ctx: Ctx): Promise<void> {
  const id = 'gemm_u8s8.1x64x64.t1';
  if (!selected(ctx, `${id}.ort`)) return;
  const [m, n, k] = [1, 64, 64];
  const d = gemmData('gemm_u8s8', m, n, k);
  setNumThreads(1);
  const packed = packWeights(d.w as Int8Array, n, k);
  const out = new Int32Array(m * n);
  const a = d.a as Uint8Array;
  const entrant = ortEntrant(ctx, async (o) => {
    const session = await createSession(o, gemmGraph('u8s8', m, n, k, d.w), 1);
    const run = makeRunner(session, { A: new o.ort.Tensor('uint8', a, [m, k]) });
    return { session, run, verify: async () => ({ ok: sumOf((await run()).C!.data as Int32Array) === d.expectedSum }) };
  });
  gemmS8(a, m, packed, { out });
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => gemmS8(a, m, packed, { out })) }, [entrant]);
  emitRows(ctx, id, 'us', 0, ds, outcomes, () => (sumOf(out) === d.expectedSum ? { note: 'per call from JS, incl. argument checks' } : { verified: false, note: 'distiq sum(C) wrong' }));
}

/** The onednn-avx2 rows: this script again, in a child process with DISTIQ_ISA=avx2. */
async function avx2Child(ctx: Ctx): Promise<void> {
  if (!cpuInfo().available.includes('avx2')) {
    ctx.rep.say('skip onednn-avx2 rows: this CPU has no avx2 level');
    return;
  }
  const outFile = path.join(os.tmpdir(), `distiq-bench-avx2-${process.pid}.json`);
  const argv = [__filename, '--avx2-child', outFile, '--reps', String(ctx.args.reps), '--threads', ctx.args.threads.join(',')];
  if (ctx.args.quick) argv.push('--quick');
  if (ctx.args.only) argv.push('--only', ctx.args.only.source);
  ctx.rep.say('onednn-avx2 rows: child process with DISTIQ_ISA=avx2 ...');
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, argv, { env: { ...process.env, DISTIQ_ISA: 'avx2' }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (c) => resolve(c ?? 1));
    child.on('error', () => resolve(1));
  });
  if (code !== 0 || !fs.existsSync(outFile)) {
    ctx.rep.say(`skip onednn-avx2 rows: the DISTIQ_ISA=avx2 child exited with ${code}`);
    return;
  }
  const child = JSON.parse(fs.readFileSync(outFile, 'utf8')) as { rows: Row[]; peers: Record<string, Record<string, string>> };
  fs.rmSync(outFile, { force: true });
  ctx.rep.rows.push(...child.rows); // already printed by the child
  Object.assign(ctx.childPeers, child.peers);
}

// ---- fp32 GEMM ----------------------------------------------------------------------------------------------------

async function f32Gemm(ctx: Ctx, shape: Shape, threads: number): Promise<void> {
  const idBase = `gemm_f32.${shapeId(shape)}.t${threads}`;
  if (!['ort', 'openblas', 'onednn'].some((p) => selected(ctx, `${idBase}.${p}`))) return;
  const [m, n, k] = shape;
  const d = gemmData('gemm_f32', m, n, k);
  const a = d.a as Float32Array, w = d.w as Float32Array;
  const out = new Float32Array(m * n);
  const outPlain = new Float32Array(m * n);
  setNumThreads(threads);
  // Two distiq forms, timed in the same interleaved run: W prepacked once (packWeightsF32), compared with ORT and
  // oneDNN, which prepack their initializer/weights too; and the per-call API (W [n, k] repacked on every call),
  // compared with OpenBLAS sgemm, which packs on every call as well. Both give the same bits.
  const packed = packWeightsF32(w, { k, n, transB: true });
  gemmF32(a, packed, m, n, k, { out });
  gemmF32(a, w, m, n, k, { transB: true, out: outPlain });
  const distiqOk = sumOf(out) === d.expectedSum && out.every((v, i) => v === outPlain[i]);
  const PER_CALL = 'distiq-per-call';
  const entrants: Entrant[] = [
    {
      peer: PER_CALL,
      prepare: async () => ({ contender: { name: PER_CALL, run: timeSync(() => gemmF32(a, w, m, n, k, { transB: true, out: outPlain })) } }),
    },
    ortEntrant(ctx, async (o) => {
      const session = await createSession(o, gemmGraph('f32', m, n, k, w), threads);
      const run = makeRunner(session, { A: new o.ort.Tensor('float32', a, [m, k]) });
      return {
        session,
        run,
        verify: async () => {
          const c = (await run()).C!.data as Float32Array;
          let diff = 0;
          for (let i = 0; i < c.length; i++) if (c[i] !== out[i]) diff++;
          return diff === 0 ? { ok: true } : { ok: false, note: `ort C differs from distiq in ${diff} elements` };
        },
      };
    }),
    await peerEntrant(ctx, 'openblas', 'openblas', { kind: 'gemm_f32', m, n, k, threads }, d.expectedSum),
    await peerEntrant(ctx, 'onednn', 'onednn', { kind: 'gemm_f32', m, n, k, threads }, d.expectedSum),
  ];
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => gemmF32(a, packed, m, n, k, { out })) }, entrants);
  const flops = 2 * m * n * k;
  const peak = ctx.peaks.get(`fma_zmm.t${threads}`);
  const perCall = outcomes.get(PER_CALL)!;
  outcomes.delete(PER_CALL);
  const perCallStats = 'stats' in perCall ? perCall.stats : ds;
  const scaling = threadScaling(ctx, `gemm_f32.${shapeId(shape)}`, threads, flops / ds.median);
  const extra = (stats: Stats, api: string) => () => {
    const x: Record<string, unknown> = { ...scaling, distiq_api: api };
    if (peak !== undefined) x.pct_peak = Number(((100 * flops) / stats.median / peak).toFixed(1));
    if (api === 'packed') x.per_call_gflops = Number((flops / perCallStats.median).toPrecision(4));
    else x.packed_gflops = Number((flops / ds.median).toPrecision(4));
    if (!distiqOk) Object.assign(x, { verified: false, note: `distiq sum(C) ${sumOf(out)} != expected ${d.expectedSum} or packed != per-call` });
    return x;
  };
  const only = (peers: string[]) => new Map([...outcomes].filter(([p]) => peers.includes(p)));
  emitRows(ctx, idBase, 'gflops', flops, ds, only(['ort']), extra(ds, 'packed'));
  emitRows(ctx, idBase, 'gflops', flops, perCallStats, only(['openblas']), extra(perCallStats, 'per-call'));
  emitRows(ctx, idBase, 'gflops', flops, ds, only(['onednn']), extra(ds, 'packed'));
}

// ---- quantize -----------------------------------------------------------------------------------------------------

function compareCodes(x: ArrayLike<number>, y: ArrayLike<number>): { diff: number; maxAbs: number } {
  let diff = 0, maxAbs = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i]! - y[i]!);
    if (e !== 0) {
      diff++;
      if (e > maxAbs) maxAbs = e;
    }
  }
  return { diff, maxAbs };
}

function codeCheck(what: string, c: { diff: number; maxAbs: number }, count: number): { ok: boolean; note?: string } {
  if (c.diff === 0) return { ok: true };
  const note = `${what}: ${c.diff} of ${count} codes differ (max ${c.maxAbs})`;
  return { ok: c.maxAbs <= 1 && c.diff * 1e4 <= count, note };
}

/** Rows of an element-wise case over `count` float32 elements: GB/s of the float side; the stream peer as 2·bytes/time. */
function emitBandwidthRows(ctx: Ctx, idBase: string, count: number, ds: Stats, outcomes: Map<string, Outcome>, ortNote: string): void {
  const bytes = count * 4;
  emitRows(
    ctx,
    idBase,
    'gbps',
    bytes,
    ds,
    outcomes,
    (peer) => ({ note: peer === 'stream' ? `peer: STREAM copy of ${bytes} bytes, 2·bytes/time` : ortNote }),
    (peer) => (peer === 'stream' ? 2 * bytes : bytes),
  );
}

async function quantizeStatic(ctx: Ctx, rows: number, cols: number, threads: number): Promise<void> {
  const count = rows * cols;
  const idBase = `quantize_s8.${count}.t${threads}`;
  if (!['ort', 'stream'].some((p) => selected(ctx, `${idBase}.${p}`))) return;
  const rng = new Rand(11);
  const x = floatArray(count, rng, (r) => r.normal() * 2);
  // Given per-channel scales (axis 0: one per row), from the row absmax, computed once outside timing.
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let mx = 0;
    for (let i = r * cols; i < (r + 1) * cols; i++) mx = Math.max(mx, Math.abs(x[i]!));
    scales[r] = Math.max(mx / 127, 1e-8);
  }
  setNumThreads(threads);
  const out = new Int8Array(count);
  const opts = { dtype: 'int8' as const, shape: [rows, cols], granularity: 'per-channel' as const, axis: 0, scale: scales, out };
  quantize(x, opts);
  const entrants: Entrant[] = [
    ortEntrant(ctx, async (o) => {
      const session = await createSession(o, quantizeLinearGraph(rows, cols, scales), threads);
      const run = makeRunner(session, { X: new o.ort.Tensor('float32', x, [rows, cols]) });
      return { session, run, verify: async () => codeCheck('ort vs distiq', compareCodes((await run()).Y!.data as Int8Array, out), count) };
    }),
    await peerEntrant(ctx, 'stream', 'machine', { kind: 'copy', bytes: count * 4, threads }),
  ];
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => quantize(x, opts)) }, entrants);
  emitBandwidthRows(ctx, idBase, count, ds, outcomes, 'GB/s of float32 input; ORT QuantizeLinear per-axis');
}

/** int8 → float32 per-channel (axis 0) with given scales, vs ORT DequantizeLinear per-axis; GB/s of float32 output. */
async function dequantizeStatic(ctx: Ctx, rows: number, cols: number, threads: number): Promise<void> {
  const count = rows * cols;
  const idBase = `dequantize_s8.${count}.t${threads}`;
  if (!selected(ctx, `${idBase}.ort`)) return;
  const rng = new Rand(13);
  const q = new Int8Array(count);
  for (let i = 0; i < count; i++) q[i] = rng.int(-128, 127);
  const scales = floatArray(rows, rng, (r) => r.uniform(0.001, 0.1));
  setNumThreads(threads);
  const out = new Float32Array(count);
  const opts = { dtype: 'int8' as const, shape: [rows, cols], granularity: 'per-channel' as const, axis: 0, scale: scales, out };
  dequantize(q, opts);
  const entrant = ortEntrant(ctx, async (o) => {
    const session = await createSession(o, dequantizeLinearGraph(rows, cols, scales), threads);
    const run = makeRunner(session, { X: new o.ort.Tensor('int8', q, [rows, cols]) });
    return {
      session,
      run,
      verify: async () => {
        const c = compareCodes((await run()).Y!.data as Float32Array, out);
        return c.diff === 0 ? { ok: true } : { ok: false, note: `ort vs distiq: ${c.diff} of ${count} values differ` };
      },
    };
  });
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => dequantize(q, opts)) }, [entrant]);
  emitBandwidthRows(ctx, idBase, count, ds, outcomes, 'GB/s of float32 output; ORT DequantizeLinear per-axis');
}

async function quantizeDynamic(ctx: Ctx, count: number, threads: number): Promise<void> {
  const idBase = `quantize_s8_dynamic.${count}.t${threads}`;
  if (!['ort', 'stream'].some((p) => selected(ctx, `${idBase}.${p}`))) return;
  const rng = new Rand(12);
  const x = floatArray(count, rng, (r) => r.normal() * 2 + 0.5);
  setNumThreads(threads);
  const out = new Uint8Array(count);
  const layout = { shape: [count] };
  // The fastest honest composition of the public API for ORT's DynamicQuantizeLinear semantics (per-tensor uint8
  // asymmetric, range including 0): one min/max pass, the parameters, one quantize pass.
  let last = { scale: 0, zeroPoint: 0 };
  const run = (): void => {
    const { min, max } = minMax(x, layout);
    const p = affineParams(min, max, { dtype: 'uint8' });
    quantize(x, { dtype: 'uint8', shape: layout.shape, scale: p.scale, zeroPoint: p.zeroPoint, out });
    last = { scale: p.scale[0]!, zeroPoint: p.zeroPoint[0]! };
  };
  run();
  const entrants: Entrant[] = [
    ortEntrant(ctx, async (o) => {
      const session = await createSession(o, dynamicQuantizeLinearGraph(count), threads);
      const runOrt = makeRunner(session, { X: new o.ort.Tensor('float32', x, [count]) });
      return {
        session,
        run: runOrt,
        verify: async () => {
          const r = await runOrt();
          const s = (r.Y_scale!.data as Float32Array)[0]!, z = (r.Y_zero_point!.data as Uint8Array)[0]!;
          const c = codeCheck('ort vs distiq', compareCodes(r.Y!.data as Uint8Array, out), count);
          const paramsNote = s === last.scale && z === last.zeroPoint ? '' : `scale ${s} vs ${last.scale}, zero point ${z} vs ${last.zeroPoint}`;
          const ok = c.ok && Math.abs(s - last.scale) <= 1e-6 * last.scale && Math.abs(z - last.zeroPoint) <= 1;
          const note = [c.note, paramsNote].filter(Boolean).join('; ');
          return note ? { ok, note } : { ok };
        },
      };
    }),
    await peerEntrant(ctx, 'stream', 'machine', { kind: 'copy', bytes: count * 4, threads }),
  ];
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(run) }, entrants);
  emitBandwidthRows(
    ctx,
    idBase,
    count,
    ds,
    outcomes,
    'uint8 asymmetric per-tensor on both sides (DynamicQuantizeLinear semantics): minMax + affineParams + quantize',
  );
}

// ---- softmax-KL ---------------------------------------------------------------------------------------------------

/**
 * The plain-JS peer: distillation loss (mean) and its gradient, float64 arithmetic on float32 arrays, maxima
 * subtracted before every exp, each exp computed once (kept in per-row scratch).
 */
export function jsDistillationLoss(
  s: Float32Array,
  t: Float32Array,
  labels: Int32Array,
  rows: number,
  cols: number,
  temperature: number,
  alpha: number,
  grad: Float32Array,
  scratch: Float64Array,
): number {
  const invT = 1 / temperature;
  const ea = scratch.subarray(0, cols), eb = scratch.subarray(cols, 2 * cols), e1 = scratch.subarray(2 * cols, 3 * cols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let ms = -Infinity, mt = -Infinity;
    for (let i = 0; i < cols; i++) {
      if (s[o + i]! > ms) ms = s[o + i]!;
      if (t[o + i]! > mt) mt = t[o + i]!;
    }
    const ma = ms * invT, mb = mt * invT;
    let za = 0, zb = 0, z1 = 0, cross = 0;
    for (let i = 0; i < cols; i++) {
      const a = s[o + i]! * invT, b = t[o + i]! * invT;
      const xa = Math.exp(a - ma), xb = Math.exp(b - mb), x1 = Math.exp(s[o + i]! - ms);
      ea[i] = xa;
      eb[i] = xb;
      e1[i] = x1;
      za += xa;
      zb += xb;
      z1 += x1;
      cross += xb * (b - a);
    }
    const kl = cross / zb + (ma - mb) + Math.log(za) - Math.log(zb);
    const y = labels[r]!;
    const ce = ms + Math.log(z1) - s[o + y]!;
    total += alpha * temperature * temperature * kl + (1 - alpha) * ce;
    const gk = (alpha * temperature) / rows, gc = (1 - alpha) / rows;
    for (let i = 0; i < cols; i++) {
      grad[o + i] = gk * (ea[i]! / za - eb[i]! / zb) + gc * (e1[i]! / z1 - (i === y ? 1 : 0));
    }
  }
  return total / rows;
}

function compareLossGrad(what: string, loss: number, grad: Float32Array, refLoss: number, refGrad: Float32Array): { ok: boolean; note?: string } {
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < grad.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(grad[i]! - refGrad[i]!));
    maxRef = Math.max(maxRef, Math.abs(refGrad[i]!));
  }
  const lossRel = Math.abs(loss - refLoss) / Math.max(Math.abs(refLoss), 1e-30);
  const ok = lossRel <= 1e-4 && maxDiff <= 1e-4 * maxRef + 1e-9;
  return ok ? { ok } : { ok, note: `${what}: loss rel diff ${lossRel.toExponential(2)}, grad max diff ${maxDiff.toExponential(2)} (max |grad| ${maxRef.toExponential(2)})` };
}

async function softmaxKl(ctx: Ctx, rows: number, cols: number, threads: number): Promise<void> {
  const idBase = `softmax_kl.${rows}x${cols}.t${threads}`;
  if (!['js', 'ort'].some((p) => selected(ctx, `${idBase}.${p}`))) return;
  const T = 2, alpha = 0.5;
  const rng = new Rand(21);
  const s = floatArray(rows * cols, rng, (r) => 3 * r.normal());
  const t = floatArray(rows * cols, rng, (r) => 3 * r.normal());
  const labels = Int32Array.from({ length: rows }, () => rng.int(0, cols - 1));
  const grad = new Float32Array(rows * cols);
  const rowLoss = new Float32Array(rows);
  setNumThreads(threads);
  const opts = { rows, cols, teacher: t, labels, temperature: T, alpha, grad, rowLoss };
  const ref = distillationLoss(s, opts);
  const refLoss = ref.loss;
  const refGrad = grad.slice();
  const jsGrad = new Float32Array(rows * cols);
  const scratch = new Float64Array(3 * cols);
  const jsEntrant: Entrant = {
    peer: 'js',
    async prepare() {
      const loss = jsDistillationLoss(s, t, labels, rows, cols, T, alpha, jsGrad, scratch);
      const v = compareLossGrad('js vs distiq', loss, jsGrad, refLoss, refGrad);
      return {
        contender: { name: 'js', run: timeSync(() => jsDistillationLoss(s, t, labels, rows, cols, T, alpha, jsGrad, scratch)) },
        verified: v.ok,
        note: ['plain JS, single-threaded', v.note].filter(Boolean).join('; '),
      };
    },
  };
  const ortE = ortEntrant(ctx, async (o) => {
    const session = await createSession(o, softmaxKlGraph(rows, cols, T, alpha), threads);
    const feeds = {
      S: new o.ort.Tensor('float32', s, [rows, cols]),
      Tt: new o.ort.Tensor('float32', t, [rows, cols]),
      labels: new o.ort.Tensor('int64', BigInt64Array.from(labels, (v) => BigInt(v)), [rows]),
    };
    const run = makeRunner(session, feeds);
    return {
      session,
      run,
      verify: async () => {
        const r = await run();
        const v = compareLossGrad('ort vs distiq', (r.loss!.data as Float32Array)[0]!, r.grad!.data as Float32Array, refLoss, refGrad);
        return { ok: v.ok, note: ['graph of 23 unfused ops (Softmax, LogSoftmax, OneHot, ReduceSum, ...)', v.note].filter(Boolean).join('; ') };
      },
    };
  });
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(() => distillationLoss(s, opts)) }, [jsEntrant, ortE]);
  emitRows(ctx, idBase, 'ms', 0, ds, outcomes);
}

// ---- int4 GEMV ----------------------------------------------------------------------------------------------------

interface Int4Api {
  quantizeWeightsS4(w: Float32Array, n: number, k: number, opts: { groupSize: number }): { codes: Uint8Array; scales: Float32Array };
  packWeightsS4(w: { codes: Uint8Array; scales: Float32Array }, n: number, k: number, opts: { groupSize: number }): unknown;
  gemmS4(a: Float32Array, m: number, packed: unknown, opts: { out: Float32Array }): Float32Array;
}

/** The int4 API when this build of distiq exports it (looked up at run time, so the bench runs without it). */
function int4Api(): Int4Api | null {
  const api = distiq as unknown as Record<string, unknown>;
  const names = ['quantizeWeightsS4', 'packWeightsS4', 'gemmS4'];
  return names.every((f) => typeof api[f] === 'function') ? (api as unknown as Int4Api) : null;
}

/**
 * y = x·Wᵀ per the int4 contract (docs: lib/ops/gemm-s4.ts), in float64 from the codes: x quantized per row to int8
 * (absmax/127, round half even), exact integer group dots, scaled by the group scale and the row scale.
 */
function int4Reference(x: Float32Array, codes: Uint8Array, scales: Float32Array, n: number, k: number, group: number): Float64Array {
  const aScale = Math.fround(x.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
  const a = new Int32Array(k);
  for (let q = 0; q < k; q++) {
    const r = Math.fround(x[q]! / aScale);
    const f = Math.floor(r), d = r - f;
    const rhe = d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; // round half to even
    a[q] = aScale > 0 ? Math.max(-127, Math.min(127, rhe)) : 0;
  }
  const rowBytes = Math.ceil(k / 2), groups = Math.ceil(k / group);
  const y = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let acc = 0;
    for (let g = 0; g < groups; g++) {
      let dot = 0;
      for (let q = g * group; q < Math.min(k, (g + 1) * group); q++) {
        const byte = codes[j * rowBytes + (q >> 1)]!;
        const nib = q & 1 ? byte >> 4 : byte & 15;
        dot += a[q]! * ((nib ^ 8) - 8);
      }
      acc += dot * scales[j * groups + g]!;
    }
    y[j] = acc * aScale;
  }
  return y;
}

/**
 * int4 weight-only GEMV (group 32, x quantized per call inside gemmS4) vs distiq's int8 GEMV of the same shape and
 * the same float-in / float-out work: x quantized per call (minMax + quantize, symmetric int8), gemmS8 with
 * per-channel weight scales and a float32 epilogue.
 */
async function gemvS4(ctx: Ctx): Promise<void> {
  const id = 'gemv_s4.1x4096x4096.t1.int8';
  if (!selected(ctx, id)) return;
  const api = int4Api();
  const [m, n, k, group] = [1, 4096, 4096, 32];
  if (api === null) {
    ctx.rep.add(makeRow(id, 'gops', null, 'int8', null, { skipped: 'int4 GEMV not available (no packWeightsS4/gemmS4 export)' }));
    return;
  }
  setNumThreads(1);
  const rng = new Rand(31);
  const wf = floatArray(n * k, rng, (r) => r.normal() * 0.05);
  const x = floatArray(m * k, rng, (r) => r.normal());
  // int4 side.
  const w4 = api.quantizeWeightsS4(wf, n, k, { groupSize: group });
  const packed4 = api.packWeightsS4(w4, n, k, { groupSize: group });
  const y4 = new Float32Array(n);
  const call4 = (): unknown => api.gemmS4(x, m, packed4, { out: y4 });
  call4();
  const ref = int4Reference(x, w4.codes, w4.scales, n, k, group);
  let maxErr = 0, maxRef = 0;
  for (let j = 0; j < n; j++) {
    maxErr = Math.max(maxErr, Math.abs(y4[j]! - ref[j]!));
    maxRef = Math.max(maxRef, Math.abs(ref[j]!));
  }
  const int4Ok = maxErr <= 1e-5 * maxRef;
  // int8 side: per-channel symmetric codes of the same weights.
  const w8 = new Int8Array(n * k);
  const wScale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let mx = 0;
    for (let q = 0; q < k; q++) mx = Math.max(mx, Math.abs(wf[j * k + q]!));
    wScale[j] = mx / 127;
    for (let q = 0; q < k; q++) w8[j * k + q] = Math.max(-127, Math.min(127, Math.round(wf[j * k + q]! / wScale[j]!)));
  }
  const packed8 = packWeights(w8, n, k);
  const a8 = new Int8Array(k);
  const y8 = new Float32Array(n);
  const call8 = (): void => {
    const { min, max } = minMax(x, { shape: [m, k] });
    const p = affineParams(min, max, { dtype: 'int8', symmetric: true });
    quantize(x, { dtype: 'int8', shape: [m, k], scale: p.scale, qmin: p.qmin, qmax: p.qmax, out: a8 });
    gemmS8(a8, m, packed8, { output: 'float32', aScale: p.scale[0]!, wScale, out: y8 });
  };
  const int8: Entrant = {
    peer: 'int8',
    async prepare() {
      call8();
      return { contender: { name: 'int8', run: timeSync(call8) } };
    },
  };
  const { distiq: ds, outcomes } = await runCase(ctx, { name: 'distiq', run: timeSync(call4) }, [int8]);
  // Both approximate x·Wᵀ: their outputs agree to quantization error.
  let num = 0, den = 0;
  for (let j = 0; j < n; j++) {
    num += (y4[j]! - y8[j]!) ** 2;
    den += y8[j]! ** 2;
  }
  const rel = Math.sqrt(num / Math.max(den, 1e-30));
  emitRows(ctx, 'gemv_s4.1x4096x4096.t1', 'gops', 2 * m * n * k, ds, outcomes, () => ({
    note:
      `int4 g=${group} vs int8 per-channel, float x in / float y out on both sides (x quantized per call); ` +
      `int4 vs float64 reference max err ${(maxErr / Math.max(maxRef, 1e-30)).toExponential(1)} of max|y|, int4 vs int8 rel. diff ${rel.toFixed(3)}`,
    verified: int4Ok && rel < 0.2,
  }));
}

// ---- peaks and event loop -----------------------------------------------------------------------------------------

async function peaks(ctx: Ctx): Promise<void> {
  const kinds: { kind: PeerKind; key: string; metric: Metric }[] = [
    { kind: 'peak_vnni_zmm', key: 'vnni_zmm', metric: 'gops' },
    { kind: 'peak_vnni_ymm', key: 'vnni_ymm', metric: 'gops' },
    { kind: 'peak_fma_zmm', key: 'fma_zmm', metric: 'gflops' },
  ];
  // Peaks are needed by the peak rows and the GEMM rows' % of peak only.
  const wanted = ['peak.vnni_zmm', 'gemm_u8s8.1x1x1.t1.ort', 'gemm_f32.1x1x1.t1.ort'];
  if (ctx.args.only !== null && !wanted.some((id) => ctx.args.only!.test(id)) && !/gemm|peak/.test(ctx.args.only.source)) return;
  const client = await ctx.peers.get('machine');
  if ('skipped' in client) {
    ctx.rep.say(`skip peak rows (and % of peak): ${client.skipped}`);
    return;
  }
  for (const { kind, key, metric } of kinds) {
    for (const threads of ctx.args.threads) {
      const id = threads === 1 ? `peak.${key}` : `peak.${key}.t${threads}`;
      try {
        const h = await client.setup({ kind, threads });
        if (h.opsPerIter === undefined) throw new Error('the machine peer reported no ops_per_iter');
        const stats = await measure([{ name: key, run: (iters) => client.run(h.handle, iters) }], { reps: ctx.args.reps, targetMs: ctx.targetMs });
        await client.free(h.handle);
        // A peak is a ceiling: noise only lowers it, so the best sample (not the median) is the estimate.
        const gops = h.opsPerIter / stats.get(key)!.min;
        ctx.peaks.set(`${key}.t${threads}`, gops);
        if (selected(ctx, id)) ctx.rep.add(makeRow(id, metric, gops, 'none', null, { threads, ...(h.impl ? { note: h.impl } : {}) }));
      } catch (err) {
        ctx.rep.say(`skip ${id}: ${errText(err)}`);
      }
    }
  }
}

/** scripts/event-loop-lag.js (measureEventLoopLag: monitorEventLoopDelay at 1 ms around one async call). */
interface LagResult {
  p99: number;
  max: number;
  lagP99: number;
  workMs: number;
  samples: number;
}

function loadLagTool(): ((work: () => Promise<unknown>) => Promise<LagResult>) | string {
  try {
    const file = path.join(path.dirname(benchDir()), 'scripts', 'event-loop-lag.js');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(file) as { measureEventLoopLag: (work: () => Promise<unknown>) => Promise<LagResult> }).measureEventLoopLag;
  } catch (err) {
    return `scripts/event-loop-lag.js not available: ${errText(err)}`;
  }
}

/** Event-loop delay p99 (raw histogram, 1 ms resolution) during one ~1 s gemmS8Async; the idle loop for scale. */
async function eventLoop(ctx: Ctx): Promise<void> {
  const id = 'event_loop.gemm_s8_async.p99';
  if (!selected(ctx, id)) return;
  const measureLag = loadLagTool();
  if (typeof measureLag === 'string') {
    ctx.rep.add(makeRow(id, 'ms', null, 'none', null, { skipped: measureLag }));
    return;
  }
  const threads = Math.max(...ctx.args.threads);
  setNumThreads(threads);
  const [n, k] = [4096, 4096];
  const probe = gemmData('gemm_u8s8', 256, n, k);
  const packed = packWeights(probe.w as Int8Array, n, k);
  let out = new Int32Array(256 * n);
  await gemmS8Async(probe.a as Uint8Array, 256, packed, { out });
  const t0 = process.hrtime.bigint();
  await gemmS8Async(probe.a as Uint8Array, 256, packed, { out });
  const msPerRow = Number(process.hrtime.bigint() - t0) / 1e6 / 256;
  const m = Math.min(16384, Math.max(256, Math.round(1000 / msPerRow)));
  const d = gemmData('gemm_u8s8', m, n, k);
  out = new Int32Array(m * n);
  const idle = await measureLag(() => new Promise((resolve) => setTimeout(resolve, 1000)));
  const r = await measureLag(() => gemmS8Async(d.a as Uint8Array, m, packed, { out }));
  ctx.rep.add(
    makeRow(id, 'ms', r.p99, 'none', null, {
      verified: sumOf(out) === d.expectedSum,
      note: `one gemmS8Async ${m}x${n}x${k} (${r.workMs.toFixed(0)} ms), ${threads} threads; max ${r.max.toFixed(2)} ms; idle loop p99 ${idle.p99.toFixed(2)} ms`,
    }),
  );
}

/** distiq's version and the kernel each op runs at the active ISA level. */
function distiqInfo(): Record<string, string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('distiq/package.json') as { version: string };
  return { version, ...(cpuInfo().kernels as unknown as Record<string, string>) };
}

// ---- main ---------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${usage('bench:kernels')}\n`);
      return 2;
    }
    throw err;
  }
  if (args.rest.includes('--help') || args.rest.includes('-h')) {
    process.stdout.write(`${usage('bench:kernels')}\n`);
    return 0;
  }
  const childAt = args.rest.indexOf('--avx2-child');
  const childOut = childAt >= 0 ? args.rest[childAt + 1] : undefined;
  const unknown = args.rest.filter((a, i) => !(i === childAt || (childAt >= 0 && i === childAt + 1)));
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n${usage('bench:kernels')}\n`);
    return 2;
  }
  const rep = new Reporter();
  const ctx: Ctx = {
    args,
    rep,
    ort: childOut ? { skipped: 'not used in the avx2 child' } : loadOrt(),
    peers: new PeerPool(),
    peaks: new Map(),
    t1: new Map(),
    childPeers: {},
    avx2Child: childOut !== undefined,
    targetMs: args.quick ? 25 : 40,
  };
  const shapes = args.quick ? QUICK_GEMM_SHAPES : GEMM_SHAPES;
  const t0 = Date.now();

  /** One case: a failure is printed and the section goes on with the next case. */
  const each = async (label: string, body: () => Promise<void>): Promise<void> => {
    try {
      await body();
    } catch (err) {
      rep.say(`!! ${label} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
    }
  };


  if (ctx.avx2Child) {
    const info = cpuInfo();
    if (info.isa !== 'avx2') throw new Error(`the avx2 child runs at ISA ${info.isa}, not avx2 (DISTIQ_ISA not honoured?)`);
    rep.say(`[avx2 child] distiq ISA ${info.isa}, int8 kernels ${info.kernels.gemm_u8s8} / ${info.kernels.gemm_s8s8}`);
    const childShapes = args.quick ? [[1024, 1024, 1024] as Shape] : shapes;
    for (const kind of ['gemm_u8s8', 'gemm_s8s8'] as const) {
      // One thread (the acceptance case): the AVX2 comparison is about the kernel, not the threading.
      for (const shape of childShapes) await each(`${kind}.${shapeId(shape)}.t1`, () => int8Gemm(ctx, kind, shape, 1));
    }
    fs.writeFileSync(childOut!, JSON.stringify({ rows: rep.rows, peers: await ctx.peers.infos() }));
    await ctx.peers.closeAll();
    return 0;
  }

  const machine = machineInfo();
  rep.say(`distiq kernels benchmark${args.quick ? ' (--quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, ISA ${machine.isa}, Node ${machine.node}`);
  rep.say(`median of >= ${args.reps} interleaved repetitions; threads ${args.threads.join(', ')}`);
  rep.say('onnxruntime-node: ' + ('skipped' in ctx.ort ? `skipped: ${ctx.ort.skipped}` : ctx.ort.version));
  const busy = busyWarning(machine.load_avg_start ?? 0, machine.cores);
  if (busy) rep.say(busy);

  const section = async (title: string, body: () => Promise<void>): Promise<void> => {
    rep.say(`\n== ${title}`);
    try {
      await body();
    } catch (err) {
      rep.say(`!! ${title} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      process.exitCode = 1;
    }
  };

  await section('machine peaks', () => peaks(ctx));
  await section('int8 GEMM u8s8 / s8s8 vs onnxruntime MatMulInteger and oneDNN', async () => {
    for (const kind of ['gemm_u8s8', 'gemm_s8s8'] as const) {
      const ks = args.quick && kind === 'gemm_s8s8' ? [[512, 512, 512] as Shape] : shapes;
      for (const shape of ks) for (const t of args.threads) await each(`${kind}.${shapeId(shape)}.t${t}`, () => int8Gemm(ctx, kind, shape, t));
    }
  });
  await section('int8 GEMM 1x64x64 from JS', () => tinyGemm(ctx));
  await section('int8 GEMM at DISTIQ_ISA=avx2 vs oneDNN capped at AVX2', () => avx2Child(ctx));
  await section('fp32 GEMM vs onnxruntime MatMul, OpenBLAS, oneDNN', async () => {
    const fs32 = args.quick ? [[128, 768, 3072] as Shape, [512, 512, 512] as Shape] : shapes;
    for (const shape of fs32) for (const t of args.threads) await each(`gemm_f32.${shapeId(shape)}.t${t}`, () => f32Gemm(ctx, shape, t));
  });
  await section('quantize f32 -> int8, dequantize int8 -> f32', async () => {
    const sizes: [number, number][] = args.quick ? [[4096, 4096]] : [[4096, 4096], [1024, 1024]];
    for (const [r, c] of sizes) {
      for (const t of args.quick ? [1] : args.threads) {
        await each(`quantize_s8.${r * c}.t${t}`, () => quantizeStatic(ctx, r, c, t));
        await each(`quantize_s8_dynamic.${r * c}.t${t}`, () => quantizeDynamic(ctx, r * c, t));
        await each(`dequantize_s8.${r * c}.t${t}`, () => dequantizeStatic(ctx, r, c, t));
      }
    }
  });
  await section('softmax-KL loss + gradient', async () => {
    for (const [r, c] of [[4096, 10], [256, 32000]] as const) {
      for (const t of args.quick ? [1] : args.threads) await each(`softmax_kl.${r}x${c}.t${t}`, () => softmaxKl(ctx, r, c, t));
    }
  });
  await section('int4 GEMV', () => gemvS4(ctx));
  await section('event loop during async GEMM', () => eventLoop(ctx));

  const peers = await ctx.peers.infos();
  Object.assign(peers, ctx.childPeers);
  if (!('skipped' in ctx.ort)) peers.ort = { lib: `onnxruntime-node ${ctx.ort.version}` };
  await ctx.peers.closeAll();
  const minutes = (Date.now() - t0) / 60000;
  machine.load_avg_end = loadAverage();
  const checks = kernelChecks(rep.rows);
  rep.say('\n== acceptance checks (issue 3) on this run');
  for (const c of checks) if (args.only === null || c.pass !== null) rep.say(checkLine(c));
  rep.say(`\n${rep.rows.length} rows in ${minutes.toFixed(1)} min`);
  if (args.write && args.only === null) {
    const file = writeResults({
      name: args.quick ? 'kernels-quick' : 'kernels',
      date: new Date().toISOString(),
      machine,
      rows: rep.rows,
      distiq: distiqInfo(),
      peers,
      settings: { quick: args.quick, reps: args.reps, threads: args.threads.join(',') },
      checks,
    });
    rep.say(`wrote ${path.relative(process.cwd(), file)} and bench/RESULTS.md`);
  } else if (args.write) {
    rep.say('--only given: results not written (a partial run would replace the full table)');
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = process.exitCode || code;
  },
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
