import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  AdamW, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GELU, LRScheduler, LayerNorm, Linear, MaxPool2d, ReLU, Rng,
  SGD, Sequential, Tensor, cosineLR, digits, fit, loadCheckpoint, loadModel, readSafetensors, saveCheckpoint, saveModel,
  type Module,
} from '../../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every parameter and buffer byte of a model, in state-dict order (compare with .equals: bit-exact). */
function bits(m: Module): Buffer {
  return Buffer.concat([...m.stateDict().values()].map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
}

describe('saveModel / loadModel', () => {
  it('rebuilds the architecture from the metadata config and gives the same outputs', () => {
    const rng = new Rng(3);
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1, rng }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2), new Flatten(),
      new Linear(64, 16, { rng }), new LayerNorm(16), new GELU(), new Dropout(0.3, { rng }), new Linear(16, 3, { rng, bias: false }),
      new BatchNorm1d(3),
    );
    const x = new Tensor(new Rng(4).fillNormal(new Float32Array(2 * 64)), [2, 1, 8, 8]);
    model.forward(x); // moves the BatchNorm running stats
    model.eval();
    const want = Array.from(model.forward(x).data);
    const f = path.join(tmp, 'model.safetensors');
    saveModel(f, model, { task: 'test' });
    const { metadata, tensors } = readSafetensors(f);
    expect(metadata.format).toBe('distiq-model');
    expect(metadata.task).toBe('test');
    expect(JSON.parse(metadata.config!)).toEqual(model.config());
    expect(tensors.has('1.running_mean')).toBe(true);
    const back = loadModel(f).eval();
    expect(Array.from(back.forward(x).data)).toEqual(want);
    expect(bits(back).equals(bits(model))).toBe(true);
    expect(() => loadModel(f, new Sequential(new Linear(2, 2)))).toThrow(/"0.weight" has shape \[4, 1, 3, 3\], but the model expects \[2, 2\]/);
  });
});

describe('checkpoints (acceptance 4)', () => {
  const data = digits();
  const train = data.subset(0, 600), val = data.subset(1500, 1797);

  function setup(initSeed: number): { model: Sequential; optimizer: AdamW; scheduler: LRScheduler } {
    const rng = new Rng(initSeed);
    const model = new Sequential(
      new Dropout(0.1, { rng }), new Linear(64, 48, { rng }), new BatchNorm1d(48), new ReLU(), new Dropout(0.2, { rng }),
      new Linear(48, 10, { rng }),
    );
    const optimizer = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 1e-4 });
    const scheduler = new LRScheduler(optimizer, cosineLR(3 * Math.ceil(600 / 32)));
    return { model, optimizer, scheduler };
  }

  it('resume after epoch 1 into a fresh model and optimizer gives bit-identical weights after 3 epochs', () => {
    const a = setup(1);
    const full = fit(a.model, { ...a, train, val, epochs: 3, batchSize: 32, seed: 5 });
    expect(full.history[2]!.valAccuracy).toBeGreaterThan(0.6);

    const b = setup(1);
    const ckpt = path.join(tmp, 'resume.ckpt');
    fit(b.model, { ...b, train, val, epochs: 1, batchSize: 32, seed: 5, checkpoint: { path: ckpt } });
    const c = setup(999); // different init: everything must come from the checkpoint
    expect(bits(c.model).equals(bits(a.model))).toBe(false);
    const rest = fit(c.model, { ...c, train, val, epochs: 3, batchSize: 32, seed: 123, resume: ckpt });
    expect(rest.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
    expect(bits(c.model).equals(bits(a.model))).toBe(true);
    expect(c.optimizer.stepCount).toBe(a.optimizer.stepCount);
    expect(c.optimizer.lr).toBe(a.optimizer.lr);
    expect(rest.history[2]!.trainLoss).toBe(full.history[2]!.trainLoss);
  });

  it('restores optimizer, scheduler and generators; rejects a mismatched optimizer', () => {
    const a = setup(1);
    fit(a.model, { ...a, train, epochs: 1, batchSize: 64 });
    const f = path.join(tmp, 'parts.ckpt');
    const extra = new Rng(9);
    extra.nextU32();
    saveCheckpoint(f, { ...a, rngs: { extra } }, { epoch: 1, note: 'x' });
    const b = setup(2);
    const r = new Rng(0);
    expect(loadCheckpoint(f, { ...b, rngs: { extra: r } })).toEqual({ epoch: 1, note: 'x' });
    expect(r.nextU32()).toBe(extra.nextU32());
    expect(b.scheduler.t).toBe(a.scheduler.t);
    expect(b.optimizer.stateDict().buffers.get('0.exp_avg')).toEqual(a.optimizer.stateDict().buffers.get('0.exp_avg'));
    expect(() => loadCheckpoint(f, { model: b.model, optimizer: new SGD(b.model.parameters(), { lr: 1 }) })).toThrow(/Cannot load AdamW optimizer state into SGD/);
    expect(() => loadCheckpoint(f, { model: b.model, rngs: { other: r } })).toThrow(/no saved state for the generator "other"/);
    saveModel(path.join(tmp, 'm.safetensors'), b.model);
    expect(() => loadCheckpoint(path.join(tmp, 'm.safetensors'), b)).toThrow(/is not a distiq checkpoint/);
  });

  it('SIGKILL while a checkpoint is being written leaves the previous checkpoint loadable', async () => {
    const dist = path.resolve(__dirname, '../../dist/index.js');
    expect(fs.existsSync(dist), 'the child process runs the compiled library: npm run compile first').toBe(true);
    const dir = fs.mkdtempSync(path.join(tmp, 'kill-'));
    const file = path.join(dir, 'big.ckpt');
    let killedMidWrite = false;
    for (let attempt = 0; attempt < 5 && !killedMidWrite; attempt++) {
      const child = spawn(process.execPath, [path.join(__dirname, 'checkpoint-writer.js'), dist, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
        child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
      });
      // Kill as soon as a temporary file of a later write appears (the write is in progress).
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          const tmpFile = fs.readdirSync(dir).find((n) => n.includes('.tmp-'));
          if (tmpFile && fs.statSync(path.join(dir, tmpFile)).size > 0) {
            child.kill('SIGKILL');
            clearInterval(poll);
            resolve();
          }
        }, 1);
      });
      await exited;
      killedMidWrite = fs.readdirSync(dir).some((n) => n.includes('.tmp-'));
    }
    expect(killedMidWrite, 'the kill landed while a temporary file was being written').toBe(true);
    const rng = new Rng(77);
    const model = new Sequential(new Linear(2048, 2048, { rng }), new ReLU(), new Linear(2048, 2048, { rng }));
    const want = bits(model);
    const fresh = new Sequential(new Linear(2048, 2048), new ReLU(), new Linear(2048, 2048));
    const loop = loadCheckpoint(file, { model: fresh, optimizer: new SGD(fresh.parameters(), { lr: 0.1 }) });
    expect(loop.epoch).toBeGreaterThanOrEqual(1);
    expect(bits(fresh).equals(want)).toBe(true);
  });
});
