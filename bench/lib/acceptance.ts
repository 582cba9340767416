/**
 * Acceptance checks evaluated on the rows of one run (issue 3's list for the kernels), printed at the end of the
 * run and stored in the JSON (`checks`), so a closing note can cite one `npm run bench:kernels` run. A check whose
 * rows are missing (peer skipped, --only) is "n/a", never a pass.
 */
import { withUnmeasured, writeResults, type BenchResult, type Reporter, type Row } from './report';

export interface Check {
  /** e.g. "1a". */
  id: string;
  text: string;
  /** true / false, or null when the rows needed are missing. */
  pass: boolean | null;
  /** The deciding numbers, e.g. "min 1.31x at gemm_u8s8.16x4096x4096.t1.ort". */
  detail: string;
}

type Pick = (r: Row) => number | null;

const adv: Pick = (r) => r.advantage;
const val: Pick = (r) => r.value;
const field = (name: string): Pick => (r) => (typeof r[name] === 'number' ? (r[name] as number) : null);

function shapeM(id: string): number {
  const m = /\.(\d+)x\d+x\d+\./.exec(id);
  return m ? Number(m[1]) : NaN;
}

/** Every row matching `re` must satisfy pick(row) op bound; reports the worst one. */
function all(id: string, text: string, rows: Row[], re: RegExp, pick: Pick, op: '>=' | '<=' | '>' | '<', bound: number, filter: (r: Row) => boolean = () => true): Check {
  const sel = rows.filter((r) => re.test(r.id) && filter(r));
  const vals = sel.map((r) => ({ r, v: pick(r) })).filter((x): x is { r: Row; v: number } => x.v !== null && Number.isFinite(x.v));
  if (vals.length === 0) return { id, text, pass: null, detail: 'no measured rows' };
  const higher = op === '>=' || op === '>';
  const worst = vals.reduce((a, b) => (higher ? (b.v < a.v ? b : a) : b.v > a.v ? b : a));
  const ok = (v: number): boolean => (op === '>=' ? v >= bound : op === '<=' ? v <= bound : op === '>' ? v > bound : v < bound);
  const pass = vals.every((x) => ok(x.v)) && vals.length === sel.length;
  const missing = sel.length - vals.length;
  return {
    id,
    text,
    pass: missing > 0 && vals.every((x) => ok(x.v)) ? null : pass,
    detail: `${higher ? 'worst' : 'highest'} ${worst.v.toPrecision(3)} at ${worst.r.id} (${vals.length} rows${missing ? `, ${missing} without a value` : ''})`,
  };
}

/** The thread count of a row id (`….t<threads>.<peer>`). */
function threadsOf(id: string): number {
  return Number(/\.t(\d+)\.[^.]+$/.exec(id)?.[1] ?? NaN);
}

/** The kernels acceptance list of issue 3 (items 1–9; item 10 is the test suite's). */
export function kernelChecks(rows: Row[]): Check[] {
  const large = /\.(1024x1024x1024|128x768x3072|512x512x512|256x1200x784)\./;
  const compared = rows.filter((r) => r.peer !== 'none' && r.peer_value !== null && r.peer !== 'onednn-avx2');
  const differing = compared.filter((r) => r.verified === false);
  const mostThreads = Math.max(...rows.map((r) => threadsOf(r.id)).filter(Number.isFinite));
  const atDefault = (r: Row): boolean => threadsOf(r.id) === mostThreads;
  return [
    {
      id: '0',
      text: 'every timed comparison computed the same result (onednn-avx2 excluded: its int8 path saturates)',
      pass: compared.length === 0 ? null : differing.length === 0,
      detail: differing.length === 0 ? `${compared.length} rows verified or not checkable` : `differs: ${differing.map((r) => r.id).join(', ')}`,
    },
    all('1a', 'u8s8 vs ORT >= 1.25x on every shape with M >= 16', rows, /^gemm_u8s8\.\d+x\d+x\d+\.t\d+\.ort$/, adv, '>=', 1.25, (r) => shapeM(r.id) >= 16),
    all('1b', 'u8s8 vs ORT >= 1.3x at 1x4096x4096', rows, /^gemm_u8s8\.1x4096x4096\.t\d+\.ort$/, adv, '>=', 1.3),
    all('1c', 'u8s8 vs oneDNN >= 0.95x on every shape, 1 thread', rows, /^gemm_u8s8\.\d+x\d+x\d+\.t1\.onednn$/, adv, '>=', 0.95),
    all('1d', 's8s8 vs ORT >= 10x', rows, /^gemm_s8s8\.\d+x\d+x\d+\.t\d+\.ort$/, adv, '>=', 10),
    all('2a', 'int8 1024^3 and 128x768x3072, 1 thread: >= 85% of VNNI peak', rows, /^gemm_u8s8\.(1024x1024x1024|128x768x3072)\.t1\.onednn$/, field('pct_peak'), '>=', 85),
    all('2b', 'same shapes, 2 threads >= 1.8x 1 thread', rows, /^gemm_u8s8\.(1024x1024x1024|128x768x3072)\.t2\.onednn$/, field('speedup_vs_t1'), '>=', 1.8),
    all('3', '1x64x64 int8 GEMM from JS <= 2 us per call', rows, /^gemm_u8s8\.1x64x64\.t1\.ort$/, val, '<=', 2),
    all('4', 'DISTIQ_ISA=avx2 int8 >= 0.9x oneDNN AVX2 on the large shapes', rows, /^gemm_(u8s8|s8s8)\.\d+x\d+x\d+\.t1\.onednn-avx2$/, adv, '>=', 0.9, (r) => large.test(r.id)),
    all('5a', 'fp32 M >= 64: >= 1.1x OpenBLAS', rows, /^gemm_f32\.\d+x\d+x\d+\.t1\.openblas$/, adv, '>=', 1.1, (r) => shapeM(r.id) >= 64),
    all('5b', 'fp32 M >= 64: >= 1.0x ORT MatMul', rows, /^gemm_f32\.\d+x\d+x\d+\.t1\.ort$/, adv, '>=', 1.0, (r) => shapeM(r.id) >= 64),
    all('5c', 'fp32 M >= 64: >= 0.9x oneDNN', rows, /^gemm_f32\.\d+x\d+x\d+\.t1\.onednn$/, adv, '>=', 0.9, (r) => shapeM(r.id) >= 64),
    all('6a', 'quantize per-channel >= 20 GB/s, 1 thread', rows, /^quantize_s8\.\d+\.t1\.ort$/, val, '>=', 20),
    all('6b', 'quantize per-channel >= 60% of STREAM copy', rows, /^quantize_s8\.\d+\.t1\.stream$/, adv, '>=', 0.6),
    all('6c', "quantize per-channel >= 1.3x ORT's QuantizeLinear", rows, /^quantize_s8\.\d+\.t1\.ort$/, adv, '>=', 1.3),
    all('6d', 'dynamic quantize >= 12 GB/s', rows, /^quantize_s8_dynamic\.\d+\.t1\.ort$/, val, '>=', 12),
    // Item 7 names no thread count: it is evaluated at the library's default, all cores (the largest t measured).
    all('7a', 'softmax-KL 256x32000 <= 8 ms (default threads)', rows, /^softmax_kl\.256x32000\.t\d+\.ort$/, val, '<=', 8, atDefault),
    all('7b', "softmax-KL 256x32000 >= 6x ORT's graph (default threads)", rows, /^softmax_kl\.256x32000\.t\d+\.ort$/, adv, '>=', 6, atDefault),
    all('7c', 'softmax-KL 256x32000 >= 50x plain JS (default threads)', rows, /^softmax_kl\.256x32000\.t\d+\.js$/, adv, '>=', 50, atDefault),
    all('7d', 'softmax-KL 4096x10 >= 3x ORT (default threads)', rows, /^softmax_kl\.4096x10\.t\d+\.ort$/, adv, '>=', 3, atDefault),
    all('8', 'int4 GEMV 1x4096x4096 g=32 faster than int8 GEMV', rows, /^gemv_s4\.1x4096x4096\.t1\.int8$/, adv, '>', 1),
    all('9', 'event-loop p99 < 5 ms during a ~1 s async GEMM', rows, /^event_loop\.gemm_s8_async\.p99$/, val, '<', 5),
  ];
}

export function checkLine(c: Check): string {
  const mark = c.pass === null ? 'n/a ' : c.pass ? 'PASS' : 'FAIL';
  return `${mark} ${c.id.padEnd(3)} ${c.text} — ${c.detail}`;
}

/**
 * The end of a bench run with acceptance checks: the rows (plus, when writing, the rows of the last written
 * `<name>.json` this run did not measure), the checks evaluated on them and printed under `title`, the total time
 * since `t00`, and when `write` bench/results/<name>.json + bench/RESULTS.md (`result`: machine, peers, settings).
 */
export function finishRun(
  rep: Reporter,
  o: { name: string; title: string; write: boolean; t00: number; checks: (rows: Row[]) => Check[]; result: Omit<BenchResult, 'name' | 'date' | 'rows' | 'checks'> },
): void {
  const rows = o.write ? withUnmeasured(o.name, rep.rows) : rep.rows;
  const checks = o.checks(rows);
  rep.say(`\n${o.title}:`);
  for (const c of checks) rep.say(`  ${checkLine(c)}`);
  rep.say(`total ${((performance.now() - o.t00) / 1000).toFixed(0)} s`);
  if (o.write) {
    const file = writeResults({ name: o.name, date: new Date().toISOString(), rows, checks, ...o.result });
    rep.say(`wrote ${file} and bench/RESULTS.md`);
  }
}
