/**
 * Worker thread of generateSoftLabels for model teachers: loads the model from the file the main thread saved
 * (lib/io/model-file.ts), then computes the shards it is sent with computeShard — the same code and batch boundaries
 * as a single-thread run, so the shards are bit-identical.
 *
 * workerData: { modelFile, classes, name, teacherBatchSize, batchSize, topK, sampleShape }.
 * Messages in: { shard, first, rows, x: Float32Array }; out: { shard, logits, indices } or { shard, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { loadModel } from '../io/model-file';
import { computeShard } from './soft-label-shard';
import { modelTeacher } from './teacher';

interface Init {
  modelFile: string;
  classes: number;
  name: string;
  teacherBatchSize: number;
  batchSize: number;
  topK: number | null;
  sampleShape: number[];
}

interface Job {
  shard: number;
  first: number;
  rows: number;
  x: Float32Array;
}

const init = workerData as Init;
const port = parentPort!;
let teacher: ReturnType<typeof modelTeacher> | null = null;

port.on('message', (job: Job) => {
  void (async () => {
    try {
      teacher ??= modelTeacher(loadModel(init.modelFile), { classes: init.classes, name: init.name, batchSize: init.teacherBatchSize });
      const out = await computeShard(teacher, job.x, init.sampleShape, job.first, job.rows, init.batchSize, init.topK);
      const transfer: ArrayBuffer[] = [out.logits.buffer as ArrayBuffer];
      if (out.indices) transfer.push(out.indices.buffer as ArrayBuffer);
      port.postMessage({ shard: job.shard, logits: out.logits, indices: out.indices }, transfer);
    } catch (err) {
      const e = err as Error & { code?: string };
      port.postMessage({ shard: job.shard, error: { name: e.name, code: e.code, message: e.message, stack: e.stack } });
    }
  })();
});
