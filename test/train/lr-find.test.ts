import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { Learner } from '../../src/train/learner.js';
import { lrFind, suggestValley, valleyIndex } from '../../src/train/lr-find.js';
import { blobs, ToyModel, toySource } from './toy-model.js';

const reference = JSON.parse(
  readFileSync(new URL('../../fixtures/train/fastai-reference.json', import.meta.url), 'utf8'),
);

beforeAll(async () => {
  await initBackend('wasm'); // the project's default backend (design.md §5)
});

describe('valley (fastai suggestion)', () => {
  it('matches fastai valley run in Python on reference curves, Python negative index included', () => {
    for (const run of reference.valley as { losses: number[]; lrs: number[]; lr: number; index: number }[]) {
      const idx = valleyIndex(run.losses);
      expect(run.lrs[idx]).toBe(run.lr);
      expect(idx).toBe(run.index < 0 ? run.losses.length + run.index : run.index);
    }
  });

  it('uses points [num_it//10 : -5], truncated at the first NaN', () => {
    const lrs = Array.from({ length: 30 }, (_, i) => i);
    const losses = Array.from({ length: 30 }, (_, i) => 10 - i * 0.1);
    // kept: indices 10..24, one long decreasing run → 10 + floor(15/3... ) as fastai computes
    const got = suggestValley(lrs, losses, 100);
    expect(got!.lr).toBe(10 + valleyIndex(losses.slice(10, 25)));
    losses[15] = Number.NaN;
    expect(suggestValley(lrs, losses, 100)!.lr).toBe(10 + valleyIndex(losses.slice(10, 15)));
    expect(suggestValley(lrs.slice(0, 12), losses.slice(0, 12), 100)).toBeNull();
  });
});

describe('lrFind', () => {
  const N_IN = 6;
  const data = blobs(160, N_IN, new Rng(3));

  it('sweeps lr exponentially, stops on divergence, restores weights and optimizer state', async () => {
    const rng = new Rng(4);
    const model = new ToyModel(N_IN, 16, 3, 5, rng);
    const learner = new Learner(model, { train: toySource(data, 16, rng), rng });
    await learner.fitOneCycle(1, 1e-2); // some optimizer state to protect
    const weights = model.weights();
    const optimizerState = learner.optimizer.getState();
    const tensorsBefore = tf.memory().numTensors;

    const result = await lrFind(learner, { numIt: 100 });
    expect(result.lrs[0]).toBeCloseTo(1e-7, 15);
    result.lrs.forEach((lr, i) => expect(lr).toBeCloseTo(1e-7 * (10 / 1e-7) ** (i / 100), 12));
    expect(result.losses).toHaveLength(result.lrs.length);
    // with lr up to 10 this model diverges: stopped at > 4× the best smoothed loss
    expect(result.stoppedEarly).toBe(true);
    const best = Math.min(...result.losses.filter((l) => !Number.isNaN(l)));
    const last = result.losses[result.losses.length - 1]!;
    expect(Number.isNaN(last) || last > 4 * best).toBe(true);
    expect(result.valley).not.toBeNull();
    expect(result.valley!.lr).toBeGreaterThan(1e-6);
    expect(result.valley!.lr).toBeLessThan(10);

    expect(model.weights()).toEqual(weights);
    const after = learner.optimizer.getState();
    expect(after.hypers).toEqual(optimizerState.hypers);
    expect(after.params.map((p) => [p.step, Array.from(p.gradAvg)])).toEqual(
      optimizerState.params.map((p) => [p.step, Array.from(p.gradAvg)]),
    );
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    learner.dispose();
    model.dispose();
  });

  it('runs exactly num_it batches over several epochs when it does not diverge', async () => {
    const rng = new Rng(6);
    const model = new ToyModel(N_IN, 8, 3, 5, rng);
    const learner = new Learner(model, { train: toySource(data, 32, rng), rng }); // 5 batches per epoch
    const result = await lrFind(learner, { numIt: 12, endLr: 1e-3, stopDiv: false });
    expect(result.lrs).toHaveLength(12);
    expect(result.stoppedEarly).toBe(false);
    // 12 // 5 + 1 = 3 epochs, each starting with a reset
    expect(model.resets).toBe(3 + 1);
    learner.dispose();
    model.dispose();
  });
});
