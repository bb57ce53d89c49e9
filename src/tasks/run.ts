/**
 * `Run`: a training task's run directory (design.md §3), owned in one place so pretrain,
 * finetune-lm and train-classifier cannot drift apart: the write lock and the out-dir policy
 * (`--overwrite`, `--resume`: io/artifact.ts openRunDir), the settings `--resume` restores and
 * compares (config.json: run-dir.ts), the save sequence at the end of every epoch (model-last/,
 * model-best/, the task's other model directories, checkpoint/, one metrics.jsonl line, each
 * written atomically) and the end of the run (run-end.ts).
 *
 * The order of an epoch's saves is what makes a kill at any point resumable: the metrics line is
 * written last, so an epoch whose line is missing is redone from the previous checkpoint.
 */
import { join } from 'node:path';
import {
  appendMetrics,
  openRunDir,
  RUN_LAYOUT,
  writeCheckpointDir,
  writeJsonAtomic,
  writeModelDir,
  type ModelDirContents,
} from '../io/artifact.js';
import type { TensorSource } from '../io/tensors.js';
import type { BatchInfo, EpochRow, Learner, LiveLearnerState } from '../train/learner.js';
import { epochRecord, type RunKind } from './epoch-record.js';
import {
  bestRow,
  betterRow,
  checkpointOf,
  persistedConfig,
  restoreConfig,
  resumeFrom,
  type BestScore,
} from './run-dir.js';
import { finishedLine, finishRun, refuseResumeOfCompletedRun, type FinishedRun } from './run-end.js';

/** The options of a training task that concern its run directory. */
export interface RunDirOptions {
  out: string;
  overwrite?: boolean | undefined;
  resume?: boolean | undefined;
  /** With `resume`: the options the user gave; each must agree with config.json (run-dir.ts restoreConfig). */
  explicit?: ReadonlySet<string> | undefined;
  /** Keep checkpoint/ when the run completes (default: removed; only `resume` reads it). */
  keepCheckpoint?: boolean | undefined;
}

/**
 * What every training task takes besides its settings (which are its command's options,
 * config/training.ts, typed by config/schema.ts LibraryOptions): the run directory and the callbacks.
 */
export interface TrainingTaskOptions extends RunDirOptions {
  onInfo?: ((message: string) => void) | undefined;
  onBatchEnd?: ((info: BatchInfo) => void) | undefined;
  onEpochEnd?: ((row: EpochRow) => void | Promise<void>) | undefined;
}

/** A model directory of the run written at every epoch besides model-last/ and model-best/ (finetune-lm's encoder/). */
export interface ExtraModelDir {
  name: string;
  contents: () => ModelDirContents;
}

export class Run<Options extends RunDirOptions> {
  /** The best epoch so far, as model-best/ holds it. */
  private best: BestScore = { loss: Infinity, accuracy: null };

  private constructor(
    readonly dir: string,
    readonly kind: RunKind,
    private readonly persisted: readonly (keyof Options)[],
    private readonly info: (message: string) => void,
  ) {}

  /**
   * Opens `given.out` for the duration of `train` (its lock released after, whatever happens):
   * interrupted swaps are repaired (one info line each) and, with `resume`, the stored settings
   * replace `given`'s (a typed flag that differs is a usage error) and a completed run is refused.
   * `train` gets the run and the options to train with.
   */
  static async with<Options extends RunDirOptions, Result>(
    given: Options,
    kind: RunKind,
    persisted: readonly (keyof Options)[],
    info: (message: string) => void,
    train: (run: Run<Options>, options: Options) => Promise<Result>,
  ): Promise<Result> {
    const opened = openRunDir(given.out, {
      overwrite: given.overwrite ?? false,
      resume: given.resume ?? false,
    });
    try {
      for (const line of opened.recovered) info(line);
      const options = given.resume ? restoreConfig(given, persisted, given.explicit) : given;
      if (given.resume) refuseResumeOfCompletedRun(given.out);
      return await train(new Run(given.out, kind, persisted, info), options);
    } finally {
      opened.lock.release();
    }
  }

  /** Which epoch model-best/ keeps: a language model's lowest loss; a classifier's highest accuracy (few validation documents make its loss noisy), the lower loss breaking ties. */
  private get by(): 'loss' | 'accuracy' {
    return this.kind === 'lm' ? 'loss' : 'accuracy';
  }

  /**
   * Before the first epoch: a resumed run loads its checkpoint into `learner` and `model`; a new
   * one stores `options` in config.json (with the planned bs and recipe, so a resumed run
   * continues exactly this plan).
   */
  start<Batch extends { bs: number }>(
    learner: Learner<Batch>,
    model: Parameters<typeof resumeFrom>[2],
    options: Options,
  ): void {
    if (options.resume) {
      const resumed = resumeFrom(this.dir, learner, model);
      this.best = this.by === 'loss' ? { loss: resumed.best.loss, accuracy: null } : resumed.best;
      this.info(`resuming after stage ${resumed.position.stage + 1}, epoch ${resumed.position.epochsDone}`);
    } else {
      writeJsonAtomic(join(this.dir, RUN_LAYOUT.config), persistedConfig(options, this.persisted));
    }
  }

  /**
   * The end of an epoch: model-last/, model-best/ when `row` is the best so far, the `extra`
   * model directories, checkpoint/, then the epoch's metrics.jsonl line. `weights` and the
   * optimizer's moments in `state` are read as each file is written, one tensor at a time
   * (model/persist.ts weightReaders), so call it between training steps.
   */
  saveEpoch(
    row: EpochRow,
    state: LiveLearnerState,
    weights: TensorSource,
    model: ModelDirContents,
    extra: readonly ExtraModelDir[] = [],
  ): void {
    writeModelDir(join(this.dir, RUN_LAYOUT.modelLast), model);
    if (betterRow(row, this.best, this.by)) {
      this.best = {
        loss: row.validLoss ?? row.trainLoss,
        accuracy: this.by === 'loss' ? null : row.accuracy,
      };
      writeModelDir(join(this.dir, RUN_LAYOUT.modelBest), model);
    }
    for (const dir of extra) writeModelDir(join(this.dir, dir.name), dir.contents());
    writeCheckpointDir(join(this.dir, RUN_LAYOUT.checkpoint), checkpointOf(weights, state, this.best));
    appendMetrics(this.dir, epochRecord(row, this.kind));
  }

  /** The epoch of `history` that model-best/ holds (a resumed run's history includes the epochs before). */
  bestOf(history: readonly EpochRow[]): EpochRow | undefined {
    return bestRow(history, this.by);
  }

  /** The run completed: training.svg drawn, completion recorded, checkpoint/ removed unless kept (run-end.ts). */
  finish(options: Pick<RunDirOptions, 'keepCheckpoint'>): FinishedRun {
    const finished = finishRun(this.dir, { keepCheckpoint: options.keepCheckpoint });
    this.info(finishedLine(finished));
    return finished;
  }
}
