import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend.js';
import type { LmBatch } from '../../src/data/batches.js';
import { LmStream } from '../../src/data/lm-stream.js';
import {
  AWD_LSTM_LM_CONFIG,
  LanguageModel,
  withDropMult,
  type AwdLstmConfig,
} from '../../src/model/awd-lstm.js';
import { Rng } from '../../src/random.js';
import { DataParallelLm, dpWorkerFile, type DataParallelOptions } from '../../src/train/data-parallel.js';
import { layoutVariables, paramLayout, rowRange } from '../../src/train/dp-shared.js';
import { Learner } from '../../src/train/learner.js';
import { Adam } from '../../src/train/optimizer.js';

beforeAll(async () => {
  await initBackend('wasm');
});

const VOCAB = 30;
const TINY: AwdLstmConfig = { ...AWD_LSTM_LM_CONFIG, emb_sz: 6, n_hid: 10, n_layers: 2 };
const NO_DROPOUT: AwdLstmConfig = withDropMult(TINY, 0);

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function makeModel(config: AwdLstmConfig, seed = 3): { model: LanguageModel; optimizer: Adam } {
  const model = new LanguageModel(VOCAB, config, { seed });
  const optimizer = new Adam(
    model.paramGroups().map((g) => g.variables),
    model.noWeightDecay(),
  );
  optimizer.setHyper('lr', 1e-2);
  cleanup.push(() => {
    optimizer.dispose();
    model.dispose();
  });
  return { model, optimizer };
}

async function makeTrainer(
  options: Omit<DataParallelOptions, 'model' | 'optimizer'>,
  config: AwdLstmConfig,
  seed = 3,
) {
  const { model, optimizer } = makeModel(config, seed);
  const trainer = await DataParallelLm.create({ model, optimizer, ...options });
  cleanup.push(() => trainer.close());
  return { model, optimizer, trainer };
}

function randomBatch(rng: Rng, bs: number, seqLen: number): LmBatch {
  const x = Int32Array.from({ length: bs * seqLen }, () => rng.int(VOCAB));
  const y = Int32Array.from({ length: bs * seqLen }, () => rng.int(VOCAB));
  return { x, y, bs, seqLen };
}

/** The single-process loss and gradient over the whole batch (flat in layout order). */
function fullBatchGradient(model: LanguageModel, batch: LmBatch): { loss: number; gradient: Float32Array } {
  const groups = model.paramGroups();
  const layout = paramLayout(groups);
  const variables = layoutVariables(groups);
  const { value, grads } = tf.variableGrads(() => model.trainLoss(batch).loss, variables);
  const flat = new Float32Array(layout.total);
  variables.forEach((v, i) => flat.set(grads[v.name]!.dataSync() as Float32Array, layout.slots[i]!.offset));
  const loss = value.dataSync()[0]!;
  value.dispose();
  tf.dispose(Object.values(grads));
  return { loss, gradient: flat };
}

function readFlat(model: LanguageModel): Float32Array {
  const groups = model.paramGroups();
  const layout = paramLayout(groups);
  const flat = new Float32Array(layout.total);
  layoutVariables(groups).forEach((v, i) => flat.set(v.dataSync() as Float32Array, layout.slots[i]!.offset));
  return flat;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('data-parallel layout', () => {
  it('splits rows into contiguous blocks that cover the batch', () => {
    expect([0, 1, 2].map((i) => rowRange(7, 3, i))).toEqual([
      [0, 2],
      [2, 4],
      [4, 7],
    ]);
    expect([0, 1].map((i) => rowRange(32, 2, i))).toEqual([
      [0, 16],
      [16, 32],
    ]);
  });
});

describe('DataParallelLm', () => {
  it('finds the compiled worker (npm test builds dist/ first)', () => {
    expect(dpWorkerFile(), 'run npm run build first: workers load dist/train/dp-worker.js').toBeDefined();
  });

  // Three consecutive batches without a reset: equal gradients need every replica to carry the
  // hidden state of its own rows exactly as the single model carries it per row.
  for (const [replicas, mainThread, bs] of [
    [2, true, 4],
    [2, false, 4],
    [3, true, 5],
  ] as const) {
    it(`averages to the full-batch gradient with dropout off (${replicas} replicas, ${mainThread ? 'main thread + workers' : 'workers only'}, bs ${bs})`, async () => {
      const { trainer } = await makeTrainer({ replicas, mainThread }, NO_DROPOUT);
      const { model: reference } = makeModel(NO_DROPOUT);
      const rng = new Rng(11);
      for (let b = 0; b < 3; b++) {
        const batch = randomBatch(rng, bs, 6);
        const outcome = await trainer.trainStep(batch, { apply: false });
        const expected = fullBatchGradient(reference, batch);
        expect(outcome.applied).toBe(false);
        expect(maxAbsDiff(trainer.averagedGradient(), expected.gradient)).toBeLessThan(1e-5);
        expect(Math.abs(outcome.loss - expected.loss)).toBeLessThan(1e-5);
      }
    });
  }

  it('takes the same AdamW steps as the single-process learner with dropout off', async () => {
    const { trainer, optimizer } = await makeTrainer({ replicas: 2, clip: 0.5 }, NO_DROPOUT);
    const { model: reference } = makeModel(NO_DROPOUT);
    const learner = new Learner<LmBatch>(reference, {
      train: { numBatches: 1, batches: () => [] },
      rng: new Rng(0),
      clip: 0.5,
    });
    cleanup.push(() => learner.dispose());
    learner.optimizer.setHyper('lr', 1e-2);
    const rng = new Rng(5);
    for (let b = 0; b < 3; b++) {
      const batch = randomBatch(rng, 4, 6);
      const reported = learner.trainBatch(batch);
      const outcome = await trainer.trainStep(batch);
      expect(outcome.applied).toBe(true);
      expect(outcome.gradNorm).toBeGreaterThan(0);
      expect(Math.abs(outcome.reported - reported)).toBeLessThan(1e-5);
    }
    expect(optimizer.hypers[0]!.lr).toBe(1e-2);
    expect(maxAbsDiff(await trainer.replicaWeights(0), readFlat(reference))).toBeLessThan(1e-5);
  });

  for (const update of ['replicated', 'broadcast'] as const) {
    it(`keeps the replicas bit-identical with dropout on (${update}), deterministically for a given seed`, async () => {
      const run = async () => {
        const { trainer } = await makeTrainer({ replicas: 2, update, clip: 0.1 }, TINY, 9);
        const before = await trainer.replicaWeights(0);
        const rng = new Rng(7);
        for (let b = 0; b < 3; b++) await trainer.trainStep(randomBatch(rng, 4, 6));
        const [w0, w1] = [await trainer.replicaWeights(0), await trainer.replicaWeights(1)];
        expect(Buffer.from(w1.buffer).equals(Buffer.from(w0.buffer))).toBe(true);
        expect(maxAbsDiff(w0, before)).toBeGreaterThan(0);
        await trainer.close();
        return w0;
      };
      const first = await run();
      const second = await run();
      expect(Buffer.from(second.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    });
  }

  it('refuses a stepper for a learner with anchors (the replicas would train without the pull)', () => {
    const rng = new Rng(3);
    const docs = Array.from({ length: 4 }, () => Int32Array.from({ length: 15 }, () => rng.int(VOCAB)));
    const { model } = makeModel(NO_DROPOUT);
    const variables = model.paramGroups().flatMap((group) => group.variables);
    const learner = new Learner<LmBatch>(model, {
      train: new LmStream(docs, { bs: 2, bptt: 6, rng }),
      rng,
      anchor: { variables, decay: 10 },
    });
    cleanup.push(() => learner.dispose());
    const stepper = { step: () => Promise.resolve({ loss: 0, reported: 0 }) };
    expect(() => learner.useStepper(stepper)).toThrow(/anchors \(L2-SP\) trains on one thread/);
  });

  // A two-stage recipe through the learner: the stage change freezes/unfreezes and clears the
  // optimizer state, which the workers must follow ('replicated' keeps their own Adam state).
  for (const update of ['replicated', 'broadcast'] as const) {
    it(`trains through the learner as the single-process learner does with dropout off (${update})`, async () => {
      const rng = new Rng(21);
      const docs = Array.from({ length: 12 }, () => Int32Array.from({ length: 15 }, () => rng.int(VOCAB)));
      const fit = async (parallel: boolean) => {
        const { model } = makeModel(NO_DROPOUT);
        const runRng = new Rng(4);
        const learner = new Learner<LmBatch>(model, {
          train: new LmStream(docs, { bs: 4, bptt: 6, shuffle: true, rng: runRng }),
          rng: runRng,
          clip: 1,
        });
        cleanup.push(() => learner.dispose());
        const trainer = parallel
          ? await DataParallelLm.create({ replicas: 2, model, optimizer: learner.optimizer, update, clip: 1 })
          : undefined;
        if (trainer) {
          cleanup.push(() => trainer.close());
          learner.useStepper(trainer);
        }
        const rows = await learner.fitRecipe([
          { freezeTo: -1, epochs: 1, lr: 2e-2 },
          { freezeTo: 0, epochs: 1, lr: 1e-2 },
        ]);
        const weights = readFlat(model);
        if (trainer)
          expect(
            Buffer.from((await trainer.replicaWeights(1)).buffer).equals(Buffer.from(weights.buffer)),
          ).toBe(true);
        return { rows, weights };
      };
      const single = await fit(false);
      const parallel = await fit(true);
      expect(maxAbsDiff(parallel.weights, single.weights)).toBeLessThan(1e-4);
      parallel.rows.forEach((row, i) =>
        expect(Math.abs(row.trainLoss - single.rows[i]!.trainLoss)).toBeLessThan(1e-4),
      );
    });
  }

  it("rejects with the failing replica's error and cannot step again", async () => {
    const { trainer } = await makeTrainer({ replicas: 2 }, TINY);
    const batch = randomBatch(new Rng(1), 4, 6);
    // One id short: only the last replica's rows are malformed; replica 0 waits at the barrier.
    const bad = { ...batch, x: batch.x.slice(0, -1) };
    await expect(trainer.trainStep(bad)).rejects.toThrow(/replica 1 failed: timeMajorIds/);
    await expect(trainer.trainStep(batch)).rejects.toThrow(/timeMajorIds/);
    await trainer.close();
  });

  it('ends the step with a clear error, not a hang, when a worker thread dies outright', async () => {
    // A short barrier timeout: if the death went unnoticed the step would fail with it instead.
    const { trainer } = await makeTrainer({ replicas: 2, barrierTimeoutMs: 60_000 }, TINY);
    const batch = randomBatch(new Rng(1), 4, 6);
    await trainer.trainStep(batch);
    const started = Date.now();
    const step = trainer.trainStep(batch);
    // Replica 0 (this thread) has done its rows and waits at the barrier without blocking, so the
    // worker's exit event is delivered: kill the worker as out-of-memory would.
    const workers = (trainer as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> })
      .workers;
    await workers[0]!.worker.terminate();
    await expect(step).rejects.toThrow(/replica 1 \(a worker thread\) exited with code 1/);
    expect(Date.now() - started).toBeLessThan(20_000);
    await expect(trainer.trainStep(batch)).rejects.toThrow(/exited with code/);
  });

  it('refuses a second step while one is running (replica 0 would reach the barrier twice)', async () => {
    const { trainer } = await makeTrainer({ replicas: 2 }, TINY);
    const batch = randomBatch(new Rng(1), 4, 6);
    const first = trainer.trainStep(batch);
    await expect(trainer.trainStep(batch)).rejects.toThrow(/already running/);
    await expect(first).resolves.toMatchObject({ applied: true });
    await expect(trainer.trainStep(batch)).resolves.toMatchObject({ applied: true });
  });

  it('refuses the tensorflow backend, which already uses every core', async () => {
    const { model, optimizer } = makeModel(TINY);
    await expect(
      DataParallelLm.create({ model, optimizer, replicas: 2, backend: 'tensorflow' }),
    ).rejects.toThrow(/already uses every core/);
  });

  it('refuses a batch with fewer rows than replicas', async () => {
    const { trainer } = await makeTrainer({ replicas: 2 }, TINY);
    await expect(trainer.trainStep(randomBatch(new Rng(1), 1, 6))).rejects.toThrow(
      /1 rows cannot be split across 2/,
    );
  });

  // The process must end by itself once the trainer is closed, after a good step and after a failed one.
  for (const failing of [false, true]) {
    it(`leaves no thread behind (${failing ? 'after an error' : 'after success'})`, () => {
      const dist = new URL('../../dist/', import.meta.url).href;
      const script = `
        const { initBackend } = await import('${dist}backend.js');
        const { LanguageModel, AWD_LSTM_LM_CONFIG } = await import('${dist}model/awd-lstm.js');
        const { Adam } = await import('${dist}train/optimizer.js');
        const { DataParallelLm } = await import('${dist}train/data-parallel.js');
        await initBackend('wasm');
        const model = new LanguageModel(20, { ...AWD_LSTM_LM_CONFIG, emb_sz: 4, n_hid: 6, n_layers: 2 });
        const optimizer = new Adam(model.paramGroups().map((g) => g.variables));
        const trainer = await DataParallelLm.create({ model, optimizer, replicas: 3, mainThread: false });
        const x = new Int32Array(${failing ? 11 : 12}).fill(2);
        try { await trainer.trainStep({ x, y: new Int32Array(12).fill(3), bs: 3, seqLen: 4 }); console.log('stepped'); }
        catch (e) { console.log('failed'); }
        finally { await trainer.close(); }
      `;
      // A file, not --eval: worker threads inherit the parent's execArgv, and --input-type breaks them.
      const file = join(mkdtempSync(join(tmpdir(), 'ulmfit-dp-')), 'run.mjs');
      writeFileSync(file, script);
      const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
      expect(child.error, child.stderr).toBeUndefined();
      expect(child.status, child.stderr).toBe(0);
      expect(child.stdout.trim()).toBe(failing ? 'failed' : 'stepped');
    });
  }
});
