import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plottedEpochs, trainingCurvesSvg, writeTrainingPlot } from '../../src/tasks/training-plot.js';
import { errorOf } from '../support/errors.js';

function run(lines: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ulmfit-plot-'));
  writeFileSync(join(dir, 'metrics.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return dir;
}

describe('training curves', () => {
  it('reads metrics.jsonl in either key style and numbers epochs across stages', () => {
    const camel = run([
      { stage: 0, epoch: 0, epochs: 1, trainLoss: 2, validLoss: 2.5, accuracy: 0.3, perplexity: 12 },
      { stage: 1, epoch: 0, epochs: 1, trainLoss: 1.5, validLoss: 2, accuracy: 0.4, perplexity: 7 },
    ]);
    const snake = run([
      { stage: 1, epoch: 1, epochs: 1, train_loss: 2, valid_loss: 2.5, accuracy: 0.3 },
      { stage: 2, epoch: 1, epochs: 1, train_loss: 1.5, valid_loss: null, accuracy: null },
    ]);
    expect(plottedEpochs(camel)).toEqual([
      { x: 1, stage: 0, trainLoss: 2, validLoss: 2.5, accuracy: 0.3 },
      { x: 2, stage: 1, trainLoss: 1.5, validLoss: 2, accuracy: 0.4 },
    ]);
    expect(plottedEpochs(snake).map((e) => [e.x, e.trainLoss, e.validLoss, e.accuracy])).toEqual([
      [1, 2, 2.5, 0.3],
      [2, 1.5, null, null],
    ]);
  });

  it('draws loss and accuracy panels with a dashed line where a stage starts, into <run>/training.svg', () => {
    const dir = run([
      { stage: 1, epoch: 1, train_loss: 2, valid_loss: 2.5, accuracy: 0.3 },
      { stage: 2, epoch: 1, train_loss: 1.5, valid_loss: 2, accuracy: 0.4 },
      { stage: 2, epoch: 2, train_loss: 1.2, valid_loss: 1.8, accuracy: 0.5 },
    ]);
    const { path, epochs } = writeTrainingPlot(dir);
    expect(path).toBe(join(dir, 'training.svg'));
    expect(epochs).toBe(3);
    const svg = readFileSync(path, 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('validation accuracy');
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2); // the stage line, in both panels
    expect(svg).toContain('stage 2');
    expect(svg.match(/<circle /g)).toHaveLength(9); // train + valid loss, accuracy
    expect(readdirSync(dir).sort()).toEqual(['metrics.jsonl', 'training.svg']); // no temporary left
    expect(trainingCurvesSvg([])).toContain('no finite values');
  });

  it('a folder without metrics.jsonl is one E_INPUT_MISSING error', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ulmfit-plot-none-'));
    mkdirSync(join(empty, 'x'));
    const err = errorOf(() => writeTrainingPlot(empty));
    expect(err.code).toBe('E_INPUT_MISSING');
    expect(err.message).toContain('metrics.jsonl');
  });
});
