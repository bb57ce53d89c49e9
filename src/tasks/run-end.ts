/**
 * What a training task does when its run completes: the checkpoint, which only `--resume` reads
 * and which can be most of a run's size (weights + Adam's two moments: 397 MB for a default
 * from-scratch run), is removed unless the caller keeps it, and the training curves are drawn.
 * Afterwards `--resume` has nothing to continue, and says so (`refuseResumeOfCompletedRun`).
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { readModelMeta, RUN_LAYOUT } from '../io/artifact.js';
import { writeTrainingPlot } from './training-plot.js';

export interface FinishedRun {
  /** Whether checkpoint/ is still there (kept on request). */
  checkpointKept: boolean;
  /** The training curves' SVG. */
  plot: string;
}

/** Ends a completed run: checkpoint/ removed (unless `keepCheckpoint`), training.svg drawn. */
export function finishRun(runDir: string, options: { keepCheckpoint?: boolean | undefined } = {}): FinishedRun {
  const checkpoint = join(runDir, RUN_LAYOUT.checkpoint);
  if (!options.keepCheckpoint && existsSync(checkpoint)) {
    // Renamed first, so a kill during the removal leaves a temporary that the next run under the
    // lock removes (dir-lock.ts recoverSwaps), not a half-deleted checkpoint/.
    const doomed = `${checkpoint}.tmp-${process.pid}`;
    renameSync(checkpoint, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }
  const { path } = writeTrainingPlot(runDir);
  return { checkpointKept: existsSync(checkpoint), plot: path };
}

/** What `finishRun` did, for the info stream. */
export function finishedLine(finished: FinishedRun): string {
  return `training curves: ${finished.plot}${finished.checkpointKept ? '' : `; ${RUN_LAYOUT.checkpoint}/ removed (--keep-checkpoint keeps it)`}`;
}

/**
 * `--resume` of a run that completed its recipe (its model-last/ has a history row for every
 * epoch of every stage) is a usage error: there is nothing to continue, with or without the
 * checkpoint. Call it after the flags were checked against config.json, before loading any data.
 */
export function refuseResumeOfCompletedRun(runDir: string): void {
  const last = join(runDir, RUN_LAYOUT.modelLast);
  if (!existsSync(join(last, 'meta.json'))) return;
  const training = readModelMeta(last).training;
  const stages = Array.isArray(training?.['stages']) ? (training['stages'] as { epochs?: unknown }[]) : undefined;
  const history = Array.isArray(training?.['history']) ? training['history'] : undefined;
  if (!stages || !history) return;
  const epochs = stages.reduce((n, stage) => n + (typeof stage.epochs === 'number' ? stage.epochs : 0), 0);
  if (epochs === 0 || history.length < epochs) return;
  const kept = existsSync(join(runDir, RUN_LAYOUT.checkpoint));
  throw usageError(
    `nothing to resume: ${runDir} completed all ${epochs} epochs of its recipe` +
      (kept ? '' : ` (its ${RUN_LAYOUT.checkpoint}/ was removed at the end; --keep-checkpoint keeps it)`),
    `its models are in ${join(runDir, RUN_LAYOUT.modelBest)} and ${last}; to train again, pass --overwrite or another --out`,
  );
}
