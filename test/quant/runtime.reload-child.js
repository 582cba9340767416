// Child process of runtime.save-load.test.ts: loads quantized model files with a fresh library instance (no float
// model) and writes their outputs. argv: <dist index.js> <input .f32 file> <shape json> <model file>...
// For each model file F it writes F.sync.out (predict) and F.async.out (predictAsync), raw float32 bytes.
'use strict';
const fs = require('node:fs');
const { Tensor, loadQuantized } = require(process.argv[2]);
const raw = fs.readFileSync(process.argv[3]);
const x = new Tensor(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), JSON.parse(process.argv[4]));
(async () => {
  for (const file of process.argv.slice(5)) {
    const q = loadQuantized(file);
    fs.writeFileSync(`${file}.sync.out`, Buffer.from(q.predict(x).data.buffer));
    fs.writeFileSync(`${file}.async.out`, Buffer.from((await q.predictAsync(x)).data.buffer));
  }
  process.stdout.write('done\n');
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
