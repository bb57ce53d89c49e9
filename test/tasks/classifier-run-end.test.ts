/**
 * The classifier's everyday extras: lr_find on the classifier train-classifier builds, and what a
 * completed run leaves (no checkpoint/ unless kept, training.svg, --resume refused).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { UlmfitError } from '../../src/errors.js';
import {
  findClassifierLr,
  trainClassifier,
  type ClassifierTrainOptions,
} from '../../src/tasks/classifier.js';
import { makeRows, tinyClassifierRun, trainTinyLm, writeCsv } from './clas-data.js';

let root: string;
let lmRun: string;
let trainCsv: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-clas-end-'));
  lmRun = await trainTinyLm(root);
  trainCsv = writeCsv(join(root, 'train.csv'), makeRows(1, 24));
});

function tiny(out: string, extra: Partial<ClassifierTrainOptions> = {}): ClassifierTrainOptions {
  return tinyClassifierRun({ inputs: [trainCsv], out: join(root, out), lm: lmRun }, extra);
}

async function errorOf(promise: Promise<unknown>): Promise<UlmfitError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UlmfitError);
  return error as UlmfitError;
}

describe('findClassifierLr', () => {
  it('sweeps the lr on the classifier train-classifier would build (planned bs, frozen to the head) and suggests a valley', async () => {
    const { out: _out, stages: _stages, bs: _bs, ...options } = tiny('unused');
    const result = await findClassifierLr({ ...options, find: { numIt: 20, endLr: 1 } });
    expect(result.lrs.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < result.lrs.length; i++) expect(result.lrs[i]!).toBeGreaterThan(result.lrs[i - 1]!);
    expect(result.valley).not.toBeNull();
    expect(result.trainDocs).toBe(39); // 48 documents, 9 (20%, rounded down) held out as train-classifier holds them out
    expect(result.bs).toBeLessThan(64); // planned for so few documents
    const err = await errorOf(findClassifierLr({ ...options, emb: 16 }));
    expect(err.code).toBe('E_USAGE');
    expect(err.message).toContain('--emb only apply with --from-scratch');
  });
});

describe('a completed classifier run', () => {
  it('removes checkpoint/ (unless kept), draws training.svg, and refuses --resume', async () => {
    const result = await trainClassifier(tiny('run'));
    const run = join(root, 'run');
    expect(existsSync(join(run, 'checkpoint'))).toBe(false);
    expect(result.plot).toBe(join(run, 'training.svg'));
    expect(readFileSync(result.plot, 'utf8')).toContain('validation accuracy');
    const again = await errorOf(trainClassifier(tiny('run', { resume: true })));
    expect(again.code).toBe('E_USAGE');
    expect(again.message).toMatch(
      /^nothing to resume: .*run completed all 2 epochs of its recipe on \d{4}-\d\d-\d\d \(its checkpoint\/ was removed/,
    );
    await trainClassifier(tiny('kept', { keepCheckpoint: true }));
    expect(existsSync(join(root, 'kept', 'checkpoint', 'state.json'))).toBe(true);
  });
});
