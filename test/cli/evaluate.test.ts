import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateLanguageModel } from '../../src/tasks/lm-eval.js';
import { writeTinyLm } from '../infer/tiny-lm.js';
import { runUlmfit } from '../support/process.js';
import { expectJsonOutput } from '../support/json-output.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ulmfit-cli-evaluate-'));
  writeTinyLm(join(root, 'lm'));
  // Words the tiny vocab lacks ("dog", "barked") score as xxunk.
  writeFileSync(
    join(root, 'held.txt'),
    'The cat sat on the mat. It was happy. The dog barked on the mat.\n'.repeat(20),
  );
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('ulmfit evaluate', () => {
  it('--json gives the loss, perplexity = exp(loss), accuracy and the unknown share, as the library computes them', async () => {
    const run = await runUlmfit([
      'evaluate',
      join(root, 'held.txt'),
      '--model',
      join(root, 'lm'),
      '--bs',
      '2',
      '--bptt',
      '8',
      '--backend',
      'wasm',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = expectJsonOutput('evaluate', run.stdout)[0] as Record<string, number>;
    expect(out.tokens).toBeGreaterThan(100);
    expect(out.perplexity).toBeCloseTo(Math.exp(out.loss!), 6);
    expect(out.accuracy).toBeGreaterThanOrEqual(0);
    expect(out.accuracy).toBeLessThanOrEqual(1);
    expect(out.unknown_rate).toBeGreaterThan(0);
    expect(out.unknown_rate).toBeLessThan(0.5);
    const lib = await evaluateLanguageModel({
      model: join(root, 'lm'),
      inputs: [join(root, 'held.txt')],
      bs: 2,
      bptt: 8,
      backend: 'wasm',
      noCache: true,
    });
    expect(out.loss).toBeCloseTo(lib.loss, 6);
    expect(out.unknown_rate).toBeCloseTo(lib.unknownRate, 9);
  });

  it('refuses a model that is not a language model, in one line', async () => {
    const run = await runUlmfit(['evaluate', join(root, 'held.txt'), '--model', join(root, 'nowhere')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error \[E_/);
  });
});
