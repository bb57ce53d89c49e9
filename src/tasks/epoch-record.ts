/**
 * One epoch as every output shows it (metrics.jsonl, `--json`'s history and best), converted from
 * the learner's row at the boundary, and read back from metrics.jsonl in either the current or
 * the pre-convention form. No TF.js here: cli/json-output.ts imports it for the schema.
 */
import { join } from 'node:path';
import { readMetrics, RUN_LAYOUT } from '../io/artifact.js';
import { checkShape, count, z } from '../io/validate.js';
import type { EpochRow } from '../train/learner.js';

/** Which training task wrote a run: its epoch records carry perplexity (lm) or macro-F1 (classifier). */
export type RunKind = 'lm' | 'classifier';

/**
 * One epoch as every output shows it: a line of metrics.jsonl, an entry of `--json`'s `history`
 * and its `best`. The output convention (docs/json-output.md): snake_case keys, stage and epoch
 * counted from 1 as the table prints them, and the columns of the task's table (language models:
 * perplexity; classifiers: f1_macro, no perplexity).
 */
export const EPOCH_RECORD_SCHEMA = z
  .object({
    stage: count.min(1).describe('recipe stage, from 1'),
    epoch: count.min(1).describe('epoch within the stage, from 1'),
    epochs: count.min(1).describe('epochs of the stage'),
    train_loss: z
      .number()
      .nullable()
      .describe('smoothed training loss after the last batch (null: not finite)'),
    valid_loss: z.number().nullable().describe('validation loss (null: no validation set)'),
    accuracy: z.number().nullable().describe('validation accuracy (language models: next-token accuracy)'),
    perplexity: z.number().nullable().optional().describe('exp(valid_loss) (language models only)'),
    f1_macro: z.number().nullable().optional().describe('validation macro-F1 (classifiers only)'),
    seconds: z.number().min(0).describe('wall time of the epoch, training and validation'),
  })
  .strict();
export type EpochRecord = z.output<typeof EPOCH_RECORD_SCHEMA>;

/** The record of `row` (the learner's 0-based, camelCase row). */
export function epochRecord(row: EpochRow, kind: RunKind): EpochRecord {
  const finiteOrNull = (x: number | null | undefined): number | null =>
    x === null || x === undefined || !Number.isFinite(x) ? null : x;
  return {
    stage: row.stage + 1,
    epoch: row.epoch + 1,
    epochs: row.epochs,
    train_loss: finiteOrNull(row.trainLoss),
    valid_loss: finiteOrNull(row.validLoss),
    accuracy: finiteOrNull(row.accuracy),
    ...(kind === 'lm'
      ? { perplexity: finiteOrNull(row.perplexity) }
      : { f1_macro: finiteOrNull(row.f1Macro) }),
    seconds: Math.round(row.seconds * 1000) / 1000,
  };
}

/**
 * The epochs of `<runDir>/metrics.jsonl` as records. Lines written before the output convention
 * (camelCase keys, stage and epoch from 0, perplexity on classifier rows) are converted, so a run
 * resumed across the change reads as one; a line of neither shape is an E_INPUT_FORMAT error.
 */
export function readEpochRecords(runDir: string): EpochRecord[] {
  const path = join(runDir, RUN_LAYOUT.metrics);
  return readMetrics(runDir).map((line, i) => {
    const row =
      'trainLoss' in line
        ? checkShape(LEGACY_METRICS_SCHEMA, line, `${path} line ${i + 1}`, {
            code: 'E_INPUT_FORMAT',
            hint: METRICS_FIX,
          })
        : undefined;
    if (row === undefined)
      return checkShape(EPOCH_RECORD_SCHEMA, line, `${path} line ${i + 1}`, {
        code: 'E_INPUT_FORMAT',
        hint: METRICS_FIX,
      });
    const kind: RunKind = row.f1Macro !== undefined ? 'classifier' : 'lm';
    return epochRecord({ ...row, f1Macro: row.f1Macro ?? undefined }, kind);
  });
}

const METRICS_FIX = 'the metrics file is damaged: delete the line (or the file; the models are unaffected)';

/** A metrics.jsonl line as written before the output convention: the learner's EpochRow itself. */
const LEGACY_METRICS_SCHEMA = z.looseObject({
  stage: count,
  epoch: count,
  epochs: count.min(1),
  trainLoss: z
    .number()
    .nullable()
    .transform((x) => x ?? NaN),
  validLoss: z.number().nullable(),
  accuracy: z.number().nullable(),
  perplexity: z.number().nullable(),
  f1Macro: z.number().nullable().optional(),
  seconds: z.number().min(0),
});
