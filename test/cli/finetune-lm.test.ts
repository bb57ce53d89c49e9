import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelDir } from '../../src/io/artifact.js';
import { makeRows, trainTinyLm } from '../tasks/clas-data.js';
import { runInProcess } from '../support/in-process.js';

const run = runInProcess;

let root: string;
let lm: string;
let train: string;
let valid: string;
const TINY = [
  '--line-docs',
  '--min-freq',
  '1',
  '--bs',
  '4',
  '--bptt',
  '8',
  '--backend',
  'wasm',
  '--workers',
  '0',
  '--no-cache',
  '--seed',
  '1',
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-ft-'));
  lm = await trainTinyLm(root);
  train = join(root, 'train.txt');
  valid = join(root, 'valid.txt');
  writeFileSync(
    train,
    makeRows(5, 12)
      .map((r) => r.text)
      .join('\n') + '\n',
  );
  writeFileSync(
    valid,
    makeRows(6, 4)
      .map((r) => r.text)
      .join('\n') + '\n',
  );
});

describe('ulmfit finetune-lm', () => {
  it('prints the starting score as stage 0 / epoch 0, scales the dropouts with --drop-mult, and ends without checkpoint/', async () => {
    const out = join(root, 'ft');
    const result = await run(
      'finetune-lm',
      train,
      '--valid',
      valid,
      '--pretrained',
      lm,
      '--out',
      out,
      '--schedule',
      '-1:1@2e-2; 0:1@1e-2',
      '--drop-mult',
      '0.3',
      ...TINY,
    );
    expect(result.code, result.stderr).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/));
    expect(rows[0]!.slice(0, 3)).toEqual(['stage', 'epoch', 'train_loss']);
    expect(rows[1]!.slice(0, 3)).toEqual(['0', '0', '-']);
    expect(Number(rows[1]![3])).toBeGreaterThan(0);
    expect(rows.slice(2).map((r) => r.slice(0, 2))).toEqual([
      ['1', '1'],
      ['2', '1'],
    ]);
    const pre = readModelDir(join(lm, 'model-best')).meta.arch;
    expect(readModelDir(join(out, 'model-last')).meta.arch.weight_p).toBeCloseTo(pre.weight_p * 0.3, 10);
    expect(existsSync(join(out, 'checkpoint'))).toBe(false);
    expect(existsSync(join(out, 'training.svg'))).toBe(true);

    const resumed = await run(
      'finetune-lm',
      train,
      '--valid',
      valid,
      '--pretrained',
      lm,
      '--out',
      out,
      '--resume',
      ...TINY,
    );
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(
      /^error \[E_USAGE\]: nothing to resume: .*ft completed all 2 epochs of its recipe/,
    );
    expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--json carries the before score and the plot; --keep-checkpoint keeps checkpoint/', async () => {
    const out = join(root, 'ft-json');
    const result = await run(
      'finetune-lm',
      train,
      '--valid',
      valid,
      '--pretrained',
      lm,
      '--out',
      out,
      '--schedule',
      '-1:1@2e-2',
      '--json',
      '--keep-checkpoint',
      ...TINY,
    );
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as {
      before: { valid_loss: number; accuracy: number; perplexity: number };
      plot: string;
    };
    expect(json.before.perplexity).toBeCloseTo(Math.exp(json.before.valid_loss), 3);
    expect(json.plot).toBe(join(out, 'training.svg'));
    expect(existsSync(join(out, 'checkpoint', 'state.json'))).toBe(true);
  });
});
