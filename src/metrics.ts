/**
 * Training and evaluation metrics (fastai `metrics.py`, `learner.py` Recorder).
 * Plain numbers in, plain numbers out: models report counts, these turn them into the table.
 */

/**
 * fastai `AvgSmoothLoss(beta=0.98)`: an exponential moving average of the training loss,
 * debiased like Adam's moments, so the first batches are not pulled towards 0. fastai resets it
 * at the start of every `fit` (not every epoch); the `train_loss` column is its value after the
 * epoch's last batch.
 */
export class SmoothLoss {
  private average = 0;
  private count = 0;

  constructor(readonly beta = 0.98) {}

  /** Adds one batch's (mean) loss. */
  add(loss: number): void {
    this.count += 1;
    // torch.lerp(loss, val, beta) = loss + beta·(val − loss)
    this.average = loss + this.beta * (this.average - loss);
  }

  /** The debiased average; NaN before the first batch. */
  get value(): number {
    return this.count === 0 ? Number.NaN : this.average / (1 - this.beta ** this.count);
  }

  reset(): void {
    this.average = 0;
    this.count = 0;
  }

  getState(): SmoothLossState {
    return { average: this.average, count: this.count };
  }

  setState(state: SmoothLossState): void {
    this.average = state.average;
    this.count = state.count;
  }
}

export interface SmoothLossState {
  average: number;
  count: number;
}

/** fastai `accuracy`: correct / total over every flattened prediction (per token for an LM). */
export function accuracy(correct: number, count: number): number {
  return count === 0 ? Number.NaN : correct / count;
}

/**
 * The predicted class of each row: the index of its highest score (the first on ties).
 * @param scores `[rows × classes]` row-major
 * @returns `[rows]`
 */
export function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const rows = Math.floor(scores.length / classes);
  const best = new Int32Array(rows);
  for (let i = 0; i < rows; i++)
    for (let c = 1; c < classes; c++)
      if (scores[i * classes + c]! > scores[i * classes + best[i]!]!) best[i] = c;
  return best;
}

/** fastai `Perplexity`: exp of the mean validation loss. */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}

/**
 * Confusion matrix: `matrix[actual][predicted]` counts (rows are gold classes, as sklearn).
 * @param predictions predicted class per item, `[n]`
 * @param targets gold class per item, `[n]`
 */
export function confusionMatrix(
  predictions: ArrayLike<number>,
  targets: ArrayLike<number>,
  nClasses: number,
): number[][] {
  checkSameLength(predictions, targets);
  const matrix = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < targets.length; i++) {
    const row = matrix[targets[i] as number];
    const predicted = predictions[i] as number;
    if (row === undefined || predicted < 0 || predicted >= nClasses) {
      throw new RangeError(`class index out of range 0..${nClasses - 1} at item ${i}`);
    }
    row[predicted] = (row[predicted] as number) + 1;
  }
  return matrix;
}

export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of gold items of this class. */
  support: number;
  /** Number of items predicted as this class. */
  predicted: number;
}

/**
 * Precision, recall and F1 for every class 0..nClasses-1, sklearn's definitions with
 * `zero_division=0` (a class never predicted has precision 0; one never seen has recall 0).
 */
export function perClassScores(
  predictions: ArrayLike<number>,
  targets: ArrayLike<number>,
  nClasses: number,
): ClassScores[] {
  const matrix = confusionMatrix(predictions, targets, nClasses);
  return matrix.map((row, cls) => {
    const truePositives = row[cls] as number;
    const support = row.reduce((sum, n) => sum + n, 0);
    const predicted = matrix.reduce((sum, r) => sum + (r[cls] as number), 0);
    const precision = predicted === 0 ? 0 : truePositives / predicted;
    const recall = support === 0 ? 0 : truePositives / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { precision, recall, f1, support, predicted };
  });
}

/**
 * Macro-averaged F1 as fastai's `F1Score(average='macro')` (sklearn `f1_score`): the unweighted
 * mean of per-class F1 over the classes that occur in the targets or the predictions (sklearn's
 * default label set), with F1 = 0 for a class that is never predicted or never present.
 */
export function macroF1(
  predictions: ArrayLike<number>,
  targets: ArrayLike<number>,
  nClasses?: number,
): number {
  checkSameLength(predictions, targets);
  if (targets.length === 0) return Number.NaN;
  let maxClass = 0;
  for (let i = 0; i < targets.length; i++) {
    maxClass = Math.max(maxClass, targets[i] as number, predictions[i] as number);
  }
  const scores = perClassScores(predictions, targets, Math.max(nClasses ?? 0, maxClass + 1));
  const present = scores.filter((s) => s.support > 0 || s.predicted > 0);
  return present.reduce((sum, s) => sum + s.f1, 0) / present.length;
}

function checkSameLength(predictions: ArrayLike<number>, targets: ArrayLike<number>): void {
  if (predictions.length !== targets.length) {
    throw new RangeError(`${predictions.length} predictions for ${targets.length} targets`);
  }
}
