/**
 * npm run bench:train — the training engine on Fashion-MNIST (issue 4, acceptance 2 and 3).
 *
 * Speed: the reference MLP (784-1200-1200-10, ReLU, dropout 0.1 on the input and 0.2 after each hidden ReLU, AdamW
 * lr 1e-3 / wd 1e-4, per-step cosine, batch 128) timed per training epoch in distiq and in PyTorch (Debian
 * python3-torch, bench/train_torch.py, run as a subprocess with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset), same
 * thread count, interleaved rounds, median. Each side first trains a warm-up run of batches, then `batches` timed
 * batches; the epoch time is the per-batch time × 469 (batches per epoch) unless a full epoch is timed.
 * Rows train_mlp.epoch.t<N>.torch (metric s).
 *
 * Accuracy: the full recipe (15 epochs, the final-epoch model on the test set) → train_mlp.accuracy; the CNN
 * (conv32 3×3 - conv64 3×3 - maxpool2 - dropout .25 - fc128 - dropout .5 - fc10, same optimizer, 10 epochs)
 * → train_cnn.accuracy. Both metric accuracy, peer none; the CNN run also gives train_cnn.epoch.t<N> (metric s, peer
 * none: its median training epoch time at N = the largest --threads value). `--quick` times 60 batches per sample and
 * trains 1 epoch (accuracy rows then say so in a note); `--only <regex>` selects rows (`--only cnn`: the CNN alone);
 * `--skip-accuracy` times only; `--batches <n>` sets the timed batches per sample; `--epochs <n>` shortens the
 * accuracy recipes to n epochs (a validation run; the rows' notes say so). Rows not measured by a run are kept from the previous results file (`measured`).
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';

import {
  AdamW, Conv2d, CrossEntropyLoss, DataLoader, Dropout, Flatten, LRScheduler, Linear, MaxPool2d, ReLU, Rng, Sequential,
  cosineLR, evaluate, fashionMnist, fit, setNumThreads, type Module, type TensorDataset,
} from 'distiq';

import { parseArgs, usage, UsageError } from './lib/args';
import { machineInfo } from './lib/machine';
import { makeRow, readResults, Reporter, writeResults, type Row } from './lib/report';
import { PY, torchEnv } from './lib/torch';

const BATCH = 128;
const EXTRA_USAGE = '[--skip-accuracy] [--batches <n>] [--epochs <n>]';
const TORCH_SCRIPT = path.resolve(__dirname, '..', 'train_torch.py');

/** The issue 4 reference MLP (also the teacher of bench/distill.ts). */
export function mlp(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential(
    new Dropout(0.1, { rng }), new Linear(784, 1200, { rng }), new ReLU(), new Dropout(0.2, { rng }),
    new Linear(1200, 1200, { rng }), new ReLU(), new Dropout(0.2, { rng }), new Linear(1200, 10, { rng }),
  );
}

function cnn(seed: number): Sequential {
  const rng = new Rng(seed);
  return new Sequential(
    new Conv2d(1, 32, 3, { rng }), new ReLU(), new Conv2d(32, 64, 3, { rng }), new ReLU(), new MaxPool2d(2),
    new Dropout(0.25, { rng }), new Flatten(), new Linear(64 * 12 * 12, 128, { rng }), new ReLU(), new Dropout(0.5, { rng }),
    new Linear(128, 10, { rng }),
  );
}

/** Seconds per batch of the distiq MLP recipe over `batches` batches (after `warm` untimed ones). */
function distiqBatchSeconds(train: TensorDataset, batches: number, warm: number): number {
  const model = mlp(1);
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
  const scheduler = new LRScheduler(optimizer, cosineLR(15 * Math.ceil(train.length / BATCH)));
  const loss = new CrossEntropyLoss();
  const loader = new DataLoader(train, { batchSize: BATCH, shuffle: true, seed: 1 });
  let done = 0, t0 = 0;
  for (;;) {
    for (const b of loader) {
      if (done === warm) t0 = performance.now();
      model.zeroGrad();
      const out = model.forward(b.x);
      loss.forward(out, b.y);
      model.backward(loss.backward(), false);
      optimizer.step();
      scheduler.step();
      done++;
      if (done === warm + batches) return (performance.now() - t0) / 1000 / batches;
    }
  }
}

/** Seconds per batch of PyTorch over `batches` batches (its second epoch of `batches`: the first warms up). */
function torchBatchSeconds(threads: number, batches: number): number | string {
  const r = spawnSync(PY, [TORCH_SCRIPT, '--model', 'mlp', '--epochs', '2', '--threads', String(threads), '--max-batches', String(batches)], {
    env: torchEnv(), encoding: 'utf8', maxBuffer: 1 << 20,
  });
  if (r.status !== 0) return `python3 bench/train_torch.py failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { train_seconds: number });
  return lines[1]!.train_seconds / batches;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Trains `model` with the reference recipe (AdamW 1e-3 / wd 1e-4, per-step cosine, batch 128, seed 1); test accuracy.
 * `epochSeconds` (optional) receives each epoch's training time.
 */
export function trainRecipe(
  name: string, model: Module, data: { train: TensorDataset; test: TensorDataset }, epochs: number, rep: Reporter,
  epochSeconds?: number[],
): number {
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-4 });
  const scheduler = new LRScheduler(optimizer, cosineLR(epochs * Math.ceil(data.train.length / BATCH)));
  fit(model, {
    train: data.train, optimizer, scheduler, epochs, batchSize: BATCH, seed: 1,
    onProgress: (m) => {
      epochSeconds?.push(m.trainSeconds);
      rep.say(`  ${name} epoch ${m.epoch}/${epochs}: train loss ${m.trainLoss.toFixed(4)}, train acc ${(100 * m.trainAccuracy).toFixed(2)}%, ${m.trainSeconds.toFixed(1)} s`);
    },
  });
  return evaluate(model, data.test).accuracy;
}

function main(): number {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n${usage('bench:train')} ${EXTRA_USAGE}\n`);
      return 2;
    }
    throw err;
  }
  const skipAccuracy = args.rest.includes('--skip-accuracy');
  const numOpt = (flag: string, min: number): number | undefined | null => {
    const at = args.rest.indexOf(flag);
    if (at < 0) return undefined;
    const v = Number(args.rest[at + 1]);
    if (!(Number.isInteger(v) && v >= min)) {
      process.stderr.write(`${flag} needs an integer >= ${min}\n`);
      return null;
    }
    return v;
  };
  const batchesArg = numOpt('--batches', 10), epochsArg = numOpt('--epochs', 1);
  if (batchesArg === null || epochsArg === null) return 2;
  const valued = new Set<number>();
  for (const f of ['--batches', '--epochs']) {
    const at = args.rest.indexOf(f);
    if (at >= 0) valued.add(at).add(at + 1);
  }
  const unknown = args.rest.filter((a, i) => a !== '--skip-accuracy' && !valued.has(i));
  if (unknown.length > 0) {
    process.stderr.write(`unknown argument(s): ${unknown.join(' ')}\n${usage('bench:train')} ${EXTRA_USAGE}\n`);
    return 2;
  }
  const reps = args.reps || (args.quick ? 3 : 5);
  const batches = batchesArg ?? (args.quick ? 60 : 200);
  const want = (id: string): boolean => args.only === null || args.only.test(id);
  const rep = new Reporter();
  const machine = machineInfo();
  rep.say(`distiq training benchmark${args.quick ? ' (--quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, ISA ${machine.isa}, Node ${machine.node}`);
  const flat = fashionMnist();
  const perEpoch = Math.ceil(flat.train.length / BATCH);

  for (const t of args.threads) {
    const id = `train_mlp.epoch.t${t}.torch`;
    if (!want(id)) continue;
    setNumThreads(t);
    const ours: number[] = [], theirs: number[] = [];
    let skipped: string | null = null;
    for (let r = 0; r < reps; r++) {
      // Alternate who goes first, so a drift of the machine hits both sides alike.
      const runTorch = (): void => {
        const v = torchBatchSeconds(t, batches);
        if (typeof v === 'string') skipped = v;
        else theirs.push(v);
      };
      if (r % 2 === 1) runTorch();
      ours.push(distiqBatchSeconds(flat.train, batches, 10));
      if (r % 2 === 0) runTorch();
    }
    const note = `${batches} timed batches × ${reps} interleaved rounds, median, × ${perEpoch} batches/epoch`;
    // The 1-minute load average at the end: on a shared machine it explains outliers (OpenMP peers suffer most).
    rep.add(makeRow(id, 's', median(ours) * perEpoch, 'torch', theirs.length ? median(theirs) * perEpoch : null, {
      note: `${note}; load avg ${os.loadavg()[0]!.toFixed(1)}`, threads: t, ...(skipped ? { skipped } : {}),
    }));
  }

  if (!skipAccuracy) {
    const threads = Math.max(...args.threads);
    setNumThreads(threads);
    // --epochs n shortens a recipe (a validation run: its schedule spans n epochs, the row says so).
    const epochsOf = (full: number): [number, string] => {
      const e = epochsArg ?? (args.quick ? 1 : full);
      return [e, e === full ? `${e} epochs` : `${e} of the recipe's ${full} epochs (shortened run, not the acceptance figure)`];
    };
    if (want('train_mlp.accuracy')) {
      const [epochs, what] = epochsOf(15);
      const acc = trainRecipe('mlp', mlp(1), flat, epochs, rep);
      rep.add(makeRow('train_mlp.accuracy', 'accuracy', acc, 'none', null, { epochs, note: `${what}, final-epoch model, target >= 0.896` }));
    }
    // The CNN: accuracy and its training epoch time (median over the run's epochs) at the run's thread count.
    const cnnEpochId = `train_cnn.epoch.t${threads}`;
    if (want('train_cnn.accuracy') || want(cnnEpochId)) {
      const [epochs, what] = epochsOf(10);
      const secs: number[] = [];
      const acc = trainRecipe('cnn', cnn(1), fashionMnist(undefined, { image: true }), epochs, rep, secs);
      rep.add(makeRow('train_cnn.accuracy', 'accuracy', acc, 'none', null, { epochs, note: `${what}, final-epoch model, target >= 0.910` }));
      rep.add(makeRow(cnnEpochId, 's', median(secs), 'none', null, {
        threads, epochs, note: `training epoch (469 batches of 128), median of ${secs.length}; load avg ${os.loadavg()[0]!.toFixed(1)}`,
      }));
    }
  }

  if (args.write) {
    // Rows this run did not measure (e.g. with --only) are kept from the previous results file, marked as such.
    const name = args.quick ? 'train-quick' : 'train';
    const fresh = new Set(rep.rows.map((r) => r.id));
    const earlier = readResults().find((r) => r.name === name);
    const kept = (earlier?.rows ?? [])
      .filter((r) => !fresh.has(r.id))
      .map((r) => ({ ...r, measured: (r.measured as string | undefined) ?? earlier!.date }));
    const rows: Row[] = [...rep.rows, ...kept].sort((a, b) => a.id.localeCompare(b.id));
    const file = writeResults({
      name,
      date: new Date().toISOString(),
      machine,
      rows,
      peers: { torch: { lib: `PyTorch ${torchVersion()} (Debian python3-torch, OpenBLAS), bench/train_torch.py` } },
      settings: { quick: args.quick, reps, batches, threads: args.threads.join(',') },
    });
    rep.say(`wrote ${file}`);
  }
  return 0;
}

export function torchVersion(): string {
  const r = spawnSync(PY, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unavailable';
}

// Imported by bench/distill.ts for the teacher recipe: run only as the entry point.
if (require.main === module) process.exitCode = main();
