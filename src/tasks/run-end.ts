/**
 * What a training task does when its run completes: the checkpoint, which only `--resume` reads
 * and which can be most of a run's size (weights + Adam's two moments: 397 MB for a default
 * from-scratch run), is removed unless the caller keeps it, and the training curves are drawn.
 * Afterwards `--resume` has nothing to continue, and says so (`refuseResumeOfCompletedRun`).
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { usageError } from '../errors.js';
import { RUN_LAYOUT, runCompleted, writeJsonAtomic } from '../io/artifact.js';
import { writeTrainingPlot } from './training-plot.js';

export interface FinishedRun {
  /** Whether checkpoint/ is still there (kept on request). */
  checkpointKept: boolean;
  /** The training curves' SVG. */
  plot: string;
}

/**
 * Ends a completed run: training.svg drawn, the completion recorded in config.json (`completedAt`),
 * then checkpoint/ removed unless `keepCheckpoint`. In that order, so a kill at any point leaves
 * either a run that `--resume` finishes again (nothing left to train) or one marked complete.
 */
export function finishRun(
  runDir: string,
  options: { keepCheckpoint?: boolean | undefined } = {},
): FinishedRun {
  const { path } = writeTrainingPlot(runDir);
  const configPath = join(runDir, RUN_LAYOUT.config);
  if (existsSync(configPath)) {
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeJsonAtomic(configPath, { ...config, completedAt: new Date().toISOString() });
  }
  const checkpoint = join(runDir, RUN_LAYOUT.checkpoint);
  if (!options.keepCheckpoint && existsSync(checkpoint)) {
    // Renamed first, so a kill during the removal leaves a temporary that the next run under the
    // lock removes (dir-lock.ts recoverSwaps), not a half-deleted checkpoint/.
    const doomed = `${checkpoint}.tmp-${process.pid}`;
    renameSync(checkpoint, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }
  return { checkpointKept: existsSync(checkpoint), plot: path };
}

/** What `finishRun` did, for the info stream. */
export function finishedLine(finished: FinishedRun): string {
  return `training curves: ${finished.plot}${finished.checkpointKept ? '' : `; ${RUN_LAYOUT.checkpoint}/ removed (--keep-checkpoint keeps it)`}`;
}

/**
 * `--resume` of a run that completed (`finishRun` recorded `completedAt` in its config.json) is a
 * usage error: there is nothing to continue, with or without the checkpoint. Call it after the
 * flags were checked against config.json, before loading any data.
 */
export function refuseResumeOfCompletedRun(runDir: string): void {
  if (!runCompleted(runDir)) return;
  const config = JSON.parse(readFileSync(join(runDir, RUN_LAYOUT.config), 'utf8')) as {
    completedAt: string;
    stages?: { epochs?: unknown }[];
  };
  const epochs = (config.stages ?? []).reduce(
    (n, stage) => n + (typeof stage.epochs === 'number' ? stage.epochs : 0),
    0,
  );
  const kept = existsSync(join(runDir, RUN_LAYOUT.checkpoint));
  throw usageError(
    `nothing to resume: ${runDir} completed all ${epochs} epochs of its recipe on ${config.completedAt.slice(0, 10)}` +
      (kept ? '' : ` (its ${RUN_LAYOUT.checkpoint}/ was removed at the end; --keep-checkpoint keeps it)`),
    `its models are in ${join(runDir, RUN_LAYOUT.modelBest)} and ${join(runDir, RUN_LAYOUT.modelLast)}; to train again, pass --overwrite or another --out`,
  );
}
