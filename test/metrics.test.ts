import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  confusionMatrix,
  macroF1,
  perClassScores,
  perplexity,
  SmoothLoss,
} from '../src/metrics.js';

const reference = JSON.parse(
  readFileSync(new URL('../fixtures/train/fastai-reference.json', import.meta.url), 'utf8'),
);

describe('SmoothLoss', () => {
  it("matches fastai's AvgSmoothLoss (beta 0.98, debiased), run in PyTorch", () => {
    const smooth = new SmoothLoss();
    const { losses, smoothed } = reference.smoothLoss as { losses: number[]; smoothed: number[] };
    losses.forEach((loss, i) => {
      smooth.add(loss);
      expect(smooth.value).toBeCloseTo(smoothed[i]!, 5);
    });
  });

  it('is the loss itself after one batch, NaN before any, and restores from its state', () => {
    const smooth = new SmoothLoss();
    expect(smooth.value).toBeNaN();
    smooth.add(3);
    expect(smooth.value).toBeCloseTo(3, 12);
    smooth.add(1);
    const copy = new SmoothLoss();
    copy.setState(JSON.parse(JSON.stringify(smooth.getState())));
    smooth.add(2);
    copy.add(2);
    expect(copy.value).toBe(smooth.value);
    smooth.reset();
    expect(smooth.value).toBeNaN();
  });
});

describe('accuracy and perplexity', () => {
  it('are fastai definitions', () => {
    expect(accuracy(87, 100)).toBe(0.87);
    expect(accuracy(0, 0)).toBeNaN();
    expect(perplexity(Math.log(42))).toBeCloseTo(42, 10);
  });
});

describe('argmaxRows', () => {
  it('gives each row its highest-scoring class, the first one on a tie', () => {
    const scores = Float32Array.from([0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0.1, 0.1, 0.8]);
    expect(Array.from(argmaxRows(scores, 3))).toEqual([1, 0, 2]);
    expect(Array.from(argmaxRows(Float32Array.from([0.3, 0.7]), 2))).toEqual([1]);
  });
});

describe('classification metrics', () => {
  // gold:      0 0 0 1 1 2 2 2 2
  // predicted: 0 1 0 1 1 2 0 2 1
  const targets = Int32Array.of(0, 0, 0, 1, 1, 2, 2, 2, 2);
  const predictions = Int32Array.of(0, 1, 0, 1, 1, 2, 0, 2, 1);

  it('confusion matrix has gold rows and predicted columns', () => {
    expect(confusionMatrix(predictions, targets, 3)).toEqual([
      [2, 1, 0],
      [0, 2, 0],
      [1, 1, 2],
    ]);
  });

  it('per-class precision/recall/F1 as sklearn', () => {
    const scores = perClassScores(predictions, targets, 3);
    expect(scores[0]!.precision).toBeCloseTo(2 / 3, 12);
    expect(scores[0]!.recall).toBeCloseTo(2 / 3, 12);
    expect(scores[1]!.precision).toBeCloseTo(2 / 4, 12);
    expect(scores[1]!.recall).toBeCloseTo(1, 12);
    expect(scores[1]!.f1).toBeCloseTo((2 * 0.5 * 1) / 1.5, 12);
    expect(scores[2]!.precision).toBe(1);
    expect(scores[2]!.recall).toBe(0.5);
    expect(scores[2]!.support).toBe(4);
  });

  it('macro-F1 averages over classes seen in gold or predictions, zero for never-predicted ones', () => {
    const f1s = perClassScores(predictions, targets, 3).map((s) => s.f1);
    expect(macroF1(predictions, targets)).toBeCloseTo((f1s[0]! + f1s[1]! + f1s[2]!) / 3, 12);
    // class 3 exists in the model but never occurs: sklearn leaves it out of the average
    expect(macroF1(predictions, targets, 4)).toBeCloseTo(macroF1(predictions, targets), 12);
    // a class present in gold but never predicted counts with F1 0
    expect(macroF1(Int32Array.of(0, 0), Int32Array.of(0, 1))).toBeCloseTo((2 / 3 + 0) / 2, 12);
    expect(macroF1(Int32Array.of(1, 0), Int32Array.of(1, 0))).toBe(1);
  });

  it('rejects mismatched lengths and out-of-range classes', () => {
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(RangeError);
    expect(() => confusionMatrix([2], [0], 2)).toThrow(RangeError);
  });
});
