import * as tf from '@tensorflow/tfjs';
import type { LibraryOptions } from '../config/schema.js';
import { LR_FIND_DEFAULTS, type LR_FIND } from '../config/training.js';
import { isUlmfitError } from '../errors.js';
import { SmoothLoss } from '../metrics.js';
import type { Learner } from './learner.js';
import { schedExp } from './schedule.js';

/**
 * fastai's learning-rate finder (`Learner.lr_find`, `LRFinder`, `valley`; fastai/callback/schedule.py): a
 * mock training run whose lr grows exponentially from startLr to endLr over numIt batches (the
 * same lr for every group), recording the smoothed loss; it stops early when the smoothed loss
 * exceeds 4× the best seen. Validation is skipped. Weights and optimizer state are restored
 * afterwards; the rng is not (it has moved on, as fastai's does).
 *
 * Its options: `--start-lr`, `--end-lr` and `--num-it` as `ulmfit lr-find` declares them
 * (config/training.ts, with fastai's defaults), and the finder's own.
 */
export interface LrFindOptions extends Pick<LibraryOptions<typeof LR_FIND>, 'startLr' | 'endLr' | 'numIt'> {
  /** Stop when the smoothed loss exceeds 4× its minimum. */
  stopDiv?: boolean;
  /**
   * Model state outside the parameter groups that training changes (e.g. BatchNorm running
   * statistics); the finder saves and restores every parameter-group variable itself.
   */
  modelState?: { save(): unknown; restore(saved: unknown): void } | undefined;
  onBatchEnd?: ((iteration: number, lr: number, smoothLoss: number) => void) | undefined;
}

export interface LrFindResult {
  /** The lr of every batch run. */
  lrs: number[];
  /** The smoothed loss after every batch (NaN once the loss diverged to NaN). */
  losses: number[];
  /** fastai's `valley` suggestion, or null when too few batches ran to suggest anything. */
  valley: { lr: number; loss: number } | null;
  /** True when training stopped on divergence before numIt batches. */
  stoppedEarly: boolean;
}

export async function lrFind<Batch extends { bs: number }>(
  learner: Learner<Batch>,
  options: LrFindOptions = {},
): Promise<LrFindResult> {
  const startLr = options.startLr ?? LR_FIND_DEFAULTS.startLr;
  const endLr = options.endLr ?? LR_FIND_DEFAULTS.endLr;
  // fastai raises a numIt below 6 to 6.
  const numIt = Math.max(options.numIt ?? LR_FIND_DEFAULTS.numIt, 6);
  const stopDiv = options.stopDiv ?? true;
  const { model, optimizer } = learner;
  const source = learner.trainSource;
  const variables = optimizer.groups.flat();
  const savedWeights = variables.map((v) => tf.clone(v));
  const savedOptimizer = optimizer.getState();
  const savedModelState = options.modelState?.save();

  const lrs: number[] = [];
  const losses: number[] = [];
  const smooth = new SmoothLoss(0.98);
  let best = Number.POSITIVE_INFINITY;
  let stoppedEarly = false;
  const epochs = Math.floor(numIt / Math.max(source.numBatches, 1)) + 1;
  try {
    run: for (let epoch = 0; epoch < epochs; epoch++) {
      model.setTraining(true);
      model.reset();
      for (const batch of source.batches()) {
        const lr = schedExp(startLr, endLr, lrs.length / numIt);
        optimizer.setHyper('lr', lr);
        let loss: number;
        try {
          loss = learner.trainBatch(batch, `lr-find batch ${lrs.length}`);
        } catch (error) {
          if (!isUlmfitError(error) || error.code !== 'E_TRAINING') throw error;
          loss = Number.NaN; // diverged to NaN/Inf: nothing more to learn from this run
        }
        smooth.add(loss);
        lrs.push(lr);
        losses.push(smooth.value);
        options.onBatchEnd?.(lrs.length - 1, lr, smooth.value);
        if (Number.isNaN(smooth.value)) {
          stoppedEarly = true;
          break run;
        }
        if (smooth.value < best) best = smooth.value;
        if (stopDiv && smooth.value > 4 * best) {
          stoppedEarly = true;
          break run;
        }
        if (lrs.length >= numIt) break run;
      }
      // Let other work (progress output) run between epochs.
      await Promise.resolve();
    }
  } finally {
    variables.forEach((v, i) => v.assign(savedWeights[i] as tf.Tensor));
    savedWeights.forEach((t) => t.dispose());
    optimizer.setState(savedOptimizer);
    if (options.modelState !== undefined) options.modelState.restore(savedModelState);
    model.reset();
  }
  return { lrs, losses, valley: suggestValley(lrs, losses, numIt), stoppedEarly };
}

/**
 * fastai's suggestion step: keep points `[numIt//10 : -5]`, truncate at the first NaN loss, then
 * apply `valley`.
 */
export function suggestValley(
  lrs: readonly number[],
  losses: readonly number[],
  numIt: number,
): { lr: number; loss: number } | null {
  let keptLrs = lrs.slice(Math.floor(numIt / 10), -5);
  let keptLosses = losses.slice(Math.floor(numIt / 10), -5);
  const firstNaN = keptLosses.findIndex((loss) => Number.isNaN(loss));
  if (firstNaN >= 0) {
    keptLrs = keptLrs.slice(0, firstNaN);
    keptLosses = keptLosses.slice(0, firstNaN);
  }
  if (keptLosses.length === 0) return null;
  const idx = valleyIndex(keptLosses);
  return { lr: keptLrs[idx] as number, loss: keptLosses[idx] as number };
}

/**
 * fastai `valley`: the longest decreasing subsequence of the losses (O(n²) dynamic programme),
 * then the point a third plus a sixth of the way along it. Reproduces fastai exactly, including
 * that the valley's start is recorded when its end is first found (inside the inner loop) and
 * Python's negative indexing.
 */
export function valleyIndex(losses: readonly number[]): number {
  const n = losses.length;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array<number>(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if ((losses[i] as number) < (losses[j] as number) && (lds[i] as number) < (lds[j] as number) + 1) {
        lds[i] = (lds[j] as number) + 1;
      }
      if ((lds[maxEnd] as number) < (lds[i] as number)) {
        maxEnd = i;
        maxStart = maxEnd - (lds[maxEnd] as number);
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  // maxStart is one before the valley's first point, so a 2-point valley at the start gives −1,
  // which Python reads as the last point; do the same.
  return idx < 0 ? n + idx : idx;
}
