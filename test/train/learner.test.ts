import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import { Rng } from '../../src/random.js';
import {
  clipGradNorm,
  Learner,
  type EpochRow,
  type LearnerState,
  type Stage,
} from '../../src/train/learner.js';
import { oneCycle } from '../../src/train/schedule.js';
import { blobs, ToyModel, toySource, type ToyBatch } from './toy-model.js';

beforeAll(async () => {
  await initBackend('wasm'); // the project's default backend (design.md §5)
});

const N_IN = 6;
const trainData = blobs(192, N_IN, new Rng(100));
const validData = blobs(50, N_IN, new Rng(200));

function setup(
  seed: number,
  initSeed = 7,
  extra: Partial<ConstructorParameters<typeof Learner<ToyBatch>>[1]> = {},
) {
  const rng = new Rng(seed);
  const model = new ToyModel(N_IN, 16, 3, initSeed, rng);
  const learner = new Learner(model, {
    train: toySource(trainData, 16, rng),
    valid: toySource(validData, 16, null),
    rng,
    ...extra,
  });
  return { rng, model, learner };
}

const withoutTime = (rows: EpochRow[]) => rows.map(({ seconds: _s, ...rest }) => rest);

describe('Learner', () => {
  it('fits a toy model: valid loss falls, accuracy rises, rows are complete', async () => {
    const { model, learner } = setup(1);
    const before = learner.validate();
    const rows = await learner.fitOneCycle(3, 3e-2);
    expect(rows).toHaveLength(3);
    const last = rows[2]!;
    expect(last.validLoss!).toBeLessThan(before.loss * 0.5);
    expect(last.accuracy!).toBeGreaterThan(0.9);
    expect(last.perplexity!).toBeCloseTo(Math.exp(last.validLoss!), 10);
    expect(last.f1Macro!).toBeGreaterThan(0.85);
    expect(last.trainLoss).toBeLessThan(rows[0]!.trainLoss);
    expect(rows.map((r) => [r.stage, r.epoch, r.epochs])).toEqual([
      [0, 0, 3],
      [0, 1, 3],
      [0, 2, 3],
    ]);
    // reset before every training and validation pass, and after the fit
    expect(model.resets).toBe(1 + 3 * 2 + 1);
    learner.dispose();
    model.dispose();
  });

  it('sets fastai one-cycle hypers before every batch, per group', async () => {
    const seen: { lr: number; mom: number; groupLrs: number[] }[] = [];
    const { model, learner } = setup(2, 7, {
      onBatchEnd: (info) =>
        seen.push({ lr: info.lr, mom: info.mom, groupLrs: learner.optimizer.hypers.map((h) => h.lr) }),
    });
    await learner.fitOneCycle(2, { lo: 1e-3, hi: 1e-2 });
    const perEpoch = 192 / 16;
    expect(seen).toHaveLength(2 * perEpoch);
    const sched = oneCycle([1e-3, 1e-2]);
    seen.forEach((s, i) => {
      const want = sched(i / (2 * perEpoch));
      expect(s.groupLrs).toEqual(want.lrs);
      expect(s.lr).toBe(want.lrs[1]);
      expect(s.mom).toBe(want.mom);
    });
    expect(seen[0]!.mom).toBeCloseTo(0.8, 12);
    learner.dispose();
    model.dispose();
  });

  it('freezeTo trains only the unfrozen groups and clears the optimizer state', async () => {
    const { model, learner } = setup(3);
    learner.freeze();
    const hiddenBefore = [model.w1, model.b1].map((v) => Array.from(v.dataSync()));
    const outBefore = Array.from(model.w2.dataSync());
    await learner.fitOneCycle(1, 1e-2);
    expect([model.w1, model.b1].map((v) => Array.from(v.dataSync()))).toEqual(hiddenBefore);
    expect(Array.from(model.w2.dataSync())).not.toEqual(outBefore);
    expect(learner.optimizer.getState().params.map((p) => p.group)).toEqual([1, 1]);
    learner.unfreeze();
    expect(learner.optimizer.getState().params).toEqual([]);
    await learner.fitOneCycle(1, 1e-2);
    expect(Array.from(model.w1.dataSync())).not.toEqual(hiddenBefore[0]);
    learner.dispose();
    model.dispose();
  });

  it('a resumed run ends with exactly the weights of an uninterrupted one', async () => {
    const stages: Stage[] = [
      { freezeTo: -1, epochs: 1, lr: 2e-2 },
      { freezeTo: 0, epochs: 3, lr: { lo: 1e-3, hi: 1e-2 }, wd: 0.1 },
    ];
    // uninterrupted, saving a checkpoint (weights + JSON round-tripped learner state) every epoch
    const checkpoints: { weights: number[][]; state: LearnerState }[] = [];
    const a = setup(5, 7, {
      onEpochEnd: (_row, l) => {
        const state = l.getState();
        checkpoints.push({
          weights: a.model.weights(),
          state: {
            meta: JSON.parse(JSON.stringify(state.meta)),
            tensors: Object.fromEntries(
              Object.entries(state.tensors).map(([k, t]) => [
                k,
                { shape: t.shape, data: Float32Array.from(t.data) },
              ]),
            ),
          },
        });
      },
    });
    const rowsA = await a.learner.fitRecipe(stages);
    expect(rowsA).toHaveLength(4);
    const finalA = a.model.weights();

    // resume from the end of stage 0 (a stage boundary) and from the middle of stage 1
    for (const k of [0, 2]) {
      const checkpoint = checkpoints[k]!;
      // different seed and init: everything must come from the checkpoint
      const b = setup(999, 31);
      b.model.setWeights(checkpoint.weights);
      b.learner.setState(checkpoint.state);
      expect(b.learner.trainingPosition).toEqual(checkpoint.state.meta.position);
      const rowsB = await b.learner.fitRecipe(stages);
      expect(rowsB).toHaveLength(3 - k);
      expect(b.model.weights()).toEqual(finalA);
      expect(withoutTime(b.learner.history)).toEqual(withoutTime(a.learner.history));
      b.learner.dispose();
      b.model.dispose();
    }
    a.learner.dispose();
    a.model.dispose();
  });

  it('resumes a single fitOneCycle after setState', async () => {
    let saved: { weights: number[][]; state: LearnerState } | null = null;
    const a = setup(6, 7, {
      onEpochEnd: (row, l) => {
        if (row.epoch === 0) saved = { weights: a.model.weights(), state: l.getState() };
      },
    });
    await a.learner.fitOneCycle(2, 1e-2);
    const b = setup(8, 9);
    b.model.setWeights(saved!.weights);
    b.learner.setState(saved!.state);
    const rows = await b.learner.fitOneCycle(2, 1e-2);
    expect(rows.map((r) => r.epoch)).toEqual([1]);
    expect(b.model.weights()).toEqual(a.model.weights());
    [a, b].forEach((s) => {
      s.learner.dispose();
      s.model.dispose();
    });
  });

  it('stops on a NaN loss with E_TRAINING, keeping the weights of the last good batch', async () => {
    let afterGood: number[][] | null = null;
    const { model, learner } = setup(9, 7, {
      onBatchEnd: (info) => {
        if (info.batch === 4) afterGood = model.weights();
      },
    });
    model.nanAtCall = 5;
    const error = await learner.fitOneCycle(1, 1e-2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UlmfitError);
    expect((error as UlmfitError).code).toBe('E_TRAINING');
    expect((error as UlmfitError).message).toMatch(/NaN at stage 0 epoch 0 batch 5/);
    expect(model.weights()).toEqual(afterGood);
    learner.dispose();
    model.dispose();
  });

  it('reports the split loss and smooths it like fastai (train_loss excludes regularizers)', async () => {
    const losses: number[] = [];
    const { model, learner } = setup(10, 7, { onBatchEnd: (info) => losses.push(info.loss) });
    model.splitLoss = true; // optimizes ce + 10, reports ce
    const rows = await learner.fitOneCycle(1, 1e-2);
    expect(Math.max(...losses)).toBeLessThan(5);
    let avg = 0;
    losses.forEach((l) => (avg = l + 0.98 * (avg - l)));
    expect(rows[0]!.trainLoss).toBeCloseTo(avg / (1 - 0.98 ** losses.length), 10);
    learner.dispose();
    model.dispose();
  });

  it('weights validation batch losses by rows, as fastai AvgLoss', () => {
    const { model, learner } = setup(11);
    // 50 items in batches of 16: 16, 16, 16, 2
    const source = toySource(validData, 16, null);
    const result = learner.validate(source);
    model.setTraining(false);
    let weighted = 0;
    for (const batch of source.batches()) {
      let stats = { lossSum: 0, count: 1 };
      tf.tidy(() => {
        stats = model.evalBatch(batch);
      });
      weighted += (stats.lossSum / stats.count) * batch.bs;
    }
    expect(result.loss).toBeCloseTo(weighted / 50, 6);
    expect(result.predictions).toHaveLength(50);
    learner.dispose();
    model.dispose();
  });

  it('clips the global gradient norm when asked and leaks no tensors over a fit', async () => {
    const { model, learner } = setup(12, 7, { clip: 0.5 });
    await learner.fitOneCycle(1, 1e-2); // creates the optimizer state
    const before = tf.memory().numTensors;
    await learner.fitOneCycle(2, 1e-2);
    learner.validate();
    expect(tf.memory().numTensors).toBe(before);
    learner.dispose();
    model.dispose();

    const grads: Record<string, tf.Tensor | null> = { a: tf.tensor([3, 0]), b: tf.tensor([[4]]), c: null };
    const norm = clipGradNorm(grads, 1);
    expect(norm).toBeCloseTo(5, 5);
    expect(Array.from(grads.a!.dataSync())[0]).toBeCloseTo(0.6, 5);
    expect(grads.b!.dataSync()[0]).toBeCloseTo(0.8, 5);
    const small: Record<string, tf.Tensor | null> = { a: tf.tensor([0.3]) };
    const kept = small.a;
    clipGradNorm(small, 1);
    expect(small.a).toBe(kept); // under the limit: untouched
    [grads.a, grads.b, small.a].forEach((t) => t!.dispose());
  });

  it('refuses an empty training source and a bad clip', async () => {
    const rng = new Rng(1);
    const model = new ToyModel(N_IN, 4, 3, 1, rng);
    const learner = new Learner(model, { train: { numBatches: 0, batches: () => [] }, rng });
    await expect(learner.fitOneCycle(1, 1e-3)).rejects.toThrow(UlmfitError);
    expect(() => new Learner(model, { train: toySource(trainData, 16, rng), rng, clip: 0 })).toThrow(
      UlmfitError,
    );
    model.dispose();
  });
});
