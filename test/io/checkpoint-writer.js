// Child process of checkpoint.test.ts: writes checkpoints of a ~32 MB model in a loop until killed.
// argv: <dist index.js> <checkpoint path>. Prints "ready" after the first complete checkpoint.
'use strict';
const { Linear, Sequential, ReLU, Rng, SGD, saveCheckpoint } = require(process.argv[2]);
const file = process.argv[3];
const rng = new Rng(77);
const model = new Sequential(new Linear(2048, 2048, { rng }), new ReLU(), new Linear(2048, 2048, { rng }));
const optimizer = new SGD(model.parameters(), { lr: 0.1 });
saveCheckpoint(file, { model, optimizer }, { epoch: 1 });
process.stdout.write('ready\n');
for (let epoch = 2; ; epoch++) saveCheckpoint(file, { model, optimizer }, { epoch });
