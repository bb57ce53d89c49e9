import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import {
  RUN_LAYOUT,
  writeCheckpointDir,
  writeModelDir,
  type ModelDirContents,
} from '../../src/io/artifact.js';
import { float32Tensor, type TensorMap, type TensorSource } from '../../src/io/tensors.js';
import { AWD_LSTM_CLAS_CONFIG } from '../../src/model/awd-lstm.js';
import type { ClasBatch } from '../../src/data/batches.js';
import { TextClassifier } from '../../src/model/heads.js';
import { weightReaders, weightsToTensorMap } from '../../src/model/persist.js';
import { Rng } from '../../src/random.js';
import { checkpointOf, resumeFrom } from '../../src/tasks/run-dir.js';
import { Learner } from '../../src/train/learner.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-run-checkpoint-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const VOCAB = 40;
const CONFIG = { ...AWD_LSTM_CLAS_CONFIG, emb_sz: 8, n_hid: 12, n_layers: 2 };

/** A tied, weight-dropped classifier (BatchNorm's int32 counter included) after `steps` Adam steps. */
function trained(steps: number) {
  const rng = new Rng(5);
  const model = new TextClassifier(VOCAB, 2, CONFIG, { rng });
  const learner = new Learner<ClasBatch>(model, { train: { numBatches: 1, batches: () => [] }, rng });
  model.setTraining(true);
  const step = (seed: number): void => {
    const data = new Rng(seed);
    const [bs, seqLen] = [3, 9];
    const x = Int32Array.from({ length: bs * seqLen }, () => 2 + data.int(VOCAB - 2));
    const y = Int32Array.from({ length: bs }, () => data.int(2));
    learner.trainBatch({ x, y, bs, seqLen, indices: new Int32Array(bs) });
  };
  for (let s = 0; s < steps; s++) step(s);
  return { model, learner, step };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const files = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir).map((name) => [name, sha(join(dir, name))]));

const modelDir = (weights: TensorSource): ModelDirContents => ({
  meta: { kind: 'classifier', arch: { name: 'awd_lstm', ...CONFIG }, backwards: false },
  weights,
  vocab: Array.from({ length: VOCAB }, (_, i) => `t${i}`),
  tokenizer: { kind: 'word' },
  labels: ['a', 'b'],
});

describe.each(['wasm', 'cpu'] as const)('an epoch saved from the %s backend, tensor by tensor', (backend) => {
  it('writes the bytes the JS copies wrote (model directory and checkpoint), and resumes from them', async () => {
    await initBackend(backend);
    const { model, learner, step } = trained(2);
    const best = { loss: 0.5, accuracy: 0.75 };

    // What src/tasks/run.ts saveEpoch wrote before: every weight and moment copied into JS first.
    const copies: TensorMap = weightsToTensorMap(model.namedWeights());
    const state = learner.getState();
    const old: TensorMap = new Map([...copies].map(([name, t]) => [`model.${name}`, t]));
    for (const [name, t] of Object.entries(state.tensors))
      old.set(`learner.${name}`, float32Tensor(t.shape, t.data));
    writeModelDir(join(root, 'copies', 'model-last'), modelDir(copies));
    writeCheckpointDir(join(root, 'copies', RUN_LAYOUT.checkpoint), {
      tensors: old,
      state: { learner: state.meta, bestLoss: best.loss, bestAccuracy: best.accuracy },
    });

    const weights = weightReaders(model.namedWeights());
    writeModelDir(join(root, 'run', 'model-last'), modelDir(weights));
    writeCheckpointDir(
      join(root, 'run', RUN_LAYOUT.checkpoint),
      checkpointOf(weights, learner.getLiveState(), best),
    );
    for (const dir of ['model-last', RUN_LAYOUT.checkpoint])
      expect(files(join(root, 'run', dir)), dir).toEqual(files(join(root, 'copies', dir)));

    // A fresh model and learner resumed from the streamed checkpoint take the same next step.
    const fresh = trained(0);
    resumeFrom(join(root, 'run'), fresh.learner, fresh.model);
    step(7);
    fresh.step(7);
    const after = weightsToTensorMap(model.namedWeights());
    const resumed = weightsToTensorMap(fresh.model.namedWeights());
    for (const [name, t] of after) expect(resumed.get(name)?.data, name).toEqual(t.data);
    learner.dispose();
    fresh.learner.dispose();
    model.dispose();
    fresh.model.dispose();
  });
});
