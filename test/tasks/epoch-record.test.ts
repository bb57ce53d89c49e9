import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EPOCH_RECORD_SCHEMA, epochRecord, readEpochRecords } from '../../src/tasks/epoch-record.js';
import type { EpochRow } from '../../src/train/learner.js';

const ROW: EpochRow = {
  stage: 0,
  epoch: 1,
  epochs: 2,
  trainLoss: 1.5,
  validLoss: 1.25,
  accuracy: 0.5,
  perplexity: 3.49,
  f1Macro: 0.4,
  seconds: 1.23456,
};

function runWith(lines: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-epochs-'));
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

describe('epoch records', () => {
  it("are snake_case, 1-based, with the task's columns (lm: perplexity; classifier: f1_macro)", () => {
    expect(epochRecord(ROW, 'classifier')).toEqual({
      stage: 1,
      epoch: 2,
      epochs: 2,
      train_loss: 1.5,
      valid_loss: 1.25,
      accuracy: 0.5,
      f1_macro: 0.4,
      seconds: 1.235,
    });
    const lm = epochRecord({ ...ROW, f1Macro: undefined }, 'lm');
    expect(lm).toEqual({
      stage: 1,
      epoch: 2,
      epochs: 2,
      train_loss: 1.5,
      valid_loss: 1.25,
      accuracy: 0.5,
      perplexity: 3.49,
      seconds: 1.235,
    });
    expect(EPOCH_RECORD_SCHEMA.safeParse(lm).success).toBe(true);
    // JSON has no NaN: a value that is not finite is null, never a silently dropped key
    expect(epochRecord({ ...ROW, validLoss: Number.NaN, perplexity: Infinity }, 'lm')).toMatchObject({
      valid_loss: null,
      perplexity: null,
    });
  });

  it('read back metrics.jsonl of either convention: old camelCase 0-based lines are converted', () => {
    const { f1Macro: _none, ...lmRow } = ROW;
    const dir = runWith([lmRow, epochRecord({ ...ROW, stage: 1, epoch: 0 }, 'lm')]);
    expect(readEpochRecords(dir)).toEqual([
      {
        stage: 1,
        epoch: 2,
        epochs: 2,
        train_loss: 1.5,
        valid_loss: 1.25,
        accuracy: 0.5,
        perplexity: 3.49,
        seconds: 1.235,
      },
      {
        stage: 2,
        epoch: 1,
        epochs: 2,
        train_loss: 1.5,
        valid_loss: 1.25,
        accuracy: 0.5,
        perplexity: 3.49,
        seconds: 1.235,
      },
    ]);
    // an old classifier line carried a perplexity; its record does not
    expect(readEpochRecords(runWith([ROW]))[0]).toEqual(epochRecord(ROW, 'classifier'));
  });

  it('a line of neither shape is one E_INPUT_FORMAT error naming the file and line', () => {
    const dir = runWith([epochRecord(ROW, 'lm'), { stage: 1, epoch: 'two' }]);
    expect(() => readEpochRecords(dir)).toThrow(
      expect.objectContaining({
        code: 'E_INPUT_FORMAT',
        message: expect.stringContaining('metrics.jsonl line 2'),
      }),
    );
  });
});
