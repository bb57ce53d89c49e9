#!/usr/bin/env node
// Where a classifier training step's memory goes at WT103 size (what train-classifier runs on an
// encoder fine-tuned from wt103): a TextClassifier (src/model/heads.ts, fastai's classifier
// dropouts, vocab 60,000, emb 400, hidden 1152, 3 layers, bptt 72, max_len 1,440) trained
// unfrozen through the Learner on random documents of --doc-len tokens, bs 16, reporting after each
// step what memory-step.mjs reports (memory-report.mjs).
//
//   npm run build && nice -n 10 node workbench/scale/memory-classifier.mjs [--vocab 60000] [--bs 16]
//     [--doc-len 150] [--steps 3]
//
// --doc-len 150 is about the scale benchmark's Brown paragraphs (30–120 words); IMDb reviews
// average ~300 tokens and run past max_len.
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { initBackend } from '../../dist/backend.js';
import { AWD_LSTM_CLAS_CONFIG } from '../../dist/model/awd-lstm.js';
import { TextClassifier } from '../../dist/model/heads.js';
import { Rng } from '../../dist/random.js';
import { Learner } from '../../dist/train/learner.js';
import { heap, line, mib, MiB, trackMalloc } from './memory-report.mjs';

const { values } = parseArgs({
  options: {
    vocab: { type: 'string' },
    bs: { type: 'string' },
    'doc-len': { type: 'string' },
    steps: { type: 'string' },
  },
});
const vocab = Number(values.vocab ?? 60000);
const bs = Number(values.bs ?? 16);
const docLen = Number(values['doc-len'] ?? 150);
const steps = Number(values.steps ?? 3);

line('start');
const backend = await initBackend('auto');
trackMalloc();
const rng = new Rng(0);
const model = new TextClassifier(vocab, 2, AWD_LSTM_CLAS_CONFIG, { rng });
const learner = new Learner(model, { train: { numBatches: 1, batches: () => [] }, rng });
learner.optimizer.setHyper('lr', 1e-3);
learner.optimizer.setHyper('mom', 0.8);
console.log(
  `backend ${backend}; classifier vocab ${vocab}, bs ${bs}, documents of ${docLen} tokens; ${model
    .paramGroups()
    .reduce((n, g) => n + g.variables.reduce((m, v) => m + v.size, 0), 0)
    .toLocaleString()} parameters`,
);
line('model + learner');
model.setTraining(true);
for (let s = 0; s < steps; s++) {
  // ids from 2: no pad (1) inside a document, so every row is docLen tokens long
  const x = Int32Array.from({ length: bs * docLen }, () => 2 + rng.int(vocab - 2));
  const y = Int32Array.from({ length: bs }, () => rng.int(2));
  const started = performance.now();
  learner.trainBatch({ x, y, bs, seqLen: docLen, indices: new Int32Array(bs) });
  line(`train step ${s + 1} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(
  `live allocations ≥ 8 MiB at the last step's malloc peak: ${heap.largestAtPeak.map((b) => (b / MiB).toFixed(0)).join(' ')} MiB`,
);
console.log(`live tensors now ${mib(tf.memory().numBytes)}`);
