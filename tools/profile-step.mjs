#!/usr/bin/env node
// Where one AWD-LSTM training step's time goes on this backend: kernel time by kernel name
// (tf.profile) and the rest (JS between kernels, gradient bookkeeping), for the `ulmfit bench`
// step. After `npm run build`:
//   node tools/profile-step.mjs [--bs 32] [--steps 2] [--infer] [--shapes (matmuls by operand shapes, with GFLOP/s)]
//     [--wt103 (vocab 60008, emb 400, hidden 1152, bs 16)] [--threads N (native matmul threads)]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { setUpBenchmark, DEFAULT_SPEED_CONFIG } from '../dist/tasks/speed.js';
import { setNativeThreads } from '../dist/compute/native.js';

const { values } = parseArgs({
  options: {
    bs: { type: 'string' },
    steps: { type: 'string' },
    infer: { type: 'boolean' },
    shapes: { type: 'boolean' },
    wt103: { type: 'boolean' },
    threads: { type: 'string' },
  },
});
const steps = Number(values.steps ?? 2);
const base = values.wt103
  ? { ...DEFAULT_SPEED_CONFIG, vocab: 60008, emb: 400, hidden: 1152, bs: 16 }
  : DEFAULT_SPEED_CONFIG;
const { model, learner, batches } = await setUpBenchmark({
  ...base,
  bs: Number(values.bs ?? base.bs),
  steps,
  warmup: 1,
});
if (values.threads !== undefined) setNativeThreads(Number(values.threads));
const run = (batch) => {
  if (values.infer) {
    const logits = model.forwardLogits(batch.x, batch.bs, batch.seqLen);
    logits.dispose();
  } else {
    learner.trainBatch(batch);
  }
};
model.setTraining(!values.infer);
model.reset();
// Two untimed steps: the first grows the wasm heap (its new pages fault in), the second settles it.
run(batches[0]);
run(batches[1 % batches.length]);
const byKernel = new Map();
let wall = 0;
for (let s = 0; s < steps; s++) {
  const start = performance.now();
  const info = await tf.profile(() => run(batches[(s + 1) % batches.length]));
  wall += performance.now() - start;
  for (const k of info.kernels) {
    // customGrad records its forward (and a fused op its whole call) as one "kernel" whose time includes the kernels inside it
    if (k.name === 'forward' || k.name.endsWith('__op')) continue;
    const name =
      ['BatchMatMul', 'Transpose', 'Multiply', 'Add', 'UnsortedSegmentSum'].includes(k.name) && values.shapes
        ? `${k.name} ${k.inputShapes.map((sh) => sh.join('x')).join(' · ')}`
        : k.name;
    const entry = byKernel.get(name) ?? { ms: 0, calls: 0, flops: 0 };
    if (k.name === 'BatchMatMul') {
      const [a, b] = k.inputShapes;
      entry.flops += 2 * a.slice(0, -1).reduce((x, y) => x * y, 1) * a[a.length - 1] * b[b.length - 1];
    }
    entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    entry.calls += 1;
    byKernel.set(name, entry);
  }
}
const kernelMs = [...byKernel.values()].reduce((sum, e) => sum + e.ms, 0);
console.log(
  `${values.infer ? 'inference' : 'training'} step, bs ${values.bs ?? base.bs}: ${(wall / steps).toFixed(0)} ms wall per step (profiled), in kernels ${(kernelMs / steps).toFixed(0)} ms, between kernels (JS, bookkeeping) ${((wall - kernelMs) / steps).toFixed(0)} ms`,
);
for (const [name, e] of [...byKernel.entries()]
  .sort((a, b) => b[1].ms - a[1].ms)
  .slice(0, Number(process.env.PROFILE_ROWS ?? 25))) {
  const rate = e.flops > 0 ? ` ${(e.flops / e.ms / 1e6).toFixed(1).padStart(5)} GFLOP/s` : '';
  console.log(
    `${name.padEnd(24)} ${(e.ms / steps).toFixed(1).padStart(8)} ms ${String(e.calls / steps).padStart(6)} calls ${((100 * e.ms) / kernelMs).toFixed(1).padStart(5)}%${rate}`,
  );
}
