import { describe, expect, it } from 'vitest';
import {
  defaultClassifierStages,
  MIN_LM_MAIN_STEPS,
  MIN_STEPS_PER_STAGE,
  networkSeed,
  planClassifierNetworks,
  planClassifierRecipe,
  planLmRecipe,
  SMALL_DATA_NETWORKS,
} from '../../src/tasks/recipe-plan.js';
import { bestRow, betterRow } from '../../src/tasks/run-dir.js';
import type { EpochRow } from '../../src/train/learner.js';

const steps = (n: number, bs: number, dropLast: boolean) =>
  dropLast ? Math.floor(n / bs) : Math.ceil(n / bs);

describe('planClassifierRecipe', () => {
  it("keeps fastai's recipe exactly at IMDb scale", () => {
    const plan = planClassifierRecipe({ trainDocs: 25_000 });
    expect(plan.adapted).toBe(false);
    expect(plan.bs).toBe(64);
    expect(plan.dropLast).toBe(true);
    expect(plan.stages).toEqual(defaultClassifierStages());
    expect(plan.stages.map((s) => s.epochs)).toEqual([1, 1, 1, 2]);
  });

  it.each([16, 32, 40, 64, 80, 91, 160, 400, 1000, 1900])(
    'gives every stage enough steps and drops no document on %i documents',
    (n) => {
      const plan = planClassifierRecipe({ trainDocs: n });
      expect(plan.adapted).toBe(true);
      expect(plan.dropLast).toBe(false);
      expect(plan.bs).toBeGreaterThanOrEqual(Math.min(8, n));
      expect(plan.bs).toBeLessThanOrEqual(64);
      // No last batch of a single document (batch norm cannot normalize one row).
      expect(n % plan.bs === 1 && n > plan.bs).toBe(false);
      const perEpoch = steps(n, plan.bs, plan.dropLast);
      for (const stage of plan.stages)
        expect(stage.epochs * perEpoch).toBeGreaterThanOrEqual(MIN_STEPS_PER_STAGE);
      // The shape of fastai's recipe stays: freeze_to -1, -2, -3, 0 and the last stage twice as long.
      expect(plan.stages.map((s) => s.freezeTo)).toEqual([-1, -2, -3, 0]);
      expect(plan.stages[3]!.epochs).toBe(2 * plan.stages[0]!.epochs);
      expect(plan.reason).toContain(`${n} training documents`);
    },
  );

  it('80 documents: several batches an epoch instead of one', () => {
    const plan = planClassifierRecipe({ trainDocs: 80 });
    expect(plan.bs).toBe(10);
    expect(plan.stages.map((s) => s.epochs)).toEqual([4, 4, 4, 8]);
  });

  it('keeps a given batch size and a given recipe', () => {
    const bsGiven = planClassifierRecipe({ trainDocs: 80, bs: 32 });
    expect(bsGiven.bs).toBe(32);
    expect(bsGiven.stages[0]!.epochs * Math.ceil(80 / 32)).toBeGreaterThanOrEqual(MIN_STEPS_PER_STAGE);
    const recipe = [{ freezeTo: 0, epochs: 3, lr: 1e-3 }];
    const given = planClassifierRecipe({ trainDocs: 80, stages: recipe });
    expect(given.stages).toEqual(recipe);
    expect(given.dropLast).toBe(false);
    const epochsGiven = planClassifierRecipe({ trainDocs: 80, epochs: 5 });
    expect(epochsGiven.stages.map((s) => s.epochs)).toEqual([1, 1, 1, 5]);
  });

  it('from scratch: one stage as long as the whole transfer recipe', () => {
    const plan = planClassifierRecipe({ trainDocs: 80, fromScratch: true });
    expect(plan.stages).toHaveLength(1);
    expect(plan.stages[0]!.epochs).toBe(20);
  });
});

describe('planClassifierNetworks', () => {
  it("trains three networks where fastai's recipe would make too few steps, one at its scale, and keeps a given number", () => {
    const small = planClassifierNetworks({ trainDocs: 40 });
    expect(small.networks).toBe(SMALL_DATA_NETWORKS);
    expect(small.reason).toMatch(/^3 \(small data: .*--networks 1 trains one\)$/);
    // 30 steps of bs 64 an epoch is fastai's scale: 1,920 documents.
    expect(planClassifierNetworks({ trainDocs: 1919 }).networks).toBe(3);
    expect(planClassifierNetworks({ trainDocs: 1920 })).toEqual({ networks: 1, reason: undefined });
    expect(planClassifierNetworks({ trainDocs: 25_000 }).networks).toBe(1);
    expect(planClassifierNetworks({ trainDocs: 40, networks: 1 })).toEqual({
      networks: 1,
      reason: undefined,
    });
    expect(planClassifierNetworks({ trainDocs: 25_000, networks: 5 }).networks).toBe(5);
    for (const bad of [0, 2.5, 17, Number.NaN])
      expect(() => planClassifierNetworks({ trainDocs: 40, networks: bad })).toThrow(
        `networks must be a whole number in [1, 16], got ${bad}`,
      );
  });

  it('seeds network k of a run with seed + 1000k, so neighbouring seeds share no network', () => {
    expect([0, 1, 2].map((k) => networkSeed(42, k))).toEqual([42, 1042, 2042]);
    expect(networkSeed(43, 1)).not.toBe(networkSeed(42, 2));
  });
});

describe('planLmRecipe', () => {
  const fastai = [
    { freezeTo: -1, epochs: 1, lr: 2e-2 },
    { freezeTo: 0, epochs: 10, lr: 2e-3 },
  ];

  it("keeps fastai's recipe on a large corpus", () => {
    const plan = planLmRecipe({ tokens: 10_000_000, bptt: 72, stages: fastai, stagesGiven: false });
    expect(plan.adapted).toBe(false);
    expect(plan.bs).toBe(64);
    expect(plan.stages).toEqual(fastai);
  });

  it('a small corpus gets a smaller batch size and a longer main stage', () => {
    const plan = planLmRecipe({ tokens: 50_000, bptt: 72, stages: fastai, stagesGiven: false });
    expect(plan.adapted).toBe(true);
    expect(plan.bs).toBe(32);
    const batches = Math.floor(50_000 / (32 * 72));
    expect(plan.stages[1]!.epochs * batches).toBeGreaterThanOrEqual(MIN_LM_MAIN_STEPS);
    expect(plan.stages[0]).toEqual(fastai[0]);
  });

  it('caps the stretch, and never stretches a given recipe or bs', () => {
    const tiny = planLmRecipe({ tokens: 5_000, bptt: 72, stages: fastai, stagesGiven: false });
    expect(tiny.bs).toBe(8);
    expect(tiny.stages[1]!.epochs).toBe(30);
    const given = planLmRecipe({ tokens: 50_000, bptt: 72, bs: 64, stages: fastai, stagesGiven: true });
    expect(given.bs).toBe(64);
    expect(given.stages).toEqual(fastai);
    expect(given.adapted).toBe(false);
  });
});

describe('betterRow', () => {
  const row = (accuracy: number | null, validLoss: number): EpochRow => ({
    stage: 0,
    epoch: 0,
    epochs: 1,
    trainLoss: 1,
    validLoss,
    accuracy,
    perplexity: null,
    seconds: 1,
  });

  it('by accuracy: higher wins, the lower loss breaks ties', () => {
    expect(betterRow(row(0.8, 0.9), { loss: 0.5, accuracy: 0.7 }, 'accuracy')).toBe(true);
    expect(betterRow(row(0.6, 0.1), { loss: 0.5, accuracy: 0.7 }, 'accuracy')).toBe(false);
    expect(betterRow(row(0.7, 0.4), { loss: 0.5, accuracy: 0.7 }, 'accuracy')).toBe(true);
    expect(betterRow(row(0.7, 0.6), { loss: 0.5, accuracy: 0.7 }, 'accuracy')).toBe(false);
    expect(betterRow(row(0.1, 9), { loss: Infinity, accuracy: null }, 'accuracy')).toBe(true);
  });

  it('by loss: accuracy does not matter', () => {
    expect(betterRow(row(0.9, 0.6), { loss: 0.5, accuracy: 0.1 }, 'loss')).toBe(false);
    expect(betterRow(row(0.1, 0.4), { loss: 0.5, accuracy: 0.9 }, 'loss')).toBe(true);
  });
});

describe('bestRow', () => {
  const row = (accuracy: number | null, validLoss: number | null, trainLoss = 1) => ({
    accuracy,
    validLoss,
    trainLoss,
  });

  it('keeps the row model-best/ keeps: the best by betterRow, the earlier on a full tie, never a NaN loss', () => {
    const rows = [row(0.5, 0.9), row(0.75, 0.8), row(0.75, 0.6), row(0.75, 0.6), row(0.5, 0.1)];
    expect(bestRow(rows, 'accuracy')).toBe(rows[2]);
    expect(bestRow(rows, 'loss')).toBe(rows[4]);
    expect(bestRow([row(null, null, Number.NaN), row(null, null, 2)], 'loss')).toEqual(row(null, null, 2));
    expect(bestRow([], 'accuracy')).toBeUndefined();
  });
});
