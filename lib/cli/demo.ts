/**
 * `npm run demo`: knowledge distillation end to end on the embedded digits data (data/digits.csv.gz: UCI optical
 * digits, 1797 8×8 images, 10 classes), in a few seconds.
 *
 * Setup (printed in the header): a seeded shuffle splits 1200 training and 597 test images. The teacher, an MLP
 * 64-256-256-10 with dropout, learns from all 1200 labelled training images. A small student MLP 64-32-10
 * (`narrowMlp(teacher, { hidden: [32], seed })`) then gets
 * only the first 100 training images with labels:
 * - "student alone" learns from those 100 labels (cross-entropy, `fit`);
 * - "distilled student" learns from the same 100 images and labels plus the teacher's soft labels for them
 *   (Distiller, T = 4, α = 0.9);
 * - "distilled, no labels" learns from the teacher's outputs on all 1200 training images with no label at all
 *   (Distiller, α = 1, `withoutLabels`) — distillation as a way to use unlabelled data.
 * Every student: same architecture, AdamW (lr 3e-3, wd 1e-4), cosine to 0 over 1000 steps of batch 32. Accuracy on
 * the 597 test images, mean ± sample std over the seeds (default 3); the saved model, its size and latency are those
 * of the first seed. Size = bytes of the saved safetensors model file; latency = one sample (batch 1) forward pass,
 * median of 2000 timed calls after a warm-up.
 *
 * Writes `<out>/report.json`, `<out>/report.md` and the four models as `<out>/<name>.safetensors` (default
 * out: ./distiq-demo). Deterministic under `--seed`: the same seed gives the same accuracies (timings vary).
 *
 *   node dist/cli/demo.js [--out <dir>] [--seed <n>] [--seeds <count>] [--help]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { digits } from '../data/builtin';
import { TensorDataset } from '../data/dataset';
import { Distiller } from '../distill/distiller';
import { narrowMlp } from '../distill/student';
import { modelTeacher, type Teacher } from '../distill/teacher';
import { withoutLabels } from '../distill/unlabeled';
import { saveModel } from '../io/model-file';
import { ReLU } from '../nn/activations';
import { Dropout } from '../nn/dropout';
import { Linear } from '../nn/linear';
import type { Module } from '../nn/module';
import { AdamW } from '../nn/optim/adamw';
import { cosineLR, LRScheduler } from '../nn/optim/schedule';
import { Sequential } from '../nn/sequential';
import { cpuInfo, getNumThreads } from '../ops/cpu';
import { Rng } from '../tensor/random';
import { Tensor } from '../tensor/tensor';
import { evaluate, fit } from '../train/fit';

/** Options of `runDemo` (the command line's --out, --seed, --seeds). */
export interface DemoOptions {
  /** Directory for the report and model files (default "distiq-demo" in the working directory). */
  out?: string;
  /** Seed of the split, the teacher and the first student run (default 1). */
  seed?: number;
  /** Student runs per row, seeds seed, seed+1, … (default 3). */
  seeds?: number;
  /** Where progress lines go (default stdout). */
  print?: (line: string) => void;
}

/** One model of the demo's table. */
export interface DemoRow {
  name: string;
  description: string;
  /** Test accuracy per seed. */
  accuracies: number[];
  accuracy: number;
  accuracyStd: number;
  parameters: number;
  /** Bytes of the saved safetensors model file. */
  bytes: number;
  file: string;
  /** Median µs per sample, batch 1. */
  latencyUs: number;
  trainSeconds: number;
}

/** What `runDemo` returns (also written as report.json / report.md). */
export interface DemoReport {
  setup: Record<string, unknown>;
  rows: DemoRow[];
  seconds: number;
  files: { json: string; markdown: string };
}

const TRAIN = 1200;
const LABELLED = 100;
const HIDDEN = 32;
const STEPS = 1000;
const BATCH = 32;
const T = 4;
const ALPHA = 0.9;

function mlp(sizes: number[], seed: number, dropout = 0): Sequential {
  const rng = new Rng(seed);
  const layers: Module[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    layers.push(new Linear(sizes[i]!, sizes[i + 1]!, { rng }));
    if (i + 2 < sizes.length) {
      layers.push(new ReLU());
      if (dropout > 0) layers.push(new Dropout(dropout, { rng }));
    }
  }
  return new Sequential(...layers);
}

/** The samples `idx` of `data` as a new dataset. */
function pick(data: TensorDataset, idx: Int32Array): TensorDataset {
  const stride = data.x.length / data.length;
  const x = new Float32Array(idx.length * stride), y = new Int32Array(idx.length);
  data.gather(idx, x, y);
  return new TensorDataset(x, y, data.sampleShape, data.numClasses);
}

function adamw(model: Module, steps: number): { optimizer: AdamW; scheduler: LRScheduler } {
  const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
  return { optimizer, scheduler: new LRScheduler(optimizer, cosineLR(steps)) };
}

/** Median µs of one batch-1 forward pass (eval mode), over `n` timed calls after `warm` untimed ones. */
function latencyUs(model: Module, sample: Float32Array, n = 2000, warm = 300): number {
  model.eval();
  const x = new Tensor(sample, [1, sample.length]);
  for (let i = 0; i < warm; i++) model.forward(x);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    model.forward(x);
    t[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  t.sort();
  return t[n >> 1]!;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function bytesText(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function table(rows: DemoRow[], seeds: number): string[] {
  const head = ['model', `test accuracy${seeds > 1 ? ` (${seeds} seeds)` : ''}`, 'parameters', 'size', 'latency/sample'];
  const cells = rows.map((r) => [
    r.name,
    seeds > 1 && r.accuracies.length > 1 ? `${pct(r.accuracy)} ± ${(100 * r.accuracyStd).toFixed(1)}` : pct(r.accuracy),
    r.parameters.toLocaleString('en-US'),
    bytesText(r.bytes),
    `${r.latencyUs.toFixed(1)} µs`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]): string => c.map((s, i) => (i === 0 ? s.padEnd(w[i]!) : s.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line)];
}

function markdown(report: Omit<DemoReport, 'files'>, header: string[]): string {
  const lines = ['# distiq demo: knowledge distillation on the digits data', '', ...header.map((l) => l.replace(/^ {2}/, '')), ''];
  lines.push('| model | test accuracy | ± std | parameters | size (bytes) | latency/sample (µs, batch 1, median) | file |');
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of report.rows) {
    lines.push(`| ${r.name} | ${pct(r.accuracy)} | ${(100 * r.accuracyStd).toFixed(2)} | ${r.parameters} | ${r.bytes} | ${r.latencyUs.toFixed(2)} | ${path.basename(r.file)} |`);
  }
  lines.push('', ...report.rows.map((r) => `- **${r.name}**: ${r.description}`), '', `Total ${report.seconds.toFixed(1)} s.`, '');
  return lines.join('\n');
}

/** Runs the demo (see the module comment); prints progress and the table through `options.print`. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoReport> {
  const t00 = performance.now();
  const print = options.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  const seed = options.seed ?? 1;
  const seeds = options.seeds ?? 3;
  const out = path.resolve(options.out ?? 'distiq-demo');
  fs.mkdirSync(out, { recursive: true });

  const all = digits();
  const order = Int32Array.from({ length: all.length }, (_, i) => i);
  new Rng(seed).shuffle(order);
  const train = pick(all, order.subarray(0, TRAIN));
  const test = pick(all, order.subarray(TRAIN));
  const labelled = train.subset(0, LABELLED);
  const info = cpuInfo();

  const header = [
    `distiq demo: knowledge distillation on the embedded digits data (1797 8×8 images, 10 classes; ISA ${info.isa}, ${getNumThreads()} threads)`,
    `  split (seed ${seed}): ${TRAIN} training images, ${test.length} test images`,
    `  teacher: MLP 64-256-256-10 (dropout 0.2), trained on all ${TRAIN} labelled training images`,
    `  students: MLP 64-${HIDDEN}-10, each ${STEPS} AdamW steps of batch ${BATCH} (lr 3e-3, cosine to 0), ${seeds} seed${seeds > 1 ? 's' : ''}:`,
    `    student alone         the first ${LABELLED} training images with their labels (cross-entropy)`,
    `    distilled student     the same ${LABELLED} images and labels + the teacher's soft labels (T = ${T}, α = ${ALPHA})`,
    `    distilled, no labels  the teacher's outputs on all ${TRAIN} training images, no label read (α = 1)`,
    '  size = bytes of the saved .safetensors model; latency = one sample per call (batch 1), median',
  ];
  for (const l of header) print(l);
  print('');

  const rows: DemoRow[] = [];
  const finish = (name: string, description: string, models: Module[], accuracies: number[], seconds: number): void => {
    const model = models[0]!;
    const file = path.join(out, `${name.replace(/[^a-z]+/gi, '-').replace(/-+$/, '').toLowerCase()}.safetensors`);
    saveModel(file, model, { demo: name, seed: String(seed) });
    rows.push({
      name, description, accuracies, accuracy: mean(accuracies), accuracyStd: std(accuracies),
      parameters: model.parameterCount(), bytes: fs.statSync(file).size, file,
      latencyUs: latencyUs(model, test.x.slice(0, 64)), trainSeconds: seconds,
    });
    const r = rows[rows.length - 1]!;
    print(`  ${name}: ${pct(r.accuracy)}${accuracies.length > 1 ? ` (${accuracies.map(pct).join(', ')})` : ''} in ${seconds.toFixed(1)} s`);
  };

  // Teacher.
  let t0 = performance.now();
  const teacher = mlp([64, 256, 256, 10], seed, 0.2);
  {
    const epochs = 60, batch = 64;
    const optimizer = new AdamW(teacher.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
    const scheduler = new LRScheduler(optimizer, cosineLR(epochs * Math.ceil(TRAIN / batch)));
    fit(teacher, { train, optimizer, scheduler, epochs, batchSize: batch, seed });
  }
  finish('teacher', `MLP 64-256-256-10 (dropout 0.2), ${TRAIN} labelled images, 60 epochs of batch 64, AdamW lr 1e-3`, [teacher], [evaluate(teacher, test).accuracy], (performance.now() - t0) / 1000);
  const tutor: Teacher = modelTeacher(teacher);

  const seedList = Array.from({ length: seeds }, (_, i) => seed + i);
  const students = async (name: string, description: string, train1: (s: number, student: Sequential) => Promise<void>): Promise<void> => {
    t0 = performance.now();
    const models: Module[] = [], accs: number[] = [];
    for (const s of seedList) {
      // The teacher's input/output widths and activation, one hidden layer of HIDDEN, initialized from seed s.
      const student = narrowMlp(teacher, { hidden: [HIDDEN], seed: s });
      await train1(s, student);
      models.push(student);
      accs.push(evaluate(student, test).accuracy);
    }
    finish(name, description, models, accs, (performance.now() - t0) / 1000);
  };

  await students('student alone', `MLP 64-${HIDDEN}-10, the first ${LABELLED} training images with labels, cross-entropy`, async (s, student) => {
    const { optimizer, scheduler } = adamw(student, STEPS);
    fit(student, { train: labelled, optimizer, scheduler, epochs: STEPS / Math.ceil(LABELLED / BATCH), batchSize: BATCH, seed: s });
  });
  await students('distilled student', `MLP 64-${HIDDEN}-10, the same ${LABELLED} images and labels + the teacher's soft labels (T = ${T}, α = ${ALPHA})`, async (s, student) => {
    const { optimizer, scheduler } = adamw(student, STEPS);
    await new Distiller({ student, teacher: tutor, temperature: T, alpha: ALPHA, optimizer, scheduler, seed: s })
      .fit({ train: labelled, steps: STEPS, batchSize: BATCH, progress: false });
  });
  await students('distilled, no labels', `MLP 64-${HIDDEN}-10, the teacher's outputs on all ${TRAIN} training images, no labels (α = 1)`, async (s, student) => {
    const { optimizer, scheduler } = adamw(student, STEPS);
    await new Distiller({ student, teacher: tutor, temperature: T, alpha: 1, optimizer, scheduler, seed: s })
      .fit({ train: withoutLabels(train), steps: STEPS, batchSize: BATCH, progress: false });
  });

  print('');
  for (const l of table(rows, seeds)) print(l);
  const seconds = (performance.now() - t00) / 1000;
  const setup = {
    data: 'digits (data/digits.csv.gz, UCI optical digits, CC BY 4.0)', seed, seeds, train: TRAIN, test: test.length,
    labelled: LABELLED, teacher: 'MLP 64-256-256-10, dropout 0.2', student: `MLP 64-${HIDDEN}-10`, steps: STEPS,
    batch: BATCH, temperature: T, alpha: ALPHA, isa: info.isa, threads: getNumThreads(),
  };
  const json = path.join(out, 'report.json'), md = path.join(out, 'report.md');
  const report = { setup, rows, seconds };
  fs.writeFileSync(json, `${JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2)}\n`);
  fs.writeFileSync(md, markdown(report, header));
  print('');
  const rel = (p: string): string => {
    const r = path.relative(process.cwd(), p);
    return r === '' ? '.' : r.startsWith('..') ? p : r;
  };
  print(`report: ${rel(md)} and ${rel(json)}; models: ${rows.map((r) => path.basename(r.file)).join(', ')} in ${rel(out)}/ (${seconds.toFixed(1)} s)`);
  return { ...report, files: { json, markdown: md } };
}

const USAGE = 'usage: npm run demo -- [--out <dir>] [--seed <n>] [--seeds <count>]';

/** Parses the command line; throws a message for bad input. */
export function parseDemoArgs(argv: readonly string[]): DemoOptions | 'help' {
  const o: DemoOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string => {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    const int = (min: number, max: number): number => {
      const v = value(), n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer in [${min}, ${max}], got "${v}"`);
      return n;
    };
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--out') o.out = value();
    else if (flag === '--seed') o.seed = int(0, 2 ** 31 - 1);
    else if (flag === '--seeds') o.seeds = int(1, 20);
    else throw new Error(`unknown argument "${a}"`);
  }
  return o;
}

if (require.main === module) {
  let parsed: DemoOptions | 'help';
  try {
    parsed = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
  } else {
    runDemo(parsed).catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
  }
}
