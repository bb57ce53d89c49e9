#!/usr/bin/env node
// Where a training step's memory goes at WT103 size (issue #18's "fine-tuning at bs 16 within 2 GB
// RSS"): the `ulmfit bench` step (src/tasks/speed.ts setUpBenchmark: the Learner's trainBatch,
// five dropouts, AR/TAR, tied decoder over the whole vocab, AdamW) on random ids, reporting after
// each step the process's RSS and peak RSS, TF.js's live tensor bytes and the wasm heap's size
// (it only grows: its high-water mark stays resident), then one step under tf.profile: the peak of
// live tensor bytes and the kernels that were running when the live bytes were highest.
//
//   npm run build && nice -n 10 node workbench/scale/memory-step.mjs [--vocab 60008] [--emb 400]
//     [--hidden 1152] [--layers 3] [--bs 16] [--bptt 72] [--steps 3] [--eval] [--timeline]
//
// --eval also runs validation batches (evalBatch) after training; --timeline prints every kernel
// whose live-bytes snapshot is within 10% of the step's peak. tf.profile counts a view (Reshape,
// Identity) as new bytes; the wasm heap's own allocations are counted too (its malloc and free
// wrapped): their peak per step is what the heap must hold, and the heap's size above it is
// fragmentation. --chunk-mb N sets the decoder loss's chunk (src/compute/linear-cross-entropy.ts),
// --unfused runs the unfused decoder loss (the reference) instead. --epoch-end then does what
// finetune-lm does at an epoch's end: a validation pass, then model-last/, model-best/, encoder/
// and checkpoint/ written (into a temporary folder), the RSS after each; with --copies from JS
// copies of every weight and moment, as finetune-lm did before (the comparison).
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { setUpBenchmark } from '../../dist/tasks/speed.js';
import {
  linearCrossEntropyOp,
  setLinearCrossEntropyChunkBytes,
} from '../../dist/compute/linear-cross-entropy.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCheckpointDir, writeModelDir } from '../../dist/io/artifact.js';
import { encoderWeightsOf } from '../../dist/io/fastai-weights.js';
import { weightReaders, weightsToTensorMap } from '../../dist/model/persist.js';
import { checkpointOf } from '../../dist/tasks/run-dir.js';
import { heap, line, mib, MiB, trackMalloc } from './memory-report.mjs';

const { values } = parseArgs({
  options: {
    vocab: { type: 'string' },
    emb: { type: 'string' },
    hidden: { type: 'string' },
    layers: { type: 'string' },
    bs: { type: 'string' },
    bptt: { type: 'string' },
    steps: { type: 'string' },
    eval: { type: 'boolean' },
    timeline: { type: 'boolean' },
    'chunk-mb': { type: 'string' },
    unfused: { type: 'boolean' },
    'epoch-end': { type: 'boolean' },
    copies: { type: 'boolean' },
  },
});
const num = (key, fallback) => Number(values[key] ?? fallback);
const steps = num('steps', 3);
const config = {
  vocab: num('vocab', 60008),
  emb: num('emb', 400),
  hidden: num('hidden', 1152),
  layers: num('layers', 3),
  bs: num('bs', 16),
  bptt: num('bptt', 72),
  steps,
  warmup: 1,
};

line('start');
const { model, learner, batches, backend } = await setUpBenchmark({ ...config, steps: steps + 1 });
trackMalloc();
if (values['chunk-mb'] !== undefined) setLinearCrossEntropyChunkBytes(Number(values['chunk-mb']) * MiB);
if (values.unfused) {
  // every later call runs the reference (using() would need the rest of the script in one synchronous body)
  const unfused = linearCrossEntropyOp.available().find((impl) => impl.name === 'unfused');
  linearCrossEntropyOp.select = () => unfused;
}
console.log(
  `backend ${backend}; vocab ${config.vocab}, emb ${config.emb}, hidden ${config.hidden}, layers ${config.layers}, bs ${config.bs}, bptt ${config.bptt}; ${model.parameterCount().toLocaleString()} parameters (${mib(4 * model.parameterCount())})`,
);
line('model + learner');
model.setTraining(true);
model.reset();
for (let s = 0; s < steps; s++) {
  const started = performance.now();
  learner.trainBatch(batches[s % batches.length]);
  line(`train step ${s + 1} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
console.log(
  `live allocations ≥ 8 MiB at the last step's malloc peak: ${heap.largestAtPeak.map((b) => (b / MiB).toFixed(0)).join(' ')} MiB`,
);
const info = await tf.profile(() => learner.trainBatch(batches[steps % batches.length]));
line('profiled train step');
console.log(
  `profiled step: peak live tensors ${mib(info.peakBytes)}, new ${mib(info.newBytes)}, ${info.kernels.length} kernels`,
);
const kernels = info.kernels.filter((k) => k.name !== 'forward' && !k.name.endsWith('__op'));
let peakAt = 0;
kernels.forEach((k, i) => {
  if (k.totalBytesSnapshot > kernels[peakAt].totalBytesSnapshot) peakAt = i;
});
const describe = (k, i) =>
  `#${String(i).padStart(4)} ${k.name.padEnd(22)} +${mib(k.bytesAdded)} live ${mib(k.totalBytesSnapshot)}  in ${k.inputShapes.map((s) => `[${s}]`).join(' ')} out ${k.outputShapes.map((s) => `[${s}]`).join(' ')}`;
console.log(`highest live bytes after kernel ${describe(kernels[peakAt], peakAt)}`);
console.log('largest allocations:');
[...kernels.entries()]
  .sort((a, b) => b[1].bytesAdded - a[1].bytesAdded)
  .slice(0, 12)
  .forEach(([i, k]) => console.log(`  ${describe(k, i)}`));
if (values.timeline) {
  const top = kernels[peakAt].totalBytesSnapshot;
  console.log('kernels within 10% of the peak:');
  kernels.forEach((k, i) => k.totalBytesSnapshot >= 0.9 * top && console.log(`  ${describe(k, i)}`));
}
if (values.eval) {
  model.setTraining(false);
  model.reset();
  for (let s = 0; s < 2; s++) {
    tf.tidy(() => model.evalBatch(batches[s % batches.length]));
    line(`eval batch ${s + 1}`);
  }
}

if (values['epoch-end']) {
  model.setTraining(false);
  model.reset();
  for (let s = 0; s < 4; s++) tf.tidy(() => model.evalBatch(batches[s % batches.length]));
  line('validation (4 batches)');
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-memory-step-'));
  try {
    // as src/tasks/lm.ts onEpochEnd and src/tasks/run.ts saveEpoch do it (--copies: as they did
    // before the files were written tensor by tensor from the backend, with every weight and
    // Adam moment copied into JS first)
    const copies = values.copies;
    const weights = copies ? weightsToTensorMap(model.namedWeights()) : weightReaders(model.namedWeights());
    const vocab = Array.from({ length: config.vocab }, (_, i) => `t${i}`);
    const meta = { arch: { name: 'awd_lstm', ...model.config }, backwards: false, training: {} };
    const common = { vocab, tokenizer: { kind: 'word' } };
    line(copies ? 'weights read' : 'weight readers');
    const state = copies ? learner.getState() : learner.getLiveState();
    line(copies ? 'learner state read' : 'learner state (live)');
    writeModelDir(join(dir, 'model-last'), { meta: { kind: 'lm', ...meta }, weights, ...common });
    writeModelDir(join(dir, 'model-best'), { meta: { kind: 'lm', ...meta }, weights, ...common });
    writeModelDir(join(dir, 'encoder'), {
      meta: { kind: 'encoder', ...meta },
      weights: encoderWeightsOf(weights),
      ...common,
    });
    line('model dirs written');
    const best = { loss: 1, accuracy: null };
    writeCheckpointDir(
      join(dir, 'checkpoint'),
      copies ? checkpointOfCopies(weights, state, best) : checkpointOf(weights, state, best),
    );
    line('checkpoint written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The checkpoint from `getState()`'s copies, as src/tasks/run-dir.ts checkpointOf built it before. */
function checkpointOfCopies(weights, state, best) {
  const tensors = new Map();
  for (const [name, t] of weights) tensors.set(`model.${name}`, t);
  for (const [name, t] of Object.entries(state.tensors))
    tensors.set(`learner.${name}`, { dtype: 'float32', shape: t.shape, data: t.data });
  return { tensors, state: { learner: state.meta, bestLoss: best.loss, bestAccuracy: best.accuracy } };
}
