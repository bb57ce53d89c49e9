/**
 * The results table training commands print to stdout: one fixed-width row per epoch, as fastai's
 * Recorder shows it, plus per-batch progress on stderr (a bar on a TTY, a line every 10 s elsewhere).
 */
import type { BatchInfo, EpochRow } from '../train/learner.js';
import { clock, Progress } from './progress.js';

export type Column = 'trainLoss' | 'validLoss' | 'accuracy' | 'perplexity' | 'f1Macro';

const HEADERS: Record<Column, string> = {
  trainLoss: 'train_loss',
  validLoss: 'valid_loss',
  accuracy: 'accuracy',
  perplexity: 'perplexity',
  f1Macro: 'f1_macro',
};

export class EpochTable {
  private headerPrinted = false;
  /**
   * One per epoch, made at its first batch: the bar's fraction and ETA are the epoch's, so its
   * clock must start with the epoch (not with the command, or the ETA counts setup and earlier
   * epochs).
   */
  private progress: Progress | undefined;

  constructor(
    private readonly columns: readonly Column[],
    private readonly options: { quiet?: boolean; json?: boolean; stream?: NodeJS.WriteStream } = {},
  ) {}

  /** Learner `onBatchEnd`. An epoch whose end the table is not told of (a classifier run's other networks) ends at the next one's first batch. */
  batch = (info: BatchInfo): void => {
    if (info.batch === 0) this.endProgress();
    this.progress ??= new Progress({
      label: 'train',
      ...(this.options.stream ? { stream: this.options.stream } : {}),
      ...(this.options.quiet || this.options.json ? { enabled: false } : {}),
    });
    this.progress.update({
      done: info.batch + 1,
      total: info.numBatches,
      text: [
        `stage ${info.stage + 1}`,
        `epoch ${info.epoch + 1}/${info.epochs}`,
        `loss ${info.smoothLoss.toFixed(4)}`,
        `lr ${info.lr.toExponential(2)}`,
      ],
    });
  };

  /** Clears the progress bar (before a line is written to stderr, so it does not land on the bar). */
  endProgress = (): void => {
    this.progress?.finish();
    this.progress = undefined;
  };

  /** Learner `onEpochEnd`. */
  epoch = (row: EpochRow): void => {
    this.endProgress();
    this.printRow(String(row.stage + 1), String(row.epoch + 1), row, row.seconds);
  };

  /** The score before training (finetune-lm), as stage 0, epoch 0: no training loss yet. */
  before = (score: Partial<Record<Column, number | null>> & { seconds: number }): void => {
    this.printRow('0', '0', { ...score, trainLoss: null }, score.seconds);
  };

  private printRow(
    stage: string,
    epoch: string,
    row: Partial<Record<Column, number | null | undefined>>,
    seconds: number,
  ): void {
    if (this.options.quiet || this.options.json) return;
    const cells = ['stage', 'epoch', ...this.columns.map((c) => HEADERS[c]), 'time'];
    if (!this.headerPrinted) {
      process.stdout.write(
        cells.map((c) => c.padStart(c === 'stage' || c === 'epoch' ? 5 : 10)).join(' ') + '\n',
      );
      this.headerPrinted = true;
    }
    const values = this.columns.map((c) => formatCell(row[c], c).padStart(10));
    process.stdout.write(
      [stage.padStart(5), epoch.padStart(5), ...values, clock(seconds).padStart(10)].join(' ') + '\n',
    );
  }
}

/**
 * One precision per column, in every command (the output convention, docs/json-output.md):
 * perplexity with 2 decimals (it spans 1 to 10^4), losses and scores with 4.
 */
export const DECIMALS: Record<Column, number> = {
  trainLoss: 4,
  validLoss: 4,
  accuracy: 4,
  perplexity: 2,
  f1Macro: 4,
};

export function formatCell(value: number | null | undefined, column: Column): string {
  if (value === null || value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  return value.toFixed(DECIMALS[column]);
}
