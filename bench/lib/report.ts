/**
 * Results of every benchmark of this project: the JSON schema, the live stdout table, bench/results/<name>.json and
 * the generated bench/RESULTS.md (rebuilt from every bench/results/*.json, so each bench — kernels, train, distill,
 * quant — only writes its own JSON and calls {@link writeResults}).
 *
 *   { "name", "date", "machine": { "cpu", "cores", "isa", "node", ... },
 *     "rows": [ { "id", "metric", "value", "peer", "peer_value", "advantage", ...extra } ] }
 *
 * `advantage` > 1 means distiq is better: distiq/peer for throughput metrics (gops, gflops, gbps), peer/distiq for
 * time metrics (ms, us). Extras shown in the tables: pct_peak (distiq's % of the measured peak), speedup_vs_t1
 * (distiq at this thread count / at 1 thread), verified (false: the outputs differed), skipped, note. A row without a peer (`peer: "none"`) has peer_value and advantage null; a row whose
 * peer was unavailable has peer_value null and a `skipped` reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { MachineInfo } from './machine';

export type Metric = 'gops' | 'gflops' | 'gbps' | 'ms' | 'us' | 's' | 'accuracy' | 'bytes';

const HIGHER_IS_BETTER: Record<Metric, boolean> = {
  gops: true, gflops: true, gbps: true, ms: false, us: false, s: false, accuracy: true, bytes: false,
};

export interface Row {
  id: string;
  metric: Metric;
  /** distiq's value (null when distiq itself could not run the case). */
  value: number | null;
  /** Peer name, or "none". */
  peer: string;
  peer_value: number | null;
  advantage: number | null;
  /** Optional extras: pct_peak, note, skipped, verified, samples, rel_iqr, ... */
  [extra: string]: unknown;
}

export interface BenchResult {
  name: string;
  /** ISO 8601, UTC. */
  date: string;
  machine: MachineInfo;
  rows: Row[];
  /** Optional: distiq's version and the kernel each op ran (cpuInfo().kernels). */
  distiq?: Record<string, string>;
  /** Optional: versions and settings of the peers (library, ISA, runtime). */
  peers?: Record<string, Record<string, string>>;
  /** Optional: how the run was made (e.g. quick, repetitions). */
  settings?: Record<string, unknown>;
  /** Optional: acceptance checks evaluated on these rows (pass null: rows missing). */
  checks?: { id: string; text: string; pass: boolean | null; detail: string }[];
}

export function higherIsBetter(metric: Metric): boolean {
  return HIGHER_IS_BETTER[metric];
}

/** distiq/peer for throughput, peer/distiq for time; null when either side is missing. */
export function advantageOf(metric: Metric, value: number | null, peerValue: number | null): number | null {
  if (value === null || peerValue === null || !(value > 0) || !(peerValue > 0)) return null;
  return higherIsBetter(metric) ? value / peerValue : peerValue / value;
}

/** Rounds to `digits` significant digits (JSON stays readable; the precision is far beyond the noise). */
export function sig(x: number, digits = 4): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(digits));
}

/** Builds a row, computing the advantage and rounding the numbers. */
export function makeRow(
  id: string,
  metric: Metric,
  value: number | null,
  peer: string,
  peerValue: number | null,
  extra: Record<string, unknown> = {},
): Row {
  const v = value === null ? null : sig(value);
  const pv = peerValue === null ? null : sig(peerValue);
  const adv = advantageOf(metric, value, peerValue);
  return { id, metric, value: v, peer, peer_value: pv, advantage: adv === null ? null : sig(adv, 3), ...extra };
}

function fmt(x: unknown): string {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'number') {
    if (!Number.isFinite(x)) return String(x);
    const a = Math.abs(x);
    if (a >= 1000) return x.toFixed(0);
    if (a >= 100) return x.toFixed(1);
    if (a >= 10) return x.toFixed(2);
    return x.toPrecision(3);
  }
  return String(x);
}

/** Extra fields shown in the tables (others stay in the JSON only). */
function extrasText(row: Row): string {
  const parts: string[] = [];
  if (typeof row.pct_peak === 'number') parts.push(`${row.pct_peak.toFixed(0)}% of peak`);
  if (typeof row.speedup_vs_t1 === 'number') parts.push(`${row.speedup_vs_t1.toFixed(2)}× t1`);
  if (row.verified === false) parts.push('OUTPUT DIFFERS');
  if (typeof row.skipped === 'string') parts.push(`skipped: ${row.skipped}`);
  if (typeof row.note === 'string') parts.push(row.note);
  return parts.join('; ');
}

// ---- the live stdout table ----------------------------------------------------------------------------------

const COLS = [
  { title: 'id', width: 40 },
  { title: 'metric', width: 6 },
  { title: 'distiq', width: 9 },
  { title: 'peer', width: 9 },
  { title: 'adv', width: 6 },
];

export function tableHeader(): string {
  const head = COLS.map((c, i) => (i === 0 ? c.title.padEnd(c.width) : c.title.padStart(c.width))).join(' ');
  return `${head}  notes\n${'-'.repeat(head.length + 7)}`;
}

export function tableLine(row: Row): string {
  const adv = row.advantage === null ? '—' : `${row.advantage.toFixed(2)}x`;
  const cells = [row.id, row.metric, fmt(row.value), fmt(row.peer_value), adv];
  const line = cells.map((c, i) => (i === 0 ? c.padEnd(COLS[i]!.width) : c.padStart(COLS[i]!.width))).join(' ');
  const extra = extrasText(row);
  return extra ? `${line}  ${extra}` : line;
}

/** Collects rows, printing each one as it arrives. */
export class Reporter {
  readonly rows: Row[] = [];
  private headerShown = false;

  constructor(private readonly print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}

  add(row: Row): Row {
    if (!this.headerShown) {
      this.print(tableHeader());
      this.headerShown = true;
    }
    this.rows.push(row);
    this.print(tableLine(row));
    return row;
  }

  /** Prints a one-line message (a skip reason, a section title) without adding a row. */
  say(line: string): void {
    this.print(line);
  }
}

// ---- files --------------------------------------------------------------------------------------------------

/** bench/ (the directory holding results/ and RESULTS.md), found from this file in source or compiled form. */
export function benchDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'bench');
    dir = path.dirname(dir);
  }
  throw new Error(`bench/: no package.json above ${__dirname}`);
}

/** Writes bench/results/<name>.json atomically and regenerates bench/RESULTS.md. Returns the JSON path. */
export function writeResults(result: BenchResult, dir: string = benchDir()): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(result.name)) throw new Error(`bench result name must be [a-z0-9_-]+, got "${result.name}"`);
  const resultsDir = path.join(dir, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${result.name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  fs.renameSync(tmp, file);
  regenerateMarkdown(dir);
  return file;
}

export function readResults(dir: string = benchDir()): BenchResult[] {
  const resultsDir = path.join(dir, 'results');
  if (!fs.existsSync(resultsDir)) return [];
  return fs
    .readdirSync(resultsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort() // by name: "kernels" before "kernels-quick"
    .map((name) => `${name}.json`)
    .map((f) => {
      const r = JSON.parse(fs.readFileSync(path.join(resultsDir, f), 'utf8')) as BenchResult;
      if (typeof r.name !== 'string' || !Array.isArray(r.rows)) throw new Error(`${f}: not a bench result (name, rows)`);
      return r;
    });
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The markdown of one result: a header line with date and machine, then one table row per result row. */
export function resultMarkdown(r: BenchResult): string {
  const m = r.machine;
  const lines = [
    `## ${r.name}`,
    '',
    `${r.date} · ${m.cpu} · ${m.cores} cores · distiq ISA ${m.isa} · Node ${m.node}` +
      (m.load_avg_start !== undefined ? ` · load ${m.load_avg_start}${m.load_avg_end !== undefined ? ` → ${m.load_avg_end}` : ''}` : '') +
      (r.settings ? ` · ${Object.entries(r.settings).map(([k, v]) => `${k} ${String(v)}`).join(', ')}` : ''),
    '',
  ];
  if (r.distiq && Object.keys(r.distiq).length > 0) {
    lines.push(`distiq: ${Object.entries(r.distiq).map(([k, v]) => `${k} ${v}`).join(', ')}`, '');
  }
  if (r.peers && Object.keys(r.peers).length > 0) {
    const describePeer = ([name, info]: [string, Record<string, string>]): string =>
      `${name}: ${info.lib ?? 'unknown'}${info.isa ? ` (${info.isa})` : ''}`;
    lines.push(`Peers: ${Object.entries(r.peers).map(describePeer).join('; ')}`, '');
  }
  if (r.checks && r.checks.length > 0) {
    const mark = (p: boolean | null): string => (p === null ? 'n/a' : p ? '**pass**' : '**FAIL**');
    lines.push('Acceptance checks on this run:', '');
    for (const c of r.checks) lines.push(`- ${mark(c.pass)} ${c.id} ${mdCell(c.text)} — ${mdCell(c.detail)}`);
    lines.push('');
  }
  lines.push('| id | metric | distiq | peer | peer value | advantage | notes |', '| --- | --- | ---: | --- | ---: | ---: | --- |');
  for (const row of r.rows) {
    const adv = row.advantage === null ? '—' : `${fmt(row.advantage)}×`;
    lines.push(
      `| ${mdCell(row.id)} | ${row.metric} | ${fmt(row.value)} | ${mdCell(row.peer)} | ${fmt(row.peer_value)} | ${adv} | ${mdCell(extrasText(row))} |`,
    );
  }
  return lines.join('\n');
}

/** Rebuilds bench/RESULTS.md from every bench/results/*.json. */
export function regenerateMarkdown(dir: string = benchDir()): string {
  const results = readResults(dir);
  const parts = [
    '# Benchmark results',
    '',
    '<!-- Generated by bench/lib/report.ts from bench/results/*.json: do not edit by hand. -->',
    '',
    'How to run and how to read these tables: [docs/benchmarks.md](../docs/benchmarks.md). `advantage` > 1 means',
    'distiq is better (throughput: distiq / peer; time: peer / distiq). Every number is the median of interleaved',
    'repetitions measured in one process run on the machine named in each section.',
    '',
    ...results.map(resultMarkdown).flatMap((s) => [s, '']),
  ];
  const file = path.join(dir, 'RESULTS.md');
  fs.writeFileSync(file, parts.join('\n'));
  return file;
}

// `npm run bench:report`: rebuild bench/RESULTS.md from the JSON files alone (e.g. after removing one).
if (require.main === module) {
  process.stdout.write(`wrote ${regenerateMarkdown()}\n`);
}

/**
 * The rows of a new run of `name` plus the rows of the previous bench/results/<name>.json this run did not measure
 * (e.g. with --only), those marked with `measured` = the date they were measured; sorted by id.
 */
export function withUnmeasured(name: string, rows: Row[], dir: string = benchDir()): Row[] {
  const fresh = new Set(rows.map((r) => r.id));
  const earlier = readResults(dir).find((r) => r.name === name);
  const kept = (earlier?.rows ?? [])
    .filter((r) => !fresh.has(r.id))
    .map((r) => ({ ...r, measured: (r.measured as string | undefined) ?? earlier!.date }));
  return [...rows, ...kept].sort((a, b) => a.id.localeCompare(b.id));
}
