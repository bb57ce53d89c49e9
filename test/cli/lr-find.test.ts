import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRows, trainTinyLm } from '../tasks/clas-data.js';
import { runInProcess } from '../support/in-process.js';

const run = runInProcess;

let root: string;
let lm: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-lrfind-'));
  lm = await trainTinyLm(root);
});

describe('ulmfit lr-find --lm', () => {
  it('runs the finder on a classifier over the encoder, with the same output as for a language model', async () => {
    const csv = join(root, 'labeled.csv');
    writeFileSync(
      csv,
      'text,label\n' +
        makeRows(7, 16)
          .map((r) => `"${r.text}",${r.label}`)
          .join('\n') +
        '\n',
    );
    const svg = join(root, 'clas-lr.svg');
    const result = await run(
      'lr-find',
      csv,
      '--lm',
      lm,
      '--num-it',
      '12',
      '--end-lr',
      '1',
      '--bptt',
      '8',
      '--svg',
      svg,
      '--backend',
      'wasm',
      '--workers',
      '0',
      '--quiet',
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ +lr +loss\n/);
    expect(result.stdout).toMatch(/suggested lr \(valley\): [\d.]+e-\d+\n$/);
    expect(existsSync(svg)).toBe(true);
    const both = await run('lr-find', csv, '--lm', lm, '--pretrained', lm, '--quiet');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--pretrained and --lm exclude each other/);
  });
});
